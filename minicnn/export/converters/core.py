"""Core layers and the activation functions: Dense, Activation, ReLU, LeakyReLU, ELU, Softmax,
Identity, Embedding; Dropout and the noise layers are identities at inference and write nothing.
Elementwise ops keep their input's layout (see :mod:`minicnn.export.builder`)."""

import math

import numpy as np

from minicnn import activations
from minicnn import layers as L
from minicnn.export.builder import ExportError, Value
from minicnn.export.registry import onnx_converter, unsupported


def like(x, name):
    """A Value named ``name`` with ``x``'s shape and layout (an elementwise result)."""
    return Value(name, x.shape, "float32", x.perm, x.order)


def unary(graph, x, op, hint, **attrs):
    return like(x, graph.node(op, [x.name], hint, **attrs))


def binary(graph, x, op, other, hint):
    return like(x, graph.node(op, [x.name, other], hint))


def scalar(graph, value, hint="c"):
    return graph.const(np.asarray(value, dtype=np.float32), hint)


def softmax(graph, x, axis, hint, op="Softmax"):
    """Softmax/LogSoftmax along Keras axis ``axis``: a permuted feature order along that axis
    is kept (the result is permuted the same way)."""
    axis %= x.rank
    if x.order is not None and axis != x.rank - 1:
        x = graph.keras(x)
    return unary(graph, x, op, hint, axis=x.onnx_axis(axis))


def _gelu(graph, x, hint, approximate):
    # minicnn's formulas, op for op: 0.5 * x * (1 + erf(x / sqrt(2))), or Keras' tanh form.
    if approximate:
        cube = binary(graph, binary(graph, x, "Mul", x.name, f"{hint}_sq"), "Mul", x.name, f"{hint}_cube")
        inner = binary(graph, x, "Add", graph.node("Mul", [cube.name, scalar(graph, 0.044715)],
                                                   f"{hint}_c"), f"{hint}_sum")
        inner = binary(graph, inner, "Mul", scalar(graph, math.sqrt(2 / math.pi)), f"{hint}_inner")
        core = unary(graph, inner, "Tanh", f"{hint}_tanh")
    else:
        core = unary(graph, binary(graph, x, "Mul", scalar(graph, 1 / math.sqrt(2)), f"{hint}_scaled"),
                     "Erf", f"{hint}_erf")
    half = binary(graph, x, "Mul", scalar(graph, 0.5), f"{hint}_half")
    return binary(graph, half, "Mul", graph.node("Add", [core.name, scalar(graph, 1.0)], f"{hint}_1p"),
                  hint)


def _silu(graph, x, hint):
    return binary(graph, x, "Mul", graph.node("Sigmoid", [x.name], f"{hint}_sigmoid"), hint)


_ACTIVATIONS = {
    "relu": lambda g, x, h: unary(g, x, "Relu", h),
    "leaky_relu": lambda g, x, h: unary(g, x, "LeakyRelu", h, alpha=0.2),
    "elu": lambda g, x, h: unary(g, x, "Elu", h, alpha=1.0),
    "gelu": lambda g, x, h: _gelu(g, x, h, approximate=False),
    "sigmoid": lambda g, x, h: unary(g, x, "Sigmoid", h),
    "tanh": lambda g, x, h: unary(g, x, "Tanh", h),
    "softplus": lambda g, x, h: unary(g, x, "Softplus", h),
    "softmax": lambda g, x, h: softmax(g, x, -1, h),
    "log_softmax": lambda g, x, h: softmax(g, x, -1, h, op="LogSoftmax"),
    "silu": _silu,
    "swish": _silu,
}


def activation(graph, fn, x, layer):
    """``fn(x)`` for a built-in activation ``fn``; ExportError naming ``layer`` otherwise."""
    if fn is activations.linear:
        return x
    name = activations.serialize(fn)
    emit = _ACTIVATIONS.get(name) if isinstance(name, str) else None
    if emit is None or getattr(activations, name, None) is not fn:
        raise ExportError(f"cannot export layer {layer.name!r} ({type(layer).__name__}): its "
                          f"activation {getattr(fn, '__name__', fn)!r} has no ONNX form (built-in "
                          f"activations that do: {sorted(_ACTIVATIONS)})")
    return emit(graph, x, f"{layer.name}_{name}")


@onnx_converter(L.Dense)
def dense(graph, call):
    layer, x = call.layer, call.input
    kernel = layer.kernel.numpy()
    if x.rank == 2 and x.order is not None:
        kernel = kernel[x.order]  # a flattened feature map in ONNX order: permute the rows once
        name = x.name
    else:
        name = graph.physical(x)
    w = graph.const(kernel, f"{layer.name}_kernel")
    inputs = [name, w] + ([graph.const(layer.bias.numpy(), f"{layer.name}_bias")]
                          if layer.bias is not None else [])
    if x.rank == 2:
        y = graph.node("Gemm", inputs, f"{layer.name}_dense")
    else:
        y = graph.node("MatMul", inputs[:2], f"{layer.name}_matmul")
        if len(inputs) == 3:
            y = graph.node("Add", [y, inputs[2]], f"{layer.name}_dense")
    return activation(graph, layer.activation, Value(y, call.output_shape), layer)


@onnx_converter(L.Activation)
def activation_layer(graph, call):
    return activation(graph, call.layer.activation, call.input, call.layer)


@onnx_converter(L.ReLU)
def relu(graph, call):
    layer, x = call.layer, call.input
    if layer.negative_slope:
        y = unary(graph, x, "LeakyRelu", f"{layer.name}_leaky", alpha=layer.negative_slope)
    else:
        y = unary(graph, x, "Relu", f"{layer.name}_relu")
    if layer.max_value is not None:
        y = like(y, graph.node("Clip", [y.name, "", scalar(graph, layer.max_value, "max_value")],
                               layer.name))
    return y


@onnx_converter(L.LeakyReLU)
def leaky_relu(graph, call):
    return unary(graph, call.input, "LeakyRelu", call.layer.name,
                 alpha=call.layer.negative_slope)


@onnx_converter(L.ELU)
def elu(graph, call):
    return unary(graph, call.input, "Elu", call.layer.name, alpha=call.layer.alpha)


@onnx_converter(L.Softmax)
def softmax_layer(graph, call):
    return softmax(graph, call.input, call.layer.axis, call.layer.name)


@onnx_converter(L.Identity, L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                L.GaussianNoise, L.GaussianDropout, L.RandomFlip, L.RandomTranslation,
                L.RandomRotation, L.RandomZoom, L.RandomContrast, L.RandomBrightness)
def identity(graph, call):
    """Identity at inference (the augmentation and noise layers act in training only)."""
    return call.input


@onnx_converter(L.Embedding)
def embedding(graph, call):
    layer, x = call.layer, graph.keras(call.input)
    index = x.name
    if x.dtype != np.int64:
        index = graph.node("Cast", [index], f"{layer.name}_index", to=graph.onnx.TensorProto.INT64)
    table = graph.const(layer.embeddings.numpy(), f"{layer.name}_embeddings")
    return Value(graph.node("Gather", [table, index], layer.name, axis=0), call.output_shape)


onnx_converter(L.Lambda)(unsupported(
    "a Lambda layer runs arbitrary Python, which has no ONNX form; write the computation with "
    "minicnn layers, or register a converter for a layer class (minicnn.export.onnx_converter)"))
