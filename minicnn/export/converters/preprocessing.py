"""Preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop, and RandomCrop (which
resizes at inference; the other augmentation layers are identities there, see ``core``).

Resampling is written as what it is in minicnn, a separable linear map: along each axis whose
size changes, a MatMul with the ``(in, out)`` weight matrix minicnn itself uses (its
``ops.image`` formula, so every method minicnn has, lanczos and antialiasing included, exports
exactly), or a Gather for "nearest".  The weights depend on the input size, so these layers need
inputs of known height and width.
"""

import numpy as np

from minicnn import layers as L
from minicnn.export.builder import ExportError, Value
from minicnn.export.converters.core import binary
from minicnn.export.registry import onnx_converter
from minicnn.ops import image as _image


def resample(graph, name, in_sizes, out_sizes, method, antialias, hint):
    """Resize the last two axes of the channels-first tensor ``name`` from ``in_sizes`` to
    ``out_sizes`` (rows first, as minicnn does)."""
    rank_offset = 2
    for k, (n_in, n_out) in enumerate(zip(in_sizes, out_sizes)):
        if n_in == n_out:
            continue
        w = _image._weight_matrix(n_in, n_out, method, antialias)
        if method == "nearest":
            name = graph.node("Gather", [name, graph.ints(w.argmax(axis=0), f"{hint}_index")],
                              f"{hint}_{'rows' if k == 0 else 'cols'}", axis=rank_offset + k)
        elif k == 0:
            name = graph.node("MatMul", [graph.const(w.T, f"{hint}_row_weights"), name],
                              f"{hint}_rows")
        else:
            name = graph.node("MatMul", [name, graph.const(w, f"{hint}_col_weights")],
                              f"{hint}_cols")
    return name


def _image_sizes(call, data_format):
    x = call.input
    if x.rank != 4:
        raise ExportError(f"cannot export {call.describe()}: inside a model it expects a batch of "
                          f"images (rank 4), got shape {x.shape}")
    h, w = (x.shape[2:] if data_format == "channels_first" else x.shape[1:3])
    if h is None or w is None:
        raise ExportError(f"cannot export {call.describe()} on images of unknown size {x.shape}: "
                          "its output depends on the size (give the model's Input a size)")
    return h, w


def _crop(graph, name, top, left, height, width, hint):
    return graph.node("Slice", [name, graph.ints([top, left], "starts"),
                                graph.ints([top + height, left + width], "ends"),
                                graph.ints([2, 3], "axes")], hint)


def _resize(graph, call, target, method, antialias=False, crop=False, pad=False, fill=0.0):
    """``ops.image.resize`` of the call's images (float32), channels-first; returns
    ``(name, perm)``."""
    layer = call.layer
    h, w = _image_sizes(call, layer.data_format)
    name, perm = graph.channels_first(call.input, layer.data_format)
    if crop:
        top, h, left, w = _image._aspect_window(h, w, *target, crop=True)
        name = _crop(graph, name, top, left, h, w, f"{layer.name}_crop")
    elif pad:
        pad_h, pad_w = _image._aspect_window(h, w, *target, crop=False)
        if pad_h or pad_w:
            pads = graph.ints([0, 0, pad_h, pad_w] * 2, f"{layer.name}_pads")
            name = graph.node("Pad", [name, pads, graph.const(np.float32(fill), "fill_value")],
                              f"{layer.name}_pad", mode="constant")
            h, w = h + 2 * pad_h, w + 2 * pad_w
    return resample(graph, name, (h, w), target, method, antialias, layer.name), perm


@onnx_converter(L.Resizing)
def resizing(graph, call):
    layer = call.layer
    y, perm = _resize(graph, call, (layer.height, layer.width), layer.interpolation,
                      layer.antialias, layer.crop_to_aspect_ratio, layer.pad_to_aspect_ratio,
                      layer.fill_value)
    return Value(y, call.output_shape, perm=perm)


@onnx_converter(L.CenterCrop)
def center_crop(graph, call):
    layer = call.layer
    h, w = _image_sizes(call, layer.data_format)
    dh, dw = h - layer.height, w - layer.width
    if dh >= 0 and dw >= 0:
        name, perm = graph.channels_first(call.input, layer.data_format)
        y = _crop(graph, name, dh // 2, dw // 2, layer.height, layer.width, layer.name)
    else:  # smaller than the target: Keras crops to the aspect ratio and resizes
        y, perm = _resize(graph, call, (layer.height, layer.width), "bilinear", crop=True)
    return Value(y, call.output_shape, perm=perm)


def _clamped_bilinear(positions, size):
    """(size, len(positions)) weights sampling at ``positions`` with edge clamping."""
    w = np.zeros((size, len(positions)))
    lo = np.floor(positions).astype(np.intp)
    frac = positions - lo
    cols = np.arange(len(positions))
    np.add.at(w, (np.clip(lo, 0, size - 1), cols), 1.0 - frac)
    np.add.at(w, (np.clip(lo + 1, 0, size - 1), cols), frac)
    return w


@onnx_converter(L.RandomCrop)
def random_crop(graph, call):
    """At inference RandomCrop crops the central window of the target's aspect ratio and
    resizes it (bilinear, half-pixel centres clamped to the window)."""
    layer = call.layer
    h, w = _image_sizes(call, layer.data_format)
    name, perm = graph.channels_first(call.input, layer.data_format)
    for k, (size, target, other, other_target) in enumerate(
            ((h, layer.height, w, layer.width), (w, layer.width, h, layer.height))):
        crop = min(size, int(round(other * target / other_target)))
        start = (size - crop) // 2
        positions = start + np.clip((np.arange(target) + 0.5) * (crop / target) - 0.5, 0, crop - 1)
        weights = _clamped_bilinear(positions, size)
        if k == 0:
            name = graph.node("MatMul", [graph.const(weights.T, f"{layer.name}_row_weights"),
                                         name], f"{layer.name}_rows")
        else:
            name = graph.node("MatMul", [name, graph.const(weights, f"{layer.name}_col_weights")],
                              layer.name)
    return Value(name, call.output_shape, perm=perm)


@onnx_converter(L.Rescaling)
def rescaling(graph, call):
    layer, x = call.layer, call.input
    y = binary(graph, x, "Mul", graph.const(graph.in_layout(np.asarray(layer.scale), x),
                                            f"{layer.name}_scale"), f"{layer.name}_scaled")
    return binary(graph, y, "Add", graph.const(graph.in_layout(np.asarray(layer.offset), x),
                                               f"{layer.name}_offset"), layer.name)


@onnx_converter(L.Normalization)
def normalization(graph, call):
    layer, x = call.layer, call.input
    mean, std = layer._stats(np.dtype(np.float32))
    mean = graph.const(graph.in_layout(mean, x), f"{layer.name}_mean")
    std = graph.const(graph.in_layout(std, x), f"{layer.name}_std")
    if layer.invert:
        return binary(graph, binary(graph, x, "Mul", std, f"{layer.name}_scaled"), "Add", mean,
                      layer.name)
    return binary(graph, binary(graph, x, "Sub", mean, f"{layer.name}_centred"), "Div", std,
                  layer.name)
