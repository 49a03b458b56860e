"""Keeping the ranks' state in step: the model's weights and the optimizer's state sent from one
rank to all, BatchNormalization's moving statistics averaged, and metric states summed so that
every rank reports the metrics of the whole data set."""

import numpy as np

from minicnn.distribute._runtime import active_group
from minicnn.layers import BatchNormalization

__all__ = ["broadcast_variables", "broadcast_model_state", "average_moving_statistics",
           "reduce_metric_states"]

# Attributes in which minicnn's built-in metrics that keep Python numbers (Mean, Sum, R2Score)
# accumulate: each is a sum over the samples seen, so the whole data set's is the ranks' sum.
_ADDITIVE_ATTRIBUTES = ("total", "count", "num_samples", "_sums")


def broadcast_variables(variables, root_rank=0):
    """Overwrite every variable (Tensor, Variable or ndarray) with rank ``root_rank``'s value, in
    place (Horovod's ``broadcast_variables``)."""
    g = active_group()
    if g is None:
        return
    for var in variables:
        data = var if isinstance(var, np.ndarray) else var.data
        g.broadcast_(data, root_rank)


def broadcast_model_state(model, root_rank=0):
    """Rank ``root_rank``'s weights (trainable and not) and optimizer state -- slots and
    iteration count -- on every rank.  An optimizer that root has built is built everywhere
    first (a restored one is built on root only)."""
    g = active_group()
    if g is None:
        return
    broadcast_variables(model.weights, root_rank)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "load_variables"):
        return
    if not g.broadcast_object(bool(getattr(optimizer, "built", False)), root_rank):
        return
    optimizer._build_for(list(model.trainable_weights))
    broadcast_variables(optimizer.variables, root_rank)  # the iteration counter and the slots


def _batch_norm_layers(model):
    found, queue, seen = [], [model], set()
    for layer in queue:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        # a synchronised one has the same statistics on every rank already
        if isinstance(layer, BatchNormalization) and layer.built and not layer.synchronized:
            found.append(layer)
        queue.extend(getattr(layer, "_layers", ()))
    return found


def average_moving_statistics(model):
    """Replace every BatchNormalization layer's moving mean and variance by their average over
    the ranks (each rank saw other batches, so they drift apart during an epoch)."""
    g = active_group()
    if g is None:
        return
    for layer in _batch_norm_layers(model):
        for stat in (layer.moving_mean.data, layer.moving_variance.data):
            g.allreduce_(stat, "sum")
            stat /= g.size


def _leaf_metrics(metrics):
    for metric in metrics:
        inner = getattr(metric, "metrics", None)
        if not getattr(metric, "variables", None) and isinstance(inner, list):
            yield from _leaf_metrics(inner)
        else:
            yield metric


def _metric_state(metric):
    """[(owner, attribute or None, value)] of what ``metric`` accumulates."""
    variables = getattr(metric, "variables", None)
    if variables:
        return [(v, None, v.data) for v in variables if getattr(v, "aggregation", "sum") != "none"]
    return [(metric, name, getattr(metric, name)) for name in _ADDITIVE_ATTRIBUTES
            if name in vars(metric)]


def reduce_metric_states(metrics):
    """Combine the ranks' metric states in place, so that ``result()`` on any rank is the
    metric over every rank's samples: sums added (Keras' ``aggregation="sum"``, the default of
    ``Metric.add_variable``), ``"mean"`` variables averaged, ``"only_first_replica"`` taken from
    rank 0.  Gathered as Python objects: metric states are small, and a rank may hold None
    (an R2Score that saw no batch)."""
    g = active_group()
    if g is None:
        return
    entries = [e for m in _leaf_metrics(metrics) for e in _metric_state(m)]
    everyone = g.allgather_object([value for _, _, value in entries])
    for i, (owner, attribute, _) in enumerate(entries):
        values = [state[i] for state in everyone if state[i] is not None]
        if attribute is None and owner.aggregation == "only_first_replica":
            combined = everyone[0][i]
        elif not values:
            continue
        else:
            combined = sum(values[1:], np.array(values[0], dtype=np.float64)
                           if isinstance(values[0], np.ndarray) else values[0])
            if attribute is None and owner.aggregation == "mean":
                combined = combined / len(values)
        if attribute is None:
            owner.data[...] = combined
        else:
            setattr(owner, attribute, combined if isinstance(combined, np.ndarray) else float(combined))
