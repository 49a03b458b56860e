/* 2x2, stride-2 max pooling, channels-last: the forward of one output row and the backward of
 * one image (_pool.pyx's fast paths).
 *
 * Why: the obvious loop nest (output pixel j, then channel ch < C with C known only at run
 * time) vectorises poorly for the few channels of small networks: for LeNet's C = 6 or 16 each
 * pixel pays a vector loop's set-up, alias checks and scalar tail several times over (about 16
 * cycles per output element), and gcc does not vectorise the fixed-length forms of it reliably
 * either.  So the vectors are written out, with the compilers' vector extensions (16 bytes:
 * SSE2 on x86-64, NEON on AArch64, so no ISA dispatch is needed), and without them (MSVC) the
 * same loop is scalar.
 *
 * One pixel's C channels are covered by vectors of VL lanes (4 floats, 2 doubles); when VL does
 * not divide C the last vector starts at C - VL and overlaps the one before.  Every lane is a
 * pure function of the input, so an overlapped lane is written twice with the same value.  C
 * is a literal for the common counts (a switch calls the always-inlined row loop), so the loop
 * over a pixel's vectors unrolls.  C < VL (1 to 3 float channels) takes the lanes of several
 * pixels, gathered lane by lane, and so does C = 6 (2 pixels in 3 float vectors, not 4).
 *
 * Semantics (as _pool.pyx's generic loops): the first maximum in the window order (r0,c0),
 * (r0,c0+1), (r1,c0), (r1,c0+1) wins, a NaN wins over numbers and the first NaN stays; the
 * index is h * W + w.  The window is reduced as a tree, each row's pair first and then row 0's
 * winner against row 1's with row 0 keeping ties: "first maximum" under the order NaN >
 * numbers, NaNs equal, is associative, and this tree keeps the window order, so it picks what
 * the sequential scan picks.
 *
 * The backward writes each cell of a window once, dy where the index names it and zero
 * elsewhere, instead of zeroing the image and scattering: it holds when every index lies in its
 * own window (each cell then gets at most one dy), which it checks; the caller scatters an image
 * where some index does not.
 *
 * This header instantiates itself for float (_f) and double (_d): the part below the #else is
 * the template, included twice with MPS_T and MPS_FN (and the vector types) defined.
 */
#ifndef MPS_T

#ifndef MINICNN_POOL_SMALL_H
#define MINICNN_POOL_SMALL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define MPS_INLINE static __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define MPS_INLINE static inline __attribute__((always_inline))
#else
#define MPS_INLINE static inline
#endif

/* CFLAGS=-DMPS_VECTORS=0 builds the scalar loops with gcc/clang too, to test them */
#ifndef MPS_VECTORS
#if defined(__GNUC__) || defined(__clang__)
#define MPS_VECTORS 1
#else
#define MPS_VECTORS 0
#endif
#endif
#if MPS_VECTORS
typedef float mps_vf4 __attribute__((vector_size(16)));
typedef float mps_vf4u __attribute__((vector_size(16), aligned(4)));
typedef int32_t mps_vi4 __attribute__((vector_size(16)));
typedef int32_t mps_vi4u __attribute__((vector_size(16), aligned(4)));
typedef double mps_vd2 __attribute__((vector_size(16)));
typedef double mps_vd2u __attribute__((vector_size(16), aligned(8)));
typedef int64_t mps_vl2 __attribute__((vector_size(16)));
typedef int32_t mps_vi2u __attribute__((vector_size(8), aligned(4)));
#endif

/* v replaces best, lane by lane (-1 or 0; 1 or 0 for scalars): strictly greater, or v is the
 * first NaN.  That is !(v <= best) where best is a number and never where best is a NaN, i.e.
 * (v <= best) XOR (best == best): one compare fewer than (v > best) | (v != v & best == best),
 * and gcc lowers it for doubles without the lane-by-lane detour it takes for ~(v <= best). */
#define MPS_WINS(M, v, best) ((M)((v) <= (best)) ^ (M)((best) == (best)))

/* m ? x : y lane by lane, m all ones or zero (V the value vector, M the same-sized integer one) */
#define MPS_SEL(V, M, m, x, y) ((V)((M)(y) ^ (((M)(x) ^ (M)(y)) & (m))))

