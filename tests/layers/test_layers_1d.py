"""The 1-D family (Conv1D, Max/AveragePooling1D, global 1-D pooling, ZeroPadding1D, Cropping1D)
against loop-based NumPy oracles, on many shapes (hypothesis), float32 and float64; and
Conv2D.convolution_op, the hook of keras-io's "subclassing conv layers" example."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers as L
from minicnn.autograd import Tensor


def conv1d_oracle(x, k, b, stride, padding, dilation, groups):
    """x (N, L, C), k (K, C // groups, F): the textbook sum, one output step at a time."""
    n, length, c = x.shape
    ksize, cg, f = k.shape
    span = dilation * (ksize - 1) + 1
    if padding == "causal":
        x = np.pad(x, ((0, 0), (span - 1, 0), (0, 0)))
    elif padding == "same":
        out_len = -(-length // stride)
        total = max((out_len - 1) * stride + span - length, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    out_len = (x.shape[1] - span) // stride + 1
    fg = f // groups
    y = np.zeros((n, out_len, f))
    for t in range(out_len):
        for g in range(groups):
            for i in range(ksize):
                xs = x[:, t * stride + i * dilation, g * cg:(g + 1) * cg]
                y[:, t, g * fg:(g + 1) * fg] += xs @ k[i, :, g * fg:(g + 1) * fg]
    return y + (0 if b is None else b)


def pool1d_oracle(x, size, stride, padding, kind):
    n, length, c = x.shape
    if padding == "same":
        out_len = -(-length // stride)
        total = max((out_len - 1) * stride + size - length, 0)
        before = total // 2
    else:
        out_len, before = (length - size) // stride + 1, 0
    y = np.zeros((n, out_len, c))
    for t in range(out_len):
        lo = t * stride - before
        window = x[:, max(lo, 0):min(lo + size, length)]  # only real steps, as Keras
        y[:, t] = window.max(axis=1) if kind == "max" else window.mean(axis=1)
    return y


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), length=st.integers(1, 12), c=st.sampled_from([1, 2, 4]),
       f=st.sampled_from([2, 4]), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "causal"]), groups=st.sampled_from([1, 2]),
       dtype=st.sampled_from(["float32", "float64"]), use_bias=st.booleans())
def test_conv1d_matches_oracle(n, length, c, f, k, s, d, padding, groups, dtype, use_bias):
    if d > 1:
        s = 1  # Keras forbids strides > 1 with dilation > 1
    if c % groups:
        groups = 1
    layer = L.Conv1D(f, k, strides=s, padding=padding, dilation_rate=d, groups=groups,
                     use_bias=use_bias, dtype=dtype, bias_initializer="random_normal")
    x = np.random.default_rng(0).normal(size=(n, length, c)).astype(dtype)
    try:
        expected_shape = layer.compute_output_shape((None, length, c))
    except ValueError:  # kernel longer than the input under "valid"
        with pytest.raises(ValueError):
            layer(x)
        return
    y = layer(x)
    assert y.dtype == np.dtype(dtype) and y.shape[1:] == expected_shape[1:]
    bias = layer.bias.numpy() if use_bias else None
    want = conv1d_oracle(x.astype(np.float64), layer.kernel.numpy().astype(np.float64), bias, s, padding, d, groups)
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(y.numpy(), want, rtol=tol, atol=tol)


def test_conv1d_causal_output_sees_only_the_past():
    layer = L.Conv1D(3, 4, padding="causal", dilation_rate=2, dtype="float64")
    x = np.random.default_rng(1).normal(size=(1, 12, 2))
    base = layer(x).numpy()
    later = x.copy()
    later[:, 7:] += 5.0  # change the future from step 7 on
    out = layer(later).numpy()
    np.testing.assert_array_equal(out[:, :7], base[:, :7])
    assert not np.allclose(out[:, 7:], base[:, 7:])


def test_conv1d_channels_first_matches_channels_last_and_gradcheck():
    x = np.random.default_rng(2).normal(size=(2, 9, 3))
    a = L.Conv1D(4, 3, strides=2, padding="same", dtype="float64")
    b = L.Conv1D(4, 3, strides=2, padding="same", dtype="float64", data_format="channels_first")
    a(x)
    b(x.transpose(0, 2, 1))
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(b(x.transpose(0, 2, 1)).numpy().transpose(0, 2, 1), a(x).numpy())
    causal = L.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64")
    causal(x)
    assert minicnn.gradcheck(lambda t, k, bias: causal.conv(t, k, bias, False),
                             [x, causal.kernel.numpy(), np.array([0.3, -0.2])])


