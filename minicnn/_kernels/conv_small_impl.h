/* Direct convolution loops for layers with few input channels (see conv_small.h).
 *
 * Included once per (element type, instruction set): the includer defines
 *   MCS_T      float or double
 *   MCS_V      a vector of MCS_VL elements of MCS_T (MCS_T itself, MCS_VL 1, without vector extensions)
 *   MCS_LOAD(p), MCS_STORE(p, v), MCS_BCAST(s)   unaligned load/store, broadcast of a scalar
 *   MCS_POS(v) 1 in the lanes where v > 0, else 0
 *   MCS_FN(x)  the name of function x for this instantiation
 *   MCS_ATTR   a function attribute (a target ISA) or nothing
 *
 * One output row (n, oh) at a time: its taps are first found or laid out (tap_rows: row k = tap
 * (a, b, c) for every output column, zero where the window reaches into the padding), an
 * L1-resident, transposed im2col of one row.  Both products then keep the filters along the
 * vector lanes, as the NHWC output and its gradient store them: F filters are FP = nfv * MCS_VL
 * lanes (the kernel padded with zero filters), and a register tile multiplies one broadcast tap
 * value by up to MCS_FVMAX filter vectors.  The output row is thus written in place, bias and
 * ReLU vectorised, with no transposition; lanes past F hold garbage that is never kept.
 */

/* out[i] (OUT) = dy[i] * (y[i] > 0) for i < n (dy, y IN): one vectorised pass without branches
 * (a select compiles to a data-dependent branch here).  It multiplies, so NaN/inf in dy and the
 * sign of zero behave as in dy * (y > 0). */
MCS_ATTR static void MCS_FN(relu_mask)(const MCS_T *dy, const MCS_T *y, MCS_T *out, ptrdiff_t n)
{
    ptrdiff_t j;
    for (j = 0; j + MCS_VL <= n; j += MCS_VL)
        MCS_STORE(out + j, MCS_LOAD(dy + j) * MCS_POS(MCS_LOAD(y + j)));
    for (; j < n; j++)
        out[j] = dy[j] * (MCS_T)(y[j] > 0);
}

/* Size of part number `part` when n is cut into `parts` near-equal parts (the callers use
 * parts = ceil(n / 3): 7 filters -> 3 + 2 + 2, not 3 + 3 + 1): every tile then keeps enough
 * independent accumulators to hide the multiply-add latency, which a 1-wide tail tile would not. */
static inline ptrdiff_t MCS_FN(part_size)(ptrdiff_t n, ptrdiff_t parts, ptrdiff_t part)
{
    return n / parts + (part < n % parts ? 1 : 0);
}

/* tp[k] (OUT) = where tap k = (a, b, c) of output row oh of image n reads its OW values: straight
 * into x when they are one contiguous run there (one channel, stride 1, the window inside the
 * row), else into xs (OUT, K x OWp), filled with the gathered values and zeros for the padding.
 * x (IN, N x H x W x C). */
MCS_ATTR static void MCS_FN(tap_rows)(const MCS_T *restrict x, const mcs_geom *g, ptrdiff_t n, ptrdiff_t oh,
                                      ptrdiff_t OWp, const MCS_T **tp, MCS_T *restrict xs)
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
        const MCS_T *xrow = x + (n * H + ih) * W * C;
        for (b = 0; b < kw; b++) {
            const ptrdiff_t off = b * dw - pl; /* input column of output column ow: ow * sw + off */
            const ptrdiff_t k = (a * kw + b) * C;
            MCS_T *restrict dst = xs + k * OWp;
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

/* Filter vectors: F filters padded to FP = nfv * MCS_VL lanes.  A register tile covers fv <= MCS_FVMAX
 * of them and MCS_ACC / fv columns (forward) or taps (kernel gradient). */
static inline ptrdiff_t MCS_FN(nfv)(ptrdiff_t F)
{
    return (F + MCS_VL - 1) / MCS_VL;
}

/* dst (OUT, rows x FP) = src (IN, rows x F) with FP - F zero columns appended. */
static void MCS_FN(pad_filters)(const MCS_T *restrict src, ptrdiff_t rows, ptrdiff_t F, ptrdiff_t FP,
                                MCS_T *restrict dst)
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
 * them) goes through tmp (scratch, MCS_ACC * MCS_VL) and only its F lanes are copied; any other vector is
 * stored whole: its lanes past F land on the next column's first filters, which that column's own
 * store (later: columns go in ascending order) overwrites.  ob <= MCS_ACC / fv and
 * fv <= MCS_FVMAX are constants at every call (registers). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
