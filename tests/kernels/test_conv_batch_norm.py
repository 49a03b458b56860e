"""The conv forward's batch-norm epilogue (``conv2d_forward(batch_norm=...)``), forced through the
plan API for every algorithm: bitwise the conv followed by ``norm.batch_norm_forward``, and close
to the NumPy references."""

import numpy as np
import pytest

import minicnn
from minicnn._kernels import conv, norm
from minicnn.reference import kernels as ref
from minicnn.reference import norm as ref_norm

pytestmark = pytest.mark.usefixtures("threads_from_any_size")

A = conv.Algorithm
# (algorithm, x shape, kernel shape, conv options): a geometry each algorithm can compute, with
# edges (odd sizes: Winograd's cut tiles) and groups where it has them
CASES = [
    (A.IM2COL, (2, 7, 6, 5), (3, 3, 5, 12), dict(strides=2, padding="same")),
    (A.IM2COL, (2, 5, 5, 4), (3, 3, 2, 6), dict(padding="valid", groups=2)),
    (A.POINTWISE, (2, 5, 7, 6), (1, 1, 6, 9), dict()),
    (A.DIRECT, (2, 9, 8, 3), (3, 3, 3, 16), dict(padding="same")),
    (A.DEPTHWISE, (2, 6, 7, 5), (3, 3, 1, 5), dict(padding="same", groups=5)),
    (A.WINOGRAD, (2, 7, 9, 6), (3, 3, 6, 10), dict(padding="same")),
    (A.WINOGRAD, (1, 6, 6, 16), (3, 3, 16, 17), dict(padding="valid")),
]
IDS = [f"{a.name}-{i}" for i, (a, *_) in enumerate(CASES)]


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _params(F, dtype, rng):
    mean = rng.normal(0, 1, F)
    inv_std = rng.uniform(0.5, 2.0, F).astype(dtype)
    gamma = rng.normal(1, 0.5, F).astype(dtype)
    beta = rng.normal(0, 0.5, F).astype(dtype)
    return mean.astype(dtype), inv_std, gamma, beta


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm, x_shape, k_shape, opts", CASES, ids=IDS)
def test_epilogue_is_bitwise_the_separate_pass(algorithm, x_shape, k_shape, opts, dtype, relu):
    rng = np.random.default_rng(len(IDS) + k_shape[3])
    x = rng.normal(0, 1, x_shape).astype(dtype)
    k = rng.normal(0, 0.5, k_shape).astype(dtype)
    b = rng.normal(0, 0.5, k_shape[3]).astype(dtype)
    x[0, 0, 0, 0] = np.nan  # NaN passes through the epilogue's ReLU as through the separate one
    mean, inv_std, gamma, beta = _params(k_shape[3], dtype, rng)
    coeffs = norm.batch_norm_coefficients((k_shape[3],), dtype, mean, inv_std, gamma, beta)
    y = conv.conv2d_forward(x, k, b, algorithm=algorithm, **opts)
    want = norm.batch_norm_forward(y, mean, inv_std, gamma, beta, relu=relu)
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            got = conv.conv2d_forward(x, k, b, relu=relu, batch_norm=coeffs, algorithm=algorithm, **opts)
        assert np.array_equal(_bits(got), _bits(want))
    x[0, 0, 0, 0] = 0
    got = conv.conv2d_forward(x, k, b, relu=relu, batch_norm=coeffs, algorithm=algorithm, **opts)
    oracle = ref_norm.batch_norm_forward(ref.conv2d_forward(x, k, b, **opts), mean, inv_std, gamma, beta, relu=relu)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(got, oracle, rtol=tol, atol=tol)


def test_epilogue_flushes_as_the_separate_pass_would():
    """A conv big enough to flush subnormals whose output alone is not: the separate pass keeps
    subnormals, so the epilogue must too (it runs as that pass here)."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (1, 48, 48, 64)).astype(np.float32)
    k = rng.normal(0, 0.5, (3, 3, 64, 8)).astype(np.float32)
    mean = np.zeros(8, np.float32)
    inv_std = np.full(8, 1e-39, np.float32)  # every output subnormal
    y = conv.conv2d_forward(x, k, padding="same")
    assert conv.plan("forward", x.shape, k.shape, padding="same").flush
    want = norm.batch_norm_forward(y, mean, inv_std)
    assert np.count_nonzero(want) > want.size // 2
    coeffs = norm.batch_norm_coefficients((8,), np.float32, mean, inv_std)
    got = conv.conv2d_forward(x, k, padding="same", batch_norm=coeffs)
    assert np.array_equal(_bits(got), _bits(want))


def test_batch_norm_argument_is_checked():
    x = np.ones((1, 4, 4, 2), np.float32)
    k = np.ones((3, 3, 2, 3), np.float32)
    good = norm.batch_norm_coefficients((3,), np.float32, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="batch_norm shift"):
        conv.conv2d_forward(x, k, batch_norm=good[:2] + (np.zeros(4, np.float32),))
    with pytest.raises(ValueError, match="triple"):
        conv.conv2d_forward(x, k, batch_norm=good[:2])
    with pytest.raises(TypeError, match="batch_norm mean"):
        conv.conv2d_forward(x, k, batch_norm=(np.zeros(3, np.float64),) + good[1:])
