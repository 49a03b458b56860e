# Declarations every kernel module shares (cimported, never imported: there is no _common module).

from libc.stddef cimport ptrdiff_t

ctypedef fused floating:
    float
    double

cdef extern from "fpenv.h" nogil:
    # subnormals flushed on the calling thread between enter and exit (see fpenv.h for the rule)
    void minicnn_fp_enter(bint flush)
    void minicnn_fp_exit(bint flush)

cdef extern from "parallel.h" nogil:
    # the one parallel loop: fn(ctx, unit, scratch) for every unit, per-thread scratch and flushing
    ctypedef int (*minicnn_unit_fn)(void *ctx, ptrdiff_t unit, void *scratch) noexcept nogil
    int minicnn_parallel_for(ptrdiff_t units, int threads, size_t scratch_bytes, bint flush, bint dynamic,
                             minicnn_unit_fn fn, void *ctx)


# ------------------------------------------------------------------ argument checks of the *_into entry points
# The memoryview arguments already refuse a wrong dtype or a non-contiguous array (ValueError); these
# check what the loops trust, before any nogil section: every shape (an undersized output would be
# written past its end) and the geometry's integers.

cdef inline tuple dims(const Py_ssize_t *shape, int ndim):
    return tuple([shape[i] for i in range(ndim)])


cdef inline int check_shape(str where, str name, tuple got, tuple want) except -1:
    if got != want:
        raise ValueError(f"{where}: {name} must have shape {want}, got {got}")
    return 0


cdef inline int check_at_least(str where, str name, Py_ssize_t value, Py_ssize_t minimum) except -1:
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}")
    return 0


# ------------------------------------------------------------------ the deterministic reduction
# Kernels that sum over many rows or images cut them into fixed blocks (sizes from the call's
# sizes only), let any thread sum a block into its own slot of double partial sums, and then add
# the slots here, in block order: the summation order never depends on the thread count.

cdef inline void fold_blocks(const double *part, Py_ssize_t nblk, Py_ssize_t slot, Py_ssize_t n,
                             floating *out) noexcept nogil:
    """out[j] (OUT, j < n) = part[j] + part[slot + j] + ... over the nblk slots (IN), in double."""
    cdef Py_ssize_t j, b
    cdef double s
    for j in range(n):
        s = 0
        for b in range(nblk):
            s = s + part[b * slot + j]
        out[j] = <floating>s
