/* 2x2, stride-2 max pooling, channels-last: the forward of one output row and the backward of
 * one image (_pool.pyx's fast paths), the pool family of the kernel table.  A template (simd.h's
 * kit), instantiated by table.c per element type at every vector width from 16 bytes up to the
 * unit's widest; the table's entry picks, per call, the widest vector that C channels fill.
 *
 * Why: the obvious loop nest (output pixel j, then channel ch < C with C known only at run
 * time) vectorises poorly for the few channels of small networks: for LeNet's C = 6 or 16 each
 * pixel pays a vector loop's set-up, alias checks and scalar tail several times over (about 16
 * cycles per output element), and gcc does not vectorise the fixed-length forms of it reliably
 * either.  So the vectors are written out; without vector extensions (MSVC) the loops are scalar.
 *
 * One pixel's C channels are covered by vectors of VL lanes; when VL does not divide C the last
 * vector starts at C - VL and overlaps the one before.  Every lane is a pure function of the
 * input, so an overlapped lane is written twice with the same value.  C is a literal for the
 * common counts (a switch calls the always-inlined row loop), so the loop over a pixel's vectors
 * unrolls.  C < VL (1 to 3 float channels in 4-lane vectors) takes the lanes of several pixels,
 * gathered lane by lane, and so does C = 6 in 4-lane vectors (2 pixels in 3 vectors, not 4).
 *
 * Semantics (as _pool.pyx's generic loops): the first maximum in the window order (r0,c0),
 * (r0,c0+1), (r1,c0), (r1,c0+1) wins, a NaN wins over numbers and the first NaN stays; the
 * index is h * W + w.  The window is reduced as a tree, each row's pair first and then row 0's
 * winner against row 1's with row 0 keeping ties: "first maximum" under the order NaN >
 * numbers, NaNs equal, is associative, and this tree keeps the window order, so it picks what
 * the sequential scan picks -- at any vector width.
 *
 * The backward writes each cell of a window once, dy where the index names it and zero
 * elsewhere, instead of zeroing the image and scattering: it holds when every index lies in its
 * own window (each cell then gets at most one dy), which it checks; the caller scatters an image
 * where some index does not.
 */
#ifndef MINICNN_POOL_ROWS_H
#define MINICNN_POOL_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define PR_INLINE static __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define PR_INLINE static inline __attribute__((always_inline))
#else
#define PR_INLINE static inline
#endif

/* v replaces best, lane by lane (-1 or 0; 1 or 0 for scalars): strictly greater, or v is the
 * first NaN.  That is !(v <= best) where best is a number and never where best is a NaN, i.e.
 * (v <= best) XOR (best == best): one compare fewer than (v > best) | (v != v & best == best),
 * and gcc lowers it for doubles without the lane-by-lane detour it takes for ~(v <= best). */
#define PR_WINS(M, v, best) ((M)((v) <= (best)) ^ (M)((best) == (best)))

/* m ? x : y lane by lane, m all ones or zero (V the value vector, M the same-sized integer one) */
#define PR_SEL(V_, M, m, x, y) ((V_)((M)(y) ^ (((M)(x) ^ (M)(y)) & (m))))

