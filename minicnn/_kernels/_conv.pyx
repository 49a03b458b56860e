"""Convolution kernels: im2col / col2im on the GEMM contract, channels-last, OpenMP.

The Python layer (conv.py) validates, resolves padding and allocates; the functions here get
C-contiguous arrays of one dtype and the geometry as plain ints.  The rows of the im2col matrix
are output pixels (n, oh, ow) and its columns (kh, kw, c) -- the order of the kernel's rows, so
``cols @ kernel.reshape(K, F)`` writes NHWC output directly.

Algorithms, chosen per call from the geometry:
  * im2col block + GEMM (forward, backward-kernel) and GEMM + col2im (backward-input);
  * pointwise (1x1, stride 1, no padding): the input is its own im2col matrix, no copy;
  * few filters per group (<= SMALL_F) in the kernel gradient: the GEMM is formed transposed so
    the filters run along the GEMM micro-tile's short side;
  * wide inputs (C >= 64) at stride 1: backward-input as a conv of dy with the flipped kernel;
  * depthwise (one input channel per group): direct loops vectorised over channels.

Scratch memory: each thread holds one block of at most ``COLS_BUDGET`` = 1 MiB (im2col rows plus
the matching output rows; at least 8 rows), so the batch is never materialised: 1 MiB per thread
whatever the batch size.  glibc keeps blocks of this size in its arenas once one has been freed
(its mmap threshold adapts upwards), so later calls reuse the memory without page faults.

Threads: one parallel level per call, serial GEMMs inside (num_threads=1).  Work partitions are
chosen so that every output element is computed by one thread in a fixed order, hence results do
not depend on the thread count:
  forward          rows (output pixels) are independent: blocks of rows across threads;
  backward input   col2im overlaps within an image: whole images across threads;
  backward kernel  a sum over all pixels: ranges of dkernel rows (im2col columns) across
                   threads, each summing the same fixed row blocks in order (block size
                   depends on the geometry only).
When there are fewer work chunks than threads the loop runs serially and the GEMM gets the threads.
Row blocks and images are handed out dynamically (a core taken by another process then does not
hold the others up); that changes who computes a block, never how.
"""

import os as _os

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from minicnn._kernels._common cimport (check_at_least, check_shape, dims, floating, minicnn_fp_enter,
                                       minicnn_fp_exit, minicnn_fp_flush, minicnn_parallel_for)
from minicnn._kernels._gemm cimport sgemm, dgemm
from minicnn._kernels._openmp cimport clamp_threads, max_threads, passive_wait

cdef extern from "conv_small.h" nogil:
    # direct loops for few input channels (see conv_small.h); isa 1 = AVX2+FMA, 0 = baseline
    ctypedef struct mcs_geom:
        Py_ssize_t N, H, W, C, OH, OW, F, kh, kw, sh, sw, dh, dw, pt, pl
    int mcs_cpu_avx2()
    Py_ssize_t mcs_forward_scratch(const mcs_geom *g)
    Py_ssize_t mcs_backward_scratch(const mcs_geom *g)
    Py_ssize_t mcs_forward_pointers(const mcs_geom *g)
    Py_ssize_t mcs_backward_pointers(const mcs_geom *g)
    void mcs_forward_rows_f32(int isa, const float *x, const float *k, const float *bias, float *y,
                              const mcs_geom *g, Py_ssize_t t0, Py_ssize_t t1, int relu, float *scratch,
                              const float **tp)
    void mcs_forward_rows_f64(int isa, const double *x, const double *k, const double *bias, double *y,
                              const mcs_geom *g, Py_ssize_t t0, Py_ssize_t t1, int relu, double *scratch,
                              const double **tp)
    void mcs_relu_mask_f32(int isa, const float *dy, const float *y, float *out, Py_ssize_t n)
    void mcs_relu_mask_f64(int isa, const double *dy, const double *y, double *out, Py_ssize_t n)
    void mcs_backward_kernel_images_f32(int isa, const float *x, const float *gy, const float *ry, double *dkp,
                                        double *dbp, const mcs_geom *g, Py_ssize_t n0, Py_ssize_t n1,
                                        float *scratch, const float **tp)
    void mcs_backward_kernel_images_f64(int isa, const double *x, const double *gy, const double *ry, double *dkp,
                                        double *dbp, const mcs_geom *g, Py_ssize_t n0, Py_ssize_t n1,
                                        double *scratch, const double **tp)

cdef Py_ssize_t COLS_BUDGET = 1 << 20  # bytes of im2col scratch per thread (see the module docstring)

# Up to this many filters per group a GEMM is formed transposed (filters along the micro-tile's
# short side).  Measured on N=64 first layers (C = 1..6, F = 6..16): it pays for the
# kernel gradient with F <= 8 (0.76-0.87x the time) but never for the forward pass, where the
# normal orientation reads im2col rows in place without packing (0.5-0.9x the transposed time).
cdef Py_ssize_t SMALL_F_FORWARD = 0
cdef Py_ssize_t SMALL_F = 8


def _set_small_f(Py_ssize_t n, Py_ssize_t n_forward=0):
    """Benchmark hook: the filter counts up to which GEMMs are formed transposed."""
    global SMALL_F, SMALL_F_FORWARD
    SMALL_F = n
    SMALL_F_FORWARD = n_forward


def _set_cols_budget(Py_ssize_t nbytes):
    """Benchmark hook: change the per-thread im2col budget."""
    global COLS_BUDGET
    COLS_BUDGET = nbytes


cdef struct Geom:
    Py_ssize_t N, H, W, C, OH, OW, F
    Py_ssize_t kh, kw, Cg, Fg, groups
    Py_ssize_t sh, sw, dh, dw, pt, pl
    Py_ssize_t K          # kh * kw * Cg: columns of the im2col matrix of one group
    bint pointwise        # 1x1, stride 1, no padding: the input itself is the im2col matrix
    bint flush            # the call flushes subnormals (its size decides: fpenv.h)


cdef Geom _geom(Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t OH, Py_ssize_t OW,
                Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t Cg, Py_ssize_t F, Py_ssize_t groups,
                Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl) noexcept nogil:
    cdef Geom g
    g.N, g.H, g.W, g.C, g.OH, g.OW, g.F = N, H, W, C, OH, OW, F
    g.kh, g.kw, g.Cg, g.groups = kh, kw, Cg, groups
    g.Fg = F // groups
    g.sh, g.sw, g.dh, g.dw, g.pt, g.pl = sh, sw, dh, dw, pt, pl
    g.K = kh * kw * Cg
    g.pointwise = kh == 1 and kw == 1 and sh == 1 and sw == 1 and pt == 0 and pl == 0 and OH == H and OW == W
    g.flush = minicnn_fp_flush(N * OH * OW * kh * kw * Cg * F)
    return g