def test_conv1d_keras_defaults_and_errors():
    c = L.Conv1D(8, 5)
    assert (c.strides, c.padding, c.dilation_rate, c.groups, c.data_format) == (
        (1,), "valid", (1,), 1, "channels_last")
    c(np.zeros((1, 10, 3)))
    assert c.kernel.shape == (5, 3, 8)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(2, 3, padding="causal")  # causal is for the 1-D convolution only
    with pytest.raises(ValueError, match="3-D inputs"):
        L.Conv1D(2, 3)(np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="strides > 1"):
        L.Conv1D(2, 3, strides=2, dilation_rate=2)


@settings(max_examples=50, deadline=None)
@given(length=st.integers(1, 11), size=st.integers(1, 4), s=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), kind=st.sampled_from(["max", "avg"]),
       dtype=st.sampled_from(["float32", "float64"]))
def test_pooling1d_matches_oracle(length, size, s, padding, kind, dtype):
    cls = L.MaxPooling1D if kind == "max" else L.AveragePooling1D
    layer = cls(size, strides=s, padding=padding, dtype=dtype)
    x = np.random.default_rng(3).normal(size=(2, length, 3)).astype(dtype)
    if padding == "valid" and size > length:
        with pytest.raises(ValueError):
            layer(x)
        return
    y = layer(x)
    assert y.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y.numpy(), pool1d_oracle(x.astype(np.float64), size, s, padding, kind),
                               rtol=1e-6 if dtype == "float32" else 1e-12)


def test_pooling1d_defaults_gradient_and_channels_first():
    p = L.MaxPooling1D()
    assert p.pool_size == (2,) and p.strides == (2,) and p.get_config()["pool_size"] == (2,)
    x = Tensor(np.random.default_rng(4).normal(size=(2, 6, 3)), requires_grad=True)
    L.AveragePooling1D(2)(x).sum().backward()
    np.testing.assert_allclose(x.grad, 0.5)
    xf = np.random.default_rng(5).normal(size=(2, 3, 8))
    got = L.MaxPooling1D(3, data_format="channels_first")(xf).numpy()
    np.testing.assert_allclose(got, pool1d_oracle(xf.transpose(0, 2, 1), 3, 3, "valid", "max").transpose(0, 2, 1),
                               rtol=1e-6)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_global_pooling1d(keepdims, fmt):
    x = np.random.default_rng(6).normal(size=(2, 5, 3))
    axis = 1 if fmt == "channels_last" else 2
    for cls, fn in ((L.GlobalAveragePooling1D, np.mean), (L.GlobalMaxPooling1D, np.max)):
        layer = cls(data_format=fmt, keepdims=keepdims, dtype="float64")
        y = layer(x)
        np.testing.assert_allclose(y.numpy(), fn(x, axis=axis, keepdims=keepdims))
        assert y.shape == layer.compute_output_shape(x.shape)


def test_zero_padding1d_and_cropping1d():
    x = np.random.default_rng(7).normal(size=(2, 5, 3))
    np.testing.assert_array_equal(L.ZeroPadding1D((1, 3), dtype="float64")(x).numpy(),
                                  np.pad(x, ((0, 0), (1, 3), (0, 0))))
    np.testing.assert_array_equal(L.ZeroPadding1D(2, data_format="channels_first", dtype="float64")(x).numpy(),
                                  np.pad(x, ((0, 0), (0, 0), (2, 2))))
    np.testing.assert_array_equal(L.Cropping1D((2, 1), dtype="float64")(x).numpy(), x[:, 2:4])
    assert L.ZeroPadding1D().padding == (1, 1) and L.Cropping1D().cropping == (1, 1)
    assert L.Cropping1D(1).get_config()["cropping"] == (1, 1)
    assert "data_format" not in L.Cropping1D(1).get_config()  # Keras' Cropping1D has none
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping1D((3, 2))(x)
    with pytest.raises(ValueError, match="non-negative"):
        L.ZeroPadding1D(-1)


def test_aliases():
    assert L.Convolution1D is L.Conv1D and L.MaxPool1D is L.MaxPooling1D
    assert L.AvgPool1D is L.AveragePooling1D and L.GlobalAvgPool1D is L.GlobalAveragePooling1D
    assert L.GlobalMaxPool1D is L.GlobalMaxPooling1D


# -- Conv2D.convolution_op ----------------------------------------------------------------------

