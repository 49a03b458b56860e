"""Every layer through one helper: config round-trip, output shape vs compute_output_shape,
weight names and count, gradients reaching every trainable weight, float32 and float64.
Plus initializers, regularizers, activations and the serialization registry."""

import math

import numpy as np
import pytest

import minicnn
from minicnn import activations, initializers, layers, regularizers, serialization
from minicnn.autograd import Tensor

L = layers

# (factory, per-sample input shape or list of them, expected weight names, expected param count)
CASES = {
    "dense": (lambda **k: L.Dense(5, activation="relu", **k), (7,), ["kernel", "bias"], 40),
    "dense_3d": (lambda **k: L.Dense(3, use_bias=False, **k), (4, 6), ["kernel"], 18),
    "conv2d": (lambda **k: L.Conv2D(4, 3, activation="relu", **k), (8, 8, 2), ["kernel", "bias"], 76),
    "conv2d_same_stride": (lambda **k: L.Conv2D(3, (3, 2), strides=2, padding="same", **k),
                           (7, 9, 2), ["kernel", "bias"], 39),
    "conv2d_dilated": (lambda **k: L.Conv2D(2, 3, dilation_rate=2, activation="tanh", **k),
                       (9, 9, 1), ["kernel", "bias"], 20),
    "conv2d_groups": (lambda **k: L.Conv2D(4, 3, groups=2, **k), (6, 6, 4), ["kernel", "bias"], 76),
    "conv2d_channels_first": (lambda **k: L.Conv2D(3, 3, data_format="channels_first", **k),
                              (2, 7, 6), ["kernel", "bias"], 57),
    "conv2d_transpose": (lambda **k: L.Conv2DTranspose(3, 3, strides=2, **k), (4, 4, 2),
                         ["kernel", "bias"], 57),
    "conv2d_transpose_same": (lambda **k: L.Conv2DTranspose(2, 3, strides=2, padding="same", **k),
                              (3, 5, 2), ["kernel", "bias"], 38),
    "depthwise": (lambda **k: L.DepthwiseConv2D(3, depth_multiplier=2, **k), (6, 6, 3),
                  ["kernel", "bias"], 60),
    "separable": (lambda **k: L.SeparableConv2D(4, 3, padding="same", **k), (6, 6, 3),
                  ["depthwise_kernel", "pointwise_kernel", "bias"], 27 + 12 + 4),
    "maxpool": (lambda **k: L.MaxPooling2D(**k), (6, 7, 2), [], 0),
    "maxpool_same": (lambda **k: L.MaxPooling2D(3, strides=2, padding="same", **k), (7, 7, 2), [], 0),
    "avgpool": (lambda **k: L.AveragePooling2D((2, 3), **k), (6, 6, 2), [], 0),
    "avgpool_channels_first": (lambda **k: L.AveragePooling2D(data_format="channels_first", **k),
                               (2, 6, 4), [], 0),
    "gap": (lambda **k: L.GlobalAveragePooling2D(**k), (5, 5, 3), [], 0),
    "gap_keepdims": (lambda **k: L.GlobalAveragePooling2D(keepdims=True, **k), (5, 5, 3), [], 0),
    "gmp": (lambda **k: L.GlobalMaxPooling2D(**k), (5, 4, 3), [], 0),
    "flatten": (lambda **k: L.Flatten(**k), (3, 4, 2), [], 0),
    "flatten_channels_first": (lambda **k: L.Flatten(data_format="channels_first", **k), (2, 3, 4), [], 0),
    "reshape": (lambda **k: L.Reshape((4, -1), **k), (2, 6), [], 0),
    "dropout": (lambda **k: L.Dropout(0.3, seed=1, **k), (10,), [], 0),
    "batchnorm": (lambda **k: L.BatchNormalization(**k), (4, 4, 3),
                  ["gamma", "beta", "moving_mean", "moving_variance"], 12),
    "batchnorm_axis1": (lambda **k: L.BatchNormalization(axis=1, center=False, **k), (3, 5),
                        ["gamma", "moving_mean", "moving_variance"], 9),
    "activation": (lambda **k: L.Activation("sigmoid", **k), (6,), [], 0),
    "relu": (lambda **k: L.ReLU(max_value=0.5, **k), (6,), [], 0),
    "leaky_relu": (lambda **k: L.LeakyReLU(**k), (6,), [], 0),
    "elu": (lambda **k: L.ELU(alpha=0.5, **k), (6,), [], 0),
    "softmax": (lambda **k: L.Softmax(**k), (6,), [], 0),
    "zero_padding": (lambda **k: L.ZeroPadding2D(((1, 0), (2, 1)), **k), (3, 3, 2), [], 0),
    "add": (lambda **k: L.Add(**k), [(4, 3), (4, 3)], [], 0),
    "multiply": (lambda **k: L.Multiply(**k), [(5,), (5,), (5,)], [], 0),
    "concatenate": (lambda **k: L.Concatenate(axis=1, **k), [(2, 3), (4, 3)], [], 0),
    # issue 16 item 4
    "conv1d": (lambda **k: L.Conv1D(4, 3, activation="relu", **k), (9, 2), ["kernel", "bias"], 28),
    "conv1d_causal_dilated": (lambda **k: L.Conv1D(3, 2, padding="causal", dilation_rate=3, **k),
                              (8, 2), ["kernel", "bias"], 15),
    "conv1d_same_stride_groups": (lambda **k: L.Conv1D(4, 3, strides=2, padding="same", groups=2, **k),
                                  (7, 4), ["kernel", "bias"], 28),
    "conv1d_channels_first": (lambda **k: L.Conv1D(2, 3, data_format="channels_first", use_bias=False, **k),
                              (3, 6), ["kernel"], 18),
    "maxpool1d": (lambda **k: L.MaxPooling1D(**k), (7, 3), [], 0),
    "avgpool1d_same": (lambda **k: L.AveragePooling1D(3, strides=2, padding="same", **k), (7, 3), [], 0),
    "gap1d": (lambda **k: L.GlobalAveragePooling1D(**k), (5, 3), [], 0),
    "gmp1d_keepdims": (lambda **k: L.GlobalMaxPooling1D(keepdims=True, **k), (5, 3), [], 0),
    "gap1d_channels_first": (lambda **k: L.GlobalAveragePooling1D(data_format="channels_first", **k),
                             (3, 5), [], 0),
    "zero_padding1d": (lambda **k: L.ZeroPadding1D((2, 1), **k), (4, 3), [], 0),
    "cropping1d": (lambda **k: L.Cropping1D((1, 2), **k), (6, 3), [], 0),
    "cropping2d": (lambda **k: L.Cropping2D(((1, 0), (2, 1)), **k), (5, 6, 2), [], 0),
    "cropping2d_channels_first": (lambda **k: L.Cropping2D(1, data_format="channels_first", **k),
                                  (2, 5, 4), [], 0),
    "permute": (lambda **k: L.Permute((3, 1, 2), **k), (2, 3, 4), [], 0),
    "repeat_vector": (lambda **k: L.RepeatVector(3, **k), (5,), [], 0),
    "subtract": (lambda **k: L.Subtract(**k), [(4, 3), (4, 3)], [], 0),
    "average": (lambda **k: L.Average(**k), [(4, 3), (4, 3), (4, 3)], [], 0),
    "dot": (lambda **k: L.Dot(axes=1, **k), [(4, 3), (4, 5)], [], 0),
    "dot_normalize": (lambda **k: L.Dot(axes=(2, 1), normalize=True, **k), [(3, 4), (4, 2)], [], 0),
    "dot_vectors": (lambda **k: L.Dot(axes=-1, **k), [(6,), (6,)], [], 0),
    "spatial_dropout1d": (lambda **k: L.SpatialDropout1D(0.3, seed=1, **k), (6, 4), [], 0),
    "spatial_dropout2d": (lambda **k: L.SpatialDropout2D(0.3, seed=1, **k), (3, 3, 4), [], 0),
    "spatial_dropout3d": (lambda **k: L.SpatialDropout3D(0.3, seed=1, data_format="channels_first", **k),
                          (4, 2, 2, 2), [], 0),
    "gaussian_noise": (lambda **k: L.GaussianNoise(0.5, seed=1, **k), (6,), [], 0),
    "gaussian_dropout": (lambda **k: L.GaussianDropout(0.3, seed=1, **k), (6,), [], 0),
    "identity": (lambda **k: L.Identity(**k), (6,), [], 0),
    "rescaling": (lambda **k: L.Rescaling(0.5, offset=-1.0, **k), (4, 4, 3), [], 0),
    "rescaling_per_channel": (lambda **k: L.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0], **k),
                              (2, 2, 3), [], 0),
    "normalization": (lambda **k: L.Normalization(**k), (4, 3), ["mean", "variance", "count"], 7),
    "normalization_fixed": (lambda **k: L.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 1.0], **k),
                            (3, 2), [], 0),
    "random_rotation": (lambda **k: L.RandomRotation(0.2, seed=1, **k), (6, 5, 2), [], 0),
    "random_zoom": (lambda **k: L.RandomZoom(0.3, fill_mode="constant", seed=1, **k), (6, 5, 2), [], 0),
    "random_contrast": (lambda **k: L.RandomContrast(0.4, value_range=(-9, 9), seed=1, **k), (4, 4, 3), [], 0),
    "random_brightness": (lambda **k: L.RandomBrightness(0.3, value_range=(-9, 9), seed=1, **k),
                          (4, 4, 3), [], 0),
    "layer_norm": (lambda **k: L.LayerNormalization(**k), (3, 4), ["gamma", "beta"], 8),
    "layer_norm_axes": (lambda **k: L.LayerNormalization(axis=[1, 2], center=False, **k), (3, 4),
                        ["gamma"], 12),
    "group_norm": (lambda **k: L.GroupNormalization(groups=2, **k), (3, 3, 4), ["gamma", "beta"], 8),
    "group_norm_instance_cf": (lambda **k: L.GroupNormalization(groups=-1, axis=1, **k), (4, 3, 3),
                               ["gamma", "beta"], 8),
    "resizing": (lambda **k: L.Resizing(5, 3, **k), (4, 4, 2), [], 0),
    "resizing_crop_bicubic": (lambda **k: L.Resizing(3, 3, interpolation="bicubic", crop_to_aspect_ratio=True, **k),
                              (4, 6, 2), [], 0),
    "resizing_pad_cf": (lambda **k: L.Resizing(4, 4, pad_to_aspect_ratio=True, data_format="channels_first", **k),
                        (2, 3, 6), [], 0),
    "center_crop": (lambda **k: L.CenterCrop(3, 2, **k), (5, 5, 2), [], 0),
    "center_crop_upscale": (lambda **k: L.CenterCrop(6, 4, **k), (5, 5, 2), [], 0),
    "upsampling2d": (lambda **k: L.UpSampling2D((2, 3), **k), (3, 2, 2), [], 0),
    "upsampling2d_bilinear_cf": (lambda **k: L.UpSampling2D(2, data_format="channels_first",
                                                             interpolation="bilinear", **k), (2, 3, 2), [], 0),
    "upsampling1d": (lambda **k: L.UpSampling1D(3, **k), (4, 2), [], 0),
}


