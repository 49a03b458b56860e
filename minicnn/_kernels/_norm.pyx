"""Batch-normalisation kernels over an (M, C) view: C normalised channels, contiguous in each row.

norm.py validates, reshapes and allocates; here every array is C-contiguous and of one dtype
(per-channel statistics and sums in double).  The channels-last case (NHWC activations, or
(batch, features)) is exactly this view, with M = N * H * W.

Blocks: every kernel cuts the rows into fixed blocks of ``block_rows(C)`` rows (about
bn_block_elems elements of the tuning table, so a block stays in L1 while it is read twice).
Blocks are independent: the reductions write one slot of double partial results per block and
add (or merge) the slots serially in block order afterwards; the elementwise passes write
disjoint rows.  The block size depends on C only, so results are bitwise identical at any thread
count; threads take whole blocks (dynamically: a core taken by another process does not hold the
others up).  One block is the work of the kernel table's batch_norm family (src/batch_norm.h),
which walks it in flat runs of ``L = group_len(C)`` elements.

Statistics are numerically sound for any offset: each block's mean and sum of squared deviations
are computed two-pass from cache (one read of x from memory), in double, and the blocks are
merged with Chan et al.'s pairwise update (never E[x^2] - E[x]^2).
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport (check_shape, dims, floating, fold_blocks, minicnn_parallel_for,
                                      minicnn_unit_fn)
from minicnn._kernels._dispatch cimport minicnn_kernel_table, table
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()


cdef inline Py_ssize_t _block_rows(Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t b = T.bn_block_elems // C if C > 0 else T.bn_block_elems
    return b if b > T.bn_min_block_rows else T.bn_min_block_rows


cdef Py_ssize_t run_len(Py_ssize_t C) noexcept nogil:
    """The length L of the flat runs the serial cores walk for C channels (whole rows, at least
    bn_group_min elements)."""
    if C >= T.bn_group_min:
        return C
    return C * ((T.bn_group_min + C - 1) // C)


def block_rows(Py_ssize_t C):
    """Rows per block for C channels (depends on C only; exposed for tests)."""
    return _block_rows(C)


def group_len(Py_ssize_t C):
    """Length of the flat runs the serial cores walk for C channels (exposed for tests)."""
    return run_len(C)


cdef bint flushes(Py_ssize_t elements) noexcept nogil:
    """Whether a pass over this many elements flushes subnormals (the one rule of every kernel here)."""
    return elements >= T.flush_min_work


cdef floating *repeat_to(const floating *v, Py_ssize_t C, Py_ssize_t L) noexcept nogil:
    """A new array (malloc; NULL if out of memory) holding v (IN, (C,)) repeated to length L."""
    cdef floating *out = <floating *>malloc(L * sizeof(floating))
    cdef Py_ssize_t i
    if out != NULL:
        for i in range(L):
            out[i] = v[i % C]
    return out


# ------------------------------------------------------------------ the kernels

cdef struct Blocks:
    # one call's arguments for the parallel loop's units (row blocks of B rows of an (M, C) view)
    const void *x        # IN (M, C)
    const void *g        # IN (M, C): the gradient, or NULL
    void *y              # OUT (M, C), or NULL
    const void *v[4]     # IN: per-channel vectors repeated to L (mean, scale/a, shift/b, k): new arrays, or NULL
    double *p0           # OUT: per-block partial results (nblk, C), or NULL; p1 follows p0 in one allocation
    double *p1
    const minicnn_kernel_table *kt
    Py_ssize_t M, C, B, L
    int nv               # how many of v the call reads
    bint flag, dbl       # relu (normalize) or training (input gradient)


cdef Blocks _blocks(Py_ssize_t M, Py_ssize_t C, bint dbl, const minicnn_kernel_table *kt) noexcept nogil:
    cdef Blocks w
    w.kt = kt
    w.x = w.g = w.v[0] = w.v[1] = w.v[2] = w.v[3] = NULL
    w.y = NULL
    w.p0 = w.p1 = NULL
    w.M, w.C, w.B, w.L, w.nv, w.flag, w.dbl = M, C, _block_rows(C), run_len(C), 0, False, dbl
    return w


cdef inline Py_ssize_t _nblk(const Blocks *w) noexcept nogil:
    return (w.M + w.B - 1) // w.B


cdef inline Py_ssize_t _rows_of(const Blocks *w, Py_ssize_t blk) noexcept nogil:
    """Rows in block blk."""
    return w.B if (blk + 1) * w.B <= w.M else w.M - blk * w.B


cdef int _run(Blocks *w, str where, minicnn_unit_fn fn, size_t scratch_bytes, bint partials) except -1:
    """fn over every row block of w, on the threads the size allows; subnormals flushed.  With
    ``partials``, w.p0 and w.p1 get two slots of C doubles per block (the caller frees w.p0).
    Frees the w.nv vectors of w.v; MemoryError if an allocation (theirs or here) failed."""
    cdef Py_ssize_t nblk = _nblk(w)
    cdef int failed = 0, i
    if partials:
        w.p0 = <double *>malloc(2 * nblk * w.C * sizeof(double))
        failed = w.p0 == NULL
        w.p1 = NULL if failed else w.p0 + nblk * w.C
    for i in range(w.nv):
        failed = failed or w.v[i] == NULL
    if not failed:
        with nogil:
            failed = minicnn_parallel_for(nblk, threads_for(w.M * w.C, T.bn_par_min, nblk), scratch_bytes,
                                          flushes(w.M * w.C), True, fn, w) != 0
    for i in range(w.nv):
        free(<void *>w.v[i])
    if failed:
        free(w.p0)
        raise MemoryError(f"{where}: could not allocate scratch memory")
    return 0


def bn_stats_into(const floating[:, ::1] x, double[::1] mean, double[::1] var, isa=None):
    """mean, var (OUT, (C,) double) = per-channel mean and biased variance of x (IN, (M, C), M >= 1).

    Per block: the block mean, then the sum of squared deviations from it (the block is still in
    cache); then the blocks are merged in order:  delta = m_b - m,  m += delta * n_b / n',
    M2 += M2_b + delta^2 * n * n_b / n'  with n' = n + n_b.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], nblk, blk, c
    cdef Blocks w = _blocks(M, C, floating is double, table(isa))
    cdef double *am
    cdef double *aq
    cdef double n, nb, tot, wm, wq, delta
    check_shape("bn_stats_into", "mean", dims(mean.shape, 1), (C,))
    check_shape("bn_stats_into", "var", dims(var.shape, 1), (C,))
    if M == 0 or C == 0:
        raise ValueError(f"bn_stats_into: x shape ({M}, {C}) has no elements")
    nblk = _nblk(&w)
    w.x = &x[0, 0]
    _run(&w, "bn_stats_into", _stats_unit, 2 * w.L * sizeof(double), True)
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


