"""Every layer of ``minicnn.layers`` exported alone (and, for the spatial ones, after a
convolution, so that they meet the channels-first layout inside the graph): ONNX Runtime's output
equals ``predict``'s at batch 1 and 7 (see conftest.py)."""

import inspect

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.export import ExportError


def seq(input_shape, *layers, dtype=None):
    return minicnn.Sequential([minicnn.Input(input_shape, dtype=dtype), *layers])


def after_conv(input_shape, layer, filters=6):
    """``layer`` fed by a convolution (its input is channels-first inside the graph)."""
    conv = L.Conv1D(filters, 3, padding="same") if len(input_shape) == 2 else \
        L.Conv2D(filters, 3, padding="same")
    return seq(input_shape, conv, layer)


IMG, SEQ = (9, 8, 3), (10, 4)

# name -> (model builder, input specs or None for the model's own inputs)
CASES = {
    # core
    "Dense": lambda: seq((5,), L.Dense(4, activation="relu")),
    "Dense_rank3": lambda: seq((3, 5), L.Dense(4)),
    "Dense_no_bias": lambda: seq((5,), L.Dense(4, use_bias=False, activation="tanh")),
    "Dense_after_conv": lambda: after_conv(IMG, L.Dense(3)),
    "ReLU": lambda: seq(IMG, L.ReLU()),
    "ReLU_max_slope": lambda: after_conv(IMG, L.ReLU(max_value=0.5, negative_slope=0.1)),
    "LeakyReLU": lambda: seq(IMG, L.LeakyReLU(0.2)),
    "ELU": lambda: seq(IMG, L.ELU(0.7)),
    "Softmax": lambda: seq((6,), L.Softmax()),
    "Softmax_channel_axis": lambda: after_conv(IMG, L.Softmax(axis=-1)),
    "Softmax_row_axis": lambda: after_conv(IMG, L.Softmax(axis=1)),
    "Identity": lambda: seq(IMG, L.Identity()),
    "Embedding": lambda: seq((6,), L.Embedding(11, 4), dtype="int32"),
    "Embedding_int64": lambda: seq((2, 3), L.Embedding(11, 4), dtype="int64"),
    # convolution
    "Conv1D": lambda: seq(SEQ, L.Conv1D(5, 3, activation="relu")),
    "Conv1D_same_strided": lambda: seq(SEQ, L.Conv1D(5, 4, strides=3, padding="same")),
    "Conv1D_causal_dilated": lambda: seq(SEQ, L.Conv1D(6, 3, padding="causal", dilation_rate=2,
                                                       groups=2)),
    "Conv2D": lambda: seq(IMG, L.Conv2D(4, 3, activation="sigmoid")),
    "Conv2D_same_strided": lambda: seq(IMG, L.Conv2D(4, (3, 2), strides=2, padding="same")),
    "Conv2D_same_dilated": lambda: seq(IMG, L.Conv2D(4, 3, dilation_rate=(2, 1), padding="same")),
    "Conv2D_grouped": lambda: seq((8, 8, 4), L.Conv2D(6, 3, groups=2)),
    "Conv2D_channels_first": lambda: seq((3, 9, 8), L.Conv2D(4, 3, padding="same",
                                                             data_format="channels_first")),
    "Conv2DTranspose": lambda: seq(IMG, L.Conv2DTranspose(4, 3)),
    "Conv2DTranspose_strided": lambda: seq(IMG, L.Conv2DTranspose(4, 3, strides=2)),
    "Conv2DTranspose_small_kernel": lambda: seq(IMG, L.Conv2DTranspose(4, 1, strides=3)),
    "Conv2DTranspose_same": lambda: seq(IMG, L.Conv2DTranspose(4, (3, 4), strides=2,
                                                               padding="same")),
    "Conv2DTranspose_output_padding": lambda: seq(IMG, L.Conv2DTranspose(
        4, 3, strides=(2, 3), padding="same", output_padding=(1, 2))),
    "Conv2DTranspose_dilated": lambda: seq(IMG, L.Conv2DTranspose(4, 3, dilation_rate=2,
                                                                  padding="same")),
    "DepthwiseConv2D": lambda: seq(IMG, L.DepthwiseConv2D(3, depth_multiplier=2)),
    "DepthwiseConv2D_same_strided": lambda: seq(IMG, L.DepthwiseConv2D(3, strides=2,
                                                                       padding="same")),
    "SeparableConv2D": lambda: seq(IMG, L.SeparableConv2D(5, 3, depth_multiplier=2,
                                                          activation="relu")),
    "SeparableConv2D_same": lambda: seq(IMG, L.SeparableConv2D(5, 3, strides=2, padding="same")),
    # pooling
    "MaxPooling1D": lambda: seq(SEQ, L.MaxPooling1D(3, strides=2, padding="same")),
    "AveragePooling1D": lambda: seq(SEQ, L.AveragePooling1D(3, strides=1, padding="same")),
    "MaxPooling2D": lambda: seq(IMG, L.MaxPooling2D()),
    "MaxPooling2D_same": lambda: after_conv(IMG, L.MaxPooling2D(3, strides=2, padding="same")),
    "AveragePooling2D": lambda: seq(IMG, L.AveragePooling2D((2, 3))),
    "AveragePooling2D_same": lambda: seq(IMG, L.AveragePooling2D(3, strides=2, padding="same")),
    "AveragePooling2D_channels_first": lambda: seq((3, 9, 8), L.AveragePooling2D(
        2, padding="same", data_format="channels_first")),
    "GlobalAveragePooling1D": lambda: seq(SEQ, L.GlobalAveragePooling1D()),
    "GlobalMaxPooling1D": lambda: after_conv(SEQ, L.GlobalMaxPooling1D(keepdims=True)),
    "GlobalAveragePooling2D": lambda: after_conv(IMG, L.GlobalAveragePooling2D()),
    "GlobalAveragePooling2D_keepdims": lambda: after_conv(IMG, L.GlobalAveragePooling2D(
        keepdims=True)),
    "GlobalMaxPooling2D": lambda: seq(IMG, L.GlobalMaxPooling2D()),
    "GlobalMaxPooling2D_channels_first": lambda: seq((3, 9, 8), L.GlobalMaxPooling2D(
        data_format="channels_first")),
    # reshaping
    "Flatten": lambda: seq(IMG, L.Flatten()),
    "Flatten_after_conv": lambda: after_conv(IMG, L.Flatten()),
    "Flatten_dense_after_conv": lambda: seq(IMG, L.Conv2D(4, 3), L.Flatten(), L.Dense(5)),
    "Flatten_channels_first": lambda: seq((3, 9, 8), L.Conv2D(4, 3, data_format="channels_first"),
                                          L.Flatten(data_format="channels_first"), L.Dense(5)),
    "Reshape": lambda: seq(IMG, L.Reshape((-1, 6))),
    "Reshape_after_conv": lambda: after_conv(IMG, L.Reshape((4, -1))),
    "Permute": lambda: seq(IMG, L.Permute((3, 1, 2))),
    "Permute_after_conv": lambda: seq(IMG, L.Conv2D(4, 3), L.Permute((2, 3, 1)),
                                      L.Conv2D(2, 2)),
    "RepeatVector": lambda: seq((5,), L.RepeatVector(3)),
    "ZeroPadding1D": lambda: seq(SEQ, L.ZeroPadding1D((1, 2))),
    "ZeroPadding2D": lambda: after_conv(IMG, L.ZeroPadding2D(((1, 0), (2, 3)))),
    "ZeroPadding2D_channels_first": lambda: seq((3, 9, 8), L.ZeroPadding2D(
        (1, 2), data_format="channels_first")),
    "Cropping1D": lambda: after_conv(SEQ, L.Cropping1D((2, 0))),
    "Cropping2D": lambda: seq(IMG, L.Cropping2D(((1, 2), (0, 3)))),
    "Cropping2D_after_conv": lambda: after_conv(IMG, L.Cropping2D(1)),
    "UpSampling1D": lambda: seq(SEQ, L.UpSampling1D(3)),
    "UpSampling2D": lambda: after_conv(IMG, L.UpSampling2D((2, 3))),
    "UpSampling2D_bilinear": lambda: seq(IMG, L.UpSampling2D(2, interpolation="bilinear")),
    "UpSampling2D_bicubic": lambda: seq(IMG, L.UpSampling2D(2, interpolation="bicubic")),
    "UpSampling2D_lanczos3": lambda: seq(IMG, L.UpSampling2D((1, 2), interpolation="lanczos3")),
    # normalization
    "BatchNormalization": lambda: after_conv(IMG, L.BatchNormalization()),
    "BatchNormalization_dense": lambda: seq((5,), L.BatchNormalization(center=False, scale=False)),
    "BatchNormalization_row_axis": lambda: after_conv(IMG, L.BatchNormalization(axis=1)),
    "BatchNormalization_flattened": lambda: seq(IMG, L.Conv2D(2, 3), L.Flatten(),
                                                L.BatchNormalization()),
    "LayerNormalization": lambda: seq((3, 5), L.LayerNormalization()),
    "LayerNormalization_axes": lambda: after_conv(IMG, L.LayerNormalization(axis=[1, 2, 3])),
    "GroupNormalization": lambda: after_conv(IMG, L.GroupNormalization(groups=3)),
    "GroupNormalization_dense": lambda: seq((6,), L.GroupNormalization(groups=2)),
    "GroupNormalization_instance": lambda: seq(SEQ, L.GroupNormalization(groups=-1, axis=-1)),
    # regularization and augmentation: identities at inference
    "Dropout": lambda: seq(IMG, L.Dropout(0.5)),
    "SpatialDropout1D": lambda: seq(SEQ, L.SpatialDropout1D(0.5)),
    "SpatialDropout2D": lambda: after_conv(IMG, L.SpatialDropout2D(0.5)),
    "SpatialDropout3D": lambda: seq((3, 4, 5, 2), L.SpatialDropout3D(0.5)),
    "GaussianNoise": lambda: seq(IMG, L.GaussianNoise(0.3)),
    "GaussianDropout": lambda: seq(IMG, L.GaussianDropout(0.3)),
    "RandomFlip": lambda: seq(IMG, L.RandomFlip()),
    "RandomTranslation": lambda: seq(IMG, L.RandomTranslation(0.2, 0.2)),
    "RandomRotation": lambda: seq(IMG, L.RandomRotation(0.2)),
    "RandomZoom": lambda: seq(IMG, L.RandomZoom(0.2)),
    "RandomContrast": lambda: seq(IMG, L.RandomContrast(0.5)),
    "RandomBrightness": lambda: seq(IMG, L.RandomBrightness(0.5)),
    "RandomCrop": lambda: seq(IMG, L.RandomCrop(5, 7)),
    "RandomCrop_after_conv": lambda: after_conv(IMG, L.RandomCrop(12, 5)),
    # preprocessing
    "Rescaling": lambda: seq(IMG, L.Rescaling(1 / 127.5, offset=-1)),
    "Rescaling_per_channel_uint8": lambda: seq(IMG, L.Rescaling([0.1, 0.2, 0.3], offset=[1, 2, 3]),
                                               dtype="uint8"),
    "Normalization": lambda: _adapted(L.Normalization(), IMG),
    "Normalization_after_conv": lambda: after_conv(IMG, L.Normalization(
        mean=np.arange(6.0), variance=np.arange(1.0, 7.0))),
    "Normalization_invert_axis_none": lambda: _adapted(L.Normalization(axis=None, invert=True), IMG),
    "Resizing": lambda: seq(IMG, L.Resizing(12, 5)),
    "Resizing_after_conv": lambda: after_conv(IMG, L.Resizing(4, 6, interpolation="nearest")),
    "Resizing_bicubic_antialias": lambda: seq(IMG, L.Resizing(5, 4, interpolation="bicubic",
                                                              antialias=True)),
    "Resizing_lanczos5": lambda: seq(IMG, L.Resizing(11, 9, interpolation="lanczos5")),
    "Resizing_crop": lambda: seq(IMG, L.Resizing(4, 7, crop_to_aspect_ratio=True)),
    "Resizing_pad": lambda: seq(IMG, L.Resizing(4, 7, pad_to_aspect_ratio=True, fill_value=0.5)),
    "Resizing_uint8": lambda: seq(IMG, L.Resizing(6, 6), dtype="uint8"),
    "CenterCrop": lambda: seq(IMG, L.CenterCrop(5, 4)),
    "CenterCrop_smaller": lambda: seq(IMG, L.CenterCrop(12, 4)),
}


