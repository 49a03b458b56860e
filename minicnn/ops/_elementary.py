"""The elementary Functions behind Tensor's operators and methods.

Tensor (in :mod:`minicnn.autograd`) writes its operators in terms of these classes; this module
binds itself to it at import (see ``minicnn.autograd.tensor.bind_elementary``).
"""

import sys

import numpy as np

from minicnn import linalg as _linalg
from minicnn.autograd import Function, sum_to_shape
from minicnn.autograd import tensor as _tensor

__all__ = [
    "matmul2d", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "MatMul", "Exp", "Log", "Sqrt", "Abs", "Clip",
    "Sum", "Mean", "Max", "Min", "Reshape", "Transpose", "GetItem", "Cast", "Concatenate", "Stack",
]


# Products with fewer multiply-adds than this go to numpy's ``@`` (lowest fixed cost, and
# OpenBLAS does not thread them); larger ones to minicnn's GEMM, which runs on the same OpenMP
# pool as the conv kernels.  Measured on the 2-core dev machine (benchmarks/bench_autograd.py,
# "GEMMs of this layer"): with 2 threads OpenBLAS's own thread pool, competing with that pool,
# was 2-20x slower than minicnn's GEMM on Dense-sized products (64x1600x128 after a conv:
# 95 ms vs 4.6 ms).  The choice depends on the shapes only, never on the thread count: with
# one thread OpenBLAS was 1.1-1.4x faster on these products, but switching libraries with the
# thread count changed the last bits of every Dense layer, and training must give the same
# numbers on any number of threads.
GEMM_MIN_MACS = 1 << 18


def matmul2d(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for 2-D a, b of one float dtype."""
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    n = b.shape[0] if trans_b else b.shape[1]
    if m * n * k < GEMM_MIN_MACS or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return (a.T if trans_a else a) @ (b.T if trans_b else b)
    return _linalg.gemm(a, b, trans_a=trans_a, trans_b=trans_b)


def _shape_dtype(x):
    # Python scalars have no shape/dtype; their gradient is never requested.
    return (x.shape, x.dtype) if isinstance(x, np.ndarray) else (None, None)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a = _shape_dtype(a)
        ctx.b = _shape_dtype(b)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        ga = sum_to_shape(g, *ctx.a) if na else None
        gb = sum_to_shape(g, *ctx.b) if nb else None
        return ga, gb


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a = _shape_dtype(a)
        ctx.b = _shape_dtype(b)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        ga = sum_to_shape(g, *ctx.a) if na else None
        gb = sum_to_shape(np.negative(g), *ctx.b) if nb else None
        return ga, gb


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = sum_to_shape(g * b, a.shape, a.dtype) if na else None
        gb = sum_to_shape(g * a, b.shape, b.dtype) if nb else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = sum_to_shape(g / b, a.shape, a.dtype) if na else None
        gb = sum_to_shape(-g * a / (b * b), b.shape, b.dtype) if nb else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return np.negative(g)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = sum_to_shape(g * b * np.power(a, b - 1), a.shape, a.dtype)
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                # d(a**b)/db = a**b * log(a); 0 where a == 0 (the limit for b > 0).
                logs = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = sum_to_shape(g * y * logs, b.shape, b.dtype)
        return ga, gb


class MatMul(Function):
    """numpy ``@`` semantics: 1-D operands, stacks of matrices and broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind == "f":
            return matmul2d(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype == g.dtype and a.dtype.kind == "f":
            g = g if g.flags.c_contiguous else np.ascontiguousarray(g)
            return (matmul2d(g, b, trans_b=True) if na else None,
                    matmul2d(a, g, trans_a=True) if nb else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g  # restore the axes numpy @ dropped for 1-D operands (the vector's last)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if na:
            ga = sum_to_shape(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape, a.dtype).reshape(a.shape)
        if nb:
            gb = sum_to_shape(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape, b.dtype).reshape(b.shape)
        return ga, gb


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved_tensors[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.saved_tensors[0])


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * np.sign(ctx.saved_tensors[0])


class Clip(Function):
    """Gradient passes where ``lo <= x <= hi`` (either bound may be None)."""

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("clip: at least one of lo and hi must be given")
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            keep &= x >= ctx.lo
        if ctx.hi is not None:
            keep &= x <= ctx.hi
        return g * keep


def expand_reduced(g, shape, axis, keepdims):
    """Broadcast the gradient of a reduction back over the reduced axes (a view, no copy)."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    elif axis is None and not keepdims:
        g = np.reshape(g, (1,) * len(shape))
    return np.broadcast_to(g, shape)


def normalize_axes(axis, ndim):
    if axis is None:
        return None
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    try:
        return tuple(sorted(int(a) % ndim if -ndim <= int(a) < ndim else _bad_axis(a, ndim) for a in axes))
    except TypeError:
        raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}") from None


def _bad_axis(a, ndim):
    raise ValueError(f"axis {a} is out of bounds for a tensor of {ndim} dimensions")


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape = x.shape
        ctx.axis = normalize_axes(axis, x.ndim)
        ctx.keepdims = keepdims
        return np.asarray(np.sum(x, axis=ctx.axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return expand_reduced(g, ctx.shape, ctx.axis, ctx.keepdims)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape = x.shape
        ctx.axis = normalize_axes(axis, x.ndim)
        ctx.keepdims = keepdims
        y = np.asarray(np.mean(x, axis=ctx.axis, keepdims=keepdims))
        ctx.count = max(x.size // max(y.size, 1), 1)
        return y

    @staticmethod
    def backward(ctx, g):
        return expand_reduced(g / ctx.count, ctx.shape, ctx.axis, ctx.keepdims)


class Max(Function):
    """Ties share the gradient equally (so the gradient is the same whichever copy wins)."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        ctx.axis = normalize_axes(axis, x.ndim)
        ctx.keepdims = keepdims
        y = np.asarray(cls.reduce(x, axis=ctx.axis, keepdims=keepdims))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        yk = expand_reduced(y, x.shape, ctx.axis, ctx.keepdims)
        mask = (x == yk).astype(x.dtype)
        count = mask.sum(axis=ctx.axis, keepdims=True)
        return mask * (expand_reduced(g, x.shape, ctx.axis, ctx.keepdims) / count)


class Min(Max):
    """Ties share the gradient equally, as for Max."""

    reduce = staticmethod(np.min)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return np.reshape(x, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            axes = tuple(range(x.ndim - 1, -1, -1))
        ctx.inverse = tuple(np.argsort(axes))
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, ctx.inverse)


def _is_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) for i in items)


class GetItem(Function):
    """Basic and integer-array indexing; repeated indices accumulate their gradients."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_advanced(ctx.index):
            np.add.at(gx, ctx.index, g)
        else:
            gx[ctx.index] = g
        return gx


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *xs, axis=-1):
        ctx.axis = axis
        ctx.meta = [(x.shape, x.dtype) for x in xs]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        sizes = np.cumsum([s[ctx.axis] for s, _ in ctx.meta])[:-1]
        parts = np.split(g, sizes, axis=ctx.axis)
        return tuple(p.astype(dt, copy=False) if need else None
                     for p, (_, dt), need in zip(parts, ctx.meta, ctx.needs_input_grad))


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        ctx.dtypes = [x.dtype for x in xs]
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.take(g, i, axis=ctx.axis).astype(dt, copy=False) if need else None
                     for i, (dt, need) in enumerate(zip(ctx.dtypes, ctx.needs_input_grad)))


_tensor.bind_elementary(sys.modules[__name__])
