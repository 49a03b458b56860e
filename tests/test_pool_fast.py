"""Max pooling's 2x2 stride-2 path, the argmax-free inference forward and the backward that zeroes
dx itself: the NumPy reference (ties, NaN), every thread count, the autograd Function."""

import numpy as np
import pytest

import minicnn
from minicnn._kernels import pool
from minicnn.reference import kernels as ref

_pool = pytest.importorskip("minicnn._kernels._pool")


@pytest.fixture(params=[None, 0], ids=["default", "always-parallel"])
def par_min(request):
    if request.param is not None:
        _pool._set_pool_par_min(request.param)
    yield
    _pool._set_pool_par_min(1 << 16)


def _numpy_2x2(x):
    """(y, argmax) of valid 2x2 stride-2 pooling by NumPy: max propagates NaN and argmax names
    the first NaN, else the first maximum, in row-major window order (the kernels' rule)."""
    N, H, W, C = x.shape
    OH, OW = H // 2, W // 2
    win = x[:, :2 * OH, :2 * OW].reshape(N, OH, 2, OW, 2, C).transpose(0, 1, 3, 2, 4, 5).reshape(N, OH, OW, 4, C)
    k = win.argmax(axis=3)
    i, j = np.arange(OH)[None, :, None, None], np.arange(OW)[None, None, :, None]
    return win.max(axis=3), (2 * i + k // 2) * W + 2 * j + k % 2


_VALID = [((3, 24, 24, 6), "valid"), ((2, 9, 7, 5), "valid"), ((2, 2, 2, 1), "valid")]
_SAME = [((2, 8, 8, 16), "same"), ((1, 5, 5, 3), "same")]
# NaN is checked on valid windows only: the NumPy oracle below covers those (the reference loops
# do not propagate NaN).
_CASES = [(s, p, d) for s, p in _VALID + _SAME for d in ("normal", "ties")] + [(s, p, "nan") for s, p in _VALID]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,padding,data", _CASES)
def test_2x2_matches_reference_at_any_thread_count(par_min, dtype, shape, padding, data):
    rng = np.random.default_rng(sum(shape))
    x = (rng.integers(-2, 3, shape) if data == "ties" else rng.standard_normal(shape)).astype(dtype)
    if data == "nan":
        x.flat[::7] = np.nan
        ry, rarg = _numpy_2x2(x)
    else:
        ry, rarg = ref.max_pool2d_forward(x, 2, None, padding)
    runs = []
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            y, arg = pool.max_pool2d_forward(x, 2, padding=padding)
            y_inf, none = pool.max_pool2d_forward(x, 2, padding=padding, argmax=False)
            dy = np.cos(np.arange(y.size, dtype=dtype)).reshape(y.shape)
            runs.append((y, arg, y_inf, pool.max_pool2d_backward(dy, arg, shape)))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)  # bitwise (NaNs in the same places)
    y, arg, y_inf, dx = runs[0]
    assert none is None
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(y_inf, ry)
    np.testing.assert_array_equal(arg, rarg)
    np.testing.assert_array_equal(dx, ref.max_pool2d_backward(dy, rarg, shape))


def test_backward_writes_every_cell():
    # dx comes from np.empty and is zeroed image by image in the kernel: no stale memory survives,
    # including the rows and columns no window covers.
    x = np.arange(2 * 5 * 5 * 2, dtype=np.float64).reshape(2, 5, 5, 2)
    y, arg = pool.max_pool2d_forward(x, 2)
    for _ in range(3):
        junk = np.full((2, 5, 5, 2), 7.0)  # leave non-zero blocks behind in the allocator
        del junk
        dx = pool.max_pool2d_backward(np.ones_like(y), arg, x.shape)
        assert dx.sum() == y.size and dx[:, 4, :, :].sum() == 0 and dx[:, :, 4, :].sum() == 0


def test_inference_forward_records_no_indices():
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    with minicnn.no_grad():
        y = minicnn.ops.max_pool2d(minicnn.Tensor(x, requires_grad=True))
    assert y._ctx is None
    t = minicnn.Tensor(x, requires_grad=True)
    out = minicnn.ops.max_pool2d(t)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), ref.max_pool2d_forward(x, 2)[0])
    assert t.grad.sum() == out.size