#define MPS_T float
#define MPS_FN(name) mps_##name##_f
#if MPS_VECTORS
#define MPS_V mps_vf4
#define MPS_M mps_vi4
#define MPS_VL 4
#define MPS_LOAD(p) (*(const mps_vf4u *)(p))
#define MPS_STORE(p, v) (*(mps_vf4u *)(p) = (v))
#define MPS_STORE_IDX(p, m) (*(mps_vi4u *)(p) = (m))
#define MPS_MAKE(f) ((mps_vf4){f(0), f(1), f(2), f(3)})
#define MPS_BCAST(v) ((mps_vf4){(v), (v), (v), (v)})
#define MPS_MAKE_M(f) ((mps_vi4){f(0), f(1), f(2), f(3)})
/* arg[0 .. VL) - base, compared with MPS_IS: as int32 lanes, the width of the float masks */
#define MPS_OFFV mps_vi4
#define MPS_LOAD_OFF(p, base) (*(const mps_vi4u *)(p) - (base))
#define MPS_IS(off, k) ((mps_vi4)((off) == (int32_t)(k)))
#endif
#include "pool_small.h" /* the template #undefs its parameters at its end */

#define MPS_T double
#define MPS_FN(name) mps_##name##_d
#if MPS_VECTORS
#define MPS_V mps_vd2
#define MPS_M mps_vl2
#define MPS_VL 2
#define MPS_LOAD(p) (*(const mps_vd2u *)(p))
#define MPS_STORE(p, v) (*(mps_vd2u *)(p) = (v))
/* the indices are computed in the 64-bit lanes of the masks and stored as int32 */
#define MPS_STORE_IDX(p, m) (*(mps_vi2u *)(p) = __builtin_convertvector((m), mps_vi2u))
#define MPS_MAKE(f) ((mps_vd2){f(0), f(1)})
#define MPS_BCAST(v) ((mps_vd2){(v), (v)})
#define MPS_MAKE_M(f) ((mps_vl2){f(0), f(1)})
/* as doubles (exact below 2**53), whose compares give the 64-bit masks directly: SSE2 has no
 * 64-bit integer compare */
#define MPS_OFFV mps_vd2
#define MPS_LOAD_OFF(p, base) (__builtin_convertvector(*(const mps_vi2u *)(p), mps_vd2) - (double)(base))
#define MPS_IS(off, k) ((mps_vl2)((off) == (double)(k)))
#endif
#include "pool_small.h" /* the template #undefs its parameters at its end */

#endif /* MINICNN_POOL_SMALL_H */

#else /* the template */

#if MPS_VECTORS

/* One vector of windows: p, q, r, s (IN) = the lanes' cells (r0,c0), (r0,c0+1), (r1,c0),
 * (r1,c0+1); y (OUT) = their maxima; arg (OUT, if ARG) = the indices, i0 being the lanes'
 * (r0,c0) index and i1 their (r1,c0) index. */
MPS_INLINE void MPS_FN(win)(MPS_V p, MPS_V q, MPS_V r, MPS_V s, MPS_T *y, int32_t *arg, MPS_M i0, MPS_M i1,
                            const int ARG)
{
    const MPS_M wq = MPS_WINS(MPS_M, q, p), ws = MPS_WINS(MPS_M, s, r);
    const MPS_V h0 = MPS_SEL(MPS_V, MPS_M, wq, q, p), h1 = MPS_SEL(MPS_V, MPS_M, ws, s, r);
    const MPS_M w = MPS_WINS(MPS_M, h1, h0);
    MPS_STORE(y, MPS_SEL(MPS_V, MPS_M, w, h1, h0));
    if (ARG) /* a winning right column adds 1: the mask is -1 */
        MPS_STORE_IDX(arg, MPS_SEL(MPS_M, MPS_M, w, i1 - ws, i0 - wq));
}

