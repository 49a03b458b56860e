"""The fused epilogues of the speed work: conv + bias + ReLU in the forward kernel, the ReLU
mask + bias gradient in one pass, and Add + ReLU in one pass (inference).  Each must equal the unfused computation, at any thread count."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn._kernels import _dispatch, conv, elementwise
from minicnn.reference import kernels as ref

DTYPES = [np.float32, np.float64]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), hw=st.integers(3, 9), c=st.integers(1, 5), f=st.integers(1, 9),
       k=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]), stride=st.integers(1, 2),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_conv_forward_relu_epilogue_equals_relu_of_the_conv(n, hw, c, f, k, padding, stride, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, hw, hw, c)).astype(dtype)
    w = rng.standard_normal((k, k, c, f)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    kw = dict(strides=stride, padding=padding)
    plain = conv.conv2d_forward(x, w, b, **kw)
    fused = conv.conv2d_forward(x, w, b, relu=True, **kw)
    # Same arithmetic, then max(., 0): bit for bit.
    np.testing.assert_array_equal(fused, np.maximum(plain, 0))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fused, np.maximum(ref.conv2d_forward(x, w, b, **kw), 0), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_forward_relu_does_not_depend_on_the_thread_count(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 13, 13, 16)).astype(dtype)
    w = rng.standard_normal((3, 3, 16, 32)).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    outs = []
    for t in (1, 2, 3):
        with minicnn.num_threads(t):
            outs.append(conv.conv2d_forward(x, w, b, relu=True))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), dtype=st.sampled_from(DTYPES),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_relu_mask_bias_grad_matches_numpy(shape, dtype, bias, seed):
    rng = np.random.default_rng(seed)
    dy = rng.standard_normal(shape).astype(dtype)
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)  # a ReLU output: many exact zeros
    g, db = elementwise.relu_mask_bias_grad(dy, y, bias=bias)
    expected = dy * (y > 0)
    np.testing.assert_array_equal(g, expected)
    assert g.dtype == dtype and g.shape == dy.shape
    if bias:
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(db, expected.reshape(-1, shape[-1]).sum(axis=0), rtol=tol, atol=tol)
        assert db.dtype == dtype and db.shape == (shape[-1],)
    else:
        assert db is None


def test_relu_mask_bias_grad_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(1)
    dy = rng.standard_normal((64, 26, 26, 32)).astype(np.float32)
    y = np.maximum(rng.standard_normal(dy.shape), 0).astype(np.float32)
    results = []
    for t in (1, 2, 3):
        with minicnn.num_threads(t):
            results.append(elementwise.relu_mask_bias_grad(dy, y))
    for g, db in results[1:]:
        np.testing.assert_array_equal(g, results[0][0])
        np.testing.assert_array_equal(db, results[0][1])


def test_relu_mask_bias_grad_rejects_bad_input():
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="same shape"):
        elementwise.relu_mask_bias_grad(a, np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="float32/float64"):
        elementwise.relu_mask_bias_grad(a, np.zeros((2, 3), np.float64))
    with pytest.raises(TypeError, match="numpy arrays"):
        elementwise.relu_mask_bias_grad([[0.0]], a)


def _special_pairs(dtype):
    """(a, b) whose sums hit every case np.maximum(s, 0) treats apart: NaN, +-inf, -0.0 (from
    -0.0 + -0.0), +0.0, the smallest subnormal, exact cancellation."""
    tiny = np.finfo(dtype).smallest_subnormal
    a = np.array([np.nan, 1.0, -0.0, -0.0, np.inf, -np.inf, tiny, -tiny, 2.5, -1.0], dtype)
    b = np.array([1.0, np.nan, -0.0, 0.0, -1.0, 1.0, 0.0, 0.0, -2.5, 0.5], dtype)
    return a, b


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 40), min_size=1, max_size=4), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2 ** 16), isa=st.sampled_from(_dispatch.available()))
def test_add_relu_is_numpys_maximum_of_the_sum_bit_for_bit(shape, dtype, seed, isa):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    special_a, special_b = _special_pairs(dtype)
    k = min(flat_a.size, special_a.size)
    flat_a[:k], flat_b[:k] = special_a[:k], special_b[:k]
    y = elementwise.add_relu(a, b, isa=isa)
    with np.errstate(invalid="ignore"):
        expected = np.maximum(a + b, 0)
    assert y.shape == a.shape and y.dtype == a.dtype
    assert y.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_relu_does_not_depend_on_the_thread_count(dtype):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 33, 31, 16)).astype(dtype)  # several blocks, a ragged last one
    b = rng.standard_normal(a.shape).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with minicnn.num_threads(threads):
            results.append(elementwise.add_relu(a, b).tobytes())
    assert results[0] == results[1] == results[2] == np.maximum(a + b, 0).tobytes()


def test_add_relu_rejects_bad_input():
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(3, 2\)"):
        elementwise.add_relu(a, np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="float32/float64 dtype, got float32 and float64"):
        elementwise.add_relu(a, np.zeros((2, 3), np.float64))
    with pytest.raises(TypeError, match="float32/float64 dtype, got int64 and int64"):
        elementwise.add_relu(np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match="numpy arrays, got list"):
        elementwise.add_relu([[0.0]], a)
