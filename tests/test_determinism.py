"""Determinism: the same seed gives bitwise-identical results at any thread count.

The kernels split work over output rows/images/tiles and never reduce across threads, so a
thread count changes who computes a value, never the order of the additions behind it.  These
tests hold the whole stack (conv/pool kernels, GEMM, batch norm, dropout, optimizers, the
training loop) to that promise: a few training steps at 1, 2, 3 and 4 threads must end with
exactly the same weights, bit for bit.
"""

import numpy as np
import pytest

import minicnn
from minicnn import layers

# Thread-count tests must reach the parallel paths on small shapes (see conftest.py).
pytestmark = pytest.mark.usefixtures("threads_from_any_size")

THREADS = (1, 2, 3, 4)


def _data(n=24, size=10, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, size, size, 3)).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    return x, y


def _cnn(seed):
    """Covers every kernel path a CNN takes: im2col conv, a C=64 input (flipped-kernel
    backward-input path), depthwise conv, max/avg pooling, batch norm, dropout, and a dense
    layer big enough (8 x 48 x 700 multiply-adds) for minicnn's GEMM instead of numpy's."""
    minicnn.utils.set_random_seed(seed)
    return minicnn.Sequential([
        minicnn.Input((10, 10, 3)),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.Conv2D(8, 3, strides=1, padding="valid", activation="relu"),
        layers.DepthwiseConv2D(3, padding="same"),
        layers.MaxPooling2D(),
        layers.Conv2D(12, 2, padding="same", activation="relu"),
        layers.AveragePooling2D(),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(700, activation="relu"),
        layers.Dense(3, activation="softmax"),
    ])


def _train(threads, seed=3, steps_epochs=2):
    x, y = _data()
    with minicnn.num_threads(threads):
        model = _cnn(seed)
        model.compile(optimizer=minicnn.optimizers.Adam(1e-2),
                      loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=steps_epochs, shuffle=True, verbose=0)
        pred = model.predict(x, batch_size=24, verbose=0)
    return [w.copy() for w in model.get_weights()], pred


def _bitwise_equal(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_training_is_bitwise_identical_at_1_2_3_4_threads():
    ref_w, ref_pred = _train(1)
    for t in THREADS[1:]:
        w, pred = _train(t)
        assert len(w) == len(ref_w)
        for i, (u, v) in enumerate(zip(ref_w, w)):
            assert _bitwise_equal(u, v), (
                f"weight {i} {u.shape} differs between 1 and {t} threads: "
                f"max |diff| = {np.max(np.abs(u.astype(np.float64) - v)):.3g}")
        assert _bitwise_equal(ref_pred, pred), f"predict() differs between 1 and {t} threads"


def test_training_really_trains_and_seed_matters():
    # guards the test above against a vacuous pass (e.g. weights never updated)
    minicnn.utils.set_random_seed(3)
    init = [w.copy() for w in _cnn(3).get_weights()]
    w3, _ = _train(2, seed=3)
    w4, _ = _train(2, seed=4)
    assert any(not np.array_equal(a, b) for a, b in zip(init, w3))
    assert any(not np.array_equal(a, b) for a, b in zip(w3, w4))


@pytest.mark.parametrize("shape", [(5, 7, 7, 13), (1, 31, 17, 3), (9, 4, 4, 64)])
def test_conv_pool_ops_forward_backward_thread_independent(shape):
    """Odd sizes so the work splits unevenly across 3 threads."""
    rng = np.random.default_rng(sum(shape))
    x0 = rng.normal(size=shape).astype(np.float32)
    k0 = rng.normal(size=(3, 3, shape[-1], 6)).astype(np.float32)
    results = []
    for t in THREADS:
        with minicnn.num_threads(t):
            x = minicnn.Tensor(x0, requires_grad=True)
            k = minicnn.Tensor(k0, requires_grad=True)
            y = minicnn.ops.conv2d(x, k, padding="same")
            z = minicnn.ops.max_pool2d(y, 2, padding="same")
            (z * z).sum().backward()
            results.append((y.data.copy(), x.grad.copy(), k.grad.copy()))
    for t, r in zip(THREADS[1:], results[1:]):
        for name, a, b in zip(("y", "dx", "dk"), results[0], r):
            assert _bitwise_equal(a, b), f"{name} differs between 1 and {t} threads for {shape}"


def test_gemm_thread_independent():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(131, 257)).astype(np.float32)
    b = rng.normal(size=(257, 67)).astype(np.float32)
    outs = []
    for t in THREADS:
        with minicnn.num_threads(t):
            outs.append(minicnn.linalg.gemm(a, b))
    for t, c in zip(THREADS[1:], outs[1:]):
        assert _bitwise_equal(outs[0], c), f"gemm differs between 1 and {t} threads"
