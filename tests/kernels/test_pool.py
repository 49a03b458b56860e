"""Pooling kernels vs the plain-NumPy reference, ties, finite differences, Keras' "same", bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn._kernels import pool
from minicnn.reference import kernels as ref

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}


@st.composite
def pool_case(draw):
    pool_size = draw(st.sampled_from([1, 2, 3, (2, 3), (3, 1)]))
    strides = draw(st.sampled_from([None, 1, 2, (1, 2), 3]))
    padding = draw(st.sampled_from(["valid", "same"]))
    ph, pw = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    h = draw(st.integers(1 if padding == "same" else ph, 7))
    w = draw(st.integers(1 if padding == "same" else pw, 7))
    # few distinct values, so windows often hold ties
    ties = draw(st.booleans())
    return (n, h, w, c), dict(pool_size=pool_size, strides=strides, padding=padding), ties, draw(st.integers(0, 2**31 - 1))


def _data(shape, ties, dtype, rng):
    return (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)


@SETTINGS
@given(case=pool_case(), dtype=st.sampled_from([np.float64, np.float32]), threads=st.sampled_from([1, 2]))
def test_pooling_matches_reference(case, dtype, threads):
    shape, opts, ties, seed = case
    rng = np.random.default_rng(seed)
    x = _data(shape, ties, dtype, rng)
    with minicnn.num_threads(threads):
        y, arg = pool.max_pool2d_forward(x, **opts)
        ry, rarg = ref.max_pool2d_forward(x, **opts)
        assert y.shape == pool.pool2d_output_shape(shape, **opts) and y.dtype == dtype
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(arg, rarg)  # first maximum on ties
        dy = rng.standard_normal(y.shape).astype(dtype)
        np.testing.assert_allclose(pool.max_pool2d_backward(dy, arg, shape),
                                   ref.max_pool2d_backward(dy, rarg, shape), **TOL[dtype])
        np.testing.assert_allclose(pool.avg_pool2d_forward(x, **opts), ref.avg_pool2d_forward(x, **opts), **TOL[dtype])
        np.testing.assert_allclose(pool.avg_pool2d_backward(dy, shape, **opts),
                                   ref.avg_pool2d_backward(dy, shape, **opts), **TOL[dtype])
        gy, garg = pool.global_max_pool2d_forward(x)
        rgy, rgarg = ref.global_max_pool2d_forward(x)
        np.testing.assert_array_equal(gy, rgy)
        np.testing.assert_array_equal(garg, rgarg)
        gdy = rng.standard_normal(gy.shape).astype(dtype)
        np.testing.assert_allclose(pool.global_max_pool2d_backward(gdy, garg, shape),
                                   ref.global_max_pool2d_backward(gdy, rgarg, shape), **TOL[dtype])
        np.testing.assert_allclose(pool.global_avg_pool2d_forward(x), ref.global_avg_pool2d_forward(x), **TOL[dtype])
        np.testing.assert_allclose(pool.global_avg_pool2d_backward(gdy, shape),
                                   ref.global_avg_pool2d_backward(gdy, shape), **TOL[dtype])


def test_max_ties_go_to_the_first_cell_in_row_major_order():
    x = np.zeros((1, 4, 4, 2), np.float32)
    x[0, 1, 0, 1] = x[0, 0, 1, 1] = 5.0  # channel 1: two maxima in window (0, 0); (0, 1) comes first
    y, arg = pool.max_pool2d_forward(x)
    assert arg[0, 0, 0, 0] == 0          # channel 0: all equal -> the window's first cell
    assert arg[0, 0, 0, 1] == 1          # h*W + w of (0, 1)
    assert arg[0, 1, 1, 0] == 2 * 4 + 2
    dx = pool.max_pool2d_backward(np.ones_like(y), arg, x.shape)
    assert dx[0, 0, 1, 1] == 1 and dx[0, 1, 0, 1] == 0


def test_overlapping_windows_scatter_add():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0                  # the max of all four overlapping 2x2 windows
    y, arg = pool.max_pool2d_forward(x, 2, strides=1)
    assert (arg == 4).all()
    assert pool.max_pool2d_backward(np.ones_like(y), arg, x.shape)[0, 1, 1, 0] == 4.0
    assert pool.max_pool2d_backward(np.ones_like(y), arg.astype(np.int64), x.shape)[0, 1, 1, 0] == 4.0


def test_same_padding_counts_only_real_cells_and_never_picks_padding():
    x = -np.ones((1, 3, 3, 1))
    y, arg = pool.max_pool2d_forward(x, 2, padding="same")
    assert y.shape == (1, 2, 2, 1) and (y == -1).all()   # padding (as -inf) never wins
    assert arg[0, 1, 1, 0] == 8
    a = pool.avg_pool2d_forward(np.arange(9.0).reshape(1, 3, 3, 1), 2, padding="same")
    np.testing.assert_allclose(a[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])  # corner window: one real cell


@pytest.mark.parametrize("opts", [dict(pool_size=2), dict(pool_size=3, strides=2, padding="same"),
                                  dict(pool_size=(2, 3), strides=1)])
def test_pool_gradients_by_central_differences(opts):
    rng = np.random.default_rng(2)
    x = rng.permutation(2 * 5 * 6 * 3).reshape(2, 5, 6, 3) * 0.01  # distinct values: max is differentiable
    for forward, backward in [
        (lambda: pool.avg_pool2d_forward(x, **opts), lambda r: pool.avg_pool2d_backward(r, x.shape, **opts)),
        (lambda: pool.max_pool2d_forward(x, **opts)[0],
         lambda r: pool.max_pool2d_backward(r, pool.max_pool2d_forward(x, **opts)[1], x.shape)),
        (lambda: pool.global_avg_pool2d_forward(x), lambda r: pool.global_avg_pool2d_backward(r, x.shape)),
        (lambda: pool.global_max_pool2d_forward(x)[0],
         lambda r: pool.global_max_pool2d_backward(r, pool.global_max_pool2d_forward(x)[1], x.shape)),
    ]:
        r = rng.standard_normal(forward().shape)
        grad = backward(r)
        flat = x.reshape(-1)
        for idx in rng.choice(flat.size, 15, replace=False):
            old = flat[idx]
            flat[idx] = old + 1e-6
            up = (forward() * r).sum()
            flat[idx] = old - 1e-6
            down = (forward() * r).sum()
            flat[idx] = old
            np.testing.assert_allclose((up - down) / 2e-6, grad.reshape(-1)[idx], rtol=1e-6, atol=1e-8)


def test_results_do_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 17, 13, 24)).astype(np.float32)
    runs = []
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            y, arg = pool.max_pool2d_forward(x, 3, 2, "same")
            dy = np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape)
            runs.append((y, arg, pool.max_pool2d_backward(dy, arg, x.shape), pool.avg_pool2d_forward(x, 3, 2, "same"),
                         pool.avg_pool2d_backward(dy, x.shape, 3, 2, "same"), pool.global_avg_pool2d_forward(x)))
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


X = np.zeros((2, 6, 6, 3), np.float32)


@pytest.mark.parametrize("call, match", [
    (lambda: pool.max_pool2d_forward(X, 7), r"pool_size \(7, 7\) is larger than the input.*\(2, 6, 6, 3\)"),
    (lambda: pool.max_pool2d_forward(X, 0), r"pool_size must be >= 1"),
    (lambda: pool.avg_pool2d_forward(X, 2, strides=(1, 0)), r"strides must be >= 1"),
    (lambda: pool.avg_pool2d_forward(X, 2, padding="full"), r"padding must be"),
    (lambda: pool.max_pool2d_forward(X[0]), r"x must have 4 dimensions, got shape \(6, 6, 3\)"),
    (lambda: pool.max_pool2d_forward(X.astype(np.int64)), r"x must be float32 or float64, got int64"),
    (lambda: pool.avg_pool2d_backward(np.zeros((2, 2, 3, 3), np.float32), X.shape), r"dy must have shape \(2, 3, 3, 3\)"),
    (lambda: pool.max_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 3, 3, 3), np.float32), X.shape),
     r"argmax must be int32 or int64"),
    (lambda: pool.max_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), np.full((2, 3, 3, 3), 36, np.int32), X.shape),
     r"argmax holds indices outside \[0, 36\)"),
    (lambda: pool.max_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 3, 3, 2), np.int32), X.shape),
     r"argmax must have the shape of dy"),
    (lambda: pool.global_avg_pool2d_backward(np.zeros((2, 4), np.float32), X.shape), r"dy must have shape \(2, 3\)"),
    (lambda: pool.global_max_pool2d_forward(np.zeros((2, 0, 3, 3), np.float32)), r"no cells"),
])
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()
