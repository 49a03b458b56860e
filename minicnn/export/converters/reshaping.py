"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D, Cropping1D/2D,
UpSampling1D/2D.

``Permute`` writes no node: it only changes which Keras axis each ONNX axis holds.  ``Flatten``
of a feature map laid out channels-first flattens it as it lies and records the resulting feature
order, which the next ``Dense`` folds into its weight rows (any other consumer gathers the
features back into Keras' order).  Padding and cropping work in whatever layout they get.
"""

import numpy as np

from minicnn import layers as L
from minicnn.export.builder import ExportError, Value
from minicnn.export.converters.convolution import _spatial_axes
from minicnn.export.converters.preprocessing import resample
from minicnn.export.registry import onnx_converter

_TO_END = np.iinfo(np.int64).max


def permuted(graph, x, dims):
    """The Keras tensor ``x.transpose(dims)`` as a Value on ``x``'s ONNX tensor (no node)."""
    if x.order is not None:
        x = graph.keras(x)
    return Value(x.name, tuple(x.shape[d] for d in dims), x.dtype,
                 perm=[dims.index(p) for p in x.perm])


@onnx_converter(L.Permute)
def permute(graph, call):
    return permuted(graph, call.input, (0,) + tuple(call.layer.dims))


@onnx_converter(L.Flatten)
def flatten(graph, call):
    layer, x = call.layer, call.input
    if x.rank > 2 and layer.data_format == "channels_first":
        x = permuted(graph, x, (0,) + tuple(range(2, x.rank)) + (1,))  # Keras flattens channels-last
    if x.rank == 2:
        return x
    n = call.output_shape[1]
    if x.perm != tuple(range(x.rank)) and n is not None:
        order = np.arange(n).reshape(x.shape[1:]).transpose([p - 1 for p in x.perm[1:]]).ravel()
        return Value(graph.node("Flatten", [x.name], layer.name, axis=1), call.output_shape,
                     x.dtype, order=order)
    return Value(graph.node("Flatten", [graph.physical(x)], layer.name, axis=1),
                 call.output_shape, x.dtype)


@onnx_converter(L.Reshape)
def reshape(graph, call):
    x = call.input
    shape = graph.ints((0,) + tuple(call.layer.target_shape), f"{call.layer.name}_shape")
    return Value(graph.node("Reshape", [graph.physical(x), shape], call.layer.name),
                 call.output_shape, x.dtype)


@onnx_converter(L.RepeatVector)
def repeat_vector(graph, call):
    layer, x = call.layer, call.input
    y = graph.unsqueeze(graph.physical(x), [1], f"{layer.name}_unsqueeze")
    y = graph.node("Expand", [y, graph.ints([1, layer.n, 1], f"{layer.name}_repeats")], layer.name)
    return Value(y, call.output_shape, x.dtype)


@onnx_converter(L.ZeroPadding1D, L.ZeroPadding2D)
def zero_padding(graph, call):
    layer, x = call.layer, call.input
    pads = [0] * (2 * x.rank)
    for axis, (before, after) in zip(_spatial_axes(layer, x.rank), layer._pairs):
        pads[x.onnx_axis(axis)], pads[x.rank + x.onnx_axis(axis)] = before, after
    y = graph.node("Pad", [x.name, graph.ints(pads, f"{layer.name}_pads")], layer.name,
                   mode="constant")
    return Value(y, call.output_shape, x.dtype, perm=x.perm)


@onnx_converter(L.Cropping1D, L.Cropping2D)
def cropping(graph, call):
    layer, x = call.layer, call.input
    axes = _spatial_axes(layer, x.rank)
    starts = [before for before, _ in layer._pairs]
    ends = [-after if after else _TO_END for _, after in layer._pairs]
    y = graph.node("Slice", [x.name, graph.ints(starts, "starts"), graph.ints(ends, "ends"),
                             graph.ints([x.onnx_axis(a) for a in axes], "axes")], layer.name)
    return Value(y, call.output_shape, x.dtype, perm=x.perm)


@onnx_converter(L.UpSampling1D, L.UpSampling2D)
def up_sampling(graph, call):
    layer = call.layer
    x = call.input
    name, perm = graph.channels_first(x, layer.data_format)
    if layer.interpolation == "nearest":
        # Whole factors: output cell i copies input floor(i / factor), exactly a repeat.
        scales = graph.const(np.array((1, 1) + layer.size, dtype=np.float32), f"{layer.name}_scales")
        y = graph.node("Resize", [name, "", scales], layer.name, mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return Value(y, call.output_shape, perm=perm)
    spatial = [x.shape[a] for a in _spatial_axes(layer, x.rank)]
    if None in spatial:
        raise ExportError(f"cannot export {call.describe()} with interpolation="
                          f"{layer.interpolation!r} on inputs of unknown size {x.shape}: its "
                          "interpolation weights depend on the size (give the model's Input a size)")
    y = resample(graph, name, spatial, [n * s for n, s in zip(spatial, layer.size)],
                 layer.interpolation, False, layer.name)
    return Value(y, call.output_shape, perm=perm)
