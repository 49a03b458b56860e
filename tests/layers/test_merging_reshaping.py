"""Merge layers (Subtract, Average, Maximum, Minimum, Dot and their functional forms) and the
reshaping layers (Cropping2D, ZeroPadding2D, Permute, RepeatVector) against NumPy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers as L
from minicnn.autograd import Tensor


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in shapes]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_merges_match_numpy(dtype):
    a, b, c = (x.astype(dtype) for x in arrays((3, 4), (3, 4), (3, 4)))
    tol = 1e-6 if dtype == "float32" else 1e-12
    cases = [(L.Subtract, [a, b], a - b), (L.Average, [a, b, c], (a + b + c) / 3),
             (L.Maximum, [a, b, c], np.maximum(np.maximum(a, b), c)),
             (L.Minimum, [a, b, c], np.minimum(np.minimum(a, b), c))]
    for cls, inputs, want in cases:
        got = cls(dtype=dtype)(inputs)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)
    for fn, inputs, want in zip((L.subtract, L.average, L.maximum, L.minimum), [x[1] for x in cases],
                                [x[2] for x in cases]):
        np.testing.assert_allclose(fn(inputs, dtype=dtype).numpy(), want, rtol=tol, atol=tol)


def test_merge_gradients():
    a, b = (Tensor(x, requires_grad=True) for x in arrays((2, 3), (2, 3), seed=1))
    L.Maximum(dtype="float64")([a, b]).sum().backward()
    np.testing.assert_array_equal(a.grad + b.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(a.grad, (a.numpy() > b.numpy()).astype(float))
    a, b = arrays((2, 3), (1, 3), seed=2)  # size-1 dimensions broadcast
    np.testing.assert_array_equal(L.Minimum(dtype="float64")([a, b]).numpy(), np.minimum(a, b))
    assert minicnn.gradcheck(lambda x, y: L.Minimum(dtype="float64")([x, y]), [a, b])
    assert minicnn.gradcheck(lambda x, y: L.Subtract(dtype="float64")([x, y]), arrays((2, 3), (2, 3)))
    assert minicnn.gradcheck(lambda x, y, z: L.Average(dtype="float64")([x, y, z]), arrays((2, 3), (2, 3), (2, 3)))


def test_subtract_needs_exactly_two_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([minicnn.Input((3,))] * 3)
    with pytest.raises(ValueError, match="at least 2"):
        L.Average()(minicnn.Input((3,)))


def dot_oracle(x, y, axes, normalize):
    a0, a1 = (axes, axes) if isinstance(axes, int) else axes
    a0, a1 = a0 % x.ndim, a1 % y.ndim
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=a0, keepdims=True), 1e-7)
        y = y / np.maximum(np.linalg.norm(y, axis=a1, keepdims=True), 1e-7)
    out = np.stack([np.tensordot(xi, yi, axes=(a0 - 1, a1 - 1)) for xi, yi in zip(x, y)])
    return out.reshape(-1, 1) if out.ndim == 1 else out


DOT_CASES = [((4, 3), (4, 5), 1), ((3, 4), (4, 2), (2, 1)), ((6,), (6,), -1), ((2, 3, 4), (4, 5), (3, 1)),
             ((5,), (5, 2), (1, 1)), ((3, 2), (4, 3), (1, 2)), ((2, 3, 4), (3, 2, 4), (-1, -1))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("s1,s2,axes", DOT_CASES)
def test_dot_matches_tensordot(s1, s2, axes, normalize):
    x, y = arrays((2,) + s1, (2,) + s2, seed=2)
    layer = L.Dot(axes=axes, normalize=normalize, dtype="float64")
    got = layer([x, y])
    np.testing.assert_allclose(got.numpy(), dot_oracle(x, y, axes, normalize), rtol=1e-10, atol=1e-12)
    assert got.shape == layer.compute_output_shape([x.shape, y.shape])
    assert layer([minicnn.Input(s1), minicnn.Input(s2)]).shape == (None,) + got.shape[1:]
    assert minicnn.gradcheck(lambda a, b: layer([a, b]), [x, y])
    got32 = L.Dot(axes=axes, normalize=normalize)([x.astype("float32"), y.astype("float32")])
    np.testing.assert_allclose(got32.numpy(), got.numpy(), rtol=2e-5, atol=2e-6)


def test_dot_keras_example_functional_form_and_errors():
    x = np.arange(10.0).reshape(1, 5, 2)
    y = np.arange(10.0, 20.0).reshape(1, 2, 5)
    np.testing.assert_array_equal(L.Dot(axes=(1, 2))([x, y]).numpy(), [[[260, 360], [320, 445]]])
    v = np.ones((3, 4))
    np.testing.assert_allclose(L.dot([v, v], axes=1, normalize=True).numpy(), np.ones((3, 1)))
    assert L.dot([v, 2 * v]).shape == (3, 1)  # axes=-1 by default in the functional form
    with pytest.raises(ValueError, match="batch axis"):
        L.Dot(axes=0)([v, v])
    with pytest.raises(ValueError, match="differs"):
        L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        L.Dot(axes=1)([v, v, v])
    with pytest.raises(ValueError, match="pair of ints"):
        L.Dot(axes=(1, 2, 3))
    assert L.Dot(axes=(1, 2)).get_config()["axes"] == (1, 2)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(5, 8), w=st.integers(5, 8), t=st.integers(0, 2), b=st.integers(0, 2), l=st.integers(0, 2),
       r=st.integers(0, 2), channels_first=st.booleans())
def test_cropping2d_and_zero_padding2d_match_numpy(h, w, t, b, l, r, channels_first):
    fmt = "channels_first" if channels_first else "channels_last"
    x = np.random.default_rng(3).normal(size=(2, 3, h, w) if channels_first else (2, h, w, 3))
    sl = (slice(None), slice(None), slice(t, h - b), slice(l, w - r)) if channels_first else (
        slice(None), slice(t, h - b), slice(l, w - r))
    crop = L.Cropping2D(((t, b), (l, r)), data_format=fmt, dtype="float64")
    np.testing.assert_array_equal(crop(x).numpy(), x[sl])
    assert crop(x).shape == crop.compute_output_shape(x.shape)
    pads = ((0, 0), (0, 0), (t, b), (l, r)) if channels_first else ((0, 0), (t, b), (l, r), (0, 0))
    pad = L.ZeroPadding2D(((t, b), (l, r)), data_format=fmt, dtype="float64")
    np.testing.assert_array_equal(pad(x).numpy(), np.pad(x, pads))
    xt = Tensor(x, requires_grad=True)
    crop(xt).sum().backward()
    want = np.zeros_like(x)
    want[sl] = 1
    np.testing.assert_array_equal(xt.grad, want)


def test_cropping2d_argument_forms_and_errors():
    assert L.Cropping2D(2).cropping == ((2, 2), (2, 2))
    assert L.Cropping2D((1, 3)).cropping == ((1, 1), (3, 3))
    assert L.Cropping2D().get_config()["cropping"] == ((0, 0), (0, 0))
    with pytest.raises(ValueError, match="non-negative"):
        L.Cropping2D(((1, -1), (0, 0)))
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping2D(((2, 2), (0, 0)))(minicnn.Input((4, 5, 1)))


def test_permute_and_repeat_vector():
    x = arrays((2, 3, 4, 5), seed=4)[0]
    np.testing.assert_array_equal(L.Permute((3, 1, 2), dtype="float64")(x).numpy(), x.transpose(0, 3, 1, 2))
    assert L.Permute((2, 1))(minicnn.Input((10, 64))).shape == (None, 64, 10)
    with pytest.raises(ValueError, match="permutation"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match="rank 3"):
        L.Permute((2, 1))(np.zeros((2, 3, 4, 5)))
    v = arrays((2, 4), seed=5)[0]
    np.testing.assert_array_equal(L.RepeatVector(3, dtype="float64")(v).numpy(), np.repeat(v[:, None], 3, axis=1))
    vt = Tensor(v, requires_grad=True)
    L.RepeatVector(3, dtype="float64")(vt).sum().backward()
    np.testing.assert_array_equal(vt.grad, np.full((2, 4), 3.0))
    with pytest.raises(TypeError):
        L.RepeatVector(2.5)
    with pytest.raises(ValueError, match="2-D"):
        L.RepeatVector(2)(np.zeros((2, 3, 4)))
