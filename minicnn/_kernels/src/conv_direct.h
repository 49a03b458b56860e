/* Direct convolution for layers with few input channels, e.g. a network's first layer (one grey
 * channel, a handful of filters): a template instantiated per element type at the unit's widest
 * vector (simd.h's kit; table.c), registered as the conv_direct family.
 *
 * Why: with K = kh * kw * C of 9..25, im2col copies K values per output pixel in runs of kw * C
 * (a few floats) and the GEMM's micro-tile is mostly empty when there are few filters; both cost
 * more than the multiply-adds.  Here the taps of one output row at a time are found in place or
 * laid out in L1, and register tiles multiply broadcast tap values by vectors of filters, which is
 * the NHWC layout of the output and of its gradient: no im2col, and no transposition on the way
 * in or out.
 *
 * One output row (n, oh) at a time: its taps are first found or laid out (tap_rows: row k = tap
 * (a, b, c) for every output column, zero where the window reaches into the padding), an
 * L1-resident, transposed im2col of one row.  Both products then keep the filters along the
 * vector lanes, as the NHWC output and its gradient store them: F filters are FP = nfv * VL lanes
 * (the kernel padded with zero filters), and a register tile multiplies one broadcast tap value
 * by up to CD_FVMAX filter vectors (VFMA: fused where the instruction set has FMA).  The output
 * row is thus written in place, bias and ReLU vectorised, with no transposition; lanes past F
 * hold garbage that is never kept.  Every output element and every gradient element is summed
 * in one fixed order whatever the vector width.
 *
 * The includer defines CD_VMAX (the unit's widest float vector, in lanes: scratch is laid out for
 * it) before the first inclusion; elementwise.h's relu_mask of the same kit comes first.
 */
#ifndef MINICNN_CONV_DIRECT_H
#define MINICNN_CONV_DIRECT_H

#include "kernels.h"

/* Register tiles: CD_ACC vector accumulators, up to CD_FVMAX filter vectors times CD_ACC / fv
 * output columns or taps (16 vector registers: 12 accumulators and the operands; AVX-512 has 32,
 * and the same tiles then leave room to spare). */
#define CD_FVMAX 4
#define CD_ACC 12
/* Every tile shape (filter vectors, columns or taps) the loops instantiate with constant sizes,
 * X(fv, n) for n up to CD_ACC / fv; (1, 1) is the switch's default. */
#define CD_TILE_SHAPES(X) \
    X(1, 12) X(1, 11) X(1, 10) X(1, 9) X(1, 8) X(1, 7) X(1, 6) X(1, 5) X(1, 4) X(1, 3) X(1, 2) \
    X(2, 6) X(2, 5) X(2, 4) X(2, 3) X(2, 2) X(2, 1) \
    X(3, 4) X(3, 3) X(3, 2) X(3, 1) \
    X(4, 3) X(4, 2) X(4, 1)

/* OW padded to a whole number of the unit's widest vectors: the stride of the laid-out taps. */
static ptrdiff_t cd_owp(const minicnn_conv_geom *g)
{
    return (g->OW + CD_VMAX - 1) / CD_VMAX * CD_VMAX;
}

/* F filters padded to a whole number of the unit's widest vectors (>= any instantiation's padding). */
static ptrdiff_t cd_fp(const minicnn_conv_geom *g)
{
    return (g->F + CD_VMAX - 1) / CD_VMAX * CD_VMAX;
}

/* Values of scratch one thread needs for forward_rows and for backward_kernel_images (whatever the
 * element type), besides the tap pointers (2 K for the forward, K for the kernel gradient). */
static ptrdiff_t cd_forward_scratch(const minicnn_conv_geom *g)
{
    const ptrdiff_t K = g->kh * g->kw * g->C;
    return K * cd_owp(g) + (K + 1) * cd_fp(g) + CD_ACC * CD_VMAX; /* the last: one tile's vectors */
}

static ptrdiff_t cd_backward_scratch(const minicnn_conv_geom *g)
{
    const ptrdiff_t K = g->kh * g->kw * g->C;
    return (K + 1) * cd_fp(g) + g->OW * g->F + CD_VMAX + K * cd_owp(g);
}

