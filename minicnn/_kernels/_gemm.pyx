# BOOTSTRAP: naive triple loop that satisfies the contract in _gemm.pxd.
# To be replaced by the blocked, packed, SIMD implementation (issue 2).
from cython.parallel cimport prange
from minicnn._kernels._openmp cimport clamp_threads

ctypedef fused floating:
    float
    double


cdef inline int _gemm_naive(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                            floating alpha, const floating *a, Py_ssize_t lda,
                            const floating *b, Py_ssize_t ldb,
                            floating beta, floating *c, Py_ssize_t ldc, int num_threads) noexcept nogil:
    cdef Py_ssize_t i, j, p
    cdef floating acc, av, bv
    for i in prange(m, nogil=True, num_threads=num_threads, schedule="static"):
        for j in range(n):
            acc = 0
            for p in range(k):
                av = a[p * lda + i] if trans_a else a[i * lda + p]
                bv = b[j * ldb + p] if trans_b else b[p * ldb + j]
                acc = acc + av * bv
            if beta == 0:
                c[i * ldc + j] = alpha * acc
            else:
                c[i * ldc + j] = alpha * acc + beta * c[i * ldc + j]
    return 0


cdef int sgemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               float alpha, const float *a, Py_ssize_t lda,
               const float *b, Py_ssize_t ldb,
               float beta, float *c, Py_ssize_t ldc, int num_threads) noexcept nogil:
    return _gemm_naive(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads)


cdef int dgemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               double alpha, const double *a, Py_ssize_t lda,
               const double *b, Py_ssize_t ldb,
               double beta, double *c, Py_ssize_t ldc, int num_threads) noexcept nogil:
    return _gemm_naive(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads)


def gemm_into(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
              double alpha, double beta, bint trans_a, bint trans_b):
    """Array-level entry for minicnn.linalg.gemm: arguments already validated there.

    a, b (IN), c (IN/OUT), all C-contiguous and of one dtype.
    """
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef int rc, nt = clamp_threads(m)
    if m == 0 or n == 0:
        return
    with nogil:
        if floating is float:
            rc = sgemm(trans_a, trans_b, m, n, k, <float>alpha, &a[0, 0] if a.shape[0] * a.shape[1] else NULL,
                       a.shape[1], &b[0, 0] if b.shape[0] * b.shape[1] else NULL, b.shape[1],
                       <float>beta, &c[0, 0], c.shape[1], nt)
        else:
            rc = dgemm(trans_a, trans_b, m, n, k, alpha, &a[0, 0] if a.shape[0] * a.shape[1] else NULL,
                       a.shape[1], &b[0, 0] if b.shape[0] * b.shape[1] else NULL, b.shape[1],
                       beta, &c[0, 0], c.shape[1], nt)
    if rc != 0:
        raise MemoryError("gemm: could not allocate packing buffers")


def kernel_name(dtype=None):
    return "bootstrap_naive"
