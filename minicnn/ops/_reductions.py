"""Reductions of ``keras.ops`` beyond sum/mean/max: ``min``, ``prod``, ``cumsum`` and the
vector/Frobenius ``norm``, all differentiable."""

import numpy as np

from minicnn.autograd import Function, Tensor
from minicnn.ops._arithmetic import abs as _abs
from minicnn.ops._arithmetic import max as _max
from minicnn.ops._arithmetic import negative, power, sqrt, sum as _sum
from minicnn.ops._elementary import _expand_reduced, _norm_axis
from minicnn.ops._util import as_tensor, norm_axis

__all__ = ["min", "prod", "cumsum", "norm", "ProdFunction", "CumsumFunction"]


def min(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    """The smallest element along ``axis`` (ties share the gradient, as ``max``)."""
    return negative(_max(negative(as_tensor(x)), axis=axis, keepdims=keepdims))


class ProdFunction(Function):
    """Product over axes.  Backward: the product of all the other elements, computed from
    exclusive cumulative products from both ends, so zeros in ``x`` are handled exactly."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axis = _norm_axis(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=ctx.axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes = tuple(range(x.ndim)) if ctx.axis is None else ctx.axis
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, kept + list(axes))
        flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
        ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape)
        others = np.transpose(others, np.argsort(kept + list(axes)))
        return others * _expand_reduced(g, x.shape, ctx.axis, ctx.keepdims)


class CumsumFunction(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.shape, ctx.axis = x.shape, axis
        return np.cumsum(x if axis is not None else x.reshape(-1), axis=axis or 0)

    @staticmethod
    def backward(ctx, g):
        axis = ctx.axis or 0
        reverse = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
        return reverse.reshape(ctx.shape), None


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product of the elements along ``axis`` (all of them when None)."""
    x = as_tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    return ProdFunction.apply(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """Running sums along ``axis`` (of the flattened ``x`` when None), as ``numpy.cumsum``."""
    x = as_tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    if axis is not None:
        axis = norm_axis(axis, x.ndim, "cumsum: axis")
    return CumsumFunction.apply(x, axis)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras' argument name
    """``numpy.linalg.norm``: the 2-norm of the flattened ``x`` or the Frobenius norm (``ord``
    None, "fro"), and vector norms along one axis (``ord`` 1, 2, inf, -inf, 0 or any p).
    Matrix norms other than Frobenius (spectral, nuclear, 1, inf over two axes) are refused."""
    x = as_tensor(x)
    axes = None if axis is None else ((axis,) if np.isscalar(axis) else tuple(axis))
    if ord is None or ord in ("fro", "euclidean"):
        return sqrt(_sum(x * x, axis=axes, keepdims=keepdims))
    vector = (axes is not None and len(axes) == 1) or (axes is None and x.ndim == 1)
    if not vector or isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} over axis={axis} of a {x.ndim}-D tensor is not "
                         "supported (matrix norms: only 'fro')")
    if ord == np.inf:
        return _max(_abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return min(_abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:
        nonzero = Tensor._wrap((x.data != 0).astype(x.dtype))
        return _sum(nonzero, axis=axes, keepdims=keepdims)
    p = float(ord)
    return power(_sum(power(_abs(x), p), axis=axes, keepdims=keepdims), 1.0 / p)
