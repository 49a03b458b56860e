"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

The inputs are brought to one layout (the first input's, so the branches of a channels-first
residual block meet without a transpose); Concatenate's axis is remapped to it, and flattened
feature maps concatenated along the features keep their orders side by side.
"""

import numpy as np

from minicnn import layers as L
from minicnn.export.builder import Value
from minicnn.export.converters.core import scalar
from minicnn.export.registry import onnx_converter

_VARIADIC = {L.Add: "Sum", L.Average: "Mean", L.Maximum: "Max", L.Minimum: "Min"}
_BINARY = {L.Subtract: "Sub", L.Multiply: "Mul"}


def common_layout(graph, values):
    """The ONNX names of ``values`` in the first one's layout (in Keras order when that is a
    feature order the others do not share), and that layout as a Value."""
    target = values[0]
    if target.order is not None and not all(v.same_layout(target) for v in values):
        target = graph.keras(target)
    names = [v.name if v.same_layout(target) else graph.physical(v, target.perm) for v in values]
    return names, target


@onnx_converter(*_VARIADIC, *_BINARY)
def merge(graph, call):
    layer = call.layer
    names, first = common_layout(graph, call.inputs)
    op = next(o for cls, o in {**_VARIADIC, **_BINARY}.items() if isinstance(layer, cls))
    if op in _VARIADIC.values():
        y = graph.node(op, names, layer.name)
    else:
        y = names[0]
        for i, other in enumerate(names[1:]):
            y = graph.node(op, [y, other], layer.name if i == len(names) - 2 else f"{layer.name}_{i}")
    return Value(y, call.output_shape, perm=first.perm, order=first.order)


@onnx_converter(L.Concatenate)
def concatenate(graph, call):
    layer = call.layer
    values = call.inputs
    axis = layer.axis % values[0].rank
    if axis == 1 and values[0].rank == 2 and any(v.order is not None for v in values):
        # Flattened maps side by side: the feature orders concatenate too, offset by position.
        orders, offset = [], 0
        for v in values:
            n = v.shape[1]
            orders.append(offset + (np.arange(n) if v.order is None else v.order))
            offset += n
        y = graph.node("Concat", [v.name for v in values], layer.name, axis=1)
        return Value(y, call.output_shape, order=np.concatenate(orders))
    names, first = common_layout(graph, values)
    y = graph.node("Concat", names, layer.name, axis=first.onnx_axis(axis))
    return Value(y, call.output_shape, perm=first.perm)


def _l2_normalize(graph, name, axis, hint):
    """``x / sqrt(max(sum(x * x), epsilon ** 2))`` along ``axis`` (Keras' ops.normalize)."""
    square = graph.node("Mul", [name, name], f"{hint}_square")
    total = graph.reduce("ReduceSum", square, [axis], f"{hint}_square_sum")
    floor = scalar(graph, 1e-7 ** 2, "epsilon_squared")
    norm = graph.node("Sqrt", [graph.node("Max", [total, floor], f"{hint}_clipped")], f"{hint}_norm")
    return graph.node("Div", [name, norm], f"{hint}_normalized")


@onnx_converter(L.Dot)
def dot(graph, call):
    """Keras' batch_dot as one batched MatMul: x's summed axis moved last, y's to axis 1."""
    layer = call.layer
    x, y = (graph.keras(v) for v in call.inputs)
    a0, a1 = (layer.axes, layer.axes) if isinstance(layer.axes, int) else layer.axes
    a0, a1 = a0 % x.rank, a1 % y.rank
    xn, yn = x.name, y.name
    if layer.normalize:
        xn = _l2_normalize(graph, xn, a0, f"{layer.name}_x")
        yn = _l2_normalize(graph, yn, a1, f"{layer.name}_y")
    keep_x = [d for d in range(1, x.rank) if d != a0]
    keep_y = [d for d in range(1, y.rank) if d != a1]
    k = x.shape[a0]
    x3 = graph.node("Transpose", [xn], f"{layer.name}_x_t", perm=[0] + keep_x + [a0])
    x3 = graph.node("Reshape", [x3, graph.ints([0, -1, k], "dot_shape")], f"{layer.name}_x3")
    y3 = graph.node("Transpose", [yn], f"{layer.name}_y_t", perm=[0, a1] + keep_y)
    y3 = graph.node("Reshape", [y3, graph.ints([0, k, -1], "dot_shape")], f"{layer.name}_y3")
    out = graph.node("MatMul", [x3, y3], f"{layer.name}_matmul")
    shape = graph.ints([0] + [d if d is not None else -1 for d in call.output_shape[1:]],
                       f"{layer.name}_shape")
    return Value(graph.node("Reshape", [out, shape], layer.name), call.output_shape)