#endif /* MINICNN_CONV_DIRECT_H */

/* ---------------- the template (one instantiation per inclusion) ---------------- */

/* Size of part number `part` when n is cut into `parts` near-equal parts (the callers use
 * parts = ceil(n / 3): 7 filters -> 3 + 2 + 2, not 3 + 3 + 1): every tile then keeps enough
 * independent accumulators to hide the multiply-add latency, which a 1-wide tail tile would not. */
static inline ptrdiff_t FN(part_size)(ptrdiff_t n, ptrdiff_t parts, ptrdiff_t part)
{
    return n / parts + (part < n % parts ? 1 : 0);
}

/* tp[k] (OUT) = where tap k = (a, b, c) of output row oh of image n reads its OW values: straight
 * into x when they are one contiguous run there (one channel, stride 1, the window inside the
 * row), else into xs (OUT, K x OWp), filled with the gathered values and zeros for the padding.
 * x (IN, N x H x W x C). */
static void FN(tap_rows)(const T *restrict x, const minicnn_conv_geom *g, ptrdiff_t n, ptrdiff_t oh,
                                      ptrdiff_t OWp, const T **tp, T *restrict xs)
{
    /* the geometry in locals: stores through tp and xs may alias *g for the compiler
     * (extensions build with -fno-strict-aliasing), and this runs for every output row */
    const ptrdiff_t C = g->C, OW = g->OW, H = g->H, W = g->W, kh = g->kh, kw = g->kw;
    const ptrdiff_t sw = g->sw, dw = g->dw, pl = g->pl, ih0 = oh * g->sh - g->pt, dh = g->dh;
    ptrdiff_t a, b, c, i, lo, hi;
    if (C == 1 && sw == 1 && pl == 0 && (kw - 1) * dw + OW <= W) { /* every column in place */
        for (a = 0; a < kh; a++) {
            const ptrdiff_t ih = ih0 + a * dh;
            if (ih < 0 || ih >= H)
                break;
            for (b = 0; b < kw; b++)
                tp[a * kw + b] = x + (n * H + ih) * W + b * dw;
        }
        if (a == kh)
            return;
    }
    for (a = 0; a < kh; a++) {
        const ptrdiff_t ih = ih0 + a * dh;
        const T *xrow = x + (n * H + ih) * W * C;
        for (b = 0; b < kw; b++) {
            const ptrdiff_t off = b * dw - pl; /* input column of output column ow: ow * sw + off */
            const ptrdiff_t k = (a * kw + b) * C;
            T *restrict dst = xs + k * OWp;
            if (ih < 0 || ih >= H) {
                for (i = 0; i < C * OWp; i++)
                    dst[i] = 0;
                for (c = 0; c < C; c++)
                    tp[k + c] = xs + (k + c) * OWp;
                continue;
            }
            if (sw == 1) { /* no divisions on the common path */
                lo = off >= 0 ? 0 : -off;
                hi = W - off < 0 ? 0 : W - off;
            } else {
                lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
            }
            if (hi > OW)
                hi = OW;
            if (lo > hi)
                lo = hi;
            if (C == 1 && sw == 1 && lo == 0 && hi == OW) {
                tp[k] = xrow + off;
                continue;
            }
            for (c = 0; c < C; c++, dst += OWp) {
                tp[k + c] = dst;
                for (i = 0; i < lo; i++)
                    dst[i] = 0;
                for (i = lo; i < hi; i++)
                    dst[i] = xrow[(i * sw + off) * C + c];
                for (i = hi; i < OWp; i++)
                    dst[i] = 0;
            }
        }
    }
}

/* Filter vectors: F filters padded to FP = nfv * VL lanes.  A register tile covers fv <= CD_FVMAX
 * of them and CD_ACC / fv columns (forward) or taps (kernel gradient). */
static inline ptrdiff_t FN(nfv)(ptrdiff_t F)
{
    return (F + VL - 1) / VL;
}

