from minicnn._kernels._dispatch cimport minicnn_kernel_table

# The GEMM contract every kernel builds on (row-major, C-contiguous rows with leading dimensions).
#
#   C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C
#
# A is stored (m, k) with row stride lda, or (k, m) when trans_a; B is stored (k, n) with row
# stride ldb, or (n, k) when trans_b; C is (m, n) with row stride ldc.  beta == 0 means C is
# write-only (NaNs already in C do not leak).  num_threads == 1 runs serially and opens no
# parallel region, so it is safe to call from inside another kernel's parallel loop.  flush: the
# GEMM's threads flush subnormals for their share (fpenv.h).  num_threads > 1 must not be asked
# from a thread that is flushing (a team must not start from a flushed thread).
# kt: the kernel table whose micro-kernel runs (_dispatch.pxd).
# Returns 0, or -1 when scratch memory could not be allocated (C is then unspecified).

cdef int sgemm(const minicnn_kernel_table *kt, bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t k, float alpha, const float *a, Py_ssize_t lda,
               const float *b, Py_ssize_t ldb,
               float beta, float *c, Py_ssize_t ldc, int num_threads, bint flush) noexcept nogil

cdef int dgemm(const minicnn_kernel_table *kt, bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t k, double alpha, const double *a, Py_ssize_t lda,
               const double *b, Py_ssize_t ldb,
               double beta, double *c, Py_ssize_t ldc, int num_threads, bint flush) noexcept nogil

# B packed once, multiplied by many A (the Winograd conv's transformed kernel).  Serial, beta 0,
# on the micro-kernel of kernel table kt (pack and multiply with the same table):
#   *pack_b:        bp (OUT, packed_b_values(kt, dbl, k, n)) = B (IN, k x n, row stride ldb), packed
#   *gemm_packed_b: C (OUT, m x n, row stride ldc) = A (IN, m x k, row stride lda) @ B, from bp;
#                   abuf: scratch of packed_a_values(kt, dbl, m, k) values
cdef Py_ssize_t packed_b_values(const minicnn_kernel_table *kt, bint dbl, Py_ssize_t k, Py_ssize_t n) noexcept nogil
cdef Py_ssize_t packed_a_values(const minicnn_kernel_table *kt, bint dbl, Py_ssize_t m, Py_ssize_t k) noexcept nogil
cdef void spack_b(const minicnn_kernel_table *kt, Py_ssize_t k, Py_ssize_t n, const float *b, Py_ssize_t ldb,
                  float *bp) noexcept nogil
cdef void dpack_b(const minicnn_kernel_table *kt, Py_ssize_t k, Py_ssize_t n, const double *b, Py_ssize_t ldb,
                  double *bp) noexcept nogil
cdef void sgemm_packed_b(const minicnn_kernel_table *kt, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                         Py_ssize_t lda, const float *bp, float *c, Py_ssize_t ldc, float *abuf) noexcept nogil
cdef void dgemm_packed_b(const minicnn_kernel_table *kt, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const double *a,
                         Py_ssize_t lda, const double *bp, double *c, Py_ssize_t ldc, double *abuf) noexcept nogil
