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