/* The row for C >= VL (a literal C unrolls the loop over a pixel's vectors). */
MPS_INLINE void MPS_FN(row_vec)(const MPS_T *r0, const MPS_T *r1, MPS_T *y, int32_t *arg, ptrdiff_t OW,
                                const ptrdiff_t C, int32_t W, int32_t base, const int ARG)
{
    ptrdiff_t j, g;
    for (j = 0; j < OW; j++) {
        const MPS_T *a = r0 + 2 * j * C, *b = r1 + 2 * j * C;
        MPS_T *yj = y + j * C;
        int32_t *aj = ARG ? arg + j * C : arg;
        const MPS_M i0 = (MPS_M){0} + (base + (int32_t)(2 * j)), i1 = i0 + W;
        for (g = 0; g + MPS_VL <= C; g += MPS_VL)
            MPS_FN(win)(MPS_LOAD(a + g), MPS_LOAD(a + g + C), MPS_LOAD(b + g), MPS_LOAD(b + g + C), yj + g,
                        ARG ? aj + g : aj, i0, i1, ARG);
        if (C % MPS_VL) {
            g = C - MPS_VL;
            MPS_FN(win)(MPS_LOAD(a + g), MPS_LOAD(a + g + C), MPS_LOAD(b + g), MPS_LOAD(b + g + C), yj + g,
                        ARG ? aj + g : aj, i0, i1, ARG);
        }
    }
}

/* The row for a literal C < VL, or C = 6 floats: P pixels at a time, P * C lanes being a whole
 * number of vectors, each vector's lanes gathered from where they lie; the last OW % P pixels
 * one lane at a time (in vectors whose lanes all hold the same window). */
MPS_INLINE void MPS_FN(row_few)(const MPS_T *r0, const MPS_T *r1, MPS_T *y, int32_t *arg, ptrdiff_t OW,
                                const ptrdiff_t C, int32_t W, int32_t base, const int ARG)
{
    const ptrdiff_t P = C % 2 == 0 && MPS_VL == 4 ? 2 : MPS_VL; /* VL / gcd(C, VL) for these C */
    ptrdiff_t j, v, ch;
    MPS_T yt[MPS_VL];
    int32_t at[MPS_VL];
    for (j = 0; j + P <= OW; j += P) {
        const MPS_T *a = r0 + 2 * j * C, *b = r1 + 2 * j * C;
        for (v = 0; v < P * C / MPS_VL; v++) {
            /* lane k of vector v: output lane L = v * VL + k, pixel L / C, channel L % C */
#define MPS_PIX(k) ((v * MPS_VL + (k)) / C)
#define MPS_OFF(k) (2 * MPS_PIX(k) * C + (v * MPS_VL + (k)) % C)
#define MPS_A0(k) a[MPS_OFF(k)]
#define MPS_A1(k) a[MPS_OFF(k) + C]
#define MPS_B0(k) b[MPS_OFF(k)]
#define MPS_B1(k) b[MPS_OFF(k) + C]
#define MPS_I0(k) (base + (int32_t)(2 * (j + MPS_PIX(k))))
            const MPS_M i0 = MPS_MAKE_M(MPS_I0);
            MPS_FN(win)(MPS_MAKE(MPS_A0), MPS_MAKE(MPS_A1), MPS_MAKE(MPS_B0), MPS_MAKE(MPS_B1),
                        y + j * C + v * MPS_VL, ARG ? arg + j * C + v * MPS_VL : arg, i0, i0 + W, ARG);
#undef MPS_PIX
#undef MPS_OFF
#undef MPS_A0
#undef MPS_A1
#undef MPS_B0
#undef MPS_B1
#undef MPS_I0
        }
    }
    for (; j < OW; j++) {
        for (ch = 0; ch < C; ch++) {
            const ptrdiff_t o = 2 * j * C + ch;
            const MPS_M i0 = (MPS_M){0} + (base + (int32_t)(2 * j));
            MPS_FN(win)(MPS_BCAST(r0[o]), MPS_BCAST(r0[o + C]), MPS_BCAST(r1[o]), MPS_BCAST(r1[o + C]),
                        yt, at, i0, i0 + W, ARG);
            y[j * C + ch] = yt[0];
            if (ARG)
                arg[j * C + ch] = at[0];
        }
    }
}

