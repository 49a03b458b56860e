"""Pooling kernels, channels-last: the innermost loop runs over contiguous channels (vectorised),
OpenMP over the batch (and output rows when the batch is small).

pool.py validates and allocates; here every array is C-contiguous and of one dtype.  Windows are
clipped to the real cells (padding never wins a max and is not counted by an average), so the
same loops serve "valid" and "same".  Every output element is written by one thread in a fixed
order: results do not depend on the thread count.
"""

from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

from minicnn._kernels._openmp cimport clamp_threads

cdef extern from "fpenv.h" nogil:
    # denormals flushed on this call's threads, restored on exit (see fpenv.h)
    int minicnn_fpenv_enter_work(int nt, long long work)
    void minicnn_fpenv_exit(int nt)

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t


# The real cells of output position i along one axis are [_lo(...), _hi(...)).  (Returned, not
# written through pointers: prange only privatises variables it sees assigned.)
cdef inline Py_ssize_t _lo(Py_ssize_t i, Py_ssize_t stride, Py_ssize_t offset) noexcept nogil:
    cdef Py_ssize_t v = i * stride - offset
    return v if v > 0 else 0


cdef inline Py_ssize_t _hi(Py_ssize_t i, Py_ssize_t size, Py_ssize_t stride, Py_ssize_t offset,
                           Py_ssize_t extent) noexcept nogil:
    cdef Py_ssize_t v = i * stride - offset + size
    return v if v < extent else extent


def max_pool_forward_into(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, int32_t[:, :, :, ::1] arg,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """y, arg (OUT): the max of each window of x (IN) and the flat index h*W+w of its first maximum."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2]
    cdef Py_ssize_t t, n, i, j, r, c, ch, r0, r1, c0, c1
    cdef floating *yb
    cdef int32_t *ab
    cdef const floating *xb
    cdef floating v
    cdef int32_t where
    cdef int nt = clamp_threads(N * OH)
    if y.size == 0:
        return
    for t in prange(N * OH, nogil=True, num_threads=nt, schedule="static"):
        n = t // OH
        i = t % OH
        r0 = _lo(i, sh, top)
        r1 = _hi(i, ph, sh, top, H)
        for j in range(OW):
            c0 = _lo(j, sw, left)
            c1 = _hi(j, pw, sw, left, W)
            yb = &y[n, i, j, 0]
            ab = &arg[n, i, j, 0]
            xb = &x[n, r0, c0, 0]
            where = <int32_t>(r0 * W + c0)
            for ch in range(C):
                yb[ch] = xb[ch]
                ab[ch] = where
            for r in range(r0, r1):
                for c in range(c0, c1):
                    if r == r0 and c == c0:
                        continue
                    xb = &x[n, r, c, 0]
                    where = <int32_t>(r * W + c)
                    for ch in range(C):
                        v = xb[ch]
                        # strictly greater keeps the first maximum; written as selects so it vectorises.
                        # A NaN wins over numbers and the first NaN stays (as numpy/PyTorch): without
                        # the v != v term a NaN would be dropped unless it came first in its window.
                        ab[ch] = where if (v > yb[ch]) | ((v != v) & (yb[ch] == yb[ch])) else ab[ch]
                        yb[ch] = v if (v > yb[ch]) | ((v != v) & (yb[ch] == yb[ch])) else yb[ch]


def max_pool_backward_into(const floating[:, :, :, ::1] dy, const index_t[:, :, :, ::1] arg,
                           floating[:, :, :, ::1] dx):
    """dx (IN/OUT, zeroed by the caller) += dy (IN) scattered to the cells arg (IN) names.

    Returns False (and leaves dx partly written) if an index is outside [0, H*W).
    """
    cdef Py_ssize_t N = dy.shape[0], OH = dy.shape[1], OW = dy.shape[2], C = dy.shape[3]
    cdef Py_ssize_t HW = dx.shape[1] * dx.shape[2]
    cdef Py_ssize_t n, i, j, ch, p
    cdef floating *dxn
    cdef const floating *g
    cdef const index_t *a
    cdef int bad = 0
    cdef int nt = clamp_threads(N)
    if dy.size == 0:
        return True
    for n in prange(N, nogil=True, num_threads=nt, schedule="static"):
        dxn = &dx[n, 0, 0, 0]
        for i in range(OH):
            for j in range(OW):
                g = &dy[n, i, j, 0]
                a = &arg[n, i, j, 0]
                for ch in range(C):
                    p = a[ch]
                    if p < 0 or p >= HW:
                        bad += 1
                    else:
                        dxn[p * C + ch] += g[ch]
    return bad == 0


def avg_pool_forward_into(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """y (OUT) = the mean of the real cells of each window of x (IN)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2]
    cdef Py_ssize_t t, n, i, j, r, c, ch, r0, r1, c0, c1
    cdef floating *yb
    cdef const floating *xb
    cdef floating inv
    cdef int nt = clamp_threads(N * OH)
    if y.size == 0:
        return
    cdef int fp = minicnn_fpenv_enter_work(nt, N * OH * OW * C * ph * pw)
    for t in prange(N * OH, nogil=True, num_threads=nt, schedule="static"):
        n = t // OH
        i = t % OH
        r0 = _lo(i, sh, top)
        r1 = _hi(i, ph, sh, top, H)
        for j in range(OW):
            c0 = _lo(j, sw, left)
            c1 = _hi(j, pw, sw, left, W)
            yb = &y[n, i, j, 0]
            for ch in range(C):
                yb[ch] = 0
            for r in range(r0, r1):
                for c in range(c0, c1):
                    xb = &x[n, r, c, 0]
                    for ch in range(C):
                        yb[ch] = yb[ch] + xb[ch]
            inv = 1.0 / ((r1 - r0) * (c1 - c0))
            for ch in range(C):
                yb[ch] = yb[ch] * inv
    minicnn_fpenv_exit(fp)


