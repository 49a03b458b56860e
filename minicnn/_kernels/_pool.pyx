"""Pooling kernels, channels-last: the innermost loop runs over contiguous channels (vectorised),
OpenMP over the batch (and output rows when the batch is small).

pool.py validates and allocates; here every array is C-contiguous and of one dtype.  Windows are
clipped to the real cells (padding never wins a max and is not counted by an average), so the
same loops serve "valid" and "same".  Every output element is written by one thread in a fixed
order: results do not depend on the thread count.

The 2x2, stride-2 max pooling rows (the common case) and their backward are the kernel table's
pool family (src/pool_rows.h, one build per instruction set; ``isa=`` runs another for a call);
the other windows and average pooling are the portable loops here.
"""

from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

from minicnn._kernels._common cimport (check_at_least, check_shape, dims, floating, minicnn_parallel_for,
                                      minicnn_unit_fn)
from minicnn._kernels._dispatch cimport minicnn_kernel_table, table
from minicnn._kernels._openmp cimport clamp_threads, threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()

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


cdef struct Pool:
    # one call's arguments for the parallel loop's units
    const void *x        # IN: the input (forward) or dy (backward)
    void *y              # OUT: the output (forward) or dx (backward)
    void *arg            # OUT (forward) / IN (backward): argmax, or NULL
    Py_ssize_t N, H, W, C, OH, OW, ph, pw, sh, sw, top, left
    const minicnn_kernel_table *kt
    bint dbl, idx64


cdef Pool _pool(str where, Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t OH, Py_ssize_t OW,
                Py_ssize_t ph=0, Py_ssize_t pw=0, Py_ssize_t sh=0, Py_ssize_t sw=0, Py_ssize_t top=0,
                Py_ssize_t left=0) except *:
    """One call's Pool.  With ``where`` (the entry point), first the check that every window of
    the OH x OW output holds at least one real cell of the H x W input (the loops start each
    window at its first real cell)."""
    cdef Pool w
    if where is not None:
        for name, v in (("pool_size", ph), ("pool_size", pw), ("strides", sh), ("strides", sw)):
            check_at_least(where, name, v, 1)
        check_at_least(where, "padding", min(top, left), 0)
        if OH > 0 and OW > 0 and (H < 1 or W < 1 or top >= ph or left >= pw or (OH - 1) * sh - top >= H
                                  or (OW - 1) * sw - left >= W):
            raise ValueError(f"{where}: an output of {OH}x{OW} windows of {ph}x{pw} (strides {sh}x{sw}, padding "
                             f"{top}x{left}) does not fit an input of {H}x{W}: some window holds no input cell")
    w.N, w.H, w.W, w.C, w.OH, w.OW = N, H, W, C, OH, OW
    w.ph, w.pw, w.sh, w.sw, w.top, w.left = ph, pw, sh, sw, top, left
    w.x = w.y = w.arg = NULL
    w.kt = NULL
    w.dbl = w.idx64 = False
    return w


cdef void _run_avg(Pool *w, Py_ssize_t units, minicnn_unit_fn fn) noexcept nogil:
    """fn over the units of an average pooling (either direction), flushing subnormals by its work."""
    minicnn_parallel_for(units, clamp_threads(units), 0, w.N * w.OH * w.OW * w.C * w.ph * w.pw >= T.flush_min_work,
                         False, fn, w)


def max_pool_forward_into(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, arg,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left,
                          isa=None):
    """y (OUT, (N, OH, OW, C)): the max of each window of x (IN, (N, H, W, C)); arg (OUT, int32 of
    y's shape, or None at inference): the flat index h*W+w of its first maximum."""
    cdef int32_t[:, :, :, ::1] argv
    cdef Pool w = _pool("max_pool_forward_into", x.shape[0], x.shape[1], x.shape[2], x.shape[3], y.shape[1],
                        y.shape[2], ph, pw, sh, sw, top, left)
    cdef bint fast = ph == 2 and pw == 2 and sh == 2 and sw == 2 and top == 0 and left == 0
    cdef int nt = threads_for(y.size, T.pool_par_min, w.N * w.OH)
    check_shape("max_pool_forward_into", "y", dims(y.shape, 4), (w.N, w.OH, w.OW, w.C))
    if w.H * w.W >= 2**31:
        raise ValueError(f"max_pool_forward_into: H * W = {w.H * w.W} must be < 2**31 for int32 indices")
    if arg is not None:
        argv = arg
        check_shape("max_pool_forward_into", "arg", dims(argv.shape, 4), dims(y.shape, 4))
    if y.size == 0:
        return
    w.x, w.y, w.dbl, w.kt = &x[0, 0, 0, 0], &y[0, 0, 0, 0], floating is double, table(isa)
    if arg is not None:
        w.arg = &argv[0, 0, 0, 0]
    with nogil:
        if fast and 2 * w.OH <= w.H and 2 * w.OW <= w.W:
            minicnn_parallel_for(w.N * w.OH, nt, 0, False, False, _max_2x2_unit, &w)
        else:
            minicnn_parallel_for(w.N * w.OH, nt, 0, False, False, _max_unit, &w)


