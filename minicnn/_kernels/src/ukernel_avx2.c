/* AVX2 + FMA micro-kernels: sgemm 6x16 and dgemm 6x8 (12 accumulators, 2 B vectors and one
 * A broadcast: 15 of the 16 ymm registers).  Compiled with -mavx2 -mfma; only called after
 * minicnn_cpu_has_avx2_fma() said yes.  Their code is ukernel_x86.h's. */
#include <immintrin.h>

#define UKR_MR 6
/* Not unrolled: measured ~7% faster on Zen 3 than a 4x unroll, where gcc spills an accumulator
 * (12 + 2 + 1 of the 16 ymm registers are live). */
#define UKR_UNROLL 1

#define UKR_T float
#define UKR_V __m256
#define UKR_OP(op) _mm256_##op##_ps
#define UKR_BCAST _mm256_broadcast_ss
#define UKR_PACKED sgemm_ukr_avx2_6x16
#define UKR_ROWA sgemm_ukr_rowa_avx2_6x16
#include "ukernel_x86.h"

#define UKR_T double
#define UKR_V __m256d
#define UKR_OP(op) _mm256_##op##_pd
#define UKR_BCAST _mm256_broadcast_sd
#define UKR_PACKED dgemm_ukr_avx2_6x8
#define UKR_ROWA dgemm_ukr_rowa_avx2_6x8
#include "ukernel_x86.h"

const minicnn_gemm_kernel minicnn_gemm_avx2 = {
    "avx2_6x16", "avx2_6x8",
    6, 16, 144, 256, 4080,
    6, 8, 72, 256, 4080,
    sgemm_ukr_avx2_6x16, dgemm_ukr_avx2_6x8, sgemm_ukr_rowa_avx2_6x16, dgemm_ukr_rowa_avx2_6x8};
