"""Convolution entry points and the plan: which algorithm runs a call, decided once per call.

The Python layer (conv.py) validates, resolves padding and allocates; the ``*_into`` functions
here check the arrays again (cheaply: shapes, dtypes, layout), make the call's Plan and run it.

A Plan maps (direction, geometry, dtype) to an algorithm and its block sizes, from the call's
sizes and the tuning table only (_tuning.pyx) -- never from the thread count -- so a call's
numbers are the same at any thread count.  The algorithms, one module each:

  IM2COL      _conv_im2col: im2col blocks + GEMM (forward, kernel gradient), GEMM + col2im
              (input gradient); the general case
  POINTWISE   _conv_im2col without the copies: 1x1, stride 1, no padding
  ROW_PARTS   _conv_im2col's kernel gradient as fixed partial sums over row ranges, for a small
              kernel over many rows (too few columns to split across threads)
  DIRECT      _conv_direct: few input channels (a first layer), forward and kernel gradient
  DEPTHWISE   _conv_depthwise: one input channel per group
  FLIPPED     the input gradient of a wide stride-1 conv as the forward conv of dy with the
              kernel flipped in space (that forward planned in turn)
  WINOGRAD    _conv_winograd: 3x3, stride-1 forward by Winograd F(2x2, 3x3): 16 GEMMs over
              transformed 4x4 input patches instead of 36 products per 2x2 output block (for
              few input channels, from an RGB first layer up: a small-C kernel over groups of tiles)

The kernel gradient also serves a fused epilogue: the ReLU mask of dy (the layer's output given)
and the bias gradient.  DIRECT fuses both into its loops; every other plan runs the elementwise
pass first (_elementwise: mask and bias sums in one pass) and then the kernel gradient.

``plan()`` shows the plan of a call (tests, debugging); every entry point takes ``algorithm=``
to force a usable algorithm instead (tests compare them), and ``isa=`` to run another
instruction set's kernels (_dispatch.pyx) for that call.
"""

import enum
from collections import namedtuple

import numpy as np

from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport check_at_least, check_shape, dims, floating
from minicnn._kernels._conv_types cimport (BACKWARD_INPUT, BACKWARD_KERNEL, DEPTHWISE, DIRECT, FLIPPED, FORWARD,
                                           IM2COL, POINTWISE, ROW_PARTS, WINOGRAD, BatchNormEpilogue, ConvCall,
                                           Geom, Plan, make_geom)
from minicnn._kernels._dispatch cimport minicnn_kernel_table, table
from minicnn._kernels._tuning cimport Tuning, tuning
from minicnn._kernels cimport _conv_depthwise, _conv_direct, _conv_im2col, _conv_winograd, _elementwise
from minicnn._kernels._norm cimport flushes, repeat_to, run_len
from minicnn._kernels._norm import bn_normalize_into

cdef const Tuning *T = tuning()


class Algorithm(enum.IntEnum):
    """The convolution algorithms (see the module docstring)."""
    IM2COL = 1
    POINTWISE = 2
    DIRECT = 3
    DEPTHWISE = 4
    FLIPPED = 5
    ROW_PARTS = 6
    WINOGRAD = 7


class Direction(enum.IntEnum):
    FORWARD = 0
    BACKWARD_INPUT = 1
    BACKWARD_KERNEL = 2


ConvPlan = namedtuple("ConvPlan", "direction algorithm rows parts transposed flush inner")
ConvPlan.__doc__ = """A call's plan: its algorithm; rows per scratch block (IM2COL, POINTWISE,
ROW_PARTS; DIRECT's kernel gradient: images per block; WINOGRAD: tiles per unit); partial sums
(ROW_PARTS; DIRECT's kernel gradient: image blocks; WINOGRAD: tiles per group of the small-C
kernel, 0 for the GEMM); transposed (the kernel gradient's GEMM formed transposed); flush
(subnormals flushed); inner (FLIPPED: the plan of the forward conv it runs, else None)."""


# ------------------------------------------------------------------ the plan

