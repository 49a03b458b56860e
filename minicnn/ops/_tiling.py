"""Shape ops of ``keras.ops`` beyond reshape/transpose: ``squeeze``, ``split`` (views through
reshape and slicing) and ``tile``, ``repeat`` (Functions whose gradients sum the copies)."""

import numpy as np

from minicnn.autograd import Function
from minicnn.ops._arithmetic import reshape
from minicnn.ops._util import as_tensor, norm_axis

__all__ = ["squeeze", "split", "tile", "repeat", "TileFunction", "RepeatFunction"]


def squeeze(x, axis=None):
    """``x`` without its axes of size 1 (only ``axis``, an int or tuple, when given)."""
    x = as_tensor(x)
    axes = range(x.ndim) if axis is None else (axis,) if np.isscalar(axis) else axis
    axes = {norm_axis(a, x.ndim, "squeeze: axis") for a in axes}
    if axis is not None and any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} does not have size 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if not (i in axes and d == 1)))


def split(x, indices_or_sections, axis=0):
    """``x`` cut along ``axis`` into equal sections (an int) or at the given indices, as
    ``numpy.split``: a list of Tensors."""
    x = as_tensor(x)
    axis = norm_axis(axis, x.ndim, "split: axis")
    size = x.shape[axis]
    if np.isscalar(indices_or_sections):
        sections = int(indices_or_sections)
        if sections < 1 or size % sections:
            raise ValueError(f"split: {sections} sections do not divide axis {axis} of shape {x.shape}")
        bounds = list(range(0, size + 1, size // sections)) if size else [0] * (sections + 1)
    else:
        bounds = [0] + [min(int(i), size) for i in indices_or_sections] + [size]
    index = [slice(None)] * x.ndim
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(start, max(start, stop))
        pieces.append(x[tuple(index)])
    return pieces


class TileFunction(Function):
    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape = x.shape
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        # g's shape is (r0 * s0, r1 * s1, ...) after left-padding the input shape with ones
        shape = (1,) * (g.ndim - len(ctx.shape)) + ctx.shape
        split_shape = [n for r, s in zip((gd // s for gd, s in zip(g.shape, shape)), shape)
                       for n in (r, s)]
        summed = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * g.ndim, 2)))
        return summed.reshape(ctx.shape), None


class RepeatFunction(Function):
    @staticmethod
    def forward(ctx, x, repeats, axis):
        ctx.shape, ctx.repeats, ctx.axis = x.shape, repeats, axis
        return np.repeat(x, repeats, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis = ctx.axis
        if axis is None:
            flat_len = int(np.prod(ctx.shape))
            counts = np.broadcast_to(ctx.repeats, (flat_len,))
            return _sum_runs(g, counts, 0).reshape(ctx.shape), None, None
        counts = np.broadcast_to(ctx.repeats, (ctx.shape[axis],))
        return _sum_runs(g, counts, axis), None, None


def _sum_runs(g, counts, axis):
    """Sum consecutive runs of ``counts[i]`` entries along ``axis`` (empty runs give zeros)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    out_shape = list(g.shape)
    out_shape[axis] = len(counts)
    out = np.zeros(out_shape, g.dtype)
    nonempty = counts > 0
    if nonempty.any():
        sums = np.add.reduceat(g, starts[nonempty], axis=axis)
        index = [slice(None)] * g.ndim
        index[axis] = np.nonzero(nonempty)[0]
        out[tuple(index)] = sums
    return out


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis, as ``numpy.tile``."""
    reps = (int(repeats),) if np.isscalar(repeats) else tuple(int(r) for r in repeats)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must not be negative, got {repeats!r}")
    return TileFunction.apply(as_tensor(x), reps)


def repeat(x, repeats, axis=None):
    """Each element of ``x`` repeated ``repeats`` times (an int, or one count per element along
    ``axis``), as ``numpy.repeat``; the flattened ``x`` when ``axis`` is None."""
    x = as_tensor(x)
    if axis is not None:
        axis = norm_axis(axis, x.ndim, "repeat: axis")
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
        raise ValueError(f"repeat: repeats must be a non-negative int or 1-D ints, got {repeats!r}")
    length = x.size if axis is None else x.shape[axis]
    if counts.ndim == 1 and len(counts) not in (1, length):
        raise ValueError(f"repeat: {len(counts)} repeats for {length} elements along axis {axis}")
    return RepeatFunction.apply(x, counts if counts.ndim else int(counts), axis)
