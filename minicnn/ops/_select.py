"""Elementwise selection (``where``, ``maximum``, ``minimum``: differentiable) and comparisons
(boolean Tensors, not differentiable), with NumPy broadcasting."""

import numpy as np

from minicnn.autograd import Function, Tensor, sum_to_shape
from minicnn.ops._util import as_tensor, raw

__all__ = ["where", "maximum", "minimum", "equal", "not_equal", "greater", "greater_equal",
           "less", "less_equal", "WhereFunction"]


def _shape_dtype(x):
    return (x.shape, x.dtype) if isinstance(x, np.ndarray) else (None, None)


class WhereFunction(Function):
    """``condition ? a : b``; the gradient goes to the side each element was taken from."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.a, ctx.b = _shape_dtype(a), _shape_dtype(b)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        _, na, nb = ctx.needs_input_grad
        zero = np.zeros((), g.dtype)
        ga = sum_to_shape(np.where(ctx.condition, g, zero), *ctx.a) if na else None
        gb = sum_to_shape(np.where(ctx.condition, zero, g), *ctx.b) if nb else None
        return None, ga, gb


def _pair(a, b, name):
    a, b = as_tensor(a, f"{name}: x1"), as_tensor(b, f"{name}: x2")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} do not broadcast") from None
    return a, b


def where(condition, x1=None, x2=None):
    """Elements of ``x1`` where ``condition`` holds, else of ``x2`` (differentiable in both);
    with only ``condition``, the indices of its non-zero elements (a tuple, as in NumPy)."""
    cond = np.asarray(raw(condition)).astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor._wrap(i) for i in np.nonzero(cond))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, b = _pair(x1, x2, "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, x1 {a.shape} and x2 {b.shape} do not "
                         "broadcast") from None
    dtype = np.result_type(a.data, b.data)
    return WhereFunction.apply(cond, a.astype(dtype) if a.dtype != dtype else a,
                               b.astype(dtype) if b.dtype != dtype else b)


def maximum(x1, x2):
    """Elementwise maximum; where the two are equal the gradient goes to ``x1`` (as in Keras'
    TensorFlow backend)."""
    a, b = _pair(x1, x2, "maximum")
    return where(a.data >= b.data, a, b)


def minimum(x1, x2):
    """Elementwise minimum; where the two are equal the gradient goes to ``x1``."""
    a, b = _pair(x1, x2, "minimum")
    return where(a.data <= b.data, a, b)


def _compare(fn, name):
    def compare(x1, x2):
        a, b = _pair(x1, x2, name)
        return Tensor._wrap(fn(a.data, b.data))
    compare.__name__ = name
    compare.__doc__ = f"``{name}(x1, x2)``: elementwise, a boolean Tensor (numpy broadcasting)."
    return compare


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
