"""``DistributedOptimizer``: the wrapped optimizer averages the gradients over the ranks before
every update (Horovod's ``hvd.DistributedOptimizer``).

Per step the gradients are copied into one contiguous buffer per dtype -- every trainable
weight's ``.grad`` becomes a view into it -- reduced by one in-place ``MPI_Allreduce`` and scaled,
then the wrapped optimizer updates the weights from the views.  The optimizer's own code runs
unchanged on identical gradients on every rank, so weights and optimizer state stay identical.

Overlapping the reduction with the backward pass (Horovod's tensor fusion / buckets) is not
done: measured on the reference CNN (README, "Distributed training"), the allreduce is a small
part of a step on one machine, so the most overlap could save is that part.
"""

import copy
import time

import numpy as np

from minicnn import optimizers
from minicnn.distribute._runtime import active_group
from minicnn.distribute.collectives import Average, Sum
from minicnn.distribute.sharding import gradient_scale

__all__ = ["DistributedOptimizer", "GradientReducer"]


class GradientReducer:
    """Averages (or sums) gradient lists over the ranks through one buffer per dtype.

    The buffer's tail holds, for each variable, how many ranks had a gradient for it: a weight
    no rank computed a gradient for stays None (the optimizer skips it), one some ranks lacked
    counts as zeros there.  ``seconds`` adds up the time spent inside ``MPI_Allreduce``.
    """

    def __init__(self, op=Average, gradient_predivide_factor=1.0):
        if op not in (Average, Sum):
            raise ValueError(f"DistributedOptimizer: op must be {Average!r} or {Sum!r}, got {op!r}")
        if not (isinstance(gradient_predivide_factor, (int, float))
                and gradient_predivide_factor > 0):
            raise ValueError("DistributedOptimizer: gradient_predivide_factor must be a positive "
                             f"number, got {gradient_predivide_factor!r}")
        if op == Sum and gradient_predivide_factor != 1.0:
            raise ValueError("DistributedOptimizer: gradient_predivide_factor needs op=Average")
        self.op = op
        self.predivide = float(gradient_predivide_factor)
        self.seconds = 0.0
        self.calls = 0
        self._key = None
        self._plan = None

    def _layout(self, datas):
        """[(buffer, [(position, offset, size, shape)...])] grouping the variables by dtype."""
        key = tuple((id(d), d.shape, d.dtype.str) for d in datas)
        if key != self._key:
            groups = {}
            for position, data in enumerate(datas):
                groups.setdefault(data.dtype.str, []).append((position, data))
            plan = []
            for dtype, members in groups.items():
                total = sum(d.size for _, d in members)
                buffer = np.empty(total + len(members), dtype=dtype)
                entries, offset = [], 0
                for position, data in members:
                    entries.append((position, offset, data.size, data.shape))
                    offset += data.size
                plan.append((buffer, entries))
            self._key, self._plan = key, plan
        return self._plan

    def reduce(self, grads, variables):
        """The reduced gradients (views into the buffers), also set as each variable's ``.grad``."""
        g = active_group()
        if g is None:
            return grads
        datas = [v if isinstance(v, np.ndarray) else v.data for v in variables]
        pre = gradient_scale() / self.predivide
        out = list(grads)
        for buffer, entries in self._layout(datas):
            flags = buffer[len(buffer) - len(entries):]
            for k, (position, offset, size, shape) in enumerate(entries):
                part = buffer[offset:offset + size].reshape(shape)
                grad = grads[position]
                if grad is None:
                    part[...] = 0
                    flags[k] = 0
                    continue
                np.copyto(part, getattr(grad, "data", grad) if not isinstance(grad, np.ndarray) else grad)
                flags[k] = 1
            body = buffer[:len(buffer) - len(entries)]
            if pre != 1.0:
                body *= pre
            start = time.perf_counter()
            g.allreduce_(buffer, "sum")
            self.seconds += time.perf_counter() - start
            self.calls += 1
            if self.op == Average:
                body /= g.size / self.predivide
            for k, (position, offset, size, shape) in enumerate(entries):
                view = None if flags[k] == 0 else buffer[offset:offset + size].reshape(shape)
                out[position] = view
                variable = variables[position]
                if view is not None and not isinstance(variable, np.ndarray):
                    variable.grad = view
        return out


_CLASSES = {}


class _DistributedMixin:
    """Reduces the gradients, then lets the wrapped optimizer class apply them."""

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables if self.built else None
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)
            if grads is None:
                grads = [getattr(v, "grad", None) for v in trainable_variables]
            grads = list(grads)
            if len(grads) == len(trainable_variables):
                grads = self._gradient_reducer.reduce(grads, trainable_variables)
        return super().apply(grads, trainable_variables)


def _distributed_class(base):
    # Named as the wrapped class (Horovod does the same), so a saved model's compile config
    # names Adam, not a class that only exists at run time.
    if base not in _CLASSES:
        _CLASSES[base] = type(base.__name__, (_DistributedMixin, base),
                              {"__module__": base.__module__, "__qualname__": base.__qualname__})
    return _CLASSES[base]


def DistributedOptimizer(optimizer, name=None, op=Average, gradient_predivide_factor=1.0):
    """``optimizer`` (an Optimizer or a name) made to average its gradients over the ranks.

    Args:
        optimizer: the optimizer to wrap; the returned one takes over its state, use it instead.
        name: a new name for the wrapped optimizer (default: the original's).
        op: ``Average`` (default) or ``Sum`` of the ranks' gradients.
        gradient_predivide_factor: divide the gradients by this before the sum and by
            ``size() / factor`` after it (Horovod's option against overflow in low precision).

    With one rank the gradients pass through untouched.  Inside ``fit`` each rank's gradient is
    weighted by its share of the global batch, so that a ragged last batch split unevenly over
    the ranks still gives the gradient of the whole batch (see ``minicnn.distribute.sharding``).

    >>> # opt = dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size()))
    """
    optimizer = optimizers.get(optimizer)
    if isinstance(optimizer, _DistributedMixin):
        raise ValueError("DistributedOptimizer: this optimizer is already distributed")
    reducer = GradientReducer(op, gradient_predivide_factor)
    wrapped = copy.copy(optimizer)
    wrapped.__class__ = _distributed_class(type(optimizer))
    wrapped._gradient_reducer = reducer
    if name is not None:
        wrapped.name = name
    return wrapped
