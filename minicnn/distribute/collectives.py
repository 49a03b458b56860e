"""Horovod's collectives on NumPy values: ``allreduce``, ``allgather``, ``broadcast``, their
``*_object`` forms for picklable Python objects, and ``barrier``.

Every rank must call the same collectives in the same order.  Values are numbers, NumPy arrays or
minicnn Tensors; results are new NumPy arrays (a Python float for a Python number), the input is
never modified.  With one rank each collective returns (a copy of) its input.
"""

import numpy as np

from minicnn.distribute._runtime import as_array, group

__all__ = ["Average", "Sum", "Min", "Max", "Product", "allreduce", "allgather", "broadcast",
           "allgather_object", "broadcast_object", "barrier"]

# Reduction operations (Horovod's hvd.Average, hvd.Sum, ...).
Average, Sum, Min, Max, Product = "average", "sum", "min", "max", "prod"
_OPS = (Average, Sum, Min, Max, Product)


def _result_like(value, array):
    return float(array) if isinstance(value, (int, float)) and not isinstance(value, bool) else array


def allreduce(value, op=Average, name=None):
    """``value`` reduced over all ranks with ``op`` (default: the average).

    >>> # grad_norm = dist.allreduce(local_norm ** 2, op=dist.Sum) ** 0.5
    """
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    g = group()
    array = as_array(value, "allreduce")
    if op == Average and array.dtype.kind != "f":
        array = array.astype(np.float64)
    g.allreduce_(array, Sum if op == Average else op)
    if op == Average:
        array /= g.size
    return _result_like(value, array)


def allgather(value, name=None):
    """The ranks' arrays concatenated along the first axis, in rank order (their first
    dimensions may differ, the other dimensions and the dtype must agree)."""
    g = group()
    array = as_array(value, "allgather")
    if array.ndim == 0:
        array = array.reshape(1)
    parts = g.allgather_object(array)
    shapes = {(p.shape[1:], p.dtype.str) for p in parts}
    if len(shapes) > 1:
        raise ValueError(f"allgather: the ranks' arrays differ beyond the first axis or in dtype: "
                         f"{[(p.shape, str(p.dtype)) for p in parts]}")
    return np.concatenate(parts, axis=0)


def broadcast(value, root_rank=0, name=None):
    """Rank ``root_rank``'s ``value`` on every rank (shapes and dtypes must agree)."""
    g = group()
    _check_root(root_rank, g.size, "broadcast")
    array = as_array(value, "broadcast")
    root_spec = g.broadcast_object((array.shape, array.dtype.str), root_rank)
    if root_spec != (array.shape, array.dtype.str):
        raise ValueError(f"broadcast: rank {g.rank} has shape {array.shape} dtype {array.dtype}, "
                         f"root rank {root_rank} has shape {root_spec[0]} dtype {np.dtype(root_spec[1])}")
    return _result_like(value, g.broadcast_(array, root_rank))


def broadcast_object(obj, root_rank=0, name=None):
    """Rank ``root_rank``'s picklable ``obj`` on every rank."""
    g = group()
    _check_root(root_rank, g.size, "broadcast_object")
    return g.broadcast_object(obj, root_rank)


def allgather_object(obj, name=None):
    """The list of every rank's picklable ``obj``, in rank order."""
    return group().allgather_object(obj)


def barrier():
    """Wait until every rank has reached this call."""
    group().barrier()


def _check_root(root_rank, world, what):
    if isinstance(root_rank, bool) or not isinstance(root_rank, (int, np.integer)) \
            or not 0 <= root_rank < world:
        raise ValueError(f"{what}: root_rank must be an int in [0, {world}), got {root_rank!r}")
