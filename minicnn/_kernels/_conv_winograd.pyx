"""Winograd F(2x2, 3x3) convolution, channels-last (the WINOGRAD plan of _conv.pyx): 3x3 kernel,
stride 1, no dilation, one group; any padding.

Each 2x2 block ("tile") of the output comes from the 4x4 input patch under it through 16
products instead of 36 (src/winograd.h has the transforms: the winograd family of the call's kernel
table, like the GEMM micro-kernel).  Per call the kernel is transformed
once (U, 16 matrices C x F, computed in double and rounded once).  Work units are fixed blocks of
``rows`` tiles (the plan's, from the sizes only) taken in (image, tile row, tile column) order:

    V = input transform of the block's patches       16 matrices, tiles x C   (scratch)
    M[xi] = V[xi] @ U[xi]                            16 GEMMs, serial inside the unit (scratch)
    y = output transform of M, + bias, ReLU          written straight into y

Up to winograd_group_max_c input channels (the plan's ``parts`` > 0) the unit runs those three
steps on groups of ``parts`` tiles instead, and the 16 products are the winograd family's own
kernel (wg2_multiply, on U unpacked): at C = 16 a GEMM call's fixed cost was 30% of its work, and a
group's V and M stay in L1.

A tile's numbers do not depend on the block it is in (a GEMM computes each row of its output the
same way whatever the number of rows), nor on the thread that runs it: results are the same at
any thread count.

Accuracy: the transforms add and subtract (and halve, exactly, in the kernel transform), so the
error is a few times that of the direct sum; measured on the tests' shapes: see
tests/kernels/test_conv_winograd.py.
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from minicnn._kernels._common cimport floating, minicnn_parallel_for
from minicnn._kernels._conv_types cimport ConvCall, Geom, bn_epilogue, macs
from minicnn._kernels._dispatch cimport minicnn_kernel_table, minicnn_winograd_kernels
from minicnn._kernels._gemm cimport (dgemm_packed_b, dpack_b, packed_a_values, packed_b_values, sgemm_packed_b,
                                     spack_b)
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()


cdef struct Work:
    # one call's arguments for the parallel loop's units
    const ConvCall *c
    const void *u         # the transformed kernel: 16 matrices C x F, packed for the GEMM
    Py_ssize_t ustep      # values per packed matrix
    Py_ssize_t TH, TW     # tiles per image, down and across
    Py_ssize_t rows       # tiles per unit
    Py_ssize_t group      # tiles per group of the small-C kernel (0: the unit's 16 GEMMs)


cdef Py_ssize_t scratch_values(const minicnn_kernel_table *kt, const Geom *g, Py_ssize_t rows, Py_ssize_t group,
                               bint dbl) noexcept nogil:
    """Scratch values of one unit of ``rows`` tiles: V, M (of one group, or of the unit), the GEMM's
    A panels (without groups), one zero-padded 4x4 input patch and one 2x2 output block (for the
    tiles that the image's edge cuts)."""
    if group:
        return 16 * group * (g.C + g.F) + 16 * g.C + 4 * g.F
    return 16 * rows * (g.C + g.F) + packed_a_values(kt, dbl, rows, g.C) + 16 * g.C + 4 * g.F


cdef void _transform_kernel(const floating *k, floating *u, Py_ssize_t C, Py_ssize_t F) noexcept nogil:
    """u[xi, c, f] (OUT) = (G g G^T)[i, j] for g = k[:, :, c, f] (IN, (3, 3, C, F)), in double
    and rounded once."""
    cdef Py_ssize_t c, f, CF = C * F, i, j
    cdef double g[3][3]
    cdef double t[4][3]
    cdef double r[4][4]
    for c in range(C):
        for f in range(F):
            for i in range(3):
                for j in range(3):
                    g[i][j] = k[(i * 3 + j) * CF + c * F + f]
            for j in range(3):  # G g: along the kernel's rows
                t[0][j] = g[0][j]
                t[1][j] = (g[0][j] + g[1][j] + g[2][j]) * 0.5
                t[2][j] = (g[0][j] - g[1][j] + g[2][j]) * 0.5
                t[3][j] = g[2][j]
            for i in range(4):  # (G g) G^T: along its columns
                r[i][0] = t[i][0]
                r[i][1] = (t[i][0] + t[i][1] + t[i][2]) * 0.5
                r[i][2] = (t[i][0] - t[i][1] + t[i][2]) * 0.5
                r[i][3] = t[i][2]
            for i in range(4):
                for j in range(4):
                    u[(i * 4 + j) * CF + c * F + f] = <floating>r[i][j]


cdef void _input(const minicnn_winograd_kernels *wk, const floating *x, floating *v, floating *patch, const Geom *g,
                 Py_ssize_t n, Py_ssize_t ih0, Py_ssize_t iw0, Py_ssize_t ldv) noexcept nogil:
    """The input transform of the 4x4 patch of image n at (ih0, iw0) (zeros outside the image)
    into v[xi * ldv + c] (OUT)."""
    cdef Py_ssize_t C = g.C, r, ih, s0 = max(0, -iw0), s1 = min(4, g.W - iw0)
    if ih0 >= 0 and iw0 >= 0 and ih0 + 4 <= g.H and iw0 + 4 <= g.W:
        if floating is float:
            wk.input_f32(x + ((n * g.H + ih0) * g.W + iw0) * C, g.W * C, C, v, ldv, C)
        else:
            wk.input_f64(x + ((n * g.H + ih0) * g.W + iw0) * C, g.W * C, C, v, ldv, C)
        return
    # The image's edge cuts the patch: copy it into ``patch`` a row at a time (the pixels inside
    # are contiguous along the row), zeros around them.
    for r in range(4):
        ih = ih0 + r
        if 0 <= ih < g.H and s0 < s1:
            memset(patch + r * 4 * C, 0, s0 * C * sizeof(floating))
            memcpy(patch + (r * 4 + s0) * C, x + ((n * g.H + ih) * g.W + iw0 + s0) * C, (s1 - s0) * C * sizeof(floating))
            memset(patch + (r * 4 + s1) * C, 0, (4 - s1) * C * sizeof(floating))
        else:
            memset(patch + r * 4 * C, 0, 4 * C * sizeof(floating))
    if floating is float:
        wk.input_f32(patch, 4 * C, C, v, ldv, C)
    else:
        wk.input_f64(patch, 4 * C, C, v, ldv, C)


cdef inline void _next_tile(const Work *w, Py_ssize_t *n, Py_ssize_t *ti, Py_ssize_t *tj) noexcept nogil:
    """(n, ti, tj) (IN/OUT) moves on to the next tile in (image, tile row, tile column) order:
    counting instead of dividing the tile index saves three integer divisions per tile."""
    tj[0] += 1
    if tj[0] == w.TW:
        tj[0] = 0
        ti[0] += 1
        if ti[0] == w.TH:
            ti[0] = 0
            n[0] += 1


cdef void _group(const floating *x, const floating *u, const floating *bias, floating *y, floating *scratch,
                 const Work *w, Py_ssize_t t0, Py_ssize_t t1, bint relu) noexcept nogil:
    """Tiles [t0, t1) of the output (OUT) = the conv of x (IN) with the transformed kernel u (IN):
    input transforms, the 16 products (the GEMM's, or with w.group the winograd family's own
    small-C kernel), output transforms."""
    cdef const Geom *g = &w.c.g
    cdef Py_ssize_t C = g.C, F = g.F, nb = t1 - t0, per = w.TH * w.TW, span = w.group or w.rows, t, n, ti, tj, xi
    cdef Py_ssize_t n0 = t0 // per, ti0 = (t0 % per) // w.TW, tj0 = t0 % w.TW
    cdef floating *v = scratch
    cdef floating *m = v + 16 * span * C
    cdef floating *abuf = m + 16 * span * F
    cdef const minicnn_kernel_table *kt = w.c.kt
    cdef floating *patch = abuf + (0 if w.group else packed_a_values(kt, floating is double, w.rows, C))
    n, ti, tj = n0, ti0, tj0
    for t in range(nb):
        _input(&kt.winograd, x, v + t * C, patch, g, n, 2 * ti - g.pt, 2 * tj - g.pl, span * C)
        _next_tile(w, &n, &ti, &tj)
    if w.group:
        if floating is float:
            kt.winograd.multiply_f32(v, span * C, u, m, span * F, nb, C, F)
        else:
            kt.winograd.multiply_f64(v, span * C, u, m, span * F, nb, C, F)
    else:
        for xi in range(16):
            if floating is float:
                sgemm_packed_b(kt, nb, F, C, v + xi * span * C, C, u + xi * w.ustep, m + xi * span * F, F, abuf)
            else:
                dgemm_packed_b(kt, nb, F, C, v + xi * span * C, C, u + xi * w.ustep, m + xi * span * F, F, abuf)
    n, ti, tj = n0, ti0, tj0
    for t in range(nb):
        _output(&kt.winograd, m + t * F, span * F, y + ((n * g.OH + 2 * ti) * g.OW + 2 * tj) * F,
                patch + 16 * C, g, min(2, g.OH - 2 * ti), min(2, g.OW - 2 * tj), bias, relu)
        _next_tile(w, &n, &ti, &tj)


cdef int _block(const floating *x, const floating *u, const floating *bias, floating *y, floating *scratch,
                const Work *w, Py_ssize_t t0, Py_ssize_t t1, bint relu) noexcept nogil:
    """Tiles [t0, t1) of the output (OUT): in groups of w.group tiles (their V and M stay in L1),
    or at once through the GEMM."""
    cdef Py_ssize_t s = t0, step = w.group or t1 - t0
    while s < t1:
        _group(x, u, bias, y, scratch, w, s, min(s + step, t1), relu)
        s += step
    return 0


cdef void _output(const minicnn_winograd_kernels *wk, const floating *m, Py_ssize_t ldm, floating *y,
                  floating *block, const Geom *g, Py_ssize_t rows, Py_ssize_t cols, const floating *bias,
                  bint relu) noexcept nogil:
    """The output transform of one tile into y (OUT; rows x cols of its 2x2 cells lie inside the
    output), through ``block`` (scratch, 2 x 2 x F) when the edge cuts it."""
    cdef Py_ssize_t F = g.F, p, q
    cdef floating *dst = y if rows == 2 and cols == 2 else block
    cdef Py_ssize_t rs = g.OW * F if dst == y else 2 * F
    if floating is float:
        wk.output_f32(m, ldm, dst, rs, F, F, bias, relu)
    else:
        wk.output_f64(m, ldm, dst, rs, F, F, bias, relu)
    if dst == block:
        for p in range(rows):
            for q in range(cols):
                memcpy(y + (p * g.OW + q) * F, block + (p * 2 + q) * F, F * sizeof(floating))


cdef int _unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    cdef Work *w = <Work *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t t0 = blk * w.rows, t1 = min(t0 + w.rows, c.g.N * w.TH * w.TW)
    cdef int rc
    if c.dbl:
        rc = _block(<const double *>c.x, <const double *>w.u, <const double *>c.aux, <double *>c.out,
                    <double *>scratch, w, t0, t1, c.relu)
    else:
        rc = _block(<const float *>c.x, <const float *>w.u, <const float *>c.aux, <float *>c.out,
                    <float *>scratch, w, t0, t1, c.relu)
    if c.bn != NULL:
        _bn_tiles(c, w, t0, t1)
    return rc


cdef void _bn_tiles(const ConvCall *c, const Work *w, Py_ssize_t t0, Py_ssize_t t1) noexcept nogil:
    """The batch-norm epilogue over the output cells of tiles [t0, t1), just written: each run of
    tiles along one tile row covers one contiguous stretch of each of its (at most) two output rows."""
    cdef Py_ssize_t per = w.TH * w.TW, t = t0, e, n, ti, tj, oh, ow1
    while t < t1:
        n, ti, tj = t // per, (t % per) // w.TW, t % w.TW
        e = min(t1, t - tj + w.TW)  # the end of this tile row within [t0, t1)
        ow1 = min(2 * (tj + e - t), c.g.OW)
        for oh in range(2 * ti, min(2 * ti + 2, c.g.OH)):
            bn_epilogue(c, (n * c.g.OH + oh) * c.g.OW + 2 * tj, (n * c.g.OH + oh) * c.g.OW + ow1)
        t = e


cdef void _pack_kernel(const minicnn_kernel_table *kt, const floating *u, floating *up, const Geom *g,
                       Py_ssize_t ustep) noexcept nogil:
    """up (OUT) = the 16 matrices of u (IN, 16 x C x F), each packed for the GEMM (ustep apart)."""
    cdef Py_ssize_t xi
    for xi in range(16):
        if floating is float:
            spack_b(kt, g.C, g.F, u + xi * g.C * g.F, g.F, up + xi * ustep)
        else:
            dpack_b(kt, g.C, g.F, u + xi * g.C * g.F, g.F, up + xi * ustep)


cdef int forward(const ConvCall *c) noexcept nogil:
    """y (OUT) = conv(x, k) + bias (then ReLU), in the plan's blocks of c.plan.rows tiles (and groups
    of c.plan.parts tiles, the small-C kernel's; 0: the GEMM's)."""
    cdef const Geom *g = &c.g
    cdef Py_ssize_t isz = 8 if c.dbl else 4, units
    cdef Work w
    cdef int rc
    w.group = c.plan.parts
    # the GEMM reads each matrix packed, 64-byte aligned; the small-C kernel reads U as it is
    w.ustep = 0 if w.group else (packed_b_values(c.kt, c.dbl, g.C, g.F) + 15) // 16 * 16
    cdef void *u = malloc(16 * g.C * g.F * isz + 64)
    cdef void *buf = NULL if w.group else malloc(16 * w.ustep * isz + 64)
    if u == NULL or (buf == NULL and not w.group):
        free(u)
        free(buf)
        return -1
    cdef void *ua = <void *>((<size_t>u + 63) // 64 * 64)
    w.u = ua if w.group else <void *>((<size_t>buf + 63) // 64 * 64)
    if c.dbl:
        _transform_kernel(<const double *>c.k, <double *>ua, g.C, g.F)
        if not w.group:
            _pack_kernel(c.kt, <double *>ua, <double *>w.u, g, w.ustep)
    else:
        _transform_kernel(<const float *>c.k, <float *>ua, g.C, g.F)
        if not w.group:
            _pack_kernel(c.kt, <float *>ua, <float *>w.u, g, w.ustep)
    w.c, w.TH, w.TW, w.rows = c, (g.OH + 1) // 2, (g.OW + 1) // 2, c.plan.rows
    units = (g.N * w.TH * w.TW + w.rows - 1) // w.rows
    rc = minicnn_parallel_for(units, threads_for(macs(g), T.conv_par_min, units),
                              scratch_values(c.kt, g, w.rows, w.group, c.dbl) * isz, g.flush, True, _unit, &w)
    free(u)
    free(buf)
    return rc