def _inputs(shape, dtype, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    if isinstance(shape, list):
        return [rng.normal(size=(batch,) + s).astype(dtype) for s in shape]
    return rng.normal(size=(batch,) + shape).astype(dtype)


def _symbolic(shape):
    if isinstance(shape, list):
        return [minicnn.Input(s) for s in shape]
    return minicnn.Input(shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_contract(case, dtype):
    factory, shape, names, n_params = CASES[case]
    layer = factory(dtype=dtype)
    x = _inputs(shape, dtype)
    y = layer(x, training=True)

    # Output shape agrees with compute_output_shape (batch included) and with a symbolic call.
    in_shapes = [a.shape for a in x] if isinstance(x, list) else x.shape
    assert tuple(y.shape) == tuple(layer.compute_output_shape(in_shapes))
    sym = layer(_symbolic(shape))
    assert sym.shape == (None,) + tuple(y.shape[1:])
    assert y.dtype == np.dtype(dtype)

    # Weights: Keras names, count, dtype.
    assert [w.name for w in layer.weights] == names
    assert [w.path for w in layer.weights] == [f"{layer.name}/{n}" for n in names]
    assert layer.count_params() == n_params
    assert all(w.dtype == np.dtype(dtype) for w in layer.weights if w.dtype.kind == "f")  # + int counters

    # Gradients reach every trainable weight and the inputs.
    xs = [Tensor(a, requires_grad=True) for a in (x if isinstance(x, list) else [x])]
    out = layer(xs if isinstance(x, list) else xs[0], training=True)
    (out * out).sum().backward()
    for w in layer.trainable_weights:
        assert w.grad is not None and w.grad.shape == w.shape, w.path
        assert np.abs(w.grad).sum() > 0, w.path
    for w in layer.non_trainable_weights:
        assert w.grad is None
    for t in xs:
        assert t.grad is not None and t.grad.shape == t.shape

    # Config round trip, through the registry and JSON-like lists.
    config = layer.get_config()
    assert config["name"] == layer.name and config["dtype"] == dtype
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    again = serialization.deserialize(serialization.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == config

    # The clone with the same weights computes the same function (inference mode).
    clone(x, training=False)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, training=False).data, layer(x, training=False).data, rtol=1e-6)


def test_conv_against_numpy_reference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 5, 3))
    layer = L.Conv2D(4, (3, 2), dtype="float64", bias_initializer="ones")
    y = layer(x).data
    k = layer.kernel.data
    ref = np.zeros((2, 4, 4, 4))
    for i in range(4):
        for j in range(4):
            ref[:, i, j, :] = np.einsum("nhwc,hwcf->nf", x[:, i:i + 3, j:j + 2, :], k) + 1.0
    np.testing.assert_allclose(y, ref, rtol=1e-10)


