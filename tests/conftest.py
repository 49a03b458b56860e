"""Shared fixtures."""

import pytest


@pytest.fixture(scope="module")
def threads_from_any_size():
    """Kernels use every thread they are given whatever the size of the call.  The default bars
    below which calls stay serial (higher under OMP_WAIT_POLICY=PASSIVE) would otherwise keep the
    small shapes of thread-count tests on one thread, testing nothing."""
    from minicnn._kernels import _conv, _gemm, _pool

    old = (_conv._set_parallel_min_macs(0), _gemm._set_parallel_min_work(0), _pool._set_pool_par_min(0))
    yield
    _conv._set_parallel_min_macs(old[0])
    _gemm._set_parallel_min_work(old[1])
    _pool._set_pool_par_min(old[2])
