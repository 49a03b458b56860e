"""Numerics: denormals flushed inside the kernels only, and the check_numerics debug mode.

Flushing (FTZ/DAZ on x86, FZ on AArch64) is set at kernel entry on every thread of the call's
OpenMP team and restored at exit, so the rest of the process keeps IEEE subnormals: numpy,
Python and other libraries never see a changed floating-point environment.
"""

import doctest
import platform

import numpy as np
import pytest

import minicnn
from minicnn import debugging, layers
from minicnn._kernels import _elementwise
from minicnn.reference import kernels as reference

TINY = np.float32(1e-39)  # a float32 subnormal (smallest normal is ~1.18e-38)
FLUSHING_CPU = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86", "aarch64", "arm64")


def _ieee_subnormals_work():
    """Subnormal arithmetic in this thread gives subnormal results (no FTZ/DAZ in effect)."""
    a = np.array([TINY], np.float32)
    return bool((a * np.float32(1.5))[0] > 0 and (a + a)[0] == np.float32(2e-39))


def test_importing_minicnn_leaves_subnormals_alone():
    assert _ieee_subnormals_work()
    assert np.finfo(np.float32).smallest_subnormal > 0


@pytest.mark.skipif(not FLUSHING_CPU, reason="flushing is implemented for x86 and AArch64 only")
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_kernels_flush_subnormals_and_restore_the_caller(threads):
    # big enough to flush: calls under 2**22 multiply-adds skip it (see fpenv.h)
    x = np.full((16, 32, 32, 16), TINY, np.float32)
    k = np.ones((1, 1, 16, 16), np.float32)
    xp = np.full((16, 64, 64, 64), TINY, np.float32)
    with minicnn.num_threads(threads):
        y = minicnn.ops.conv2d(x, k).data
        p = minicnn.ops.avg_pool2d(xp, 2).data
    # DAZ: subnormal inputs read as 0 inside the kernels (16 * 1e-39 would otherwise be 1.6e-38)
    assert not y.any() and not p.any()
    assert _ieee_subnormals_work(), "the kernel left FTZ/DAZ on in the calling thread"


@pytest.mark.skipif(not FLUSHING_CPU, reason="flushing is implemented for x86 and AArch64 only")
def test_worker_threads_are_restored_after_the_kernel():
    """The OpenMP workers of a flushing kernel are restored too: a later kernel that does not
    flush (the bias-gradient reduction, summing in double) still sees subnormal inputs."""
    with minicnn.num_threads(2):
        minicnn.ops.conv2d(np.full((8, 16, 16, 64), TINY, np.float32), np.ones((3, 3, 64, 64), np.float32))
        dy = np.full((4096, 64), TINY, np.float32)  # 4096 * 1e-39 = 4.1e-36: a normal float
        db = np.empty(64, np.float32)
        _elementwise.bias_grad_into(dy, db)
    np.testing.assert_allclose(db, np.float32(4096 * 1e-39), rtol=1e-5)


def test_small_calls_do_not_flush_at_any_thread_count():
    """Whether a call flushes depends on its size only, so tiny calls keep subnormals exactly,
    identically at every thread count."""
    x = np.full((2, 4, 4, 3), TINY, np.float32)
    k = np.ones((1, 1, 3, 2), np.float32)
    for t in (1, 2, 3):
        with minicnn.num_threads(t):
            np.testing.assert_array_equal(minicnn.ops.conv2d(x, k).data, np.float32(3) * TINY)


