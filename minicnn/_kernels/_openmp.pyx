"""OpenMP thread control shared by all kernels.

``_user_threads`` is 0 until ``set_num_threads`` is called: 0 means "ask OpenMP at
call time", so ``OMP_NUM_THREADS`` and threadpoolctl keep working.  An explicit
value applies to kernels called from any Python thread (OpenMP's own
``omp_set_num_threads`` only affects the calling OS thread).
"""

cdef extern from "omp_compat.h":
    const char *MINICNN_COMPILER
    int MINICNN_OPENMP_VERSION

import os as _os

cdef int _user_threads = 0

# OMP_WAIT_POLICY=PASSIVE: idle OpenMP workers sleep instead of spinning, so every parallel
# region pays for waking one (0.05 to a few ms on the shared 2-core VM we measure on) and the
# kernels' bars for going parallel are higher.  Read once: the runtime reads it once too.
cdef bint _passive = _os.environ.get("OMP_WAIT_POLICY", "").strip().lower() == "passive"


cdef bint passive_wait() noexcept nogil:
    """True when OMP_WAIT_POLICY=PASSIVE (sleeping workers join a parallel region late)."""
    return _passive


cdef int max_threads() noexcept nogil:
    """Threads a kernel may use now (>= 1)."""
    cdef int n = _user_threads
    if n <= 0:
        n = omp_get_max_threads()
    return n if n > 0 else 1


cdef int clamp_threads(Py_ssize_t work_chunks) noexcept nogil:
    """Threads for a loop with ``work_chunks`` independent chunks: never more threads than chunks."""
    cdef int n = max_threads()
    if work_chunks < n:
        n = <int>work_chunks
    return n if n > 0 else 1


cdef bint _size_bars = True


cdef bint size_bars() noexcept nogil:
    """False while a test asked for every thread whatever a call's size (set_size_bars)."""
    return _size_bars


cdef int threads_for(double work, double bar, Py_ssize_t work_chunks) noexcept nogil:
    """Threads for a call of ``work`` (multiply-adds or elements) in ``work_chunks`` independent
    chunks: one below ``bar`` (waking a thread would cost more than it saves), else
    clamp_threads(work_chunks).  Every kernel's "stay serial below" decision goes through here."""
    if work < bar and _size_bars:
        return 1
    return clamp_threads(work_chunks)


def set_size_bars(bint on):
    """Test hook: with False, calls use every thread they may whatever their size (so that tests
    reach the parallel paths on small shapes).  Thread counts never change results.  Returns the
    previous setting."""
    global _size_bars
    old = _size_bars
    _size_bars = on
    return old


def set_num_threads(int n):
    """Set the thread count for all kernels; 0 returns to OpenMP's default."""
    global _user_threads
    if n < 0:
        raise ValueError(f"num_threads must be >= 0, got {n}")
    _user_threads = n


def get_user_threads():
    """The explicit setting (0 = deferring to OpenMP)."""
    return _user_threads


def get_num_threads():
    """Threads the kernels will use for a call made now from this Python thread."""
    return max_threads()


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return MINICNN_OPENMP_VERSION > 0


def openmp_version():
    """The _OPENMP date macro the kernels were compiled with (0 = serial build)."""
    return MINICNN_OPENMP_VERSION


def compiler():
    """The C compiler that built the kernels."""
    return (<bytes>MINICNN_COMPILER).decode("ascii", "replace")
