"""Elementwise kernels over an (M, F) view, channels last: the ReLU gradient mask and the bias
gradient (column sums), alone or together in one pass; and Add then ReLU in one pass (inference).

Sums are in double.  The ReLU mask pass sums fixed blocks of ``relu_block_rows`` rows into slots
added in block order (fold_blocks); the plain column sums give each thread a contiguous range of
columns, each summed over all rows in order.  Neither depends on the thread count, and neither
flushes subnormals (the NumPy results, bit for bit, whatever the input).
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport check_shape, dims, floating, fold_blocks, minicnn_parallel_for
from minicnn._kernels._dispatch cimport minicnn_kernel_table, table
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef const Tuning *T = tuning()


cdef struct Rows:
    # one call's arguments for the parallel loop's units
    const void *dy        # IN (M, F)
    const void *y         # IN (M, F): the ReLU output masking dy
    void *out             # OUT: db (F,) (column sums) or the masked dy (M, F)
    double *part          # OUT: the blocks' column sums (nblk x F), or NULL
    const minicnn_kernel_table *kt
    Py_ssize_t M, F, n
    bint dbl


# ------------------------------------------------------------------ column sums

cdef int column_sums(const minicnn_kernel_table *kt, const void *dy, void *db, Py_ssize_t M, Py_ssize_t F,
                     bint dbl) noexcept nogil:
    cdef Rows w
    w.dy, w.out, w.kt, w.M, w.F, w.dbl = dy, db, kt, M, F, dbl
    w.n = threads_for(M * F, T.elementwise_par_min, F // 16)
    return minicnn_parallel_for(w.n, <int>w.n, F * sizeof(double), False, False, _column_sums_unit, &w)


cdef int _column_sums_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Columns [F * part / n, F * (part + 1) / n) of db; scratch: F doubles."""
    cdef Rows *w = <Rows *>ctx
    cdef Py_ssize_t f, f0 = w.F * part // w.n, f1 = w.F * (part + 1) // w.n
    cdef double *acc = <double *>scratch
    for f in range(f0, f1):
        acc[f] = 0
    if w.dbl:
        w.kt.elementwise.column_sums_f64(<const double *>w.dy, w.M, w.F, f0, f1, acc)
        for f in range(f0, f1):
            (<double *>w.out)[f] = acc[f]
    else:
        w.kt.elementwise.column_sums_f32(<const float *>w.dy, w.M, w.F, f0, f1, acc)
        for f in range(f0, f1):
            (<float *>w.out)[f] = <float>acc[f]
    return 0


def bias_grad_into(const floating[:, ::1] dy, floating[::1] db, isa=None):
    """db (OUT, (F,)) = dy (IN, (M, F)) summed over rows in double, one pass over dy."""
    cdef const minicnn_kernel_table *kt = table(isa)
    cdef int rc
    check_shape("bias_grad_into", "db", dims(db.shape, 1), (dy.shape[1],))
    if dy.shape[1] == 0:
        return
    if dy.shape[0] == 0:
        db[:] = 0
        return
    with nogil:
        rc = column_sums(kt, &dy[0, 0], &db[0], dy.shape[0], dy.shape[1], floating is double)
    if rc:
        raise MemoryError("bias_grad_into: could not allocate scratch memory")


# ------------------------------------------------------------------ the ReLU mask (and its column sums)

cdef int relu_mask_sums(const minicnn_kernel_table *kt, const void *dy, const void *y, void *out, void *db,
                        Py_ssize_t M, Py_ssize_t F, bint dbl) noexcept nogil:
    cdef Rows w
    cdef Py_ssize_t nblk = (M + T.relu_block_rows - 1) // T.relu_block_rows
    cdef int rc
    w.dy, w.y, w.out, w.part, w.kt, w.M, w.F, w.n, w.dbl = dy, y, out, NULL, kt, M, F, nblk, dbl
    if db != NULL:
        w.part = <double *>malloc(nblk * F * sizeof(double))
        if w.part == NULL:
            return -1
    rc = minicnn_parallel_for(nblk, threads_for(M * F, T.elementwise_par_min, nblk), 0, False, False,
                              _relu_mask_unit, &w)
    if db != NULL:
        if dbl:
            fold_blocks(w.part, nblk, F, F, <double *>db)
        else:
            fold_blocks(w.part, nblk, F, F, <float *>db)
    free(w.part)
    return rc


