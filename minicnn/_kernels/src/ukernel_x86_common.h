/* Shared shape of the x86 micro-kernels (AVX2 and AVX-512): MR rows, two vectors of C per row
 * held in registers, B rows loaded as two vectors, one broadcast of A per row and k step.
 * Included by ukernel_avx2.c / ukernel_avx512.c with the vector type and intrinsics defined;
 * the including TU is the one compiled with the ISA's -m flags.
 *
 * AEL(i, P) is the address of A's (row i, step P) element and ADV(s) moves A on by s steps; the
 * including file defines them before each kernel body: packed panels (a + P*MR + i) or A read
 * in place from A's own storage (a + i*rs_a + P*cs_a). */

/* The C update of one row: t = alpha*acc; beta == 0 -> C = t (C never read), else C = beta*C + t.
 * Edge tiles run the very same code on a scratch tile, so every element sees one arithmetic. */
#define UKR_STORE_ROW(i)                                                                 \
    do {                                                                                 \
        T *ci_ = cc + (i) * ldcc;                                                        \
        V t0_ = VMUL(va, c##i##0), t1_ = VMUL(va, c##i##1);                              \
        if (beta_zero) {                                                                 \
            VSTOREU(ci_, t0_);                                                           \
            VSTOREU(ci_ + W, t1_);                                                       \
        } else {                                                                         \
            VSTOREU(ci_, VFMADD(vb, VLOADU(ci_), t0_));                                  \
            VSTOREU(ci_ + W, VFMADD(vb, VLOADU(ci_ + W), t1_));                           \
        }                                                                                \
    } while (0)

#define UKR_FMA_ROW(i, P)                                                                \
    do {                                                                                 \
        V a_ = VBCAST(AEL(i, P));                                               \
        c##i##0 = VFMADD(a_, b0, c##i##0);                                               \
        c##i##1 = VFMADD(a_, b1, c##i##1);                                               \
    } while (0)

/* Set up before the k loop, and the edge/alpha/beta handling after it. */
/* alpha and beta go through the stack (volatile): kept in registers across the k loop they
 * push gcc into spilling accumulators, since 12 (24) accumulators + 2 B + 1 A use 15 (27) of
 * the 16 (32) vector registers. */
#define UKR_PROLOGUE()                                                                   \
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
    }

#define UKR_EPILOGUE(STORE_ALL)                                                          \
    do {                                                                                 \
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
        STORE_ALL;                                                                       \
        if (edge)                                                                        \
            MINICNN_TILE_OUT(T, tile, c, ldc, m, n, 2 * W);                              \
    } while (0)