def test_channels_first_matches_channels_last():
    x = np.random.default_rng(2).normal(size=(2, 7, 7, 3))
    a = L.Conv2D(5, 3, strides=2, padding="same", dtype="float64")
    b = L.Conv2D(5, 3, strides=2, padding="same", dtype="float64", data_format="channels_first")
    a(x)
    b(x.transpose(0, 3, 1, 2))
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(b(x.transpose(0, 3, 1, 2)).data.transpose(0, 2, 3, 1), a(x).data)


def test_dense_matches_numpy_and_default_names():
    minicnn.layers.clear_session()
    d = L.Dense(3, activation="sigmoid", dtype="float64")
    assert d.name == "dense"
    assert L.Dense(2).name == "dense_1"
    assert L.ReLU().name == "re_lu" and L.LeakyReLU().name == "leaky_re_lu"
    assert L.MaxPooling2D().name == "max_pooling2d"
    x = np.arange(8.0).reshape(2, 4)
    y = d(x).data
    k, b = d.get_weights()
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-(x @ k + b))))


def test_keras_defaults():
    assert L.LeakyReLU().negative_slope == 0.3
    c = L.Conv2D(8, 3)
    assert (c.strides, c.padding, c.data_format, c.dilation_rate, c.groups, c.use_bias) == (
        (1, 1), "valid", "channels_last", (1, 1), 1, True)
    cfg = c.get_config()
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["bias_initializer"]["class_name"] == "Zeros"
    assert cfg["activation"] == "linear"
    p = L.MaxPooling2D()
    assert p.pool_size == (2, 2) and p.strides == (2, 2)
    bn = L.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon) == (-1, 0.99, 1e-3)
    assert L.Dropout(0.5).get_config()["noise_shape"] is None