cdef int _relu_mask_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Row block blk of the mask, and its column sums into w.part's slot blk."""
    cdef Rows *w = <Rows *>ctx
    cdef Py_ssize_t f, r0 = blk * T.relu_block_rows, r1 = min(r0 + T.relu_block_rows, w.M)
    cdef double *acc = w.part + blk * w.F if w.part != NULL else NULL
    if acc != NULL:
        for f in range(w.F):
            acc[f] = 0
    if w.dbl:
        w.kt.elementwise.relu_mask_f64(<const double *>w.dy + r0 * w.F, <const double *>w.y + r0 * w.F,
                                       <double *>w.out + r0 * w.F, (r1 - r0) * w.F)
        if acc != NULL:
            w.kt.elementwise.column_sums_f64(<double *>w.out + r0 * w.F, r1 - r0, w.F, 0, w.F, acc)
    else:
        w.kt.elementwise.relu_mask_f32(<const float *>w.dy + r0 * w.F, <const float *>w.y + r0 * w.F,
                                       <float *>w.out + r0 * w.F, (r1 - r0) * w.F)
        if acc != NULL:
            w.kt.elementwise.column_sums_f32(<float *>w.out + r0 * w.F, r1 - r0, w.F, 0, w.F, acc)
    return 0


def relu_mask_bias_grad_into(const floating[:, ::1] dy, const floating[:, ::1] y, floating[:, ::1] out, db,
                             isa=None):
    """out (OUT, (M, F)) = dy * (y > 0) for a ReLU output y (IN); db (OUT, (F,), or None) = out
    summed over rows.  dy (IN) is not modified.

    One pass over dy and y instead of a mask pass, a multiply pass and a reduction pass.  The mask
    multiplies (not selects) so NaN/sign behaviour equals ``dy * (y > 0)``.
    """
    cdef Py_ssize_t M = dy.shape[0], F = dy.shape[1]
    cdef floating[::1] dbv
    cdef void *dbp = NULL
    cdef const minicnn_kernel_table *kt = table(isa)
    cdef int rc
    check_shape("relu_mask_bias_grad_into", "y", dims(y.shape, 2), (M, F))
    check_shape("relu_mask_bias_grad_into", "out", dims(out.shape, 2), (M, F))
    if db is not None:
        dbv = db
        check_shape("relu_mask_bias_grad_into", "db", dims(dbv.shape, 1), (F,))
    if M == 0 or F == 0:
        if db is not None:
            dbv[:] = 0
        return
    if db is not None:
        dbp = &dbv[0]
    with nogil:
        rc = relu_mask_sums(kt, &dy[0, 0], &y[0, 0], &out[0, 0], dbp, M, F, floating is double)
    if rc:
        raise MemoryError("relu_mask_bias_grad_into: could not allocate scratch memory")


# ------------------------------------------------------------------ Add then ReLU (inference)

cdef int _add_relu_unit(void *ctx, ptrdiff_t blk, void *scratch) noexcept nogil:
    """Elements [blk * add_relu_block, ...) of out = max(a + b, 0)."""
    cdef Rows *w = <Rows *>ctx
    cdef Py_ssize_t i0 = blk * T.add_relu_block, n = min(T.add_relu_block, w.M - i0)
    if w.dbl:
        w.kt.elementwise.add_relu_f64(<const double *>w.dy + i0, <const double *>w.y + i0, <double *>w.out + i0, n)
    else:
        w.kt.elementwise.add_relu_f32(<const float *>w.dy + i0, <const float *>w.y + i0, <float *>w.out + i0, n)
    return 0


def add_relu_into(const floating[::1] a, const floating[::1] b, floating[::1] out, isa=None):
    """out (OUT) = np.maximum(a + b, 0) (a, b IN, all of one length), bit for bit, in one pass.
    Every element is computed alone, so the result does not depend on the thread count."""
    cdef Rows w
    cdef Py_ssize_t n = a.shape[0], nblk
    cdef int rc
    check_shape("add_relu_into", "b", dims(b.shape, 1), (n,))
    check_shape("add_relu_into", "out", dims(out.shape, 1), (n,))
    if n == 0:
        return
    nblk = (n + T.add_relu_block - 1) // T.add_relu_block
    w.dy, w.y, w.out, w.part, w.kt, w.M, w.F, w.n, w.dbl = &a[0], &b[0], &out[0], NULL, table(isa), n, 1, nblk, \
        floating is double
    with nogil:
        rc = minicnn_parallel_for(nblk, threads_for(n, T.elementwise_par_min, nblk), 0, False, False,
                                  _add_relu_unit, &w)
    if rc:
        raise MemoryError("add_relu_into: could not allocate scratch memory")
