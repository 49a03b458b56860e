"""Max pooling's 2x2 stride-2 path, the argmax-free inference forward and the backward that zeroes
dx itself: the NumPy reference (ties, NaN, signed zeros), every thread count, every channel count
(src/pool_rows.h's vector kernels), indices outside their windows, the autograd Function."""

import numpy as np
import pytest

import minicnn
from minicnn._kernels import _openmp, pool
from minicnn.reference import kernels as ref



@pytest.fixture(params=[True, False], ids=["default", "always-parallel"])
def par_min(request):
    old = _openmp.set_size_bars(request.param)
    yield
    _openmp.set_size_bars(old)


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


# The vectorised 2x2 row kernels (src/pool_rows.h) take a different road per channel count: C < 4
# floats gather several pixels' lanes (C = 1 a double too), C = 6 floats pairs pixels, other
# counts cover a pixel with the widest vectors C fills, the last overlapping the one before when
# the width does not divide C.  OW % 4 picks the pixels left to the one-lane tail.
_CHANNELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24, 33]
_HW = [(2, 2), (4, 9), (5, 13), (7, 15), (6, 10)]


def _draw(kind, shape, dtype, rng):
    """x of one kind: "normal"; "ties" (few distinct values); "special" (NaN, +-inf, +-0 and
    ties among them, signed zeros telling which of two equal cells was taken)."""
    if kind == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "ties":
        return rng.integers(-1, 2, shape).astype(dtype)
    pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0], dtype)
    return pool[rng.integers(0, len(pool), shape)]


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("C", _CHANNELS)
def test_2x2_kernel_for_every_channel_count(par_min, dtype, kind, C):
    rng = np.random.default_rng(100 * C + len(kind))
    for H, W in _HW:
        shape = (3, H, W, C)
        x = _draw(kind, shape, dtype, rng)
        dy = rng.standard_normal((3, H // 2, W // 2, C)).astype(dtype)
        dy.flat[::5] = -0.0  # the scatter-add onto zeros makes these +0
        _, rarg = _numpy_2x2(x)
        runs = []
        for threads in (1, 2):
            with minicnn.num_threads(threads):
                y, arg = pool.max_pool2d_forward(x, 2)
                y_inf, _ = pool.max_pool2d_forward(x, 2, argmax=False)
                dx = pool.max_pool2d_backward(dy, arg, shape)
            runs.append((_bits(y), arg, _bits(y_inf), _bits(dx)))
            np.testing.assert_array_equal(arg, rarg, err_msg=f"{shape} {threads} threads")
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)
        y_bits, arg, y_inf_bits, dx_bits = runs[0]
        # the value is the chosen cell's, bit for bit (which of +0 and -0, which NaN)
        taken = np.take_along_axis(x.reshape(3, H * W, C), arg.reshape(3, -1, C), axis=1).reshape(arg.shape)
        np.testing.assert_array_equal(y_bits, _bits(taken))
        np.testing.assert_array_equal(y_inf_bits, y_bits)
        np.testing.assert_array_equal(dx_bits, _bits(ref.max_pool2d_backward(dy, arg, shape)))
        if kind != "special":  # the reference loops do not propagate NaN
            ry, rarg2 = ref.max_pool2d_forward(x, 2)
            np.testing.assert_array_equal(y_bits, _bits(ry))
            np.testing.assert_array_equal(arg, rarg2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 24, 24, 6), (4, 8, 8, 16), (2, 26, 26, 32), (2, 11, 11, 64), (2, 9, 9, 3)])
def test_2x2_kernel_on_network_shapes(par_min, dtype, shape):
    rng = np.random.default_rng(shape[-1])
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::97] = np.nan
    ry, rarg = _numpy_2x2(x)
    dy = rng.standard_normal(ry.shape).astype(dtype)
    rdx = ref.max_pool2d_backward(dy, rarg, shape)
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            y, arg = pool.max_pool2d_forward(x, 2)
            y_inf, _ = pool.max_pool2d_forward(x, 2, argmax=False)
            dx = pool.max_pool2d_backward(dy, arg, shape)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(y_inf, ry)
        np.testing.assert_array_equal(arg, rarg)
        np.testing.assert_array_equal(_bits(dx), _bits(rdx))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 4, 6, 16, 17])
def test_backward_of_indices_outside_their_2x2_window(par_min, dtype, C):
    # The backward writes each 2x2 window's cells directly only where every index of the image
    # lies in its window; other indices (another pooling's, hand-made, int64) go through the
    # scatter, image by image, with the same result.
    rng = np.random.default_rng(C)
    shape = (3, 9, 9, C)  # a 3x3 stride-2 pooling has 4 x 4 outputs, like the 2x2 one
    x = rng.standard_normal(shape).astype(dtype)
    y3, arg3 = pool.max_pool2d_forward(x, 3, 2)
    _, arg2 = pool.max_pool2d_forward(x, 2)
    mixed = arg2.copy()
    mixed[1, 2, 3, C - 1] = 0  # one index of image 1 in another window: only image 1 scatters
    dy = rng.standard_normal(y3.shape).astype(dtype)
    dy.flat[::3] = -0.0
    for arg in (arg3, mixed, arg2.astype(np.int64), arg3.astype(np.int64)):
        want = _bits(ref.max_pool2d_backward(dy, arg, shape))
        for threads in (1, 2):
            with minicnn.num_threads(threads):
                np.testing.assert_array_equal(_bits(pool.max_pool2d_backward(dy, arg, shape)), want)
    bad = arg2.copy()
    bad[2, 3, 3, 0] = 81  # outside [0, H*W), in an image whose other indices fit their windows
    with pytest.raises(ValueError, match=r"outside \[0, 81\)"):
        pool.max_pool2d_backward(dy, bad, shape)
