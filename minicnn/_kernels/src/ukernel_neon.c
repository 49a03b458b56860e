/* NEON (AArch64 Advanced SIMD) micro-kernels: sgemm 8x12 and dgemm 8x6, one source for both.
 * 24 accumulator q registers, the A column (2 or 4 q registers) and the B row (3 q registers):
 * 29 / 31 of the 32 vector registers.  Each A element is used in place through a by-lane FMA
 * (vfmaq_laneq_*), so no broadcasts are needed.  NEON is baseline on AArch64: no extra flags.
 * The whole file is empty on other targets. */
#include "gemm_kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

/* Per element type: T, V (a q register of VW elements), NOP(op) the intrinsic op_f32 / op_f64,
 * LOAD_A the A column of one k step (a0, a1, ...) and FMA_ROWS its 8 rows' FMAs, each row of A
 * a lane of that column: ROW(i, A vector, lane). */
#define ROW(i, av, lane)                                                                 \
    c##i##0 = NOP(vfmaq_laneq)(c##i##0, b0, av, lane);                                   \
    c##i##1 = NOP(vfmaq_laneq)(c##i##1, b1, av, lane);                                   \
    c##i##2 = NOP(vfmaq_laneq)(c##i##2, b2, av, lane);

#define STORE_ROW(i)                                                                     \
    do {                                                                                 \
        T *ci_ = cc + (i) * ldcc;                                                        \
        V t0_ = NOP(vmulq_n)(c##i##0, alpha), t1_ = NOP(vmulq_n)(c##i##1, alpha),        \
          t2_ = NOP(vmulq_n)(c##i##2, alpha);                                            \
        if (beta_zero) {                                                                 \
            NOP(vst1q)(ci_, t0_); NOP(vst1q)(ci_ + VW, t1_); NOP(vst1q)(ci_ + 2 * VW, t2_); \
        } else {                                                                         \
            NOP(vst1q)(ci_, NOP(vfmaq_n)(t0_, NOP(vld1q)(ci_), beta));                   \
            NOP(vst1q)(ci_ + VW, NOP(vfmaq_n)(t1_, NOP(vld1q)(ci_ + VW), beta));         \
            NOP(vst1q)(ci_ + 2 * VW, NOP(vfmaq_n)(t2_, NOP(vld1q)(ci_ + 2 * VW), beta)); \
        }                                                                                \
    } while (0)

#define NEON_KERNEL(name)                                                                \
    static void name(ptrdiff_t k, T alpha, const T *a, const T *b, T beta, T *c, ptrdiff_t ldc, ptrdiff_t m, \
                     ptrdiff_t n)                                                        \
    {                                                                                    \
        enum { MR = 8, NR = 3 * VW };                                                    \
        T tile[MR * NR];                                                                 \
        const int beta_zero = (beta == 0);                                               \
        const int edge = (m < MR || n < NR);                                             \
        T *cc = c;                                                                       \
        ptrdiff_t ldcc = ldc, p, q;                                                      \
        V z = NOP(vdupq_n)(0);                                                           \
        V c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z,        \
          c22 = z, c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z,        \
          c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;        \
        for (p = 0; p < k; ++p) {                                                        \
            LOAD_A;                                                                      \
            const V b0 = NOP(vld1q)(b), b1 = NOP(vld1q)(b + VW), b2 = NOP(vld1q)(b + 2 * VW); \
            FMA_ROWS                                                                     \
            a += MR;                                                                     \
            b += NR;                                                                     \
        }                                                                                \
        if (edge) {                                                                      \
            for (q = 0; q < MR * NR; ++q)                                                \
                tile[q] = 0;                                                             \
            if (!beta_zero)                                                              \
                MINICNN_TILE_IN(T, tile, c, ldc, m, n, NR);                              \
            cc = tile;                                                                   \
            ldcc = NR;                                                                   \
        }                                                                                \
        STORE_ROW(0); STORE_ROW(1); STORE_ROW(2); STORE_ROW(3);                          \
        STORE_ROW(4); STORE_ROW(5); STORE_ROW(6); STORE_ROW(7);                          \
        if (edge)                                                                        \
            MINICNN_TILE_OUT(T, tile, c, ldc, m, n, NR);                                 \
    }

/* ---------------- float32, 8 x 12: rows in two float32x4 of A ---------------- */
#define T float
#define V float32x4_t
#define VW 4
#define NOP(op) op##_f32
#define LOAD_A const V a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4)
#define FMA_ROWS                                                                         \
    ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)                              \
    ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
NEON_KERNEL(minicnn_sgemm_ukr_neon_8x12)
#undef T
#undef V
#undef VW
#undef NOP
#undef LOAD_A
#undef FMA_ROWS

/* ---------------- float64, 8 x 6: rows in four float64x2 of A ---------------- */
#define T double
#define V float64x2_t
#define VW 2
#define NOP(op) op##_f64
#define LOAD_A const V a0 = vld1q_f64(a), a1 = vld1q_f64(a + 2), a2 = vld1q_f64(a + 4), a3 = vld1q_f64(a + 6)
#define FMA_ROWS                                                                         \
    ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a1, 0) ROW(3, a1, 1)                              \
    ROW(4, a2, 0) ROW(5, a2, 1) ROW(6, a3, 0) ROW(7, a3, 1)
NEON_KERNEL(minicnn_dgemm_ukr_neon_8x6)

const minicnn_gemm_kernel minicnn_gemm_neon = {
    "neon_8x12", "neon_8x6",
    8, 12, 128, 256, 4092,
    8, 6, 64, 256, 4092,
    minicnn_sgemm_ukr_neon_8x12, minicnn_dgemm_ukr_neon_8x6, NULL, NULL};

#else
/* ISO C forbids an empty translation unit. */
typedef int minicnn_neon_unused;

#endif
