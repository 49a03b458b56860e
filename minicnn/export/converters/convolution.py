"""Convolutions and pooling: Conv1D/2D (grouped), DepthwiseConv2D and SeparableConv2D (grouped
Conv), Conv2DTranspose (ConvTranspose), Max/AveragePooling1D/2D, the global poolings.

Kernels are transposed once, here, from Keras' (k..., in, out) to ONNX's (out, in, k...);
``padding="same"`` becomes explicit pads (Keras puts the odd cell after), or ``SAME_UPPER``
(the same rule, applied by the runtime) when the input size is not known; average pooling
excludes the padding from the mean, as Keras does (``count_include_pad=0``).
"""

from minicnn import layers as L
from minicnn.export.builder import Value, same_pads
from minicnn.export.converters.core import activation
from minicnn.export.registry import onnx_converter
from minicnn.layers._args import deconv_output_length


def _spatial_axes(layer, rank):
    return tuple(range(2, rank)) if layer.data_format == "channels_first" else tuple(range(1, rank - 1))


def _pads(layer, shape, kernel_size, strides, dilations):
    """The padding attributes of a window op on an input of Keras shape ``shape``."""
    dilated = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilations)]
    if layer.padding == "valid":
        return {}
    if layer.padding == "causal":  # Conv1D: everything on the left
        return {"pads": [dilated[0] - 1, 0]}
    sizes = [shape[a] for a in _spatial_axes(layer, len(shape))]
    if any(n is None for n in sizes):
        return {"auto_pad": "SAME_UPPER"}
    pairs = [same_pads(n, dk, s) for n, dk, s in zip(sizes, dilated, strides)]
    return {"pads": [p[0] for p in pairs] + [p[1] for p in pairs]}


def _conv(graph, call, kernel, bias, group, hint):
    """One ONNX Conv of the layer's input (any data_format) with an (out, in, k...) kernel."""
    layer = call.layer
    x = call.input
    name, perm = graph.channels_first(x, layer.data_format)
    inputs = [name, graph.const(kernel, f"{hint}_kernel")]
    if bias is not None:
        inputs.append(graph.const(bias, f"{hint}_bias"))
    y = graph.node("Conv", inputs, hint, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), dilations=list(layer.dilation_rate), group=group,
                   **_pads(layer, x.shape, layer.kernel_size, layer.strides, layer.dilation_rate))
    return Value(y, call.output_shape, perm=perm)


def _bias(layer):
    return None if layer.bias is None else layer.bias.numpy()


@onnx_converter(L.Conv1D, L.Conv2D)
def conv(graph, call):
    layer, r = call.layer, call.layer.rank
    kernel = layer.kernel.numpy().transpose((r + 1, r) + tuple(range(r)))
    y = _conv(graph, call, kernel, _bias(layer), layer.groups, f"{layer.name}_conv")
    return activation(graph, layer.activation, y, layer)


def _depthwise_kernel(kernel):
    # (kh, kw, C, M) -> (C * M, 1, kh, kw): output channel c * M + m, in group c, as in Keras.
    kh, kw, c, m = kernel.shape
    return kernel.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw)


@onnx_converter(L.DepthwiseConv2D)
def depthwise_conv(graph, call):
    layer = call.layer
    y = _conv(graph, call, _depthwise_kernel(layer.kernel.numpy()), _bias(layer),
              layer._in_channels, f"{layer.name}_depthwise")
    return activation(graph, layer.activation, y, layer)


@onnx_converter(L.SeparableConv2D)
def separable_conv(graph, call):
    layer = call.layer
    d = _conv(graph, call, _depthwise_kernel(layer.depthwise_kernel.numpy()), None,
              layer._in_channels, f"{layer.name}_depthwise")  # channels-first, as Conv wants
    pointwise = layer.pointwise_kernel.numpy().transpose(3, 2, 0, 1)
    inputs = [d.name, graph.const(pointwise, f"{layer.name}_pointwise_kernel")]
    if layer.bias is not None:
        inputs.append(graph.const(layer.bias.numpy(), f"{layer.name}_bias"))
    y = graph.node("Conv", inputs, f"{layer.name}_pointwise", kernel_shape=[1, 1])
    return activation(graph, layer.activation, Value(y, call.output_shape, perm=d.perm), layer)