def test_batchnorm_training_updates_moving_stats_and_inference_uses_them():
    bn = L.BatchNormalization(momentum=0.5, dtype="float64")
    x = np.random.default_rng(3).normal(4.0, 2.0, size=(256, 3))
    y = bn(x, training=True).data
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-7)
    np.testing.assert_allclose(bn.moving_mean.data, 0.5 * x.mean(0))
    y_inf = bn(x).data  # training defaults to False
    expected = (x - bn.moving_mean.data) / np.sqrt(bn.moving_variance.data + 1e-3)
    np.testing.assert_allclose(y_inf, expected)
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    bn.trainable = False  # Keras 3: a frozen BN runs in inference mode
    before = bn.moving_mean.data.copy()
    bn(x, training=True)
    np.testing.assert_array_equal(bn.moving_mean.data, before)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_dropout_training_flag_and_seed():
    x = np.ones((50, 20))
    d = L.Dropout(0.5, seed=3)
    np.testing.assert_array_equal(d(x).data, x)
    a = d(x, training=True).data
    assert set(np.unique(a)) == {0.0, 2.0}
    b = L.Dropout(0.5, seed=3)(x, training=True).data
    np.testing.assert_array_equal(a, b)


def test_set_weights_checks_shapes_and_count():
    d = L.Dense(3)
    d(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"dense.*\(2, 3\).*\(3, 3\)"):
        d.set_weights([np.zeros((3, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        d.set_weights([np.zeros((2, 3))])


def test_bad_arguments_raise_helpful_errors():
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="data_format"):
        L.MaxPooling2D(data_format="NCHW")
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Dense(2, kernel_init="zeros")
    with pytest.raises(ValueError, match="unknown name"):
        L.Dense(2, activation="nope")
    with pytest.raises(ValueError, match="dilation_rate"):
        L.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(TypeError, match="floating"):
        L.Dense(2, dtype="int32")


def test_wrong_input_shape_on_a_built_layer_names_the_layer():
    conv = L.Conv2D(4, 3, name="conv_a")
    conv(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match=r'"conv_a".*\(None, 8, 8, 5\).*3 input channels'):
        conv(minicnn.Input((8, 8, 5)))
    with pytest.raises(ValueError, match=r"4-D"):
        L.Conv2D(4, 3, name="conv_b")(minicnn.Input((8, 8)))
    with pytest.raises(ValueError, match=r"empty"):
        L.Conv2D(4, 5)(minicnn.Input((3, 3, 1)))


def test_regularizers_add_to_losses_and_get_gradients():
    d = L.Dense(2, kernel_regularizer=regularizers.L2(0.1), bias_regularizer="l1",
                activity_regularizer=regularizers.L1(0.01), dtype="float64")
    y = d(np.ones((3, 4)))
    assert len(d.losses) == 3  # activity penalty of the call, then the two weight penalties
    k = d.kernel.data
    np.testing.assert_allclose(d.losses[1].data, 0.1 * (k ** 2).sum())
    np.testing.assert_allclose(d.losses[0].data, 0.01 * np.abs(y.data).sum())
    sum(d.losses[1:]).backward()
    np.testing.assert_allclose(d.kernel.grad, 0.2 * k)
    d(np.ones((3, 4)))
    assert len(d.losses) == 3  # replaced, not accumulated, by the next call


def test_regularizer_objects():
    w = Tensor(np.array([1.0, -2.0]))
    assert float(regularizers.l1(0.5)(w).data) == 1.5
    assert float(regularizers.l2(0.5)(w).data) == 2.5
    assert float(regularizers.l1_l2(l1=0.5, l2=0.5)(w).data) == 4.0
    for reg in (regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.2)):
        again = regularizers.deserialize(regularizers.serialize(reg))
        assert type(again) is type(reg) and again.get_config() == reg.get_config()
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1)


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal", "random_normal",
                                  "random_uniform", "zeros", "ones", "truncated_normal"])
