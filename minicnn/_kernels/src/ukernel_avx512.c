/* AVX-512 micro-kernels: sgemm 12x32 and dgemm 12x16 (24 zmm accumulators, 2 B vectors and one
 * A broadcast: 27 of the 32 zmm registers).  Compiled with -mavx512f...; only called after
 * minicnn_cpu_has_avx512() said yes (CPU flags and the OS saving the ZMM/opmask state). */
#include <immintrin.h>
#include "gemm_kernels.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define __attribute__(x)
#endif

#define T float
#define V __m512
#define W 16
#define MR 12
#define VMUL _mm512_mul_ps
#define VFMADD _mm512_fmadd_ps
#define VLOADU _mm512_loadu_ps
#define VSTOREU _mm512_storeu_ps
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VSET1 _mm512_set1_ps
#define VZERO _mm512_setzero_ps
#include "ukernel_x86_common.h"

#define PACKED_AEL(i, P) (a + (P) * MR + (i))
#define PACKED_ADV(s) (a += (s) * MR)
#define ROWA_AEL(i, P) (a + (i) * rs_a + (P) * cs_a)
#define ROWA_ADV(s) (a += (s) * cs_a)

#define STEP12(P)                                                                        \
    b0 = VLOADU(b + (P) * 2 * W);                                                        \
    b1 = VLOADU(b + (P) * 2 * W + W);                                                    \
    UKR_FMA_ROW(0, P); UKR_FMA_ROW(1, P); UKR_FMA_ROW(2, P); UKR_FMA_ROW(3, P);           \
    UKR_FMA_ROW(4, P); UKR_FMA_ROW(5, P); UKR_FMA_ROW(6, P); UKR_FMA_ROW(7, P);           \
    UKR_FMA_ROW(8, P); UKR_FMA_ROW(9, P); UKR_FMA_ROW(10, P); UKR_FMA_ROW(11, P);

#define STORE12 UKR_STORE_ROW(0); UKR_STORE_ROW(1); UKR_STORE_ROW(2); UKR_STORE_ROW(3);  \
                UKR_STORE_ROW(4); UKR_STORE_ROW(5); UKR_STORE_ROW(6); UKR_STORE_ROW(7);  \
                UKR_STORE_ROW(8); UKR_STORE_ROW(9); UKR_STORE_ROW(10); UKR_STORE_ROW(11)

#define KERNEL_BODY12                                                                    \
    V c00 = VZERO(), c01 = VZERO(), c10 = VZERO(), c11 = VZERO(), c20 = VZERO(),         \
      c21 = VZERO(), c30 = VZERO(), c31 = VZERO(), c40 = VZERO(), c41 = VZERO(),         \
      c50 = VZERO(), c51 = VZERO(), c60 = VZERO(), c61 = VZERO(), c70 = VZERO(),         \
      c71 = VZERO(), c80 = VZERO(), c81 = VZERO(), c90 = VZERO(), c91 = VZERO(),         \
      c100 = VZERO(), c101 = VZERO(), c110 = VZERO(), c111 = VZERO();                    \
    ptrdiff_t p;                                                                         \
    UKR_PROLOGUE()                                                                       \
    for (p = 0; p + 4 <= k; p += 4) {                                                    \
        STEP12(0) STEP12(1) STEP12(2) STEP12(3)                                          \
        ADV(4);                                                                          \
        b += 4 * 2 * W;                                                                  \
    }                                                                                    \
    for (; p < k; ++p) {                                                                 \
        STEP12(0)                                                                        \
        ADV(1);                                                                          \
        b += 2 * W;                                                                      \
    }                                                                                    \
    UKR_EPILOGUE(STORE12);

void minicnn_sgemm_ukr_avx512_12x32(ptrdiff_t k, float alpha, const float *a, const float *b,
        float beta, float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
#define AEL PACKED_AEL
#define ADV PACKED_ADV
    KERNEL_BODY12
#undef AEL
#undef ADV
}

void minicnn_sgemm_ukr_rowa_avx512_12x32(ptrdiff_t k, float alpha, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
        const float *b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MR;
#define AEL ROWA_AEL
#define ADV ROWA_ADV
    KERNEL_BODY12
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

#define T double
#define V __m512d
#define W 8
#define VMUL _mm512_mul_pd
#define VFMADD _mm512_fmadd_pd
#define VLOADU _mm512_loadu_pd
#define VSTOREU _mm512_storeu_pd
#define VBCAST(p) _mm512_set1_pd(*(p))
#define VSET1 _mm512_set1_pd
#define VZERO _mm512_setzero_pd

void minicnn_dgemm_ukr_avx512_12x16(ptrdiff_t k, double alpha, const double *a, const double *b,
        double beta, double *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
#define AEL PACKED_AEL
#define ADV PACKED_ADV
    KERNEL_BODY12
#undef AEL
#undef ADV
}

void minicnn_dgemm_ukr_rowa_avx512_12x16(ptrdiff_t k, double alpha, const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
        const double *b, double beta, double *c, ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MR;
#define AEL ROWA_AEL
#define ADV ROWA_ADV
    KERNEL_BODY12
#undef AEL
#undef ADV
}

const minicnn_gemm_kernel minicnn_gemm_avx512 = {
    "avx512_12x32", "avx512_12x16",
    12, 32, 144, 384, 4096,
    12, 16, 72, 384, 4096,
    minicnn_sgemm_ukr_avx512_12x32, minicnn_dgemm_ukr_avx512_12x16,
    minicnn_sgemm_ukr_rowa_avx512_12x32, minicnn_dgemm_ukr_rowa_avx512_12x16};
