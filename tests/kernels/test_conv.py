"""Convolution kernels vs the plain-NumPy reference, finite differences, Keras' shape rules, bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn._kernels import conv
from minicnn.reference import kernels as ref

# Thread-count tests must reach the parallel paths on small shapes (see conftest.py).
pytestmark = pytest.mark.usefixtures("threads_from_any_size")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


def close(a, b, dtype):
    np.testing.assert_allclose(a, b, **TOL[dtype])


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 3))
    depthwise = draw(st.booleans()) and groups > 1
    if depthwise:
        cg = 1
    fg = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = draw(st.sampled_from([1, 2, (1, 2), (2, 1), 3]))
    dilation = draw(st.sampled_from([1, 1, 2, (1, 2)]))
    padding = draw(st.sampled_from(["valid", "same", ((1, 0), (0, 2)), ((2, 2), (1, 1))]))
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    x_shape, k_shape = (n, h, w, cg * groups), (kh, kw, cg, fg * groups)
    opts = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    try:
        conv.conv2d_output_shape(x_shape, k_shape, **opts)
    except ValueError:  # kernel larger than the padded input under "valid"/explicit padding
        h, w = h + 2 * kh * (1 + 2), w + 2 * kw * (1 + 2)
        x_shape = (n, h, w, cg * groups)
    return x_shape, k_shape, opts, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(case=conv_case(), dtype=st.sampled_from([np.float64, np.float32]), threads=st.sampled_from([1, 2]))
def test_conv_matches_reference(case, dtype, threads):
    x_shape, k_shape, opts, use_bias, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    k = rng.standard_normal(k_shape).astype(dtype)
    b = rng.standard_normal(k_shape[3]).astype(dtype) if use_bias else None
    xd, kd, bd = x.astype(np.float64), k.astype(np.float64), None if b is None else b.astype(np.float64)
    with minicnn.num_threads(threads):
        y = conv.conv2d_forward(x, k, b, **opts)
        assert y.shape == conv.conv2d_output_shape(x_shape, k_shape, **opts) and y.dtype == dtype
        close(y, ref.conv2d_forward(xd, kd, bd, **opts), dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dyd = dy.astype(np.float64)
        dx = conv.conv2d_backward_input(dy, k, x_shape, **opts)
        assert dx.dtype == dtype
        close(dx, ref.conv2d_backward_input(dyd, kd, x_shape, **opts), dtype)
        dk, db = conv.conv2d_backward_kernel(x, dy, k_shape, bias=use_bias, **opts)
        rk, rb = ref.conv2d_backward_kernel(xd, dyd, k_shape, bias=use_bias, **opts)
        close(dk, rk, dtype)
        if use_bias:
            close(db, rb, dtype)
        else:
            assert db is None


@st.composite
def transpose_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = draw(st.sampled_from([1, 2, 3, (2, 1)]))
    dilation = draw(st.sampled_from([1, 1, 2]))
    padding = draw(st.sampled_from(["valid", "same"]))
    sh, sw = (strides, strides) if isinstance(strides, int) else strides
    if draw(st.booleans()):
        output_padding = None
    else:
        output_padding = (draw(st.integers(0, max(sh, dilation) - 1)), draw(st.integers(0, max(sw, dilation) - 1)))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    cin, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    opts = dict(strides=strides, padding=padding, output_padding=output_padding, dilation_rate=dilation)
    return (n, h, w, cin), (kh, kw, f, cin), opts, draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(case=transpose_case(), dtype=st.sampled_from([np.float64, np.float32]), threads=st.sampled_from([1, 2]))
def test_conv_transpose_matches_reference(case, dtype, threads):
    x_shape, k_shape, opts, seed = case
    try:
        out_shape = conv.conv2d_transpose_output_shape(x_shape, k_shape, **opts)
    except ValueError:
        # only an empty output is refused: "same", even kernel, one row, no output_padding
        assert opts["padding"] == "same"
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    k = rng.standard_normal(k_shape).astype(dtype)
    b = rng.standard_normal(k_shape[2]).astype(dtype)
    xd, kd = x.astype(np.float64), k.astype(np.float64)
    with minicnn.num_threads(threads):
        y = conv.conv2d_transpose_forward(x, k, b, **opts)
        assert y.shape == out_shape
        close(y, ref.conv2d_transpose_forward(xd, kd, b.astype(np.float64), **opts), dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = conv.conv2d_transpose_backward_input(dy, k, **opts)
        close(dx, ref.conv2d_transpose_backward_input(dy.astype(np.float64), kd, input_shape=x_shape, **opts), dtype)
        dk, db = conv.conv2d_transpose_backward_kernel(x, dy, k_shape, **opts)
        rk, rb = ref.conv2d_transpose_backward_kernel(xd, dy.astype(np.float64), k_shape, **opts)
        close(dk, rk, dtype)
        close(db, rb, dtype)


def _fd_check(f, arr, grad, eps=1e-6, count=12, seed=0):
    """Central differences of the scalar f() at `count` random entries of arr vs grad."""
    rng = np.random.default_rng(seed)
    flat = arr.reshape(-1)
    for idx in rng.choice(flat.size, size=min(count, flat.size), replace=False):
        old = flat[idx]
        flat[idx] = old + eps
        up = f()
        flat[idx] = old - eps
        down = f()
        flat[idx] = old
        np.testing.assert_allclose((up - down) / (2 * eps), grad.reshape(-1)[idx], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("opts", [
    dict(strides=1, padding="valid", dilation_rate=1, groups=1),
    dict(strides=2, padding="same", dilation_rate=1, groups=2),
    dict(strides=(1, 2), padding=((2, 0), (1, 1)), dilation_rate=(2, 1), groups=1),
    dict(strides=1, padding="same", dilation_rate=1, groups=4),  # depthwise
])
def test_conv_gradients_by_central_differences(opts):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 7, 4))
    k = rng.standard_normal((3, 2, 4 // opts["groups"], 4))
    b = rng.standard_normal(4)
    y = conv.conv2d_forward(x, k, b, **opts)
    r = rng.standard_normal(y.shape)

    def loss():
        return float((conv.conv2d_forward(x, k, b, **opts) * r).sum())

    _fd_check(loss, x, conv.conv2d_backward_input(r, k, x.shape, **opts))
    dk, db = conv.conv2d_backward_kernel(x, r, k.shape, **opts)
    _fd_check(loss, k, dk)
    _fd_check(loss, b, db)


@pytest.mark.parametrize("opts", [
    dict(strides=2, padding="valid", output_padding=None, dilation_rate=1),
    dict(strides=2, padding="same", output_padding=1, dilation_rate=1),
    dict(strides=(3, 1), padding="same", output_padding=None, dilation_rate=1),
    dict(strides=1, padding="valid", output_padding=None, dilation_rate=2),
])
def test_conv_transpose_gradients_by_central_differences(opts):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 3))
    k = rng.standard_normal((3, 3, 2, 3))
    b = rng.standard_normal(2)
    y = conv.conv2d_transpose_forward(x, k, b, **opts)
    r = rng.standard_normal(y.shape)

    def loss():
        return float((conv.conv2d_transpose_forward(x, k, b, **opts) * r).sum())

    _fd_check(loss, x, conv.conv2d_transpose_backward_input(r, k, **opts))
    dk, db = conv.conv2d_transpose_backward_kernel(x, r, k.shape, **opts)
    _fd_check(loss, k, dk)
    _fd_check(loss, b, db)


@pytest.mark.parametrize("hw, k, s, padding, op, d, expected", [
    # Keras Conv2DTranspose output lengths (deconv_output_length)
    (7, 3, 2, "valid", None, 1, 15),   # 7*2 + max(3-2, 0)
    (7, 3, 2, "same", None, 1, 14),    # 7*2
    (7, 3, 2, "same", 1, 1, 14),       # (7-1)*2 + 3 - 2*1 + 1
    (7, 3, 2, "same", 0, 1, 13),
    (7, 3, 2, "valid", 1, 1, 16),      # (7-1)*2 + 3 + 1
    (4, 1, 3, "valid", None, 1, 12),   # 4*3 + max(1-3, 0)
    (4, 3, 1, "valid", None, 2, 8),    # dilated kernel spans 5: 4 + 4
    (5, 4, 2, "same", None, 1, 10),
    (5, 4, 2, "same", 1, 1, 9),        # (5-1)*2 + 4 - 2*2 + 1
])
def test_conv_transpose_output_shape_follows_keras(hw, k, s, padding, op, d, expected):
    shape = conv.conv2d_transpose_output_shape((2, hw, hw, 3), (k, k, 5, 3), strides=s, padding=padding,
                                               output_padding=op, dilation_rate=d)
    assert shape == (2, expected, expected, 5)
    assert ref.deconv_output_length(hw, k, padding, op, s, d) == expected


def test_same_padding_puts_the_odd_cell_bottom_right():
    # H=4, k=2, s=1: one padded row, at the bottom, so the last output row sees only row 3.
    x = np.zeros((1, 4, 4, 1))
    x[0, 3, 3, 0] = 1.0
    y = conv.conv2d_forward(x, np.ones((2, 2, 1, 1)), padding="same")
    assert y.shape == (1, 4, 4, 1)
    assert y[0, 3, 3, 0] == 1.0 and y[0, 2, 2, 0] == 1.0 and y[0, :, :, 0].sum() == 4.0


def test_input_smaller_than_kernel_under_same():
    rng = np.random.default_rng(5)
    x, k = rng.standard_normal((2, 2, 3, 2)), rng.standard_normal((5, 5, 2, 3))
    y = conv.conv2d_forward(x, k, padding="same", strides=2)
    assert y.shape == (2, 1, 2, 3)
    np.testing.assert_allclose(y, ref.conv2d_forward(x, k, padding="same", strides=2), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_do_not_depend_on_thread_count(dtype):
    # Shapes large enough for several scratch blocks and every parallel path.
    rng = np.random.default_rng(6)
    cases = [((5, 23, 21, 7), (3, 3, 7, 20), dict(padding="same")),
             ((3, 40, 40, 3), (5, 5, 3, 8), dict(strides=2)),
             ((4, 9, 9, 16), (1, 1, 16, 24), {}),
             ((2, 12, 12, 8), (3, 3, 1, 8), dict(groups=8, padding="same")),
             ((2, 11, 10, 32), (3, 3, 1, 64), dict(groups=32, strides=2, padding="same")),  # depthwise x2
             ((3, 9, 8, 64), (3, 3, 64, 8), dict(padding="same"))]  # dx by the flipped-kernel conv
    for x_shape, k_shape, opts in cases:
        x = rng.standard_normal(x_shape).astype(dtype)
        k = rng.standard_normal(k_shape).astype(dtype)
        runs = []
        for threads in (1, 2):
            with minicnn.num_threads(threads):
                y = conv.conv2d_forward(x, k, **opts)
                dy = np.cos(np.arange(y.size, dtype=dtype)).reshape(y.shape)
                runs.append((y, conv.conv2d_backward_input(dy, k, x_shape, **opts),
                             *conv.conv2d_backward_kernel(x, dy, k_shape, **opts)))
        for a, b in zip(*runs):
            assert np.array_equal(a, b)
        close(runs[0][0], ref.conv2d_forward(x.astype(np.float64), k.astype(np.float64), **opts), dtype)


def test_non_contiguous_inputs_are_accepted():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 6, 6))[:, :, :, ::2]
    k = np.asfortranarray(rng.standard_normal((3, 3, 3, 2)))
    np.testing.assert_allclose(conv.conv2d_forward(x, k), ref.conv2d_forward(np.ascontiguousarray(x), k), rtol=1e-12)


def test_empty_batch():
    y = conv.conv2d_forward(np.zeros((0, 5, 5, 2)), np.ones((3, 3, 2, 4)))
    assert y.shape == (0, 3, 3, 4)
    dk, db = conv.conv2d_backward_kernel(np.zeros((0, 5, 5, 2)), y, (3, 3, 2, 4))
    assert not dk.any() and not db.any()


# ------------------------------------------------------------------ bad arguments

X = np.zeros((2, 8, 8, 4), np.float32)
K = np.zeros((3, 3, 4, 6), np.float32)


@pytest.mark.parametrize("call, match", [
    (lambda: conv.conv2d_forward(X, np.zeros((3, 3, 3, 6), np.float32)), r"channel mismatch.*\(2, 8, 8, 4\).*\(3, 3, 3, 6\)"),
    (lambda: conv.conv2d_forward(X, np.zeros((3, 3, 4, 6), np.float32), groups=3), r"groups=3 must divide"),
    (lambda: conv.conv2d_forward(X, np.zeros((3, 3, 2, 6), np.float32), groups=2, strides=0), r"strides must be >= 1"),
    (lambda: conv.conv2d_forward(X, K, strides=(1, -1)), r"strides must be >= 1"),
    (lambda: conv.conv2d_forward(X, K, dilation_rate=0), r"dilation_rate must be >= 1"),
    (lambda: conv.conv2d_forward(X, np.zeros((9, 3, 4, 6), np.float32)), r"kernel larger than the padded input.*\(2, 8, 8, 4\)"),
    (lambda: conv.conv2d_forward(X, K, dilation_rate=4), r"kernel larger than the padded input"),
    (lambda: conv.conv2d_forward(X[0], K), r"x must have 4 dimensions, got shape \(8, 8, 4\)"),
    (lambda: conv.conv2d_forward(X, K[0]), r"kernel must have 4 dimensions"),
    (lambda: conv.conv2d_forward(X, K.astype(np.float64)), r"kernel has dtype float64"),
    (lambda: conv.conv2d_forward(X.astype(np.int32), K), r"x must be float32 or float64, got int32"),
    (lambda: conv.conv2d_forward(X, K, np.zeros(5, np.float32)), r"bias must have shape \(6,\)"),
    (lambda: conv.conv2d_forward(X, K, padding="full"), r"padding must be"),
    (lambda: conv.conv2d_forward(X, K, padding=((1, -1), (0, 0))), r"padding must be non-negative"),
    (lambda: conv.conv2d_forward(X, K, groups=0), r"groups must be >= 1"),
    (lambda: conv.conv2d_backward_input(np.zeros((2, 5, 6, 6), np.float32), K, X.shape), r"dy must have shape \(2, 6, 6, 6\)"),
    (lambda: conv.conv2d_backward_kernel(X, np.zeros((2, 6, 6, 5), np.float32), K.shape), r"dy must have shape"),
    (lambda: conv.conv2d_backward_kernel(X, np.zeros((2, 6, 6, 6), np.float64), K.shape), r"dy has dtype float64"),
    (lambda: conv.conv2d_transpose_forward(X, np.zeros((3, 3, 2, 5), np.float32)), r"channel mismatch"),
    (lambda: conv.conv2d_transpose_forward(X, np.zeros((3, 3, 2, 4), np.float32), strides=2, output_padding=2),
     r"output_padding"),
    (lambda: conv.conv2d_transpose_forward(X, np.zeros((3, 3, 2, 4), np.float32), padding=((1, 1), (1, 1))),
     r"'valid' or 'same'"),
    (lambda: conv.conv2d_transpose_backward_input(np.zeros((2, 16, 16, 2), np.float32),
                                                  np.zeros((3, 3, 2, 4), np.float32), strides=2),
     r"dy shape \(2, 16, 16, 2\) is not the output"),
])
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: conv.conv2d_forward(X.tolist(), K),
    lambda: conv.conv2d_forward(X, K, strides="2"),
    lambda: conv.conv2d_forward(X, K, groups=1.5),
])
def test_wrong_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("opts", [dict(padding="same"), dict(padding="valid", dilation_rate=(2, 1)),
                                  dict(padding=((2, 0), (0, 1)))])
def test_wide_input_backward_paths(opts):
    # >= 64 input channels at stride 1 takes the flipped-kernel conv for dx; compare both dtypes.
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 5, 100))
    k = rng.standard_normal((3, 3, 100, 5))
    y = conv.conv2d_forward(x, k, **opts)
    dy = rng.standard_normal(y.shape)
    expected = ref.conv2d_backward_input(dy, k, x.shape, **opts)
    for dtype in (np.float64, np.float32):
        for threads in (1, 2):
            with minicnn.num_threads(threads):
                close(conv.conv2d_backward_input(dy.astype(dtype), k.astype(dtype), x.shape, **opts), expected, dtype)


# ------------------------------------------------------------------ the plan

A = conv.Algorithm


@pytest.mark.parametrize("direction, x_shape, k_shape, opts, expected", [
    ("forward", (64, 28, 28, 1), (5, 5, 1, 6), {}, A.DIRECT),                 # LeNet's first layer
    ("backward_kernel", (64, 28, 28, 1), (5, 5, 1, 6), {}, A.DIRECT),
    ("forward", (64, 32, 32, 3), (3, 3, 3, 16), dict(padding="same"), A.WINOGRAD),  # RGB: the small-C kernel
    ("backward_kernel", (64, 32, 32, 3), (3, 3, 3, 16), dict(padding="same"), A.DIRECT),
    ("backward_input", (64, 32, 32, 3), (3, 3, 3, 16), dict(padding="same"), A.IM2COL),
    ("forward", (8, 14, 14, 32), (3, 3, 1, 32), dict(groups=32, padding="same"), A.DEPTHWISE),
    ("backward_input", (8, 14, 14, 32), (3, 3, 1, 64), dict(groups=32), A.DEPTHWISE),
    ("backward_kernel", (8, 14, 14, 32), (3, 3, 1, 32), dict(groups=32), A.DEPTHWISE),
    ("forward", (8, 12, 12, 32), (1, 1, 32, 48), {}, A.POINTWISE),
    ("backward_input", (8, 12, 12, 32), (1, 1, 32, 48), {}, A.POINTWISE),
    ("backward_kernel", (8, 12, 12, 32), (1, 1, 32, 48), {}, A.POINTWISE),
    ("backward_input", (8, 16, 16, 64), (3, 3, 64, 64), dict(padding="same"), A.FLIPPED),
    ("backward_input", (8, 16, 16, 64), (3, 3, 64, 64), dict(strides=2), A.IM2COL),
    ("backward_input", (8, 16, 16, 32), (3, 3, 32, 64), dict(padding="same"), A.FLIPPED),  # Winograd inside
    ("backward_input", (8, 16, 16, 8), (3, 3, 8, 64), dict(padding="same"), A.IM2COL),
    ("backward_input", (8, 16, 16, 32), (5, 5, 32, 64), dict(padding="same"), A.IM2COL),
    ("backward_kernel", (64, 12, 12, 6), (5, 5, 6, 16), {}, A.ROW_PARTS),       # LeNet's second layer
    ("backward_kernel", (8, 16, 16, 128), (3, 3, 128, 128), {}, A.IM2COL),  # a big kernel: ranges of it
    ("forward", (8, 16, 16, 64), (3, 3, 64, 64), {}, A.WINOGRAD),
    ("forward", (8, 16, 16, 64), (3, 3, 64, 8), {}, A.IM2COL),                 # too few filters
    ("forward", (8, 16, 16, 64), (3, 3, 64, 64), dict(strides=2), A.IM2COL),
    ("forward", (8, 16, 16, 64), (3, 3, 64, 64), dict(dilation_rate=2), A.IM2COL),
    ("forward", (8, 16, 16, 64), (5, 5, 64, 64), {}, A.IM2COL),
])
def test_the_plan_picks_the_measured_algorithm(direction, x_shape, k_shape, opts, expected):
    p = conv.plan(direction, x_shape, k_shape, **opts)
    assert p.algorithm == expected
    assert p == conv.plan(direction, x_shape, k_shape, **opts)  # sizes alone decide
    with minicnn.num_threads(1):
        assert conv.plan(direction, x_shape, k_shape, **opts) == p  # ... never the thread count


def test_the_plan_shows_block_sizes_and_the_flipped_forward():
    p = conv.plan("backward_input", (8, 16, 16, 64), (5, 5, 64, 64), padding="same")
    assert p.inner.algorithm == A.IM2COL and p.inner.direction == conv._conv.Direction.FORWARD
    assert p.inner.rows == (1 << 20) // ((5 * 5 * 64 + 64) * 4) // 8 * 8
    p = conv.plan("backward_input", (8, 16, 16, 64), (3, 3, 64, 32), padding="same")
    assert p.inner.algorithm == A.WINOGRAD  # tiles per unit: 16 x (32 + 64) float32 values per tile in 256 KiB
    assert p.inner.rows == (1 << 18) // (16 * (32 + 64) * 4) // 24 * 24
    p = conv.plan("backward_kernel", (64, 12, 12, 6), (5, 5, 6, 16))
    assert p.parts == 16 and p.rows == 256 and not p.transposed
    assert conv.plan("backward_kernel", (64, 28, 28, 3), (3, 3, 3, 8), algorithm=A.IM2COL).transposed
    assert conv.plan("backward_kernel", (64, 28, 28, 1), (5, 5, 1, 6)).parts == 16


@pytest.mark.parametrize("direction, x_shape, k_shape, opts, algorithm", [
    ("backward_input", (2, 6, 6, 4), (3, 3, 4, 4), {}, A.DIRECT),
    ("forward", (2, 6, 6, 4), (3, 3, 4, 4), {}, A.FLIPPED),
    ("backward_input", (2, 6, 6, 4), (3, 3, 4, 4), dict(strides=2), A.FLIPPED),
    ("forward", (2, 6, 6, 4), (3, 3, 4, 4), {}, A.POINTWISE),
    ("forward", (2, 6, 6, 4), (3, 3, 2, 4), dict(groups=2), A.DEPTHWISE),
    ("forward", (2, 6, 6, 4), (3, 3, 2, 4), dict(groups=2), A.DIRECT),
    ("forward", (2, 6, 6, 4), (3, 3, 4, 4), {}, A.ROW_PARTS),
])
def test_an_algorithm_that_cannot_run_the_call_is_refused(direction, x_shape, k_shape, opts, algorithm):
    with pytest.raises(ValueError, match=f"algorithm {algorithm.name} cannot compute"):
        conv.plan(direction, x_shape, k_shape, algorithm=algorithm, **opts)


# Geometries on which several algorithms can run: every usable one is forced on each
ALGORITHM_CASES = [
    ((3, 9, 8, 1), (3, 3, 1, 5), dict(strides=(1, 2), padding="same")),
    ((2, 10, 11, 3), (3, 2, 3, 7), dict(padding=((2, 0), (1, 1)), dilation_rate=(1, 2))),
    ((2, 6, 7, 70), (3, 2, 70, 4), dict(padding="same", dilation_rate=(1, 2))),
    ((3, 8, 8, 6), (5, 5, 6, 7), {}),
    ((2, 7, 6, 6), (1, 1, 6, 9), {}),
    ((2, 7, 6, 6), (1, 1, 2, 9), dict(groups=3)),
    ((2, 9, 9, 4), (3, 3, 1, 8), dict(groups=4, strides=2, padding="same")),
    ((1, 5, 6, 1), (2, 2, 1, 3), dict(dilation_rate=2)),
    ((70, 6, 6, 2), (3, 3, 2, 3), {}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, k_shape, opts", ALGORITHM_CASES)
def test_every_algorithm_the_plan_can_pick_matches_reference(x_shape, k_shape, opts, dtype):
    rng = np.random.default_rng(sum(x_shape) + sum(k_shape))
    x, k = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    b = rng.standard_normal(k_shape[3])
    want_y = ref.conv2d_forward(x, k, b, **opts)
    dy = rng.standard_normal(want_y.shape)
    relu_y = np.maximum(want_y, 0)
    want = {"forward": want_y, "backward_input": ref.conv2d_backward_input(dy, k, x_shape, **opts),
            "backward_kernel": ref.conv2d_backward_kernel(x, dy * (relu_y > 0), k_shape, **opts)}
    x, k, b, dy, relu_y = (a.astype(dtype) for a in (x, k, b, dy, relu_y))
    calls = {"forward": lambda alg: [conv.conv2d_forward(x, k, b, algorithm=alg, **opts)],
             "backward_input": lambda alg: [conv.conv2d_backward_input(dy, k, x_shape, algorithm=alg, **opts)],
             "backward_kernel": lambda alg: list(conv.conv2d_backward_kernel(x, dy, k_shape, relu_output=relu_y,
                                                                             algorithm=alg, **opts))}
    for direction, call in calls.items():
        for alg in A:
            try:
                conv.plan(direction, x_shape, k_shape, algorithm=alg, dtype=dtype, **opts)
            except ValueError:
                continue
            runs = []
            for threads in (1, 2):
                with minicnn.num_threads(threads):
                    runs.append(call(alg))
            for a, c in zip(*runs):
                assert np.array_equal(a, c), (direction, alg)  # bitwise, whatever the thread count
            for got, exp in zip(runs[0], want[direction] if direction == "backward_kernel" else [want[direction]]):
                close(got, exp, dtype)


def test_every_algorithm_is_covered_by_the_cases_above():
    seen = set()
    for x_shape, k_shape, opts in ALGORITHM_CASES:
        for direction in ("forward", "backward_input", "backward_kernel"):
            for alg in A:
                try:
                    conv.plan(direction, x_shape, k_shape, algorithm=alg, **opts)
                except ValueError:
                    continue
                seen.add((direction, alg))
    assert {alg for _, alg in seen} == set(A)
    assert {("backward_kernel", A.ROW_PARTS), ("backward_input", A.FLIPPED), ("backward_kernel", A.DIRECT),
            ("forward", A.DEPTHWISE), ("backward_input", A.POINTWISE)} <= seen
