"""LayerNormalization, GroupNormalization, Resizing, CenterCrop, UpSampling1D/2D against the
NumPy references and Keras' documented behaviour."""

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.reference import image as ref_image
from minicnn.reference import normalization as ref_norm


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], (2, 3)])
def test_layer_normalization_matches_reference(axis):
    x = rnd(2, 3, 4, 5) * 4 + 2
    layer = L.LayerNormalization(axis=axis, gamma_initializer="random_normal",
                                 beta_initializer="random_normal", dtype="float64")
    y = layer(x)
    axes = sorted(a % 4 for a in np.atleast_1d(axis))
    assert layer.axis == axes and layer.gamma.shape == tuple(x.shape[a] for a in axes)
    np.testing.assert_allclose(y.numpy(), ref_norm.layer_normalization(x, layer.gamma.numpy(), layer.beta.numpy(),
                                                                       axes, 1e-3), rtol=1e-10, atol=1e-12)
    config = layer.get_config()
    assert config["axis"] == axes and config["epsilon"] == 1e-3 and config["rms_scaling"] is False
    clone = L.LayerNormalization.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y.numpy())


def test_layer_normalization_is_the_same_in_training_and_inference_and_errors():
    x = rnd(4, 6)
    layer = L.LayerNormalization()
    np.testing.assert_array_equal(layer(x, training=True).numpy(), layer(x).numpy())
    with pytest.raises(ValueError, match="rms_scaling"):
        L.LayerNormalization(rms_scaling=True)
    with pytest.raises(TypeError, match="axis"):
        L.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="out of range"):
        L.LayerNormalization(axis=3)(x)
    with pytest.raises(ValueError, match="duplicate"):
        L.LayerNormalization(axis=[1, -1])(x)


@pytest.mark.parametrize("groups,axis", [(2, -1), (4, -1), (-1, -1), (1, 1), (3, 1)])
def test_group_normalization_matches_reference(groups, axis):
    x = rnd(2, 6, 3, 6) * 3 - 1 if axis == 1 else rnd(2, 3, 3, 4) * 3 - 1
    layer = L.GroupNormalization(groups=groups, axis=axis, gamma_initializer="random_normal",
                                 beta_initializer="random_normal", dtype="float64")
    y = layer(x)
    c = x.shape[axis]
    assert layer.groups == (c if groups == -1 else groups)  # -1 becomes one group per channel
    np.testing.assert_allclose(y.numpy(), ref_norm.group_normalization(
        x, layer.gamma.numpy(), layer.beta.numpy(), layer.groups, axis, 1e-3), rtol=1e-10, atol=1e-12)
    assert minicnn.gradcheck(lambda t: layer(t), [x])


def test_group_normalization_errors_and_defaults():
    layer = L.GroupNormalization()
    assert (layer.groups, layer.axis, layer.epsilon) == (32, -1, 1e-3)
    with pytest.raises(ValueError, match="multiple of groups"):
        layer(np.zeros((1, 4, 4, 16)))  # 16 channels < 32 groups
    with pytest.raises(ValueError, match="multiple of groups"):
        L.GroupNormalization(groups=3)(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="positive int"):
        L.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="multiple of groups"):
        L.GroupNormalization(groups=2)(minicnn.Input((4, 5)))


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3"])
def test_resizing_matches_reference(interpolation):
    x = rnd(2, 7, 5, 3)
    layer = L.Resizing(4, 9, interpolation=interpolation, antialias=True, dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), ref_image.resize(x, (4, 9), interpolation, True), rtol=1e-12)
    assert layer(x, training=True).shape == layer.compute_output_shape(x.shape) == (2, 4, 9, 3)
    assert layer.compute_output_shape((7, 5, 3)) == (4, 9, 3)
    assert L.Resizing(4, 9, data_format="channels_first").compute_output_shape((2, 3, 7, 5)) == (2, 3, 4, 9)


