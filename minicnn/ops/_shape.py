"""Shape and layout operations: Keras' ``expand_dims``, ``squeeze``, ``split``, ``tile``,
``repeat``, ``broadcast_to``, ``flip``, ``roll``, ``pad``, ``take``, ``take_along_axis``,
``moveaxis``, ``swapaxes``, ``ravel``, ``unstack``, ``tril``/``triu``.

The ones that only re-index (expand_dims, squeeze, moveaxis, ...) are Reshape/Transpose/GetItem;
the rest are Functions whose backward sums the copies each input element made.
"""

import builtins

import numpy as np

from minicnn.autograd import Function, sum_to_shape
from minicnn.ops._elementary import GetItem, Reshape, Transpose, normalize_axes
from minicnn.ops._util import as_tensor, raw

__all__ = ["expand_dims", "squeeze", "split", "array_split", "unstack", "tile", "repeat",
           "broadcast_to", "flip", "roll", "pad", "take", "take_along_axis", "moveaxis",
           "swapaxes", "ravel", "tril", "triu", "SplitFunction", "TileFunction",
           "RepeatFunction", "BroadcastToFunction", "PadFunction", "TakeFunction",
           "TakeAlongAxisFunction"]


def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (an int or a tuple, positions in the result)."""
    x = as_tensor(x)
    return Reshape.apply(x, shape=np.expand_dims(np.empty(x.shape, np.bool_), axis).shape)


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``, which must have size 1)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim) if axis is not None else tuple(
        i for i, d in enumerate(x.shape) if d == 1)
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ValueError(f"squeeze: axis {bad} of a tensor of shape {x.shape} does not have size 1")
    return Reshape.apply(x, shape=tuple(d for i, d in enumerate(x.shape) if i not in axes))


def ravel(x):
    """The flattened tensor."""
    return Reshape.apply(as_tensor(x), shape=(-1,))


def moveaxis(x, source, destination):
    """Move axes to new positions; the others keep their order."""
    x = as_tensor(x)
    src = [int(a) % x.ndim for a in np.atleast_1d(source)]
    dst = [int(a) % x.ndim for a in np.atleast_1d(destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must be distinct "
                         "axes, as many of each")
    order = [a for a in range(x.ndim) if a not in src]
    for d, a in sorted(zip(dst, src)):
        order.insert(d, a)
    return Transpose.apply(x, axes=tuple(order))


def swapaxes(x, axis1, axis2):
    x = as_tensor(x)
    order = list(range(x.ndim))
    a, b = normalize_axes((axis1, axis2), x.ndim) if axis1 != axis2 else (axis1 % x.ndim,) * 2
    order[a], order[b] = order[b], order[a]
    return Transpose.apply(x, axes=tuple(order))


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (every axis when None)."""
    x = as_tensor(x)
    axes = range(x.ndim) if axis is None else normalize_axes(axis, x.ndim)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return GetItem.apply(x, index=tuple(index))


class SplitFunction(Function):
    """The pieces of ``np.split``; backward concatenates their gradients (zeros for pieces that
    took no part in the loss, which the engine supplies)."""

    @staticmethod
    def forward(ctx, x, *, bounds, axis):
        ctx.axis, ctx.dtype = axis, x.dtype
        return tuple(np.split(x, bounds, axis=axis))

    @staticmethod
    def backward(ctx, *grads):
        return np.concatenate(grads, axis=ctx.axis).astype(ctx.dtype, copy=False)


