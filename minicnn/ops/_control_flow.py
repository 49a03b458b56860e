"""Keras' control flow (``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``, ``map``)
and ``slice``: minicnn runs eagerly, so these are Python loops and branches over ops, and the
gradient flows through whatever ops the taken path runs."""

import builtins

import numpy as np

from minicnn.ops._arithmetic import stack
from minicnn.ops._elementary import GetItem
from minicnn.ops._util import as_tensor

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "slice"]


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    return true_fn() if bool(np.asarray(as_tensor(pred).data)) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clamped into range as in Keras."""
    i = int(np.asarray(as_tensor(index).data))
    return branches[min(max(i, 0), len(branches) - 1)](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Apply ``body`` to ``loop_vars`` while ``cond(*loop_vars)`` holds (at most
    ``maximum_iterations`` times); a single tensor or a tuple/list, as given."""
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while (maximum_iterations is None or n < maximum_iterations) and bool(
            np.asarray(as_tensor(cond(*state)).data)):
        out = body(*state)
        state = (out,) if single else tuple(out)
        n += 1
    return state[0] if single else type(loop_vars)(state)


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in [lower, upper)."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns (carry, stacked ys)."""
    if xs is None and length is None:
        raise ValueError("scan: give xs or length")
    n = len(as_tensor(xs)) if xs is not None else int(length)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, as_tensor(xs)[i] if xs is not None else None)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (stack(ys) if ys and ys[0] is not None else None)


def map(f, xs):
    """``f`` on each slice of ``xs`` along the first axis, results stacked."""
    xs = as_tensor(xs)
    return stack([f(xs[i]) for i in range(len(xs))])


def slice(inputs, start_indices, shape):
    """The block of ``shape`` starting at ``start_indices`` (differentiable)."""
    x = as_tensor(inputs)
    starts = [int(s) for s in np.asarray(as_tensor(start_indices).data).reshape(-1)]
    sizes = [int(s) for s in shape]
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(f"slice: start_indices and shape need {x.ndim} entries, got {starts} and {sizes}")
    if any(s < 0 or s + n > d for s, n, d in zip(starts, sizes, x.shape)):
        raise ValueError(f"slice: the block at {starts} of shape {tuple(sizes)} leaves shape {x.shape}")
    index = tuple(builtins.slice(s, s + n) for s, n in zip(starts, sizes))
    return GetItem.apply(x, index=index)

