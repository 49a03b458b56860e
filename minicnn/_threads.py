"""How many threads the kernels use: one place decides, at call time."""

import contextlib
import os
import operator
import warnings

from minicnn._kernels import _openmp

__all__ = ["set_num_threads", "get_num_threads", "num_threads"]


_forked_child = False  # set in a child created by fork(): its kernels must stay serial


def _check(n):
    """The validated setting for ``n`` (0 = OpenMP's default)."""
    if n is None:
        return 1 if _forked_child else 0
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"num_threads must be an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    if n > 1 and _forked_child:
        warnings.warn(
            f"minicnn: num_threads({n}) ignored in a process created by fork(): OpenMP's thread pool "
            "does not survive fork, so the kernels stay on 1 thread here (use the 'spawn' start "
            "method for parallel children)",
            RuntimeWarning,
            stacklevel=3,
        )
        return 1
    return n


def set_num_threads(n):
    """Use ``n`` threads in every kernel from now on (from any Python thread).

    Until this is called the kernels follow OpenMP's default, so ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits`` are honoured; ``set_num_threads(None)`` returns to it.
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


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