def _adapted(layer, shape):
    layer.adapt(np.random.default_rng(3).normal(2.0, 3.0, (20,) + shape))
    return seq(shape, layer)


def _merge_model(layer):
    """A merge of a conv branch (channels-first inside), the raw input and a broadcast branch."""
    inp = minicnn.Input(IMG)
    a = L.Conv2D(3, 3, padding="same")(inp)
    b = L.Conv2D(1, 1)(inp)  # 1 channel: broadcast against 3
    return minicnn.Model(inp, layer([a, inp, b] if not isinstance(layer, L.Subtract) else [a, b]))


for _name in ("linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus",
              "softmax", "log_softmax", "silu", "swish"):
    CASES[f"Activation_{_name}"] = (lambda n: lambda: after_conv(IMG, L.Activation(n)))(_name)


for _cls in (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum):
    CASES[_cls.__name__] = (lambda cls: lambda: _merge_model(cls()))(_cls)


def _concat(axis):
    inp = minicnn.Input(IMG)
    a = L.Conv2D(3, 3, padding="same")(inp)
    return minicnn.Model(inp, L.Concatenate(axis=axis)([a, inp]))


def _concat_flattened():
    inp = minicnn.Input(IMG)
    a = L.Flatten()(L.Conv2D(2, 3)(inp))
    b = L.Flatten()(inp)
    c = L.Dense(4)(L.GlobalAveragePooling2D()(inp))
    return minicnn.Model(inp, L.Dense(3)(L.Concatenate()([a, b, c])))