cdef int _stats_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Block blk's mean and sum of squared deviations into its slots; scratch: 2 L doubles."""
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        w.kt.batch_norm.stats_f64(<const double *>w.x + off, n, w.C, w.L, <double *>scratch, w.p0 + blk * w.C,
                                  w.p1 + blk * w.C)
    else:
        w.kt.batch_norm.stats_f32(<const float *>w.x + off, n, w.C, w.L, <double *>scratch, w.p0 + blk * w.C,
                                  w.p1 + blk * w.C)
    return 0


def bn_normalize_into(const floating[:, ::1] x, const floating[::1] mean, const floating[::1] scale,
                      const floating[::1] shift, floating[:, ::1] y, bint relu=False, isa=None):
    """y (OUT, (M, C)) = (x - mean) * scale + shift for x (IN, (M, C)) and per-channel mean,
    scale, shift (IN, (C,)); then max(y, 0) when ``relu``.  One pass; y may be x (in place:
    each element is read once, before it is written), but may not overlap it otherwise.

    ``scale = inv_std * gamma`` and ``shift = beta`` make batch normalisation's affine step.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Blocks w = _blocks(M, C, floating is double, table(isa))
    for name, v in (("mean", mean), ("scale", scale), ("shift", shift)):
        check_shape("bn_normalize_into", name, (len(v),), (C,))
    check_shape("bn_normalize_into", "y", dims(y.shape, 2), (M, C))
    if M == 0 or C == 0:
        return
    w.x, w.y, w.flag, w.nv = &x[0, 0], &y[0, 0], relu, 3
    w.v[0], w.v[1], w.v[2] = repeat_to(&mean[0], C, w.L), repeat_to(&scale[0], C, w.L), repeat_to(&shift[0], C, w.L)
    _run(&w, "bn_normalize_into", _normalize_unit, 0, False)


cdef int _normalize_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        w.kt.batch_norm.normalize_f64(<const double *>w.x + off, <double *>w.y + off, n, w.L, <const double *>w.v[0],
                                      <const double *>w.v[1], <const double *>w.v[2], w.flag)
    else:
        w.kt.batch_norm.normalize_f32(<const float *>w.x + off, <float *>w.y + off, n, w.L, <const float *>w.v[0],
                                      <const float *>w.v[1], <const float *>w.v[2], w.flag)
    return 0


def bn_backward_sums_into(const floating[:, ::1] g, const floating[:, ::1] x, const floating[::1] mean,
                          double[::1] sum_g, double[::1] sum_gxc, isa=None):
    """sum_g (OUT, (C,)) = sum over rows of g (IN, (M, C));  sum_gxc (OUT, (C,)) = sum over rows of
    g * (x - mean) with x (IN, (M, C)) and mean (IN, (C,)).  One pass over g and x, sums in double.

    ``x - mean`` is rounded to x's dtype first, exactly as bn_normalize_into forms it, so that
    ``sum_gxc * inv_std`` is the gradient of ``gamma`` for the xhat the forward pass used.
    """
    cdef Py_ssize_t M = g.shape[0], C = g.shape[1]
    cdef Blocks w = _blocks(M, C, floating is double, table(isa))
    check_shape("bn_backward_sums_into", "x", dims(x.shape, 2), (M, C))
    for name, v in (("mean", mean), ("sum_g", sum_g), ("sum_gxc", sum_gxc)):
        check_shape("bn_backward_sums_into", name, (len(v),), (C,))
    if C == 0:
        return
    if M == 0:
        sum_g[:] = 0
        sum_gxc[:] = 0
        return
    w.g, w.x, w.nv = &g[0, 0], &x[0, 0], 1
    w.v[0] = repeat_to(&mean[0], C, w.L)
    _run(&w, "bn_backward_sums_into", _sums_unit, 2 * w.L * sizeof(double), True)
    with nogil:
        fold_blocks(w.p0, _nblk(&w), C, C, &sum_g[0])
        fold_blocks(w.p1, _nblk(&w), C, C, &sum_gxc[0])
    free(w.p0)


cdef int _sums_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Block blk's sums of g and g * (x - mean) into its slots; scratch: 2 L doubles."""
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        w.kt.batch_norm.sums_f64(<const double *>w.g + off, <const double *>w.x + off, n, w.C, w.L,
                                 <const double *>w.v[0], <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    else:
        w.kt.batch_norm.sums_f32(<const float *>w.g + off, <const float *>w.x + off, n, w.C, w.L,
                                 <const float *>w.v[0], <double *>scratch, w.p0 + blk * w.C, w.p1 + blk * w.C)
    return 0


def bn_backward_input_into(const floating[:, ::1] g, const floating[:, ::1] x, const floating[::1] mean,
                           const floating[::1] a, const floating[::1] b, const floating[::1] k,
                           floating[:, ::1] gx, bint training, isa=None):
    """gx (OUT, (M, C)) = a * ((g - b) - (x - mean) * k) when ``training``, else a * g;
    g, x (IN, (M, C)); mean, a, b, k (IN, (C,)).  One pass; gx may not alias g or x.

    With a = gamma * inv_std, b = mean(g), k = inv_std^2 * mean(g * (x - mean)) this is batch
    normalisation's input gradient  gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat)).
    Inference: a = gamma * inv_std (the statistics are constants); x, mean, b, k are not read.
    """
    cdef Py_ssize_t M = g.shape[0], C = g.shape[1]
    cdef Blocks w = _blocks(M, C, floating is double, table(isa))
    check_shape("bn_backward_input_into", "x", dims(x.shape, 2), (M, C))
    check_shape("bn_backward_input_into", "gx", dims(gx.shape, 2), (M, C))
    for name, v in (("mean", mean), ("a", a), ("b", b), ("k", k)):
        check_shape("bn_backward_input_into", name, (len(v),), (C,))
    if M == 0 or C == 0:
        return
    w.g, w.x, w.y, w.flag, w.nv = &g[0, 0], &x[0, 0], &gx[0, 0], training, 4
    w.v[0], w.v[1] = repeat_to(&mean[0], C, w.L), repeat_to(&a[0], C, w.L)
    w.v[2], w.v[3] = repeat_to(&b[0], C, w.L), repeat_to(&k[0], C, w.L)
    _run(&w, "bn_backward_input_into", _input_grad_unit, 0, False)


cdef int _input_grad_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    cdef Blocks *w = <Blocks *>ctx
    cdef Py_ssize_t off = blk * w.B * w.C, n = _rows_of(w, blk) * w.C
    if w.dbl:
        w.kt.batch_norm.input_grad_f64(<const double *>w.g + off, <const double *>w.x + off, <double *>w.y + off, n,
                                       w.L, <const double *>w.v[0], <const double *>w.v[1], <const double *>w.v[2],
                                       <const double *>w.v[3], w.flag)
    else:
        w.kt.batch_norm.input_grad_f32(<const float *>w.g + off, <const float *>w.x + off, <float *>w.y + off, n,
                                       w.L, <const float *>w.v[0], <const float *>w.v[1], <const float *>w.v[2],
                                       <const float *>w.v[3], w.flag)
    return 0