def _split(x, indices_or_sections, axis, even, name):
    x = as_tensor(x)
    ax = normalize_axes(axis, x.ndim)[0]
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or (even and n % k):
            raise ValueError(f"{name}: {n} elements along axis {axis} cannot be split into {k} equal "
                             f"sections (shape {x.shape})")
        bounds = np.cumsum([n // k + (i < n % k) for i in range(k)])[:-1]
    else:
        bounds = [int(i) for i in indices_or_sections]
    pieces = SplitFunction.apply(x, bounds=tuple(int(b) for b in bounds), axis=ax)
    return list(pieces) if isinstance(pieces, tuple) else [pieces]


def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices, as ``numpy.split``.

    >>> import numpy as np, minicnn
    >>> [t.shape for t in minicnn.ops.split(np.zeros((6, 2)), 3)]
    [(2, 2), (2, 2), (2, 2)]
    """
    return _split(x, indices_or_sections, axis, True, "split")


def array_split(x, indices_or_sections, axis=0):
    """As ``split``, but a section count need not divide the axis (the first ones are longer)."""
    return _split(x, indices_or_sections, axis, False, "array_split")


def unstack(x, num=None, axis=0):
    """The slices along ``axis``, as a list."""
    x = as_tensor(x)
    ax = normalize_axes(axis, x.ndim)[0]
    if num is not None and num != x.shape[ax]:
        raise ValueError(f"unstack: num={num} but axis {axis} of shape {x.shape} has {x.shape[ax]}")
    return [squeeze(p, ax) for p in split(x, x.shape[ax], axis=ax)] if x.shape[ax] else []


class TileFunction(Function):
    @staticmethod
    def forward(ctx, x, *, reps):
        ctx.shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        # The output viewed as (r0, s0, r1, s1, ...): sum over every r axis.
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        split = [d for pair in zip(ctx.reps, shape) for d in pair]
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(ctx.shape)


def tile(x, repeats):
    """Repeat the whole tensor ``repeats`` times along each axis (``numpy.tile``)."""
    x = as_tensor(x)
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must be non-negative, got {repeats}")
    reps = (1,) * (x.ndim - len(reps)) + reps
    return TileFunction.apply(x, reps=reps)


class RepeatFunction(Function):
    @staticmethod
    def forward(ctx, x, *, repeats, axis):
        ctx.shape, ctx.repeats, ctx.axis = x.shape, repeats, axis
        return np.repeat(x, repeats, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis = 0 if ctx.axis is None else ctx.axis
        g = g.reshape(-1) if ctx.axis is None else g
        counts = np.broadcast_to(ctx.repeats, (int(np.prod(ctx.shape)) if ctx.axis is None
                                               else ctx.shape[axis],))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        out = np.zeros(g.shape[:axis] + (len(counts),) + g.shape[axis + 1:], g.dtype)
        nonzero = counts > 0
        if nonzero.any():  # reduceat needs in-range starts: empty groups stay zero
            sums = np.add.reduceat(g, starts[nonzero], axis=axis)
            index = [slice(None)] * g.ndim
            index[axis] = nonzero
            out[tuple(index)] = sums
        return out.reshape(ctx.shape)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element along ``axis``);
    along the flattened tensor when axis is None."""
    x = as_tensor(x)
    ax = None if axis is None else normalize_axes(axis, x.ndim)[0]
    reps = np.asarray(raw(repeats))
    if reps.dtype.kind not in "iu":
        raise ValueError(f"repeat: repeats must be integers, got {repeats!r}")
    reps = reps.astype(np.int64)
    n = x.size if ax is None else x.shape[ax]
    if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, n)) or (reps < 0).any():
        raise ValueError(f"repeat: repeats must be a non-negative int or {n} of them, got {repeats}")
    return RepeatFunction.apply(x, repeats=reps if reps.ndim else int(reps), axis=ax)


class BroadcastToFunction(Function):
    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.meta = (x.shape, x.dtype)
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to_shape(g, *ctx.meta)


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    try:
        ok = np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastToFunction.apply(x, shape=shape)


