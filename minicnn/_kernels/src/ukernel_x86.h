/* The x86 GEMM micro-kernels, one source for AVX2 (ukernel_avx2.c) and AVX-512 (ukernel_avx512.c):
 * MR rows, two vectors of C per row held in registers, B rows loaded as two vectors, one
 * broadcast of A per row and k step.  The including unit, the one compiled with the ISA's -m
 * flags, includes this file once per element type after defining
 *
 *   UKR_MR                      rows of the tile (6 or 12); the tile is MR x 2 vectors
 *   UKR_UNROLL                  k steps per trip of the k loop: 1 or 4
 *   UKR_T, UKR_V, UKR_OP(op)    element type, vector type, and the intrinsic for op at that
 *                               width and type (_mm256_##op##_ps)
 *   UKR_BCAST(p)                *p in every lane (AVX2's broadcast from memory keeps gcc's
 *                               code for the in-place A kernels as it was)
 *   UKR_PACKED, UKR_ROWA        the names of the two kernels it defines (gemm_kernels.h): A from
 *                               packed panels, and A read in place from its own storage
 *
 * and gets them defined (static: the unit's descriptor minicnn_gemm_<isa> is how they are called).
 * AEL(i, P) is the address of A's (row i, step P) element and ADV(s) moves A on by s steps; each
 * kernel defines them before its body: packed panels (a + P*MR + i) or A in place
 * (a + i*rs_a + P*cs_a). */
#ifndef MINICNN_UKERNEL_X86_H
#define MINICNN_UKERNEL_X86_H

#include "gemm_kernels.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define __attribute__(x)
#endif

#define T UKR_T
#define V UKR_V
#define W ((int)(sizeof(UKR_V) / sizeof(UKR_T)))
#define MR UKR_MR
#define VMUL UKR_OP(mul)
#define VFMADD UKR_OP(fmadd)
#define VLOADU UKR_OP(loadu)
#define VSTOREU UKR_OP(storeu)
#define VSET1 UKR_OP(set1)
#define VZERO UKR_OP(setzero)
#define VBCAST UKR_BCAST

#define UKR_CAT2(a, b) a##b
#define UKR_CAT(a, b) UKR_CAT2(a, b)
/* f(i, P) for every row i of the tile */
#define UKR_ROWS6(f, P) f(0, P); f(1, P); f(2, P); f(3, P); f(4, P); f(5, P)
#define UKR_ROWS12(f, P) UKR_ROWS6(f, P); f(6, P); f(7, P); f(8, P); f(9, P); f(10, P); f(11, P)
#define UKR_ROWS(f, P) UKR_CAT(UKR_ROWS, UKR_MR)(f, P)

/* Row i's two accumulators */
#define UKR_ZERO_ROW(i, P_) V c##i##0 = VZERO(), c##i##1 = VZERO()

/* The C update of one row: t = alpha*acc; beta == 0 -> C = t (C never read), else C = beta*C + t.
 * Edge tiles run the very same code on a scratch tile, so every element sees one arithmetic. */