cdef inline Py_ssize_t _block_rows(Py_ssize_t K, Py_ssize_t itemsize) noexcept nogil:
    """Rows of one block: its im2col rows and output rows (width K + F) fill COLS_BUDGET; a multiple of 8, >= 8."""
    cdef Py_ssize_t r = COLS_BUDGET // (K * itemsize)
    r = (r // 8) * 8
    return r if r >= 8 else 8


# Multiply-adds below which a conv call stays on one thread.  Under OMP_WAIT_POLICY=PASSIVE a
# sleeping worker joins a parallel region 0.05-0.3 ms late.  Measured (1 vs 2 threads, min of 21,
# each call one parallel region): LeNet's convs at batch 64 (5.5M and 9.8M multiply-adds) ran
# 1.1-1.5x faster on two threads, so the bar is low even there; with spinning workers (the
# default policy) threads pay from about 1M.
cdef double PAR_MIN_MACS = 2e6 if passive_wait() else 1e6


def _set_parallel_min_macs(double macs):
    """Test hook: the multiply-adds below which conv calls stay serial; returns the old value."""
    global PAR_MIN_MACS
    old = PAR_MIN_MACS
    PAR_MIN_MACS = macs
    return old


cdef inline int _threads(Geom g, Py_ssize_t chunks) noexcept nogil:
    """Threads for a call with ``chunks`` independent units: one below PAR_MIN_MACS."""
    if <double>g.N * g.OH * g.OW * g.K * g.F < PAR_MIN_MACS:
        return 1
    return clamp_threads(chunks)


# Subnormals (g.flush) are flushed by the parallel loop on every thread of its team, inside the
# team's region (parallel.h), and by a GEMM given threads of its own on its team; the calling
# thread flushes itself only around serial work that starts no team (fpenv.h's rule).


cdef struct Work:
    # One call's arguments for the parallel loop's units (each unit function says which it reads).
    const void *x        # the conv's input x (forward, kernel gradient) or dy (input gradient)
    const void *k        # the kernel (forward, input gradient) or dy (kernel gradient)
    const void *aux      # the bias (forward) or the ReLU output masking dy (kernel gradient), or NULL
    void *out            # y, dx or dk (or the partial sums)
    double *part         # partial sums in double (the direct kernel gradient)
    Geom g
    Py_ssize_t rows      # rows (output pixels) per block, or per chunk
    Py_ssize_t per       # images per unit, or blocks per part
    Py_ssize_t n         # units (blocks, images, parts or ranges) in all
    bint relu, want_db, dbl


cdef inline Work _work(const floating *x, const floating *k, const floating *aux, floating *out, Geom g) noexcept nogil:
    cdef Work w
    w.x, w.k, w.aux, w.out, w.part, w.g = x, k, aux, out, NULL, g
    w.rows = w.per = w.n = 0
    w.relu = w.want_db = False
    w.dbl = floating is double
    return w


# Parallel loops hand out at least this many work units per thread: a thread that starts late
# (a sleeping OpenMP worker under OMP_WAIT_POLICY=PASSIVE wakes 0.05-0.3 ms late on the 2-core VM
# we measure on) then still finds units left, and the others do not wait long for its last one.
cdef Py_ssize_t UNITS_PER_THREAD = 8
cdef Py_ssize_t MIN_UNIT_ROWS = 64  # ... but no unit smaller than this many output rows


cdef inline Py_ssize_t _unit_rows(Py_ssize_t rows, Py_ssize_t M, int nt) noexcept nogil:
    """Rows per work unit: at most ``rows`` (the scratch block), small enough for
    UNITS_PER_THREAD units per thread, at least MIN_UNIT_ROWS; a multiple of 8."""
    cdef Py_ssize_t r = (M + UNITS_PER_THREAD * nt - 1) // (UNITS_PER_THREAD * nt)
    r = (r + 7) // 8 * 8
    if r < MIN_UNIT_ROWS:
        r = MIN_UNIT_ROWS
    return r if r < rows else rows


cdef inline int _gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                      floating beta, floating *c, Py_ssize_t ldc, int nt, bint flush) noexcept nogil:
    if floating is float:
        return sgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt, flush)
    else:
        return dgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt, flush)


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


