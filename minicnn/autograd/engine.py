"""Reverse-mode sweep: iterative topological sort of the graph, then one pass from the output
back to the leaves.

Nodes are the :class:`~minicnn.autograd.function.Context` objects that ``Function.apply``
attached to its outputs; a Tensor with ``_ctx is None`` is a leaf.  The sort is an explicit-stack
depth-first search so a 10,000-op chain needs no recursion.
"""

import time

import numpy as np

from minicnn import _profiling
from minicnn import debugging as _debugging

__all__ = ["backward"]


def _toposort(root_ctx):
    """Contexts in post-order (every node after all of its inputs' nodes)."""
    order = []
    visited = {id(root_ctx)}
    stack = [(root_ctx, iter(root_ctx.parents))]
    while stack:
        node, parents = stack[-1]
        for p in parents:
            ctx = getattr(p, "_ctx", None)
            if ctx is not None and id(ctx) not in visited:
                visited.add(id(ctx))
                if ctx.freed:
                    raise RuntimeError(_freed_message(ctx))
                stack.append((ctx, iter(ctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _freed_message(ctx):
    return (
        f"backward through {ctx.fn.__name__} a second time: its saved arrays were freed after "
        "the first backward; pass retain_graph=True to the first backward() to keep them"
    )


def _accumulate_leaf(leaf, grad):
    if leaf.grad is None:
        # Own the array: the same gradient object may be handed to several inputs, and
        # optimizers or clipping may later update .grad in place.
        leaf.grad = np.array(grad, copy=True)
    else:
        np.add(leaf.grad, grad, out=leaf.grad)


def _check(grad, tensor, fn, index):
    """Raise naming the op unless ``grad`` fits ``tensor``; numpy scalars are accepted as 0-d."""
    if not isinstance(grad, np.ndarray):
        if not isinstance(grad, np.generic):
            raise RuntimeError(
                f"{fn.__name__}.backward returned a {type(grad).__name__} for input {index}; "
                "gradients must be numpy arrays"
            )
        grad = np.asarray(grad)
    if grad.shape != tensor.shape or grad.dtype != tensor.dtype:
        what = "shape" if grad.shape != tensor.shape else "dtype"
        raise RuntimeError(
            f"{fn.__name__}.backward returned a gradient of {what} "
            f"{grad.shape if what == 'shape' else grad.dtype} for input {index}, which has "
            f"{tensor.shape if what == 'shape' else tensor.dtype}"
        )
    return grad


def backward(tensor, grad=None, retain_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is the gradient flowing into ``tensor`` (defaults to 1 for a one-element tensor).
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True, or it was computed under no_grad()"
        )
    if grad is None:
        if tensor.size != 1:
            raise RuntimeError(
                f"backward() without a gradient is only defined for a one-element tensor; this "
                f"one has shape {tensor.shape}: call backward(grad) with an array of that shape, "
                "or reduce it first (e.g. .sum() or .mean())"
            )
        grad = np.ones(tensor.shape, dtype=tensor.dtype)
    else:
        if type(grad) is not np.ndarray or grad.dtype != tensor.dtype:
            grad = np.asarray(getattr(grad, "data", grad) if not isinstance(grad, np.ndarray) else grad,
                              dtype=tensor.dtype)
        if grad.shape != tensor.shape:
            raise ValueError(
                f"backward(grad): grad has shape {grad.shape} but the tensor has shape {tensor.shape}"
            )
    if _debugging._state.enabled:
        _debugging.check_root_grad(grad)
    root = tensor._ctx
    if root is None:
        _accumulate_leaf(tensor, grad)
        return
    if root.freed:
        raise RuntimeError(_freed_message(root))

    order = _toposort(root)
    recorder = _profiling.state.recorder  # minicnn.utils.profile: time each node's backward
    # Pending output gradients per node: a list with one slot per output of that node.
    pending = {id(root): [None] * root.n_outputs}
    pending[id(root)][tensor._out_index] = grad
    for ctx in reversed(order):
        slots = pending.pop(id(ctx), None)
        if slots is None:
            # Reachable only through inputs that needed no gradient.
            if not retain_graph:
                ctx.free()
            continue
        fn = ctx.fn
        if recorder is not None:
            t0 = time.perf_counter()
        if ctx.n_outputs == 1:
            in_grads = fn.backward(ctx, slots[0])
        else:
            outs = [s if s is not None else np.zeros(shape, dtype)
                    for s, (shape, dtype) in zip(slots, ctx.out_meta)]
            in_grads = fn.backward(ctx, *outs)
        if recorder is not None:
            recorder.node_backward(ctx, time.perf_counter() - t0)
        parents = ctx.parents
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) != len(parents):
            raise RuntimeError(
                f"{fn.__name__}.backward returned {len(in_grads)} gradients for "
                f"{len(parents)} inputs"
            )
        if _debugging._state.enabled:
            _debugging.after_backward(ctx, in_grads)
        for i, (p, g, need) in enumerate(zip(parents, in_grads, ctx.needs_input_grad)):
            if not need or g is None:
                continue
            d = p.data
            if type(g) is not np.ndarray or g.shape != d.shape or g.dtype != d.dtype:
                g = _check(g, p, fn, i)
            pctx = p._ctx
            if pctx is None:
                _accumulate_leaf(p, g)
                continue
            s = pending.get(id(pctx))
            if s is None:
                s = pending[id(pctx)] = [None] * pctx.n_outputs
            j = p._out_index
            s[j] = g if s[j] is None else s[j] + g
        if not retain_graph:
            ctx.free()