#define UKR_STORE_ROW(i, P_)                                                             \
    do {                                                                                 \
        T *ci_ = cc + (i) * ldcc;                                                        \
        V t0_ = VMUL(va, c##i##0), t1_ = VMUL(va, c##i##1);                              \
        if (beta_zero) {                                                                 \
            VSTOREU(ci_, t0_);                                                           \
            VSTOREU(ci_ + W, t1_);                                                       \
        } else {                                                                         \
            VSTOREU(ci_, VFMADD(vb, VLOADU(ci_), t0_));                                  \
            VSTOREU(ci_ + W, VFMADD(vb, VLOADU(ci_ + W), t1_));                          \
        }                                                                                \
    } while (0)

#define UKR_FMA_ROW(i, P)                                                                \
    do {                                                                                 \
        V a_ = VBCAST(AEL(i, P));                                                        \
        c##i##0 = VFMADD(a_, b0, c##i##0);                                               \
        c##i##1 = VFMADD(a_, b1, c##i##1);                                               \
    } while (0)

/* k step P of the current trip: the B row, then every row of A against it */
#define UKR_STEP(P)                                                                      \
    b0 = VLOADU(b + (P) * 2 * W);                                                        \
    b1 = VLOADU(b + (P) * 2 * W + W);                                                    \
    UKR_ROWS(UKR_FMA_ROW, P);

#define UKR_STEP1                                                                        \
    {                                                                                    \
        UKR_STEP(0)                                                                      \
        ADV(1);                                                                          \
        b += 2 * W;                                                                      \
    }
#if UKR_UNROLL == 4
#define UKR_KLOOP                                                                        \
    for (p = 0; p + 4 <= k; p += 4) {                                                    \
        UKR_STEP(0) UKR_STEP(1) UKR_STEP(2) UKR_STEP(3)                                  \
        ADV(4);                                                                          \
        b += 4 * 2 * W;                                                                  \
    }                                                                                    \
    for (; p < k; ++p)                                                                   \
        UKR_STEP1
#elif UKR_UNROLL == 1
#define UKR_KLOOP                                                                        \
    for (p = 0; p < k; ++p)                                                              \
        UKR_STEP1
#else
#error "ukernel_x86.h: UKR_UNROLL must be 1 or 4"
#endif

/* alpha and beta go through the stack (volatile): kept in registers across the k loop they
 * push gcc into spilling accumulators, since 12 (24) accumulators + 2 B + 1 A use 15 (27) of
 * the 16 (32) vector registers. */
#define UKR_BODY                                                                         \
    UKR_ROWS(UKR_ZERO_ROW, _);                                                           \
    ptrdiff_t p;                                                                         \
    T tile[MR * 2 * W] __attribute__((aligned(64)));                                     \
    volatile T alpha_v = alpha, beta_v = beta;                                           \
    const int beta_zero = (beta == 0);                                                   \
    const int edge = (m < MR || n < 2 * W);                                              \
    T *cc = c;                                                                           \
    ptrdiff_t ldcc = ldc, p_;                                                            \
    V b0, b1;                                                                            \
    for (p_ = 0; p_ < m; ++p_) { /* C rows are needed at the end: start fetching now */ \
        _mm_prefetch((const char *)(c + p_ * ldc), _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c + p_ * ldc + n - 1), _MM_HINT_T0);                 \
    }                                                                                    \
    UKR_KLOOP                                                                            \
    {                                                                                    \
        const V va = VSET1(alpha_v), vb = VSET1(beta_v);                                 \
        if (edge) {                                                                      \
            ptrdiff_t q_;                                                                \
            for (q_ = 0; q_ < MR * 2 * W; ++q_)                                          \
                tile[q_] = 0;                                                            \
            if (!beta_zero)                                                              \
                MINICNN_TILE_IN(T, tile, c, ldc, m, n, 2 * W);                           \
            cc = tile;                                                                   \
            ldcc = 2 * W;                                                                \
        }                                                                                \
        UKR_ROWS(UKR_STORE_ROW, _);                                                      \
        if (edge)                                                                        \
            MINICNN_TILE_OUT(T, tile, c, ldc, m, n, 2 * W);                              \
    }

#endif /* MINICNN_UKERNEL_X86_H */

/* ---------------- the two kernels of one element type ---------------- */
static void UKR_PACKED(ptrdiff_t k, T alpha, const T *a, const T *b, T beta, T *c, ptrdiff_t ldc, ptrdiff_t m,
                       ptrdiff_t n)
{
#define AEL(i, P) (a + (P) * MR + (i))
#define ADV(s) (a += (s) * MR)
    UKR_BODY
#undef AEL
#undef ADV
}

static void UKR_ROWA(ptrdiff_t k, T alpha, const T *a, ptrdiff_t rs_a, ptrdiff_t cs_a, const T *b, T beta, T *c,
                     ptrdiff_t ldc, ptrdiff_t n)
{
    const ptrdiff_t m = MR;
#define AEL(i, P) (a + (i) * rs_a + (P) * cs_a)
#define ADV(s) (a += (s) * cs_a)
    UKR_BODY
#undef AEL
#undef ADV
}

#undef UKR_T
#undef UKR_V
#undef UKR_OP
#undef UKR_BCAST
#undef UKR_PACKED
#undef UKR_ROWA
