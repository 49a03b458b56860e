"""Data-parallel training over MPI, shaped like Horovod's Keras API.

>>> # import minicnn as keras
>>> # from minicnn import distribute as dist
>>> # dist.init()
>>> # model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size())), ...)
>>> # model.fit(x, y, batch_size=64,  # per rank: the global batch is 64 * dist.size()
>>> #           callbacks=[dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()])

Launch with ``mpiexec -n 4 python train.py`` (``pip install "minicnn[mpi]"`` brings mpi4py and
MPICH's ``mpiexec``).  Without ``mpiexec`` -- or without mpi4py -- ``init()`` makes this process a
group of one and the same script trains as usual.

With more than one rank, ``fit``/``evaluate``/``predict`` share array data between the ranks
(``minicnn.distribute.sharding``), metrics are those of the whole group, ``model.save`` and the
checkpoint callbacks write on rank 0 only and must be called on every rank, and progress bars
print on rank 0.
"""

from minicnn.distribute._runtime import (MissingExtraError, init, is_initialized, local_rank,
                                         local_size, rank, shutdown, size)
from minicnn.distribute.callbacks import (BroadcastGlobalVariablesCallback,
                                          LearningRateWarmupCallback, MetricAverageCallback)
from minicnn.distribute.collectives import (Average, Max, Min, Product, Sum, allgather,
                                            allgather_object, allreduce, barrier, broadcast,
                                            broadcast_object)
from minicnn.distribute.optimizer import DistributedOptimizer
from minicnn.distribute.saving import load_model
from minicnn.distribute.state import broadcast_variables
from minicnn.distribute.sync_batch_norm import SyncBatchNormalization

__all__ = ["init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size",
           "allreduce", "allgather", "broadcast", "allgather_object", "broadcast_object", "barrier",
           "broadcast_variables", "Average", "Sum", "Min", "Max", "Product", "DistributedOptimizer",
           "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "LearningRateWarmupCallback",
           "load_model", "SyncBatchNormalization", "MissingExtraError"]
