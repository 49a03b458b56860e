"""Direct convolution loops for few input channels (the DIRECT plan of _conv.pyx), e.g. a
network's first layer: no im2col, filters along the vector lanes (conv_small.h).

Forward: output rows (n, oh) in chunks across threads, each row computed whole by one thread.
Kernel gradient (with the ReLU mask and the bias gradient fused in): images in the plan's fixed
blocks, each block's sums in its own double slot, the slots added in block order.  Neither
depends on the thread count.
"""

import os as _os

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport fold_blocks, minicnn_fp_enter, minicnn_fp_exit, minicnn_parallel_for
from minicnn._kernels._conv_types cimport ConvCall, Geom, macs
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef extern from "conv_small.h" nogil:
    # isa 1 = AVX2+FMA, 0 = baseline
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
    void mcs_backward_kernel_images_f32(int isa, const float *x, const float *gy, const float *ry, double *dkp,
                                        double *dbp, const mcs_geom *g, Py_ssize_t n0, Py_ssize_t n1,
                                        float *scratch, const float **tp)
    void mcs_backward_kernel_images_f64(int isa, const double *x, const double *gy, const double *ry, double *dkp,
                                        double *dbp, const mcs_geom *g, Py_ssize_t n0, Py_ssize_t n1,
                                        double *scratch, const double **tp)

cdef const Tuning *T = tuning()

cdef int SMALL_ISA = 0                    # 1: the AVX2+FMA clones, 0: baseline (set at import)
if mcs_cpu_avx2() and _os.environ.get("MINICNN_ARCH", "").strip().lower() != "reference":
    SMALL_ISA = 1  # MINICNN_ARCH=reference (the GEMM's switch) keeps the baseline loops here too


cdef int small_isa() noexcept nogil:
    return SMALL_ISA


def _set_small_isa(int isa):
    """Test hook: 1 runs the direct loops' AVX2+FMA build (only where the CPU has it), 0 the
    baseline build.  Returns the previous setting."""
    global SMALL_ISA
    cdef int old = SMALL_ISA
    if isa == 1 and not mcs_cpu_avx2():
        raise ValueError("_set_small_isa(1): this CPU/OS cannot run AVX2+FMA code")
    SMALL_ISA = 1 if isa == 1 else 0
    return old


cdef struct Work:
    # one call's arguments for the parallel loop's units
    const ConvCall *c
    mcs_geom m
    double *part          # kernel gradient: the image blocks' partial sums (blocks x (K * F + F))
    Py_ssize_t scratch    # values of scratch before the tap pointers (even: the pointers stay aligned)
    Py_ssize_t rows       # forward: output rows per chunk; kernel gradient: images per block


cdef inline mcs_geom _mcs(const Geom *g) noexcept nogil:
    cdef mcs_geom m
    m.N, m.H, m.W, m.C, m.OH, m.OW, m.F = g.N, g.H, g.W, g.C, g.OH, g.OW, g.F
    m.kh, m.kw, m.sh, m.sw, m.dh, m.dw, m.pt, m.pl = g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl
    return m


cdef Py_ssize_t backward_scratch_bytes(const Geom *g, Py_ssize_t itemsize) noexcept nogil:
    cdef mcs_geom m = _mcs(g)
    return mcs_backward_scratch(&m) * itemsize


cdef int forward(const ConvCall *c) noexcept nogil:
    """y (OUT) = conv(x, k) + bias (then ReLU): output rows (n, oh) in chunks across threads."""
    cdef Py_ssize_t T_rows = c.g.N * c.g.OH, isz = 8 if c.dbl else 4
    cdef int nt = threads_for(macs(&c.g), T.conv_par_min, T_rows)
    cdef Work w
    w.c, w.m = c, _mcs(&c.g)
    w.scratch = (mcs_forward_scratch(&w.m) + 1) & ~1
    w.rows = (T_rows + 4 * nt - 1) // (4 * nt)  # a few chunks per thread: a stalled core holds up less
    return minicnn_parallel_for((T_rows + w.rows - 1) // w.rows, nt,
                                w.scratch * isz + mcs_forward_pointers(&w.m) * sizeof(void *), c.g.flush, True,
                                _forward_unit, &w)


