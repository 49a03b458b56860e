"""``pooled()``: numpy array data reuses freed blocks instead of fresh pages (see _mempool.pyx).

fit, evaluate and predict run inside ``pooled()``: every step allocates arrays of the same sizes,
and without reuse glibc gives each large one fresh pages from the kernel (about 1,500 page
faults, 4 ms of system time, per LeNet step at batch 128).  Set ``MINICNN_MEMORY_POOL=0`` to
keep numpy's default allocator (the pool's blocks are released when the outermost
``pooled()`` exits either way).
"""

import contextlib
import os

from minicnn._kernels import _mempool


def enabled():
    """Whether ``pooled()`` installs the caching allocator (not turned off by
    ``MINICNN_MEMORY_POOL=0``); read at each call."""
    return os.environ.get("MINICNN_MEMORY_POOL", "1").strip().lower() not in (
        "0", "false", "no", "off")


@contextlib.contextmanager
def pooled():
    """Inside: numpy's data allocator in this context is minicnn's caching allocator.

    ``fit``/``evaluate``/``predict`` use it already; wrap a hand-written training loop in it
    (``with minicnn.utils.memory_pool(): ...``) so that each step reuses the previous step's
    blocks.  Everything it holds is released when the outermost ``with`` exits.

    >>> import numpy as np
    >>> with pooled():
    ...     for _ in range(3):
    ...         a = np.ones(1 << 20)   # the second and third reuse the first one's block
    ...         del a
    """
    if not enabled():
        yield
        return
    previous = _mempool.push()
    try:
        yield
    finally:
        _mempool.pop(previous)


def stats():
    """The pool's counters (see ``_mempool.stats``)."""
    return _mempool.stats()
