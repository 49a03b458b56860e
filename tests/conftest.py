"""Shared fixtures."""

import pytest


@pytest.fixture(scope="module")
def threads_from_any_size():
    """Kernels use every thread they are given whatever the size of the call.  The tuning table's
    bars below which calls stay serial (higher under OMP_WAIT_POLICY=PASSIVE) would otherwise keep
    the small shapes of thread-count tests on one thread, testing nothing.  (Thread counts never
    change results; which algorithm runs is the plan's, forced through ``algorithm=``.)"""
    from minicnn._kernels import _openmp

    old = _openmp.set_size_bars(False)
    yield
    _openmp.set_size_bars(old)
