"""Elementwise selection: ``maximum``, ``minimum``, ``where`` (Keras' names and promotion)."""

import numpy as np

from minicnn.autograd import Function, sum_to_shape
from minicnn.ops._dtypes import promote
from minicnn.ops._util import as_tensor

__all__ = ["maximum", "minimum", "where", "MaximumFunction", "MinimumFunction", "WhereFunction"]


class MaximumFunction(Function):
    """Elementwise max of two same-dtype arrays; where they tie each gets half the gradient
    (the gradient is then the same whichever argument comes first)."""

    op, pick = staticmethod(np.maximum), staticmethod(np.greater)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.op(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        share = np.where(cls.pick(a, b), 1.0, np.where(a == b, 0.5, 0.0)).astype(g.dtype)
        ga = sum_to_shape(g * share, a.shape, a.dtype) if na else None
        gb = sum_to_shape(g * (1 - share), b.shape, b.dtype) if nb else None
        return ga, gb


class MinimumFunction(MaximumFunction):
    op, pick = staticmethod(np.minimum), staticmethod(np.less)


class WhereFunction(Function):
    """``x1`` where ``condition`` else ``x2``; the gradient goes to the chosen side."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.meta = (a.shape, a.dtype, b.shape, b.dtype)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        _, na, nb = ctx.needs_input_grad
        sa, da, sb, db = ctx.meta
        zero = np.zeros((), g.dtype)
        ga = sum_to_shape(np.where(ctx.condition, g, zero), sa, da) if na else None
        gb = sum_to_shape(np.where(ctx.condition, zero, g), sb, db) if nb else None
        return None, ga, gb


def maximum(x1, x2):
    """Elementwise maximum with broadcasting.

    >>> import minicnn
    >>> minicnn.ops.maximum([1.0, 5.0], 2.0)
    Tensor([2., 5.], dtype=float32)
    """
    return MaximumFunction.apply(*promote(x1, x2))


def minimum(x1, x2):
    """Elementwise minimum with broadcasting."""
    return MinimumFunction.apply(*promote(x1, x2))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` is true, else ``x2`` (broadcast together); with neither given,
    the indices of the true elements, one int Tensor per axis (``numpy.nonzero``).

    >>> import minicnn
    >>> minicnn.ops.where([True, False], [1.0, 2.0], 0.0)
    Tensor([1., 0.], dtype=float32)
    """
    cond = np.asarray(as_tensor(condition, "condition").data, dtype=bool)
    if x1 is None and x2 is None:
        return tuple(as_tensor(i.astype(np.int32)) for i in np.nonzero(cond))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, b = promote(x1, x2)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, x1 {a.shape} and x2 {b.shape} do not "
                         "broadcast together") from None
    return WhereFunction.apply(cond, a, b)
