"""The conv kernel gradient never reads memory it did not write.

Found by a Conv1D + BatchNormalization model whose last partial batch of 12 got NaN weights in
about half the seeds: the kernel gradient of a small kernel over many rows is summed from up to
16 partial gradients over row ranges, and with the rows per range rounded up to a multiple of 8
(1,200 rows, 16 ranges of 80) one range had no rows and added its never-written scratch.  Under
fit's caching allocator that scratch holds whatever the previous step left, so the error only
shows when the heap is dirty: the test dirties it on purpose before every call.
"""

import numpy as np
import pytest

import minicnn
from minicnn.reference import kernels as reference
from minicnn.utils import memory_pool


def _kernel_grad(x, dy, kshape, padding):
    xt = minicnn.Tensor(x)
    k = minicnn.Tensor(np.zeros(kshape, x.dtype), requires_grad=True)
    y = minicnn.ops.conv2d(xt, k, padding=padding)
    y.backward(dy)
    return k.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n, h, w, c, f, kh, kw", [
    (12, 1, 100, 64, 64, 1, 3),    # the Conv1D case: 1,200 rows
    (12, 1, 100, 8, 16, 1, 5),
    (3, 17, 23, 4, 6, 3, 3),
    (7, 9, 31, 5, 12, 2, 3),
])
def test_kernel_gradient_is_independent_of_dirty_scratch(dtype, threads, n, h, w, c, f, kh, kw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, h, w, c)).astype(dtype)
    dy = rng.normal(size=(n, h, w, f)).astype(dtype)
    ref = reference.conv2d_backward_kernel(x.astype(np.float64), dy.astype(np.float64), (kh, kw, c, f),
                                           padding="same", bias=False)
    ref = ref[0] if isinstance(ref, tuple) else ref
    tol = 1e-4 if dtype == np.float32 else 1e-10
    with minicnn.num_threads(threads), memory_pool():
        for size in (1 << 12, 1 << 17, 1 << 20):
            junk = np.full(size, 1e30, dtype)  # freed blocks left full of huge values
            del junk
            dk = _kernel_grad(x, dy, (kh, kw, c, f), "same")
            np.testing.assert_allclose(dk, ref, rtol=tol, atol=tol * np.abs(ref).max())
