"""The process group: ``init`` and who is who, on ``mpi4py`` or as a single process.

Everything else in ``minicnn.distribute`` asks this module for the group (``group()``) and moves
NumPy arrays through it.  ``mpi4py`` is imported by ``init`` only: without it (or when the script
was not started by ``mpiexec``) the group is this one process and every collective is the
identity, so the same script runs with and without MPI.
"""

import os
import sys
import traceback

import numpy as np

from minicnn._threads import set_num_threads

__all__ = ["init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size",
           "group", "MissingExtraError"]

# Environment variables through which launchers tell a process how many ranks it is one of:
# MPICH's hydra and Intel MPI (PMI_SIZE), Open MPI (OMPI_COMM_WORLD_SIZE), Slurm's srun
# (SLURM_STEP_NUM_TASKS; SLURM_NTASKS alone is also set for a batch script that is one task).
_LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "MPI_LOCALNRANKS")

_INSTALL_HINT = 'pip install "minicnn[mpi]"  (mpi4py>=4.1 and the mpich wheel)'


class MissingExtraError(ImportError):
    """More than one rank is wanted and ``mpi4py`` (the ``minicnn[mpi]`` extra) is missing."""


class _Group:
    """The ranks training together: ``comm`` is an mpi4py communicator, or None for one process."""

    def __init__(self, comm=None, mpi=None):
        self.comm, self.mpi = comm, mpi
        if comm is None:
            self.rank, self.size, self.local_rank, self.local_size = 0, 1, 0, 1
            return
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        local = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()

    # The collectives below take C-contiguous NumPy arrays and work in place where they can.
    def allreduce_(self, array, op="sum"):
        """Reduce ``array`` over the ranks, in place (one ``MPI_Allreduce``)."""
        if self.comm is not None:
            self.comm.Allreduce(self.mpi.IN_PLACE, array, op=getattr(self.mpi, op.upper()))
        return array

    def broadcast_(self, array, root=0):
        """Overwrite ``array`` with root's, in place (one ``MPI_Bcast``)."""
        if self.comm is not None:
            self.comm.Bcast(array, root=root)
        return array

    def broadcast_object(self, obj, root=0):
        return obj if self.comm is None else self.comm.bcast(obj, root=root)

    def allgather_object(self, obj):
        return [obj] if self.comm is None else self.comm.allgather(obj)

    def barrier(self):
        if self.comm is not None:
            self.comm.Barrier()

    def abort(self, code=1):
        if self.comm is not None:
            self.comm.Abort(code)


_group = None
_previous_excepthook = None


def _launched_size():
    """The number of ranks the launcher started, read from its environment variables (1 if none)."""
    sizes = [1]
    for name in _LAUNCHER_SIZE_VARIABLES:
        try:
            sizes.append(int(os.environ.get(name, "1")))
        except ValueError:
            pass
    return max(sizes)


def _import_mpi():
    """``mpi4py.MPI`` (importing it initialises MPI), or None when the extra is missing."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI


def init(comm=None):
    """Join the ranks started by ``mpiexec``/``srun`` (Horovod's ``hvd.init``); idempotent.

    ``comm``: an ``mpi4py`` communicator to train over (default ``MPI.COMM_WORLD``).  Without
    ``mpi4py`` this process is the whole group (size 1) -- unless the launcher started several
    ranks, which raises ``MissingExtraError`` naming the extra to install.  With several ranks an
    uncaught exception in any rank aborts all of them (``MPI_Abort``) instead of leaving the
    others blocked in a collective.  The kernels' threads are divided among the ranks of one
    machine unless ``OMP_NUM_THREADS`` is set (see ``_share_cores``).
    """
    global _group
    if _group is not None:
        return
    mpi = _import_mpi()
    if mpi is None:
        if comm is not None or _launched_size() > 1:
            wanted = "a communicator" if comm is not None else f"{_launched_size()} ranks"
            raise MissingExtraError(f"minicnn.distribute.init: {wanted} need mpi4py, which is not "
                                    f"installed: {_INSTALL_HINT}")
        _group = _Group()
        return
    group = _Group(comm if comm is not None else mpi.COMM_WORLD, mpi)
    if group.size == 1:
        group = _Group()  # a singleton MPI process behaves exactly like no MPI at all
    _group = group
    if group.size > 1:
        _install_abort_hook()
        _share_cores(group.local_size)


def shutdown():
    """Forget the group (``hvd.shutdown``); MPI itself is finalised by mpi4py at exit."""
    global _group, _previous_excepthook
    if _previous_excepthook is not None:
        sys.excepthook, _previous_excepthook = _previous_excepthook, None
    _group = None


def is_initialized():
    return _group is not None


def group():
    """The group; raises ValueError before ``init()``."""
    if _group is None:
        raise ValueError("minicnn.distribute has not been initialized; call "
                         "minicnn.distribute.init() first")
    return _group


def active_group():
    """The group when there is more than one rank, else None (what the training loops test)."""
    return _group if _group is not None and _group.size > 1 else None


def rank():
    """This process's rank, 0 .. size()-1."""
    return group().rank


def size():
    """The number of ranks."""
    return group().size


def local_rank():
    """This process's rank among the ranks of its machine."""
    return group().local_rank


def local_size():
    """The number of ranks on this machine."""
    return group().local_size


def _install_abort_hook():
    # A rank that dies of an exception would leave the others waiting in their next collective
    # for ever: print the traceback, then take the whole job down with MPI_Abort.
    global _previous_excepthook
    if _previous_excepthook is not None:
        return
    _previous_excepthook = sys.excepthook

    def abort_all(kind, value, tb):
        rank_now = _group.rank if _group is not None else "?"
        # The error itself goes first, in one write: MPI_Abort can take mpiexec's output forwarding
        # down before it has passed on the whole traceback (seen on 2 ranks on one machine).
        summary = "".join(traceback.format_exception_only(kind, value)).rstrip("\n")
        sys.stderr.write(f"minicnn.distribute: rank {rank_now} raised {summary}; aborting all ranks\n")
        sys.stderr.flush()
        traceback.print_exception(kind, value, tb)
        sys.stderr.flush()
        if _group is not None:
            _group.abort(1)

    sys.excepthook = abort_all


def available_cores():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _share_cores(local_size):
    """Give each of the ``local_size`` ranks of this machine its share of the cores.

    ``OMP_NUM_THREADS`` wins when set.  A launcher that bound this rank to some cores (its
    affinity mask is smaller than the machine) has already made the share: it is used whole.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return
    cores = available_cores()
    share = cores if cores < (os.cpu_count() or cores) else cores // local_size
    set_num_threads(max(1, share))


def as_array(value, what="collective"):
    """A C-contiguous ndarray copy of a number, array or Tensor (collectives never alias input)."""
    data = getattr(value, "data", value) if not isinstance(value, np.ndarray) else value
    array = np.array(data, copy=True, order="C")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected a number, a numeric array or a Tensor, got "
                        f"{type(value).__name__} of dtype {array.dtype}; use the *_object "
                        "collectives for other Python objects")
    return array
