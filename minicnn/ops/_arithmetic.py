"""Functional forms of the elementary Tensor operations and the shape ops."""

import numpy as np

from minicnn.ops._elementary import (Abs, Add, Clip, Concatenate, Div, Exp, Log, MatMul, Max,
                                    Mean, Mul, Neg, Pow, Reshape, Sqrt, Stack, Sub, Sum,
                                    Transpose)
from minicnn.ops._util import as_tensor

__all__ = ["add", "subtract", "multiply", "divide", "negative", "power", "matmul", "exp", "log",
           "sqrt", "abs", "clip", "sum", "mean", "max", "reshape", "transpose", "concatenate",
           "stack", "flatten", "cast"]

def _pairwise(fn, args, name):
    """``op(a, b)`` or ``op([t1, t2, ...])`` (a Keras merge layer's list)."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if len(args) < 1:
        raise ValueError(f"{name}: needs at least one tensor")
    out = as_tensor(args[0], f"{name} input 0")
    for i, t in enumerate(args[1:], 1):
        out = fn.apply(out, as_tensor(t, f"{name} input {i}"))
    return out


def add(*tensors):
    """Elementwise sum with broadcasting: ``add(a, b)`` or ``add([a, b, c])``.

    >>> import minicnn
    >>> minicnn.ops.add([1.0, 2.0], [10.0, 20.0])
    Tensor([11., 22.], dtype=float32)
    """
    return _pairwise(Add, tensors, "add")


def subtract(a, b):
    """a - b with broadcasting."""
    return Sub.apply(as_tensor(a, "a"), as_tensor(b, "b"))


def multiply(*tensors):
    """Elementwise product with broadcasting: ``multiply(a, b)`` or ``multiply([a, b, c])``."""
    return _pairwise(Mul, tensors, "multiply")


def divide(a, b):
    """a / b with broadcasting."""
    return Div.apply(as_tensor(a, "a"), as_tensor(b, "b"))


def negative(x):
    return Neg.apply(as_tensor(x))


def power(x, exponent):
    """x ** exponent (either may be a Tensor)."""
    return Pow.apply(as_tensor(x), exponent)


def matmul(a, b):
    """Matrix product with numpy ``@`` semantics (1-D operands, batches, broadcasting).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.matmul(np.eye(2), np.array([[1.0], [2.0]])).shape
    (2, 1)
    """
    a, b = as_tensor(a, "a"), as_tensor(b, "b")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: a.shape={a.shape} and b.shape={b.shape} do not match "
                         f"(inner dimensions {ka} != {kb})")
    return MatMul.apply(a, b)


def exp(x):
    return Exp.apply(as_tensor(x))


def log(x):
    return Log.apply(as_tensor(x))


def sqrt(x):
    return Sqrt.apply(as_tensor(x))


def abs(x):
    return Abs.apply(as_tensor(x))


def clip(x, x_min=None, x_max=None):
    """Clamp into [x_min, x_max]; the gradient passes inside the interval."""
    return Clip.apply(as_tensor(x), lo=x_min, hi=x_max)


def sum(x, axis=None, keepdims=False):
    return Sum.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return Max.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def reshape(x, shape):
    """Reshape to ``shape`` (the full shape, batch included; one entry may be -1)."""
    return as_tensor(x).reshape(tuple(shape))


def transpose(x, axes=None):
    return Transpose.apply(as_tensor(x), axes=None if axes is None else tuple(axes))


def flatten(x):
    """Keep the batch dimension, flatten the rest: (N, ...) -> (N, prod(...)).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.flatten(np.zeros((2, 3, 4))).shape
    (2, 12)
    """
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError(f"flatten: x must have a batch dimension, got shape {x.shape}")
    return Reshape.apply(x, shape=(x.shape[0], -1) if x.shape[0] else (0, int(np.prod(x.shape[1:]))))


def cast(x, dtype):
    return as_tensor(x).astype(dtype)


def _seq(tensors, name):
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ValueError(f"{name}: tensors must be a non-empty list or tuple of tensors")
    return [as_tensor(t, f"{name} tensors[{i}]") for i, t in enumerate(tensors)]


def concatenate(tensors, axis=-1):
    """Join tensors along an existing axis.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.concatenate([np.zeros((2, 3)), np.ones((2, 1))]).shape
    (2, 4)
    """
    ts = _seq(tensors, "concatenate")
    ref = ts[0].shape
    ax = axis % len(ref) if ref else 0
    for i, t in enumerate(ts):
        if t.ndim != len(ref) or any(s != r for d, (s, r) in enumerate(zip(t.shape, ref)) if d != ax):
            raise ValueError(f"concatenate: all shapes must match except on axis {axis}; "
                             f"got {[tuple(t.shape) for t in ts]}")
    return Concatenate.apply(*ts, axis=axis)


def stack(tensors, axis=0):
    """Join same-shape tensors along a new axis."""
    ts = _seq(tensors, "stack")
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"stack: all tensors must have the same shape; got {[tuple(t.shape) for t in ts]}")
    return Stack.apply(*ts, axis=axis)
