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

from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

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

cdef extern from "fpenv.h" nogil:
    # denormals flushed on this call's threads, restored on exit (see fpenv.h)
    int minicnn_fpenv_enter_work(int nt, long long work)
    int minicnn_fpenv_enter(int nt)
    void minicnn_fpenv_exit(int nt)
    void minicnn_fpenv_enter_thread()
    void minicnn_fpenv_exit_thread()

ctypedef fused floating:
    float
    double

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
    bint flush            # the call flushes subnormals: team threads do it too (see _team_enter)


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
    g.flush = False
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


# Subnormals are flushed inside the kernels' own parallel regions: the entry points flush the
# calling thread only (minicnn_fpenv_enter_work(1, ...), setting g.flush), and every team thread
# brackets its share with these two (nested, so no-ops, on the calling thread).  fpenv.h's
# team-wide enter/exit would cost two more parallel regions per call, each waking the sleeping
# workers again under OMP_WAIT_POLICY=PASSIVE (LeNet's second conv at batch 128, 2 threads:
# 0.86 -> 0.63 ms without them).
cdef inline void _team_enter(Geom g) noexcept nogil:
    if g.flush:
        minicnn_fpenv_enter_thread()


cdef inline void _team_exit(Geom g) noexcept nogil:
    if g.flush:
        minicnn_fpenv_exit_thread()


cdef inline int _gemm_team_enter(Geom g, int nt) noexcept nogil:
    """Before a GEMM given nt > 1 threads of its own (the serial paths' one big block): flush on
    its team, whose threads are not in any region of ours.  Returns what _gemm_team_exit takes."""
    if g.flush and nt > 1:
        return minicnn_fpenv_enter(nt)
    return -1


cdef inline void _gemm_team_exit(int fp) noexcept nogil:
    if fp > 0:
        minicnn_fpenv_exit(fp)


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
                      floating beta, floating *c, Py_ssize_t ldc, int nt) noexcept nogil:
    if floating is float:
        return sgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt)
    else:
        return dgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc, nt)


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
            rc |= _gemm(True, True, g.Fg, m, g.K, k + grp * g.Fg, g.F, a, lda, <floating>0, tbuf, m, nt)
            for f in range(Fg):
                bf = bias[grp * Fg + f] if bias != NULL else 0
                yr = y + r0 * F + grp * Fg + f
                for r in range(m):
                    yr[r * F] = tbuf[f * m + r] + bf
                    if relu:
                        yr[r * F] = _relu(yr[r * F])
        else:
            rc |= _gemm(False, False, m, g.Fg, g.K, a, lda, k + grp * g.Fg, g.F, <floating>0,
                        y + r0 * g.F + grp * g.Fg, g.F, nt)
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
    cdef Py_ssize_t M = g.N * g.OH * g.OW, rows, nblocks, blk, r0, r1
    cdef int nt = max_threads(), rc = 0
    cdef floating *cols = NULL
    if M == 0:
        return 0
    if _use_small(g):
        return _small_forward(x, k, bias, y, g, relu)
    if _use_direct(g):
        _depthwise_forward(x, k, bias, y, g)
        if relu:
            _relu_inplace(y, M * g.F)
        return 0
    rows = _block_rows(g.K + g.F, sizeof(floating))
    rows = _unit_rows(rows, M, nt)  # rows are independent: any split gives the same output
    nblocks = (M + rows - 1) // rows
    nt = _threads(g, nblocks)
    if nt == 1:
        cols = <floating *>malloc(rows * (g.K + g.Fg) * sizeof(floating))
        if cols == NULL:
            return -1
        for blk in range(nblocks):
            r0 = blk * rows
            r1 = r0 + rows if r0 + rows < M else M
            rc |= _forward_block(x, k, bias, y, cols, cols + rows * g.K, g, r0, r1, 1, relu)
        free(cols)
        return rc
    with parallel(num_threads=nt):
        _team_enter(g)
        cols = <floating *>malloc(rows * (g.K + g.Fg) * sizeof(floating))
        for blk in prange(nblocks, schedule="dynamic"):
            r0 = blk * rows
            r1 = r0 + rows if r0 + rows < M else M
            rc |= -1 if cols == NULL else _forward_block(x, k, bias, y, cols, cols + rows * g.K, g, r0, r1, 1, relu)
        free(cols)
        _team_exit(g)
    return rc


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
                        k + grp * g.Fg, g.F, <floating>0, cols, g.K, nt)
            _col2im(cols, dx, g, grp, r0, r1)
        r0 = r1
    return rc


