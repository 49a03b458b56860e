"""Work done by rank 0 alone for the whole group: writing checkpoints and reading them back.

``on_root(fn)`` runs ``fn`` on rank 0 and hands its result -- or its exception -- to every rank,
which doubles as the barrier after a write: no rank goes on before the file is complete, and no
rank waits for ever when rank 0 failed.  Saving is collective (every rank calls ``model.save``,
as every rank runs the callbacks that save): a save that only rank 0 reaches is detected by a
rendezvous with a time limit (``MINICNN_DISTRIBUTE_TIMEOUT`` seconds, default 300) and raised
as an error instead of a hang.
"""

import os
import time

from minicnn.distribute._runtime import active_group
from minicnn.distribute.state import average_moving_statistics, broadcast_variables

__all__ = ["on_root", "write_on_root", "load_on_root"]


class _Failure:
    def __init__(self, exc):
        self.text = f"{type(exc).__name__}: {exc}"


def _rendezvous(g, what):
    limit = float(os.environ.get("MINICNN_DISTRIBUTE_TIMEOUT", "300"))
    request = g.comm.Ibarrier()
    deadline = time.monotonic() + limit
    while not request.Test():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what}: rank {g.rank} waited {limit:g} s for the other ranks. Under "
                "minicnn.distribute saving is collective: call it on every rank (rank 0 writes the "
                "file), not inside `if rank() == 0:`")
        time.sleep(0.001)


def on_root(fn, what="minicnn.distribute"):
    """``fn()`` run on rank 0, its result returned on every rank (``fn()`` itself with one
    rank); an exception raised by ``fn`` on rank 0 is raised on every rank."""
    g = active_group()
    if g is None:
        return fn()
    result, error = None, None
    if g.rank == 0:
        try:
            result = fn()
        except Exception as exc:  # re-raised below, after the others have heard of it
            error = exc
    shared = g.broadcast_object(_Failure(error) if error is not None else result, 0)
    if error is not None:
        raise error
    if isinstance(shared, _Failure):
        raise RuntimeError(f"{what}: rank 0 failed: {shared.text}")
    return shared


def write_on_root(model, write, what):
    """Average the moving statistics of ``model`` over the ranks, then let rank 0 ``write()``."""
    g = active_group()
    if g is None:
        return write()
    _rendezvous(g, what)
    average_moving_statistics(model)
    return on_root(write, what)


def load_on_root(model, load, what):
    """Rank 0 runs ``load()`` (which fills ``model``'s weights), then every rank gets them."""
    result = on_root(load, what)
    broadcast_variables(model.weights, 0)
    return result