def _transpose_crop(k, d, s, padding, output_padding):
    """(cut at the start, cut at the end) of the full transposed-conv output along one axis.

    Keras computes the transposed conv as a conv over the stride-dilated input padded with
    ``left_pad`` on the left: its output starts ``dk - 1 - left_pad`` cells into the full one.
    The cut at the end follows from Keras' output length and does not depend on the input's.
    """
    dk = (k - 1) * d + 1
    start = 0
    if padding == "same":
        pad_len = s + dk - 2 if output_padding is None else dk + dk % 2 - 2 + output_padding
        start = dk - 1 - min(pad_len // 2 + pad_len % 2, dk - 1)
    full_minus_out = dk - deconv_output_length(1, k, padding, output_padding, s, d)
    return start, full_minus_out - start


@onnx_converter(L.Conv2DTranspose)
def conv_transpose(graph, call):
    layer = call.layer
    x = call.input
    name, perm = graph.channels_first(x, layer.data_format)
    output_padding = layer.output_padding or (None, None)
    crops = [_transpose_crop(k, d, s, layer.padding, p) for k, d, s, p in
             zip(layer.kernel_size, layer.dilation_rate, layer.strides, output_padding)]
    # A negative cut at the end is output the full one lacks: ONNX's output_padding adds it
    # (cells no input reaches: the bias alone, as in Keras).
    inputs = [name, graph.const(layer.kernel.numpy().transpose(3, 2, 0, 1),
                                f"{layer.name}_kernel")]
    if layer.bias is not None:
        inputs.append(graph.const(layer.bias.numpy(), f"{layer.name}_bias"))
    y = graph.node("ConvTranspose", inputs, f"{layer.name}_conv_transpose",
                   kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                   dilations=list(layer.dilation_rate),
                   pads=[c[0] for c in crops] + [max(c[1], 0) for c in crops],
                   output_padding=[max(-c[1], 0) for c in crops])
    return activation(graph, layer.activation, Value(y, call.output_shape, perm=perm), layer)


_POOL_OPS = {L.MaxPooling1D: "MaxPool", L.MaxPooling2D: "MaxPool",
             L.AveragePooling1D: "AveragePool", L.AveragePooling2D: "AveragePool"}


@onnx_converter(*_POOL_OPS)
def pool(graph, call):
    layer = call.layer
    op = next(o for cls, o in _POOL_OPS.items() if isinstance(layer, cls))
    x = call.input
    name, perm = graph.channels_first(x, layer.data_format)
    attrs = _pads(layer, x.shape, layer.pool_size, layer.strides, (1,) * layer.rank)
    if op == "AveragePool":
        attrs["count_include_pad"] = 0
    y = graph.node(op, [name], layer.name, kernel_shape=list(layer.pool_size),
                   strides=list(layer.strides), **attrs)
    return Value(y, call.output_shape, perm=perm)


@onnx_converter(L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalMaxPooling1D,
                L.GlobalMaxPooling2D)
def global_pool(graph, call):
    """A reduction over the spatial axes wherever they sit: no transpose in any layout."""
    layer = call.layer
    x = call.input
    op = "ReduceMax" if isinstance(layer, (L.GlobalMaxPooling1D, L.GlobalMaxPooling2D)) else "ReduceMean"
    spatial = _spatial_axes(layer, x.rank)
    y = graph.reduce(op, x.name, [x.onnx_axis(a) for a in spatial], layer.name,
                     keepdims=layer.keepdims)
    if layer.keepdims:
        return Value(y, call.output_shape, perm=x.perm)
    kept = [p for p in x.perm if p not in spatial]
    return Value(y, call.output_shape, perm=[sorted(kept).index(p) for p in kept])
