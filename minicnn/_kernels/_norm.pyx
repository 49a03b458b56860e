"""Batch-normalisation kernels over an (M, C) view: C normalised channels, contiguous in each row.

norm.py validates, reshapes and allocates; here every array is C-contiguous and of one dtype
(per-channel statistics and sums in double).  The channels-last case (NHWC activations, or
(batch, features)) is exactly this view, with M = N * H * W.

Blocks: every kernel cuts the rows into fixed blocks of ``block_rows(C)`` rows (about
bn_block_elems elements of the tuning table, so a block stays in L1 while it is read twice).  Blocks are independent:
the reductions write one slot of double partial results per block and add (or merge) the slots
serially in block order afterwards; the elementwise passes write disjoint rows.  The block size
depends on C only, so results are bitwise identical at any thread count; threads take whole
blocks (dynamically: a core taken by another process does not hold the others up).

Row groups: with few channels (CNNs have 16-64) a loop over one row's C channels is too short to
vectorise well.  The serial cores therefore walk a block as flat runs of ``L = group_len(C)``
elements (a whole number of rows, >= bn_group_min elements), with the per-channel parameters
repeated L / C times.  Reductions accumulate L lanes, eight at a time in local variables (held
in registers), walking down the block; the lanes are folded into C channels at the end of the
block (a fixed order too).

Statistics are numerically sound for any offset: each block's mean and sum of squared deviations
are computed two-pass from cache (one read of x from memory), in double, and the blocks are
merged with Chan et al.'s pairwise update (never E[x^2] - E[x]^2).
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport check_shape, dims, floating, minicnn_parallel_for, minicnn_unit_fn
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()

cdef inline Py_ssize_t _block_rows(Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t b = T.bn_block_elems // C if C > 0 else T.bn_block_elems
    return b if b > T.bn_min_block_rows else T.bn_min_block_rows


cdef inline Py_ssize_t _group_len(Py_ssize_t C) noexcept nogil:
    if C >= T.bn_group_min:
        return C
    return C * ((T.bn_group_min + C - 1) // C)


def block_rows(Py_ssize_t C):
    """Rows per block for C channels (depends on C only; exposed for tests)."""
    return _block_rows(C)


def group_len(Py_ssize_t C):
    """Length of the flat runs the serial cores walk for C channels (exposed for tests)."""
    return _group_len(C)


cdef floating *_repeat(const floating *v, Py_ssize_t C, Py_ssize_t L) noexcept nogil:
    """A new array (malloc; NULL if out of memory) holding v (IN, (C,)) repeated to length L."""
    cdef floating *out = <floating *>malloc(L * sizeof(floating))
    cdef Py_ssize_t i
    if out != NULL:
        for i in range(L):
            out[i] = v[i % C]
    return out


# ------------------------------------------------------------------ serial cores (one row block each)
# Plain pointers as arguments: the compiler keeps them in registers and vectorises the flat loops
# (read through an OpenMP region's shared data, every store might alias them).

cdef inline void _fold(const double *lanes, Py_ssize_t L, Py_ssize_t C, double *out) noexcept nogil:
    """out (OUT, (C,)) = the L lanes (IN) summed per channel, lane j * C + c into channel c."""
    cdef Py_ssize_t j, c
    for c in range(C):
        out[c] = lanes[c]
    j = C
    while j < L:
        for c in range(C):
            out[c] += lanes[j + c]
        j += C


cdef inline void _lane_sums(const floating *x, Py_ssize_t n, Py_ssize_t L, const double *shift,
                            double *out) noexcept nogil:
    """out[i] (OUT, L lanes) = the sum over x[i], x[i + L], x[i + 2L], ... (IN, n elements) of
    the values themselves when ``shift`` is NULL, else of ``(x - shift[i])^2`` (shift IN, L lanes).

    Eight lanes at a time in local accumulators, so they stay in registers (an accumulator array
    would be loaded and stored for every element); the order of each lane's sum is fixed by n and L.
    """
    cdef Py_ssize_t ng = n // L, rem = n - ng * L, i0, i, g
    cdef const floating *p
    cdef double a0, a1, a2, a3, a4, a5, a6, a7, d
    cdef double m0 = 0, m1 = 0, m2 = 0, m3 = 0, m4 = 0, m5 = 0, m6 = 0, m7 = 0
    i0 = 0
    while i0 + 8 <= L:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0
        p = x + i0
        if shift == NULL:
            for g in range(ng):
                a0 += p[0]
                a1 += p[1]
                a2 += p[2]
                a3 += p[3]
                a4 += p[4]
                a5 += p[5]
                a6 += p[6]
                a7 += p[7]
                p += L
        else:
            m0 = shift[i0]
            m1 = shift[i0 + 1]
            m2 = shift[i0 + 2]
            m3 = shift[i0 + 3]
            m4 = shift[i0 + 4]
            m5 = shift[i0 + 5]
            m6 = shift[i0 + 6]
            m7 = shift[i0 + 7]
            for g in range(ng):
                a0 += (p[0] - m0) * (p[0] - m0)
                a1 += (p[1] - m1) * (p[1] - m1)
                a2 += (p[2] - m2) * (p[2] - m2)
                a3 += (p[3] - m3) * (p[3] - m3)
                a4 += (p[4] - m4) * (p[4] - m4)
                a5 += (p[5] - m5) * (p[5] - m5)
                a6 += (p[6] - m6) * (p[6] - m6)
                a7 += (p[7] - m7) * (p[7] - m7)
                p += L
        out[i0] = a0
        out[i0 + 1] = a1
        out[i0 + 2] = a2
        out[i0 + 3] = a3
        out[i0 + 4] = a4
        out[i0 + 5] = a5
        out[i0 + 6] = a6
        out[i0 + 7] = a7
        i0 += 8
    for i in range(i0, L):
        a0 = 0
        for g in range(ng):
            if shift == NULL:
                a0 += x[g * L + i]
            else:
                d = x[g * L + i] - shift[i]
                a0 += d * d
        out[i] = a0
    p = x + ng * L  # the last, partial group: lanes i < rem
    for i in range(rem):
        if shift == NULL:
            out[i] += p[i]
        else:
            d = p[i] - shift[i]
            out[i] += d * d


cdef inline void _stats_block(const floating *x, Py_ssize_t n, Py_ssize_t C, Py_ssize_t L,
                              double *acc, double *am, double *aq) noexcept nogil:
    """am (OUT, (C,)) = the mean of x (IN, n elements = whole rows of C), aq (OUT, (C,)) = the sum
    of squared deviations from it.  acc: scratch of 2 L doubles."""
    cdef Py_ssize_t i, c
    cdef double *mrep = acc + L
    cdef double rows = n // C
    _lane_sums(x, n, L, NULL, acc)
    _fold(acc, L, C, am)
    for c in range(C):
        am[c] /= rows  # a division: the mean of equal values is then exactly that value
    for i in range(L):
        mrep[i] = am[i % C]
    _lane_sums(x, n, L, mrep, acc)
    _fold(acc, L, C, aq)


cdef inline void _normalize_flat(const floating *x, floating *y, Py_ssize_t n, Py_ssize_t L,
                                 const floating *mean, const floating *scale, const floating *shift,
                                 bint relu) noexcept nogil:
    """y (OUT, n) = (x - mean) * scale + shift, then max(., 0) if relu; x (IN, n elements = whole
    rows); mean, scale, shift (IN) repeated to L."""
    cdef Py_ssize_t s, i, m
    cdef floating v
    s = 0
    while s < n:
        m = L if s + L <= n else n - s
        for i in range(m):
            y[s + i] = (x[s + i] - mean[i]) * scale[i] + shift[i]
        if relu:
            for i in range(m):
                v = y[s + i]
                # a select, so a NaN stays NaN as with np.maximum
                y[s + i] = 0 if v < 0 else v
        s += L


cdef inline void _sums_block(const floating *g, const floating *x, Py_ssize_t n, Py_ssize_t C, Py_ssize_t L,
                             const floating *mean, double *acc, double *a_s, double *a_x) noexcept nogil:
    """a_s (OUT, (C,)) = the sum of g (IN, n elements = whole rows), a_x (OUT, (C,)) = the sum of
    g * (x - mean) with x (IN, n) and mean (IN) repeated to L.  acc: scratch of 2 L doubles.

    As in _lane_sums: eight lanes at a time in local accumulators, then the partial last group."""
    cdef Py_ssize_t ng = n // L, rem = n - ng * L, i0, i, k
    cdef double *ax = acc + L
    cdef const floating *gp
    cdef const floating *xp
    cdef double s0, s1, s2, s3, s4, s5, s6, s7
    cdef double t0, t1, t2, t3, t4, t5, t6, t7
    cdef floating m0, m1, m2, m3, m4, m5, m6, m7
    cdef floating xc
    i0 = 0
    while i0 + 8 <= L:
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = 0
        m0 = mean[i0 + 0]
        m1 = mean[i0 + 1]
        m2 = mean[i0 + 2]
        m3 = mean[i0 + 3]
        m4 = mean[i0 + 4]
        m5 = mean[i0 + 5]
        m6 = mean[i0 + 6]
        m7 = mean[i0 + 7]
        gp = g + i0
        xp = x + i0
        for k in range(ng):
            s0 += gp[0]
            s1 += gp[1]
            s2 += gp[2]
            s3 += gp[3]
            s4 += gp[4]
            s5 += gp[5]
            s6 += gp[6]
            s7 += gp[7]
            # x - mean rounded to x's dtype, as the forward pass forms it
            t0 += <double>gp[0] * <floating>(xp[0] - m0)
            t1 += <double>gp[1] * <floating>(xp[1] - m1)
            t2 += <double>gp[2] * <floating>(xp[2] - m2)
            t3 += <double>gp[3] * <floating>(xp[3] - m3)
            t4 += <double>gp[4] * <floating>(xp[4] - m4)
            t5 += <double>gp[5] * <floating>(xp[5] - m5)
            t6 += <double>gp[6] * <floating>(xp[6] - m6)
            t7 += <double>gp[7] * <floating>(xp[7] - m7)
            gp += L
            xp += L
        acc[i0 + 0] = s0
        acc[i0 + 1] = s1
        acc[i0 + 2] = s2
        acc[i0 + 3] = s3
        acc[i0 + 4] = s4
        acc[i0 + 5] = s5
        acc[i0 + 6] = s6
        acc[i0 + 7] = s7
        ax[i0 + 0] = t0
        ax[i0 + 1] = t1
        ax[i0 + 2] = t2
        ax[i0 + 3] = t3
        ax[i0 + 4] = t4
        ax[i0 + 5] = t5
        ax[i0 + 6] = t6
        ax[i0 + 7] = t7
        i0 += 8
    for i in range(i0, L):
        s0 = 0
        t0 = 0
        for k in range(ng):
            s0 += g[k * L + i]
            xc = x[k * L + i] - mean[i]
            t0 += <double>g[k * L + i] * xc
        acc[i] = s0
        ax[i] = t0
    gp = g + ng * L  # the last, partial group: lanes i < rem
    xp = x + ng * L
    for i in range(rem):
        xc = xp[i] - mean[i]
        acc[i] += gp[i]
        ax[i] += <double>gp[i] * xc
    _fold(acc, L, C, a_s)
    _fold(ax, L, C, a_x)


cdef inline void _input_grad_flat(const floating *g, const floating *x, floating *gx, Py_ssize_t n, Py_ssize_t L,
                                  const floating *mean, const floating *a, const floating *b, const floating *k,
                                  bint training) noexcept nogil:
    """gx (OUT, n) = a * ((g - b) - (x - mean) * k) if training else a * g; g, x (IN, n elements =
    whole rows); mean, a, b, k (IN) repeated to L."""
    cdef Py_ssize_t s, i, m
    s = 0
    while s < n:
        m = L if s + L <= n else n - s
        if training:
            for i in range(m):
                gx[s + i] = a[i] * ((g[s + i] - b[i]) - (x[s + i] - mean[i]) * k[i])
        else:
            for i in range(m):
                gx[s + i] = a[i] * g[s + i]
        s += L


# ------------------------------------------------------------------ the kernels

cdef struct Blocks:
    # one call's arguments for the parallel loop's units (row blocks of B rows of an (M, C) view)
    const void *x        # IN (M, C)
    const void *g        # IN (M, C): the gradient, or NULL
    void *y              # OUT (M, C), or NULL
    const void *v0       # IN: per-channel vectors, repeated to L (mean, scale/a, shift/b, k)
    const void *v1
    const void *v2
    const void *v3
    double *p0           # OUT: per-block partial results (nblk, C), or NULL
    double *p1
    Py_ssize_t M, C, B, L
    bint flag, dbl       # relu (normalize) or training (input gradient)


cdef Blocks _blocks(Py_ssize_t M, Py_ssize_t C, bint dbl) noexcept nogil:
    cdef Blocks w
    w.x = w.g = w.v0 = w.v1 = w.v2 = w.v3 = NULL
    w.y = NULL
    w.p0 = w.p1 = NULL
    w.M, w.C, w.B, w.L, w.flag, w.dbl = M, C, _block_rows(C), _group_len(C), False, dbl
    return w


cdef inline Py_ssize_t _nblk(const Blocks *w) noexcept nogil:
    return (w.M + w.B - 1) // w.B


cdef inline Py_ssize_t _rows_of(const Blocks *w, Py_ssize_t blk) noexcept nogil:
    """Rows in block blk."""
    return w.B if (blk + 1) * w.B <= w.M else w.M - blk * w.B


cdef int _run(Blocks *w, minicnn_unit_fn fn, size_t scratch_bytes) noexcept nogil:
    """fn over every row block of w, on the threads the size allows; subnormals flushed."""
    cdef Py_ssize_t nblk = _nblk(w)
    return minicnn_parallel_for(nblk, threads_for(w.M * w.C, T.bn_par_min, nblk), scratch_bytes,
                                w.M * w.C >= T.flush_min_work, True, fn, w)


def bn_stats_into(const floating[:, ::1] x, double[::1] mean, double[::1] var):
    """mean, var (OUT, (C,) double) = per-channel mean and biased variance of x (IN, (M, C), M >= 1).

    Per block: the block mean, then the sum of squared deviations from it (the block is still in
    cache); then the blocks are merged in order:  delta = m_b - m,  m += delta * n_b / n',
    M2 += M2_b + delta^2 * n * n_b / n'  with n' = n + n_b.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], nblk, blk, c
    cdef Blocks w = _blocks(M, C, floating is double)
    cdef double *am
    cdef double *aq
    cdef double n, nb, tot, wm, wq, delta
    cdef int failed
    check_shape("bn_stats_into", "mean", dims(mean.shape, 1), (C,))
    check_shape("bn_stats_into", "var", dims(var.shape, 1), (C,))
    if M == 0 or C == 0:
        raise ValueError(f"bn_stats_into: x shape ({M}, {C}) has no elements")
    nblk = _nblk(&w)
    w.x = &x[0, 0]
    w.p0 = <double *>malloc(nblk * C * sizeof(double))
    w.p1 = <double *>malloc(nblk * C * sizeof(double))
    if w.p0 == NULL or w.p1 == NULL:
        free(w.p0)
        free(w.p1)
        raise MemoryError("bn_stats_into: could not allocate scratch memory")
    with nogil:
        failed = _run(&w, _stats_unit, 2 * w.L * sizeof(double))
    if failed:
        free(w.p0)
        free(w.p1)
        raise MemoryError("bn_stats_into: could not allocate scratch memory")
    with nogil:
        for c in range(C):
            mean[c] = w.p0[c]
            var[c] = w.p1[c]
        n = w.B if w.B < M else M
        for blk in range(1, nblk):
            nb = _rows_of(&w, blk)
            tot = n + nb
            wm = nb / tot
            wq = n * nb / tot
            am = w.p0 + blk * C
            aq = w.p1 + blk * C
            for c in range(C):
                delta = am[c] - mean[c]
                mean[c] = mean[c] + delta * wm
                var[c] = var[c] + aq[c] + delta * delta * wq
            n = tot
        for c in range(C):
            var[c] = var[c] / M
    free(w.p0)
    free(w.p1)