/* dst (OUT, rows x FP) = src (IN, rows x F) with FP - F zero columns appended. */
static void FN(pad_filters)(const T *restrict src, ptrdiff_t rows, ptrdiff_t F, ptrdiff_t FP,
                                T *restrict dst)
{
    ptrdiff_t r, f;
    for (r = 0; r < rows; r++) {
        for (f = 0; f < F; f++)
            dst[r * FP + f] = src[r * F + f];
        for (; f < FP; f++)
            dst[r * FP + f] = 0;
    }
}

/* Output columns ow0..ow0+ob-1, filter vectors fv0..fv0+fv-1 of one row: sum over the K taps of
 * tap value (broadcast; tq[k] points at tap k's value for column ow0) x padded kernel row, then
 * + bias and ReLU, stored into yr (OUT, the NHWC row, OW x F).  A vector whose lanes run past the
 * row's end (or past F, when the row takes several filter passes: a later pass would not overwrite
 * them) goes through tmp (scratch, CD_ACC * VL) and only its F lanes are copied; any other vector is
 * stored whole: its lanes past F land on the next column's first filters, which that column's own
 * store (later: columns go in ascending order) overwrites.  ob <= CD_ACC / fv and
 * fv <= CD_FVMAX are constants at every call (registers). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void FN(fwd_tile)(const T *const *tq, ptrdiff_t K, const T *restrict kp,
                                             const T *restrict bp, ptrdiff_t FP, ptrdiff_t F, ptrdiff_t OW,
                                             ptrdiff_t ow0, ptrdiff_t fv0, const int ob, const int fv, int relu,
                                             int one_pass, T *restrict yr, T *restrict tmp)
{
    V s[CD_ACC];
    ptrdiff_t kk, ow, f;
    int o, j, i;
    for (o = 0; o < ob * fv; o++)
        s[o] = VSPLAT((T)0);
    for (kk = 0; kk < K; kk++) {
        const T *xr = tq[kk];
        const T *kr = kp + kk * FP + fv0 * VL;
        V w[CD_FVMAX];
        for (j = 0; j < fv; j++)
            w[j] = VLOAD(kr + j * VL);
        for (o = 0; o < ob; o++) {
            const V xv = VSPLAT(xr[o]);
            for (j = 0; j < fv; j++)
                s[o * fv + j] = VFMA(s[o * fv + j], xv, w[j]);
        }
    }
    for (j = 0; j < fv; j++) {
        const V b = VLOAD(bp + (fv0 + j) * VL);
        for (o = 0; o < ob; o++)
            s[o * fv + j] += b;
    }
    if (relu)
        for (o = 0; o < ob * fv; o++)
            s[o] = VRELU(s[o]);
    if (one_pass ? (ow0 + ob - 1) * F + (fv0 + fv) * VL <= OW * F : (fv0 + fv) * VL <= F) {
        for (o = 0; o < ob; o++)  /* every vector whole (the common case) */
            for (j = 0; j < fv; j++)
                VSTORE(yr + (ow0 + o) * F + (fv0 + j) * VL, s[o * fv + j]);
        return;
    }
    /* some vector runs past the row or past F: all of them through tmp (registers stay registers
     * on the path above), then each stored whole where it may be, else its lanes below F */
    for (o = 0; o < ob * fv; o++)
        VSTORE(tmp + o * VL, s[o]);
    for (o = 0; o < ob; o++) {
        ow = ow0 + o;
        for (j = 0; j < fv; j++) {
            const T *src = tmp + (o * fv + j) * VL;
            f = (fv0 + j) * VL;
            if (one_pass ? ow * F + f + VL <= OW * F : f + VL <= F)
                VSTORE(yr + ow * F + f, VLOAD(src));
            else
                for (i = 0; i < VL && f + i < F; i++)
                    yr[ow * F + f + i] = src[i];
        }
    }
}

/* y rows t0..t1-1 (t = n * OH + oh; OUT) = conv(x, k) + bias (bias may be NULL), then max(., 0)
 * when relu.  x (IN, N x H x W x C), k (IN, kh x kw x C x F).  Scratch: cd_forward_scratch(g)
 * values and 2 * K pointers (tp).  Each output element is summed over the taps in (a, b, c) order, then
 * the bias added, whatever the thread split. */
