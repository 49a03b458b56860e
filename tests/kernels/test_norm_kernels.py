"""Batch-normalisation kernels vs the plain-NumPy reference, thread-count independence, offsets,
the op's compiled path vs its NumPy path (moving statistics included), float64 gradcheck through
the layer, bad input."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import Tensor, ops
from minicnn import layers as L
from minicnn._kernels import _dispatch, _norm, norm
from minicnn._kernels.conv import DTypeError
from minicnn.reference import norm as ref

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.float32, np.float64]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


@st.composite
def bn_case(draw):
    """A channels-last shape (1-4 dims; C from 1 to 70 crosses the row-group and block sizes)."""
    c = draw(st.integers(1, 70))
    lead = draw(st.lists(st.integers(1, 9), min_size=0, max_size=3))
    if not lead:
        lead = [draw(st.integers(1, 40))]
    return tuple(lead) + (c,), draw(st.integers(0, 2**31 - 1))


def _inputs(shape, dtype, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    C = shape[-1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3.0, C) + offset + rng.normal(0, 2, C)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, C).astype(dtype)
    beta = rng.normal(0, 1, C).astype(dtype)
    return x, g, gamma, beta


def _all_outputs(x, g, gamma, beta, relu=False, training=True):
    mean, var = norm.batch_norm_statistics(x)
    inv_std = 1.0 / np.sqrt(var + 1e-3)
    y = norm.batch_norm_forward(x, mean, inv_std, gamma, beta, relu=relu)
    gx, dgamma, dbeta = norm.batch_norm_backward(g, x, mean, inv_std, gamma, training=training)
    return mean, var, y, gx, dgamma, dbeta


@SETTINGS
@given(case=bn_case(), dtype=st.sampled_from(DTYPES), threads=st.sampled_from([1, 2]),
       affine=st.booleans(), training=st.booleans(), relu=st.booleans())
def test_kernels_match_reference(case, dtype, threads, affine, training, relu):
    shape, seed = case
    x, g, gamma, beta = _inputs(shape, dtype, seed)
    if not affine:
        gamma = beta = None
    with minicnn.num_threads(threads):
        mean, var = norm.batch_norm_statistics(x)
        rmean, rvar = ref.batch_norm_statistics(x)
        assert mean.dtype == var.dtype == np.float64 and mean.shape == (shape[-1],)
        np.testing.assert_allclose(mean, rmean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(var, rvar, rtol=1e-10, atol=1e-12)
        inv_std = 1.0 / np.sqrt(var + 1e-3)
        m = mean.astype(dtype)  # the op hands over x's dtype; the reference uses the same numbers
        y = norm.batch_norm_forward(x, m, inv_std, gamma, beta, relu=relu)
        assert y.shape == shape and y.dtype == dtype
        np.testing.assert_allclose(y, ref.batch_norm_forward(x, m, inv_std, gamma, beta, relu=relu), **TOL[dtype])
        gx, dgamma, dbeta = norm.batch_norm_backward(g, x, m, inv_std, gamma, training=training)
        rgx, rdgamma, rdbeta = ref.batch_norm_backward(g, x, m, inv_std, gamma, training=training)
        assert gx.shape == shape and gx.dtype == dtype
        assert dgamma.dtype == dbeta.dtype == np.float64
        scale = np.sqrt(np.prod(shape[:-1]))  # sums over n terms of unit size: errors grow like sqrt(n)
        np.testing.assert_allclose(dbeta, rdbeta, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
        np.testing.assert_allclose(dgamma, rdgamma, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
        np.testing.assert_allclose(gx, rgx, **TOL[dtype])
        _, none_dgamma, none_dbeta = norm.batch_norm_backward(g, x, m, inv_std, gamma, need_x=False)
        assert _ is None
        np.testing.assert_array_equal(none_dgamma, dgamma)
        np.testing.assert_array_equal(none_dbeta, dbeta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 20, 20, 16), (16, 14, 14, 32), (32, 7, 7, 64), (3001, 37), (700, 300),
                                   (40, 1, 1, 9000)])
def test_results_do_not_depend_on_the_thread_count(shape, dtype):
    x, g, gamma, beta = _inputs(shape, dtype, 7)
    assert x.size >= 65536  # big enough to run on several threads (_norm.PARALLEL_MIN_ELEMS)
    outs = []
    for t in (1, 2, 3):
        with minicnn.num_threads(t):
            outs.append(_all_outputs(x, g, gamma, beta) + _all_outputs(x, g, gamma, beta, relu=True)
                        + _all_outputs(x, g, None, None, training=False))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("offset,dtype,rtol", [(1e4, np.float32, 1e-6), (1e6, np.float32, 1e-6), (1e8, np.float64, 1e-7)])
def test_statistics_stay_accurate_far_from_zero(offset, dtype, rtol):
    # E[x^2] - E[x]^2 would lose every digit here; the variance is taken of the stored values.
    rng = np.random.default_rng(1)
    x = (offset + rng.standard_normal((40, 30, 24)) * 3).astype(dtype)
    mean, var = norm.batch_norm_statistics(x)
    x2 = x.reshape(-1, x.shape[-1]).astype(np.float64)
    exact_mean = np.array([math.fsum(col) for col in x2.T]) / x2.shape[0]
    np.testing.assert_allclose(mean, exact_mean, rtol=1e-14)
    np.testing.assert_allclose(var, ref.batch_norm_statistics(x)[1], rtol=rtol)
    assert np.all(var > 0)


def test_statistics_of_a_constant_are_exact():
    x = np.full((300, 5), 0.1, np.float32)
    mean, var = norm.batch_norm_statistics(x)
    np.testing.assert_array_equal(mean, np.float64(np.float32(0.1)))
    np.testing.assert_array_equal(var, 0.0)


@pytest.mark.parametrize("isa", _dispatch.available())
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_is_numpys_maximum_bit_for_bit(isa, dtype):
    """NaN kept and -0.0 (here from a -0.0 beta) turned to +0.0, as np.maximum: the inference
    fusion (ops/_inference.py) runs its ReLU in this kernel."""
    x = np.tile(np.array([np.nan, -1.0, 2.0, -0.0, 0.0, -0.0], dtype), (40, 1))
    beta = np.array([0.0, 0.0, 0.0, -0.0, -0.0, 0.0])
    y = norm.batch_norm_forward(x, np.zeros(6), np.ones(6), beta=beta, relu=True, isa=isa)
    plain = norm.batch_norm_forward(x, np.zeros(6), np.ones(6), beta=beta, isa=isa)
    assert np.signbit(plain[:, 3]).all()
    assert np.array_equal(y.view(np.uint8), np.maximum(plain, 0).view(np.uint8))


def test_non_contiguous_input_and_gradient():
    x, g, gamma, beta = _inputs((6, 5, 4), np.float64, 3)
    xt, gt = x.transpose(1, 0, 2), g.transpose(1, 0, 2)  # channels still last, rows permuted
    mean, var = norm.batch_norm_statistics(xt)
    np.testing.assert_allclose(mean, ref.batch_norm_statistics(x)[0], rtol=1e-13)
    gx, _, _ = norm.batch_norm_backward(gt, xt, mean, 1 / np.sqrt(var), gamma)
    np.testing.assert_allclose(gx, ref.batch_norm_backward(gt, xt, mean, 1 / np.sqrt(var), gamma)[0], rtol=1e-10,
                               atol=1e-12)


def test_block_and_group_sizes_depend_on_channels_only():
    for C in (1, 3, 16, 64, 127, 128, 1000):
        assert _norm.group_len(C) % C == 0 and _norm.group_len(C) >= min(C, 128)
        assert _norm.block_rows(C) >= 16


# ------------------------------------------------------------------ the op: compiled path vs NumPy path

def _op(x, gamma, beta, mm, mv, training, g, axis=-1):
    """The op's outputs and gradients; with the channels moved to axis 0 (axis=0) the op takes its
    NumPy path (the kernels serve channels-last only), and the results are moved back."""
    move = (lambda a: np.moveaxis(a, -1, 0)) if axis == 0 else (lambda a: a)
    back = (lambda a: np.moveaxis(a, 0, -1)) if axis == 0 else (lambda a: a)
    xt = Tensor(move(x), requires_grad=True)
    gt = None if gamma is None else Tensor(gamma, requires_grad=True)
    bt = None if beta is None else Tensor(beta, requires_grad=True)
    y = ops.fused_batch_normalization(xt, gt, bt, mm, mv, training=training, momentum=0.9, epsilon=1e-3, axis=axis)
    y.backward(move(g))
    return back(y.data), back(xt.grad), None if gt is None else gt.grad, None if bt is None else bt.grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("shape", [(4, 6, 6, 5), (33, 17), (2, 3, 70)])
def test_op_kernel_path_equals_numpy_path(shape, affine, training, dtype):
    x, g, gamma, beta = _inputs(shape, dtype, 11, offset=3.0)
    gamma = gamma if affine[0] else None
    beta = beta if affine[1] else None
    C = shape[-1]
    rng = np.random.default_rng(2)
    mm0 = rng.normal(0, 1, C).astype(dtype)
    mv0 = rng.uniform(0.5, 2, C).astype(dtype)
    mm_k, mv_k, mm_n, mv_n = mm0.copy(), mv0.copy(), mm0.copy(), mv0.copy()
    got = _op(x, gamma, beta, mm_k, mv_k, training, g)
    want = _op(x, gamma, beta, mm_n, mv_n, training, g, axis=0)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for a, b in zip(got, want):
        if b is None:
            assert a is None
            continue
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(mm_k, mm_n, **tol)
    np.testing.assert_allclose(mv_k, mv_n, **tol)
    if training:
        rmean, rvar = ref.batch_norm_statistics(x)
        np.testing.assert_allclose(mm_k, 0.9 * mm0 + 0.1 * rmean, **tol)
        np.testing.assert_allclose(mv_k, 0.9 * mv0 + 0.1 * rvar, **tol)
    else:
        np.testing.assert_array_equal(mm_k, mm0)
        np.testing.assert_array_equal(mv_k, mv0)


def test_op_updates_moving_statistics_in_place_with_the_kernels():
    x, _, _, _ = _inputs((50, 4), np.float32, 5, offset=2.0)
    mm = Tensor(np.zeros(4, np.float32))
    mv = np.ones(4, np.float32)
    data = mm.data
    ops.fused_batch_normalization(x, None, None, mm, mv, training=True, momentum=0.75)
    assert mm.data is data and mm.dtype == np.float32 and mv.dtype == np.float32
    rmean, rvar = ref.batch_norm_statistics(x)
    np.testing.assert_allclose(mm.data, 0.25 * rmean, rtol=1e-6)
    np.testing.assert_allclose(mv, 0.75 + 0.25 * rvar, rtol=1e-6)


def test_op_falls_back_to_numpy_for_other_axes_mixed_dtypes_and_empty_batches():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 4))
    mm, mv = np.zeros(3), np.ones(3)
    y = ops.fused_batch_normalization(x, None, None, mm, mv, training=True, axis=1)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2)), 0, atol=1e-12)
    # float64 gamma on float32 x: NumPy's promotion decides the output dtype, as before
    x32 = x.astype(np.float32)
    y = ops.fused_batch_normalization(x32, np.ones(4), None, np.zeros(4), np.ones(4), training=True)
    assert y.dtype == np.float64
    empty = np.zeros((0, 4), np.float32)
    y = ops.fused_batch_normalization(empty, None, None, np.zeros(4, np.float32), np.ones(4, np.float32), training=False)
    assert y.shape == (0, 4)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_through_the_layer_float64(training):
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 1.5, (3, 4, 4, 5))
    bn = L.BatchNormalization(dtype="float64")
    bn.build(x.shape)
    bn.gamma.data[...] = rng.uniform(0.5, 1.5, 5)
    bn.beta.data[...] = rng.normal(0, 1, 5)
    bn.moving_mean.data[...] = rng.normal(2, 0.1, 5)
    bn.moving_variance.data[...] = rng.uniform(1, 3, 5)
    assert minicnn.gradcheck(lambda t: bn(t, training=training), [x])
    mm, mv = bn.moving_mean.data.copy(), bn.moving_variance.data.copy()
    gamma, beta = bn.gamma.data.copy(), bn.beta.data.copy()
    assert minicnn.gradcheck(
        lambda t, g, b: ops.fused_batch_normalization(t, g, b, mm.copy(), mv.copy(), training=training), [x, gamma, beta])


def test_gradcheck_without_gamma_and_beta_float64():
    x = np.random.default_rng(8).normal(size=(7, 6))
    mm, mv = np.zeros(6), np.ones(6)
    assert minicnn.gradcheck(lambda t: ops.fused_batch_normalization(t, None, None, mm, mv, training=True), [x])


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("call,exc,match", [
    (lambda: norm.batch_norm_statistics(np.ones((4, 3), np.int64)), DTypeError, "x must be float32 or float64"),
    (lambda: norm.batch_norm_statistics([[1.0]]), TypeError, "x must be a numpy array"),
    (lambda: norm.batch_norm_statistics(np.array(1.0, np.float32)), ValueError, "at least 1 dimension"),
    (lambda: norm.batch_norm_statistics(np.ones((0, 3))), ValueError, "no rows"),
    (lambda: norm.batch_norm_forward(np.ones((4, 3)), np.zeros(2), np.ones(3)), ValueError,
     r"mean must have shape \(3,\)"),
    (lambda: norm.batch_norm_forward(np.ones((4, 3)), np.zeros(3), np.ones(3), gamma=np.ones((3, 1))), ValueError,
     r"gamma must have shape \(3,\)"),
    (lambda: norm.batch_norm_forward(np.ones((4, 3)), np.zeros(3), np.ones(3), beta=np.ones(3, np.int32)),
     DTypeError, "beta must be a float array"),
    (lambda: norm.batch_norm_forward(np.ones((4, 3)), None, np.ones(3)), ValueError, "mean is required"),
    (lambda: norm.batch_norm_backward(np.ones((4, 2)), np.ones((4, 3)), np.zeros(3), np.ones(3)), ValueError,
     "g must have the shape of x"),
    (lambda: norm.batch_norm_backward(np.ones((4, 3), np.float32), np.ones((4, 3)), np.zeros(3), np.ones(3)),
     DTypeError, "g has dtype float32"),
])
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------ ReLU backward (compiled mask)

def _relu_grad(x, g):
    xt = Tensor(x, requires_grad=True)
    ops.relu(xt).backward(g)
    return xt.grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (64, 20, 20, 16), (2, 3, 4, 5)])
def test_relu_backward_kernel_is_bitwise_the_numpy_mask(shape, dtype):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x.flat[:3] = [0.0, -0.0, np.nan][: x.size]  # the boundary and a NaN
    if g.size > 4:
        g.flat[3:5] = [np.inf, -np.inf]  # inf * 0 is NaN in both
    want = g * (np.maximum(x, 0) > 0)  # the NumPy form the compiled mask replaces
    for t in (1, 2):
        with minicnn.num_threads(t):
            got = _relu_grad(x, g)
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_relu_gradcheck_float64():
    x = np.random.default_rng(3).normal(size=(4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink
    assert minicnn.gradcheck(ops.relu, [x])