def test_resizing_integer_images_keep_their_dtype_and_errors():
    img = np.random.default_rng(1).integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    out = L.Resizing(4, 4)(img)
    assert out.dtype == np.uint8 and out.shape == (3, 4, 4, 3)
    with pytest.raises(ValueError, match="interpolation"):
        L.Resizing(2, 2, interpolation="area")
    with pytest.raises(ValueError, match="only one of"):
        L.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="height"):
        L.Resizing(0, 2)
    with pytest.raises(ValueError, match="rank 3"):
        L.Resizing(2, 2)(np.zeros((2, 3)))


@pytest.mark.parametrize("hw", [(8, 8), (7, 8), (8, 7)])
def test_center_crop_takes_the_central_window(hw):
    x = rnd(2, *hw, 3)
    got = L.CenterCrop(4, 5, dtype="float64")(x).numpy()
    top, left = (hw[0] - 4) // 2, (hw[1] - 5) // 2
    np.testing.assert_array_equal(got, x[:, top:top + 4, left:left + 5])


def test_center_crop_smaller_image_is_cropped_to_the_aspect_ratio_then_resized():
    x = rnd(2, 5, 9, 1)
    got = L.CenterCrop(6, 6, dtype="float64")(x).numpy()
    np.testing.assert_allclose(got, ref_image.resize(x[:, :, 2:7], (6, 6)), rtol=1e-12)  # central 5x5
    img = np.random.default_rng(2).integers(0, 256, (1, 4, 4, 3)).astype(np.uint8)
    out = L.CenterCrop(2, 2)(img)
    assert out.dtype == np.float32  # Keras casts to the layer's float dtype
    xf = rnd(1, 3, 6, 6)
    np.testing.assert_array_equal(L.CenterCrop(2, 4, data_format="channels_first", dtype="float64")(xf).numpy(),
                                  xf[:, :, 2:4, 1:5])


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_upsampling2d_nearest_is_repeat_and_bilinear_is_resize(fmt):
    x = rnd(2, 3, 4, 2) if fmt == "channels_last" else rnd(2, 2, 3, 4)
    h, w = (1, 2) if fmt == "channels_last" else (2, 3)
    near = L.UpSampling2D((2, 3), data_format=fmt, dtype="float64")
    np.testing.assert_array_equal(near(x).numpy(), np.repeat(np.repeat(x, 2, axis=h), 3, axis=w))
    xt = Tensor(x, requires_grad=True)
    near(xt).sum().backward()
    np.testing.assert_array_equal(xt.grad, 6.0)  # each input feeds 2 x 3 outputs
    bil = L.UpSampling2D(2, data_format=fmt, interpolation="Bilinear", dtype="float64")
    assert bil.interpolation == "bilinear"
    nhwc = x if fmt == "channels_last" else x.transpose(0, 2, 3, 1)
    want = ref_image.resize(nhwc, (nhwc.shape[1] * 2, nhwc.shape[2] * 2))
    got = bil(x).numpy()
    np.testing.assert_allclose(got if fmt == "channels_last" else got.transpose(0, 2, 3, 1), want, rtol=1e-12)
    assert minicnn.gradcheck(lambda t: bil(t), [x])


def test_upsampling1d_and_defaults():
    x = rnd(2, 4, 3)
    np.testing.assert_array_equal(L.UpSampling1D(3, dtype="float64")(x).numpy(), np.repeat(x, 3, axis=1))
    assert L.UpSampling1D().size == (2,) and L.UpSampling1D().get_config()["size"] == 2
    up = L.UpSampling2D()
    assert (up.size, up.interpolation, up.data_format) == ((2, 2), "nearest", "channels_last")
    assert up.compute_output_shape((None, None, 5, 3)) == (None, None, 10, 3)
    with pytest.raises(TypeError, match="size"):
        L.UpSampling1D((2,))
    with pytest.raises(ValueError, match="interpolation"):
        L.UpSampling2D(interpolation="area")