static void FN(forward_rows)(const T *restrict x, const T *restrict k,
                                          const T *restrict bias, T *restrict y, const minicnn_conv_geom *g,
                                          ptrdiff_t t0, ptrdiff_t t1, int relu, T *restrict scratch,
                                          const T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C, OWp = cd_owp(g);
    const ptrdiff_t nfv = FN(nfv)(F), FP = nfv * VL;
    const ptrdiff_t npass = (nfv + CD_FVMAX - 1) / CD_FVMAX;
    T *restrict xs = scratch, *restrict kp = xs + K * OWp, *restrict bp = kp + K * FP, *restrict tmp = bp + FP;
    const T **tq = tp + K; /* the taps' values for a tile's first column */
    ptrdiff_t t, f, pass, fv0, fvn, ow0, cp, ncp, obmax, ob, kk;
    FN(pad_filters)(k, K, F, FP, kp);
    for (f = 0; f < FP; f++)
        bp[f] = bias != NULL && f < F ? bias[f] : (T)0;
    for (t = t0; t < t1; t++) {
        T *restrict yr = y + t * OW * F;
        FN(tap_rows)(x, g, t / g->OH, t % g->OH, OWp, tp, xs);
        for (pass = 0, fv0 = 0; pass < npass; fv0 += fvn, pass++) {
            fvn = FN(part_size)(nfv, npass, pass);
            obmax = CD_ACC / fvn;
            ncp = (OW + obmax - 1) / obmax;
            for (cp = 0, ow0 = 0; cp < ncp; ow0 += ob, cp++) {
                ob = FN(part_size)(OW, ncp, cp);
                for (kk = 0; kk < K; kk++)
                    tq[kk] = tp[kk] + ow0;
                switch (fvn * 16 + ob) {
#define CD_FWD_CASE(FV, OB) \
                case FV * 16 + OB: \
                    FN(fwd_tile)(tq, K, kp, bp, FP, F, OW, ow0, fv0, OB, FV, relu, npass == 1, yr, tmp); \
                    break;
                CD_TILE_SHAPES(CD_FWD_CASE)
                default:
                    FN(fwd_tile)(tq, K, kp, bp, FP, F, OW, ow0, fv0, 1, 1, relu, npass == 1, yr, tmp);
                    break;
#undef CD_FWD_CASE
                }
            }
        }
    }
}

/* lanes (IN/OUT, K x FP) rows k0..k0+kb-1, filter vectors fv0..fv0+fv-1 += over the row's OW
 * columns: tap value (broadcast) x gradient vector.  gr (IN) is the row's gradient, column ow's
 * filters at gr + ow * F, readable for VL values past the last column (lanes past F, whatever
 * they hold, only reach lanes that are never kept).  kb <= CD_ACC / fv, fv <= CD_FVMAX constants. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void FN(bwd_tile)(const T *const *tp, const T *restrict gr, ptrdiff_t OW,
                                             ptrdiff_t F, ptrdiff_t FP, ptrdiff_t k0, ptrdiff_t fv0, const int kb,
                                             const int fv, T *restrict lanes)
{
    V s[CD_ACC];
    const T *tr[CD_ACC];
    ptrdiff_t ow;
    int i, j;
    for (i = 0; i < kb; i++) {
        tr[i] = tp[k0 + i];
        for (j = 0; j < fv; j++)
            s[i * fv + j] = VLOAD(lanes + (k0 + i) * FP + (fv0 + j) * VL);
    }
    for (ow = 0; ow < OW; ow++) {
        const T *gp = gr + ow * F + fv0 * VL;
        V gv[CD_FVMAX];
        for (j = 0; j < fv; j++)
            gv[j] = VLOAD(gp + j * VL);
        for (i = 0; i < kb; i++) {
            const V xv = VSPLAT(tr[i][ow]);
            for (j = 0; j < fv; j++)
                s[i * fv + j] = VFMA(s[i * fv + j], xv, gv[j]);
        }
    }
    for (i = 0; i < kb; i++)
        for (j = 0; j < fv; j++)
            VSTORE(lanes + (k0 + i) * FP + (fv0 + j) * VL, s[i * fv + j]);
}

/* Kernel (and bias) gradient summed over images n0..n1-1, in double: dkp (OUT, K * F with
 * K = kh * kw * C, the layout of k) and dbp (OUT, F, or NULL).  gy (IN) is the output gradient;
 * with ry (IN, the layer's ReLU output) non-NULL it is first multiplied by (ry > 0).
 * Row by row: the row's taps (tap_rows) and its gradient (masked into grow where needed) stay in
 * L1 while register tiles of (taps x filter vectors) run along its columns.  Scratch:
 * cd_backward_scratch(g) values and K pointers (tp).  The order of every
 * sum is fixed by the geometry and [n0, n1): per image in T over the rows and columns in
 * order, then images in double. */
