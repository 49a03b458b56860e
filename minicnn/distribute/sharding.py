"""How ``fit``/``evaluate``/``predict`` split their data over the ranks (called by the loops in
``minicnn.models.epoch_loops`` at their one sharding point; nothing here runs with one rank).

Arrays: the data adapter cuts *global* batches of ``batch_size * size()`` samples in one order
that every rank shares (rank 0's shuffle is broadcast each pass, so ranks whose generators
drifted apart still agree) and each rank takes a contiguous slice of every global batch, so
N ranks x batch b see exactly the batches of 1 process x batch N*b.  Every rank runs the same
number of training steps:

- a global batch of m >= N samples is split into slices of m*r//N .. m*(r+1)//N; the slices
  differ by at most one sample, and each rank's gradient is weighted by its share
  (``gradient_scale``: c_r * N / m, exactly 1 for equal slices) so the average is the
  gradient of the whole batch -- exact for losses that are a mean over the batch (Keras'
  default reduction) plus penalties;
- a last global batch of m < N samples gives rank r the sample r % m, weighted so that each
  sample counts once in the gradient (its training metrics then count such a sample more than
  once: only this last batch, only when it holds fewer samples than there are ranks).

``evaluate`` and ``predict`` need no collective per step: a rank with an empty slice skips the
batch; the loops then sum the metric states (``state.reduce_metric_states``) or gather the
outputs in the data's order on every rank (``gather_outputs``).

Other inputs -- a PyDataset, a generator, any iterable -- are per rank: each rank trains on what
its process was given (build it from ``rank()``), and ``fit`` checks that every rank has the
same number of batches per epoch (or that ``steps_per_epoch`` is set).
"""

import warnings

import numpy as np

from minicnn.distribute._runtime import active_group
from minicnn.utils.data_adapters import ArrayDataAdapter, DataAdapter

__all__ = ["gradient_scale", "global_batch_size", "shard", "gather_outputs", "ShardedArrays"]

_scale = 1.0


def gradient_scale():
    """The weight of this rank's gradient in the current ``fit`` step (1.0 outside ``fit``)."""
    return _scale


def global_batch_size(batch_size):
    """What the data adapter cuts: ``batch_size`` per rank times the number of ranks."""
    g = active_group()
    return batch_size if g is None else batch_size * g.size


def shard(adapter, what, steps=None, model=None):
    """This rank's view of ``adapter`` for the loop ``what`` ("fit", "fit: validation_data",
    "evaluate", "predict") of ``model``; ``adapter`` itself with one rank."""
    g = active_group()
    if g is None:
        return adapter
    if what == "fit" and not hasattr(getattr(model, "optimizer", None), "_gradient_reducer"):
        warnings.warn(f"fit on {g.size} ranks with an optimizer that does not average the gradients: "
                      "each rank will train on its own data and the weights drift apart; compile "
                      "with minicnn.distribute.DistributedOptimizer(optimizer)", stacklevel=4)
    if isinstance(adapter, ArrayDataAdapter):
        training = what == "fit"
        if not training and adapter.num_samples < g.size:
            raise ValueError(f"{what}: {adapter.num_samples} samples cannot be shared by {g.size} "
                             f"ranks; pass at least {g.size} samples")
        return ShardedArrays(adapter, g, training)
    counts = g.allgather_object(adapter.num_batches)
    if what == "fit" and steps is None and (None in counts or len(set(counts)) > 1):
        raise ValueError(
            f"fit: with {g.size} ranks every rank must run the same number of steps, but the ranks' "
            f"{type(adapter).__name__} data have {counts} batches per epoch; give each rank data of "
            "the same length, or pass steps_per_epoch")
    return adapter


class ShardedArrays(DataAdapter):
    """This rank's slices of the global batches of an ``ArrayDataAdapter`` (module docstring)."""

    def __init__(self, inner, group, training):
        self.inner, self.group, self.training = inner, group, training
        n, size = inner.num_samples, inner.batch_size
        last = n - (inner.num_batches - 1) * size if n else 0
        skips_last = not training and last <= group.rank
        self.num_batches = inner.num_batches - (1 if skips_last else 0)
        self.batch_indices = []  # the global batch of each batch given in the current pass

    def _slice(self, m):
        """(first, stop, gradient weight) of this rank's part of a global batch of ``m``, or
        None when it has no part (evaluate/predict)."""
        r, n_ranks = self.group.rank, self.group.size
        if m >= n_ranks:
            first, stop = m * r // n_ranks, m * (r + 1) // n_ranks
            return first, stop, (stop - first) * n_ranks / m
        if not self.training:
            return (r, r + 1, 1.0) if r < m else None
        sample = r % m
        holders = n_ranks // m + (1 if sample < n_ranks % m else 0)
        return sample, sample + 1, n_ranks / (m * holders)

    def get_iterator(self):
        global _scale
        inner = self.inner
        order = inner.pass_order()
        if order is not None:
            order = self.group.broadcast_(np.ascontiguousarray(order, dtype=np.int64), 0)
        self.batch_indices = []
        try:
            for j, start in enumerate(range(0, inner.num_samples, inner.batch_size)):
                index = inner.batch_indices(order, start)
                m = (index.stop - index.start) if isinstance(index, slice) else len(index)
                part = self._slice(m)
                if part is None:
                    continue
                first, stop, weight = part
                local = (slice(index.start + first, index.start + stop) if isinstance(index, slice)
                         else index[first:stop])
                self.batch_indices.append(j)
                _scale = weight if self.training else 1.0
                yield inner.batch_at(local)
        finally:
            _scale = 1.0

    def on_epoch_begin(self):
        self.inner.on_epoch_begin()

    def on_epoch_end(self):
        self.inner.on_epoch_end()

    def close(self):
        self.inner.close()


def gather_outputs(adapter, outputs):
    """``predict``'s per-batch outputs of every rank, in the data's order, on every rank (each
    rank's own outputs when its data was not sharded)."""
    g = active_group()
    if g is None or not isinstance(adapter, ShardedArrays):
        return outputs
    pieces = g.allgather_object(list(zip(adapter.batch_indices, outputs)))
    ordered = sorted((j, r, out) for r, mine in enumerate(pieces) for j, out in mine)
    return [out for _, _, out in ordered]
