/* GEMM micro-kernels: the interface between the portable blocked driver (_gemm.pyx) and the
 * per-ISA register-blocked kernels (ukernel_<isa>.c, each defining its descriptor
 * minicnn_gemm_<isa>, which its instruction set's kernel table registers: kernels.h).
 *
 * A micro-kernel computes one MR x NR tile of C from packed panels:
 *
 *     C[0:m, 0:n] = alpha * Ap @ Bp + beta * C[0:m, 0:n]          (m <= MR, n <= NR)
 *
 *   Ap (IN): k x MR, stored k-major (Ap[p*MR + i]), rows >= m zero-padded
 *   Bp (IN): k x NR, stored k-major (Bp[p*NR + j]), columns >= n zero-padded
 *   C  (IN/OUT): row-major with leading dimension ldc; only the m x n corner is touched;
 *      beta == 0 means C is write-only (NaN/Inf already in C do not leak).
 *
 * Every element of the tile goes through the same arithmetic whether the tile is full or an
 * edge tile (edge tiles are computed through a full-size scratch tile), so a result never
 * depends on where the driver's thread partition put the element.  Kernels are serial.
 */
#ifndef MINICNN_GEMM_KERNELS_H
#define MINICNN_GEMM_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*minicnn_sukr_t)(ptrdiff_t k, float alpha, const float *a, const float *b,
                               float beta, float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n);
typedef void (*minicnn_dukr_t)(ptrdiff_t k, double alpha, const double *a, const double *b,
                               double beta, double *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n);

/* The same tile with A read in place from its own storage: A's (i, p) element at
 * a[i*rs_a + p*cs_a] (row-major A: rs_a = lda, cs_a = 1; transposed A: rs_a = 1, cs_a = lda).
 * All MR rows must exist: the driver packs a partial last row panel instead.  Packing A costs as much as the
 * arithmetic when n is small (each A element then feeds only 2n flops), and a broadcast
 * kernel does not need A contiguous -- BLIS' "sup" kernels make the same trade. */
typedef void (*minicnn_sukr_rowa_t)(ptrdiff_t k, float alpha, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                    const float *b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t n);
typedef void (*minicnn_dukr_rowa_t)(ptrdiff_t k, double alpha, const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                    const double *b, double beta, double *c, ptrdiff_t ldc, ptrdiff_t n);

/* One ISA's micro-kernels and the cache blocking that suits them (BLIS' analytic model: KC keeps
 * one B micro-panel (KC x NR) plus an A micro-panel in L1, MC x KC of packed A fills about half of
 * L2, KC x NC of packed B lives in L3).  MC is a multiple of MR, NC a multiple of NR. */
typedef struct {
    const char *sname;  /* float32 kernel, e.g. "avx2_6x16" */
    const char *dname;  /* float64 kernel, e.g. "avx2_6x8" */
    int smr, snr, smc, skc, snc;
    int dmr, dnr, dmc, dkc, dnc;
    minicnn_sukr_t sukr;
    minicnn_dukr_t dukr;
    minicnn_sukr_rowa_t sukr_rowa; /* NULL: this kernel always packs A */
    minicnn_dukr_rowa_t dukr_rowa;
} minicnn_gemm_kernel;

/* The descriptors, each defined in its instruction set's ukernel_<isa>.c (the kernels themselves are
 * static there: a descriptor is how they are called). */
extern const minicnn_gemm_kernel minicnn_gemm_reference, minicnn_gemm_avx2, minicnn_gemm_avx512, minicnn_gemm_neon;

/* 64-byte aligned scratch for packed panels.  Plain malloc plus manual alignment (the offset is
 * kept just before the returned pointer) so it is the same code on every platform. */
static inline void *minicnn_aligned_alloc(size_t bytes)
{
    unsigned char *raw, *p;
    if (bytes > SIZE_MAX - 64 - sizeof(void *))
        return NULL;
    raw = (unsigned char *)malloc(bytes + 64 + sizeof(void *));
    if (raw == NULL)
        return NULL;
    p = (unsigned char *)(((uintptr_t)(raw + sizeof(void *)) + 63u) & ~(uintptr_t)63u);
    ((void **)p)[-1] = raw;
    return p;
}

static inline void minicnn_aligned_free(void *p)
{
    if (p != NULL)
        free(((void **)p)[-1]);
}

/* Copy the m x n corner of a (ldc) into / out of a dense MR x NR scratch tile (ld = nr). */
#define MINICNN_TILE_IN(T, tile, c, ldc, m, n, nr)                          \
    do {                                                                   \
        ptrdiff_t i_, j_;                                                  \
        for (i_ = 0; i_ < (m); ++i_)                                       \
            for (j_ = 0; j_ < (n); ++j_)                                   \
                (tile)[i_ * (nr) + j_] = (c)[i_ * (ldc) + j_];             \
    } while (0)

#define MINICNN_TILE_OUT(T, tile, c, ldc, m, n, nr)                         \
    do {                                                                   \
        ptrdiff_t i_, j_;                                                  \
        for (i_ = 0; i_ < (m); ++i_)                                       \
            for (j_ = 0; j_ < (n); ++j_)                                   \
                (c)[i_ * (ldc) + j_] = (tile)[i_ * (nr) + j_];             \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
