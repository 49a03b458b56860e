/* Winograd F(2x2, 3x3) tile transforms, channels-last (the winograd family of the kernel table,
 * used by the WINOGRAD plan, _conv_winograd.pyx): a template (simd.h's kit), instantiated by
 * table.c per element type in every instruction set's unit.
 *
 * A 2x2 block of a 3x3 convolution's output is computed from the 4x4 input patch d under it as
 *
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A          (.*: elementwise over the 16 positions)
 *
 *     B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1  1  1  0 |
 *           | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *           | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *           | 0  1  0 -1 |        | 0    0    1  |
 *
 * (Lavin & Gray 2016).  The product .* summed over input channels is 16 GEMMs, one per position
 * xi = 4 i + j: (tiles x C) @ (C x F).  Here are the per-tile transforms of the input (B^T d B)
 * and of the GEMMs' output (A^T M A, with the bias and ReLU epilogue); the kernel transform runs
 * once per call in _conv_winograd.pyx.  Every loop runs over the channels, contiguous in memory in
 * channels-last layout, with the 16 positions in scalars, so the compiler vectorises it across
 * channels at the unit's vector width (the loops carry no dependence: WG_IVDEP says so).  The
 * transforms only add and subtract, in the order written, one lane per channel: every
 * instruction set computes the same numbers.
 */
#ifndef MINICNN_WG_IVDEP
#define MINICNN_WG_IVDEP
#if defined(_MSC_VER) && !defined(__clang__)
#define WG_IVDEP __pragma(loop(ivdep))
#elif defined(__clang__)
#define WG_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define WG_IVDEP _Pragma("GCC ivdep")
#else
#define WG_IVDEP
#endif
#endif

/* v[xi * ldv + c] (OUT, xi = 4 i + j) = (B^T d B)[i][j] for channels c < C, where
 * d[r][s][c] = x[r * rs + s * cs + c] (IN, the 4x4 patch). */
static void FN(wg2_input)(const T *restrict x, ptrdiff_t rs, ptrdiff_t cs, T *restrict v, ptrdiff_t ldv,
                          ptrdiff_t C)
{
    const T *x0 = x, *x1 = x + rs, *x2 = x + 2 * rs, *x3 = x + 3 * rs;
    ptrdiff_t c, c1 = cs, c2 = 2 * cs, c3 = 3 * cs;
    WG_IVDEP
    for (c = 0; c < C; c++) {
        /* B^T d (along the rows), column by column */
        T t00 = x0[c] - x2[c], t10 = x1[c] + x2[c], t20 = x2[c] - x1[c], t30 = x1[c] - x3[c];
        T t01 = x0[c + c1] - x2[c + c1], t11 = x1[c + c1] + x2[c + c1];
        T t21 = x2[c + c1] - x1[c + c1], t31 = x1[c + c1] - x3[c + c1];
        T t02 = x0[c + c2] - x2[c + c2], t12 = x1[c + c2] + x2[c + c2];
        T t22 = x2[c + c2] - x1[c + c2], t32 = x1[c + c2] - x3[c + c2];
        T t03 = x0[c + c3] - x2[c + c3], t13 = x1[c + c3] + x2[c + c3];
        T t23 = x2[c + c3] - x1[c + c3], t33 = x1[c + c3] - x3[c + c3];
        /* (B^T d) B (along the columns), row by row */
        v[0 * ldv + c] = t00 - t02; v[1 * ldv + c] = t01 + t02;
        v[2 * ldv + c] = t02 - t01; v[3 * ldv + c] = t01 - t03;
        v[4 * ldv + c] = t10 - t12; v[5 * ldv + c] = t11 + t12;
        v[6 * ldv + c] = t12 - t11; v[7 * ldv + c] = t11 - t13;
        v[8 * ldv + c] = t20 - t22; v[9 * ldv + c] = t21 + t22;
        v[10 * ldv + c] = t22 - t21; v[11 * ldv + c] = t21 - t23;
        v[12 * ldv + c] = t30 - t32; v[13 * ldv + c] = t31 + t32;
        v[14 * ldv + c] = t32 - t31; v[15 * ldv + c] = t31 - t33;
    }
}

/* One output-transform loop over f (EPI: the epilogue applied to each value o of the 2x2 block). */
#undef WG_OUTPUT_LOOP
#define WG_OUTPUT_LOOP(EPI)                                                                        \
    WG_IVDEP                                                                                       \
    for (f = 0; f < F; f++) {                                                                      \
        /* A^T M (along the rows), column by column */                                            \
        T s00 = m[0 * ldm + f] + m[4 * ldm + f] + m[8 * ldm + f];                                  \
        T s01 = m[1 * ldm + f] + m[5 * ldm + f] + m[9 * ldm + f];                                  \
        T s02 = m[2 * ldm + f] + m[6 * ldm + f] + m[10 * ldm + f];                                 \
        T s03 = m[3 * ldm + f] + m[7 * ldm + f] + m[11 * ldm + f];                                 \
        T s10 = m[4 * ldm + f] - m[8 * ldm + f] - m[12 * ldm + f];                                 \
        T s11 = m[5 * ldm + f] - m[9 * ldm + f] - m[13 * ldm + f];                                 \
        T s12 = m[6 * ldm + f] - m[10 * ldm + f] - m[14 * ldm + f];                                \
        T s13 = m[7 * ldm + f] - m[11 * ldm + f] - m[15 * ldm + f];                                \
        /* (A^T M) A (along the columns) */                                                        \
        y0[f] = EPI(s00 + s01 + s02);                                                              \
        y1[f] = EPI(s01 - s02 - s03);                                                              \
        y2[f] = EPI(s10 + s11 + s12);                                                              \
        y3[f] = EPI(s11 - s12 - s13);                                                              \
    }

