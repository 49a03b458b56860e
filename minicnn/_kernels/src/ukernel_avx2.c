/* AVX2 + FMA micro-kernels: sgemm 6x16 and dgemm 6x8 (12 accumulators, 2 B vectors and one
 * A broadcast: 15 of the 16 ymm registers).  Compiled with -mavx2 -mfma; only called after
 * minicnn_cpu_has_avx2_fma() said yes. */
#include <immintrin.h>
#include "gemm_kernels.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define __attribute__(x)
#endif

/* ---------------- float32, 6 x 16 ---------------- */
#define T float
#define V __m256
#define W 8
#define MR 6
#define VMUL _mm256_mul_ps
#define VFMADD _mm256_fmadd_ps
#define VLOADU _mm256_loadu_ps
#define VSTOREU _mm256_storeu_ps
#define VBCAST _mm256_broadcast_ss
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#include "ukernel_x86_common.h"

#define PACKED_AEL(i, P) (a + (P) * MR + (i))
#define PACKED_ADV(s) (a += (s) * MR)
#define ROWA_AEL(i, P) (a + (i) * rs_a + (P) * cs_a)
#define ROWA_ADV(s) (a += (s) * cs_a)

#define STEP6(P)                                                                         \
    b0 = VLOADU(b + (P) * 2 * W);                                                        \
    b1 = VLOADU(b + (P) * 2 * W + W);                                                    \
    UKR_FMA_ROW(0, P); UKR_FMA_ROW(1, P); UKR_FMA_ROW(2, P);                              \
    UKR_FMA_ROW(3, P); UKR_FMA_ROW(4, P); UKR_FMA_ROW(5, P);

#define STORE6 UKR_STORE_ROW(0); UKR_STORE_ROW(1); UKR_STORE_ROW(2); \
               UKR_STORE_ROW(3); UKR_STORE_ROW(4); UKR_STORE_ROW(5)

#define KERNEL_BODY6                                                                     \
    V c00 = VZERO(), c01 = VZERO(), c10 = VZERO(), c11 = VZERO(), c20 = VZERO(),         \
      c21 = VZERO(), c30 = VZERO(), c31 = VZERO(), c40 = VZERO(), c41 = VZERO(),         \
      c50 = VZERO(), c51 = VZERO();                                                      \
    ptrdiff_t p;                                                                         \
    UKR_PROLOGUE()                                                                       \
    /* Not unrolled: measured ~7% faster on Zen 3 than a 4x unroll, where gcc spills an    \
     * accumulator (12 + 2 + 1 of the 16 ymm registers are live). */                     \
    for (p = 0; p < k; ++p) {                                                            \
        STEP6(0)                                                                         \
        ADV(1);                                                                          \
        b += 2 * W;                                                                      \
    }                                                                                    \
    UKR_EPILOGUE(STORE6);

void minicnn_sgemm_ukr_avx2_6x16(ptrdiff_t k, float alpha, const float *a, const float *b,
        float beta, float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
#define AEL PACKED_AEL
#define ADV PACKED_ADV
    KERNEL_BODY6
#undef AEL
#undef ADV
}

void minicnn_sgemm_ukr_rowa_avx2_6x16(ptrdiff_t k, float alpha, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
        const float *b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MR;
#define AEL ROWA_AEL
#define ADV ROWA_ADV
    KERNEL_BODY6
#undef AEL
#undef ADV
}

#undef T
#undef V
#undef W
#undef VMUL
#undef VFMADD
#undef VLOADU
#undef VSTOREU
#undef VBCAST
#undef VSET1
#undef VZERO

/* ---------------- float64, 6 x 8 ---------------- */
#define T double
#define V __m256d
#define W 4
#define VMUL _mm256_mul_pd
#define VFMADD _mm256_fmadd_pd
#define VLOADU _mm256_loadu_pd
#define VSTOREU _mm256_storeu_pd
#define VBCAST _mm256_broadcast_sd
#define VSET1 _mm256_set1_pd
#define VZERO _mm256_setzero_pd

void minicnn_dgemm_ukr_avx2_6x8(ptrdiff_t k, double alpha, const double *a, const double *b,
        double beta, double *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
#define AEL PACKED_AEL
#define ADV PACKED_ADV
    KERNEL_BODY6
#undef AEL
#undef ADV
}

void minicnn_dgemm_ukr_rowa_avx2_6x8(ptrdiff_t k, double alpha, const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
        const double *b, double beta, double *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MR;
#define AEL ROWA_AEL
#define ADV ROWA_ADV
    KERNEL_BODY6
#undef AEL
#undef ADV
}

const minicnn_gemm_kernel minicnn_gemm_avx2 = {
    "avx2_6x16", "avx2_6x8",
    6, 16, 144, 256, 4080,
    6, 8, 72, 256, 4080,
    minicnn_sgemm_ukr_avx2_6x16, minicnn_dgemm_ukr_avx2_6x8,
    minicnn_sgemm_ukr_rowa_avx2_6x16, minicnn_dgemm_ukr_rowa_avx2_6x8};