cdef int _forward_unit(void *ctx, ptrdiff_t chunk, void *scratch) noexcept nogil:
    """Output rows [chunk * w.rows, ...); scratch: w.scratch values, then the tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t t0 = chunk * w.rows, t1 = min(t0 + w.rows, c.g.N * c.g.OH)
    if c.dbl:
        mcs_forward_rows_f64(SMALL_ISA, <const double *>c.x, <const double *>c.k, <const double *>c.aux,
                             <double *>c.out, &w.m, t0, t1, c.relu, <double *>scratch,
                             <const double **>(<double *>scratch + w.scratch))
    else:
        mcs_forward_rows_f32(SMALL_ISA, <const float *>c.x, <const float *>c.k, <const float *>c.aux,
                             <float *>c.out, &w.m, t0, t1, c.relu, <float *>scratch,
                             <const float **>(<float *>scratch + w.scratch))
    return 0


cdef int backward_kernel(const ConvCall *c) noexcept nogil:
    """dk (OUT, (kh, kw, C, F)) and db (OUT, (F,), or NULL) for input x and output gradient dy
    (c.k), masked by (c.aux > 0) when c.aux (the ReLU output) is not NULL: images in the plan's
    c.plan.parts fixed blocks of c.plan.rows images, then the blocks' double sums added in order (fold_blocks)."""
    cdef Py_ssize_t KF = c.g.K * c.g.F, slot = KF + c.g.F, nblk = c.plan.parts, isz = 8 if c.dbl else 4
    cdef int rc
    cdef Work w
    w.c, w.m = c, _mcs(&c.g)
    w.scratch = (mcs_backward_scratch(&w.m) + 1) & ~1
    w.rows = c.plan.rows
    w.part = <double *>malloc(nblk * slot * sizeof(double))
    if w.part == NULL:
        return -1
    rc = minicnn_parallel_for(nblk, threads_for(macs(&c.g), T.conv_par_min, nblk),
                              w.scratch * isz + mcs_backward_pointers(&w.m) * sizeof(void *), c.g.flush, True,
                              _backward_kernel_unit, &w)
    if rc == 0:
        minicnn_fp_enter(c.g.flush)
        if c.dbl:
            fold_blocks(w.part, nblk, slot, KF, <double *>c.out)
            if c.db != NULL:
                fold_blocks(w.part + KF, nblk, slot, c.g.F, <double *>c.db)
        else:
            fold_blocks(w.part, nblk, slot, KF, <float *>c.out)
            if c.db != NULL:
                fold_blocks(w.part + KF, nblk, slot, c.g.F, <float *>c.db)
        minicnn_fp_exit(c.g.flush)
    free(w.part)
    return rc


cdef int _backward_kernel_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Image block blk (w.rows images) into its slot of w.part; scratch: w.scratch values, then
    the tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t KF = c.g.K * c.g.F, slot = KF + c.g.F, n0 = blk * w.rows, n1 = min(n0 + w.rows, c.g.N)
    cdef double *dbp = w.part + blk * slot + KF if c.db != NULL else NULL
    if c.dbl:
        mcs_backward_kernel_images_f64(SMALL_ISA, <const double *>c.x, <const double *>c.k, <const double *>c.aux,
                                       w.part + blk * slot, dbp, &w.m, n0, n1, <double *>scratch,
                                       <const double **>(<double *>scratch + w.scratch))
    else:
        mcs_backward_kernel_images_f32(SMALL_ISA, <const float *>c.x, <const float *>c.k, <const float *>c.aux,
                                       w.part + blk * slot, dbp, &w.m, n0, n1, <float *>scratch,
                                       <const float **>(<float *>scratch + w.scratch))
    return 0