cdef int _stats_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Block blk's mean and sum of squared deviations into its slots; scratch: 2 L doubles."""
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        _stats_block(<const double *>w.x + off, n, w.C, w.L, <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    else:
        _stats_block(<const float *>w.x + off, n, w.C, w.L, <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    return 0


def bn_normalize_into(const floating[:, ::1] x, const floating[::1] mean, const floating[::1] scale,
                      const floating[::1] shift, floating[:, ::1] y, bint relu=False):
    """y (OUT, (M, C)) = (x - mean) * scale + shift for x (IN, (M, C)) and per-channel mean,
    scale, shift (IN, (C,)); then max(y, 0) when ``relu``.  One pass; y may not alias x.

    ``scale = inv_std * gamma`` and ``shift = beta`` make batch normalisation's affine step.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Blocks w = _blocks(M, C, floating is double)
    cdef int failed
    for name, v in (("mean", mean), ("scale", scale), ("shift", shift)):
        check_shape("bn_normalize_into", name, (len(v),), (C,))
    check_shape("bn_normalize_into", "y", dims(y.shape, 2), (M, C))
    if M == 0 or C == 0:
        return
    w.x, w.y, w.flag = &x[0, 0], &y[0, 0], relu
    w.v0, w.v1, w.v2 = _repeat(&mean[0], C, w.L), _repeat(&scale[0], C, w.L), _repeat(&shift[0], C, w.L)
    failed = w.v0 == NULL or w.v1 == NULL or w.v2 == NULL
    if not failed:
        with nogil:
            _run(&w, _normalize_unit, 0)
    free(<void *>w.v0)
    free(<void *>w.v1)
    free(<void *>w.v2)
    if failed:
        raise MemoryError("bn_normalize_into: could not allocate scratch memory")


cdef int _normalize_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        _normalize_flat(<const double *>w.x + off, <double *>w.y + off, n, w.L, <const double *>w.v0,
                        <const double *>w.v1, <const double *>w.v2, w.flag)
    else:
        _normalize_flat(<const float *>w.x + off, <float *>w.y + off, n, w.L, <const float *>w.v0,
                        <const float *>w.v1, <const float *>w.v2, w.flag)
    return 0


def bn_backward_sums_into(const floating[:, ::1] g, const floating[:, ::1] x, const floating[::1] mean,
                          double[::1] sum_g, double[::1] sum_gxc):
    """sum_g (OUT, (C,)) = sum over rows of g (IN, (M, C));  sum_gxc (OUT, (C,)) = sum over rows of
    g * (x - mean) with x (IN, (M, C)) and mean (IN, (C,)).  One pass over g and x, sums in double.

    ``x - mean`` is rounded to x's dtype first, exactly as bn_normalize_into forms it, so that
    ``sum_gxc * inv_std`` is the gradient of ``gamma`` for the xhat the forward pass used.
    """
    cdef Py_ssize_t M = g.shape[0], C = g.shape[1], nblk, blk, c
    cdef Blocks w = _blocks(M, C, floating is double)
    cdef double *a_s
    cdef double *a_x
    cdef int failed
    check_shape("bn_backward_sums_into", "x", dims(x.shape, 2), (M, C))
    for name, v in (("mean", mean), ("sum_g", sum_g), ("sum_gxc", sum_gxc)):
        check_shape("bn_backward_sums_into", name, (len(v),), (C,))
    if C == 0:
        return
    if M == 0:
        sum_g[:] = 0
        sum_gxc[:] = 0
        return
    nblk = _nblk(&w)
    w.g, w.x = &g[0, 0], &x[0, 0]
    w.p0 = <double *>malloc(nblk * C * sizeof(double))
    w.p1 = <double *>malloc(nblk * C * sizeof(double))
    w.v0 = _repeat(&mean[0], C, w.L)
    failed = w.p0 == NULL or w.p1 == NULL or w.v0 == NULL
    if not failed:
        with nogil:
            failed = _run(&w, _sums_unit, 2 * w.L * sizeof(double)) != 0
    free(<void *>w.v0)
    if failed:
        free(w.p0)
        free(w.p1)
        raise MemoryError("bn_backward_sums_into: could not allocate scratch memory")
    with nogil:
        for c in range(C):
            sum_g[c] = 0
            sum_gxc[c] = 0
        for blk in range(nblk):
            a_s = w.p0 + blk * C
            a_x = w.p1 + blk * C
            for c in range(C):
                sum_g[c] = sum_g[c] + a_s[c]
                sum_gxc[c] = sum_gxc[c] + a_x[c]
    free(w.p0)
    free(w.p1)


cdef int _sums_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Block blk's sums of g and g * (x - mean) into its slots; scratch: 2 L doubles."""
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        _sums_block(<const double *>w.g + off, <const double *>w.x + off, n, w.C, w.L, <const double *>w.v0,
                    <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    else:
        _sums_block(<const float *>w.g + off, <const float *>w.x + off, n, w.C, w.L, <const float *>w.v0,
                    <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    return 0


def bn_backward_input_into(const floating[:, ::1] g, const floating[:, ::1] x, const floating[::1] mean,
                           const floating[::1] a, const floating[::1] b, const floating[::1] k,
                           floating[:, ::1] gx, bint training):
    """gx (OUT, (M, C)) = a * ((g - b) - (x - mean) * k) when ``training``, else a * g;
    g, x (IN, (M, C)); mean, a, b, k (IN, (C,)).  One pass; gx may not alias g or x.

    With a = gamma * inv_std, b = mean(g), k = inv_std^2 * mean(g * (x - mean)) this is batch
    normalisation's input gradient  gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat)).
    Inference: a = gamma * inv_std (the statistics are constants); x, mean, b, k are not read.
    """
    cdef Py_ssize_t M = g.shape[0], C = g.shape[1]
    cdef Blocks w = _blocks(M, C, floating is double)
    cdef int failed
    check_shape("bn_backward_input_into", "x", dims(x.shape, 2), (M, C))
    check_shape("bn_backward_input_into", "gx", dims(gx.shape, 2), (M, C))
    for name, v in (("mean", mean), ("a", a), ("b", b), ("k", k)):
        check_shape("bn_backward_input_into", name, (len(v),), (C,))
    if M == 0 or C == 0:
        return
    w.g, w.x, w.y, w.flag = &g[0, 0], &x[0, 0], &gx[0, 0], training
    w.v0, w.v1 = _repeat(&mean[0], C, w.L), _repeat(&a[0], C, w.L)
    w.v2, w.v3 = _repeat(&b[0], C, w.L), _repeat(&k[0], C, w.L)
    failed = w.v0 == NULL or w.v1 == NULL or w.v2 == NULL or w.v3 == NULL
    if not failed:
        with nogil:
            _run(&w, _input_grad_unit, 0)
    free(<void *>w.v0)
    free(<void *>w.v1)
    free(<void *>w.v2)
    free(<void *>w.v3)
    if failed:
        raise MemoryError("bn_backward_input_into: could not allocate scratch memory")


cdef int _input_grad_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        _input_grad_flat(<const double *>w.g + off, <const double *>w.x + off, <double *>w.y + off, n, w.L,
                         <const double *>w.v0, <const double *>w.v1, <const double *>w.v2, <const double *>w.v3,
                         w.flag)
    else:
        _input_grad_flat(<const float *>w.g + off, <const float *>w.x + off, <float *>w.y + off, n, w.L,
                         <const float *>w.v0, <const float *>w.v1, <const float *>w.v2, <const float *>w.v3,
                         w.flag)
    return 0