MPS_INLINE void MPS_FN(row_c)(const MPS_T *r0, const MPS_T *r1, MPS_T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                              int32_t W, int32_t base, const int ARG)
{
    switch (C) {
    case 1: MPS_FN(row_few)(r0, r1, y, arg, OW, 1, W, base, ARG); break;
#if MPS_VL == 4
    case 2: MPS_FN(row_few)(r0, r1, y, arg, OW, 2, W, base, ARG); break;
    case 3: MPS_FN(row_few)(r0, r1, y, arg, OW, 3, W, base, ARG); break;
#else
    case 2: MPS_FN(row_vec)(r0, r1, y, arg, OW, 2, W, base, ARG); break;
    case 3: MPS_FN(row_vec)(r0, r1, y, arg, OW, 3, W, base, ARG); break;
#endif
    case 4: MPS_FN(row_vec)(r0, r1, y, arg, OW, 4, W, base, ARG); break;
    case 5: MPS_FN(row_vec)(r0, r1, y, arg, OW, 5, W, base, ARG); break;
#if MPS_VL == 4
    case 6: MPS_FN(row_few)(r0, r1, y, arg, OW, 6, W, base, ARG); break;
#else
    case 6: MPS_FN(row_vec)(r0, r1, y, arg, OW, 6, W, base, ARG); break;
#endif
    case 8: MPS_FN(row_vec)(r0, r1, y, arg, OW, 8, W, base, ARG); break;
    case 12: MPS_FN(row_vec)(r0, r1, y, arg, OW, 12, W, base, ARG); break;
    case 16: MPS_FN(row_vec)(r0, r1, y, arg, OW, 16, W, base, ARG); break;
    default: MPS_FN(row_vec)(r0, r1, y, arg, OW, C, W, base, ARG); break;
    }
}

/* The backward of one vector of windows: g, arg (IN) = the lanes' dy and argmax; d0, d1 (OUT) =
 * the windows' left cells in rows 0 and 1 (the right ones C further on), each dy or zero.
 * Returns the lanes whose index is outside its window (all ones there). */
MPS_INLINE MPS_M MPS_FN(win_back)(const MPS_T *g, const int32_t *arg, MPS_T *d0, MPS_T *d1, ptrdiff_t C,
                                  int32_t base, int32_t W)
{
    /* 0 + dy, not dy: the scatter-add onto zeros it replaces turns -0 into +0 */
    const MPS_M gv = (MPS_M)((MPS_V){0} + MPS_LOAD(g));
    const MPS_OFFV off = MPS_LOAD_OFF(arg, base);
    const MPS_M m00 = MPS_IS(off, 0), m01 = MPS_IS(off, 1), m10 = MPS_IS(off, W), m11 = MPS_IS(off, W + 1);
    MPS_STORE(d0, (MPS_V)(gv & m00));
    MPS_STORE(d0 + C, (MPS_V)(gv & m01));
    MPS_STORE(d1, (MPS_V)(gv & m10));
    MPS_STORE(d1 + C, (MPS_V)(gv & m11));
    return ~(m00 | m01 | m10 | m11);
}

/* max2x2_back for C >= VL (a literal C unrolls the loop over a pixel's vectors). */
MPS_INLINE int MPS_FN(back_vec)(const MPS_T *dy, const int32_t *arg, MPS_T *dx, ptrdiff_t OH, ptrdiff_t OW,
                                const ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    const int32_t W32 = (int32_t)W;
    ptrdiff_t i, j, g;
    int k;
    for (i = 0; i < OH; i++) {
        MPS_T *x0 = dx + 2 * i * W * C, *x1 = x0 + W * C;
        MPS_M miss = {0};
        for (j = 0; j < OW; j++) {
            const ptrdiff_t o = (i * OW + j) * C;
            const int32_t base = (int32_t)(2 * i * W + 2 * j);
            for (g = 0; g + MPS_VL <= C; g += MPS_VL)
                miss |= MPS_FN(win_back)(dy + o + g, arg + o + g, x0 + 2 * j * C + g, x1 + 2 * j * C + g, C,
                                         base, W32);
            if (C % MPS_VL) {
                g = C - MPS_VL;
                miss |= MPS_FN(win_back)(dy + o + g, arg + o + g, x0 + 2 * j * C + g, x1 + 2 * j * C + g, C,
                                         base, W32);
            }
        }
        for (k = 0; k < MPS_VL; k++)
            if (miss[k])
                return 0;
        if (W > 2 * OW) { /* the column no window covers */
            memset(x0 + 2 * OW * C, 0, (size_t)((W - 2 * OW) * C) * sizeof(MPS_T));
            memset(x1 + 2 * OW * C, 0, (size_t)((W - 2 * OW) * C) * sizeof(MPS_T));
        }
    }
    if (H > 2 * OH)
        memset(dx + 2 * OH * W * C, 0, (size_t)((H - 2 * OH) * W * C) * sizeof(MPS_T));
    return 1;
}

