/* AVX-512 micro-kernels: sgemm 12x32 and dgemm 12x16 (24 zmm accumulators, 2 B vectors and one
 * A broadcast: 27 of the 32 zmm registers).  Compiled with -mavx512f...; only called after
 * minicnn_cpu_has_avx512() said yes (CPU flags and the OS saving the ZMM/opmask state).  Their
 * code is ukernel_x86.h's. */
#include <immintrin.h>

#define UKR_MR 12
#define UKR_UNROLL 4

#define UKR_T float
#define UKR_V __m512
#define UKR_OP(op) _mm512_##op##_ps
#define UKR_BCAST(p) _mm512_set1_ps(*(p))
#define UKR_PACKED sgemm_ukr_avx512_12x32
#define UKR_ROWA sgemm_ukr_rowa_avx512_12x32
#include "ukernel_x86.h"

#define UKR_T double
#define UKR_V __m512d
#define UKR_OP(op) _mm512_##op##_pd
#define UKR_BCAST(p) _mm512_set1_pd(*(p))
#define UKR_PACKED dgemm_ukr_avx512_12x16
#define UKR_ROWA dgemm_ukr_rowa_avx512_12x16
#include "ukernel_x86.h"

const minicnn_gemm_kernel minicnn_gemm_avx512 = {
    "avx512_12x32", "avx512_12x16",
    12, 32, 144, 384, 4096,
    12, 16, 72, 384, 4096,
    sgemm_ukr_avx512_12x32, dgemm_ukr_avx512_12x16, sgemm_ukr_rowa_avx512_12x32, dgemm_ukr_rowa_avx512_12x16};