def avg_pool_backward_into(const floating[:, :, :, ::1] dy, floating[:, :, :, ::1] dx,
                           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """dx (IN/OUT, zeroed by the caller) += each dy (IN) cell shared equally by its window's real cells."""
    cdef Py_ssize_t N = dx.shape[0], H = dx.shape[1], W = dx.shape[2], C = dx.shape[3]
    cdef Py_ssize_t OH = dy.shape[1], OW = dy.shape[2]
    cdef Py_ssize_t n, i, j, r, c, ch, r0, r1, c0, c1
    cdef floating *dxb
    cdef const floating *g
    cdef floating inv
    cdef int nt = clamp_threads(N)
    if dy.size == 0:
        return
    cdef int fp = minicnn_fpenv_enter_work(nt, N * OH * OW * C * ph * pw)
    for n in prange(N, nogil=True, num_threads=nt, schedule="static"):
        for i in range(OH):
            r0 = _lo(i, sh, top)
            r1 = _hi(i, ph, sh, top, H)
            for j in range(OW):
                c0 = _lo(j, sw, left)
                c1 = _hi(j, pw, sw, left, W)
                g = &dy[n, i, j, 0]
                inv = 1.0 / ((r1 - r0) * (c1 - c0))
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        dxb = &dx[n, r, c, 0]
                        for ch in range(C):
                            dxb[ch] = dxb[ch] + g[ch] * inv
    minicnn_fpenv_exit(fp)


def global_avg_forward_into(const floating[:, :, ::1] x, floating[:, ::1] y):
    """y (OUT, (N, C)) = the mean over axis 1 of x (IN, (N, H*W, C))."""
    cdef Py_ssize_t N = x.shape[0], HW = x.shape[1], C = x.shape[2]
    cdef Py_ssize_t n, p, ch
    cdef floating *yb
    cdef const floating *xb
    cdef floating inv = 1.0 / HW
    cdef int nt = clamp_threads(N)
    if y.size == 0:
        return
    for n in prange(N, nogil=True, num_threads=nt, schedule="static"):
        yb = &y[n, 0]
        for ch in range(C):
            yb[ch] = 0
        for p in range(HW):
            xb = &x[n, p, 0]
            for ch in range(C):
                yb[ch] = yb[ch] + xb[ch]
        for ch in range(C):
            yb[ch] = yb[ch] * inv