cdef void _im2col(const floating *x, floating *cols, Geom g, Py_ssize_t grp,
                  Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    """cols (OUT, (r1 - r0) x (k1 - k0)) = columns [k0, k1) of the im2col rows [r0, r1), group grp.

    Column k of a row is tap (a, b) = divmod(k // Cg, kw), channel k % Cg.  x (IN) is (N, H, W, C);
    cells in the padding are zeros.  With one group and dilation 1 along W, the columns of one
    kernel row are a single contiguous run of the input row, copied at once.
    """
    cdef Py_ssize_t Cg = g.Cg, C = g.C, W = g.W, H = g.H, kw = g.kw, OW = g.OW, OH = g.OH
    cdef Py_ssize_t ld = k1 - k0, plane = OH * OW, rowlen = kw * Cg
    cdef Py_ssize_t r, n, oh, ow, a, b, b0, b1, q0, q1, c0, c1, ih, iw, iw0, a0, a1
    cdef floating *dst
    cdef const floating *src
    cdef bint runs = g.dw == 1 and g.groups == 1
    a0 = k0 // rowlen
    a1 = (k1 - 1) // rowlen + 1
    n = r0 // plane
    oh = (r0 % plane) // OW
    ow = r0 % OW - 1
    for r in range(r0, r1):
        ow += 1  # walk (n, oh, ow) instead of dividing per row
        if ow == OW:
            ow = 0
            oh += 1
            if oh == OH:
                oh = 0
                n += 1
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


cdef void _col2im(const floating *cols, floating *dx, Geom g, Py_ssize_t grp,
                  Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    """dx (IN/OUT, (N, H, W, C)) += the columns of cols (IN, (r1 - r0) x K) at the cells they came from."""
    cdef Py_ssize_t Cg = g.Cg, plane = g.OH * g.OW
    cdef Py_ssize_t r, n, oh, ow, a, b, ih, iw
    cdef const floating *src
    cdef floating *dst
    cdef bint runs = g.dw == 1 and g.groups == 1
    n = r0 // plane
    oh = (r0 % plane) // g.OW
    ow = r0 % g.OW - 1
    for r in range(r0, r1):
        ow += 1
        if ow == g.OW:
            ow = 0
            oh += 1
            if oh == g.OH:
                oh = 0
                n += 1
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
                        floating *cols, floating *tbuf, Geom g, Py_ssize_t r0, Py_ssize_t r1,
                        int nt, bint relu) noexcept nogil:
    """y rows [r0, r1) (OUT) = im2col(x) @ kernel + bias (then max(., 0) with relu), group by group.

    Bias and ReLU are applied here, on rows the GEMM has just written (still in cache), instead
    of in separate passes over the whole output.

    With few filters the product is formed transposed, kernel^T @ cols^T into tbuf (Fg x rows),
    so that the filters fill the GEMM's long micro-tile side instead of a fraction of it.
    """
    cdef Py_ssize_t grp, r, f, m = r1 - r0, F = g.F, Fg = g.Fg
    cdef int rc = 0
    cdef const floating *a
    cdef Py_ssize_t lda
    cdef floating *yr
    cdef floating bf
    for grp in range(g.groups):
        if g.pointwise:
            a = x + r0 * g.C + grp * g.Cg
            lda = g.C
        else:
            _im2col(x, cols, g, grp, r0, r1, 0, g.K)
            a = cols
            lda = g.K
        if g.Fg <= SMALL_F_FORWARD:
            rc |= _gemm(True, True, g.Fg, m, g.K, k + grp * g.Fg, g.F, a, lda, <floating>0, tbuf, m, nt, g.flush)
            for f in range(Fg):
                bf = bias[grp * Fg + f] if bias != NULL else 0
                yr = y + r0 * F + grp * Fg + f
                for r in range(m):
                    yr[r * F] = tbuf[f * m + r] + bf
                    if relu:
                        yr[r * F] = _relu(yr[r * F])
        else:
            rc |= _gemm(False, False, m, g.Fg, g.K, a, lda, k + grp * g.Fg, g.F, <floating>0,
                        y + r0 * g.F + grp * g.Fg, g.F, nt, g.flush)
            if bias != NULL:
                for r in range(m):
                    yr = y + (r0 + r) * F + grp * Fg
                    for f in range(Fg):
                        yr[f] = yr[f] + bias[grp * Fg + f]
            if relu:
                for r in range(m):
                    _relu_inplace(y + (r0 + r) * F + grp * Fg, Fg)
    return rc


cdef inline floating _relu(floating v) noexcept nogil:
    # "v < 0" (not "v > 0") so that NaN passes through, as np.maximum(v, 0) does.
    return 0 if v < 0 else v


cdef inline void _relu_inplace(floating *y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = 0 if y[i] < 0 else y[i]


cdef int _forward(const floating *x, const floating *k, const floating *bias, floating *y,
                  Geom g, bint relu=False) noexcept nogil:
    cdef Py_ssize_t M = g.N * g.OH * g.OW, rows
    cdef Work w = _work(x, k, bias, y, g)
    if M == 0:
        return 0
    if _use_small(g):
        return _small_forward(x, k, bias, y, g, relu)
    if _use_direct(g):
        return _depthwise_forward(x, k, bias, y, g, relu)
    rows = _block_rows(g.K + g.F, sizeof(floating))
    w.rows = _unit_rows(rows, M, max_threads())  # rows are independent: any split gives the same output
    w.n = (M + w.rows - 1) // w.rows
    w.relu = relu
    return minicnn_parallel_for(w.n, _threads(g, w.n), w.rows * (g.K + g.Fg) * sizeof(floating), g.flush, True,
                                _forward_unit, &w)


cdef int _forward_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk of the output (w.rows rows); scratch: the block's im2col rows."""
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t M = w.g.N * w.g.OH * w.g.OW, r0 = blk * w.rows
    cdef Py_ssize_t r1 = r0 + w.rows if r0 + w.rows < M else M
    if w.dbl:
        return _forward_block(<const double *>w.x, <const double *>w.k, <const double *>w.aux, <double *>w.out,
                              <double *>scratch, <double *>scratch + w.rows * w.g.K, w.g, r0, r1, 1, w.relu)
    return _forward_block(<const float *>w.x, <const float *>w.k, <const float *>w.aux, <float *>w.out,
                          <float *>scratch, <float *>scratch + w.rows * w.g.K, w.g, r0, r1, 1, w.relu)


# ------------------------------------------------------------------ backward w.r.t. the input

cdef int _backward_input_images(const floating *dy, const floating *k, floating *dx, floating *cols,
                                Geom g, Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t rows, int nt) noexcept nogil:
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
            rc |= _gemm(False, True, r1 - r0, g.K, g.Fg, dy + r0 * g.F + grp * g.Fg, g.F,
                        k + grp * g.Fg, g.F, <floating>0, cols, g.K, nt, g.flush)
            # (a GEMM given nt > 1 threads ran its own team: this thread flushes for the adds only)
            minicnn_fp_enter(g.flush)
            _col2im(cols, dx, g, grp, r0, r1)
            minicnn_fp_exit(g.flush)
        r0 = r1
    return rc


cdef int _backward_input_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Images [blk * w.per, ...) of dx; scratch: one block's col2im rows."""
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t n0 = blk * w.per, n1 = min(n0 + w.per, w.g.N)
    if w.dbl:
        return _backward_input_images(<const double *>w.x, <const double *>w.k, <double *>w.out,
                                      <double *>scratch, w.g, n0, n1, w.rows, 1)
    return _backward_input_images(<const float *>w.x, <const float *>w.k, <float *>w.out,
                                  <float *>scratch, w.g, n0, n1, w.rows, 1)


cdef int _pointwise_input_block(const floating *dy, const floating *k, floating *dx, Geom g,
                                Py_ssize_t r0, Py_ssize_t r1, int nt) noexcept nogil:
    """1x1 stride-1 conv: dx rows [r0, r1) (OUT) = dy rows @ kernel^T, no col2im."""
    cdef Py_ssize_t grp
    cdef int rc = 0
    for grp in range(g.groups):
        rc |= _gemm(False, True, r1 - r0, g.Cg, g.Fg, dy + r0 * g.F + grp * g.Fg, g.F,
                    k + grp * g.Fg, g.F, <floating>0, dx + r0 * g.C + grp * g.Cg, g.C, nt, g.flush)
    return rc


cdef int _pointwise_input_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk of dx (w.rows rows)."""
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t M = w.g.N * w.g.OH * w.g.OW, r0 = blk * w.rows
    cdef Py_ssize_t r1 = r0 + w.rows if r0 + w.rows < M else M
    if w.dbl:
        return _pointwise_input_block(<const double *>w.x, <const double *>w.k, <double *>w.out, w.g, r0, r1, 1)
    return _pointwise_input_block(<const float *>w.x, <const float *>w.k, <float *>w.out, w.g, r0, r1, 1)


cdef bint FLIPPED_BWD_INPUT = True
cdef Py_ssize_t FLIPPED_MIN_C = 64


def _set_flipped_backward_input(bint on, Py_ssize_t min_channels=64):
    """Benchmark hook: choose between the two backward-input algorithms."""
    global FLIPPED_BWD_INPUT, FLIPPED_MIN_C
    FLIPPED_BWD_INPUT = on
    FLIPPED_MIN_C = min_channels


cdef inline bint _use_flipped_conv(Geom g) noexcept nogil:
    """Stride 1, one group, not pointwise, padding within the kernel's reach: dx is a conv of dy.

    Chosen only with many input channels (they are that conv's GEMM width): on the bench_layers
    shapes it took 0.90-0.96x the col2im time for C = 64 and 128, but 1.2x for C = 32 and 4-8x
    for C <= 6.
    """
    return (FLIPPED_BWD_INPUT and g.sh == 1 and g.sw == 1 and g.groups == 1 and not g.pointwise
            and g.C >= FLIPPED_MIN_C and g.pt <= (g.kh - 1) * g.dh and g.pl <= (g.kw - 1) * g.dw)


cdef int _backward_input_as_conv(const floating *dy, const floating *k, floating *dx, Geom g) noexcept nogil:
    """dx (OUT) for stride 1: the "full" correlation of dy with the kernel flipped in space and
    with its in/out channels swapped, k'[a, b, f, c] = k[kh-1-a, kw-1-b, c, f].  It reuses the
    forward path (im2col copies + a GEMM with k = kh*kw*F) instead of GEMM + col2im adds."""
    cdef Geom h = _geom(g.N, g.OH, g.OW, g.F, g.H, g.W, g.kh, g.kw, g.F, g.C, 1,
                        1, 1, g.dh, g.dw, (g.kh - 1) * g.dh - g.pt, (g.kw - 1) * g.dw - g.pl)
    h.flush = g.flush
    cdef Py_ssize_t a, b, c, f, C = g.C, F = g.F
    cdef floating *kf = <floating *>malloc(g.kh * g.kw * C * F * sizeof(floating))
    cdef const floating *src
    cdef floating *dst
    cdef int rc
    if kf == NULL:
        return -1
    for a in range(g.kh):
        for b in range(g.kw):
            src = k + ((g.kh - 1 - a) * g.kw + (g.kw - 1 - b)) * C * F
            dst = kf + (a * g.kw + b) * F * C
            for c in range(C):
                for f in range(F):
                    dst[f * C + c] = src[c * F + f]
    rc = _forward(dy, kf, NULL, dx, h)
    free(kf)
    return rc


cdef int _backward_input(const floating *dy, const floating *k, floating *dx, Geom g) noexcept nogil:
    cdef Py_ssize_t M = g.N * g.OH * g.OW, rows, blk, n
    cdef int nt = max_threads(), rc = 0
    cdef floating *cols = NULL
    cdef Work w = _work(dy, k, <const floating *>NULL, dx, g)
    if g.N * g.H * g.W * g.C == 0:
        return 0
    if M == 0:
        memset(dx, 0, g.N * g.H * g.W * g.C * sizeof(floating))
        return 0
    if _use_direct(g):
        return _depthwise_backward_input(dy, k, dx, g)
    if _use_flipped_conv(g):
        return _backward_input_as_conv(dy, k, dx, g)
    rows = _block_rows(g.K + g.F, sizeof(floating))
    if g.pointwise:
        w.rows = _unit_rows(rows, M, nt)
        w.n = (M + w.rows - 1) // w.rows
        return minicnn_parallel_for(w.n, _threads(g, w.n), 0, g.flush, True, _pointwise_input_unit, &w)
    # Work units: groups of whole images (col2im overlaps within an image), as many as fit a
    # block, but UNITS_PER_THREAD units per thread where there are enough images.
    w.rows = rows
    w.per = rows // (g.OH * g.OW)
    if w.per > (g.N + UNITS_PER_THREAD * nt - 1) // (UNITS_PER_THREAD * nt):
        w.per = (g.N + UNITS_PER_THREAD * nt - 1) // (UNITS_PER_THREAD * nt)
    if w.per < 1:
        w.per = 1
    w.n = (g.N + w.per - 1) // w.per
    nt = _threads(g, w.n)
    if nt > 1:
        return minicnn_parallel_for(w.n, nt, rows * g.K * sizeof(floating), g.flush, True, _backward_input_unit, &w)
    # one unit, one thread or little work: the GEMM gets what threads the work allows
    cols = <floating *>malloc(rows * g.K * sizeof(floating))
    if cols == NULL:
        return -1
    nt = _threads(g, max_threads())
    for blk in range(w.n):
        n = blk * w.per
        rc |= _backward_input_images(dy, k, dx, cols, g, n, min(n + w.per, g.N), rows, nt)
    free(cols)
    return rc


# ------------------------------------------------------------------ backward w.r.t. the kernel

cdef int _backward_kernel_cols(const floating *x, const floating *dy, floating *dk, floating *cols,
                               floating *tbuf, Geom g, Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t f0,
                               Py_ssize_t f1, Py_ssize_t rows, int nt,
                               Py_ssize_t ra=0, Py_ssize_t rb=-1) noexcept nogil:
    """dk rows [k0, k1), columns [f0, f1) of each group (OUT) = the sum over fixed row blocks of
    im2col(x)[ra:rb, k0:k1]^T @ dy[ra:rb, the group's filters f0:f1] (rb = -1: all rows),
    accumulated block after block.

    With few filters the transposed product dy^T @ cols is accumulated in tbuf (nf x kt) and
    copied into dk at the end (see _forward_block).
    """
    cdef Py_ssize_t M = g.N * g.OH * g.OW if rb < 0 else rb, r0, r1, grp, kt = k1 - k0, nf = f1 - f0, i, f
    cdef int rc = 0
    cdef const floating *a
    cdef Py_ssize_t lda
    cdef floating beta
    cdef bint small = g.Fg <= SMALL_F  # by the group, not the thread's share: same orientation for any thread count
    for grp in range(g.groups):
        r0 = ra
        while r0 < M:
            r1 = r0 + rows if r0 + rows < M else M
            if g.pointwise:
                a = x + r0 * g.C + grp * g.Cg + k0
                lda = g.C
            else:
                _im2col(x, cols, g, grp, r0, r1, k0, k1)
                a = cols
                lda = kt
            beta = 0 if r0 == ra else 1
            if small:
                rc |= _gemm(True, False, nf, kt, r1 - r0, dy + r0 * g.F + grp * g.Fg + f0, g.F, a, lda,
                            beta, tbuf, kt, nt, g.flush)
            else:
                rc |= _gemm(True, False, kt, nf, r1 - r0, a, lda, dy + r0 * g.F + grp * g.Fg + f0, g.F,
                            beta, dk + k0 * g.F + grp * g.Fg + f0, g.F, nt, g.flush)
            r0 = r1
        if small:
            for i in range(kt):
                for f in range(nf):
                    dk[(k0 + i) * g.F + grp * g.Fg + f0 + f] = tbuf[f * kt + i]
    return rc


cdef Py_ssize_t PARTS_MAX = 16            # partial kernel gradients over row ranges, at most
cdef Py_ssize_t PARTS_MAX_ELEMS = 1 << 16  # ... used while the kernel has at most this many elements


def _set_kernel_grad_parts(Py_ssize_t max_parts=16, Py_ssize_t max_elems=1 << 16):
    """Benchmark hook: the row-range partial sums of the kernel gradient (max_parts <= 1: off)."""
    global PARTS_MAX, PARTS_MAX_ELEMS
    PARTS_MAX = max_parts
    PARTS_MAX_ELEMS = max_elems


cdef inline Py_ssize_t _kernel_grad_parts(Geom g, Py_ssize_t rows) noexcept nogil:
    """How many partial sums over row ranges the kernel gradient is split into: a small kernel
    over many rows (LeNet's second conv: 150 x 16 over 8,192 rows) leaves too few columns to
    split across threads, so threads take row ranges instead.  A function of the geometry only,
    so the summation order never depends on the thread count."""
    cdef Py_ssize_t M = g.N * g.OH * g.OW, units = (M + MIN_UNIT_ROWS - 1) // MIN_UNIT_ROWS
    if g.pointwise or g.groups != 1 or g.K * g.F > PARTS_MAX_ELEMS or M <= rows:
        return 1
    return units if units < PARTS_MAX else PARTS_MAX


cdef inline Py_ssize_t _part_rows(Py_ssize_t rows, Py_ssize_t M, Py_ssize_t parts) noexcept nogil:
    """Rows per block in the partial-sum path: one block per part where the scratch allows."""
    cdef Py_ssize_t r = ((M + parts - 1) // parts + 7) // 8 * 8
    return r if r < rows else rows


cdef int _backward_kernel_parts(const floating *x, const floating *dy, floating *dk, Geom g,
                                Py_ssize_t rows, Py_ssize_t parts) noexcept nogil:
    """dk (OUT) = the sum, in part order, of ``parts`` partial gradients, part p summing row
    blocks [p * B // parts, (p + 1) * B // parts) of the B blocks of ``rows`` rows."""
    cdef Py_ssize_t KF = g.K * g.F, i, p
    cdef int rc
    cdef Work w = _work(x, dy, <const floating *>NULL, <floating *>malloc(parts * KF * sizeof(floating)), g)
    cdef floating *acc = <floating *>w.out
    if acc == NULL:
        return -1
    w.rows, w.n = rows, parts
    rc = minicnn_parallel_for(parts, _threads(g, parts), (rows + g.Fg) * g.K * sizeof(floating), g.flush, True,
                              _kernel_part_unit, &w)
    minicnn_fp_enter(g.flush)
    for i in range(KF):
        dk[i] = acc[i]
    for p in range(1, parts):
        _add(dk, acc + p * KF, KF)
    minicnn_fp_exit(g.flush)
    free(acc)
    return rc


cdef int _kernel_part_unit(void *ctx, ptrdiff_t p, void *scratch) noexcept nogil:
    """Partial kernel gradient p (of w.n) into w.out + p * K * F; scratch: a block's im2col rows."""
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t M = w.g.N * w.g.OH * w.g.OW, KF = w.g.K * w.g.F, blocks = (M + w.rows - 1) // w.rows
    cdef Py_ssize_t ra = (p * blocks // w.n) * w.rows, rb = ((p + 1) * blocks // w.n) * w.rows
    if rb > M:
        rb = M
    if w.dbl:
        return _backward_kernel_cols(<const double *>w.x, <const double *>w.k, <double *>w.out + p * KF,
                                     <double *>scratch, <double *>scratch + w.rows * w.g.K, w.g,
                                     0, w.g.K, 0, w.g.Fg, w.rows, 1, ra, rb)
    return _backward_kernel_cols(<const float *>w.x, <const float *>w.k, <float *>w.out + p * KF,
                                 <float *>scratch, <float *>scratch + w.rows * w.g.K, w.g,
                                 0, w.g.K, 0, w.g.Fg, w.rows, 1, ra, rb)


cdef int _kernel_range_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Range part (of w.n) of dk: its rows (im2col columns) with w.per == 0, else its filters;
    scratch: a block's im2col rows."""
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t K = w.g.K, k0 = 0, k1 = K, f0 = 0, f1 = w.g.Fg
    if w.per == 0:
        k0, k1 = K * part // w.n, K * (part + 1) // w.n
    else:
        f0, f1 = w.g.Fg * part // w.n, w.g.Fg * (part + 1) // w.n
    if w.dbl:
        return _backward_kernel_cols(<const double *>w.x, <const double *>w.k, <double *>w.out, <double *>scratch,
                                     <double *>scratch + w.rows * K, w.g, k0, k1, f0, f1, w.rows, 1)
    return _backward_kernel_cols(<const float *>w.x, <const float *>w.k, <float *>w.out, <float *>scratch,
                                 <float *>scratch + w.rows * K, w.g, k0, k1, f0, f1, w.rows, 1)


cdef int _backward_kernel(const floating *x, const floating *dy, floating *dk, Geom g) noexcept nogil:
    cdef Py_ssize_t M = g.N * g.OH * g.OW, K = g.K, rows, parts
    cdef int nt = _threads(g, max_threads()), rc = 0
    cdef floating *cols = NULL
    cdef Work w = _work(x, dy, <const floating *>NULL, dk, g)
    if M == 0:
        memset(dk, 0, K * g.F * sizeof(floating))
        return 0
    if _use_direct(g):
        return _depthwise_backward_kernel(x, dy, dk, g)
    # Fixed by the geometry alone, never by the thread count: the summation order of every
    # dkernel element is then the same for any number of threads.
    rows = _block_rows(K + g.F, sizeof(floating))
    parts = _kernel_grad_parts(g, rows)
    if parts > 1:
        return _backward_kernel_parts(x, dy, dk, g, _part_rows(rows, M, parts), parts)
    w.rows = rows
    if nt > 1 and K >= 4 * nt:
        # Threads own equal ranges of dkernel rows (im2col columns) and build only those columns.
        w.n, w.per = clamp_threads(K // 4), 0
    elif nt > 1 and g.Fg >= 2 * nt:
        # Few columns: split the filters instead; each thread builds the whole im2col block.
        w.n, w.per = clamp_threads(g.Fg // 2), 1
    if w.n:
        return minicnn_parallel_for(w.n, w.n, (rows + g.Fg) * K * sizeof(floating), g.flush, False,
                                    _kernel_range_unit, &w)
    # the GEMM gets the threads (this thread only builds im2col blocks and copies: no flushing)
    cols = <floating *>malloc((rows + g.Fg) * K * sizeof(floating))
    if cols == NULL:
        return -1
    rc = _backward_kernel_cols(x, dy, dk, cols, cols + rows * K, g, 0, K, 0, g.Fg, rows, nt)
    free(cols)
    return rc


cdef int DIRECT_MODE = 1  # bit 0: depthwise (groups == C > 1); bit 1: C == 1 too (measured 3-6x slower than im2col + GEMM)


def _set_direct_mode(int mode):
    """Benchmark hook: which convolutions take the direct (no im2col) loops."""
    global DIRECT_MODE
    DIRECT_MODE = mode


cdef inline bint _use_direct(Geom g) noexcept nogil:
    if g.Cg != 1 or g.groups != g.C:
        return False
    return (DIRECT_MODE & 1 and g.groups > 1) or (DIRECT_MODE & 2 and g.C == 1)


# ------------------------------------------------------------------ depthwise (one input channel per group)
# im2col would build blocks one column wide per group; these direct loops run over the filters
# f = c * mult + m instead, contiguous in memory, so they vectorise over channels.

cdef int _depthwise_forward(const floating *x, const floating *k, const floating *bias, floating *y,
                            Geom g, bint relu) noexcept nogil:
    """y (OUT) = depthwise conv of x (IN) with k (IN, (kh, kw, 1, F)) + bias (IN or NULL), then
    max(., 0) with relu; (n, oh) rows across threads."""
    cdef Work w = _work(x, k, bias, y, g)
    w.relu = relu
    return minicnn_parallel_for(g.N * g.OH, clamp_threads(g.N * g.OH), 0, g.flush, False, _depthwise_forward_unit, &w)


cdef int _depthwise_forward_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef Work *w = <Work *>ctx
    if w.dbl:
        _depthwise_forward_row(<const double *>w.x, <const double *>w.k, <const double *>w.aux, <double *>w.out,
                               w.g, t, w.relu)
    else:
        _depthwise_forward_row(<const float *>w.x, <const float *>w.k, <const float *>w.aux, <float *>w.out,
                               w.g, t, w.relu)
    return 0


cdef void _depthwise_forward_row(const floating *x, const floating *k, const floating *bias, floating *y,
                                 Geom g, Py_ssize_t t, bint relu) noexcept nogil:
    """Output row t = (n, oh) of the depthwise forward."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n = t // g.OH, oh = t % g.OH, ow, a, b, ih, iw, c, m, f
    cdef floating *yr
    cdef const floating *xr
    cdef const floating *kr
    for ow in range(g.OW):
        yr = y + ((n * g.OH + oh) * g.OW + ow) * F
        for f in range(F):
            yr[f] = bias[f] if bias != NULL else 0
        for a in range(g.kh):
            ih = oh * g.sh + a * g.dh - g.pt
            if ih < 0 or ih >= g.H:
                continue
            for b in range(g.kw):
                iw = ow * g.sw + b * g.dw - g.pl
                if iw < 0 or iw >= g.W:
                    continue
                xr = x + ((n * g.H + ih) * g.W + iw) * C
                kr = k + (a * g.kw + b) * F
                if mult == 1:
                    for f in range(F):
                        yr[f] = yr[f] + xr[f] * kr[f]
                else:
                    for c in range(C):
                        for m in range(mult):
                            yr[c * mult + m] = yr[c * mult + m] + xr[c] * kr[c * mult + m]
    if relu:
        _relu_inplace(y + (n * g.OH + oh) * g.OW * F, g.OW * F)


cdef int _depthwise_backward_input(const floating *dy, const floating *k, floating *dx, Geom g) noexcept nogil:
    """dx (OUT) gathered per input cell from the output cells that read it; (n, ih) rows across threads."""
    cdef Work w = _work(dy, k, <const floating *>NULL, dx, g)
    return minicnn_parallel_for(g.N * g.H, clamp_threads(g.N * g.H), 0, g.flush, False,
                                _depthwise_backward_input_unit, &w)


cdef int _depthwise_backward_input_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef Work *w = <Work *>ctx
    if w.dbl:
        _depthwise_backward_input_row(<const double *>w.x, <const double *>w.k, <double *>w.out, w.g, t)
    else:
        _depthwise_backward_input_row(<const float *>w.x, <const float *>w.k, <float *>w.out, w.g, t)
    return 0


cdef void _depthwise_backward_input_row(const floating *dy, const floating *k, floating *dx, Geom g,
                                        Py_ssize_t t) noexcept nogil:
    """Input row t = (n, ih) of dx."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n = t // g.H, ih = t % g.H, iw, a, b, oh, ow, th, tw, c, m
    cdef floating *dxr
    cdef const floating *gr
    cdef const floating *kr
    cdef floating acc
    for iw in range(g.W):
        dxr = dx + ((n * g.H + ih) * g.W + iw) * C
        for c in range(C):
            dxr[c] = 0
        for a in range(g.kh):
            th = ih + g.pt - a * g.dh  # = oh * sh for the output row that read (ih) with tap a
            if th < 0 or th % g.sh != 0 or th // g.sh >= g.OH:
                continue
            oh = th // g.sh
            for b in range(g.kw):
                tw = iw + g.pl - b * g.dw
                if tw < 0 or tw % g.sw != 0 or tw // g.sw >= g.OW:
                    continue
                ow = tw // g.sw
                gr = dy + ((n * g.OH + oh) * g.OW + ow) * F
                kr = k + (a * g.kw + b) * F
                if mult == 1:
                    for c in range(C):
                        dxr[c] = dxr[c] + gr[c] * kr[c]
                else:
                    for c in range(C):
                        acc = 0
                        for m in range(mult):
                            acc = acc + gr[c * mult + m] * kr[c * mult + m]
                        dxr[c] = dxr[c] + acc


cdef int _depthwise_backward_kernel(const floating *x, const floating *dy, floating *dk, Geom g) noexcept nogil:
    """dk (OUT, (kh, kw, 1, F)) = sum over output cells; threads own contiguous filter ranges and
    sum every pixel in the same order, so the result does not depend on the thread count."""
    cdef Work w = _work(x, dy, <const floating *>NULL, dk, g)
    w.n = clamp_threads(g.F // 16 if g.F >= 32 else 1)
    return minicnn_parallel_for(w.n, w.n, 0, g.flush, False, _depthwise_backward_kernel_unit, &w)


cdef int _depthwise_backward_kernel_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    cdef Work *w = <Work *>ctx
    cdef Py_ssize_t f0 = w.g.F * part // w.n, f1 = w.g.F * (part + 1) // w.n
    if w.dbl:
        _depthwise_backward_kernel_range(<const double *>w.x, <const double *>w.k, <double *>w.out, w.g, f0, f1)
    else:
        _depthwise_backward_kernel_range(<const float *>w.x, <const float *>w.k, <float *>w.out, w.g, f0, f1)
    return 0


cdef void _depthwise_backward_kernel_range(const floating *x, const floating *dy, floating *dk, Geom g,
                                           Py_ssize_t f0, Py_ssize_t f1) noexcept nogil:
    """Filters [f0, f1) of dk."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n, oh, ow, a, b, ih, iw, f
    cdef floating *kr
    cdef const floating *xr
    cdef const floating *gr
    for a in range(g.kh * g.kw):
        for f in range(f0, f1):
            dk[a * F + f] = 0
    for n in range(g.N):
        for oh in range(g.OH):
            for ow in range(g.OW):
                gr = dy + ((n * g.OH + oh) * g.OW + ow) * F
                for a in range(g.kh):
                    ih = oh * g.sh + a * g.dh - g.pt
                    if ih < 0 or ih >= g.H:
                        continue
                    for b in range(g.kw):
                        iw = ow * g.sw + b * g.dw - g.pl
                        if iw < 0 or iw >= g.W:
                            continue
                        xr = x + ((n * g.H + ih) * g.W + iw) * C
                        kr = dk + (a * g.kw + b) * F
                        if mult == 1:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[f] * gr[f]
                        elif C == 1:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[0] * gr[f]
                        else:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[f // mult] * gr[f]


# ------------------------------------------------------------------ few input channels: direct loops
# (conv_small.h).  Measured at batch 64 on LeNet's first layer (28x28x1, 5x5, 6 filters) and the
# reference CNN's (28x28x1, 3x3, 32 filters) against im2col + GEMM: see _use_small.

cdef Py_ssize_t SMALL_MAX_C = 1           # direct loops for up to this many input channels (one group)
# ... and the kernel gradient's for up to this many: RGB first layers (3 channels, 3x3, 16-64
# filters, batch 64) took 1.5-1.9x less time than im2col + GEMM on 1 and 2 threads, their
# forward did not gain (benchmarks/README.md, step 4)
cdef Py_ssize_t SMALL_BWD_MAX_C = 3
cdef Py_ssize_t SMALL_MAX_F = 64          # ... and up to this many filters
cdef Py_ssize_t SMALL_BWD_SCRATCH = 1 << 18  # bytes of the kernel gradient's per-thread scratch, at most
cdef int SMALL_ISA = 0                    # 1: the AVX2+FMA clones, 0: baseline (set at import)
if mcs_cpu_avx2() and _os.environ.get("MINICNN_ARCH", "").strip().lower() != "reference":
    SMALL_ISA = 1  # MINICNN_ARCH=reference (the GEMM's switch) keeps the baseline loops here too


def _set_small_direct(Py_ssize_t max_c=1, Py_ssize_t max_f=64, Py_ssize_t bwd_max_c=3):
    """Benchmark/test hook: which convolutions take the direct loops: forward up to max_c input
    channels, kernel gradient up to bwd_max_c, both up to max_f filters (0 channels: none)."""
    global SMALL_MAX_C, SMALL_MAX_F, SMALL_BWD_MAX_C
    SMALL_MAX_C, SMALL_MAX_F, SMALL_BWD_MAX_C = max_c, max_f, bwd_max_c


def _set_small_isa(int isa):
    """Test hook: 1 runs the direct loops' AVX2+FMA build (only where the CPU has it), 0 the
    baseline build.  Returns the previous setting."""
    global SMALL_ISA
    cdef int old = SMALL_ISA
    if isa == 1 and not mcs_cpu_avx2():
        raise ValueError("_set_small_isa(1): this CPU/OS cannot run AVX2+FMA code")
    SMALL_ISA = 1 if isa == 1 else 0
    return old


def _small_isa():
    """1 when the direct loops run their AVX2+FMA build, else 0."""
    return SMALL_ISA


cdef inline bint _use_small(Geom g) noexcept nogil:
    return g.groups == 1 and not g.pointwise and g.C <= SMALL_MAX_C and g.F <= SMALL_MAX_F


cdef inline bint _use_small_backward(Geom g, Py_ssize_t itemsize) noexcept nogil:
    cdef mcs_geom m = _mcs(g)
    return (g.groups == 1 and not g.pointwise and g.C <= SMALL_BWD_MAX_C and g.F <= SMALL_MAX_F
            and mcs_backward_scratch(&m) * itemsize <= SMALL_BWD_SCRATCH)


cdef inline mcs_geom _mcs(Geom g) noexcept nogil:
    cdef mcs_geom m
    m.N, m.H, m.W, m.C, m.OH, m.OW, m.F = g.N, g.H, g.W, g.C, g.OH, g.OW, g.F
    m.kh, m.kw, m.sh, m.sw, m.dh, m.dw, m.pt, m.pl = g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl
    return m


cdef int _small_forward(const floating *x, const floating *k, const floating *bias, floating *y,
                        Geom g, bint relu) noexcept nogil:
    """y (OUT) = conv(x, k) + bias (then ReLU): output rows (n, oh) in chunks across threads; each
    row is computed whole by one thread, so the result does not depend on the thread count."""
    cdef mcs_geom m = _mcs(g)
    cdef Py_ssize_t T = g.N * g.OH
    cdef int nt = _threads(g, T)
    cdef Work w = _work(x, k, bias, y, g)
    w.per = (mcs_forward_scratch(&m) + 1) & ~1  # even: the tap pointers after it stay aligned
    w.rows = (T + 4 * nt - 1) // (4 * nt)  # a few chunks per thread: a stalled core holds up less
    w.n = (T + w.rows - 1) // w.rows
    w.relu = relu
    return minicnn_parallel_for(w.n, nt, w.per * sizeof(floating) + mcs_forward_pointers(&m) * sizeof(void *),
                                g.flush, True, _small_forward_unit, &w)


cdef int _small_forward_unit(void *ctx, ptrdiff_t c, void *scratch) noexcept nogil:
    """Output rows [c * w.rows, ...) (w.rows of them); scratch: w.per values, then the tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef mcs_geom m = _mcs(w.g)
    cdef Py_ssize_t T = w.g.N * w.g.OH, t0 = c * w.rows, t1 = min(t0 + w.rows, T)
    if w.dbl:
        mcs_forward_rows_f64(SMALL_ISA, <const double *>w.x, <const double *>w.k, <const double *>w.aux,
                             <double *>w.out, &m, t0, t1, w.relu, <double *>scratch,
                             <const double **>(<double *>scratch + w.per))
    else:
        mcs_forward_rows_f32(SMALL_ISA, <const float *>w.x, <const float *>w.k, <const float *>w.aux,
                             <float *>w.out, &m, t0, t1, w.relu, <float *>scratch,
                             <const float **>(<float *>scratch + w.per))
    return 0


cdef Py_ssize_t SMALL_BWD_BLOCKS = 16  # image blocks of the kernel gradient (fixed by N: thread-independent sums)


cdef int _small_backward_kernel(const floating *x, const floating *dy, const floating *ry, floating *dk,
                                floating *db, Geom g) noexcept nogil:
    """dk (OUT, (kh, kw, C, F)) and db (OUT, (F,), or NULL) of the conv for input x and output
    gradient dy, masked by (ry > 0) when ry (the ReLU output) is not NULL.

    Images are cut into nblk fixed blocks (a function of N only); each block's sums go to their
    own double slot and the slots are added in block order, so the result does not depend on
    the thread count.
    """
    cdef mcs_geom m = _mcs(g)
    cdef Py_ssize_t KF = g.K * g.F, F = g.F
    cdef Py_ssize_t nblk = g.N if g.N < SMALL_BWD_BLOCKS else SMALL_BWD_BLOCKS
    cdef Py_ssize_t blk, j, slot = KF + F, scratch = (mcs_backward_scratch(&m) + 1) & ~1  # even, as in _small_forward
    cdef double s
    cdef int failed
    cdef Work w = _work(x, dy, ry, dk, g)
    w.per = (g.N + nblk - 1) // nblk
    w.n = nblk = (g.N + w.per - 1) // w.per
    w.rows = scratch
    w.want_db = db != NULL
    w.part = <double *>malloc(nblk * slot * sizeof(double))
    if w.part == NULL:
        return -1
    failed = minicnn_parallel_for(nblk, _threads(g, nblk), scratch * sizeof(floating)
                                  + mcs_backward_pointers(&m) * sizeof(void *), g.flush, True, _small_backward_unit, &w)
    if not failed:
        minicnn_fp_enter(g.flush)
        for j in range(KF + F if db != NULL else KF):
            s = 0
            for blk in range(nblk):
                s = s + w.part[blk * slot + j]
            if j < KF:
                dk[j] = <floating>s
            else:
                db[j - KF] = <floating>s
        minicnn_fp_exit(g.flush)
    free(w.part)
    return failed


cdef int _small_backward_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Image block blk (w.per images) into its slot of w.part; scratch: w.rows values, then the tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef mcs_geom m = _mcs(w.g)
    cdef Py_ssize_t KF = w.g.K * w.g.F, slot = KF + w.g.F, n0 = blk * w.per, n1 = min(n0 + w.per, w.g.N)
    cdef double *dbp = w.part + blk * slot + KF if w.want_db else NULL
    if w.dbl:
        mcs_backward_kernel_images_f64(SMALL_ISA, <const double *>w.x, <const double *>w.k, <const double *>w.aux,
                                       w.part + blk * slot, dbp, &m, n0, n1, <double *>scratch,
                                       <const double **>(<double *>scratch + w.rows))
    else:
        mcs_backward_kernel_images_f32(SMALL_ISA, <const float *>w.x, <const float *>w.k, <const float *>w.aux,
                                       w.part + blk * slot, dbp, &m, n0, n1, <float *>scratch,
                                       <const float **>(<float *>scratch + w.rows))
    return 0


# ------------------------------------------------------------------ array-level entry points

cdef Geom _checked_geom(str where, tuple xs, tuple ks, tuple ys, Py_ssize_t groups, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl) except *:
    """The geometry of a conv with input shape xs (N, H, W, C), kernel shape ks (kh, kw, C // groups,
    F) and output shape ys (N, OH, OW, F), after checking that they agree (the loops index every
    array by these sizes) and that strides, dilations and groups are positive, padding not negative."""
    for name, v in (("strides", sh), ("strides", sw), ("dilation_rate", dh), ("dilation_rate", dw),
                    ("groups", groups)):
        check_at_least(where, name, v, 1)
    check_at_least(where, "padding", min(pt, pl), 0)
    check_at_least(where, "kernel size", min(ks), 1)
    if xs[3] != ks[2] * groups or ks[3] % groups:
        raise ValueError(f"{where}: kernel shape {ks} does not fit input shape {xs} with groups={groups}")
    check_shape(where, "the output" if where == "conv2d_forward_into" else "dy", ys, (xs[0], ys[1], ys[2], ks[3]))
    return _geom(xs[0], xs[1], xs[2], xs[3], ys[1], ys[2], ks[0], ks[1], ks[2], ks[3], groups, sh, sw, dh, dw, pt, pl)


def conv2d_forward_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] kernel, bias,
                        floating[:, :, :, ::1] y, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw,
                        Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups, bint relu=False):
    """y (OUT, (N, OH, OW, F)) = conv(x, kernel) + bias, then max(y, 0) when relu.  x (IN, (N, H, W,
    C)), kernel (IN, (kh, kw, C // groups, F)), bias (IN, (F,), or None)."""
    cdef Geom g = _checked_geom("conv2d_forward_into", dims(x.shape, 4), dims(kernel.shape, 4), dims(y.shape, 4),
                                groups, sh, sw, dh, dw, pt, pl)
    cdef const floating[::1] b
    cdef const floating *bp = NULL
    cdef int rc
    if bias is not None:
        b = bias
        check_shape("conv2d_forward_into", "bias", dims(b.shape, 1), (g.F,))
        bp = &b[0]
    if y.size == 0:
        return
    with nogil:
        rc = _forward(&x[0, 0, 0, 0], &kernel[0, 0, 0, 0], bp, &y[0, 0, 0, 0], g, relu)
    if rc != 0:
        raise MemoryError("conv2d_forward: could not allocate scratch memory")


def conv2d_backward_input_into(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] kernel,
                               floating[:, :, :, ::1] dx, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                               Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups):
    """dx (OUT, (N, H, W, C), fully written) = the input gradient of conv for output gradient dy
    (IN, (N, OH, OW, F)) and kernel (IN, (kh, kw, C // groups, F))."""
    cdef Geom g = _checked_geom("conv2d_backward_input_into", dims(dx.shape, 4), dims(kernel.shape, 4),
                                dims(dy.shape, 4), groups, sh, sw, dh, dw, pt, pl)
    cdef int rc
    if dx.size == 0:
        return
    if dy.size == 0:
        dx[...] = 0
        return
    with nogil:
        rc = _backward_input(&dy[0, 0, 0, 0], &kernel[0, 0, 0, 0], &dx[0, 0, 0, 0], g)
    if rc != 0:
        raise MemoryError("conv2d_backward_input: could not allocate scratch memory")


def conv2d_backward_kernel_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dy,
                                floating[:, :, :, ::1] dk, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                                Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups,
                                relu_y=None, db=None):
    """dk (OUT, (kh, kw, C // groups, F), fully written) = the kernel gradient of conv for input x
    (IN, (N, H, W, C)) and output gradient dy (IN, (N, OH, OW, F)).

    relu_y (IN, the shape of dy) and db (OUT, (F,)) are optional and only served by the direct
    loops for few input channels: dy is then multiplied by (relu_y > 0) as it is read, and db
    receives the bias gradient of that product.  When either is given and those loops do not
    apply to this geometry, nothing is written and False is returned (the caller masks and sums
    itself); otherwise True.
    """
    cdef Geom g = _checked_geom("conv2d_backward_kernel_into", dims(x.shape, 4), dims(dk.shape, 4),
                                dims(dy.shape, 4), groups, sh, sw, dh, dw, pt, pl)
    cdef const floating[:, :, :, ::1] ry
    cdef floating[::1] dbv
    cdef const floating *ryp = NULL
    cdef floating *dbp = NULL
    cdef bint small = _use_small_backward(g, sizeof(floating))
    cdef int rc
    if relu_y is not None:
        ry = relu_y
        check_shape("conv2d_backward_kernel_into", "relu_y", dims(ry.shape, 4), dims(dy.shape, 4))
        if ry.size:
            ryp = &ry[0, 0, 0, 0]
    if db is not None:
        dbv = db
        check_shape("conv2d_backward_kernel_into", "db", dims(dbv.shape, 1), (g.F,))
        dbp = &dbv[0] if g.F else NULL
    if (relu_y is not None or db is not None) and not small:
        return False
    if dk.size == 0:
        return True
    if x.size == 0 or dy.size == 0:
        dk[...] = 0
        if db is not None:
            dbv[:] = 0
        return True
    with nogil:
        if small:
            rc = _small_backward_kernel(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], ryp, &dk[0, 0, 0, 0], dbp, g)
        else:
            rc = _backward_kernel(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &dk[0, 0, 0, 0], g)
    if rc != 0:
        raise MemoryError("conv2d_backward_kernel: could not allocate scratch memory")
    return True


cdef struct Rows:
    # an (M, F) reduction's arguments for the parallel loop's units
    const void *dy       # IN (M, F)
    const void *y        # IN (M, F): the ReLU output masking dy
    void *out            # OUT: db (F,), or the masked dy (M, F)
    double *part         # OUT: per-block column sums (nblk, F), or NULL
    Py_ssize_t M, F, n
    bint dbl


def bias_grad_into(const floating[:, ::1] dy, floating[::1] db):
    """db (OUT, (F,)) = dy (IN, (M, F)) summed over rows in double, one pass over dy.

    Threads take contiguous filter ranges, so each db element has one summation order.
    """
    cdef Rows w
    cdef int rc
    check_shape("bias_grad_into", "db", dims(db.shape, 1), (dy.shape[1],))
    w.dy, w.y, w.out, w.part = &dy[0, 0] if dy.size else NULL, NULL, &db[0] if db.size else NULL, NULL
    w.M, w.F, w.dbl = dy.shape[0], dy.shape[1], floating is double
    w.n = clamp_threads(w.F // 16 if w.M * w.F >= 65536 else 1)
    if w.F == 0:
        return
    with nogil:
        rc = minicnn_parallel_for(w.n, w.n, w.F * sizeof(double), False, False, _bias_grad_unit, &w)
    if rc:
        raise MemoryError("bias gradient: could not allocate scratch memory")


cdef int _bias_grad_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Filters [F * part / n, F * (part + 1) / n) of db; scratch: F doubles."""
    cdef Rows *w = <Rows *>ctx
    if w.dbl:
        _column_sums(<const double *>w.dy, w.M, w.F, w.F * part // w.n, w.F * (part + 1) // w.n,
                     <double *>scratch, <double *>w.out)
    else:
        _column_sums(<const float *>w.dy, w.M, w.F, w.F * part // w.n, w.F * (part + 1) // w.n,
                     <double *>scratch, <float *>w.out)
    return 0


cdef void _column_sums(const floating *dy, Py_ssize_t M, Py_ssize_t F, Py_ssize_t f0, Py_ssize_t f1,
                       double *acc, floating *db) noexcept nogil:
    cdef Py_ssize_t f, r
    cdef const floating *row
    for f in range(f0, f1):
        acc[f] = 0
    for r in range(M):
        row = dy + r * F
        for f in range(f0, f1):
            acc[f] += row[f]
    for f in range(f0, f1):
        db[f] = <floating>acc[f]


cdef Py_ssize_t RELU_BLOCK_ROWS = 256  # rows per partial bias sum: fixed, so the sum order never depends on threads


def relu_mask_bias_grad_into(const floating[:, ::1] dy, const floating[:, ::1] y, floating[:, ::1] out, db):
    """out (OUT, (M, F)) = dy * (y > 0) for a ReLU output y (IN); db (OUT, (F,), or None) = out
    summed over rows.  dy (IN) is not modified.

    One pass over dy and y instead of a mask pass, a multiply pass and a reduction pass.  The
    rows are cut into fixed blocks of RELU_BLOCK_ROWS; each block's column sums (in double) go to
    its own slot and the slots are added in block order, so db does not depend on the thread
    count.  The mask multiplies (not selects) so NaN/sign behaviour equals ``dy * (y > 0)``; it
    is conv_small.h's relu_mask, vectorised without branches.
    """
    cdef Py_ssize_t M = dy.shape[0], F = dy.shape[1], blk, f
    cdef floating[::1] dbv
    cdef double s
    cdef Rows w
    check_shape("relu_mask_bias_grad_into", "y", dims(y.shape, 2), (M, F))
    check_shape("relu_mask_bias_grad_into", "out", dims(out.shape, 2), (M, F))
    if db is not None:
        dbv = db
        check_shape("relu_mask_bias_grad_into", "db", dims(dbv.shape, 1), (F,))
    if M == 0 or F == 0:
        if db is not None:
            dbv[:] = 0
        return
    w.dy, w.y, w.out, w.part, w.M, w.F, w.dbl = &dy[0, 0], &y[0, 0], &out[0, 0], NULL, M, F, floating is double
    w.n = (M + RELU_BLOCK_ROWS - 1) // RELU_BLOCK_ROWS
    if db is not None:
        w.part = <double *>malloc(w.n * F * sizeof(double))
        if w.part == NULL:
            raise MemoryError("relu_mask_bias_grad: could not allocate scratch memory")
    with nogil:
        minicnn_parallel_for(w.n, clamp_threads(w.n if M * F >= 65536 else 1), 0, False, False, _relu_mask_unit, &w)
        if w.part != NULL:
            for f in range(F):
                s = 0
                for blk in range(w.n):
                    s = s + w.part[blk * F + f]
                dbv[f] = <floating>s
    free(w.part)


cdef int _relu_mask_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk (RELU_BLOCK_ROWS rows) of the mask, and its column sums into w.part."""
    cdef Rows *w = <Rows *>ctx
    cdef Py_ssize_t r0 = blk * RELU_BLOCK_ROWS, r1 = min(r0 + RELU_BLOCK_ROWS, w.M)
    if w.dbl:
        mcs_relu_mask_f64(SMALL_ISA, <const double *>w.dy + r0 * w.F, <const double *>w.y + r0 * w.F,
                          <double *>w.out + r0 * w.F, (r1 - r0) * w.F)
        if w.part != NULL:
            _block_sums(<double *>w.out + r0 * w.F, r1 - r0, w.F, w.part + blk * w.F)
    else:
        mcs_relu_mask_f32(SMALL_ISA, <const float *>w.dy + r0 * w.F, <const float *>w.y + r0 * w.F,
                          <float *>w.out + r0 * w.F, (r1 - r0) * w.F)
        if w.part != NULL:
            _block_sums(<float *>w.out + r0 * w.F, r1 - r0, w.F, w.part + blk * w.F)
    return 0


cdef void _block_sums(const floating *rows, Py_ssize_t m, Py_ssize_t F, double *acc) noexcept nogil:
    """acc (OUT, (F,)) = the column sums of rows (IN, (m, F)), in double, row after row."""
    cdef Py_ssize_t r, f
    for f in range(F):
        acc[f] = 0
    for r in range(m):
        for f in range(F):
            acc[f] = acc[f] + rows[r * F + f]
