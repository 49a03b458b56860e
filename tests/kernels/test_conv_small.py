"""The direct loops for convolutions with one input channel (src/conv_direct.h; the kernel
gradient's also with two or three): the NumPy reference, every kernel table this CPU runs,
thread-count independence, the fused ReLU-mask and bias gradient, and a float64 gradcheck of a
first layer through the autograd Function."""

import numpy as np
import pytest

import minicnn
from minicnn._kernels import _dispatch, conv
from minicnn.reference import kernels as ref

# Thread-count tests must reach the parallel paths on small shapes (see conftest.py).
pytestmark = pytest.mark.usefixtures("threads_from_any_size")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}

# (x shape, kernel shape, options): OW below, at and above the vector widths, padding and strides
# that leave windows partly outside the input, and more images than the kernel gradient's blocks.
CASES = [
    ((3, 28, 28, 1), (5, 5, 1, 6), {}),
    ((2, 12, 13, 1), (3, 3, 1, 32), dict(padding="same")),
    ((2, 9, 7, 1), (3, 2, 1, 5), dict(padding="same", strides=2)),
    ((2, 10, 11, 1), (3, 3, 1, 7), dict(strides=(1, 3), padding=((2, 0), (1, 3)))),
    ((2, 10, 11, 1), (3, 3, 1, 9), dict(padding="same", dilation_rate=(2, 1))),
    ((1, 5, 40, 1), (2, 4, 1, 3), {}),
    ((19, 6, 6, 1), (3, 3, 1, 2), dict(padding="same")),
    ((2, 4, 4, 1), (1, 3, 1, 1), {}),
    # filters along the vector lanes: several filter passes with a partial last vector (36), whole
    # passes (64), a partial vector over a long row (12), valid rows read in place next to padded ones
    ((2, 9, 30, 1), (3, 3, 1, 36), dict(padding="same")),
    ((1, 6, 50, 1), (2, 3, 1, 64), {}),
    ((2, 8, 45, 1), (3, 4, 1, 12), dict(dilation_rate=(1, 2))),
    ((2, 11, 9, 1), (5, 3, 1, 8), dict(padding=((2, 1), (0, 0)))),
    # two and three channels: the kernel gradient's direct loops (the forward takes im2col)
    ((3, 10, 12, 3), (3, 3, 3, 16), dict(padding="same")),
    ((2, 9, 11, 2), (3, 2, 2, 7), dict(strides=2, padding="same")),
]


@pytest.fixture(params=_dispatch.available())
def isa(request):
    """Every kernel table this CPU runs (each compiled from the same template: conv_direct.h)."""
    return request.param


def _close(a, b, dtype):
    np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,k_shape,opts", CASES)
def test_matches_reference_and_thread_count(isa, dtype, x_shape, k_shape, opts):
    rng = np.random.default_rng(sum(x_shape) + sum(k_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    k = rng.standard_normal(k_shape).astype(dtype)
    b = rng.standard_normal(k_shape[3]).astype(dtype)
    xd, kd, bd = x.astype(np.float64), k.astype(np.float64), b.astype(np.float64)
    want = ref.conv2d_forward(xd, kd, bd, **opts)
    runs = []
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            y = conv.conv2d_forward(x, k, b, isa=isa, **opts)
            yr = conv.conv2d_forward(x, k, b, relu=True, isa=isa, **opts)
            dy = rng.standard_normal(y.shape).astype(dtype) if not runs else runs[0][-1]
            dk, db = conv.conv2d_backward_kernel(x, dy, k_shape, isa=isa, **opts)
            dkr, dbr = conv.conv2d_backward_kernel(x, dy, k_shape, relu_output=yr, isa=isa, **opts)
            runs.append((y, yr, dk, db, dkr, dbr, dy))
    for a, c in zip(*runs):
        assert np.array_equal(a, c)  # bitwise, whatever the thread count
    y, yr, dk, db, dkr, dbr, dy = runs[0]
    _close(y, want, dtype)
    _close(yr, np.maximum(want, 0), dtype)
    dyd = dy.astype(np.float64)
    for got, exp in zip((dk, db), ref.conv2d_backward_kernel(xd, dyd, k_shape, **opts)):
        _close(got, exp, dtype)
    masked = dyd * (yr > 0)
    for got, exp in zip((dkr, dbr), ref.conv2d_backward_kernel(xd, masked, k_shape, **opts)):
        _close(got, exp, dtype)


def test_relu_mask_multiplies_like_numpy(isa):
    # dy * (y > 0): a NaN in dy where the ReLU is off still poisons the sums, as it does in NumPy.
    x = np.ones((1, 4, 4, 1))
    k = np.ones((2, 2, 1, 2))
    y = conv.conv2d_forward(x, k, relu=True, isa=isa)
    dy = np.ones_like(y)
    relu_y = y.copy()
    relu_y[0, 0, 0, 0] = 0.0
    dy[0, 0, 0, 0] = np.nan
    dk, db = conv.conv2d_backward_kernel(x, dy, k.shape, relu_output=relu_y, isa=isa)
    assert np.isnan(dk[..., 0]).all() and np.isnan(db[0])
    assert dk[..., 1].tolist() == [[[9.0], [9.0]], [[9.0], [9.0]]] and db[1] == 9.0


@pytest.mark.parametrize("channels", [1, 3])
def test_the_plan_picks_the_direct_loops_and_im2col_gives_the_same_numbers(channels):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 15, 17, channels))
    k = rng.standard_normal((3, 5, channels, 6))
    assert conv.plan("backward_kernel", x.shape, k.shape, padding="same").algorithm == conv.Algorithm.DIRECT
    assert (conv.plan("forward", x.shape, k.shape, padding="same").algorithm
            == (conv.Algorithm.DIRECT if channels == 1 else conv.Algorithm.IM2COL))
    for algorithm in (conv.Algorithm.DIRECT, conv.Algorithm.IM2COL):
        y = conv.conv2d_forward(x, k, padding="same", algorithm=algorithm)
        dk = conv.conv2d_backward_kernel(x, y, k.shape, padding="same", algorithm=algorithm,
                                         relu_output=np.abs(y) - 0.5)
        if algorithm == conv.Algorithm.DIRECT:
            y1, dk1 = y, dk
    _close(y1, y, np.float64)
    for a, b in zip(dk1, dk):
        _close(a, b, np.float64)


def test_relu_output_shape_is_checked():
    x = np.ones((1, 4, 4, 1))
    with pytest.raises(ValueError, match="relu_output must have the shape of dy"):
        conv.conv2d_backward_kernel(x, np.ones((1, 3, 3, 2)), (2, 2, 1, 2), relu_output=np.ones((1, 3, 3, 1)))


@pytest.mark.parametrize("threads", [1, 2])
def test_first_layer_gradcheck(threads):
    # Conv2dFunction with a fused ReLU on an input that needs no gradient takes the fused path.
    rng = np.random.default_rng(4)
    x = minicnn.Tensor(rng.standard_normal((2, 7, 6, 1)))
    k = rng.standard_normal((3, 3, 1, 4))
    b = rng.standard_normal(4) * 0.1
    with minicnn.num_threads(threads):
        assert minicnn.gradcheck(lambda kk, bb: minicnn.ops.conv2d(x, kk, bb, padding="same", activation="relu"),
                                 [k, b])
