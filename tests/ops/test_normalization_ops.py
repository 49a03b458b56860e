"""ops.layer_normalization and ops.group_normalization: against the NumPy references on many
shapes and axes (hypothesis), float32 and float64, float64 gradcheck, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import ops
from minicnn.autograd import Tensor
from minicnn.reference import normalization as ref


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), data=st.data(),
       affine=st.booleans(), dtype=st.sampled_from(["float32", "float64"]))
def test_layer_normalization_matches_reference(shape, data, affine, dtype):
    ndim = len(shape)
    axes = sorted(data.draw(st.sets(st.integers(1, ndim - 1), min_size=1)))
    x = rnd(*shape, seed=1) * 3 + 1
    kept = [shape[a] for a in axes]
    gamma, beta = (rnd(*kept, seed=2), rnd(*kept, seed=3)) if affine else (None, None)
    axis = axes[0] - ndim if len(axes) == 1 else axes  # negative ints work too
    cast = (lambda a: None if a is None else a.astype(dtype))
    got = ops.layer_normalization(cast(x), cast(gamma), cast(beta), axis=axis, epsilon=1e-3)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(got.numpy(), ref.layer_normalization(x, gamma, beta, axes, 1e-3), rtol=tol, atol=tol)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), spatial=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       groups=st.sampled_from([1, 2, 3]), per_group=st.integers(1, 3), channels_first=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]))
def test_group_normalization_matches_reference(n, spatial, groups, per_group, channels_first, dtype):
    c = groups * per_group
    shape = (n, c, *spatial) if channels_first else (n, *spatial, c)
    axis = 1 if channels_first else -1
    x, gamma, beta = rnd(*shape, seed=4) * 2 - 1, rnd(c, seed=5), rnd(c, seed=6)
    got = ops.group_normalization(x.astype(dtype), gamma.astype(dtype), beta.astype(dtype), groups=groups,
                                  axis=axis, epsilon=1e-3)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(got.numpy(), ref.group_normalization(x, gamma, beta, groups, axis, 1e-3),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["last", "two_axes", "no_affine", "group_last", "group_first", "instance"])
def test_gradcheck(case):
    x = rnd(2, 3, 4, 6, seed=7)
    if case == "last":
        fn, args = (lambda t, g, b: ops.layer_normalization(t, g, b, epsilon=1e-3)), [x, rnd(6, seed=8), rnd(6, seed=9)]
    elif case == "two_axes":
        fn, args = (lambda t, g, b: ops.layer_normalization(t, g, b, axis=[1, 3], epsilon=1e-3)), [
            x, rnd(3, 6, seed=8), rnd(3, 6, seed=9)]
    elif case == "no_affine":
        fn, args = (lambda t: ops.layer_normalization(t, axis=(1, 2, 3))), [x]
    elif case == "group_last":
        fn, args = (lambda t, g, b: ops.group_normalization(t, g, b, groups=3)), [x, rnd(6, seed=8), rnd(6, seed=9)]
    elif case == "group_first":
        fn, args = (lambda t, g: ops.group_normalization(t, g, groups=3, axis=1)), [x, rnd(3, seed=8)]
    else:
        fn, args = (lambda t, b: ops.group_normalization(t, None, b, groups=6)), [x, rnd(6, seed=9)]
    assert minicnn.gradcheck(fn, args)


def test_backward_float32_matches_float64_and_statistics():
    x = rnd(4, 5, 6, seed=10) * 5 + 3
    grads = []
    for dtype in (np.float64, np.float32):
        t, g = Tensor(x.astype(dtype), requires_grad=True), Tensor(np.ones(6, dtype), requires_grad=True)
        y = ops.layer_normalization(t, g, axis=-1, epsilon=1e-5)
        if dtype == np.float64:
            np.testing.assert_allclose(y.numpy().mean(-1), 0, atol=1e-12)
            np.testing.assert_allclose(y.numpy().std(-1), 1, atol=1e-4)
        y.backward(rnd(*y.shape, seed=11).astype(dtype))
        grads.append((t.grad, g.grad))
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_errors():
    x = rnd(2, 3, 4)
    with pytest.raises(ValueError, match="out of range"):
        ops.layer_normalization(x, axis=3)
    with pytest.raises(ValueError, match="duplicate"):
        ops.layer_normalization(x, axis=[1, -2])
    with pytest.raises(ValueError, match=r"gamma must hold one value .* \(4,\)"):
        ops.layer_normalization(x, np.ones(3))
    with pytest.raises(ValueError, match="divisor"):
        ops.group_normalization(x, groups=3)
    with pytest.raises(ValueError, match="batch axis"):
        ops.group_normalization(x, groups=1, axis=0)
    with pytest.raises(ValueError, match=r"beta must hold one value .* \(4,\)"):
        ops.group_normalization(x, None, np.ones(2), groups=2)
    with pytest.raises(TypeError, match="floating"):
        ops.layer_normalization(np.ones((2, 3), dtype=int))
