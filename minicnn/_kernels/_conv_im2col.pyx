"""Convolution by im2col + GEMM, channels-last (the IM2COL, POINTWISE, FLIPPED's inner forward
and ROW_PARTS plans of _conv.pyx).

The rows of the im2col matrix are output pixels (n, oh, ow) and its columns (kh, kw, c) -- the
order of the kernel's rows, so ``cols @ kernel.reshape(K, F)`` writes NHWC output directly.  A
1x1, stride-1, unpadded conv (POINTWISE) reads the input as its own im2col matrix.

Scratch: each thread holds one block of the plan's ``rows`` im2col rows (about ``cols_budget``
bytes with the matching output rows), so the batch is never materialised.  glibc keeps blocks of
this size in its arenas once one has been freed (its mmap threshold adapts upwards), so later
calls reuse the memory without page faults.

Threads: one parallel loop per call, serial GEMMs inside (num_threads=1).  Every output element
is computed by one thread in a fixed order, so results do not depend on the thread count:
  forward          rows (output pixels) are independent: blocks of rows across threads;
  backward input   col2im overlaps within an image: groups of whole images across threads;
  backward kernel  a sum over all pixels: ranges of dkernel rows (im2col columns) or of filters
                   across threads, each summing the plan's fixed row blocks in order; or
                   (ROW_PARTS) fixed partial sums over row ranges, added in order.
When there are fewer work units than threads the loop runs serially and the GEMM gets the
threads.  Units are handed out dynamically (a core taken by another process then does not hold
the others up); that changes who computes a unit, never how.
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from minicnn._kernels._common cimport floating, minicnn_fp_enter, minicnn_fp_exit, minicnn_parallel_for
from minicnn._kernels._conv_types cimport ROW_PARTS, ConvCall, Geom, bn_epilogue, macs
from minicnn._kernels._dispatch cimport minicnn_kernel_table
from minicnn._kernels._gemm cimport sgemm, dgemm
from minicnn._kernels._openmp cimport clamp_threads, max_threads, threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()


cdef struct Work:
    # one call's arguments for the parallel loop's units
    const ConvCall *c
    void *acc             # ROW_PARTS: the partial gradients (parts x K x F)
    Py_ssize_t rows       # rows per block (a unit's block, or the plan's)
    Py_ssize_t per        # input gradient: images per unit; kernel gradient: 0 = ranges of dk rows, 1 = of filters
    Py_ssize_t n          # units


cdef inline int _threads(const Geom *g, Py_ssize_t chunks) noexcept nogil:
    return threads_for(macs(g), T.conv_par_min, chunks)


cdef inline Py_ssize_t _unit_rows(Py_ssize_t rows, Py_ssize_t M, int nt) noexcept nogil:
    """Rows per work unit: at most ``rows`` (the scratch block), small enough for
    units_per_thread units per thread, at least min_unit_rows; a multiple of 8."""
    cdef Py_ssize_t r = (M + T.units_per_thread * nt - 1) // (T.units_per_thread * nt)
    r = (r + 7) // 8 * 8
    if r < T.min_unit_rows:
        r = T.min_unit_rows
    return r if r < rows else rows


cdef inline int _gemm(const minicnn_kernel_table *kt, bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                      floating beta, floating *c, Py_ssize_t ldc, int nt, bint flush) noexcept nogil:
    if floating is float:
        return sgemm(kt, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt, flush)
    else:
        return dgemm(kt, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt, flush)


cdef inline void _copy(floating *dst, const floating *src, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if n >= 16:
        memcpy(dst, src, n * sizeof(floating))
    else:
        for i in range(n):
            dst[i] = src[i]


cdef inline void _add(floating *dst, const floating *src, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        dst[i] += src[i]


cdef inline void _next_pixel(const Geom *g, Py_ssize_t *n, Py_ssize_t *oh, Py_ssize_t *ow) noexcept nogil:
    """(n, oh, ow) (IN/OUT) steps to the next output pixel: the im2col rows are walked in order
    instead of dividing per row."""
    ow[0] += 1
    if ow[0] == g.OW:
        ow[0], oh[0] = 0, oh[0] + 1
        if oh[0] == g.OH:
            oh[0], n[0] = 0, n[0] + 1


cdef void _im2col(const floating *x, floating *cols, const Geom *g, Py_ssize_t grp,
                  Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    """cols (OUT, (r1 - r0) x (k1 - k0)) = columns [k0, k1) of the im2col rows [r0, r1), group grp.

    Column k of a row is tap (a, b) = divmod(k // Cg, kw), channel k % Cg.  x (IN) is (N, H, W, C);
    cells in the padding are zeros.  With one group and dilation 1 along W, the columns of one
    kernel row are a single contiguous run of the input row, copied at once.
    """
    cdef Py_ssize_t Cg = g.Cg, C = g.C, W = g.W, H = g.H, kw = g.kw, OW = g.OW
    cdef Py_ssize_t ld = k1 - k0, plane = g.OH * OW, rowlen = kw * Cg
    cdef Py_ssize_t r, n, oh, ow, a, b, b0, b1, q0, q1, c0, c1, ih, iw, iw0, a0, a1
    cdef floating *dst
    cdef const floating *src
    cdef bint runs = g.dw == 1 and g.groups == 1
    a0 = k0 // rowlen
    a1 = (k1 - 1) // rowlen + 1
    n, oh, ow = r0 // plane, (r0 % plane) // OW, r0 % OW - 1
    for r in range(r0, r1):
        _next_pixel(g, &n, &oh, &ow)
        dst = cols + (r - r0) * ld
        for a in range(a0, a1):
            q0 = k0 - a * rowlen  # this kernel row's columns [q0, q1)
            if q0 < 0:
                q0 = 0
            q1 = k1 - a * rowlen
            if q1 > rowlen:
                q1 = rowlen
            ih = oh * g.sh + a * g.dh - g.pt
            if ih < 0 or ih >= H:
                memset(dst, 0, (q1 - q0) * sizeof(floating))
                dst += q1 - q0
                continue
            b0 = q0 // Cg
            b1 = (q1 - 1) // Cg + 1
            iw0 = ow * g.sw - g.pl
            src = x + ((n * H + ih) * W) * C + grp * Cg
            if runs and iw0 + b0 >= 0 and iw0 + b1 <= W:
                _copy(dst, src + iw0 * C + q0, q1 - q0)
                dst += q1 - q0
                continue
            for b in range(b0, b1):
                c0 = q0 - b * Cg
                if c0 < 0:
                    c0 = 0
                c1 = q1 - b * Cg
                if c1 > Cg:
                    c1 = Cg
                iw = iw0 + b * g.dw
                if 0 <= iw < W:
                    _copy(dst, src + iw * C + c0, c1 - c0)
                else:
                    memset(dst, 0, (c1 - c0) * sizeof(floating))
                dst += c1 - c0


cdef void _col2im(const floating *cols, floating *dx, const Geom *g, Py_ssize_t grp,
                  Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """dx (IN/OUT, (N, H, W, C)) += the columns of cols (IN, (r1 - r0) x K) at the cells they came from."""
    cdef Py_ssize_t Cg = g.Cg, plane = g.OH * g.OW
    cdef Py_ssize_t r, n, oh, ow, a, b, ih, iw
    cdef const floating *src
    cdef floating *dst
    cdef bint runs = g.dw == 1 and g.groups == 1
    n, oh, ow = r0 // plane, (r0 % plane) // g.OW, r0 % g.OW - 1
    for r in range(r0, r1):
        _next_pixel(g, &n, &oh, &ow)
        src = cols + (r - r0) * g.K
        for a in range(g.kh):
            ih = oh * g.sh + a * g.dh - g.pt
            if ih < 0 or ih >= g.H:
                src += g.kw * Cg
                continue
            dst = dx + ((n * g.H + ih) * g.W) * g.C + grp * Cg
            iw = ow * g.sw - g.pl
            if runs and iw >= 0 and iw + g.kw <= g.W:
                _add(dst + iw * g.C, src, g.kw * Cg)
                src += g.kw * Cg
                continue
            for b in range(g.kw):
                iw = ow * g.sw + b * g.dw - g.pl
                if 0 <= iw < g.W:
                    _add(dst + iw * g.C, src, Cg)
                src += Cg



# ------------------------------------------------------------------ forward

cdef int _forward_block(const floating *x, const floating *k, const floating *bias, floating *y,
                        floating *cols, const Geom *g, const minicnn_kernel_table *kt, Py_ssize_t r0,
                        Py_ssize_t r1, bint relu) noexcept nogil:
    """y rows [r0, r1) (OUT) = im2col(x) @ kernel + bias (then max(., 0) with relu), group by group.

    Bias and ReLU are applied here, on rows the GEMM has just written (still in cache), instead
    of in separate passes over the whole output."""
    cdef Py_ssize_t grp, r, f, m = r1 - r0, F = g.F, Fg = g.Fg
    cdef int rc = 0
    cdef const floating *a
    cdef Py_ssize_t lda
    cdef floating *yr
    for grp in range(g.groups):
        if g.pointwise:
            a = x + r0 * g.C + grp * g.Cg
            lda = g.C
        else:
            _im2col(x, cols, g, grp, r0, r1, 0, g.K)
            a = cols
            lda = g.K
        rc |= _gemm(kt, False, False, m, g.Fg, g.K, a, lda, k + grp * g.Fg, g.F, <floating>0,
                    y + r0 * g.F + grp * g.Fg, g.F, 1, g.flush)
        if bias != NULL:
            for r in range(m):
                yr = y + (r0 + r) * F + grp * Fg
                for f in range(Fg):
                    yr[f] = yr[f] + bias[grp * Fg + f]
        if relu:
            for r in range(m):
                yr = y + (r0 + r) * F + grp * Fg
                for f in range(Fg):
                    # "y < 0" (not "y > 0") so that NaN passes through, as np.maximum(y, 0) does
                    yr[f] = 0 if yr[f] < 0 else yr[f]
    return rc


cdef int forward(const ConvCall *c) noexcept nogil:
    """y (OUT) = conv(x, k) + bias (then ReLU), in row blocks across threads."""
    cdef const Geom *g = &c.g
    cdef Py_ssize_t M = g.N * g.OH * g.OW
    cdef Work w
    w.c = c
    w.rows = _unit_rows(c.plan.rows, M, max_threads())  # rows are independent: any split gives the same output
    w.n = (M + w.rows - 1) // w.rows
    return minicnn_parallel_for(w.n, _threads(g, w.n), w.rows * g.K * (8 if c.dbl else 4), g.flush, True,
                                _forward_unit, &w)


cdef int _forward_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk of the output (w.rows rows); scratch: the block's im2col rows."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t M = c.g.N * c.g.OH * c.g.OW, r0 = blk * w.rows
    cdef Py_ssize_t r1 = r0 + w.rows if r0 + w.rows < M else M
    cdef int rc
    if c.dbl:
        rc = _forward_block(<const double *>c.x, <const double *>c.k, <const double *>c.aux, <double *>c.out,
                            <double *>scratch, &c.g, c.kt, r0, r1, c.relu)
    else:
        rc = _forward_block(<const float *>c.x, <const float *>c.k, <const float *>c.aux, <float *>c.out,
                            <float *>scratch, &c.g, c.kt, r0, r1, c.relu)
    bn_epilogue(c, r0, r1)
    return rc


# ------------------------------------------------------------------ backward w.r.t. the input

cdef int _input_images(const floating *dy, const floating *k, floating *dx, floating *cols,
                       const Geom *g, const minicnn_kernel_table *kt, Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t rows,
                       int nt) noexcept nogil:
    """dx[n0:n1] (OUT) = col2im(dy[n0:n1] @ kernel^T), in row blocks of at most ``rows``.

    Several small images share one GEMM (rows = whole images), so the kernel is packed once per
    block instead of once per image.  col2im only adds within an image, and a GEMM's result for
    a row does not depend on how many rows it is given, so dx does not depend on the grouping.
    """
    cdef Py_ssize_t plane = g.OH * g.OW, r0, r1, grp, end = n1 * plane
    cdef int rc = 0
    memset(dx + n0 * g.H * g.W * g.C, 0, (n1 - n0) * g.H * g.W * g.C * sizeof(floating))
    r0 = n0 * plane
    while r0 < end:
        r1 = r0 + rows if r0 + rows < end else end
        for grp in range(g.groups):
            rc |= _gemm(kt, False, True, r1 - r0, g.K, g.Fg, dy + r0 * g.F + grp * g.Fg, g.F,
                        k + grp * g.Fg, g.F, <floating>0, cols, g.K, nt, g.flush)
            # (a GEMM given nt > 1 threads ran its own team: this thread flushes for the adds only)
            minicnn_fp_enter(g.flush)
            _col2im(cols, dx, g, grp, r0, r1)
            minicnn_fp_exit(g.flush)
        r0 = r1
    return rc


cdef int _input_block(const Work *w, Py_ssize_t blk, void *cols, int nt) noexcept nogil:
    """Images [blk * w.per, ...) of dx, in c's dtype; cols: one block's col2im rows."""
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t n0 = blk * w.per, n1 = min(n0 + w.per, c.g.N)
    if c.dbl:
        return _input_images(<const double *>c.x, <const double *>c.k, <double *>c.out, <double *>cols,
                             &c.g, c.kt, n0, n1, w.rows, nt)
    return _input_images(<const float *>c.x, <const float *>c.k, <float *>c.out, <float *>cols,
                         &c.g, c.kt, n0, n1, w.rows, nt)


cdef int _input_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    return _input_block(<Work *>ctx, blk, scratch, 1)


cdef int _pointwise_input_block(const floating *dy, const floating *k, floating *dx, const Geom *g,
                                const minicnn_kernel_table *kt, Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """1x1 stride-1 conv: dx rows [r0, r1) (OUT) = dy rows @ kernel^T, no col2im."""
    cdef Py_ssize_t grp
    cdef int rc = 0
    for grp in range(g.groups):
        rc |= _gemm(kt, False, True, r1 - r0, g.Cg, g.Fg, dy + r0 * g.F + grp * g.Fg, g.F,
                    k + grp * g.Fg, g.F, <floating>0, dx + r0 * g.C + grp * g.Cg, g.C, 1, g.flush)
    return rc


cdef int _pointwise_input_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk of dx (w.rows rows)."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t M = c.g.N * c.g.OH * c.g.OW, r0 = blk * w.rows
    cdef Py_ssize_t r1 = r0 + w.rows if r0 + w.rows < M else M
    if c.dbl:
        return _pointwise_input_block(<const double *>c.x, <const double *>c.k, <double *>c.out, &c.g, c.kt, r0, r1)
    return _pointwise_input_block(<const float *>c.x, <const float *>c.k, <float *>c.out, &c.g, c.kt, r0, r1)


cdef int backward_input(const ConvCall *c) noexcept nogil:
    """dx (OUT) = the input gradient for dy: GEMM + col2im over groups of whole images, or
    (POINTWISE) dy @ kernel^T in row blocks."""
    cdef const Geom *g = &c.g
    cdef Py_ssize_t M = g.N * g.OH * g.OW, blk, upt = T.units_per_thread
    cdef int nt = max_threads(), rc = 0
    cdef void *cols
    cdef Work w
    w.c = c
    if g.pointwise:
        w.rows = _unit_rows(c.plan.rows, M, nt)
        w.n = (M + w.rows - 1) // w.rows
        return minicnn_parallel_for(w.n, _threads(g, w.n), 0, g.flush, True, _pointwise_input_unit, &w)
    # Work units: groups of whole images (col2im overlaps within an image), as many as fit a
    # block, but units_per_thread units per thread where there are enough images.
    w.rows = c.plan.rows
    w.per = min(w.rows // (g.OH * g.OW), (g.N + upt * nt - 1) // (upt * nt))
    if w.per < 1:
        w.per = 1
    w.n = (g.N + w.per - 1) // w.per
    nt = _threads(g, w.n)
    if nt > 1:
        return minicnn_parallel_for(w.n, nt, w.rows * g.K * (8 if c.dbl else 4), g.flush, True, _input_unit, &w)
    # one unit, one thread or little work: the GEMM gets what threads the work allows
    cols = malloc(w.rows * g.K * (8 if c.dbl else 4))
    if cols == NULL:
        return -1
    nt = _threads(g, max_threads())
    for blk in range(w.n):
        rc |= _input_block(&w, blk, cols, nt)
    free(cols)
    return rc


# ------------------------------------------------------------------ backward w.r.t. the kernel

cdef int _kernel_cols(const floating *x, const floating *dy, floating *dk, floating *cols, floating *tbuf,
                      const ConvCall *c, Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t f0, Py_ssize_t f1,
                      Py_ssize_t rows, int nt, Py_ssize_t ra, Py_ssize_t rb) noexcept nogil:
    """dk rows [k0, k1), columns [f0, f1) of each group (OUT) = the sum over row blocks of ``rows``
    rows of im2col(x)[ra:rb, k0:k1]^T @ dy[ra:rb, the group's filters f0:f1], accumulated block
    after block (the blocks are fixed by the plan: the same summation order at any thread count).

    With the plan's ``transposed`` (few filters) the product dy^T @ cols is accumulated in tbuf
    (nf x kt), so that the filters run along the GEMM micro-tile's short side, and copied into dk
    at the end.
    """
    cdef const Geom *g = &c.g
    cdef Py_ssize_t r0, r1, grp, kt = k1 - k0, nf = f1 - f0, i, f
    cdef int rc = 0
    cdef const floating *a
    cdef Py_ssize_t lda
    cdef floating beta
    cdef bint transposed = c.plan.transposed
    for grp in range(g.groups):
        r0 = ra
        while r0 < rb:
            r1 = r0 + rows if r0 + rows < rb else rb
            if g.pointwise:
                a = x + r0 * g.C + grp * g.Cg + k0
                lda = g.C
            else:
                _im2col(x, cols, g, grp, r0, r1, k0, k1)
                a = cols
                lda = kt
            beta = 0 if r0 == ra else 1
            if transposed:
                rc |= _gemm(c.kt, True, False, nf, kt, r1 - r0, dy + r0 * g.F + grp * g.Fg + f0, g.F, a, lda,
                            beta, tbuf, kt, nt, g.flush)
            else:
                rc |= _gemm(c.kt, True, False, kt, nf, r1 - r0, a, lda, dy + r0 * g.F + grp * g.Fg + f0, g.F,
                            beta, dk + k0 * g.F + grp * g.Fg + f0, g.F, nt, g.flush)
            r0 = r1
        if transposed:
            for i in range(kt):
                for f in range(nf):
                    dk[(k0 + i) * g.F + grp * g.Fg + f0 + f] = tbuf[f * kt + i]
    return rc


cdef int _kernel_block(const ConvCall *c, void *dk, void *scratch, Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t f0,
                       Py_ssize_t f1, Py_ssize_t rows, int nt, Py_ssize_t ra, Py_ssize_t rb) noexcept nogil:
    """_kernel_cols in c's dtype into dk; scratch: a block's im2col rows, then the transposed product."""
    if c.dbl:
        return _kernel_cols(<const double *>c.x, <const double *>c.k, <double *>dk, <double *>scratch,
                            <double *>scratch + rows * c.g.K, c, k0, k1, f0, f1, rows, nt, ra, rb)
    return _kernel_cols(<const float *>c.x, <const float *>c.k, <float *>dk, <float *>scratch,
                        <float *>scratch + rows * c.g.K, c, k0, k1, f0, f1, rows, nt, ra, rb)


cdef int _kernel_range_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Range part (of w.n) of dk: its rows (im2col columns) with w.per == 0, else its filters."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t K = c.g.K, k0 = 0, k1 = K, f0 = 0, f1 = c.g.Fg, M = c.g.N * c.g.OH * c.g.OW
    if w.per == 0:
        k0, k1 = K * part // w.n, K * (part + 1) // w.n
    else:
        f0, f1 = c.g.Fg * part // w.n, c.g.Fg * (part + 1) // w.n
    return _kernel_block(c, c.out, scratch, k0, k1, f0, f1, w.rows, 1, 0, M)


cdef int _kernel_part_unit(void *ctx, ptrdiff_t p, void *scratch) noexcept nogil:
    """Partial kernel gradient p (of w.n) into w.acc + p * K * F: row blocks [p * B // n,
    (p + 1) * B // n) of the B blocks of w.rows rows."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t M = c.g.N * c.g.OH * c.g.OW, KF = c.g.K * c.g.F, blocks = (M + w.rows - 1) // w.rows
    cdef Py_ssize_t ra = (p * blocks // w.n) * w.rows, rb = min(((p + 1) * blocks // w.n) * w.rows, M)
    return _kernel_block(c, <char *>w.acc + p * KF * (8 if c.dbl else 4), scratch, 0, c.g.K, 0, c.g.Fg, w.rows, 1,
                         ra, rb)


cdef void _sum_parts(const floating *acc, Py_ssize_t parts, Py_ssize_t n, floating *out) noexcept nogil:
    """out (OUT, n) = acc[0] + acc[1] + ... (IN, parts x n), in part order."""
    cdef Py_ssize_t i, p
    for i in range(n):
        out[i] = acc[i]
    for p in range(1, parts):
        _add(out, acc + p * n, n)


cdef int backward_kernel(const ConvCall *c) noexcept nogil:
    """dk (OUT) = the kernel gradient for x and dy (c.k): threads own ranges of dk rows or of
    filters, or (ROW_PARTS) fixed partial sums over row ranges are added in order."""
    cdef const Geom *g = &c.g
    cdef Py_ssize_t K = g.K, KF = g.K * g.F, M = g.N * g.OH * g.OW
    cdef size_t isz = 8 if c.dbl else 4, scratch = (c.plan.rows + g.Fg) * K * isz
    cdef int nt = _threads(g, max_threads()), rc = 0
    cdef void *cols
    cdef Work w
    w.c, w.rows, w.n, w.per = c, c.plan.rows, 0, 0
    if c.plan.algorithm == ROW_PARTS:
        w.n = c.plan.parts
        w.acc = malloc(w.n * KF * isz)
        if w.acc == NULL:
            return -1
        rc = minicnn_parallel_for(w.n, _threads(g, w.n), scratch, g.flush, True, _kernel_part_unit, &w)
        minicnn_fp_enter(g.flush)
        if c.dbl:
            _sum_parts(<double *>w.acc, w.n, KF, <double *>c.out)
        else:
            _sum_parts(<float *>w.acc, w.n, KF, <float *>c.out)
        minicnn_fp_exit(g.flush)
        free(w.acc)
        return rc
    if nt > 1 and K >= 4 * nt:
        # threads own equal ranges of dkernel rows (im2col columns) and build only those columns
        w.n, w.per = clamp_threads(K // 4), 0
    elif nt > 1 and g.Fg >= 2 * nt:
        # few columns: split the filters instead; each thread builds the whole im2col block
        w.n, w.per = clamp_threads(g.Fg // 2), 1
    if w.n:
        return minicnn_parallel_for(w.n, w.n, scratch, g.flush, False, _kernel_range_unit, &w)
    # the GEMM gets the threads (this thread only builds im2col blocks and copies: no flushing)
    cols = malloc(scratch)
    if cols == NULL:
        return -1
    rc = _kernel_block(c, c.out, cols, 0, K, 0, g.Fg, w.rows, nt, 0, M)
    free(cols)
    return rc
