"""Direct convolution loops for few input channels (the DIRECT plan of _conv.pyx), e.g. a
network's first layer: no im2col, filters along the vector lanes.  The loops are the kernel
table's conv_direct family (src/conv_direct.h, one build per instruction set); this module runs
them on threads.

Forward: output rows (n, oh) in chunks across threads, each row computed whole by one thread.
Kernel gradient (with the ReLU mask and the bias gradient fused in): images in the plan's fixed
blocks, each block's sums in its own double slot, the slots added in block order.  Neither
depends on the thread count.
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport fold_blocks, minicnn_fp_enter, minicnn_fp_exit, minicnn_parallel_for
from minicnn._kernels._conv_types cimport ConvCall, Geom, bn_epilogue, macs
from minicnn._kernels._dispatch cimport minicnn_conv_geom
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()


cdef struct Work:
    # one call's arguments for the parallel loop's units
    const ConvCall *c
    minicnn_conv_geom m
    double *part          # kernel gradient: the image blocks' partial sums (blocks x (K * F + F))
    Py_ssize_t scratch    # values of scratch before the tap pointers (even: the pointers stay aligned)
    Py_ssize_t rows       # forward: output rows per chunk; kernel gradient: images per block


cdef inline minicnn_conv_geom _geom(const Geom *g) noexcept nogil:
    cdef minicnn_conv_geom m
    m.N, m.H, m.W, m.C, m.OH, m.OW, m.F = g.N, g.H, g.W, g.C, g.OH, g.OW, g.F
    m.kh, m.kw, m.sh, m.sw, m.dh, m.dw, m.pt, m.pl = g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl
    return m


cdef int forward(const ConvCall *c) noexcept nogil:
    """y (OUT) = conv(x, k) + bias (then ReLU): output rows (n, oh) in chunks across threads."""
    cdef Py_ssize_t rows = c.g.N * c.g.OH, isz = 8 if c.dbl else 4
    cdef int nt = threads_for(macs(&c.g), T.conv_par_min, rows)
    cdef Work w
    w.c, w.m = c, _geom(&c.g)
    w.scratch = (c.kt.conv_direct.forward_scratch(&w.m) + 1) & ~1
    w.rows = (rows + 4 * nt - 1) // (4 * nt)  # a few chunks per thread: a stalled core holds up less
    return minicnn_parallel_for((rows + w.rows - 1) // w.rows, nt, w.scratch * isz + 2 * c.g.K * sizeof(void *),
                                c.g.flush, True, _forward_unit, &w)


cdef int _forward_unit(void *ctx, ptrdiff_t chunk, void *scratch) noexcept nogil:
    """Output rows [chunk * w.rows, ...); scratch: w.scratch values, then 2 K tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t t0 = chunk * w.rows, t1 = min(t0 + w.rows, c.g.N * c.g.OH)
    if c.dbl:
        c.kt.conv_direct.forward_f64(<const double *>c.x, <const double *>c.k, <const double *>c.aux,
                                     <double *>c.out, &w.m, t0, t1, c.relu, <double *>scratch,
                                     <const double **>(<double *>scratch + w.scratch))
    else:
        c.kt.conv_direct.forward_f32(<const float *>c.x, <const float *>c.k, <const float *>c.aux,
                                     <float *>c.out, &w.m, t0, t1, c.relu, <float *>scratch,
                                     <const float **>(<float *>scratch + w.scratch))
    bn_epilogue(c, t0 * c.g.OW, t1 * c.g.OW)
    return 0


cdef int backward_kernel(const ConvCall *c) noexcept nogil:
    """dk (OUT, (kh, kw, C, F)) and db (OUT, (F,), or NULL) for input x and output gradient dy
    (c.k), masked by (c.aux > 0) when c.aux (the ReLU output) is not NULL: images in the plan's
    c.plan.parts fixed blocks of c.plan.rows images, then the blocks' double sums added in order
    (fold_blocks)."""
    cdef Py_ssize_t KF = c.g.K * c.g.F, slot = KF + c.g.F, nblk = c.plan.parts, isz = 8 if c.dbl else 4
    cdef int rc
    cdef Work w
    w.c, w.m = c, _geom(&c.g)
    w.scratch = (c.kt.conv_direct.backward_scratch(&w.m) + 1) & ~1
    w.rows = c.plan.rows
    w.part = <double *>malloc(nblk * slot * sizeof(double))
    if w.part == NULL:
        return -1
    rc = minicnn_parallel_for(nblk, threads_for(macs(&c.g), T.conv_par_min, nblk),
                              w.scratch * isz + c.g.K * sizeof(void *), c.g.flush, True, _backward_kernel_unit, &w)
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
    K tap pointers."""
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t KF = c.g.K * c.g.F, slot = KF + c.g.F, n0 = blk * w.rows, n1 = min(n0 + w.rows, c.g.N)
    cdef double *dbp = w.part + blk * slot + KF if c.db != NULL else NULL
    if c.dbl:
        c.kt.conv_direct.backward_f64(<const double *>c.x, <const double *>c.k, <const double *>c.aux,
                                      w.part + blk * slot, dbp, &w.m, n0, n1, <double *>scratch,
                                      <const double **>(<double *>scratch + w.scratch))
    else:
        c.kt.conv_direct.backward_f32(<const float *>c.x, <const float *>c.k, <const float *>c.aux,
                                      w.part + blk * slot, dbp, &w.m, n0, n1, <float *>scratch,
                                      <const float **>(<float *>scratch + w.scratch))
    return 0