MCS_ATTR static inline void MCS_FN(fwd_tile)(const MCS_T *const *tq, ptrdiff_t K, const MCS_T *restrict kp,
                                             const MCS_T *restrict bp, ptrdiff_t FP, ptrdiff_t F, ptrdiff_t OW,
                                             ptrdiff_t ow0, ptrdiff_t fv0, const int ob, const int fv, int relu,
                                             int one_pass, MCS_T *restrict yr, MCS_T *restrict tmp)
{
    MCS_V s[MCS_ACC];
    ptrdiff_t kk, ow, f;
    int o, j, i;
    for (o = 0; o < ob * fv; o++)
        s[o] = MCS_BCAST((MCS_T)0);
    for (kk = 0; kk < K; kk++) {
        const MCS_T *xr = tq[kk];
        const MCS_T *kr = kp + kk * FP + fv0 * MCS_VL;
        MCS_V w[MCS_FVMAX];
        for (j = 0; j < fv; j++)
            w[j] = MCS_LOAD(kr + j * MCS_VL);
        for (o = 0; o < ob; o++) {
            const MCS_V xv = MCS_BCAST(xr[o]);
            for (j = 0; j < fv; j++)
                s[o * fv + j] += xv * w[j];
        }
    }
    for (j = 0; j < fv; j++) {
        const MCS_V b = MCS_LOAD(bp + (fv0 + j) * MCS_VL);
        for (o = 0; o < ob; o++)
            s[o * fv + j] += b;
    }
    if (relu)
        for (o = 0; o < ob * fv; o++)
            s[o] = MCS_RELU(s[o]);
    if (one_pass ? (ow0 + ob - 1) * F + (fv0 + fv) * MCS_VL <= OW * F : (fv0 + fv) * MCS_VL <= F) {
        for (o = 0; o < ob; o++)  /* every vector whole (the common case) */
            for (j = 0; j < fv; j++)
                MCS_STORE(yr + (ow0 + o) * F + (fv0 + j) * MCS_VL, s[o * fv + j]);
        return;
    }
    /* some vector runs past the row or past F: all of them through tmp (registers stay registers
     * on the path above), then each stored whole where it may be, else its lanes below F */
    for (o = 0; o < ob * fv; o++)
        MCS_STORE(tmp + o * MCS_VL, s[o]);
    for (o = 0; o < ob; o++) {
        ow = ow0 + o;
        for (j = 0; j < fv; j++) {
            const MCS_T *src = tmp + (o * fv + j) * MCS_VL;
            f = (fv0 + j) * MCS_VL;
            if (one_pass ? ow * F + f + MCS_VL <= OW * F : f + MCS_VL <= F)
                MCS_STORE(yr + ow * F + f, MCS_LOAD(src));
            else
                for (i = 0; i < MCS_VL && f + i < F; i++)
                    yr[ow * F + f + i] = src[i];
        }
    }
}

/* y rows t0..t1-1 (t = n * OH + oh; OUT) = conv(x, k) + bias (bias may be NULL), then max(., 0)
 * when relu.  x (IN, N x H x W x C), k (IN, kh x kw x C x F).  Scratch: mcs_forward_scratch(g)
 * values and 2 * K pointers (tp).  Each output element is summed over the taps in (a, b, c) order, then
 * the bias added, whatever the thread split. */