def test_initializers_names_seeds_configs(name):
    init = initializers.get(name)
    for dtype in ("float32", "float64"):
        assert init((3, 4), dtype=dtype).dtype == np.dtype(dtype)
    cls = type(init)
    if "seed" in init.get_config():
        a, b = cls(seed=5)((30, 40)), cls(seed=5)((30, 40))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(cls()((30, 40)), cls()((30, 40)))
    again = initializers.deserialize(initializers.serialize(init))
    assert type(again) is cls and again.get_config() == init.get_config()


def test_initializer_statistics():
    fan_in, fan_out = 3 * 3 * 16, 3 * 3 * 32
    w = initializers.HeNormal(seed=0)((3, 3, 16, 32))
    assert abs(w.std() - math.sqrt(2 / fan_in)) < 0.05 * math.sqrt(2 / fan_in)
    assert np.abs(w).max() <= 2 * math.sqrt(2 / fan_in) / 0.87962566103423978 + 1e-6
    g = initializers.GlorotUniform(seed=0)((3, 3, 16, 32))
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(g).max() <= limit and np.abs(g).max() > 0.95 * limit
    assert np.all(initializers.Constant(2.5)((2, 2)) == 2.5)


def test_set_random_seed_makes_layers_reproducible():
    minicnn.utils.set_random_seed(7)
    a = L.Conv2D(3, 3)
    a.build((None, 5, 5, 2))
    minicnn.utils.set_random_seed(7)
    b = L.Conv2D(3, 3)
    b.build((None, 5, 5, 2))
    np.testing.assert_array_equal(a.kernel.data, b.kernel.data)


