"""Keras' elementwise arithmetic, reductions and joins on the elementary Functions, with Keras'
argument names and dtype promotion (:mod:`minicnn.ops._dtypes`)."""

import builtins

import numpy as np

from minicnn.ops._dtypes import as_float, promote, result_type
from minicnn.ops._elementary import (Abs, Add, Clip, Concatenate, Div, Exp, Log, MatMul, Max,
                                     Mean, Min, Mul, Neg, Pow, Reshape, Sqrt, Stack, Sub, Sum,
                                     Transpose)
from minicnn.ops._select import maximum, minimum
from minicnn.ops._util import as_tensor

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "square",
           "matmul", "exp", "log", "sqrt", "abs", "absolute", "clip", "sum", "mean", "max", "min",
           "amax", "amin", "reshape", "transpose", "concatenate", "stack", "flatten"]


def add(x1, x2):
    """Elementwise sum with broadcasting.

    >>> import minicnn
    >>> minicnn.ops.add([1.0, 2.0], [10.0, 20.0])
    Tensor([11., 22.], dtype=float32)
    """
    return Add.apply(*promote(x1, x2))


def subtract(x1, x2):
    """x1 - x2 with broadcasting."""
    return Sub.apply(*promote(x1, x2))


def multiply(x1, x2):
    """Elementwise product with broadcasting."""
    return Mul.apply(*promote(x1, x2))


def divide(x1, x2):
    """x1 / x2 with broadcasting; integers divide to floatx, as in Keras."""
    dt = result_type(x1, x2, 1.0)
    a, b = (as_tensor(v).astype(dt) if not isinstance(v, (int, float)) else np.asarray(v, dt)
            for v in (x1, x2))
    return Div.apply(a, b)


true_divide = divide


def negative(x):
    return Neg.apply(as_tensor(x))


def power(x1, x2):
    """x1 ** x2 (either may be a Tensor)."""
    return Pow.apply(*promote(x1, x2))


def square(x):
    """x * x (booleans become int32, as in Keras)."""
    x = as_tensor(x)
    if x.dtype == bool:
        x = x.astype(np.int32)
    return Mul.apply(x, x)


def matmul(x1, x2):
    """Matrix product with numpy ``@`` semantics (1-D operands, batches, broadcasting).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.matmul(np.eye(2), np.array([[1.0], [2.0]])).shape
    (2, 1)
    """
    a, b = promote(as_tensor(x1, "x1"), as_tensor(x2, "x2"))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: x1.shape={a.shape} and x2.shape={b.shape} do not match "
                         f"(inner dimensions {ka} != {kb})")
    return MatMul.apply(a, b)


def exp(x):
    return Exp.apply(as_float(x))


def log(x):
    return Log.apply(as_float(x))


def sqrt(x):
    return Sqrt.apply(as_float(x))


def abs(x):
    return Abs.apply(as_tensor(x))


absolute = abs


def clip(x, x_min, x_max):
    """Clamp into [x_min, x_max] (either may be None); the gradient passes inside the interval."""
    x = as_tensor(x)
    if x.dtype == bool:
        x = x.astype(np.int32)
    return Clip.apply(x, lo=x_min, hi=x_max)


def sum(x, axis=None, keepdims=False):
    return Sum.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis``; integer and boolean inputs average in floatx, as in Keras."""
    x = as_tensor(x)
    if x.dtype.kind not in "fc":
        x = x.astype(result_type(x, 1.0))
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def _extremum(fn, join, x, axis, keepdims, initial, name):
    x = as_tensor(x)
    if x.size == 0:
        if initial is None:
            raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape} without initial=")
        return as_tensor(getattr(np, name)(x.data, axis=axis, keepdims=keepdims, initial=initial))
    y = fn.apply(x, axis=axis, keepdims=keepdims)
    # ``initial`` is one more candidate of the reduction.
    return y if initial is None else join(y, np.asarray(initial, dtype=y.dtype))


def max(x, axis=None, keepdims=False, initial=None):
    """The maximum over ``axis`` (ties share the gradient)."""
    return _extremum(Max, maximum, x, axis, keepdims, initial, "max")


def min(x, axis=None, keepdims=False, initial=None):
    """The minimum over ``axis`` (ties share the gradient)."""
    return _extremum(Min, minimum, x, axis, keepdims, initial, "min")


amax, amin = max, min


def reshape(x, newshape):
    """Reshape to ``newshape`` (the full shape, batch included; one entry may be -1)."""
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    return as_tensor(x).reshape(newshape)


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


def _seq(xs, name):
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError(f"{name}: xs must be a non-empty list or tuple of tensors")
    return promote(*[as_tensor(t, f"{name} xs[{i}]") for i, t in enumerate(xs)])


def concatenate(xs, axis=0):
    """Join tensors along an existing axis (Keras' default: the first).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.concatenate([np.zeros((2, 3)), np.ones((2, 1))], axis=-1).shape
    (2, 4)
    """
    ts = _seq(xs, "concatenate")
    ref = ts[0].shape
    if not ref:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    ax = axis % len(ref)
    if builtins.any(t.ndim != len(ref) or builtins.any(s != r for d, (s, r) in enumerate(zip(t.shape, ref))
                                                       if d != ax) for t in ts):
        raise ValueError(f"concatenate: all shapes must match except on axis {axis}; "
                         f"got {[tuple(t.shape) for t in ts]}")
    return Concatenate.apply(*ts, axis=ax)


def stack(x, axis=0):
    """Join same-shape tensors along a new axis."""
    ts = _seq(x, "stack")
    if builtins.any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"stack: all tensors must have the same shape; got {[tuple(t.shape) for t in ts]}")
    return Stack.apply(*ts, axis=axis)
