"""``keras.utils.PyDataset`` and the adapter that feeds one to ``fit``/``evaluate``/``predict``.

Prefetching (``workers > 1``, or ``use_multiprocessing=True``): up to ``max_queue_size`` batches
are requested ahead from a thread pool or a process pool and handed over strictly in index order,
so the batches -- and the training -- are the same whichever worker finishes first.

- Threads share the process: right for I/O-bound ``__getitem__`` (reading files).  Randomness
  drawn inside ``__getitem__`` from a shared generator is drawn in completion order there, which
  is not repeatable; derive it from the index, or use processes.
- Processes (forked on Linux, so the dataset need not be picklable there; spawned elsewhere) give
  CPU-bound Python code real parallelism.  Before each ``__getitem__(i)`` a worker reseeds
  Python's ``random``, NumPy's global generator and minicnn's from (a seed read off a copy of
  minicnn's global generator, the pass number, ``i``): the batches are repeatable under
  ``set_random_seed``, differ from pass to pass, and the main stream is not advanced.  Kernels
  in a forked child run on one thread (OpenMP's pool does not survive ``fork``).  A pass's pool
  is started for that pass, so the workers see what ``on_epoch_end`` changed before it.
"""

import collections
import copy
import itertools
import multiprocessing
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from minicnn._random import global_rng, set_global_seed
from minicnn.utils.data_adapters import DataAdapter, standardize_batch

__all__ = ["PyDataset", "PyDatasetAdapter", "Sequence"]


class PyDataset:
    """Base class for a dataset of batches written in Python (Keras 3's ``PyDataset``).

    Implement ``__getitem__(index)`` returning one whole batch -- ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` -- and ``__len__()`` returning the number of batches (or a
    ``num_batches`` property that may be None for an infinite dataset: then ``fit`` needs
    ``steps_per_epoch``).  ``on_epoch_begin``/``on_epoch_end`` are called around every epoch.

    Args:
        workers: how many batches are prepared at once (see the module docstring).
        use_multiprocessing: prepare them in processes instead of threads.
        max_queue_size: how many batches may be requested ahead of the one being trained on.

    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, i):
    ...         x = np.arange(3.0) + 3 * i
    ...         return x, x ** 2
    >>> Squares()[1]
    (array([3., 4., 5.]), array([ 9., 16., 25.]))
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _setting(self, name, default):
        if not hasattr(self, name):
            warnings.warn(f"Your `{type(self).__name__}` class should call `super().__init__(**kwargs)` "
                          "in its constructor; `**kwargs` can include `workers`, "
                          "`use_multiprocessing`, `max_queue_size`.", stacklevel=3)
            setattr(self, name, default)
        return getattr(self, name)

    @property
    def workers(self):
        return self._setting("_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return self._setting("_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return self._setting("_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    @property
    def num_batches(self):
        """The number of batches (``len(self)``), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() or a "
                                  "num_batches property (None for an infinite dataset)")

    def __iter__(self):
        indices = itertools.count() if self.num_batches is None else range(self.num_batches)
        for i in indices:
            yield self[i]

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras keeps the old name as an alias


class PyDatasetAdapter(DataAdapter):
    """A ``PyDataset`` as passes of batches; ``shuffle=True`` visits a finite dataset's batches in
    a new order every pass (minicnn's global generator, in the main process)."""

    def __init__(self, dataset, shuffle=False, class_weight=None):
        self.dataset = dataset
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.num_batches = dataset.num_batches
        if self.num_batches is not None and (not isinstance(self.num_batches, (int, np.integer))
                                             or self.num_batches < 0):
            raise ValueError(f"{type(dataset).__name__}: len() / num_batches must be a non-negative "
                             f"int or None, got {self.num_batches!r}")
        workers, processes = dataset.workers, dataset.use_multiprocessing
        self.pool_kind = "process" if processes and workers > 0 else "thread" if workers > 1 else None
        self.workers = max(int(workers), 1)
        self.depth = max(int(dataset.max_queue_size), 1)
        self._next_index = 0  # an infinite dataset goes on from pass to pass
        self._passes = 0

    def _indices(self):
        if self.num_batches is None:
            return itertools.count(self._next_index)
        if self.shuffle:
            return global_rng().permutation(self.num_batches).tolist()
        return range(self.num_batches)

    def _get(self, index):
        return standardize_batch(self.dataset[index], f"{type(self.dataset).__name__}[{index}]",
                                 self.class_weight)

    def get_iterator(self):
        indices = self._indices()
        self._passes += 1
        if self.pool_kind is None:
            for i in indices:
                self._next_index = i + 1
                yield self._get(i)
            return
        pool = self._make_pool()
        try:
            fetch = self._fetcher(pool)
            indices = iter(indices)
            pending = collections.deque((i, fetch(i)) for i in itertools.islice(indices, self.depth))
            while pending:
                i, future = pending.popleft()
                batch = future.result()
                pending.extend((j, fetch(j)) for j in itertools.islice(indices, 1))
                self._next_index = i + 1
                yield batch
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _make_pool(self):
        if self.pool_kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="PyDataset")
        fork = sys.platform.startswith("linux")
        context = multiprocessing.get_context("fork" if fork else "spawn")
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                   initargs=(self.dataset, self.class_weight))

    def _fetcher(self, pool):
        if self.pool_kind == "thread":
            return lambda i: pool.submit(self._get, i)
        base = int(copy.deepcopy(global_rng()).integers(2**63))
        passes = self._passes
        return lambda i: pool.submit(_get_in_worker, i, (base, passes, i))

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


# ------------------------------------------------------------------ inside a worker process
_worker_dataset = None
_worker_class_weight = None


def _init_worker(dataset, class_weight):
    global _worker_dataset, _worker_class_weight
    _worker_dataset, _worker_class_weight = dataset, class_weight


def _get_in_worker(index, entropy):
    # set_global_seed also seeds Python's random and NumPy's global generator.
    set_global_seed(int(np.random.SeedSequence(list(entropy)).generate_state(1, np.uint64)[0] >> 1))
    return standardize_batch(_worker_dataset[index], f"{type(_worker_dataset).__name__}[{index}]",
                             _worker_class_weight)
