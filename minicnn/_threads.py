"""How many threads the kernels use: one place decides, at call time."""

import contextlib
import os
import operator
import threading
import warnings

from minicnn._kernels import _openmp

__all__ = ["set_num_threads", "get_num_threads", "num_threads"]

#: At most this many threads per CPU: beyond it threads only add overhead, and an absurd request
#: (10**6) would make one GEMM start thousands of OS threads.
MAX_THREADS_PER_CPU = 4

_forked_child = False  # set in a child created by fork(): its kernels must stay serial
_started_ok = 1  # a thread count known to start (the probe below ran for it)


def max_threads():
    """The largest count ``set_num_threads`` accepts: ``MAX_THREADS_PER_CPU`` per CPU."""
    return MAX_THREADS_PER_CPU * (os.cpu_count() or 1)


def _probe_thread_start(n):
    """Raise RuntimeError unless ``n - 1`` more threads can start now.

    OpenMP runtimes cannot report a failed thread start: libgomp prints "Thread creation failed"
    and exits the process in the middle of a kernel.  Starting (and joining) the same number of
    Python threads first turns a memory or process limit into an exception here instead.
    """
    global _started_ok
    if n <= _started_ok or not _openmp.openmp_enabled():
        return
    release = threading.Event()
    threads = []
    try:
        for _ in range(n - 1):
            t = threading.Thread(target=release.wait, daemon=True)
            t.start()
            threads.append(t)
    except RuntimeError as exc:
        raise RuntimeError(
            f"num_threads({n}): this process cannot start {n} threads ({exc}; {len(threads) + 1} "
            "could run); a memory or process limit (ulimit -v, ulimit -u, a container) is in the "
            "way: ask for fewer threads") from None
    finally:
        release.set()
        for t in threads:
            t.join()
    _started_ok = n


def _default_from_environment():
    """OpenMP's default (0), or the cap when ``OMP_NUM_THREADS`` asks for more than it.

    The OpenMP runtime reads ``OMP_NUM_THREADS`` itself, so ``OMP_NUM_THREADS=100000`` would start
    that many threads in the first kernel; the same cap as ``set_num_threads`` applies to it.
    """
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        requested = int(value)
    except ValueError:
        return 0  # unset or not a number: the runtime's own rules apply
    cap = max_threads()
    if requested <= cap:
        return 0
    warnings.warn(f"minicnn: OMP_NUM_THREADS={requested} capped at {cap} ({MAX_THREADS_PER_CPU} per "
                  f"CPU of the {os.cpu_count() or 1} here)", RuntimeWarning, stacklevel=2)
    return cap


def _check(n):
    """The validated setting for ``n`` (0 = OpenMP's default)."""
    if n is None:
        return 1 if _forked_child else _environment_default
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"num_threads must be an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    cap = max_threads()
    if n > cap:
        warnings.warn(f"minicnn: num_threads({n}) capped at {cap} ({MAX_THREADS_PER_CPU} per CPU "
                      f"of the {os.cpu_count() or 1} here)", RuntimeWarning, stacklevel=3)
        n = cap
    if n > 1 and _forked_child:
        warnings.warn(
            f"minicnn: num_threads({n}) ignored in a process created by fork(): OpenMP's thread pool "
            "does not survive fork, so the kernels stay on 1 thread here (use the 'spawn' start "
            "method for parallel children)",
            RuntimeWarning,
            stacklevel=3,
        )
        return 1
    _probe_thread_start(n)
    return n


def set_num_threads(n):
    """Use ``n`` threads in every kernel from now on (from any Python thread).

    Until this is called the kernels follow OpenMP's default, so ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits`` are honoured; ``set_num_threads(None)`` returns to it.
    More than ``MAX_THREADS_PER_CPU`` threads per CPU are capped with a warning; a count the
    process cannot start (a memory or process limit) raises RuntimeError and changes nothing.
    """
    _openmp.set_num_threads(_check(n))


def get_num_threads():
    """The number of threads a kernel called now would use."""
    return _openmp.get_num_threads()


@contextlib.contextmanager
def num_threads(n):
    """Temporarily use ``n`` threads (``None``: OpenMP's default)::

        with minicnn.num_threads(1):
            model.predict(x)
    """
    previous = _openmp.get_user_threads()
    _openmp.set_num_threads(_check(n))
    try:
        yield
    finally:
        _openmp.set_num_threads(previous)


def _after_fork_in_child():
    # libgomp's thread pool does not survive fork(): a child that opens a parallel region
    # after the parent has used one can hang.  Children run the kernels serially instead.
    global _forked_child
    _forked_child = True
    _openmp.set_num_threads(1)


_environment_default = _default_from_environment()
if _environment_default:
    _openmp.set_num_threads(_environment_default)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
