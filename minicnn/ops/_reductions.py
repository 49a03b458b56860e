"""Reductions and scans beyond sum/mean/max: ``prod``, ``cumsum``, ``cumprod``, ``logsumexp``,
``var``, ``std``, and the index/boolean ones (``argmax``, ``argmin``, ``all``, ``any``)."""

import numpy as np

from minicnn.autograd import Function, Tensor
from minicnn.ops._arithmetic import mean, sqrt, square, subtract
from minicnn.ops._dtypes import as_float
from minicnn.ops._elementary import expand_reduced, normalize_axes
from minicnn.ops._shape import take_along_axis
from minicnn.ops._util import as_tensor, norm_axis

__all__ = ["prod", "cumsum", "cumprod", "logsumexp", "var", "std", "argmax", "argmin", "all",
           "any", "count_nonzero", "top_k", "in_top_k", "ProdFunction", "CumsumFunction", "CumprodFunction",
           "LogSumExpFunction"]


def _to_last(x, axes):
    """x with ``axes`` moved last and flattened into one: (rest..., n), and the undo."""
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))

    def undo(a):
        return np.transpose(a.reshape(moved.shape), np.argsort(rest + list(axes)))

    return flat, undo


class ProdFunction(Function):
    """Product over ``axis``.  d/dx_i is the product of the other elements, computed as the
    exclusive products from the left times those from the right: exact with zeros present."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axis, ctx.keepdims = normalize_axes(axis, x.ndim), keepdims
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=ctx.axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes = ctx.axis if ctx.axis is not None else tuple(range(x.ndim))
        flat, undo = _to_last(x, axes)
        ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        return undo(left * right) * expand_reduced(g, x.shape, ctx.axis, ctx.keepdims)


def _scan_axis(x, axis):
    """(array, axis) for a scan: axis None scans the flattened array, as NumPy does."""
    if axis is None:
        return x.reshape(-1), 0
    return x, normalize_axes(axis, x.ndim)[0]


class CumsumFunction(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.shape = x.shape
        x, ctx.axis = _scan_axis(x, axis)
        return np.cumsum(x, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        # Each x_i feeds every output from i on: a reversed cumulative sum of g.
        rev = np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis)
        return rev.reshape(ctx.shape)


class CumprodFunction(Function):
    """Backward ``reversed_cumsum(g * y) / x`` (TensorFlow's formula: not finite where x is 0)."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.shape = x.shape
        x, ctx.axis = _scan_axis(x, axis)
        y = np.cumprod(x, axis=ctx.axis)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        rev = np.flip(np.cumsum(np.flip(g * y, ctx.axis), axis=ctx.axis), ctx.axis)
        return (rev / x).reshape(ctx.shape)


class LogSumExpFunction(Function):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum; backward ``g * softmax(x)``."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axis, ctx.keepdims = normalize_axes(axis, x.ndim), keepdims
        m = np.max(x, axis=ctx.axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf along an axis: log(0) = -inf, no NaN
        y = np.log(np.sum(np.exp(x - m), axis=ctx.axis, keepdims=True)) + m
        ctx.save_for_backward(x, y)
        return y if keepdims else np.squeeze(y, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return np.exp(x - y) * expand_reduced(g, x.shape, ctx.axis, ctx.keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis`` (small integers and booleans multiply in int32, as in Keras)."""
    x = as_tensor(x)
    if dtype is None and x.dtype.kind in "biu" and x.dtype.itemsize < 4:
        dtype = np.int32 if x.dtype.kind != "u" else np.uint32
    if dtype is not None:
        x = x.astype(dtype)
    return ProdFunction.apply(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (over the flattened tensor when axis is None)."""
    x = as_tensor(x)
    x = x.astype(dtype) if dtype is not None else x.astype(np.int32) if x.dtype == bool else x
    return CumsumFunction.apply(x, axis=axis)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (over the flattened tensor when axis is None)."""
    x = as_tensor(x)
    x = x.astype(dtype) if dtype is not None else x.astype(np.int32) if x.dtype == bool else x
    return CumprodFunction.apply(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed without overflow.

    >>> import minicnn
    >>> float(minicnn.ops.logsumexp([1000.0, 1000.0]))
    1000.6931762695312
    """
    return LogSumExpFunction.apply(as_float(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """The (biased) variance over ``axis``."""
    x = as_float(x)
    return mean(square(subtract(x, mean(x, axis=axis, keepdims=True))), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """The (biased) standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _index(fn, x, axis, keepdims):
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError(f"{fn.__name__}: the input is empty (shape {x.shape})")
    if axis is not None:
        axis = norm_axis(axis, x.ndim, f"{fn.__name__}: axis")
    return Tensor._wrap(np.asarray(fn(x.data, axis=axis, keepdims=keepdims)).astype(np.int32))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along ``axis`` (of the flattened tensor when None), int32."""
    return _index(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along ``axis`` (of the flattened tensor when None), int32."""
    return _index(np.argmin, x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every element along ``axis`` is true (non-zero)."""
    return Tensor._wrap(np.asarray(np.all(as_tensor(x).data, axis=axis, keepdims=keepdims)))


def any(x, axis=None, keepdims=False):
    """Whether some element along ``axis`` is true (non-zero)."""
    return Tensor._wrap(np.asarray(np.any(as_tensor(x).data, axis=axis, keepdims=keepdims)))


def count_nonzero(x, axis=None):
    """The number of non-zero elements along ``axis``, int32."""
    n = np.count_nonzero(as_tensor(x).data, axis=axis)
    return Tensor._wrap(np.asarray(n, dtype=np.int32))


def top_k(x, k, sorted=True, is_stable=True):
    """(values, indices) of the ``k`` largest entries along the last axis, largest first
    (``sorted=False`` keeps them in their original order); the values are differentiable.
    Ties always keep the lower index first, which ``is_stable=False`` allows too.

    >>> import minicnn
    >>> values, indices = minicnn.ops.top_k([1.0, 3.0, 2.0], 2)
    >>> values.numpy(), indices.numpy()
    (array([3., 2.], dtype=float32), array([1, 2], dtype=int32))
    """
    x = as_tensor(x)
    k = int(k)
    if x.ndim < 1 or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} must be in [0, {x.shape[-1] if x.ndim else 0}] for shape {x.shape}")
    order = np.argsort(-x.data, axis=-1, kind="stable")[..., :k]  # ties: the lower index first
    if not sorted:
        order = np.sort(order, axis=-1)
    indices = order.astype(np.int32)
    return take_along_axis(x, indices, axis=-1), Tensor._wrap(indices)


def in_top_k(targets, predictions, k):
    """Whether each target label is among the ``k`` largest predictions of its row (ties with
    the k-th value count as in)."""
    p = np.asarray(as_tensor(predictions).data)
    t = np.asarray(as_tensor(targets).data).astype(np.int64)
    if p.ndim != 2 or t.shape != p.shape[:1]:
        raise ValueError(f"in_top_k: predictions must be (batch, classes) and targets (batch,), got "
                         f"{p.shape} and {t.shape}")
    target_scores = np.take_along_axis(p, t[:, None], axis=1)
    better = (p > target_scores).sum(axis=1)
    return Tensor._wrap(better < int(k))
