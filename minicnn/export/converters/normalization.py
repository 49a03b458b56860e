"""Normalization layers: BatchNormalization and minicnn.distribute's SyncBatchNormalization
(inference form: the moving statistics), LayerNormalization and GroupNormalization (per-sample
statistics, written out op by op as minicnn computes them: mean, centred square mean,
``1 / sqrt(var + epsilon)``, scale, shift)."""

import numpy as np

from minicnn import layers as L
from minicnn.distribute.sync_batch_norm import SyncBatchNormalization
from minicnn.export.builder import Value
from minicnn.export.converters.core import binary, like, scalar
from minicnn.export.registry import onnx_converter


def _channel_shape(rank, axis, c):
    shape = [1] * rank
    shape[axis] = c
    return shape


@onnx_converter(L.BatchNormalization, SyncBatchNormalization)  # the same at inference
def batch_normalization(graph, call):
    layer, x = call.layer, call.input
    axis = layer.axis % x.rank
    c = layer.moving_mean.shape[0]
    ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
    params = [ones if layer.gamma is None else layer.gamma.numpy(),
              zeros if layer.beta is None else layer.beta.numpy(),
              layer.moving_mean.numpy(), layer.moving_variance.numpy()]
    # Each parameter in the ONNX order of the channel axis (a flattened map may permute it).
    params = [graph.in_layout(p.reshape(_channel_shape(x.rank, axis, c)), x).reshape(-1)
              for p in params]
    if x.onnx_axis(axis) == 1:  # ONNX's BatchNormalization normalises axis 1
        names = [graph.const(p, f"{layer.name}_{n}") for p, n in
                 zip(params, ("gamma", "beta", "moving_mean", "moving_variance"))]
        return like(x, graph.node("BatchNormalization", [x.name] + names, layer.name,
                                  epsilon=layer.epsilon))
    gamma, beta, mean, var = (p.astype(np.float64) for p in params)
    scale = gamma / np.sqrt(var + layer.epsilon)
    shape = _channel_shape(x.rank, x.onnx_axis(axis), c)
    y = binary(graph, x, "Mul", graph.const(scale.reshape(shape), f"{layer.name}_scale"),
               f"{layer.name}_scaled")
    return binary(graph, y, "Add", graph.const((beta - mean * scale).reshape(shape),
                                               f"{layer.name}_shift"), layer.name)


def _normalize(graph, x, axes, epsilon, hint):
    """``(x - mean) * (1 / sqrt(var + epsilon))`` over the ONNX ``axes`` of ``x``."""
    mean = graph.reduce("ReduceMean", x.name, axes, f"{hint}_mean")
    centred = binary(graph, x, "Sub", mean, f"{hint}_centred")
    square = binary(graph, centred, "Mul", centred.name, f"{hint}_square")
    var = graph.reduce("ReduceMean", square.name, axes, f"{hint}_var")
    std = graph.node("Sqrt", [graph.node("Add", [var, scalar(graph, epsilon, "epsilon")],
                                         f"{hint}_var_eps")], f"{hint}_std")
    return binary(graph, centred, "Mul", graph.node("Reciprocal", [std], f"{hint}_inv_std"),
                  f"{hint}_normalized")


def _scale_shift(graph, y, layer, shape, hint):
    """``y * gamma + beta`` with the layer's weights reshaped to ``shape`` (ONNX layout)."""
    if layer.gamma is not None:
        y = binary(graph, y, "Mul", graph.const(layer.gamma.numpy().reshape(shape),
                                                f"{layer.name}_gamma"), f"{hint}_scaled")
    if layer.beta is not None:
        y = binary(graph, y, "Add", graph.const(layer.beta.numpy().reshape(shape),
                                                f"{layer.name}_beta"), hint)
    return y


@onnx_converter(L.LayerNormalization)
def layer_normalization(graph, call):
    layer, x = call.layer, call.input
    axes = list(layer.axis)
    y = _normalize(graph, x, [x.onnx_axis(a) for a in axes], layer.epsilon, layer.name)
    keras_shape = [x.shape[d] if d in axes else 1 for d in range(x.rank)]
    for name in ("gamma", "beta"):  # weights laid out like x
        w = getattr(layer, name)
        if w is not None:
            op = "Mul" if name == "gamma" else "Add"
            w = graph.const(graph.in_layout(w.numpy().reshape(keras_shape), x), f"{layer.name}_{name}")
            y = binary(graph, y, op, w, f"{layer.name}_{op.lower()}")
    return y


@onnx_converter(L.GroupNormalization)
def group_normalization(graph, call):
    """Channels at ONNX axis 1, reshaped to (batch, groups, rest), normalised over the rest."""
    layer, x = call.layer, call.input
    axis = layer.axis % x.rank
    perm = x.perm if x.perm[1] == axis and x.order is None else (
        (0, axis) + tuple(d for d in range(1, x.rank) if d != axis))
    name = graph.physical(x, perm)
    grouped = Value(graph.node("Reshape", [name, graph.ints([0, layer.groups, -1], "group_shape")],
                               f"{layer.name}_grouped"), (None, layer.groups, None))
    y = _normalize(graph, grouped, [2], layer.epsilon, layer.name)
    shape = graph.node("Shape", [name], f"{layer.name}_shape")
    y = Value(graph.node("Reshape", [y.name, shape], f"{layer.name}_ungrouped"), call.output_shape,
              perm=perm)
    c = x.shape[axis]
    return _scale_shift(graph, y, layer, _channel_shape(x.rank, 1, c), layer.name)