def test_flush_does_not_change_normal_results():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    ref = reference.conv2d_forward(x.astype(np.float64), k.astype(np.float64))
    np.testing.assert_allclose(minicnn.ops.conv2d(x, k).data, ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ check_numerics
def _tensor(a, grad=False):
    return minicnn.Tensor(np.asarray(a, np.float32), requires_grad=grad)


class _SqrtOfDifference(layers.Layer):
    """Finite forward (sqrt(0) = 0), infinite backward (d sqrt / dx at 0)."""

    def call(self, x):
        return minicnn.ops.sqrt(x - x)


def test_off_by_default_and_context_manager_restores():
    assert not debugging.is_check_numerics_enabled()
    with debugging.check_numerics():
        assert debugging.is_check_numerics_enabled()
        with debugging.check_numerics():
            pass
        assert debugging.is_check_numerics_enabled()
    assert not debugging.is_check_numerics_enabled()
    debugging.enable_check_numerics()
    try:
        assert debugging.is_check_numerics_enabled()
    finally:
        debugging.disable_check_numerics()
    # off: an overflowing layer just returns inf, as numpy would
    out = layers.Dense(1, kernel_initializer="ones")(_tensor([[3e38, 3e38]]))
    assert np.isinf(out.data).all()


def test_forward_names_the_innermost_layer_that_made_inf():
    # 1e38 + 1e38 = 2e38 is still a float32; the next layer's 2e38 + 2e38 is not
    model = minicnn.Sequential([minicnn.Input((2,)),
                                layers.Dense(2, kernel_initializer="ones", name="fine_dense"),
                                layers.Dense(2, kernel_initializer="ones", name="overflowing_dense"),
                                layers.Dense(1, name="after")])
    with debugging.check_numerics():
        with pytest.raises(FloatingPointError, match=r'layer "overflowing_dense" \(Dense\) produced inf .*forward pass'):
            model(_tensor([[1e38, 1e38]]))


def test_forward_blames_the_data_not_the_first_layer():
    with debugging.check_numerics():
        with pytest.raises(FloatingPointError, match=r"input of layer .* already contains NaN .*data"):
            layers.Dense(2)(_tensor([[np.nan, 1.0]]))


def test_forward_names_diverged_weights():
    d = layers.Dense(2)
    d(_tensor([[1.0, 1.0]]))
    d.set_weights([np.full((2, 2), np.nan, np.float32), np.zeros(2, np.float32)])
    with debugging.check_numerics():
        with pytest.raises(FloatingPointError, match="weights of layer .* contain NaN/inf"):
            d(_tensor([[1.0, 1.0]]))


def test_backward_names_the_layer_and_the_op():
    layer = _SqrtOfDifference(name="bad_sqrt")
    x = _tensor([[1.0, 2.0]], grad=True)
    with debugging.check_numerics():
        y = layers.Dense(2, name="ok_dense")(layer(x))
        with pytest.raises(FloatingPointError,
                           match=r'Sqrt\.backward in layer "bad_sqrt" \(_SqrtOfDifference\) produced inf .*backward pass'):
            y.sum().backward()


def test_backward_outside_any_layer_and_bad_root_gradient():
    x = _tensor([0.0, 1.0], grad=True)
    with debugging.check_numerics():
        with pytest.raises(FloatingPointError, match="Log.backward in an op outside any layer"):
            minicnn.ops.log(x).sum().backward()
        y = x * 2
        with pytest.raises(FloatingPointError, match="gradient passed to backward"):
            y.backward(np.array([np.inf, 0], np.float32))


def test_training_with_check_numerics_finds_the_diverging_step():
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                                layers.Dense(1, name="out")])
    model.compile(optimizer=minicnn.optimizers.SGD(1e18), loss="mse")  # diverges within steps
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    y = np.ones((32, 1), np.float32)
    with debugging.check_numerics():
        with pytest.raises(FloatingPointError, match=r"check_numerics: .*(hidden|out|outside)"):
            model.fit(x, y, batch_size=8, epochs=20, verbose=0)
    # same run without the debug mode: no exception, just non-finite numbers
    minicnn.utils.set_random_seed(0)
    model2 = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model2.compile(optimizer=minicnn.optimizers.SGD(1e18), loss="mse")
    with np.errstate(all="ignore"):
        model2.fit(x, y, batch_size=8, epochs=20, verbose=0)
    assert not all(np.isfinite(w).all() for w in model2.get_weights())


def test_debugging_docstring_examples():
    res = doctest.testmod(debugging, optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)
    assert res.attempted > 0 and res.failed == 0
