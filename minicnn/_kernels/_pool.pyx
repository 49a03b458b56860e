"""Pooling kernels, channels-last: the innermost loop runs over contiguous channels (vectorised),
OpenMP over the batch (and output rows when the batch is small).

pool.py validates and allocates; here every array is C-contiguous and of one dtype.  Windows are
clipped to the real cells (padding never wins a max and is not counted by an average), so the
same loops serve "valid" and "same".  Every output element is written by one thread in a fixed
order: results do not depend on the thread count.
"""

from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

from minicnn._kernels._openmp cimport clamp_threads, passive_wait

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


cdef inline bint _wins(floating v, floating best) noexcept nogil:
    # Strictly greater keeps the first maximum.  A NaN wins over numbers and the first NaN stays
    # (as numpy/PyTorch): without the v != v term a NaN would be dropped unless it came first.
    return (v > best) | ((v != v) & (best == best))


cdef extern from "pool_small.h" nogil:
    # the 2x2 stride-2 row kernels, vectorised for few channels (see pool_small.h)
    void mps_max2x2_row_f(const float *r0, const float *r1, float *y, int32_t *arg, Py_ssize_t OW,
                          Py_ssize_t C, Py_ssize_t W, Py_ssize_t row)
    void mps_max2x2_row_d(const double *r0, const double *r1, double *y, int32_t *arg, Py_ssize_t OW,
                          Py_ssize_t C, Py_ssize_t W, Py_ssize_t row)
    # 1 if the image's indices all lie in their 2x2 stride-2 windows and dx is written, else 0
    int mps_max2x2_back_f(const float *dy, const int32_t *arg, float *dx, Py_ssize_t OH, Py_ssize_t OW,
                          Py_ssize_t C, Py_ssize_t H, Py_ssize_t W)
    int mps_max2x2_back_d(const double *dy, const int32_t *arg, double *dx, Py_ssize_t OH, Py_ssize_t OW,
                          Py_ssize_t C, Py_ssize_t H, Py_ssize_t W)


cdef inline void _max_2x2_row(const floating *r0, const floating *r1, floating *yb, int32_t *ab, Py_ssize_t OW,
                              Py_ssize_t C, Py_ssize_t W, Py_ssize_t row) noexcept nogil:
    """One output row of a 2x2, stride-2 window fully inside the input: yb (OUT, OW x C) = the
    maxima of input rows r0, r1 (IN); ab (OUT, or NULL) = their flat indices h * W + w."""
    if floating is float:
        mps_max2x2_row_f(r0, r1, yb, ab, OW, C, W, row)
    else:
        mps_max2x2_row_d(r0, r1, yb, ab, OW, C, W, row)


# Output elements below which a call stays on one thread.  The 2x2 kernels move 20-30 GB/s on
# one core, so under OMP_WAIT_POLICY=PASSIVE (a sleeping worker joins 0.05-0.3 ms late) two
# threads lost to one on every network shape measured, up to (64, 26, 26, 32) -> 346K outputs.
cdef long long POOL_PAR_MIN = (1 << 20) if passive_wait() else (1 << 16)


def _set_pool_par_min(long long n):
    """Test/benchmark hook: the output size below which pooling stays serial; returns the old one."""
    global POOL_PAR_MIN
    old = POOL_PAR_MIN
    POOL_PAR_MIN = n
    return old


def max_pool_forward_into(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, arg,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """y (OUT): the max of each window of x (IN); arg (OUT, int32 like y, or None at inference):
    the flat index h*W+w of its first maximum."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2]
    cdef Py_ssize_t t, n, i, j, r, c, ch, r0, r1, c0, c1
    cdef floating *yb
    cdef int32_t *ab
    cdef int32_t[:, :, :, ::1] argv
    cdef int32_t *abase = NULL
    cdef const floating *xb
    cdef floating v
    cdef int32_t where
    cdef bint fast = ph == 2 and pw == 2 and sh == 2 and sw == 2 and top == 0 and left == 0
    cdef int nt = clamp_threads(N * OH) if y.size >= POOL_PAR_MIN else 1
    if y.size == 0:
        return
    if arg is not None:
        argv = arg
        abase = &argv[0, 0, 0, 0]
    if fast and 2 * OH <= H and 2 * OW <= W:
        for t in prange(N * OH, nogil=True, num_threads=nt, schedule="static"):
            n = t // OH
            i = t % OH
            _max_2x2_row(&x[n, 2 * i, 0, 0], &x[n, 2 * i + 1, 0, 0], &y[n, i, 0, 0],
                         NULL if abase == NULL else abase + t * OW * C, OW, C, W, 2 * i)
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
            ab = NULL if abase == NULL else abase + (t * OW + j) * C
            xb = &x[n, r0, c0, 0]
            where = <int32_t>(r0 * W + c0)
            for ch in range(C):
                yb[ch] = xb[ch]
            if ab != NULL:
                for ch in range(C):
                    ab[ch] = where
            for r in range(r0, r1):
                for c in range(c0, c1):
                    if r == r0 and c == c0:
                        continue
                    xb = &x[n, r, c, 0]
                    where = <int32_t>(r * W + c)
                    if ab == NULL:
                        for ch in range(C):
                            v = xb[ch]
                            yb[ch] = v if _wins(v, yb[ch]) else yb[ch]
                    else:
                        for ch in range(C):
                            v = xb[ch]
                            # written as selects so it vectorises
                            ab[ch] = where if _wins(v, yb[ch]) else ab[ch]
                            yb[ch] = v if _wins(v, yb[ch]) else yb[ch]


def max_pool_backward_into(const floating[:, :, :, ::1] dy, const index_t[:, :, :, ::1] arg,
                           floating[:, :, :, ::1] dx):
    """dx (OUT, fully written) = dy (IN) scatter-added to the cells arg (IN) names, zero elsewhere.

    Each image is done by one thread, while it is in cache.  Where its (int32) indices all lie in
    their 2x2 stride-2 windows, as a 2x2 max pooling's do, every cell of dx is written once, dy
    or zero (pool_small.h); otherwise the image is zeroed and scattered.  Returns False (and
    leaves dx partly written) if an index is outside [0, H*W).
    """
    cdef Py_ssize_t N = dy.shape[0], OH = dy.shape[1], OW = dy.shape[2], C = dy.shape[3]
    cdef Py_ssize_t H = dx.shape[1], W = dx.shape[2]
    cdef Py_ssize_t HW = H * W
    cdef Py_ssize_t n, i, ch, p
    cdef floating *dxn
    cdef const floating *g
    cdef const index_t *a
    cdef int bad = 0
    cdef int done
    cdef int nt = clamp_threads(N) if dx.size >= 4 * POOL_PAR_MIN else 1
    if dx.size == 0:
        return True
    for n in prange(N, nogil=True, num_threads=nt, schedule="static"):
        dxn = &dx[n, 0, 0, 0]
        done = 0
        if OH * OW > 0:
            g = &dy[n, 0, 0, 0]
            a = &arg[n, 0, 0, 0]
            if index_t is int32_t:
                if floating is float:
                    done = mps_max2x2_back_f(g, a, dxn, OH, OW, C, H, W)
                else:
                    done = mps_max2x2_back_d(g, a, dxn, OH, OW, C, H, W)
        if done:
            continue
        memset(dxn, 0, HW * C * sizeof(floating))
        if OH * OW == 0:
            continue
        for i in range(OH * OW):
            for ch in range(C):
                p = a[i * C + ch]
                if p < 0 or p >= HW:
                    bad += 1
                else:
                    dxn[p * C + ch] += g[i * C + ch]
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
