"""ops.image.resize: against the loop-based reference (every method, up and down, antialias),
against known values, float32/float64, float64 gradcheck; aspect-ratio crop/pad, integer
images, channels_first and unbatched inputs, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import ops
from minicnn.autograd import Tensor
from minicnn.reference import image as ref

METHODS = ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"]


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), oh=st.integers(1, 12), ow=st.integers(1, 12),
       method=st.sampled_from(METHODS), antialias=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]))
def test_matches_reference(h, w, oh, ow, method, antialias, dtype):
    x = np.random.default_rng(h * 100 + w).normal(size=(2, h, w, 3))
    got = ops.image.resize(x.astype(dtype), (oh, ow), interpolation=method, antialias=antialias)
    assert got.dtype == np.dtype(dtype) and got.shape == (2, oh, ow, 3)
    want = ref.resize(x, (oh, ow), method, antialias)
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("antialias", [False, True])
def test_gradcheck(method, antialias):
    x = np.random.default_rng(1).normal(size=(2, 5, 4, 2))
    for size in ((7, 3), (2, 9), (5, 4), (10, 12)):  # (10, 12): whole factors, the repeat path of "nearest"
        assert minicnn.gradcheck(lambda t: ops.image.resize(t, size, interpolation=method, antialias=antialias),
                                 [x])


def test_backward_float32_matches_float64():
    x = np.random.default_rng(2).normal(size=(2, 6, 5, 3))
    grads = []
    for dtype in (np.float64, np.float32):
        t = Tensor(x.astype(dtype), requires_grad=True)
        y = ops.image.resize(t, (9, 4), interpolation="bicubic", antialias=True)
        y.backward(np.random.default_rng(3).normal(size=y.shape).astype(dtype))
        assert t.grad.dtype == dtype
        grads.append(t.grad)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-5)


def test_known_values():
    row = np.array([0.0, 1.0, 2.0, 3.0]).reshape(1, 1, 4, 1)
    np.testing.assert_allclose(ops.image.resize(row, (1, 8)).numpy().ravel(),
                               [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])  # TF / JAX half-pixel
    np.testing.assert_allclose(ops.image.resize(row, (1, 2)).numpy().ravel(), [0.5, 2.5])
    np.testing.assert_array_equal(ops.image.resize(row, (1, 8), interpolation="nearest").numpy().ravel(),
                                  [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(ops.image.resize(row, (1, 3), interpolation="nearest").numpy().ravel(),
                                  [0, 2, 3])  # floor((i + 0.5) * 4 / 3)
    # antialias: a 2x downscale averages with a kernel twice as wide (tent over 4 pixels)
    np.testing.assert_allclose(ops.image.resize(row, (1, 2), antialias=True).numpy().ravel(),
                               [(0 * 3 + 1 * 3 + 2 * 1) / 7, (1 * 1 + 2 * 3 + 3 * 3) / 7])
    same = np.random.default_rng(4).normal(size=(1, 3, 3, 2))
    np.testing.assert_array_equal(ops.image.resize(same, (3, 3)).numpy(), same)


def test_crop_and_pad_to_aspect_ratio():
    x = np.random.default_rng(5).normal(size=(2, 6, 10, 1))
    cropped = ops.image.resize(x, (3, 3), crop_to_aspect_ratio=True).numpy()
    np.testing.assert_allclose(cropped, ref.resize(x[:, :, 2:8], (3, 3)), rtol=1e-12)  # central 6x6
    padded = ops.image.resize(x, (5, 5), pad_to_aspect_ratio=True, fill_value=7.0).numpy()
    wide = np.concatenate([np.full((2, 2, 10, 1), 7.0), x, np.full((2, 2, 10, 1), 7.0)], axis=1)
    np.testing.assert_allclose(padded, ref.resize(wide, (5, 5)), rtol=1e-12)
    t = Tensor(x, requires_grad=True)
    ops.image.resize(t, (5, 5), pad_to_aspect_ratio=True).sum().backward()
    assert t.grad.shape == x.shape and (t.grad > 0).all()


def test_integer_images_channels_first_and_unbatched():
    img = np.random.default_rng(6).integers(0, 256, (2, 5, 7, 3)).astype(np.uint8)
    out = ops.image.resize(img, (8, 4))
    assert out.dtype == np.uint8
    want = np.clip(np.round(ref.resize(img, (8, 4)).astype(np.float32)), img.min(), img.max())
    assert np.abs(out.numpy().astype(int) - want).max() <= 1  # float32 rounding at .5 ties
    x = np.random.default_rng(7).normal(size=(2, 3, 5, 7))
    np.testing.assert_allclose(ops.image.resize(x, (4, 4), data_format="channels_first").numpy(),
                               ref.resize(x.transpose(0, 2, 3, 1), (4, 4)).transpose(0, 3, 1, 2), rtol=1e-12)
    np.testing.assert_allclose(ops.image.resize(x[0], (4, 4), data_format="channels_first").numpy(),
                               ref.resize(x[:1].transpose(0, 2, 3, 1), (4, 4))[0].transpose(2, 0, 1), rtol=1e-12)


def test_errors():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match="interpolation"):
        ops.image.resize(x, (2, 2), interpolation="area")
    with pytest.raises(ValueError, match="only one of"):
        ops.image.resize(x, (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="fill_mode"):
        ops.image.resize(x, (2, 2), fill_mode="reflect")
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        ops.image.resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="positive"):
        ops.image.resize(x, (0, 2))
    with pytest.raises(ValueError, match=r"\(height, width\)"):
        ops.image.resize(x, 3)
    with pytest.raises(ValueError, match="empty"):
        ops.image.resize(np.zeros((1, 0, 4, 1)), (2, 2))
