/* NEON (AArch64 Advanced SIMD) micro-kernels: sgemm 8x12 and dgemm 8x6.
 * 24 accumulator q registers, the A column (2 or 4 q registers) and the B row (3 q registers):
 * 29 / 31 of the 32 vector registers.  Each A element is used in place through a by-lane FMA
 * (vfmaq_laneq_*), so no broadcasts are needed.  NEON is baseline on AArch64: no extra flags.
 * The whole file is empty on other targets. */
#include "gemm_kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

/* ---------------- float32, 8 x 12 (rows i = 0..7, columns in three float32x4) ---------------- */
#define SROW(i, av, lane)                                                                \
    c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, lane);                                    \
    c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, lane);                                    \
    c##i##2 = vfmaq_laneq_f32(c##i##2, b2, av, lane);

#define SSTORE_ROW(i)                                                                    \
    do {                                                                                 \
        float *ci_ = cc + (i) * ldcc;                                                    \
        float32x4_t t0_ = vmulq_n_f32(c##i##0, alpha), t1_ = vmulq_n_f32(c##i##1, alpha), \
                    t2_ = vmulq_n_f32(c##i##2, alpha);                                   \
        if (beta_zero) {                                                                 \
            vst1q_f32(ci_, t0_); vst1q_f32(ci_ + 4, t1_); vst1q_f32(ci_ + 8, t2_);        \
        } else {                                                                         \
            vst1q_f32(ci_, vfmaq_n_f32(t0_, vld1q_f32(ci_), beta));                      \
            vst1q_f32(ci_ + 4, vfmaq_n_f32(t1_, vld1q_f32(ci_ + 4), beta));              \
            vst1q_f32(ci_ + 8, vfmaq_n_f32(t2_, vld1q_f32(ci_ + 8), beta));              \
        }                                                                                \
    } while (0)

static void minicnn_sgemm_ukr_neon_8x12(ptrdiff_t k, float alpha, const float *a, const float *b,
                                        float beta, float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
    enum { MR = 8, NR = 12 };
    float tile[MR * NR];
    const int beta_zero = (beta == 0);
    const int edge = (m < MR || n < NR);
    float *cc = c;
    ptrdiff_t ldcc = ldc, p, q;
    float32x4_t z = vdupq_n_f32(0.0f);
    float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z,
                c22 = z, c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z,
                c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
    for (p = 0; p < k; ++p) {
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        SROW(0, a0, 0) SROW(1, a0, 1) SROW(2, a0, 2) SROW(3, a0, 3)
        SROW(4, a1, 0) SROW(5, a1, 1) SROW(6, a1, 2) SROW(7, a1, 3)
        a += MR;
        b += NR;
    }
    if (edge) {
        for (q = 0; q < MR * NR; ++q)
            tile[q] = 0.0f;
        if (!beta_zero)
            MINICNN_TILE_IN(float, tile, c, ldc, m, n, NR);
        cc = tile;
        ldcc = NR;
    }
    SSTORE_ROW(0); SSTORE_ROW(1); SSTORE_ROW(2); SSTORE_ROW(3);
    SSTORE_ROW(4); SSTORE_ROW(5); SSTORE_ROW(6); SSTORE_ROW(7);
    if (edge)
        MINICNN_TILE_OUT(float, tile, c, ldc, m, n, NR);
}

/* ---------------- float64, 8 x 6 (rows in four float64x2 of A, columns in three float64x2) ---------------- */
#define DROW(i, av, lane)                                                                \
    c##i##0 = vfmaq_laneq_f64(c##i##0, b0, av, lane);                                    \
    c##i##1 = vfmaq_laneq_f64(c##i##1, b1, av, lane);                                    \
    c##i##2 = vfmaq_laneq_f64(c##i##2, b2, av, lane);

#define DSTORE_ROW(i)                                                                    \
    do {                                                                                 \
        double *ci_ = cc + (i) * ldcc;                                                   \
        float64x2_t t0_ = vmulq_n_f64(c##i##0, alpha), t1_ = vmulq_n_f64(c##i##1, alpha), \
                    t2_ = vmulq_n_f64(c##i##2, alpha);                                   \
        if (beta_zero) {                                                                 \
            vst1q_f64(ci_, t0_); vst1q_f64(ci_ + 2, t1_); vst1q_f64(ci_ + 4, t2_);        \
        } else {                                                                         \
            vst1q_f64(ci_, vfmaq_n_f64(t0_, vld1q_f64(ci_), beta));                      \
            vst1q_f64(ci_ + 2, vfmaq_n_f64(t1_, vld1q_f64(ci_ + 2), beta));              \
            vst1q_f64(ci_ + 4, vfmaq_n_f64(t2_, vld1q_f64(ci_ + 4), beta));              \
        }                                                                                \
    } while (0)

static void minicnn_dgemm_ukr_neon_8x6(ptrdiff_t k, double alpha, const double *a, const double *b,
                                       double beta, double *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n)
{
    enum { MR = 8, NR = 6 };
    double tile[MR * NR];
    const int beta_zero = (beta == 0);
    const int edge = (m < MR || n < NR);
    double *cc = c;
    ptrdiff_t ldcc = ldc, p, q;
    float64x2_t z = vdupq_n_f64(0.0);
    float64x2_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z,
                c22 = z, c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z,
                c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
    for (p = 0; p < k; ++p) {
        const float64x2_t a0 = vld1q_f64(a), a1 = vld1q_f64(a + 2), a2 = vld1q_f64(a + 4),
                          a3 = vld1q_f64(a + 6);
        const float64x2_t b0 = vld1q_f64(b), b1 = vld1q_f64(b + 2), b2 = vld1q_f64(b + 4);
        DROW(0, a0, 0) DROW(1, a0, 1) DROW(2, a1, 0) DROW(3, a1, 1)
        DROW(4, a2, 0) DROW(5, a2, 1) DROW(6, a3, 0) DROW(7, a3, 1)
        a += MR;
        b += NR;
    }
    if (edge) {
        for (q = 0; q < MR * NR; ++q)
            tile[q] = 0.0;
        if (!beta_zero)
            MINICNN_TILE_IN(double, tile, c, ldc, m, n, NR);
        cc = tile;
        ldcc = NR;
    }
    DSTORE_ROW(0); DSTORE_ROW(1); DSTORE_ROW(2); DSTORE_ROW(3);
    DSTORE_ROW(4); DSTORE_ROW(5); DSTORE_ROW(6); DSTORE_ROW(7);
    if (edge)
        MINICNN_TILE_OUT(double, tile, c, ldc, m, n, NR);
}

const minicnn_gemm_kernel minicnn_gemm_neon = {
    "neon_8x12", "neon_8x6",
    8, 12, 128, 256, 4092,
    8, 6, 64, 256, 4092,
    minicnn_sgemm_ukr_neon_8x12, minicnn_dgemm_ukr_neon_8x6, NULL, NULL};

#else
/* ISO C forbids an empty translation unit. */
typedef int minicnn_neon_unused;

#endif
