"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout (training only, seeds), Rescaling,
Normalization (adapt, fixed statistics, invert), Embedding."""

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.autograd import Tensor


def normal(*shape, seed=0, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, size=shape)


# -- noise layers ---------------------------------------------------------------------------------

NOISE = [lambda **k: L.SpatialDropout1D(0.4, **k), lambda **k: L.SpatialDropout2D(0.4, **k),
         lambda **k: L.SpatialDropout3D(0.4, **k), lambda **k: L.GaussianNoise(0.3, **k),
         lambda **k: L.GaussianDropout(0.3, **k)]
SHAPES = [(4, 6, 5), (4, 3, 3, 5), (4, 2, 2, 2, 5), (4, 6), (4, 6)]


@pytest.mark.parametrize("i", range(len(NOISE)))
def test_noise_layers_are_identity_outside_training_and_seeded_inside(i):
    x = normal(*SHAPES[i])
    layer = NOISE[i](seed=7)
    for kwargs in ({}, {"training": False}):
        np.testing.assert_array_equal(layer(x, **kwargs).numpy(), x.astype("float32"))
    a = layer(x, training=True).numpy()
    assert not np.array_equal(a, x.astype("float32"))
    np.testing.assert_array_equal(NOISE[i](seed=7)(x, training=True).numpy(), a)  # same seed, same noise
    assert not np.array_equal(layer(x, training=True).numpy(), a)  # the stream moves on
    minicnn.utils.set_random_seed(3)
    b = NOISE[i]()(x, training=True).numpy()
    minicnn.utils.set_random_seed(3)
    np.testing.assert_array_equal(NOISE[i]()(x, training=True).numpy(), b)  # unseeded: the global seed


@pytest.mark.parametrize("cls,shape,fmt", [(L.SpatialDropout1D, (6, 40, 50), None),
                                           (L.SpatialDropout2D, (6, 4, 5, 50), "channels_last"),
                                           (L.SpatialDropout2D, (6, 50, 4, 5), "channels_first"),
                                           (L.SpatialDropout3D, (6, 2, 3, 2, 50), None)])
def test_spatial_dropout_drops_whole_feature_maps(cls, shape, fmt):
    kwargs = {} if fmt is None else {"data_format": fmt}
    layer = cls(0.25, seed=1, dtype="float64", **kwargs)
    x = Tensor(np.ones(shape), requires_grad=True)
    y = layer(x, training=True)
    channel_axis = 1 if fmt == "channels_first" else -1
    spatial = tuple(d for d in range(1, len(shape)) if d != channel_axis % len(shape))
    y_np = y.numpy()
    assert set(np.unique(y_np)) <= {0.0, 1 / 0.75}
    np.testing.assert_array_equal(y_np, np.broadcast_to(y_np.max(axis=spatial, keepdims=True), shape))  # per map
    dropped = (y_np == 0).mean()
    assert 0.1 < dropped < 0.4
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y_np)  # the gradient is the mask
    np.testing.assert_array_equal(cls(0.0, dtype="float64")(x, training=True).numpy(), 1.0)
    np.testing.assert_array_equal(cls(1.0, **kwargs)(x, training=True).numpy(), 0.0)


def test_gaussian_noise_and_dropout_statistics_and_gradients():
    x = Tensor(np.full((200, 500), 2.0), requires_grad=True)
    y = L.GaussianNoise(0.5, seed=0, dtype="float64")(x, training=True)
    noise = y.numpy() - 2.0
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.5) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 1.0)
    x.grad = None
    y = L.GaussianDropout(0.2, seed=0, dtype="float64")(x, training=True)
    factor = y.numpy() / 2.0
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.std() - 0.5) < 0.01  # sqrt(0.2 / 0.8)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, factor)


def test_noise_layer_arguments():
    for bad in (-0.1, 1.5, "a", None):
        with pytest.raises(ValueError, match="in \\[0, 1\\]"):
            L.GaussianNoise(bad)
        with pytest.raises(ValueError, match="rate"):
            L.SpatialDropout2D(bad)
    with pytest.raises(ValueError, match="4-D"):
        L.SpatialDropout2D(0.5)(np.ones((2, 3, 4)), training=True)
    with pytest.raises(ValueError, match="rate=1"):
        L.GaussianDropout(1.0)(np.ones(3), training=True)
    assert L.SpatialDropout2D(0.5, data_format="channels_first").get_config()["data_format"] == "channels_first"
    assert "data_format" not in L.SpatialDropout1D(0.5).get_config()


# -- Rescaling ------------------------------------------------------------------------------------

def test_rescaling_keras_examples_integer_images_and_per_channel_scales():
    img = np.array([[0, 127, 255]], dtype=np.uint8)
    np.testing.assert_allclose(L.Rescaling(1 / 255)(img).numpy(), img / 255, rtol=1e-6)
    out = L.Rescaling(1 / 127.5, offset=-1)(img)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), img / 127.5 - 1, rtol=1e-6, atol=1e-7)
    x = normal(2, 3, 3, 3)
    layer = L.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0], dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), x * [1, 2, 3] + [0, 0.5, 1])
    config = layer.get_config()
    assert config["scale"] == [1.0, 2.0, 3.0] and config["offset"] == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(L.Rescaling.from_config(config)(x).numpy(), layer(x).numpy())
    with pytest.raises(TypeError, match="scale"):
        L.Rescaling("half")


# -- Normalization --------------------------------------------------------------------------------

def test_normalization_keras_doc_examples():
    layer = L.Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32"))
    np.testing.assert_allclose(layer(np.array([1.0, 2.0, 3.0])).numpy(), [-1.4142135, -0.70710677, 0.0],
                               rtol=1e-6)
    data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], dtype="float32")
    per_feature = L.Normalization(axis=-1)
    per_feature.adapt(data)
    np.testing.assert_allclose(per_feature(np.array([[0.0, 7.0, 4.0]])).numpy(), [[-1.0, -1.0, -1.0]])
    fixed = L.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(fixed(np.array([[1.0], [2.0], [3.0]])).numpy(),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)
    inverse = L.Normalization(axis=-1, invert=True)
    inverse.adapt(data)
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0, 3.0]])).numpy(), [[2.0, 10.0, 8.0]])


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_normalization_adapt_matches_numpy_and_batches_equal_the_whole(axis):
    data = normal(64, 4, 3, loc=5.0, scale=3.0)
    keep = () if axis is None else tuple(a % 3 for a in np.atleast_1d(axis))
    reduce = tuple(d for d in range(3) if d not in keep)
    whole = L.Normalization(axis=axis, dtype="float64")
    whole.adapt(data)
    mean, var = data.mean(axis=reduce, keepdims=True), data.var(axis=reduce, keepdims=True)
    np.testing.assert_allclose(whole(data).numpy(), (data - mean) / np.sqrt(var), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(whole.adapt_mean.numpy(), mean.reshape(whole.adapt_mean.shape))
    batched = L.Normalization(axis=axis, dtype="float64")
    batched.adapt((data[i:i + 10], np.zeros(10)) for i in range(0, 64, 10))  # (x, y) batches, uneven last
    np.testing.assert_allclose(batched.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(batched.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-10)
    assert [w.name for w in whole.weights] == ["mean", "variance", "count"]
    assert whole.count.dtype == np.int64 and whole.count.shape == ()  # Keras' "int" counter
    assert whole.trainable_weights == []


def test_normalization_zero_variance_gradient_and_errors():
    layer = L.Normalization(dtype="float64")
    layer.adapt(np.ones((5, 2)))
    np.testing.assert_allclose(layer(np.full((1, 2), 3.0)).numpy(), 2.0 / 1e-7)  # std floored at epsilon
    fixed = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 16.0], dtype="float64")
    x = Tensor(normal(3, 2), requires_grad=True)
    fixed(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to([0.5, 0.25], (3, 2)))
    with pytest.raises(ValueError, match="together"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1.0, 2.0], variance=1.0)
    with pytest.raises(ValueError, match="fixed mean"):
        fixed.adapt(np.ones((2, 2)))
    with pytest.raises(ValueError, match="built for inputs"):
        layer.adapt(np.ones((5, 3)))
    with pytest.raises(ValueError, match="empty"):
        L.Normalization().adapt([])
    with pytest.raises(ValueError, match="does not broadcast"):
        L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 1.0, 1.0])(np.ones((2, 2)))


def test_normalization_config_round_trip_keeps_fixed_statistics():
    layer = L.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 1.0], invert=True)
    config = layer.get_config()
    assert config["axis"] == (1, 2) and config["mean"] == [1.0, 2.0] and config["invert"] is True
    x = normal(2, 3, 2)
    np.testing.assert_allclose(L.Normalization.from_config(config)(x).numpy(), layer(x).numpy())


# -- Embedding ------------------------------------------------------------------------------------

def test_embedding_lookup_gradient_and_config():
    layer = L.Embedding(10, 4, dtype="float64")
    idx = np.array([[1, 2, 2], [9, 0, 1]])
    y = layer(idx)
    table = layer.embeddings.numpy()
    np.testing.assert_array_equal(y.numpy(), table[idx])
    assert y.shape == layer.compute_output_shape(idx.shape) == (2, 3, 4)
    y.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=10)
    np.testing.assert_array_equal(layer.embeddings.grad, np.repeat(counts[:, None], 4, axis=1))
    np.testing.assert_array_equal(layer(idx.astype("float32")).numpy(), y.numpy())  # integral floats
    config = layer.get_config()
    assert (config["input_dim"], config["output_dim"], config["mask_zero"]) == (10, 4, False)
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    init = L.Embedding(3, 2).embeddings_initializer
    assert (init.minval, init.maxval) == (-0.05, 0.05)  # Keras' "uniform"
    again = L.Embedding.from_config(config)
    again.build()
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(idx).numpy(), y.numpy())


def test_embedding_errors_and_weights_argument():
    layer = L.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        layer(np.array([[0, 5]]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="integers"):
        layer(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="input_dim"):
        L.Embedding(0, 3)
    with pytest.raises(ValueError, match="lora_rank"):
        L.Embedding(3, 2, lora_rank=2)
    table = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(L.Embedding(3, 2, weights=table)(np.array([2, 0])).numpy(), table[[2, 0]])