cdef inline Py_ssize_t _block_rows(Py_ssize_t width, Py_ssize_t itemsize) noexcept nogil:
    """Rows of one scratch block: its im2col rows and output rows (width K + F) fill cols_budget
    bytes; a multiple of 8, at least 8."""
    cdef Py_ssize_t r = T.cols_budget // (width * itemsize)
    r = (r // 8) * 8
    return r if r >= 8 else 8


cdef inline Py_ssize_t _direct_scratch_bytes(const Geom *g, Py_ssize_t itemsize) noexcept nogil:
    """The direct kernel gradient's per-thread scratch as the plan counts it: OW and F padded to
    8 lanes, whatever vectors the instruction set has (so the plan, like the numbers, is the same
    on every CPU; src/conv_direct.h's cd_backward_scratch lays out at most this much for up to
    8 float lanes)."""
    cdef Py_ssize_t fp = (g.F + 7) // 8 * 8, owp = (g.OW + 7) // 8 * 8
    return ((g.K + 1) * fp + g.OW * g.F + 8 + g.K * owp) * itemsize


cdef inline bint _depthwise(const Geom *g) noexcept nogil:
    return g.Cg == 1 and g.groups == g.C


cdef inline bint _winograd(const Geom *g) noexcept nogil:
    """A 3x3 kernel at stride 1, no dilation, one group: Winograd F(2x2, 3x3) computes it."""
    return (g.kh == 3 and g.kw == 3 and g.sh == 1 and g.sw == 1 and g.dh == 1 and g.dw == 1
            and g.groups == 1)


cdef inline bint _winograd_wins(const Geom *g) noexcept nogil:
    return _winograd(g) and g.C >= T.winograd_min_c and g.F >= T.winograd_min_c


cdef inline bint _winograd_forward_wins(const Geom *g) noexcept nogil:
    """The forward runs by Winograd where it wins as a whole, or with the small-C kernel from a few
    input channels (an RGB first layer)."""
    return _winograd_wins(g) or (_winograd(g) and T.winograd_group_min_c <= g.C <= T.winograd_group_max_c
                                 and g.F >= T.winograd_group_min_f)


cdef inline bint _flippable(const Geom *g) noexcept nogil:
    """Stride 1, one group, padding within the kernel's reach: dx is a forward conv of dy."""
    return (g.sh == 1 and g.sw == 1 and g.groups == 1 and g.pt <= (g.kh - 1) * g.dh
            and g.pl <= (g.kw - 1) * g.dw)


cdef bint _usable(int algorithm, int direction, const Geom *g) noexcept nogil:
    """Whether ``algorithm`` can compute ``direction`` for this geometry (forced or chosen)."""
    if algorithm == IM2COL:
        return True
    if algorithm == POINTWISE:
        return g.pointwise
    if algorithm == DIRECT:
        return g.groups == 1 and direction != BACKWARD_INPUT
    if algorithm == DEPTHWISE:
        return _depthwise(g)
    if algorithm == FLIPPED:
        return direction == BACKWARD_INPUT and _flippable(g)
    if algorithm == ROW_PARTS:
        return direction == BACKWARD_KERNEL
    if algorithm == WINOGRAD:
        return direction == FORWARD and _winograd(g)
    return False


cdef Plan _with_algorithm(int direction, int algorithm, const Geom *g, Py_ssize_t itemsize) noexcept nogil:
    """The plan running ``algorithm`` (usable here): its block sizes, from the sizes only."""
    cdef Plan p
    cdef Py_ssize_t M = g.N * g.OH * g.OW, units, per
    p.direction, p.algorithm, p.parts = direction, algorithm, 0
    p.rows = _block_rows(g.K + g.F, itemsize)
    p.transposed = direction == BACKWARD_KERNEL and g.Fg <= T.transposed_max_f
    if algorithm == ROW_PARTS:
        units = (M + T.min_unit_rows - 1) // T.min_unit_rows
        p.parts = max(1, min(units, T.parts_max))
        # one block per part where the scratch allows
        p.rows = min(p.rows, ((M + p.parts - 1) // p.parts + 7) // 8 * 8)
        # rows rounded up to a multiple of 8 can leave fewer blocks than parts (1,200 rows in 16
        # parts of 80: 15 blocks), and a part without a block would add its never-written scratch
        p.parts = min(p.parts, (M + p.rows - 1) // p.rows)
    elif algorithm == WINOGRAD:
        # tiles per unit: as many as keep its transformed blocks within winograd_block_bytes
        # (a multiple of 24: whole row panels for every GEMM micro-kernel, MR = 4, 6, 8 or 12)
        per = 16 * (g.C + g.F) * itemsize
        p.rows = max(24, T.winograd_block_bytes // per // 24 * 24)
        if g.C <= T.winograd_group_max_c:
            p.parts = T.winograd_group_tiles
    elif algorithm == DIRECT and direction == BACKWARD_KERNEL:
        # images in at most direct_bwd_blocks fixed blocks (a function of N only)
        per = (g.N + max(1, min(g.N, T.direct_bwd_blocks)) - 1) // max(1, min(g.N, T.direct_bwd_blocks))
        p.rows, p.parts = per, (g.N + per - 1) // per if per else 0
    return p


cdef Plan _auto(int direction, const Geom *g, Py_ssize_t itemsize) noexcept nogil:
    """The algorithm the measurements chose for this call (see _tuning.pyx for each bar)."""
    cdef Py_ssize_t M = g.N * g.OH * g.OW
    cdef int algorithm = POINTWISE if g.pointwise else IM2COL
    if direction == FORWARD and g.groups == 1 and not g.pointwise and g.C <= T.direct_max_c \
            and g.F <= T.direct_max_f:
        algorithm = DIRECT
    elif (direction == BACKWARD_KERNEL and g.groups == 1 and not g.pointwise and g.C <= T.direct_bwd_max_c
          and g.F <= T.direct_max_f
          and _direct_scratch_bytes(g, itemsize) <= T.direct_bwd_scratch):
        algorithm = DIRECT
    elif _depthwise(g) and g.groups > 1:
        algorithm = DEPTHWISE
    elif direction == FORWARD and _winograd_forward_wins(g):
        algorithm = WINOGRAD
    elif direction == BACKWARD_INPUT and not g.pointwise and _flippable(g) and (g.C >= T.flipped_min_c
                                                                                or _winograd_wins(g)):
        algorithm = FLIPPED  # (where Winograd wins, the flipped forward is a Winograd one)
    elif (direction == BACKWARD_KERNEL and not g.pointwise and g.groups == 1 and g.K * g.F <= T.parts_max_elems
          and M > _block_rows(g.K + g.F, itemsize) and T.parts_max > 1 and M > T.min_unit_rows):
        algorithm = ROW_PARTS
    return _with_algorithm(direction, algorithm, g, itemsize)


# ------------------------------------------------------------------ running a plan

cdef void _flip(const floating *k, floating *kf, const Geom *g) noexcept nogil:
    """kf (OUT, (kh, kw, F, C)) = k (IN, (kh, kw, C, F)) flipped in space, channels swapped:
    kf[a, b, f, c] = k[kh-1-a, kw-1-b, c, f]."""
    cdef Py_ssize_t a, b, c, f, C = g.C, F = g.F
    cdef const floating *src
    cdef floating *dst
    for a in range(g.kh):
        for b in range(g.kw):
            src = k + ((g.kh - 1 - a) * g.kw + (g.kw - 1 - b)) * C * F
            dst = kf + (a * g.kw + b) * F * C
            for c in range(C):
                for f in range(F):
                    dst[f * C + c] = src[c * F + f]


cdef Geom _flipped_geom(const Geom *g) noexcept nogil:
    """The forward conv of dy (N, OH, OW, F) with the flipped kernel whose output is dx."""
    return make_geom(g.N, g.OH, g.OW, g.F, g.H, g.W, g.kh, g.kw, g.F, g.C, 1, 1, 1, g.dh, g.dw,
                     (g.kh - 1) * g.dh - g.pt, (g.kw - 1) * g.dw - g.pl, g.flush)


cdef int _run(ConvCall *c) noexcept nogil:
    """Run c.plan; 0, or -1 when out of memory."""
    cdef ConvCall inner
    cdef int rc, algorithm = c.plan.algorithm, direction = c.plan.direction
    cdef size_t isz = 8 if c.dbl else 4
    c.g.pointwise = algorithm == POINTWISE  # IM2COL on a 1x1 geometry copies, as it would elsewhere
    if algorithm == FLIPPED:
        inner = c[0]
        inner.g = _flipped_geom(&c.g)
        inner.plan = _auto(FORWARD, &inner.g, isz)
        inner.aux, inner.relu, inner.bn = NULL, False, NULL
        inner.k = malloc(c.g.K * c.g.F * isz)
        if inner.k == NULL:
            return -1
        if c.dbl:
            _flip(<const double *>c.k, <double *>inner.k, &c.g)
        else:
            _flip(<const float *>c.k, <float *>inner.k, &c.g)
        rc = _run(&inner)
        free(<void *>inner.k)
        return rc
    if algorithm == WINOGRAD:
        return _conv_winograd.forward(c)
    if algorithm == DIRECT:
        if direction == FORWARD:
            return _conv_direct.forward(c)
        return _conv_direct.backward_kernel(c)
    if algorithm == DEPTHWISE:
        if direction == FORWARD:
            return _conv_depthwise.forward(c)
        if direction == BACKWARD_INPUT:
            return _conv_depthwise.backward_input(c)
        return _conv_depthwise.backward_kernel(c)
    if direction == FORWARD:
        return _conv_im2col.forward(c)
    if direction == BACKWARD_INPUT:
        return _conv_im2col.backward_input(c)
    return _conv_im2col.backward_kernel(c)


cdef int _epilogue_first(ConvCall *c, void *masked) noexcept nogil:
    """A kernel gradient's ReLU mask and bias gradient, for the plans that do not fuse them: one
    elementwise pass (dy masked into ``masked``, which then stands for dy) before the GEMMs."""
    cdef Py_ssize_t M = c.g.N * c.g.OH * c.g.OW
    cdef int rc = 0
    if c.aux != NULL:
        rc = _elementwise.relu_mask_sums(c.kt, c.k, c.aux, masked, c.db, M, c.g.F, c.dbl)
        c.k, c.aux = masked, NULL
    elif c.db != NULL:
        rc = _elementwise.column_sums(c.kt, c.k, c.db, M, c.g.F, c.dbl)
    c.db = NULL
    return rc


# ------------------------------------------------------------------ plan() and the entry points

_DIRECTION_NAMES = {"forward": 0, "backward_input": 1, "backward_kernel": 2}


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
    work = xs[0] * ys[1] * ys[2] * ks[0] * ks[1] * ks[2] * ks[3]
    return make_geom(xs[0], xs[1], xs[2], xs[3], ys[1], ys[2], ks[0], ks[1], ks[2], ks[3], groups,
                     sh, sw, dh, dw, pt, pl, work >= T.flush_min_work)


cdef Plan _plan_of(str where, int direction, const Geom *g, Py_ssize_t itemsize, algorithm) except *:
    if algorithm is None:
        return _auto(direction, g, itemsize)
    a = Algorithm(algorithm)
    if not _usable(a, direction, g):
        raise ValueError(f"{where}: algorithm {a.name} cannot compute {Direction(direction).name.lower()} "
                         f"for this geometry")
    return _with_algorithm(direction, a, g, itemsize)


cdef object _plan_tuple(const Plan *p, const Geom *g, Py_ssize_t itemsize):
    cdef Geom h
    cdef Plan q
    inner = None
    if p.algorithm == FLIPPED:
        h = _flipped_geom(g)
        q = _auto(FORWARD, &h, itemsize)
        inner = _plan_tuple(&q, &h, itemsize)
    return ConvPlan(Direction(p.direction), Algorithm(p.algorithm), p.rows, p.parts, bool(p.transposed),
                    bool(g.flush), inner)


def plan(direction, x_shape, kernel_shape, y_shape, strides=(1, 1), dilation_rate=(1, 1), padding=(0, 0),
         Py_ssize_t groups=1, dtype="float32", algorithm=None):
    """The ConvPlan of a call: ``direction`` "forward", "backward_input" or "backward_kernel" of
    the conv with input ``x_shape`` (N, H, W, C), kernel ``kernel_shape`` (kh, kw, C // groups,
    F) and output ``y_shape`` (N, OH, OW, F); ``strides``, ``dilation_rate`` and ``padding``
    (top, left) as pairs of ints, as the ``*_into`` functions take them.

    >>> plan("forward", (64, 28, 28, 1), (5, 5, 1, 6), (64, 24, 24, 6)).algorithm
    <Algorithm.DIRECT: 3>
    """
    where = "plan"
    cdef int d = _DIRECTION_NAMES[direction] if isinstance(direction, str) else Direction(direction)
    cdef Geom g = _checked_geom(where, tuple(x_shape), tuple(kernel_shape), tuple(y_shape), groups, strides[0],
                                strides[1], dilation_rate[0], dilation_rate[1], padding[0], padding[1])
    cdef Py_ssize_t itemsize = np.dtype(dtype).itemsize
    cdef Plan p = _plan_of(where, d, &g, itemsize, algorithm)
    return _plan_tuple(&p, &g, itemsize)


cdef ConvCall _call(const floating *x, const floating *k, const floating *aux, floating *out, Geom g,
                    Plan p, const minicnn_kernel_table *kt) noexcept nogil:
    cdef ConvCall c
    c.x, c.k, c.aux, c.out, c.db, c.g, c.plan, c.kt = x, k, aux, out, NULL, g, p, kt
    c.relu, c.dbl, c.bn = False, floating is double, NULL
    return c


def conv2d_forward_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] kernel, bias,
                        floating[:, :, :, ::1] y, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw,
                        Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups, bint relu=False, algorithm=None, isa=None,
                        batch_norm=None):
    """y (OUT, (N, OH, OW, F)) = conv(x, kernel) + bias, then max(y, 0) when relu.  x (IN, (N, H, W,
    C)), kernel (IN, (kh, kw, C // groups, F)), bias (IN, (F,), or None).

    batch_norm (IN, or None): per-channel (mean, scale, shift), each (F,) of y's dtype: then
    y = (conv + bias - mean) * scale + shift, and max(y, 0) when relu, by _norm's row kernel on
    each block of rows right after the conv writes it -- the numbers of conv then
    bn_normalize_into, bit for bit.  Where the conv flushes subnormals and that pass alone would
    not (or the other way round), it runs as that separate pass instead."""
    where = "conv2d_forward_into"
    cdef Geom g = _checked_geom(where, dims(x.shape, 4), dims(kernel.shape, 4), dims(y.shape, 4),
                                groups, sh, sw, dh, dw, pt, pl)
    cdef Plan p = _plan_of(where, FORWARD, &g, sizeof(floating), algorithm)
    cdef const minicnn_kernel_table *kt = table(isa)
    cdef const floating[::1] b
    cdef const floating[::1] bn_mean, bn_scale, bn_shift
    cdef const floating *bp = NULL
    cdef BatchNormEpilogue e
    cdef Py_ssize_t M = g.N * g.OH * g.OW
    cdef ConvCall c
    cdef int rc = 0
    if bias is not None:
        b = bias
        check_shape(where, "bias", dims(b.shape, 1), (g.F,))
        bp = &b[0]
    if batch_norm is not None:
        bn_mean, bn_scale, bn_shift = batch_norm
        for name, v in (("mean", bn_mean), ("scale", bn_scale), ("shift", bn_shift)):
            check_shape(where, f"batch_norm {name}", (len(v),), (g.F,))
    if y.size == 0:
        return
    c = _call(&x[0, 0, 0, 0], &kernel[0, 0, 0, 0], bp, &y[0, 0, 0, 0], g, p, kt)
    c.relu = relu and batch_norm is None
    fused = batch_norm is not None and flushes(M * g.F) == g.flush
    if fused:
        e.L, e.relu = run_len(g.F), relu
        e.mean, e.scale, e.shift = (repeat_to(&bn_mean[0], g.F, e.L), repeat_to(&bn_scale[0], g.F, e.L),
                                    repeat_to(&bn_shift[0], g.F, e.L))
        c.bn = &e
        rc = -1 if e.mean == NULL or e.scale == NULL or e.shift == NULL else 0
    if c.bn == NULL or rc == 0:
        with nogil:
            rc = _run(&c)
    if fused:
        free(<void *>e.mean)
        free(<void *>e.scale)
        free(<void *>e.shift)
    if rc != 0:
        raise MemoryError(f"{where}: could not allocate scratch memory")
    if batch_norm is not None and not fused:
        rows = np.asarray(y).reshape(M, g.F)
        bn_normalize_into(rows, bn_mean, bn_scale, bn_shift, rows, relu, isa)


def conv2d_backward_input_into(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] kernel,
                               floating[:, :, :, ::1] dx, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                               Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups, algorithm=None,
                               isa=None):
    """dx (OUT, (N, H, W, C), fully written) = the input gradient of conv for output gradient dy
    (IN, (N, OH, OW, F)) and kernel (IN, (kh, kw, C // groups, F))."""
    where = "conv2d_backward_input_into"
    cdef Geom g = _checked_geom(where, dims(dx.shape, 4), dims(kernel.shape, 4), dims(dy.shape, 4),
                                groups, sh, sw, dh, dw, pt, pl)
    cdef Plan p = _plan_of(where, BACKWARD_INPUT, &g, sizeof(floating), algorithm)
    cdef const minicnn_kernel_table *kt = table(isa)
    cdef ConvCall c
    cdef int rc
    if dx.size == 0:
        return
    if dy.size == 0:
        dx[...] = 0
        return
    c = _call(&dy[0, 0, 0, 0], &kernel[0, 0, 0, 0], <const floating *>NULL, &dx[0, 0, 0, 0], g, p, kt)
    with nogil:
        rc = _run(&c)
    if rc != 0:
        raise MemoryError(f"{where}: could not allocate scratch memory")


def conv2d_backward_kernel_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dy,
                                floating[:, :, :, ::1] dk, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh,
                                Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, Py_ssize_t groups,
                                relu_y=None, db=None, algorithm=None, isa=None):
    """dk (OUT, (kh, kw, C // groups, F), fully written) = the kernel gradient of conv for input x
    (IN, (N, H, W, C)) and output gradient dy (IN, (N, OH, OW, F)).

    relu_y (IN, the shape of dy, or None): the output of the layer's fused ReLU; dy is then
    multiplied by (relu_y > 0) first.  db (OUT, (F,), or None): the bias gradient of that dy.
    """
    where = "conv2d_backward_kernel_into"
    cdef Geom g = _checked_geom(where, dims(x.shape, 4), dims(dk.shape, 4), dims(dy.shape, 4),
                                groups, sh, sw, dh, dw, pt, pl)
    cdef Plan p = _plan_of(where, BACKWARD_KERNEL, &g, sizeof(floating), algorithm)
    cdef const minicnn_kernel_table *kt = table(isa)
    cdef const floating[:, :, :, ::1] ry
    cdef floating[::1] dbv
    cdef floating[:, :, :, ::1] masked
    cdef void *mp = NULL
    cdef ConvCall c
    cdef int rc = 0
    if relu_y is not None:
        ry = relu_y
        check_shape(where, "relu_y", dims(ry.shape, 4), dims(dy.shape, 4))
    if db is not None:
        dbv = db
        check_shape(where, "db", dims(dbv.shape, 1), (g.F,))
    if dk.size == 0:
        if db is not None:
            dbv[:] = 0
        return
    if x.size == 0 or dy.size == 0:
        dk[...] = 0
        if db is not None:
            dbv[:] = 0
        return
    c = _call(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &ry[0, 0, 0, 0] if relu_y is not None else NULL, &dk[0, 0, 0, 0],
              g, p, kt)
    if db is not None:
        c.db = &dbv[0]
    if relu_y is not None and p.algorithm != DIRECT:
        masked = np.empty_like(relu_y)
        mp = &masked[0, 0, 0, 0]
    with nogil:
        if p.algorithm != DIRECT:
            rc = _epilogue_first(&c, mp)
        if rc == 0:
            rc = _run(&c)
    if rc != 0:
        raise MemoryError(f"{where}: could not allocate scratch memory")