#ifndef WG_PLAIN
#define WG_PLAIN(o) (o)
#define WG_BIAS(o) ((o) + bias[f])
#define WG_RELU(o) ((o) < 0 ? 0 : (o))
#define WG_BIAS_RELU(o) WG_RELU((o) + bias[f])
#endif

/* y[p * rs + q * cs + f] (OUT, the 2x2 block; p, q < 2) = (A^T M A)[p][q] + bias[f] (bias may be
 * NULL), then max(., 0) with relu (NaN passes, as np.maximum lets it), where
 * M[i][j][f] = m[(4 i + j) * ldm + f] (IN). */
static void FN(wg2_output)(const T *restrict m, ptrdiff_t ldm, T *restrict y, ptrdiff_t rs, ptrdiff_t cs,
                           ptrdiff_t F, const T *restrict bias, int relu)
{
    T *y0 = y, *y1 = y + cs, *y2 = y + rs, *y3 = y + rs + cs;
    ptrdiff_t f;
    if (bias && relu) {
        WG_OUTPUT_LOOP(WG_BIAS_RELU)
    } else if (bias) {
        WG_OUTPUT_LOOP(WG_BIAS)
    } else if (relu) {
        WG_OUTPUT_LOOP(WG_RELU)
    } else {
        WG_OUTPUT_LOOP(WG_PLAIN)
    }
}

#ifndef WG_INLINE
#if defined(__GNUC__) || defined(__clang__)
#define WG_INLINE static inline __attribute__((always_inline))
#else
#define WG_INLINE static __forceinline
#endif
#endif

/* y[r * F + j * VL + l] (OUT) = sum over c < C of a[r * C + c] * b[c * F + j * VL + l] (IN) for r < R,
 * j < NV: one register block of wg2_multiply (R and NV are constants where it is called, so the
 * compiler unrolls the r and j loops and keeps the R x NV sums in registers). */
WG_INLINE void FN(wg2_block)(const T *restrict a, const T *restrict b, T *restrict y, ptrdiff_t C, ptrdiff_t F,
                             int R, int NV)
{
    V acc[6][2], bv[2], s;
    ptrdiff_t c;
    int r, j;
    for (r = 0; r < R; r++)
        for (j = 0; j < NV; j++)
            acc[r][j] = VSPLAT(0);
    for (c = 0; c < C; c++, b += F) {
        for (j = 0; j < NV; j++)
            bv[j] = VLOAD(b + j * VL);
        for (r = 0; r < R; r++) {
            s = VSPLAT(a[r * C + c]);
            for (j = 0; j < NV; j++)
                acc[r][j] = VFMA(acc[r][j], s, bv[j]);
        }
    }
    for (r = 0; r < R; r++)
        for (j = 0; j < NV; j++)
            VSTORE(y + r * F + j * VL, acc[r][j]);
}

/* m[xi * ldm + t * F + f] (OUT) = sum over c < C of v[xi * ldv + t * C + c] * u[(xi * C + c) * F + f]
 * (IN) for the 16 positions xi, tiles t < nt and f < F: the 16 GEMMs of a block of tiles at once,
 * register-blocked 6 tiles x 2 vectors, with no packing or set-up per call (at C = 16 the GEMM
 * micro-kernel's fixed cost per call was 30% of its work, benchmarks/README.md).  Every sum runs
 * over c in increasing order, one VFMA per product (columns past the last whole vector: one
 * multiply and one add), whatever block computes it: a tile's numbers do not depend on nt or on its
 * place in the block. */
static void FN(wg2_multiply)(const T *restrict v, ptrdiff_t ldv, const T *restrict u, T *restrict m, ptrdiff_t ldm,
                             ptrdiff_t nt, ptrdiff_t C, ptrdiff_t F)
{
    ptrdiff_t xi, t, f, c;
    for (xi = 0; xi < 16; xi++) {
        const T *vx = v + xi * ldv, *ux = u + xi * C * F;
        T *mx = m + xi * ldm;
        for (f = 0; f + 2 * VL <= F; f += 2 * VL) {
            for (t = 0; t + 6 <= nt; t += 6)
                FN(wg2_block)(vx + t * C, ux + f, mx + t * F + f, C, F, 6, 2);
            for (; t < nt; t++)
                FN(wg2_block)(vx + t * C, ux + f, mx + t * F + f, C, F, 1, 2);
        }
        if (f + VL <= F) {
            for (t = 0; t + 6 <= nt; t += 6)
                FN(wg2_block)(vx + t * C, ux + f, mx + t * F + f, C, F, 6, 1);
            for (; t < nt; t++)
                FN(wg2_block)(vx + t * C, ux + f, mx + t * F + f, C, F, 1, 1);
            f += VL;
        }
        for (; f < F; f++) {
            for (t = 0; t < nt; t++) {
                const T *a = vx + t * C, *b = ux + f;
                T acc = 0;
                for (c = 0; c < C; c++, b += F)
                    acc += a[c] * *b;
                mx[t * F + f] = acc;
            }
        }
    }
}