static inline ptrdiff_t pr_gcd(ptrdiff_t a, ptrdiff_t b)
{
    while (b) {
        const ptrdiff_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

#endif /* MINICNN_POOL_ROWS_H */

/* ---------------- the template (one instantiation per inclusion) ---------------- */

#if VL > 1
/* C channels gathered across pixels: below a vector, or 6 floats in 4-lane vectors */
#define PR_FEW(C) ((C) < VL || (VL == 4 && (C) == 6))
#define PR_MAKE(f) ((V){VLANES(f)})
#define PR_MAKE_M(f) ((VI){VLANES(f)})
/* the indices, computed in the masks' lanes (T-wide), stored as int32 */
#define PR_STORE_IDX(p, m) (*(VI32U *)(p) = __builtin_convertvector((m), VI32U))
#if MK_DOUBLE
/* arg[0 .. VL) - base as doubles (exact below 2**53), whose compares give the 64-bit masks
 * directly: SSE2 has no 64-bit integer compare */
#define PR_OFFV V
#define PR_LOAD_OFF(p, base) (__builtin_convertvector(*(const VI32U *)(p), V) - (double)(base))
#define PR_IS(off, k) ((VI)((off) == (double)(k)))
#else
/* arg[0 .. VL) - base as int32 lanes, the width of the float masks */
#define PR_OFFV VI
#define PR_LOAD_OFF(p, base) (*(const VI32U *)(p) - (base))
#define PR_IS(off, k) ((VI)((off) == (int32_t)(k)))
#endif
#endif

#if VL > 1

/* One vector of windows: p, q, r, s (IN) = the lanes' cells (r0,c0), (r0,c0+1), (r1,c0),
 * (r1,c0+1); y (OUT) = their maxima; arg (OUT, if ARG) = the indices, i0 being the lanes'
 * (r0,c0) index and i1 their (r1,c0) index. */
PR_INLINE void FN(win)(V p, V q, V r, V s, T *y, int32_t *arg, VI i0, VI i1,
                            const int ARG)
{
    const VI wq = PR_WINS(VI, q, p), ws = PR_WINS(VI, s, r);
    const V h0 = PR_SEL(V, VI, wq, q, p), h1 = PR_SEL(V, VI, ws, s, r);
    const VI w = PR_WINS(VI, h1, h0);
    VSTORE(y, PR_SEL(V, VI, w, h1, h0));
    if (ARG) /* a winning right column adds 1: the mask is -1 */
        PR_STORE_IDX(arg, PR_SEL(VI, VI, w, i1 - ws, i0 - wq));
}

/* The row for C >= VL (a literal C unrolls the loop over a pixel's vectors). */
PR_INLINE void FN(row_vec)(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW,
                                const ptrdiff_t C, int32_t W, int32_t base, const int ARG)
{
    ptrdiff_t j, g;
    for (j = 0; j < OW; j++) {
        const T *a = r0 + 2 * j * C, *b = r1 + 2 * j * C;
        T *yj = y + j * C;
        int32_t *aj = ARG ? arg + j * C : arg;
        const VI i0 = (VI){0} + (base + (int32_t)(2 * j)), i1 = i0 + W;
        for (g = 0; g + VL <= C; g += VL)
            FN(win)(VLOAD(a + g), VLOAD(a + g + C), VLOAD(b + g), VLOAD(b + g + C), yj + g,
                        ARG ? aj + g : aj, i0, i1, ARG);
        if (C % VL) {
            g = C - VL;
            FN(win)(VLOAD(a + g), VLOAD(a + g + C), VLOAD(b + g), VLOAD(b + g + C), yj + g,
                        ARG ? aj + g : aj, i0, i1, ARG);
        }
    }
}

/* The row for a literal C < VL, or C = 6 floats: P pixels at a time, P * C lanes being a whole
 * number of vectors, each vector's lanes gathered from where they lie; the last OW % P pixels
 * one lane at a time (in vectors whose lanes all hold the same window). */
PR_INLINE void FN(row_few)(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW,
                                const ptrdiff_t C, int32_t W, int32_t base, const int ARG)
{
    const ptrdiff_t P = VL / pr_gcd(C, VL); /* pixels whose lanes fill whole vectors */
    ptrdiff_t j, v, ch;
    T yt[VL];
    int32_t at[VL];
    for (j = 0; j + P <= OW; j += P) {
        const T *a = r0 + 2 * j * C, *b = r1 + 2 * j * C;
        for (v = 0; v < P * C / VL; v++) {
            /* lane k of vector v: output lane L = v * VL + k, pixel L / C, channel L % C */
#define PR_PIX(k) ((v * VL + (k)) / C)
#define PR_OFF(k) (2 * PR_PIX(k) * C + (v * VL + (k)) % C)
#define PR_A0(k) a[PR_OFF(k)]
#define PR_A1(k) a[PR_OFF(k) + C]
#define PR_B0(k) b[PR_OFF(k)]
#define PR_B1(k) b[PR_OFF(k) + C]
#define PR_I0(k) (base + (int32_t)(2 * (j + PR_PIX(k))))
            const VI i0 = PR_MAKE_M(PR_I0);
            FN(win)(PR_MAKE(PR_A0), PR_MAKE(PR_A1), PR_MAKE(PR_B0), PR_MAKE(PR_B1),
                        y + j * C + v * VL, ARG ? arg + j * C + v * VL : arg, i0, i0 + W, ARG);
#undef PR_PIX
#undef PR_OFF
#undef PR_A0
#undef PR_A1
#undef PR_B0
#undef PR_B1
#undef PR_I0
        }
    }
    for (; j < OW; j++) {
        for (ch = 0; ch < C; ch++) {
            const ptrdiff_t o = 2 * j * C + ch;
            const VI i0 = (VI){0} + (base + (int32_t)(2 * j));
            FN(win)(VSPLAT(r0[o]), VSPLAT(r0[o + C]), VSPLAT(r1[o]), VSPLAT(r1[o + C]),
                        yt, at, i0, i0 + W, ARG);
            y[j * C + ch] = yt[0];
            if (ARG)
                arg[j * C + ch] = at[0];
        }
    }
}

PR_INLINE void FN(row_c)(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                              int32_t W, int32_t base, const int ARG)
{
    switch (C) { /* literal channel counts: the loops over a pixel's vectors unroll */
#define PR_ROW(c) \
    case c: \
        if (PR_FEW(c)) \
            FN(row_few)(r0, r1, y, arg, OW, c, W, base, ARG); \
        else \
            FN(row_vec)(r0, r1, y, arg, OW, c, W, base, ARG); \
        break;
    PR_ROW(1) PR_ROW(2) PR_ROW(3) PR_ROW(4) PR_ROW(5) PR_ROW(6) PR_ROW(8) PR_ROW(12) PR_ROW(16)
#undef PR_ROW
    default:
        if (PR_FEW(C))
            FN(row_few)(r0, r1, y, arg, OW, C, W, base, ARG);
        else
            FN(row_vec)(r0, r1, y, arg, OW, C, W, base, ARG);
        break;
    }
}

/* The backward of one vector of windows: g, arg (IN) = the lanes' dy and argmax; d0, d1 (OUT) =
 * the windows' left cells in rows 0 and 1 (the right ones C further on), each dy or zero.
 * Returns the lanes whose index is outside its window (all ones there). */
PR_INLINE VI FN(win_back)(const T *g, const int32_t *arg, T *d0, T *d1, ptrdiff_t C,
                                  int32_t base, int32_t W)
{
    /* 0 + dy, not dy: the scatter-add onto zeros it replaces turns -0 into +0 */
    const VI gv = (VI)((V){0} + VLOAD(g));
    const PR_OFFV off = PR_LOAD_OFF(arg, base);
    const VI m00 = PR_IS(off, 0), m01 = PR_IS(off, 1), m10 = PR_IS(off, W), m11 = PR_IS(off, W + 1);
    VSTORE(d0, (V)(gv & m00));
    VSTORE(d0 + C, (V)(gv & m01));
    VSTORE(d1, (V)(gv & m10));
    VSTORE(d1 + C, (V)(gv & m11));
    return ~(m00 | m01 | m10 | m11);
}

/* max2x2_back for C >= VL (a literal C unrolls the loop over a pixel's vectors). */
PR_INLINE int FN(back_vec)(const T *dy, const int32_t *arg, T *dx, ptrdiff_t OH, ptrdiff_t OW,
                                const ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    const int32_t W32 = (int32_t)W;
    ptrdiff_t i, j, g;
    int k;
    for (i = 0; i < OH; i++) {
        T *x0 = dx + 2 * i * W * C, *x1 = x0 + W * C;
        VI miss = {0};
        for (j = 0; j < OW; j++) {
            const ptrdiff_t o = (i * OW + j) * C;
            const int32_t base = (int32_t)(2 * i * W + 2 * j);
            for (g = 0; g + VL <= C; g += VL)
                miss |= FN(win_back)(dy + o + g, arg + o + g, x0 + 2 * j * C + g, x1 + 2 * j * C + g, C,
                                         base, W32);
            if (C % VL) {
                g = C - VL;
                miss |= FN(win_back)(dy + o + g, arg + o + g, x0 + 2 * j * C + g, x1 + 2 * j * C + g, C,
                                         base, W32);
            }
        }
        for (k = 0; k < VL; k++)
            if (miss[k])
                return 0;
        if (W > 2 * OW) { /* the column no window covers */
            memset(x0 + 2 * OW * C, 0, (size_t)((W - 2 * OW) * C) * sizeof(T));
            memset(x1 + 2 * OW * C, 0, (size_t)((W - 2 * OW) * C) * sizeof(T));
        }
    }
    if (H > 2 * OH)
        memset(dx + 2 * OH * W * C, 0, (size_t)((H - 2 * OH) * W * C) * sizeof(T));
    return 1;
}

PR_INLINE int FN(back_c)(const T *dy, const int32_t *arg, T *dx, ptrdiff_t OH, ptrdiff_t OW,
                              ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    if (C < VL || 2 * OH > H || 2 * OW > W)
        return 0;
    switch (C) { /* as in row_c */
#define PR_BACK(c) \
    case c: \
        return FN(back_vec)(dy, arg, dx, OH, OW, c, H, W);
    PR_BACK(2) PR_BACK(3) PR_BACK(4) PR_BACK(5) PR_BACK(6) PR_BACK(8) PR_BACK(12) PR_BACK(16)
#undef PR_BACK
    default:
        return FN(back_vec)(dy, arg, dx, OH, OW, C, H, W);
    }
}

#else /* no vector extensions: the same tree, one lane at a time */

PR_INLINE void FN(row_c)(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                              int32_t W, int32_t base, const int ARG)
{
    ptrdiff_t j, ch;
    for (j = 0; j < OW; j++) {
        for (ch = 0; ch < C; ch++) {
            const ptrdiff_t o = 2 * j * C + ch;
            const T p = r0[o], q = r0[o + C], r = r1[o], s = r1[o + C];
            const int wq = PR_WINS(int, q, p), ws = PR_WINS(int, s, r);
            const T h0 = wq ? q : p, h1 = ws ? s : r;
            const int w = PR_WINS(int, h1, h0);
            y[j * C + ch] = w ? h1 : h0;
            if (ARG)
                arg[j * C + ch] = base + (int32_t)(2 * j) + (w ? W + ws : wq);
        }
    }
}

PR_INLINE int FN(back_c)(const T *dy, const int32_t *arg, T *dx, ptrdiff_t OH, ptrdiff_t OW,
                              ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    (void)dy, (void)arg, (void)dx, (void)OH, (void)OW, (void)C, (void)H, (void)W;
    return 0; /* the caller's scatter serves */
}

#endif /* VL > 1 */

/* One output row: r0, r1 (IN) = the windows' two input rows, W x C (their first 2*OW pixels
 * are read); y (OUT, OW x C) = the window maxima; arg (OUT, OW x C, or NULL at
 * inference) = the maxima's flat indices h * W + w, row being r0's h.  C >= 1 and
 * (row + 1) * W + 2 * OW < 2**31.  The input and the outputs do not overlap. */
static void FN(max2x2_row)(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                               ptrdiff_t W, ptrdiff_t row)
{
    const int32_t base = (int32_t)(row * W);
    if (arg)
        FN(row_c)(r0, r1, y, arg, OW, C, (int32_t)W, base, 1);
    else
        FN(row_c)(r0, r1, y, NULL, OW, C, (int32_t)W, base, 0);
}

/* The backward of the 2x2, stride-2 windows of one image, where each index lies in its window:
 * dy, arg (IN, OH x OW x C) = the gradient and argmax; dx (OUT, H x W x C, fully written) =
 * each dy at its cell, zero elsewhere.  Returns 1, or 0 where an index lies outside its window
 * (another pooling's indices, or bad ones), where C is below a vector or the windows do not fit:
 * dx is then partly written and the caller's scatter does the image. */
static int FN(max2x2_back)(const T *dy, const int32_t *arg, T *dx, ptrdiff_t OH, ptrdiff_t OW,
                               ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    return FN(back_c)(dy, arg, dx, OH, OW, C, H, W);
}


#if VL > 1
#undef PR_FEW
#undef PR_MAKE
#undef PR_MAKE_M
#undef PR_STORE_IDX
#undef PR_OFFV
#undef PR_LOAD_OFF
#undef PR_IS
#endif