class StandardizedConv2D(L.Conv2D):
    """keras-io "subclassing conv layers": standardise the kernel inside convolution_op."""

    def convolution_op(self, inputs, kernel):
        mean = minicnn.ops.mean(kernel, axis=(0, 1, 2), keepdims=True)
        var = minicnn.ops.mean((kernel - mean) * (kernel - mean), axis=(0, 1, 2), keepdims=True)
        return minicnn.ops.conv2d(inputs, (kernel - mean) / minicnn.ops.sqrt(var + 1e-10),
                                  strides=self.strides, padding="valid", dilation_rate=self.dilation_rate)


class StandardizedConv2DWithCall(L.Conv2D):
    """The example's other pattern: call() hands a transformed kernel to convolution_op."""

    def call(self, inputs):
        mean = minicnn.ops.mean(self.kernel, axis=(0, 1, 2), keepdims=True)
        var = minicnn.ops.mean((self.kernel - mean) * (self.kernel - mean), axis=(0, 1, 2), keepdims=True)
        result = self.convolution_op(inputs, (self.kernel - mean) / minicnn.ops.sqrt(var + 1e-10))
        if self.use_bias:
            result = result + self.bias
        return result


def test_both_patterns_of_the_keras_io_example_agree():
    x = np.random.default_rng(11).normal(size=(2, 9, 9, 3))
    a = StandardizedConv2D(4, 3, dtype="float64", bias_initializer="random_normal")
    b = StandardizedConv2DWithCall(4, 3, dtype="float64")
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(b(x).numpy(), a(x).numpy(), rtol=1e-10, atol=1e-12)
    model = minicnn.Sequential([minicnn.layers.InputLayer(input_shape=(9, 9, 3)), b, L.MaxPooling2D(),
                                L.Flatten(), L.Dense(2)])
    assert model.output_shape == (None, 2)


def test_default_convolution_op_is_the_conv_without_bias_and_activation():
    layer = L.Conv2D(4, 3, padding="same", activation="relu", bias_initializer="ones",
                     dtype="float64", data_format="channels_first")
    x = np.random.default_rng(8).normal(size=(2, 3, 6, 5))
    y = layer(x).numpy()
    raw = layer.convolution_op(x, layer.kernel).numpy()
    np.testing.assert_allclose(y, np.maximum(raw + 1.0, 0.0), rtol=1e-12)


def test_overridden_convolution_op_is_used_then_bias_and_activation():
    layer = StandardizedConv2D(3, 3, activation="relu", bias_initializer="random_normal", dtype="float64")
    x = np.random.default_rng(9).normal(size=(2, 7, 7, 2))
    y = layer(x)
    k = layer.kernel.numpy()
    ks = (k - k.mean(axis=(0, 1, 2))) / np.sqrt(k.var(axis=(0, 1, 2)) + 1e-10)
    plain = L.Conv2D(3, 3, activation="relu", dtype="float64")
    plain(x)
    plain.set_weights([ks, layer.bias.numpy()])
    np.testing.assert_allclose(y.numpy(), plain(x).numpy(), rtol=1e-10, atol=1e-12)
    # The kernel gradient flows through the standardisation.
    xt = Tensor(x)
    layer(xt).sum().backward()
    assert layer.kernel.grad is not None and np.abs(layer.kernel.grad).sum() > 0


def test_convolution_op_subclass_in_a_model_trains_and_reloads(tmp_path):
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((8, 8, 1)), StandardizedConv2D(4, 3, activation="relu"),
                                L.GlobalAveragePooling2D(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(10).normal(size=(16, 8, 8, 1)).astype("float32")
    model.fit(x, np.zeros((16, 2), "float32"), epochs=1, verbose=0)
    path = str(tmp_path / "std.keras")
    model.save(path)
    again = minicnn.models.load_model(path, custom_objects={"StandardizedConv2D": StandardizedConv2D})
    assert type(again.layers[0]) is StandardizedConv2D
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.usefixtures("threads_from_any_size")
@pytest.mark.parametrize("padding", ["causal", "same"])
def test_1d_family_is_bitwise_identical_at_1_2_3_threads(padding):
    rng = np.random.default_rng(12)
    x0 = rng.normal(size=(5, 37, 6)).astype(np.float32)
    conv = L.Conv1D(7, 3, padding=padding, dilation_rate=2 if padding == "causal" else 1)
    conv(x0)
    results = []
    for t in (1, 2, 3):
        with minicnn.num_threads(t):
            x = Tensor(x0, requires_grad=True)
            y = L.AveragePooling1D(3, padding="same")(L.MaxPooling1D(2, strides=1)(conv(x)))
            (y * y).sum().backward()
            results.append((y.numpy().copy(), x.grad.copy(), conv.kernel.grad.copy()))
            conv.kernel.grad = conv.bias.grad = None
    for r in results[1:]:
        for a, b in zip(results[0], r):
            assert a.tobytes() == b.tobytes()