MPS_INLINE int MPS_FN(back_c)(const MPS_T *dy, const int32_t *arg, MPS_T *dx, ptrdiff_t OH, ptrdiff_t OW,
                              ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    if (C < MPS_VL || 2 * OH > H || 2 * OW > W)
        return 0;
    switch (C) {
#if MPS_VL == 2
    case 2: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 2, H, W);
    case 3: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 3, H, W);
#endif
    case 4: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 4, H, W);
    case 5: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 5, H, W);
    case 6: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 6, H, W);
    case 8: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 8, H, W);
    case 12: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 12, H, W);
    case 16: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, 16, H, W);
    default: return MPS_FN(back_vec)(dy, arg, dx, OH, OW, C, H, W);
    }
}

#else /* no vector extensions: the same tree, one lane at a time */

MPS_INLINE void MPS_FN(row_c)(const MPS_T *r0, const MPS_T *r1, MPS_T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                              int32_t W, int32_t base, const int ARG)
{
    ptrdiff_t j, ch;
    for (j = 0; j < OW; j++) {
        for (ch = 0; ch < C; ch++) {
            const ptrdiff_t o = 2 * j * C + ch;
            const MPS_T p = r0[o], q = r0[o + C], r = r1[o], s = r1[o + C];
            const int wq = MPS_WINS(int, q, p), ws = MPS_WINS(int, s, r);
            const MPS_T h0 = wq ? q : p, h1 = ws ? s : r;
            const int w = MPS_WINS(int, h1, h0);
            y[j * C + ch] = w ? h1 : h0;
            if (ARG)
                arg[j * C + ch] = base + (int32_t)(2 * j) + (w ? W + ws : wq);
        }
    }
}

MPS_INLINE int MPS_FN(back_c)(const MPS_T *dy, const int32_t *arg, MPS_T *dx, ptrdiff_t OH, ptrdiff_t OW,
                              ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    (void)dy, (void)arg, (void)dx, (void)OH, (void)OW, (void)C, (void)H, (void)W;
    return 0; /* the caller's scatter serves */
}

#endif /* MPS_VECTORS */

/* One output row: r0, r1 (IN) = the windows' two input rows, W x C (their first 2*OW pixels
 * are read); y (OUT, OW x C) = the window maxima; arg (OUT, OW x C, or NULL at
 * inference) = the maxima's flat indices h * W + w, row being r0's h.  C >= 1 and
 * (row + 1) * W + 2 * OW < 2**31.  The input and the outputs do not overlap. */
static void MPS_FN(max2x2_row)(const MPS_T *r0, const MPS_T *r1, MPS_T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                               ptrdiff_t W, ptrdiff_t row)
{
    const int32_t base = (int32_t)(row * W);
    if (arg)
        MPS_FN(row_c)(r0, r1, y, arg, OW, C, (int32_t)W, base, 1);
    else
        MPS_FN(row_c)(r0, r1, y, NULL, OW, C, (int32_t)W, base, 0);
}

/* The backward of the 2x2, stride-2 windows of one image, where each index lies in its window:
 * dy, arg (IN, OH x OW x C) = the gradient and argmax; dx (OUT, H x W x C, fully written) =
 * each dy at its cell, zero elsewhere.  Returns 1, or 0 where an index lies outside its window
 * (another pooling's indices, or bad ones), where C is below a vector or the windows do not fit:
 * dx is then partly written and the caller's scatter does the image. */
static int MPS_FN(max2x2_back)(const MPS_T *dy, const int32_t *arg, MPS_T *dx, ptrdiff_t OH, ptrdiff_t OW,
                               ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)
{
    return MPS_FN(back_c)(dy, arg, dx, OH, OW, C, H, W);
}

/* the parameters, so that the next instantiation can define them afresh */
#undef MPS_T
#undef MPS_FN
#undef MPS_V
#undef MPS_M
#undef MPS_VL
#undef MPS_LOAD
#undef MPS_STORE
#undef MPS_STORE_IDX
#undef MPS_MAKE
#undef MPS_MAKE_M
#undef MPS_BCAST
#undef MPS_LOAD_OFF
#undef MPS_OFFV
#undef MPS_IS

#endif /* MPS_T */