MCS_ATTR static void MCS_FN(forward_rows)(const MCS_T *restrict x, const MCS_T *restrict k,
                                          const MCS_T *restrict bias, MCS_T *restrict y, const mcs_geom *g,
                                          ptrdiff_t t0, ptrdiff_t t1, int relu, MCS_T *restrict scratch,
                                          const MCS_T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C, OWp = mcs_owp(g);
    const ptrdiff_t nfv = MCS_FN(nfv)(F), FP = nfv * MCS_VL;
    const ptrdiff_t npass = (nfv + MCS_FVMAX - 1) / MCS_FVMAX;
    MCS_T *restrict xs = scratch, *restrict kp = xs + K * OWp, *restrict bp = kp + K * FP, *restrict tmp = bp + FP;
    const MCS_T **tq = tp + K; /* the taps' values for a tile's first column */
    ptrdiff_t t, f, pass, fv0, fvn, ow0, cp, ncp, obmax, ob, kk;
    MCS_FN(pad_filters)(k, K, F, FP, kp);
    for (f = 0; f < FP; f++)
        bp[f] = bias != NULL && f < F ? bias[f] : (MCS_T)0;
    for (t = t0; t < t1; t++) {
        MCS_T *restrict yr = y + t * OW * F;
        MCS_FN(tap_rows)(x, g, t / g->OH, t % g->OH, OWp, tp, xs);
        for (pass = 0, fv0 = 0; pass < npass; fv0 += fvn, pass++) {
            fvn = MCS_FN(part_size)(nfv, npass, pass);
            obmax = MCS_ACC / fvn;
            ncp = (OW + obmax - 1) / obmax;
            for (cp = 0, ow0 = 0; cp < ncp; ow0 += ob, cp++) {
                ob = MCS_FN(part_size)(OW, ncp, cp);
                for (kk = 0; kk < K; kk++)
                    tq[kk] = tp[kk] + ow0;
                switch (fvn * 16 + ob) {
#define MCS_FWD_CASE(FV, OB) \
                case FV * 16 + OB: \
                    MCS_FN(fwd_tile)(tq, K, kp, bp, FP, F, OW, ow0, fv0, OB, FV, relu, npass == 1, yr, tmp); \
                    break;
                MCS_TILE_SHAPES(MCS_FWD_CASE)
                default:
                    MCS_FN(fwd_tile)(tq, K, kp, bp, FP, F, OW, ow0, fv0, 1, 1, relu, npass == 1, yr, tmp);
                    break;
#undef MCS_FWD_CASE
                }
            }
        }
    }
}

/* lanes (IN/OUT, K x FP) rows k0..k0+kb-1, filter vectors fv0..fv0+fv-1 += over the row's OW
 * columns: tap value (broadcast) x gradient vector.  gr (IN) is the row's gradient, column ow's
 * filters at gr + ow * F, readable for MCS_VL values past the last column (lanes past F, whatever
 * they hold, only reach lanes that are never kept).  kb <= MCS_ACC / fv, fv <= MCS_FVMAX constants. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
MCS_ATTR static inline void MCS_FN(bwd_tile)(const MCS_T *const *tp, const MCS_T *restrict gr, ptrdiff_t OW,
                                             ptrdiff_t F, ptrdiff_t FP, ptrdiff_t k0, ptrdiff_t fv0, const int kb,
                                             const int fv, MCS_T *restrict lanes)
{
    MCS_V s[MCS_ACC];
    const MCS_T *tr[MCS_ACC];
    ptrdiff_t ow;
    int i, j;
    for (i = 0; i < kb; i++) {
        tr[i] = tp[k0 + i];
        for (j = 0; j < fv; j++)
            s[i * fv + j] = MCS_LOAD(lanes + (k0 + i) * FP + (fv0 + j) * MCS_VL);
    }
    for (ow = 0; ow < OW; ow++) {
        const MCS_T *gp = gr + ow * F + fv0 * MCS_VL;
        MCS_V gv[MCS_FVMAX];
        for (j = 0; j < fv; j++)
            gv[j] = MCS_LOAD(gp + j * MCS_VL);
        for (i = 0; i < kb; i++) {
            const MCS_V xv = MCS_BCAST(tr[i][ow]);
            for (j = 0; j < fv; j++)
                s[i * fv + j] += xv * gv[j];
        }
    }
    for (i = 0; i < kb; i++)
        for (j = 0; j < fv; j++)
            MCS_STORE(lanes + (k0 + i) * FP + (fv0 + j) * MCS_VL, s[i * fv + j]);
}

/* Kernel (and bias) gradient summed over images n0..n1-1, in double: dkp (OUT, K * F with
 * K = kh * kw * C, the layout of k) and dbp (OUT, F, or NULL).  gy (IN) is the output gradient;
 * with ry (IN, the layer's ReLU output) non-NULL it is first multiplied by (ry > 0).
 * Row by row: the row's taps (tap_rows) and its gradient (masked into grow where needed) stay in
 * L1 while register tiles of (taps x filter vectors) run along its columns.  Scratch:
 * mcs_backward_scratch(g) values and mcs_backward_pointers(g) pointers (tp).  The order of every
 * sum is fixed by the geometry and [n0, n1): per image in MCS_T over the rows and columns in
 * order, then images in double. */