cdef int _max_2x2_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    """Output row t = (n, i) of a 2x2, stride-2 pooling whose windows lie inside the input."""
    cdef Pool *w = <Pool *>ctx
    cdef Py_ssize_t n = t // w.OH, i = t % w.OH, row = w.W * w.C
    cdef int32_t *ab = NULL if w.arg == NULL else <int32_t *>w.arg + t * w.OW * w.C
    if w.dbl:
        w.kt.pool.max2x2_row_f64(<const double *>w.x + (n * w.H + 2 * i) * row,
                                 <const double *>w.x + (n * w.H + 2 * i + 1) * row, <double *>w.y + t * w.OW * w.C,
                                 ab, w.OW, w.C, w.W, 2 * i)
    else:
        w.kt.pool.max2x2_row_f32(<const float *>w.x + (n * w.H + 2 * i) * row,
                                 <const float *>w.x + (n * w.H + 2 * i + 1) * row, <float *>w.y + t * w.OW * w.C,
                                 ab, w.OW, w.C, w.W, 2 * i)
    return 0


cdef int _max_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef Pool *w = <Pool *>ctx
    if w.dbl:
        _max_row(<const double *>w.x, <double *>w.y, <int32_t *>w.arg, w, t)
    else:
        _max_row(<const float *>w.x, <float *>w.y, <int32_t *>w.arg, w, t)
    return 0


cdef void _max_row(const floating *x, floating *y, int32_t *arg, const Pool *w, Py_ssize_t t) noexcept nogil:
    """Output row t = (n, i) of any max pooling: each window from its first real cell."""
    cdef Py_ssize_t n = t // w.OH, i = t % w.OH, j, r, c, ch, c0, c1, C = w.C, W = w.W
    cdef Py_ssize_t r0 = _lo(i, w.sh, w.top), r1 = _hi(i, w.ph, w.sh, w.top, w.H)
    cdef floating *yb
    cdef int32_t *ab
    cdef const floating *xb
    cdef floating v
    cdef int32_t where
    for j in range(w.OW):
        c0 = _lo(j, w.sw, w.left)
        c1 = _hi(j, w.pw, w.sw, w.left, W)
        yb = y + (t * w.OW + j) * C
        ab = NULL if arg == NULL else arg + (t * w.OW + j) * C
        xb = x + ((n * w.H + r0) * W + c0) * C
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
                xb = x + ((n * w.H + r) * W + c) * C
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
                           floating[:, :, :, ::1] dx, isa=None):
    """dx (OUT, (N, H, W, C), fully written) = dy (IN, (N, OH, OW, C)) scatter-added to the cells
    arg (IN, dy's shape) names, zero elsewhere.

    Each image is done by one thread, while it is in cache.  Where its (int32) indices all lie in
    their 2x2 stride-2 windows, as a 2x2 max pooling's do, every cell of dx is written once, dy
    or zero (the kernel table's pool family); otherwise the image is zeroed and scattered.  Returns False (and
    leaves dx partly written) if an index is outside [0, H*W).
    """
    cdef Pool w = _pool(None, dx.shape[0], dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[1], dy.shape[2])
    cdef int nt = threads_for(dx.size, 4 * T.pool_par_min, w.N)
    cdef int rc
    check_shape("max_pool_backward_into", "dy", dims(dy.shape, 4), (w.N, w.OH, w.OW, w.C))
    check_shape("max_pool_backward_into", "arg", dims(arg.shape, 4), dims(dy.shape, 4))
    if dx.size == 0:
        return True
    w.x, w.y, w.dbl, w.idx64 = &dy[0, 0, 0, 0] if dy.size else NULL, &dx[0, 0, 0, 0], floating is double, index_t is int64_t
    w.kt = table(isa)
    w.arg = <void *>(&arg[0, 0, 0, 0]) if arg.size else NULL
    with nogil:
        rc = minicnn_parallel_for(w.N, nt, 0, False, False, _max_back_unit, &w)
    return rc == 0