def test_activations_module():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(activations.get("relu")(x).data, [0, 0, 2])
    np.testing.assert_allclose(activations.get("sigmoid")(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(activations.get("tanh")(x).data, np.tanh(x))
    np.testing.assert_allclose(activations.get("softmax")(x).data, np.exp(x) / np.exp(x).sum())
    np.testing.assert_allclose(activations.get("swish")(x).data, x / (1 + np.exp(-x)))
    np.testing.assert_allclose(activations.leaky_relu(x, 0.1).data, [-0.1, 0, 2])
    for name in ("relu", "elu", "gelu", "softplus", "log_softmax", "linear"):
        fn = activations.get(name)
        assert activations.serialize(fn) == name and activations.deserialize(name) is fn
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    with pytest.raises(TypeError):
        activations.get(3)


def test_custom_layer_registry_and_auto_config():
    @serialization.register_serializable(package="TestPkg")
    class Scale(L.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w * self.factor

    layer = Scale(3.0, name="scale")
    y = layer(np.ones((2, 4)))
    np.testing.assert_allclose(y.data, 3.0)
    cfg = serialization.serialize(layer)
    assert cfg["registered_name"] == "TestPkg>Scale" and cfg["config"]["factor"] == 3.0
    again = serialization.deserialize(cfg)
    assert isinstance(again, Scale) and again.factor == 3.0 and again.built
    # The default compute_output_shape runs call() on zeros.
    assert layer(minicnn.Input((4,))).shape == (None, 4)


def test_unknown_class_in_config_raises():
    with pytest.raises(ValueError, match="unknown class 'NoSuchLayer'"):
        serialization.deserialize({"class_name": "NoSuchLayer", "config": {}, "module": "x"})


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["conv", "conv_t", "depthwise", "maxpool", "avgpool"]),
       h=st.integers(3, 9), w=st.integers(3, 9), k=st.integers(1, 3), s=st.integers(1, 3),
       d=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]),
       channels_first=st.booleans())
def test_eager_shapes_agree_with_compute_output_shape(kind, h, w, k, s, d, padding, channels_first):
    """The layers' shape formulas (used for graphs and summaries) match what the ops compute."""
    if d > 1:
        s = 1  # Keras forbids strides > 1 with dilation > 1
    fmt = "channels_first" if channels_first else "channels_last"
    if kind == "conv":
        layer = L.Conv2D(2, k, strides=s, padding=padding, dilation_rate=d, data_format=fmt)
    elif kind == "conv_t":
        layer = L.Conv2DTranspose(2, k, strides=s, padding=padding, dilation_rate=d, data_format=fmt)
    elif kind == "depthwise":
        layer = L.DepthwiseConv2D(k, strides=s, padding=padding, dilation_rate=d, data_format=fmt)
    elif kind == "maxpool":
        layer = L.MaxPooling2D(k, strides=s, padding=padding, data_format=fmt)
    else:
        layer = L.AveragePooling2D(k, strides=s, padding=padding, data_format=fmt)
    shape = (2, 3, h, w) if channels_first else (2, h, w, 3)
    try:
        expected = layer.compute_output_shape(shape)
    except ValueError:
        # An empty output is refused symbolically; eagerly it must fail too, not return garbage.
        with pytest.raises(ValueError):
            layer(np.zeros(shape, np.float32))
        return
    assert tuple(layer(np.zeros(shape, np.float32)).shape) == tuple(expected)