def roll(x, shift, axis=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (the flattened tensor when None)."""
    x = as_tensor(x)
    if axis is None:
        return Reshape.apply(roll(ravel(x), shift, 0), shape=x.shape)
    shifts = np.broadcast_to(shift, np.shape(axis)) if np.ndim(axis) else [shift]
    out = x
    for s, a in zip(shifts, np.atleast_1d(axis)):
        a = normalize_axes(int(a), x.ndim)[0]
        idx = (np.arange(x.shape[a]) - int(s)) % builtins.max(x.shape[a], 1)
        out = take(out, idx, axis=a)
    return out


class PadFunction(Function):
    @staticmethod
    def forward(ctx, x, *, pad_width, mode, constant_values):
        ctx.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        ctx.dtype = x.dtype
        if mode == "constant":
            return np.pad(x, pad_width, mode="constant", constant_values=constant_values)
        return np.pad(x, pad_width, mode=mode)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.index]).astype(ctx.dtype, copy=False)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "linear_ramp", "maximum", "mean",
              "median", "minimum", "wrap", "empty")


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad with ``pad_width`` ((before, after) per axis, or one pair / int for all).  The gradient
    is defined for ``mode="constant"`` (other modes copy values into the border: no gradient)."""
    x = as_tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values is only used with mode='constant', got mode={mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, got {pad_width}")
    widths = tuple((int(a), int(b)) for a, b in widths)
    if mode != "constant":
        return as_tensor(np.pad(x.data, widths, mode=mode))
    return PadFunction.apply(x, pad_width=widths, mode=mode, constant_values=constant_values or 0)


class TakeFunction(Function):
    """``np.take`` along one axis; repeated indices accumulate their gradients."""

    gather = staticmethod(np.take)

    @classmethod
    def forward(cls, ctx, x, indices, *, axis):
        ctx.shape, ctx.dtype, ctx.indices, ctx.axis = x.shape, x.dtype, indices, axis
        return cls.gather(x, indices, axis=axis)

    @classmethod
    def backward(cls, ctx, g):
        gx = np.zeros(ctx.shape, ctx.dtype)
        np.add.at(gx, *cls.scatter(ctx, g))
        return gx, None

    @staticmethod
    def scatter(ctx, g):
        """(the index into x that each element of g came from, g shaped for it)."""
        index = [slice(None)] * len(ctx.shape)
        index[ctx.axis] = ctx.indices
        if ctx.indices.ndim > 1:  # the indices' axes replace `axis` in g: flatten them
            a = ctx.axis
            g = g.reshape(g.shape[:a] + (-1,) + g.shape[a + ctx.indices.ndim:])
            index[a] = ctx.indices.reshape(-1)
        return tuple(index), g


def _indices(indices, n, name):
    idx = np.asarray(as_tensor(indices, "indices").data)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{name}: indices must be in [{-n}, {n}), got min {idx.min()} max {idx.max()}")
    return np.where(idx < 0, idx + n, idx)


def take(x, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axes(axis, x.ndim)[0]
    return TakeFunction.apply(x, _indices(indices, x.shape[ax], "take"), axis=ax)


class TakeAlongAxisFunction(TakeFunction):
    """``np.take_along_axis``; repeated indices accumulate their gradients."""

    gather = staticmethod(np.take_along_axis)

    @staticmethod
    def scatter(ctx, g):
        index = list(np.ix_(*[np.arange(d) for d in ctx.indices.shape]))
        index[ctx.axis] = ctx.indices
        return tuple(np.broadcast_arrays(*index)), g


def take_along_axis(x, indices, axis=None):
    """Elements of ``x`` picked by ``indices`` along ``axis`` (``numpy.take_along_axis``)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axes(axis, x.ndim)[0]
    idx = _indices(indices, x.shape[ax], "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices need x's rank {x.ndim}, got shape {idx.shape}")
    shape = list(np.broadcast_shapes(tuple(1 if i == ax else d for i, d in enumerate(x.shape)),
                                     tuple(1 if i == ax else d for i, d in enumerate(idx.shape))))
    x = broadcast_to(x, tuple(shape[:ax] + [x.shape[ax]] + shape[ax + 1:]))
    idx = np.broadcast_to(idx, tuple(shape[:ax] + [idx.shape[ax]] + shape[ax + 1:]))
    return TakeAlongAxisFunction.apply(x, idx, axis=ax)


def _triangle(x, k, keep):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"tril/triu: x must be at least 2-D, got shape {x.shape}")
    mask = keep(np.ones(x.shape[-2:], dtype=bool), k)
    return x * mask.astype(x.dtype)


def tril(x, k=0):
    """Zero the elements above the k-th diagonal of the last two axes."""
    return _triangle(x, k, np.tril)


def triu(x, k=0):
    """Zero the elements below the k-th diagonal of the last two axes."""
    return _triangle(x, k, np.triu)
