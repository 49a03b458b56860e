"""Elementwise kernels over an (M, F) view, channels last: the ReLU gradient mask and the bias
gradient (column sums), alone or together in one pass.

Sums are in double.  The ReLU mask pass sums fixed blocks of ``relu_block_rows`` rows into slots
added in block order (fold_blocks); the plain column sums give each thread a contiguous range of
columns, each summed over all rows in order.  Neither depends on the thread count, and neither
flushes subnormals (the NumPy results, bit for bit, whatever the input).
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport malloc, free

from minicnn._kernels._common cimport check_shape, dims, floating, fold_blocks, minicnn_parallel_for
from minicnn._kernels._conv_direct cimport small_isa
from minicnn._kernels._openmp cimport threads_for
from minicnn._kernels._tuning cimport Tuning, tuning

cdef extern from "conv_small.h" nogil:
    void mcs_relu_mask_f32(int isa, const float *dy, const float *y, float *out, Py_ssize_t n)
    void mcs_relu_mask_f64(int isa, const double *dy, const double *y, double *out, Py_ssize_t n)

cdef const Tuning *T = tuning()


cdef struct Rows:
    # one call's arguments for the parallel loop's units
    const void *dy        # IN (M, F)
    const void *y         # IN (M, F): the ReLU output masking dy
    void *out             # OUT: db (F,) (column sums) or the masked dy (M, F)
    double *part          # OUT: the blocks' column sums (nblk x F), or NULL
    Py_ssize_t M, F, n
    bint dbl


# ------------------------------------------------------------------ column sums

cdef int column_sums(const void *dy, void *db, Py_ssize_t M, Py_ssize_t F, bint dbl) noexcept nogil:
    cdef Rows w
    w.dy, w.out, w.M, w.F, w.dbl = dy, db, M, F, dbl
    w.n = threads_for(M * F, T.elementwise_par_min, F // 16)
    return minicnn_parallel_for(w.n, <int>w.n, F * sizeof(double), False, False, _column_sums_unit, &w)


cdef int _column_sums_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Columns [F * part / n, F * (part + 1) / n) of db; scratch: F doubles."""
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


def bias_grad_into(const floating[:, ::1] dy, floating[::1] db):
    """db (OUT, (F,)) = dy (IN, (M, F)) summed over rows in double, one pass over dy."""
    cdef int rc
    check_shape("bias_grad_into", "db", dims(db.shape, 1), (dy.shape[1],))
    if dy.shape[1] == 0:
        return
    if dy.shape[0] == 0:
        db[:] = 0
        return
    with nogil:
        rc = column_sums(&dy[0, 0], &db[0], dy.shape[0], dy.shape[1], floating is double)
    if rc:
        raise MemoryError("bias_grad_into: could not allocate scratch memory")


# ------------------------------------------------------------------ the ReLU mask (and its column sums)

cdef int relu_mask_sums(const void *dy, const void *y, void *out, void *db, Py_ssize_t M, Py_ssize_t F,
                        bint dbl) noexcept nogil:
    cdef Rows w
    cdef Py_ssize_t nblk = (M + T.relu_block_rows - 1) // T.relu_block_rows
    cdef int rc
    w.dy, w.y, w.out, w.part, w.M, w.F, w.n, w.dbl = dy, y, out, NULL, M, F, nblk, dbl
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
    cdef Py_ssize_t r0 = blk * T.relu_block_rows, r1 = min(r0 + T.relu_block_rows, w.M)
    if w.dbl:
        mcs_relu_mask_f64(small_isa(), <const double *>w.dy + r0 * w.F, <const double *>w.y + r0 * w.F,
                          <double *>w.out + r0 * w.F, (r1 - r0) * w.F)
        if w.part != NULL:
            _block_sums(<double *>w.out + r0 * w.F, r1 - r0, w.F, w.part + blk * w.F)
    else:
        mcs_relu_mask_f32(small_isa(), <const float *>w.dy + r0 * w.F, <const float *>w.y + r0 * w.F,
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


def relu_mask_bias_grad_into(const floating[:, ::1] dy, const floating[:, ::1] y, floating[:, ::1] out, db):
    """out (OUT, (M, F)) = dy * (y > 0) for a ReLU output y (IN); db (OUT, (F,), or None) = out
    summed over rows.  dy (IN) is not modified.

    One pass over dy and y instead of a mask pass, a multiply pass and a reduction pass.  The mask
    multiplies (not selects) so NaN/sign behaviour equals ``dy * (y > 0)``.
    """
    cdef Py_ssize_t M = dy.shape[0], F = dy.shape[1]
    cdef floating[::1] dbv
    cdef void *dbp = NULL
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
        rc = relu_mask_sums(&dy[0, 0], &y[0, 0], &out[0, 0], dbp, M, F, floating is double)
    if rc:
        raise MemoryError("relu_mask_bias_grad_into: could not allocate scratch memory")
