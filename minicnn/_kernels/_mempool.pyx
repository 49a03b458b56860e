"""A caching allocator for numpy array data, installed while minicnn trains or predicts.

Why: a training step allocates the same large arrays every step (activations, gradients, im2col
blocks go through malloc too but are freed inside the kernel).  glibc serves blocks above its
mmap threshold with fresh mmap()s and hands trimmed heap tops back to the kernel, so each step
page-faults all of its activations in again: about 1,500 faults (4 ms of system time) per
LeNet step at batch 128, a quarter of the step.  Process-wide malloc tuning (mallopt,
MALLOC_MMAP_THRESHOLD_) would fix it but is not a library's call to make.

How: numpy (NEP 49) lets a library install a data allocator for the current context only
(``PyDataMem_SetHandler``, a context variable).  ``push()`` installs this one; ``pop()`` puts
the previous one back.  While at least one ``push()`` is open, freed blocks of at least
POOL_MIN bytes go to per-size-class free lists (classes: 8 per power of two, so a class wastes
at most 1/8) instead of back to the system, up to ``limit`` bytes held; the outermost ``pop()``
releases everything held.  Arrays allocated here and freed later (predictions returned to the
user, optimizer slots) go straight back to the system once no pool is open.

Every block carries a header (just below the 64-byte-aligned pointer handed to numpy) with its
raw pointer and capacity, so the size numpy passes to free() is never trusted.  One lock
(a PyThread lock: usable without the GIL) guards the lists; numpy may allocate from any thread.
"""

from cpython.pycapsule cimport PyCapsule_New
from cpython.pythread cimport (PyThread_type_lock, PyThread_allocate_lock, PyThread_acquire_lock,
                               PyThread_release_lock, WAIT_LOCK)
from libc.stdint cimport uintptr_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset, strncpy

cimport numpy as cnp

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyDataMemAllocator:
        void *ctx
        void *(*malloc)(void *ctx, size_t size) noexcept nogil
        void *(*calloc)(void *ctx, size_t nelem, size_t elsize) noexcept nogil
        void *(*realloc)(void *ctx, void *ptr, size_t new_size) noexcept nogil
        void (*free)(void *ctx, void *ptr, size_t size) noexcept nogil
    ctypedef struct PyDataMem_Handler:
        char name[127]
        uint8_t version
        PyDataMemAllocator allocator
    object PyDataMem_SetHandler(object handler)
    object PyDataMem_GetHandler()

DEF ALIGN = 64
DEF NCLASSES = 8 * 64
cdef size_t POOL_MIN = 1 << 16  # smaller blocks: plain malloc/free (glibc's heap handles them well)


cdef struct Header:  # stored just below every pointer handed to numpy
    void *raw
    size_t cap        # usable bytes from the user pointer
    Py_ssize_t cls    # size class, -1: not pooled


cdef struct Pool:
    void *heads[NCLASSES]  # free lists, linked through each free block's first word
    size_t held            # bytes in the free lists
    size_t limit           # most bytes the free lists may hold
    Py_ssize_t depth       # push() calls not yet popped
    size_t hits, misses    # pooled allocations served from / not from a free list


cdef Pool _pool
cdef PyThread_type_lock _lock = NULL
cdef PyDataMem_Handler _handler


cdef inline Py_ssize_t _size_class(size_t n, size_t *cap) noexcept nogil:
    """The class of an n-byte request (n >= POOL_MIN) and its capacity: n rounded up to an
    eighth of its power of two."""
    cdef int e = 0
    cdef size_t step, c
    while (<size_t>1 << (e + 1)) <= n:
        e += 1
    step = <size_t>1 << (e - 3)
    c = (n + step - 1) // step * step
    if c == (<size_t>1 << (e + 1)):  # rounded up into the next power of two: its first class
        e += 1
        step = <size_t>1 << (e - 3)
    cap[0] = c
    return e * 8 + <Py_ssize_t>((c >> (e - 3)) & 7)


cdef inline Header *_header(void *p) noexcept nogil:
    return <Header *>(<char *>p - sizeof(Header))


cdef void *_fresh(size_t cap, Py_ssize_t cls) noexcept nogil:
    cdef void *raw = malloc(cap + ALIGN + sizeof(Header))
    cdef uintptr_t u
    cdef Header *h
    if raw == NULL:
        return NULL
    u = (<uintptr_t>raw + sizeof(Header) + ALIGN - 1) & ~(<uintptr_t>ALIGN - 1)
    h = _header(<void *>u)
    h.raw = raw
    h.cap = cap
    h.cls = cls
    return <void *>u