cdef int _pointwise_input_block(const floating *dy, const floating *k, floating *dx, Geom g,
                                Py_ssize_t r0, Py_ssize_t r1, int nt) noexcept nogil:
    """1x1 stride-1 conv: dx rows [r0, r1) (OUT) = dy rows @ kernel^T, no col2im."""
    cdef Py_ssize_t grp
    cdef int rc = 0
    for grp in range(g.groups):
        rc |= _gemm(False, True, r1 - r0, g.Cg, g.Fg, dy + r0 * g.F + grp * g.Fg, g.F,
                    k + grp * g.Fg, g.F, <floating>0, dx + r0 * g.C + grp * g.Cg, g.C, nt)
    return rc


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
    cdef Py_ssize_t M = g.N * g.OH * g.OW, rows, nblocks, blk, n, r0, r1, per
    cdef int nt = max_threads(), rc = 0, fp
    cdef floating *cols = NULL
    if g.N * g.H * g.W * g.C == 0:
        return 0
    if M == 0:
        memset(dx, 0, g.N * g.H * g.W * g.C * sizeof(floating))
        return 0
    if _use_direct(g):
        _depthwise_backward_input(dy, k, dx, g)
        return 0
    if _use_flipped_conv(g):
        return _backward_input_as_conv(dy, k, dx, g)
    rows = _block_rows(g.K + g.F, sizeof(floating))
    if g.pointwise:
        rows = _unit_rows(rows, M, nt)
        nblocks = (M + rows - 1) // rows
        nt = _threads(g, nblocks)
        with parallel(num_threads=nt):
            _team_enter(g)
            for blk in prange(nblocks, schedule="dynamic"):
                r0 = blk * rows
                r1 = r0 + rows if r0 + rows < M else M
                rc |= _pointwise_input_block(dy, k, dx, g, r0, r1, 1)
            _team_exit(g)
        return rc
    # Work units: groups of whole images (col2im overlaps within an image), as many as fit a
    # block, but UNITS_PER_THREAD units per thread where there are enough images.
    per = rows // (g.OH * g.OW)
    if per > (g.N + UNITS_PER_THREAD * nt - 1) // (UNITS_PER_THREAD * nt):
        per = (g.N + UNITS_PER_THREAD * nt - 1) // (UNITS_PER_THREAD * nt)
    if per < 1:
        per = 1
    nblocks = (g.N + per - 1) // per
    nt = _threads(g, nblocks)
    if nt == 1:  # one unit, one thread or little work: the GEMM gets what threads the work allows
        cols = <floating *>malloc(rows * g.K * sizeof(floating))
        if cols == NULL:
            return -1
        nt = _threads(g, max_threads())
        fp = _gemm_team_enter(g, nt)
        for blk in range(nblocks):
            n = blk * per
            rc |= _backward_input_images(dy, k, dx, cols, g, n, min(n + per, g.N), rows, nt)
        _gemm_team_exit(fp)
        free(cols)
        return rc
    with parallel(num_threads=nt):
        _team_enter(g)
        cols = <floating *>malloc(rows * g.K * sizeof(floating))
        for blk in prange(nblocks, schedule="dynamic"):
            n = blk * per
            rc |= -1 if cols == NULL else _backward_input_images(dy, k, dx, cols, g, n, min(n + per, g.N), rows, 1)
        free(cols)
        _team_exit(g)
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
                            beta, tbuf, kt, nt)
            else:
                rc |= _gemm(True, False, kt, nf, r1 - r0, a, lda, dy + r0 * g.F + grp * g.Fg + f0, g.F,
                            beta, dk + k0 * g.F + grp * g.Fg + f0, g.F, nt)
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
    cdef Py_ssize_t M = g.N * g.OH * g.OW, K = g.K, KF = g.K * g.F, blocks = (M + rows - 1) // rows
    cdef Py_ssize_t p, i, ra, rb
    cdef int nt = _threads(g, parts), rc = 0
    cdef floating *cols = NULL
    cdef floating *acc = <floating *>malloc(parts * KF * sizeof(floating))
    if acc == NULL:
        return -1
    with parallel(num_threads=nt):
        _team_enter(g)
        cols = <floating *>malloc((rows + g.Fg) * K * sizeof(floating))
        for p in prange(parts, schedule="dynamic"):
            ra = (p * blocks // parts) * rows
            rb = ((p + 1) * blocks // parts) * rows
            if rb > M:
                rb = M
            rc |= -1 if cols == NULL else _backward_kernel_cols(x, dy, acc + p * KF, cols, cols + rows * K, g,
                                                                0, K, 0, g.Fg, rows, 1, ra, rb)
        free(cols)
        _team_exit(g)
    for i in range(KF):
        dk[i] = acc[i]
    for p in range(1, parts):
        _add(dk, acc + p * KF, KF)
    free(acc)
    return rc


cdef int _backward_kernel(const floating *x, const floating *dy, floating *dk, Geom g) noexcept nogil:
    cdef Py_ssize_t M = g.N * g.OH * g.OW, K = g.K, rows, part, k0, k1, f0, f1, parts
    cdef int nt = _threads(g, max_threads()), rc = 0, fp
    cdef floating *cols = NULL
    if M == 0:
        memset(dk, 0, K * g.F * sizeof(floating))
        return 0
    if _use_direct(g):
        _depthwise_backward_kernel(x, dy, dk, g)
        return 0
    # Fixed by the geometry alone, never by the thread count: the summation order of every
    # dkernel element is then the same for any number of threads.
    rows = _block_rows(K + g.F, sizeof(floating))
    parts = _kernel_grad_parts(g, rows)
    if parts > 1:
        return _backward_kernel_parts(x, dy, dk, g, _part_rows(rows, M, parts), parts)
    if nt > 1 and K >= 4 * nt:
        # Threads own equal ranges of dkernel rows (im2col columns) and build only those columns.
        nt = clamp_threads(K // 4)
        with parallel(num_threads=nt):
            _team_enter(g)
            cols = <floating *>malloc((rows + g.Fg) * K * sizeof(floating))
            for part in prange(nt, schedule="static", chunksize=1):
                k0 = K * part // nt
                k1 = K * (part + 1) // nt
                rc |= -1 if cols == NULL else _backward_kernel_cols(x, dy, dk, cols, cols + rows * K, g, k0, k1,
                                                                    0, g.Fg, rows, 1)
            free(cols)
            _team_exit(g)
        return rc
    if nt > 1 and g.Fg >= 2 * nt:
        # Few columns: split the filters instead; each thread builds the whole im2col block.
        nt = clamp_threads(g.Fg // 2)
        with parallel(num_threads=nt):
            _team_enter(g)
            cols = <floating *>malloc((rows + g.Fg) * K * sizeof(floating))
            for part in prange(nt, schedule="static", chunksize=1):
                f0 = g.Fg * part // nt
                f1 = g.Fg * (part + 1) // nt
                rc |= -1 if cols == NULL else _backward_kernel_cols(x, dy, dk, cols, cols + rows * K, g, 0, K,
                                                                    f0, f1, rows, 1)
            free(cols)
            _team_exit(g)
        return rc
    cols = <floating *>malloc((rows + g.Fg) * K * sizeof(floating))
    if cols == NULL:
        return -1
    fp = _gemm_team_enter(g, nt)
    rc = _backward_kernel_cols(x, dy, dk, cols, cols + rows * K, g, 0, K, 0, g.Fg, rows, nt)
    _gemm_team_exit(fp)
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

cdef void _depthwise_forward(const floating *x, const floating *k, const floating *bias, floating *y,
                             Geom g) noexcept nogil:
    """y (OUT) = depthwise conv of x (IN) with k (IN, (kh, kw, 1, F)) + bias (IN or NULL); (n, oh) rows across threads."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, t, n, oh, ow, a, b, ih, iw, c, m, f
    cdef floating *yr
    cdef const floating *xr
    cdef const floating *kr
    cdef int nt = clamp_threads(g.N * g.OH)
    with parallel(num_threads=nt):
        _team_enter(g)
        for t in prange(g.N * g.OH, schedule="static"):
            n = t // g.OH
            oh = t % g.OH
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
        _team_exit(g)


cdef void _depthwise_backward_input(const floating *dy, const floating *k, floating *dx, Geom g) noexcept nogil:
    """dx (OUT) gathered per input cell from the output cells that read it; (n, ih) rows across threads."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, t, n, ih, iw, a, b, oh, ow, th, tw, c, m
    cdef floating *dxr
    cdef const floating *gr
    cdef const floating *kr
    cdef floating acc
    cdef int nt = clamp_threads(g.N * g.H)
    with parallel(num_threads=nt):
        _team_enter(g)
        for t in prange(g.N * g.H, schedule="static"):
            n = t // g.H
            ih = t % g.H
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
        _team_exit(g)


cdef void _depthwise_backward_kernel(const floating *x, const floating *dy, floating *dk, Geom g) noexcept nogil:
    """dk (OUT, (kh, kw, 1, F)) = sum over output cells; threads own contiguous filter ranges and
    sum every pixel in the same order, so the result does not depend on the thread count."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, part, f0, f1, n, oh, ow, a, b, ih, iw, f
    cdef floating *kr
    cdef const floating *xr
    cdef const floating *gr
    cdef int nt = clamp_threads(F // 16 if F >= 32 else 1)
    with parallel(num_threads=nt):
        _team_enter(g)
        for part in prange(nt, schedule="static", chunksize=1):
            f0 = F * part // nt
            f1 = F * (part + 1) // nt
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
        _team_exit(g)


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
    cdef Py_ssize_t T = g.N * g.OH, rows, nchunks, c, t0, t1
    cdef Py_ssize_t scratch = (mcs_forward_scratch(&m) + 1) & ~1  # even: the tap pointers after it stay aligned
    cdef int nt, failed = 0, isa = SMALL_ISA
    cdef floating *buf = NULL
    nt = _threads(g, T)
    rows = (T + 4 * nt - 1) // (4 * nt)  # a few chunks per thread: a stalled core holds up less
    nchunks = (T + rows - 1) // rows
    with parallel(num_threads=nt):
        _team_enter(g)
        buf = <floating *>malloc(scratch * sizeof(floating) + mcs_forward_pointers(&m) * sizeof(void *))
        for c in prange(nchunks, schedule="dynamic"):
            t0 = c * rows
            t1 = t0 + rows if t0 + rows < T else T
            if buf == NULL:
                failed |= 1
            elif floating is float:
                mcs_forward_rows_f32(isa, x, k, bias, y, &m, t0, t1, relu, buf, <const float **>(buf + scratch))
            else:
                mcs_forward_rows_f64(isa, x, k, bias, y, &m, t0, t1, relu, buf, <const double **>(buf + scratch))
        free(buf)
        _team_exit(g)
    return -1 if failed else 0


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
    cdef Py_ssize_t KF = g.K * g.F, F = g.F, OW = g.OW
    cdef Py_ssize_t nblk = g.N if g.N < SMALL_BWD_BLOCKS else SMALL_BWD_BLOCKS
    cdef Py_ssize_t per = (g.N + nblk - 1) // nblk, blk, n0, n1, j
    cdef Py_ssize_t slot = KF + F, scratch = (mcs_backward_scratch(&m) + 1) & ~1  # even, as in _small_forward
    cdef double *part
    cdef double *dbp
    cdef double s
    cdef floating *buf = NULL
    cdef int nt, failed = 0, isa = SMALL_ISA
    nblk = (g.N + per - 1) // per
    part = <double *>malloc(nblk * slot * sizeof(double))
    if part == NULL:
        return -1
    nt = _threads(g, nblk)
    with parallel(num_threads=nt):
        _team_enter(g)
        buf = <floating *>malloc(scratch * sizeof(floating) + mcs_backward_pointers(&m) * sizeof(void *))
        for blk in prange(nblk, schedule="dynamic"):
            n0 = blk * per
            n1 = n0 + per if n0 + per < g.N else g.N
            dbp = part + blk * slot + KF if db != NULL else NULL
            if buf == NULL:
                failed |= 1
            elif floating is float:
                mcs_backward_kernel_images_f32(isa, x, dy, ry, part + blk * slot, dbp, &m, n0, n1, buf,
                                               <const float **>(buf + scratch))
            else:
                mcs_backward_kernel_images_f64(isa, x, dy, ry, part + blk * slot, dbp, &m, n0, n1, buf,
                                               <const double **>(buf + scratch))
        free(buf)
        _team_exit(g)
    if not failed:
        for j in range(KF + F if db != NULL else KF):
            s = 0
            for blk in range(nblk):
                s = s + part[blk * slot + j]
            if j < KF:
                dk[j] = <floating>s
            else:
                db[j - KF] = <floating>s
    free(part)
    return -1 if failed else 0


# ------------------------------------------------------------------ array-level entry points

cdef inline tuple _shape4(const floating[:, :, :, ::1] a):
    return (a.shape[0], a.shape[1], a.shape[2], a.shape[3])


cdef Geom _geom_of(xshape, kshape, yshape, Py_ssize_t groups, Py_ssize_t sh, Py_ssize_t sw,
                   Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl):
    return _geom(xshape[0], xshape[1], xshape[2], xshape[3], yshape[1], yshape[2],
                 kshape[0], kshape[1], kshape[2], kshape[3], groups, sh, sw, dh, dw, pt, pl)


def conv2d_forward_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] kernel, bias,
                        floating[:, :, :, ::1] y, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw,
                        Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups, bint relu=False):
    """y (OUT) = conv(x, kernel) + bias, then max(y, 0) when relu.  x, kernel, bias (IN; bias may be
    None).  Arguments checked in conv.py."""
    cdef Geom g = _geom_of(_shape4(x), _shape4(kernel), _shape4(y), groups,
                           sh, sw, dh, dw, pt, pl)
    cdef const floating[::1] b
    cdef const floating *bp = NULL
    cdef int rc, fp
    if bias is not None:
        b = bias
        bp = &b[0]
    if y.size == 0:
        return
    with nogil:
        fp = minicnn_fpenv_enter_work(1, g.N * g.OH * g.OW * g.kh * g.kw * g.Cg * g.F)
        g.flush = fp > 0
        rc = _forward(&x[0, 0, 0, 0], &kernel[0, 0, 0, 0], bp, &y[0, 0, 0, 0], g, relu)
        minicnn_fpenv_exit(fp)
    if rc != 0:
        raise MemoryError("conv2d_forward: could not allocate scratch memory")


def conv2d_backward_input_into(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] kernel,
                               floating[:, :, :, ::1] dx, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                               Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups):
    """dx (OUT, fully written) = the input gradient of conv for output gradient dy (IN)."""
    cdef Geom g = _geom_of(_shape4(dx), _shape4(kernel), _shape4(dy), groups,
                           sh, sw, dh, dw, pt, pl)
    cdef int rc, fp
    if dx.size == 0:
        return
    if dy.size == 0:
        dx[...] = 0
        return
    with nogil:
        fp = minicnn_fpenv_enter_work(1, g.N * g.OH * g.OW * g.kh * g.kw * g.Cg * g.F)
        g.flush = fp > 0
        rc = _backward_input(&dy[0, 0, 0, 0], &kernel[0, 0, 0, 0], &dx[0, 0, 0, 0], g)
        minicnn_fpenv_exit(fp)
    if rc != 0:
        raise MemoryError("conv2d_backward_input: could not allocate scratch memory")


def conv2d_backward_kernel_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dy,
                                floating[:, :, :, ::1] dk, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                                Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups,
                                relu_y=None, db=None):
    """dk (OUT, fully written) = the kernel gradient of conv for input x and output gradient dy (IN).

    relu_y (IN, the shape of dy) and db (OUT, (F,)) are optional and only served by the direct
    loops for few input channels: dy is then multiplied by (relu_y > 0) as it is read, and db
    receives the bias gradient of that product.  When either is given and those loops do not
    apply to this geometry, nothing is written and False is returned (the caller masks and sums
    itself); otherwise True.
    """
    cdef Geom g = _geom_of(_shape4(x), _shape4(dk), _shape4(dy), groups,
                           sh, sw, dh, dw, pt, pl)
    cdef const floating[:, :, :, ::1] ry
    cdef floating[::1] dbv
    cdef const floating *ryp = NULL
    cdef floating *dbp = NULL
    cdef bint small = _use_small_backward(g, sizeof(floating))
    cdef int rc, fp
    if (relu_y is not None or db is not None) and not small:
        return False
    if relu_y is not None:
        ry = relu_y
        if tuple(relu_y.shape) != _shape4(dy):
            raise ValueError(f"relu_y shape {relu_y.shape} must equal dy shape {_shape4(dy)}")
        if ry.size:
            ryp = &ry[0, 0, 0, 0]
    if db is not None:
        dbv = db
        if dbv.shape[0] != g.F:
            raise ValueError(f"db must have shape ({g.F},), got {db.shape}")
        dbp = &dbv[0] if g.F else NULL
    if dk.size == 0:
        return True
    if x.size == 0 or dy.size == 0:
        dk[...] = 0
        if db is not None:
            dbv[:] = 0
        return True
    with nogil:
        fp = minicnn_fpenv_enter_work(1, g.N * g.OH * g.OW * g.kh * g.kw * g.Cg * g.F)
        g.flush = fp > 0
        if small:
            rc = _small_backward_kernel(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], ryp, &dk[0, 0, 0, 0], dbp, g)
        else:
            rc = _backward_kernel(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &dk[0, 0, 0, 0], g)
        minicnn_fpenv_exit(fp)
    if rc != 0:
        raise MemoryError("conv2d_backward_kernel: could not allocate scratch memory")
    return True


def bias_grad_into(const floating[:, ::1] dy, floating[::1] db):
    """db (OUT, (F,)) = dy (IN, (M, F)) summed over rows in double, one pass over dy.

    Threads take contiguous filter ranges, so each db element has one summation order.
    """
    cdef Py_ssize_t M = dy.shape[0], F = dy.shape[1], part, f, r, f0, f1
    cdef double *acc = NULL
    cdef const floating *row
    cdef int nt = clamp_threads(F // 16 if M * F >= 65536 else 1), failed = 0
    with nogil, parallel(num_threads=nt):
        acc = <double *>malloc(F * sizeof(double))
        for part in prange(nt, schedule="static", chunksize=1):
            if acc == NULL:
                failed |= 1
                continue
            f0 = F * part // nt
            f1 = F * (part + 1) // nt
            for f in range(f0, f1):
                acc[f] = 0
            for r in range(M):
                row = &dy[r, 0]
                for f in range(f0, f1):
                    acc[f] += row[f]
            for f in range(f0, f1):
                db[f] = <floating>acc[f]
        free(acc)
    if failed:
        raise MemoryError("bias gradient: could not allocate scratch memory")


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
    cdef Py_ssize_t M = dy.shape[0], F = dy.shape[1], nblk, blk, r, f, r0, r1
    cdef floating[::1] dbv
    cdef bint want = db is not None
    cdef double *part = NULL
    cdef double *acc
    cdef double s
    cdef floating *orow
    cdef floating v
    cdef int nt
    if want:
        dbv = db
    if M == 0 or F == 0:
        if want:
            dbv[:] = 0
        return
    nblk = (M + RELU_BLOCK_ROWS - 1) // RELU_BLOCK_ROWS
    if want:
        part = <double *>malloc(nblk * F * sizeof(double))
        if part == NULL:
            raise MemoryError("relu_mask_bias_grad: could not allocate scratch memory")
    nt = clamp_threads(nblk if M * F >= 65536 else 1)
    cdef int isa = SMALL_ISA
    with nogil:
        for blk in prange(nblk, num_threads=nt, schedule="static"):
            r0 = blk * RELU_BLOCK_ROWS
            r1 = r0 + RELU_BLOCK_ROWS if r0 + RELU_BLOCK_ROWS < M else M
            if floating is float:
                mcs_relu_mask_f32(isa, &dy[r0, 0], &y[r0, 0], &out[r0, 0], (r1 - r0) * F)
            else:
                mcs_relu_mask_f64(isa, &dy[r0, 0], &y[r0, 0], &out[r0, 0], (r1 - r0) * F)
            if want:
                acc = part + blk * F
                for f in range(F):
                    acc[f] = 0
                for r in range(r0, r1):
                    orow = &out[r, 0]
                    for f in range(F):
                        acc[f] = acc[f] + orow[f]
        if want:
            for f in range(F):
                s = 0
                for blk in range(nblk):
                    s = s + part[blk * F + f]
                dbv[f] = <floating>s
    free(part)