MCS_ATTR static void MCS_FN(backward_kernel_images)(const MCS_T *restrict x, const MCS_T *restrict gy,
                                                    const MCS_T *restrict ry, double *restrict dkp,
                                                    double *restrict dbp, const mcs_geom *g, ptrdiff_t n0,
                                                    ptrdiff_t n1, MCS_T *restrict scratch, const MCS_T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C, OWp = mcs_owp(g);
    const ptrdiff_t nfv = MCS_FN(nfv)(F), FP = nfv * MCS_VL, RW = OW * F;
    const ptrdiff_t npass = (nfv + MCS_FVMAX - 1) / MCS_FVMAX;
    MCS_T *restrict lanes = scratch, *restrict glanes = lanes + K * FP, *restrict grow = glanes + FP;
    MCS_T *restrict xs = grow + RW + MCS_VL;
    /* gy's rows are read in place unless masked, or unless a vector of the last column would read
     * past the row (F not a whole number of vectors) */
    const int copy = ry != NULL || F != FP;
    ptrdiff_t n, oh, f, j, i, kp, nkp, k0, kb, kbmax, pass, fv0, fvn;
    for (j = 0; j < K * F; j++)
        dkp[j] = 0;
    if (dbp != NULL)
        for (f = 0; f < F; f++)
            dbp[f] = 0;
    for (j = RW; j < RW + MCS_VL; j++)
        grow[j] = 0;
    for (n = n0; n < n1; n++) {
        for (j = 0; j < K * FP + FP; j++)
            lanes[j] = 0;
        for (oh = 0; oh < g->OH; oh++) {
            const MCS_T *gr = gy + (n * g->OH + oh) * RW;
            if (ry != NULL) {
                MCS_FN(relu_mask)(gr, ry + (n * g->OH + oh) * RW, grow, RW);
                gr = grow;
            } else if (copy) {
                for (j = 0; j < RW; j++)
                    grow[j] = gr[j];
                gr = grow;
            }
            if (dbp != NULL)
                for (j = 0; j < FP; j += MCS_VL) { /* bias gradient, one filter vector at a time */
                    MCS_V sb = MCS_LOAD(glanes + j);
                    for (i = 0; i < OW; i++)
                        sb += MCS_LOAD(gr + i * F + j);
                    MCS_STORE(glanes + j, sb);
                }
            MCS_FN(tap_rows)(x, g, n, oh, OWp, tp, xs);
            for (pass = 0, fv0 = 0; pass < npass; fv0 += fvn, pass++) {
                fvn = MCS_FN(part_size)(nfv, npass, pass);
                kbmax = MCS_ACC / fvn;
                nkp = (K + kbmax - 1) / kbmax;
                for (kp = 0, k0 = 0; kp < nkp; k0 += kb, kp++) {
                    kb = MCS_FN(part_size)(K, nkp, kp);
                    switch (fvn * 16 + kb) {
#define MCS_BWD_CASE(FV, KB) \
                    case FV * 16 + KB: MCS_FN(bwd_tile)(tp, gr, OW, F, FP, k0, fv0, KB, FV, lanes); break;
                    MCS_TILE_SHAPES(MCS_BWD_CASE)
                    default: MCS_FN(bwd_tile)(tp, gr, OW, F, FP, k0, fv0, 1, 1, lanes); break;
#undef MCS_BWD_CASE
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