static void FN(backward_kernel_images)(const T *restrict x, const T *restrict gy,
                                                    const T *restrict ry, double *restrict dkp,
                                                    double *restrict dbp, const minicnn_conv_geom *g, ptrdiff_t n0,
                                                    ptrdiff_t n1, T *restrict scratch, const T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C, OWp = cd_owp(g);
    const ptrdiff_t nfv = FN(nfv)(F), FP = nfv * VL, RW = OW * F;
    const ptrdiff_t npass = (nfv + CD_FVMAX - 1) / CD_FVMAX;
    T *restrict lanes = scratch, *restrict glanes = lanes + K * FP, *restrict grow = glanes + FP;
    T *restrict xs = grow + RW + VL;
    /* gy's rows are read in place unless masked, or unless a vector of the last column would read
     * past the row (F not a whole number of vectors) */
    const int copy = ry != NULL || F != FP;
    ptrdiff_t n, oh, f, j, i, kp, nkp, k0, kb, kbmax, pass, fv0, fvn;
    for (j = 0; j < K * F; j++)
        dkp[j] = 0;
    if (dbp != NULL)
        for (f = 0; f < F; f++)
            dbp[f] = 0;
    for (j = RW; j < RW + VL; j++)
        grow[j] = 0;
    for (n = n0; n < n1; n++) {
        for (j = 0; j < K * FP + FP; j++)
            lanes[j] = 0;
        for (oh = 0; oh < g->OH; oh++) {
            const T *gr = gy + (n * g->OH + oh) * RW;
            if (ry != NULL) {
                FN(relu_mask)(gr, ry + (n * g->OH + oh) * RW, grow, RW);
                gr = grow;
            } else if (copy) {
                for (j = 0; j < RW; j++)
                    grow[j] = gr[j];
                gr = grow;
            }
            if (dbp != NULL)
                for (j = 0; j < FP; j += VL) { /* bias gradient, one filter vector at a time */
                    V sb = VLOAD(glanes + j);
                    for (i = 0; i < OW; i++)
                        sb += VLOAD(gr + i * F + j);
                    VSTORE(glanes + j, sb);
                }
            FN(tap_rows)(x, g, n, oh, OWp, tp, xs);
            for (pass = 0, fv0 = 0; pass < npass; fv0 += fvn, pass++) {
                fvn = FN(part_size)(nfv, npass, pass);
                kbmax = CD_ACC / fvn;
                nkp = (K + kbmax - 1) / kbmax;
                for (kp = 0, k0 = 0; kp < nkp; k0 += kb, kp++) {
                    kb = FN(part_size)(K, nkp, kp);
                    switch (fvn * 16 + kb) {
#define CD_BWD_CASE(FV, KB) \
                    case FV * 16 + KB: FN(bwd_tile)(tp, gr, OW, F, FP, k0, fv0, KB, FV, lanes); break;
                    CD_TILE_SHAPES(CD_BWD_CASE)
                    default: FN(bwd_tile)(tp, gr, OW, F, FP, k0, fv0, 1, 1, lanes); break;
#undef CD_BWD_CASE
                    }
                }
            }
        }
        for (j = 0; j < K; j++)
            for (f = 0; f < F; f++)
                dkp[j * F + f] += lanes[j * FP + f];
        if (dbp != NULL)
            for (f = 0; f < F; f++)
                dbp[f] += glanes[f];
    }
}
