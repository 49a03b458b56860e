"""RandomRotation, RandomZoom, RandomContrast, RandomBrightness: inactive outside training,
per-image draws reproducible from the seed, and outputs equal to loop-based NumPy oracles."""

import math

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.autograd import Tensor


def images(n=3, h=7, w=6, c=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, h, w, c))


def point_oracle(img, y, x, interpolation, fill_mode, fill_value):
    """One HWC image at one source point; "constant" fills each out-of-image tap, "nearest"
    clamps (the modes this file checks)."""
    h, w, _ = img.shape

    def tap(i, j):
        if fill_mode == "nearest":
            return img[min(max(i, 0), h - 1), min(max(j, 0), w - 1)]
        return img[i, j] if 0 <= i < h and 0 <= j < w else np.full(img.shape[2], fill_value)

    if interpolation == "nearest":
        return tap(int(math.floor(y + 0.5)), int(math.floor(x + 0.5)))
    y0, x0 = int(math.floor(y)), int(math.floor(x))
    fy, fx = y - y0, x - x0
    return ((1 - fy) * (1 - fx) * tap(y0, x0) + (1 - fy) * fx * tap(y0, x0 + 1)
            + fy * (1 - fx) * tap(y0 + 1, x0) + fy * fx * tap(y0 + 1, x0 + 1))


def warp_oracle(x, coords, interpolation, fill_mode, fill_value=0.0):
    """coords(b, i, j) -> source (y, x) of output pixel (i, j) of image b."""
    out = np.zeros_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            for j in range(x.shape[2]):
                out[b, i, j] = point_oracle(x[b], *coords(b, i, j), interpolation, fill_mode, fill_value)
    return out


@pytest.mark.parametrize("layer", [L.RandomRotation(0.3), L.RandomZoom(0.3), L.RandomContrast(0.5),
                                   L.RandomBrightness(0.5)])
