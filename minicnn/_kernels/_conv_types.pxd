# What every conv algorithm module receives (cimported, never imported: there is no module).
#
from minicnn._kernels._dispatch cimport minicnn_kernel_table

# _conv.pyx checks the arrays, makes the Plan (which algorithm, with which block sizes) and calls
# the algorithm's module (_conv_im2col, _conv_direct, _conv_depthwise) with a ConvCall.

cdef struct Geom:
    Py_ssize_t N, H, W, C, OH, OW, F
    Py_ssize_t kh, kw, Cg, Fg, groups
    Py_ssize_t sh, sw, dh, dw, pt, pl
    Py_ssize_t K          # kh * kw * Cg: columns of the im2col matrix of one group
    bint pointwise        # 1x1, stride 1, no padding: the input itself is the im2col matrix
    bint flush            # the call flushes subnormals (its size decides: fpenv.h)


cdef enum Direction:
    FORWARD = 0
    BACKWARD_INPUT = 1
    BACKWARD_KERNEL = 2


cdef enum Algorithm:
    IM2COL = 1            # im2col blocks + GEMM (forward, kernel gradient), GEMM + col2im (input gradient)
    POINTWISE = 2         # IM2COL where the input is its own im2col matrix (no copies, no col2im)
    DIRECT = 3            # few input channels: direct loops, filters along the vector lanes
    DEPTHWISE = 4         # one input channel per group: direct loops over the channels
    FLIPPED = 5           # input gradient as the forward conv of dy with the flipped kernel
    ROW_PARTS = 6         # kernel gradient as fixed partial sums over row ranges, added in order
    WINOGRAD = 7          # 3x3, stride 1: Winograd F(2x2, 3x3), 16 GEMMs over transformed patches


cdef struct Plan:
    int direction
    int algorithm
    Py_ssize_t rows       # IM2COL, POINTWISE, ROW_PARTS: output rows per scratch block; DIRECT: images per block
    Py_ssize_t parts      # ROW_PARTS: partial sums; DIRECT kernel gradient: image blocks; WINOGRAD: tiles per
                          # group of the small-C kernel (0: the GEMM)
    bint transposed       # kernel gradient by GEMM: formed transposed (few filters)


cdef struct BatchNormEpilogue:
    # Batch normalisation's inference step, (y - mean) * scale + shift then max(., 0) if relu, run
    # by the batch_norm family's row kernel on output rows the conv has just written (in cache).
    const void *mean      # IN: per-channel vectors of the output's dtype, repeated to L (_norm.run_len)
    const void *scale
    const void *shift
    Py_ssize_t L
    bint relu


cdef struct ConvCall:
    # Checked C-contiguous arrays of one dtype (IN/OUT as named), the geometry and the plan.
    const void *x         # forward, kernel gradient: the input x (IN); input gradient: dy (IN)
    const void *k         # forward, input gradient: the kernel (IN); kernel gradient: dy (IN)
    const void *aux       # forward: the bias; kernel gradient: the ReLU output masking dy; or NULL (IN)
    void *out             # y, dx or dk (OUT, fully written)
    void *db              # kernel gradient: the bias gradient (OUT), or NULL
    Geom g
    Plan plan
    const minicnn_kernel_table *kt  # the instruction set's kernels (the GEMM's, the direct loops')
    bint relu             # forward: then max(y, 0)
    bint dbl              # float64 (else float32)
    const BatchNormEpilogue *bn  # forward: then this on the output (after bias; c.relu is then off), or NULL


cdef inline Geom make_geom(Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t OH, Py_ssize_t OW,
                           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t Cg, Py_ssize_t F, Py_ssize_t groups,
                           Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl,
                           bint flush) noexcept nogil:
    cdef Geom g
    g.N, g.H, g.W, g.C, g.OH, g.OW, g.F = N, H, W, C, OH, OW, F
    g.kh, g.kw, g.Cg, g.groups = kh, kw, Cg, groups
    g.Fg = F // groups
    g.sh, g.sw, g.dh, g.dw, g.pt, g.pl = sh, sw, dh, dw, pt, pl
    g.K = kh * kw * Cg
    g.pointwise = kh == 1 and kw == 1 and sh == 1 and sw == 1 and pt == 0 and pl == 0 and OH == H and OW == W
    g.flush = flush
    return g


cdef inline double macs(const Geom *g) noexcept nogil:
    """Multiply-adds of the call (the same in all three directions)."""
    return <double>g.N * g.OH * g.OW * g.K * g.F


cdef inline void bn_epilogue(const ConvCall *c, Py_ssize_t p0, Py_ssize_t p1) noexcept nogil:
    """Output pixels [p0, p1) (each F values, OUT: read and rewritten in place) through c.bn, if any.
    Elementwise, so any split of the pixels gives the numbers of one pass over all of them."""
    cdef const BatchNormEpilogue *e = c.bn
    cdef Py_ssize_t off = p0 * c.g.F, n = (p1 - p0) * c.g.F
    if e == NULL or n <= 0:
        return
    if c.dbl:
        c.kt.batch_norm.normalize_f64(<double *>c.out + off, <double *>c.out + off, n, e.L, <const double *>e.mean,
                                      <const double *>e.scale, <const double *>e.shift, e.relu)
    else:
        c.kt.batch_norm.normalize_f32(<float *>c.out + off, <float *>c.out + off, n, e.L, <const float *>e.mean,
                                      <const float *>e.scale, <const float *>e.shift, e.relu)
