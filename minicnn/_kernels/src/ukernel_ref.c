/* Portable reference micro-kernels in plain C: always built, registered first.
 * They are the fallback on any CPU and the oracle the SIMD kernels are tested against, so they
 * stay obvious: accumulate the MR x NR tile over k, then apply alpha/beta element by element. */
#include "gemm_kernels.h"

#define REF_KERNEL(NAME, T, MR, NR)                                                        \
    void NAME(ptrdiff_t k, T alpha, const T *a, const T *b, T beta, T *c, ptrdiff_t ldc,  \
              ptrdiff_t m, ptrdiff_t n)                                                    \
    {                                                                                      \
        T acc[MR][NR];                                                                     \
        ptrdiff_t i, j, p;                                                                 \
        for (i = 0; i < MR; ++i)                                                           \
            for (j = 0; j < NR; ++j)                                                       \
                acc[i][j] = 0;                                                             \
        for (p = 0; p < k; ++p) {                                                          \
            for (i = 0; i < MR; ++i) {                                                     \
                const T ai = a[p * MR + i];                                                \
                for (j = 0; j < NR; ++j)                                                   \
                    acc[i][j] += ai * b[p * NR + j];                                       \
            }                                                                              \
        }                                                                                  \
        /* beta == 0: C is write-only, never read (NaN in C must not leak). */            \
        if (beta == 0) {                                                                   \
            for (i = 0; i < m; ++i)                                                        \
                for (j = 0; j < n; ++j)                                                    \
                    c[i * ldc + j] = alpha * acc[i][j];                                    \
        } else {                                                                           \
            for (i = 0; i < m; ++i)                                                        \
                for (j = 0; j < n; ++j)                                                    \
                    c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j];            \
        }                                                                                  \
    }

REF_KERNEL(minicnn_sgemm_ukr_reference, float, MINICNN_REF_SMR, MINICNN_REF_SNR)
REF_KERNEL(minicnn_dgemm_ukr_reference, double, MINICNN_REF_DMR, MINICNN_REF_DNR)