def test_inactive_outside_training(layer):
    x = images() * 255
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.astype("float32"))
    model = minicnn.Sequential([minicnn.Input(x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.astype("float32"))
    assert not np.array_equal(layer(x).numpy(), x.astype("float32"))  # on its own: training, as Keras


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_by_quarter_turns_is_rot90(k):
    x = images(h=5, w=5)
    layer = L.RandomRotation((k / 4, k / 4), interpolation="nearest", dtype="float64")
    np.testing.assert_allclose(layer(x, training=True).numpy(), np.rot90(x, k, axes=(1, 2)), atol=1e-12)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest"])
def test_rotation_matches_oracle_with_the_seeded_angles(interpolation, fill_mode):
    x = images()
    layer = L.RandomRotation((-0.2, 0.3), fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5,
                             seed=11, dtype="float64")
    got = layer(x, training=True).numpy()
    angles = np.deg2rad(np.random.default_rng(11).uniform(-0.2 * 360, 0.3 * 360, size=3))
    cy, cx = (x.shape[1] - 1) / 2, (x.shape[2] - 1) / 2

    def coords(b, i, j):
        c, s = math.cos(angles[b]), math.sin(angles[b])
        return s * (j - cx) + c * (i - cy) + cy, c * (j - cx) - s * (i - cy) + cx

    np.testing.assert_allclose(got, warp_oracle(x, coords, interpolation, fill_mode, 0.5), atol=1e-12)


def test_rotation_differentiable_channels_first_and_unbatched():
    x = images(n=2, c=3)
    layer = L.RandomRotation(0.1, seed=3, dtype="float64", data_format="channels_first")
    xt = Tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    y = layer(xt, training=True)
    assert y.shape == xt.shape
    y.sum().backward()
    assert xt.grad.shape == xt.shape and xt.grad.sum() > 0
    assert L.RandomRotation(0.1)(x[0], training=True).shape == x[0].shape


@pytest.mark.parametrize("width_factor", [None, (-0.5, 0.2)])
def test_zoom_matches_oracle_with_the_seeded_factors(width_factor):
    x = images()
    layer = L.RandomZoom((-0.3, 0.4), width_factor, fill_mode="constant", fill_value=0.25, seed=5,
                         dtype="float64")
    got = layer(x, training=True).numpy()
    rng = np.random.default_rng(5)
    zy = 1 + rng.uniform(-0.3, 0.4, size=(3, 1))
    zx = zy if width_factor is None else 1 + rng.uniform(*width_factor, size=(3, 1))
    cy, cx = (x.shape[1] - 1) / 2, (x.shape[2] - 1) / 2
    want = warp_oracle(x, lambda b, i, j: (cy + zy[b, 0] * (i - cy), cx + zx[b, 0] * (j - cx)),
                       "bilinear", "constant", 0.25)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_zoom_and_rotation_arguments():
    assert L.RandomRotation(0.2).factor == (-0.2, 0.2)
    assert L.RandomRotation((0.3, -0.1)).get_config()["factor"] == (-0.1, 0.3)  # sorted, as Keras
    with pytest.raises(ValueError, match="factor"):
        L.RandomRotation(1.5)
    with pytest.raises(ValueError, match=r"\(-1, 1\]"):
        L.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        L.RandomRotation(0.1, interpolation="bicubic")
    config = L.RandomZoom(0.2, (0.1, 0.3)).get_config()
    assert config["height_factor"] == 0.2 and config["width_factor"] == (0.1, 0.3)


def test_contrast_formula_with_the_seeded_factors():
    x = images(c=3) * 255
    layer = L.RandomContrast((0.4, 0.6), seed=9, dtype="float64")
    got = layer(x, training=True).numpy()
    factor = np.random.default_rng(9).uniform(1 - 0.4, 1 + 0.6, size=(3, 1, 1, 1))
    mean = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, np.clip((x - mean) * factor + mean, 0, 255), rtol=1e-12)
    assert L.RandomContrast(0.3).factor == (0.0, 0.3)  # Keras 3: a float only raises contrast
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        L.RandomContrast(-0.2)
    with pytest.raises(ValueError, match="value_range"):
        L.RandomContrast(0.2, value_range=(0, 1, 2))


def test_brightness_formula_with_the_seeded_deltas():
    x = images(c=3)
    layer = L.RandomBrightness(0.4, value_range=(0, 1), seed=4, dtype="float64")
    got = layer(x, training=True).numpy()
    delta = np.random.default_rng(4).uniform(-0.4, 0.4, size=(3, 1, 1, 1))
    np.testing.assert_allclose(got, np.clip(x + delta, 0, 1), rtol=1e-12)
    assert L.RandomBrightness(0.2, value_range=(255, 0)).get_config()["value_range"] == [0, 255]
    xt = Tensor(x, requires_grad=True)
    L.RandomBrightness(0.1, value_range=(-5, 5), dtype="float64")(xt, training=True).sum().backward()
    np.testing.assert_array_equal(xt.grad, 1.0)  # nothing clipped: the gradient passes
    with pytest.raises(ValueError, match="factor"):
        L.RandomBrightness((0.5, 1.5, 2))


def test_integer_images_come_out_float():
    x = (images() * 255).astype(np.uint8)
    for layer in (L.RandomRotation(0.2, seed=1), L.RandomZoom(0.2, seed=1), L.RandomContrast(0.2, seed=1),
                  L.RandomBrightness(0.2, seed=1)):
        y = layer(x, training=True)
        assert y.dtype == np.float32 and y.shape == x.shape


def test_a_data_augmentation_pipeline_augments_when_called_on_its_own():
    """keras-io's image_classification_from_scratch: ``data_augmentation(images)`` (plotting, or
    ``dataset.map``) augments; the same Sequential inside a model only augments in fit."""
    augment = minicnn.Sequential([L.RandomFlip("horizontal", seed=1), L.RandomRotation(0.1, seed=1)])
    x = images(n=8)
    assert not np.allclose(augment(x).numpy(), x)
    model = minicnn.Sequential([minicnn.Input(x.shape[1:]), augment, L.Flatten()])
    np.testing.assert_allclose(model.predict(x, verbose=0), x.reshape(8, -1).astype("float32"))
    np.testing.assert_allclose(model(x, training=False).numpy(), x.reshape(8, -1).astype("float32"))


@pytest.mark.parametrize("layer", [L.RandomRotation(0.1), L.RandomFlip(), L.RandomContrast(0.1), L.Resizing(2, 2),
                                   L.CenterCrop(2, 2)])
def test_keras_data_dicts_are_refused_clearly(layer):
    with pytest.raises(ValueError, match="dict inputs .* not supported"):
        layer({"images": images(), "labels": np.zeros(3)})