cdef void *_alloc(void *ctx, size_t size) noexcept nogil:
    cdef size_t cap
    cdef Py_ssize_t cls
    cdef void *p = NULL
    if size < POOL_MIN:
        return _fresh(size if size > 0 else 1, -1)
    cls = _size_class(size, &cap)
    if cls >= NCLASSES:
        return _fresh(size, -1)
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    p = _pool.heads[cls]
    if p != NULL:
        _pool.heads[cls] = (<void **>p)[0]
        _pool.held -= cap
        _pool.hits += 1
    else:
        _pool.misses += 1
    PyThread_release_lock(_lock)
    return p if p != NULL else _fresh(cap, cls)


cdef void _release(void *p) noexcept nogil:
    """p back to a free list while a pool is open and there is room, else to the system."""
    cdef Header *h = _header(p)
    cdef bint keep = False
    if h.cls >= 0:
        PyThread_acquire_lock(_lock, WAIT_LOCK)
        if _pool.depth > 0 and _pool.held + h.cap <= _pool.limit:
            (<void **>p)[0] = _pool.heads[h.cls]
            _pool.heads[h.cls] = p
            _pool.held += h.cap
            keep = True
        PyThread_release_lock(_lock)
    if not keep:
        free(h.raw)


cdef void _free(void *ctx, void *ptr, size_t size) noexcept nogil:
    if ptr != NULL:
        _release(ptr)


cdef void *_calloc(void *ctx, size_t nelem, size_t elsize) noexcept nogil:
    cdef size_t n
    cdef void *p
    if elsize != 0 and nelem > (<size_t>-1) // elsize:
        return NULL
    n = nelem * elsize
    p = _alloc(ctx, n)
    if p != NULL:
        memset(p, 0, n)
    return p


cdef void *_realloc(void *ctx, void *ptr, size_t new_size) noexcept nogil:
    cdef Header *h
    cdef void *q
    if ptr == NULL:
        return _alloc(ctx, new_size)
    h = _header(ptr)
    if new_size <= h.cap and (h.cls >= 0 or new_size * 2 >= h.cap):
        return ptr  # fits (a shrinking unpooled block is moved, so it gives its memory back)
    q = _alloc(ctx, new_size)
    if q == NULL:
        return NULL  # numpy keeps ptr, as with realloc()
    memcpy(q, ptr, new_size if new_size < h.cap else h.cap)
    _release(ptr)
    return q


cdef void _trim() noexcept nogil:
    """Every block in the free lists back to the system (the lock is held)."""
    cdef Py_ssize_t c
    cdef void *p
    cdef void *nxt
    for c in range(NCLASSES):
        p = _pool.heads[c]
        while p != NULL:
            nxt = (<void **>p)[0]
            free(_header(p).raw)
            p = nxt
        _pool.heads[c] = NULL
    _pool.held = 0


_lock = PyThread_allocate_lock()
if _lock == NULL:
    raise MemoryError("minicnn._mempool: cannot allocate a lock")
memset(&_pool, 0, sizeof(Pool))
_pool.limit = <size_t>2 << 30
memset(&_handler, 0, sizeof(PyDataMem_Handler))
strncpy(_handler.name, b"minicnn_pool", 126)
_handler.version = 1
_handler.allocator.ctx = NULL
_handler.allocator.malloc = _alloc
_handler.allocator.calloc = _calloc
_handler.allocator.realloc = _realloc
_handler.allocator.free = _free
_capsule = PyCapsule_New(&_handler, "mem_handler", NULL)


def push():
    """Install the pooling allocator in the current context and open the pool; returns the
    handler it replaced, for pop()."""
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    _pool.depth += 1
    PyThread_release_lock(_lock)
    return PyDataMem_SetHandler(_capsule)


def pop(previous):
    """Put ``previous`` (what push() returned) back; the outermost pop releases every held block."""
    PyDataMem_SetHandler(previous)
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    if _pool.depth > 0:
        _pool.depth -= 1
        if _pool.depth == 0:
            _trim()
    PyThread_release_lock(_lock)


def set_limit(size_t nbytes):
    """Most bytes the free lists may hold (default 2 GiB); returns the previous limit.  Blocks
    beyond it are freed at once; 0 turns caching off."""
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    old = _pool.limit
    _pool.limit = nbytes
    if _pool.held > nbytes:
        _trim()
    PyThread_release_lock(_lock)
    return old


def stats():
    """{'depth', 'held', 'limit', 'hits', 'misses'}: open pools, bytes in the free lists, their
    limit, and pooled allocations served from / not from a free list since import."""
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    s = {"depth": _pool.depth, "held": _pool.held, "limit": _pool.limit, "hits": _pool.hits,
         "misses": _pool.misses}
    PyThread_release_lock(_lock)
    return s


def installed():
    """Whether this allocator is numpy's data allocator in the current context."""
    return PyDataMem_GetHandler() is _capsule


def _size_class_of(size_t n):
    """Test hook: (class, capacity) of an n-byte pooled request."""
    cdef size_t cap = 0
    cdef Py_ssize_t cls = _size_class(n, &cap)
    return cls, cap
