/* Portable reference micro-kernels in plain C: always built, registered first.
 * They are the fallback on any CPU and the oracle the SIMD kernels are tested against, so they
 * stay obvious: accumulate the MR x NR tile over k, then apply alpha/beta element by element. */
#include "gemm_kernels.h"

#define MINICNN_REF_SMR 4
#define MINICNN_REF_SNR 8
#define MINICNN_REF_DMR 4
#define MINICNN_REF_DNR 4

/* AIDX(i, p): where A's (i, p) element is -- packed panel or row-major in place. */
#define REF_KERNEL_BODY(T, MR, NR, AIDX)                                                   \
    {                                                                                      \
        T acc[MR][NR];                                                                     \
        ptrdiff_t i, j, p;                                                                 \
        for (i = 0; i < MR; ++i)                                                           \
            for (j = 0; j < NR; ++j)                                                       \
                acc[i][j] = 0;                                                             \
        for (p = 0; p < k; ++p) {                                                          \
            for (i = 0; i < MR; ++i) {                                                     \
                const T ai = a[AIDX(i, p)];                                                \
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

#define SIDX(i, p) ((p) * MINICNN_REF_SMR + (i))
#define DIDX(i, p) ((p) * MINICNN_REF_DMR + (i))
#define ROWA(i, p) ((i) * rs_a + (p) * cs_a)

static void minicnn_sgemm_ukr_reference(ptrdiff_t k, float alpha, const float *a, const float *b,
                                        float beta, float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
REF_KERNEL_BODY(float, MINICNN_REF_SMR, MINICNN_REF_SNR, SIDX)

static void minicnn_dgemm_ukr_reference(ptrdiff_t k, double alpha, const double *a, const double *b,
                                        double beta, double *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
REF_KERNEL_BODY(double, MINICNN_REF_DMR, MINICNN_REF_DNR, DIDX)

static void minicnn_sgemm_ukr_rowa_reference(ptrdiff_t k, float alpha, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const float *b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MINICNN_REF_SMR;
    REF_KERNEL_BODY(float, MINICNN_REF_SMR, MINICNN_REF_SNR, ROWA)
}

static void minicnn_dgemm_ukr_rowa_reference(ptrdiff_t k, double alpha, const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const double *b, double beta, double *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MINICNN_REF_DMR;
    REF_KERNEL_BODY(double, MINICNN_REF_DMR, MINICNN_REF_DNR, ROWA)
}

const minicnn_gemm_kernel minicnn_gemm_reference = {
    "reference_4x8", "reference_4x4",
    MINICNN_REF_SMR, MINICNN_REF_SNR, 128, 256, 4096,
    MINICNN_REF_DMR, MINICNN_REF_DNR, 64, 256, 4096,
    minicnn_sgemm_ukr_reference, minicnn_dgemm_ukr_reference,
    minicnn_sgemm_ukr_rowa_reference, minicnn_dgemm_ukr_rowa_reference};