cdef int _max_back_unit(void *ctx, ptrdiff_t n, void *scratch) noexcept nogil:
    """Image n of dx; 1 if one of its indices is outside [0, H*W)."""
    cdef Pool *w = <Pool *>ctx
    if w.dbl:
        if w.idx64:
            return _max_back_image(<const double *>w.x, <const int64_t *>w.arg, <double *>w.y, w, n)
        return _max_back_image(<const double *>w.x, <const int32_t *>w.arg, <double *>w.y, w, n)
    if w.idx64:
        return _max_back_image(<const float *>w.x, <const int64_t *>w.arg, <float *>w.y, w, n)
    return _max_back_image(<const float *>w.x, <const int32_t *>w.arg, <float *>w.y, w, n)


cdef int _max_back_image(const floating *dy, const index_t *arg, floating *dx, const Pool *w,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t HW = w.H * w.W, C = w.C, plane = w.OH * w.OW, i, ch, p
    cdef floating *dxn = dx + n * HW * C
    cdef const floating *g = dy + n * plane * C
    cdef const index_t *a = arg + n * plane * C
    cdef int bad = 0
    if index_t is int32_t:  # (a compile-time branch: the 2x2 kernels take int32 indices)
        if floating is float:
            if plane > 0 and w.kt.pool.max2x2_back_f32(g, a, dxn, w.OH, w.OW, C, w.H, w.W):
                return 0
        else:
            if plane > 0 and w.kt.pool.max2x2_back_f64(g, a, dxn, w.OH, w.OW, C, w.H, w.W):
                return 0
    memset(dxn, 0, HW * C * sizeof(floating))
    for i in range(plane):
        for ch in range(C):
            p = a[i * C + ch]
            if p < 0 or p >= HW:
                bad = 1
            else:
                dxn[p * C + ch] += g[i * C + ch]
    return bad


def avg_pool_forward_into(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """y (OUT, (N, OH, OW, C)) = the mean of the real cells of each window of x (IN, (N, H, W, C))."""
    cdef Pool w = _pool("avg_pool_forward_into", x.shape[0], x.shape[1], x.shape[2], x.shape[3], y.shape[1],
                        y.shape[2], ph, pw, sh, sw, top, left)
    check_shape("avg_pool_forward_into", "y", dims(y.shape, 4), (w.N, w.OH, w.OW, w.C))
    if y.size == 0:
        return
    w.x, w.y, w.dbl = &x[0, 0, 0, 0], &y[0, 0, 0, 0], floating is double
    with nogil:
        _run_avg(&w, w.N * w.OH, _avg_unit)


cdef int _avg_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef Pool *w = <Pool *>ctx
    if w.dbl:
        _avg_row(<const double *>w.x, <double *>w.y, w, t)
    else:
        _avg_row(<const float *>w.x, <float *>w.y, w, t)
    return 0


cdef void _avg_row(const floating *x, floating *y, const Pool *w, Py_ssize_t t) noexcept nogil:
    """Output row t = (n, i) of an average pooling."""
    cdef Py_ssize_t n = t // w.OH, i = t % w.OH, j, r, c, ch, c0, c1, C = w.C, W = w.W
    cdef Py_ssize_t r0 = _lo(i, w.sh, w.top), r1 = _hi(i, w.ph, w.sh, w.top, w.H)
    cdef floating *yb
    cdef const floating *xb
    cdef floating inv
    for j in range(w.OW):
        c0 = _lo(j, w.sw, w.left)
        c1 = _hi(j, w.pw, w.sw, w.left, W)
        yb = y + (t * w.OW + j) * C
        for ch in range(C):
            yb[ch] = 0
        for r in range(r0, r1):
            for c in range(c0, c1):
                xb = x + ((n * w.H + r) * W + c) * C
                for ch in range(C):
                    yb[ch] = yb[ch] + xb[ch]
        inv = 1.0 / ((r1 - r0) * (c1 - c0))
        for ch in range(C):
            yb[ch] = yb[ch] * inv


def avg_pool_backward_into(const floating[:, :, :, ::1] dy, floating[:, :, :, ::1] dx,
                           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top, Py_ssize_t left):
    """dx (IN/OUT, (N, H, W, C), zeroed by the caller) += each dy (IN, (N, OH, OW, C)) cell shared
    equally by its window's real cells."""
    cdef Pool w = _pool("avg_pool_backward_into", dx.shape[0], dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[1],
                        dy.shape[2], ph, pw, sh, sw, top, left)
    check_shape("avg_pool_backward_into", "dy", dims(dy.shape, 4), (w.N, w.OH, w.OW, w.C))
    if dy.size == 0:
        return
    w.x, w.y, w.dbl = &dy[0, 0, 0, 0], &dx[0, 0, 0, 0], floating is double
    with nogil:
        _run_avg(&w, w.N, _avg_back_unit)


cdef int _avg_back_unit(void *ctx, ptrdiff_t n, void *scratch) noexcept nogil:
    cdef Pool *w = <Pool *>ctx
    if w.dbl:
        _avg_back_image(<const double *>w.x, <double *>w.y, w, n)
    else:
        _avg_back_image(<const float *>w.x, <float *>w.y, w, n)
    return 0


cdef void _avg_back_image(const floating *dy, floating *dx, const Pool *w, Py_ssize_t n) noexcept nogil:
    """Image n of an average pooling's input gradient (added to dx)."""
    cdef Py_ssize_t i, j, r, c, ch, r0, r1, c0, c1, C = w.C, W = w.W
    cdef floating *dxb
    cdef const floating *g
    cdef floating inv
    for i in range(w.OH):
        r0 = _lo(i, w.sh, w.top)
        r1 = _hi(i, w.ph, w.sh, w.top, w.H)
        for j in range(w.OW):
            c0 = _lo(j, w.sw, w.left)
            c1 = _hi(j, w.pw, w.sw, w.left, W)
            g = dy + ((n * w.OH + i) * w.OW + j) * C
            inv = 1.0 / ((r1 - r0) * (c1 - c0))
            for r in range(r0, r1):
                for c in range(c0, c1):
                    dxb = dx + ((n * w.H + r) * W + c) * C
                    for ch in range(C):
                        dxb[ch] = dxb[ch] + g[ch] * inv


def global_avg_forward_into(const floating[:, :, ::1] x, floating[:, ::1] y):
    """y (OUT, (N, C)) = the mean over axis 1 of x (IN, (N, H*W, C), H*W >= 1)."""
    cdef Pool w = _pool(None, x.shape[0], x.shape[1], 1, x.shape[2], 1, 1)
    check_shape("global_avg_forward_into", "y", dims(y.shape, 2), (w.N, w.C))
    check_at_least("global_avg_forward_into", "x.shape[1] (cells to pool)", w.H, 1)
    if y.size == 0:
        return
    w.x, w.y, w.dbl = &x[0, 0, 0], &y[0, 0], floating is double
    with nogil:
        minicnn_parallel_for(w.N, clamp_threads(w.N), 0, False, False, _global_avg_unit, &w)


cdef int _global_avg_unit(void *ctx, ptrdiff_t n, void *scratch) noexcept nogil:
    cdef Pool *w = <Pool *>ctx
    if w.dbl:
        _global_avg_image(<const double *>w.x + n * w.H * w.C, <double *>w.y + n * w.C, w.H, w.C)
    else:
        _global_avg_image(<const float *>w.x + n * w.H * w.C, <float *>w.y + n * w.C, w.H, w.C)
    return 0


cdef void _global_avg_image(const floating *x, floating *y, Py_ssize_t HW, Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t p, ch
    cdef floating inv = 1.0 / HW
    for ch in range(C):
        y[ch] = 0
    for p in range(HW):
        for ch in range(C):
            y[ch] = y[ch] + x[p * C + ch]
    for ch in range(C):
        y[ch] = y[ch] * inv