def _dot(axes, normalize, shapes):
    x, y = minicnn.Input(shapes[0]), minicnn.Input(shapes[1])
    return minicnn.Model([x, y], L.Dot(axes, normalize=normalize)([x, y]))


CASES.update({
    "Concatenate": lambda: _concat(-1),
    "Concatenate_rows": lambda: _concat(1),
    "Concatenate_flattened": _concat_flattened,
    "Dot": lambda: _dot(1, False, ((4,), (4,))),
    "Dot_axes_pair": lambda: _dot((1, 2), False, ((5, 2), (2, 5))),
    "Dot_normalize": lambda: _dot(-1, True, ((3, 4), (6, 4))),
})

# Layers with no ONNX form: exporting them raises ExportError naming them.
NOT_EXPORTABLE = {"Lambda": lambda: seq(IMG, L.Lambda(lambda x: x * 2.0, name="doubler"))}

# Not layers one can put in a model: base classes and helpers.
ABSTRACT = {"Layer", "KerasTensor", "Input", "InputLayer", "BaseConv", "BasePooling", "Merge"}


def test_every_layer_has_a_case():
    covered = {name.split("_")[0] for name in CASES} | set(NOT_EXPORTABLE)
    classes = {name for name in L.__all__ if inspect.isclass(getattr(L, name))
               and issubclass(getattr(L, name), L.Layer)}
    aliases = {name for name in classes if getattr(L, name).__name__ != name}
    missing = classes - ABSTRACT - aliases - covered
    assert not missing, f"layers with no ONNX export case: {sorted(missing)}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_exports(case, check_export):
    model = CASES[case]()
    specs = [(t.shape, t.dtype, 11) for t in model.inputs]
    check_export(model, specs)


@pytest.mark.parametrize("case", sorted(NOT_EXPORTABLE))
def test_layer_not_exportable(case, tmp_path, onnx):
    model = NOT_EXPORTABLE[case]()
    with pytest.raises(ExportError, match=r"'doubler' \(Lambda\).*arbitrary Python"):
        model.export(tmp_path / "m.onnx", verbose=False)
    assert list(tmp_path.iterdir()) == []
