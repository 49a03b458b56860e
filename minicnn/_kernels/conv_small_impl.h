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
 * One output row (n, oh) at a time: its taps are first laid out as xs (K x OWp: row k = tap
 * (a, b, c) for every output column, zero where the window reaches into the padding, OWp = OW
 * rounded up to the vector length), an L1-resident, transposed im2col of one row.  The products
 * are then register tiles over (filters x columns) for the forward and over (taps x filters) with
 * columns as vector lanes for the kernel gradient.
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

#define MCS_FB 3 /* forward tile: up to 3 filters ... */
#define MCS_VB 3 /* ... times up to 3 vectors of output columns (9 accumulators: no spills with 16 registers) */

/* Size of part number `part` when n is cut into `parts` near-equal parts (the callers use
 * parts = ceil(n / 3): 7 filters -> 3 + 2 + 2, not 3 + 3 + 1): every tile then keeps enough
 * independent accumulators to hide the multiply-add latency, which a 1-wide tail tile would not. */
static inline ptrdiff_t MCS_FN(part_size)(ptrdiff_t n, ptrdiff_t parts, ptrdiff_t part)
{
    return n / parts + (part < n % parts ? 1 : 0);
}

/* tp[k] (OUT) = where tap k = (a, b, c) of output row oh of image n reads its OWp values: straight
 * into x when they are one contiguous run there (one channel, stride 1, no padding on this row)
 * and reading OWp values stays inside x; else into xs (OUT, K x OWp), filled with the gathered
 * values and zeros for the padding.  With exact, only OW == OWp rows are read in place (the
 * kernel gradient multiplies every lane; the forward drops lanes past OW, whatever they hold).
 * x (IN, N x H x W x C). */
MCS_ATTR static void MCS_FN(tap_rows)(const MCS_T *restrict x, const mcs_geom *g, ptrdiff_t n, ptrdiff_t oh,
                                      ptrdiff_t OWp, int exact, const MCS_T **tp, MCS_T *restrict xs)
{
    const ptrdiff_t C = g->C, OW = g->OW;
    const MCS_T *x_end = x + g->N * g->H * g->W * C;
    const int runs = C == 1 && g->sw == 1 && (!exact || OW == OWp);
    ptrdiff_t a, b, c, i, lo, hi;
    for (a = 0; a < g->kh; a++) {
        const ptrdiff_t ih = oh * g->sh + a * g->dh - g->pt;
        const MCS_T *xrow = x + (n * g->H + ih) * g->W * C;
        for (b = 0; b < g->kw; b++) {
            const ptrdiff_t off = b * g->dw - g->pl; /* input column of output column ow: ow * sw + off */
            const ptrdiff_t k = (a * g->kw + b) * C;
            MCS_T *restrict dst = xs + k * OWp;
            if (ih < 0 || ih >= g->H) {
                for (i = 0; i < C * OWp; i++)
                    dst[i] = 0;
                for (c = 0; c < C; c++)
                    tp[k + c] = xs + (k + c) * OWp;
                continue;
            }
            if (g->sw == 1) { /* no divisions on the common path: this runs for every tap of every row */
                lo = off >= 0 ? 0 : -off;
                hi = g->W - off < 0 ? 0 : g->W - off;
            } else {
                lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
                hi = g->W - 1 - off < 0 ? 0 : (g->W - 1 - off) / g->sw + 1;
            }
            if (hi > OW)
                hi = OW;
            if (lo > hi)
                lo = hi;
            if (runs && lo == 0 && hi == OW && xrow + off + OWp <= x_end) {
                tp[k] = xrow + off;
                continue;
            }
            for (c = 0; c < C; c++, dst += OWp) {
                tp[k + c] = dst;
                for (i = 0; i < lo; i++)
                    dst[i] = 0;
                for (i = lo; i < hi; i++)
                    dst[i] = xrow[(i * g->sw + off) * C + c];
                for (i = hi; i < OWp; i++)
                    dst[i] = 0;
            }
        }
    }
}

/* acc rows f0..f0+fb-1, vectors v0..v0+vb-1 (OUT, planar F x OWp) = sum over the K taps of
 * k[tap, f] * xs[tap, columns].  fb <= MCS_FB and vb <= MCS_VB are constants at every call, so
 * the accumulators live in registers. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
MCS_ATTR static inline void MCS_FN(fwd_tile)(const MCS_T *const *tp, ptrdiff_t OWp, const MCS_T *restrict k,
                                             ptrdiff_t F, ptrdiff_t K, ptrdiff_t f0, ptrdiff_t v0, const int fb,
                                             const int vb, MCS_T *restrict acc)
{
    MCS_V s[MCS_FB][MCS_VB];
    ptrdiff_t kk;
    int j, v;
    for (j = 0; j < fb; j++)
        for (v = 0; v < vb; v++)
            s[j][v] = MCS_BCAST((MCS_T)0);
    for (kk = 0; kk < K; kk++) {
        const MCS_T *xr = tp[kk] + v0 * MCS_VL;
        const MCS_T *kr = k + kk * F + f0;
        MCS_V xv[MCS_VB];
        for (v = 0; v < vb; v++)
            xv[v] = MCS_LOAD(xr + v * MCS_VL);
        for (j = 0; j < fb; j++) {
            const MCS_V kv = MCS_BCAST(kr[j]);
            for (v = 0; v < vb; v++)
                s[j][v] += kv * xv[v];
        }
    }
    for (j = 0; j < fb; j++)
        for (v = 0; v < vb; v++)
            MCS_STORE(acc + (f0 + j) * OWp + (v0 + v) * MCS_VL, s[j][v]);
}

/* y rows t0..t1-1 (t = n * OH + oh; OUT) = conv(x, k) + bias (bias may be NULL), then max(., 0)
 * when relu.  x (IN, N x H x W x C), k (IN, kh x kw x C x F).  Scratch: K * OWp + F * OWp values
 * and K pointers (tp).
 * Each output element is summed over the taps in (a, b, c) order whatever the thread split. */
MCS_ATTR static void MCS_FN(forward_rows)(const MCS_T *restrict x, const MCS_T *restrict k,
                                          const MCS_T *restrict bias, MCS_T *restrict y, const mcs_geom *g,
                                          ptrdiff_t t0, ptrdiff_t t1, int relu, MCS_T *restrict scratch,
                                          const MCS_T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C;
    const ptrdiff_t nv = (OW + MCS_VL - 1) / MCS_VL, OWp = nv * MCS_VL;
    MCS_T *restrict xs = scratch, *restrict acc = scratch + K * OWp;
    const ptrdiff_t nfp = (F + MCS_FB - 1) / MCS_FB, nvp = (nv + MCS_VB - 1) / MCS_VB;
    ptrdiff_t t, f0, v0, fp, vp, f, i;
    for (t = t0; t < t1; t++) {
        MCS_T *restrict yr = y + t * OW * F;
        MCS_FN(tap_rows)(x, g, t / g->OH, t % g->OH, OWp, 0, tp, xs);
        for (fp = 0, f0 = 0; fp < nfp; f0 += MCS_FN(part_size)(F, nfp, fp), fp++) {
            const ptrdiff_t fb = MCS_FN(part_size)(F, nfp, fp);
            for (vp = 0, v0 = 0; vp < nvp; v0 += MCS_FN(part_size)(nv, nvp, vp), vp++) {
                switch (fb * 4 + MCS_FN(part_size)(nv, nvp, vp)) {
#define MCS_FWD_CASE(FB, VB) \
                case FB * 4 + VB: MCS_FN(fwd_tile)(tp, OWp, k, F, K, f0, v0, FB, VB, acc); break;
                MCS_FWD_CASE(3, 3) MCS_FWD_CASE(3, 2) MCS_FWD_CASE(3, 1)
                MCS_FWD_CASE(2, 3) MCS_FWD_CASE(2, 2) MCS_FWD_CASE(2, 1)
                MCS_FWD_CASE(1, 3) MCS_FWD_CASE(1, 2)
                default: MCS_FN(fwd_tile)(tp, OWp, k, F, K, f0, v0, 1, 1, acc); break;
#undef MCS_FWD_CASE
                }
            }
        }
        /* planar (F, OWp) -> NHWC row (OW, F), bias and ReLU on the way ("v < 0" keeps NaN) */
        for (f = 0; f < F; f++) {
            const MCS_T bf = bias != NULL ? bias[f] : (MCS_T)0;
            const MCS_T *restrict ar = acc + f * OWp;
            for (i = 0; i < OW; i++) {
                MCS_T v = ar[i] + bf;
                yr[i * F + f] = (relu && v < 0) ? (MCS_T)0 : v;
            }
        }
    }
}

#define MCS_KB 3 /* kernel-gradient tile: up to 3 taps ... */
#define MCS_GB 3 /* ... times up to 3 filters, one vector of column lanes each */

/* lanes rows k0..k0+kb-1 x filters f0..f0+fb-1 (IN/OUT, K x F vectors) += xs[tap] * gt[f] over
 * the R rows of a band and their nv column vectors; tp[r * K + k] is tap k of band row r, gt
 * (F x R * OWp) the band's planar output gradient. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
MCS_ATTR static inline void MCS_FN(bwd_tile)(const MCS_T *const *tp, const MCS_T *restrict gt, ptrdiff_t R,
                                             ptrdiff_t OWp, ptrdiff_t K, ptrdiff_t F, ptrdiff_t k0, ptrdiff_t f0,
                                             const int kb, const int fb, MCS_T *restrict lanes)
{
    const ptrdiff_t nv = OWp / MCS_VL, plane = R * OWp;
    MCS_V s[MCS_KB][MCS_GB];
    ptrdiff_t r, v;
    int i, j;
    for (i = 0; i < kb; i++)
        for (j = 0; j < fb; j++)
            s[i][j] = MCS_LOAD(lanes + ((k0 + i) * F + f0 + j) * MCS_VL);
    for (r = 0; r < R; r++) {
        const MCS_T *const *tr = tp + r * K + k0;
        const MCS_T *gr = gt + f0 * plane + r * OWp;
        for (v = 0; v < nv; v++) {
            MCS_V gv[MCS_GB];
            for (j = 0; j < fb; j++)
                gv[j] = MCS_LOAD(gr + j * plane + v * MCS_VL);
            for (i = 0; i < kb; i++) {
                const MCS_V xv = MCS_LOAD(tr[i] + v * MCS_VL);
                for (j = 0; j < fb; j++)
                    s[i][j] += xv * gv[j];
            }
        }
    }
    for (i = 0; i < kb; i++)
        for (j = 0; j < fb; j++)
            MCS_STORE(lanes + ((k0 + i) * F + f0 + j) * MCS_VL, s[i][j]);
}

/* Kernel (and bias) gradient summed over images n0..n1-1, in double: dkp (OUT, K * F with
 * K = kh * kw * C, the layout of k) and dbp (OUT, F, or NULL).  gy (IN) is the output gradient;
 * with ry (IN, the layer's ReLU output) non-NULL it is first multiplied by (ry > 0).
 * An image's output rows go in bands of mcs_band_rows(g) rows: the band's taps (pointers, and
 * copies where needed) and its planar gradient stay in L1/L2 while register tiles of
 * (taps x filters) sum over all of the band's columns.  Scratch: mcs_backward_scratch(g) values
 * and mcs_backward_pointers(g) pointers (tp).  The order of every sum is fixed by the geometry
 * and [n0, n1): products per column lane in MCS_T over one image, lanes and images in double. */
MCS_ATTR static void MCS_FN(backward_kernel_images)(const MCS_T *restrict x, const MCS_T *restrict gy,
                                                    const MCS_T *restrict ry, double *restrict dkp,
                                                    double *restrict dbp, const mcs_geom *g, ptrdiff_t n0,
                                                    ptrdiff_t n1, MCS_T *restrict scratch, const MCS_T **tp)
{
    const ptrdiff_t OW = g->OW, F = g->F, K = g->kh * g->kw * g->C, KF = K * F;
    const ptrdiff_t nv = (OW + MCS_VL - 1) / MCS_VL, OWp = nv * MCS_VL, RB = mcs_band_rows(g);
    MCS_T *restrict lanes = scratch, *restrict glanes = lanes + KF * MCS_VL;
    MCS_T *restrict gt = glanes + F * MCS_VL, *restrict grow = gt + F * RB * OWp;
    MCS_T *restrict xs = grow + F * OWp;
    const ptrdiff_t nkp = (K + MCS_KB - 1) / MCS_KB, nfp = (F + MCS_GB - 1) / MCS_GB;
    ptrdiff_t n, r0, R, r, f, i, j, k0, f0, kp, fp;
    for (j = 0; j < KF; j++)
        dkp[j] = 0;
    if (dbp != NULL)
        for (f = 0; f < F; f++)
            dbp[f] = 0;
    for (n = n0; n < n1; n++) {
        for (j = 0; j < (KF + F) * MCS_VL; j++)
            lanes[j] = 0;
        for (r0 = 0; r0 < g->OH; r0 += RB) {
            R = g->OH - r0 < RB ? g->OH - r0 : RB;
            for (r = 0; r < R; r++) {
                const ptrdiff_t oh = r0 + r;
                const MCS_T *gr = gy + (n * g->OH + oh) * OW * F;
                MCS_T *restrict gd = gt + r * OWp;
                /* NHWC row (OW, F) -> planar (F, R * OWp), zero tail.  The ReLU mask first, in
                 * one contiguous (vectorised) pass; it multiplies, as dy * (y > 0) does. */
                if (ry != NULL) {
                    MCS_FN(relu_mask)(gr, ry + (n * g->OH + oh) * OW * F, grow, OW * F);
                    gr = grow;
                }
                for (f = 0; f < F; f++)
                    for (i = 0; i < OW; i++)
                        gd[f * R * OWp + i] = gr[i * F + f];
                for (f = 0; f < F; f++)
                    for (i = OW; i < OWp; i++)
                        gd[f * R * OWp + i] = 0;
                MCS_FN(tap_rows)(x, g, n, oh, OWp, 1, tp + r * K, xs + r * K * OWp);
            }
            if (dbp != NULL)
                for (f = 0; f < F; f++) {
                    MCS_V s = MCS_LOAD(glanes + f * MCS_VL);
                    for (j = 0; j < R * nv; j++)
                        s += MCS_LOAD(gt + f * R * OWp + j * MCS_VL);
                    MCS_STORE(glanes + f * MCS_VL, s);
                }
            for (kp = 0, k0 = 0; kp < nkp; k0 += MCS_FN(part_size)(K, nkp, kp), kp++) {
                const ptrdiff_t kb = MCS_FN(part_size)(K, nkp, kp);
                for (fp = 0, f0 = 0; fp < nfp; f0 += MCS_FN(part_size)(F, nfp, fp), fp++) {
                    switch (kb * 4 + MCS_FN(part_size)(F, nfp, fp)) {
#define MCS_BWD_CASE(KB, GB) \
                    case KB * 4 + GB: MCS_FN(bwd_tile)(tp, gt, R, OWp, K, F, k0, f0, KB, GB, lanes); break;
                    MCS_BWD_CASE(3, 3) MCS_BWD_CASE(3, 2) MCS_BWD_CASE(3, 1)
                    MCS_BWD_CASE(2, 3) MCS_BWD_CASE(2, 2) MCS_BWD_CASE(2, 1)
                    MCS_BWD_CASE(1, 3) MCS_BWD_CASE(1, 2)
                    default: MCS_FN(bwd_tile)(tp, gt, R, OWp, K, F, k0, f0, 1, 1, lanes); break;
#undef MCS_BWD_CASE
                    }
                }
            }
        }
        for (j = 0; j < KF; j++) {
            double sum = 0;
            for (i = 0; i < MCS_VL; i++)
                sum += lanes[j * MCS_VL + i];
            dkp[j] += sum;
        }
        if (dbp != NULL)
            for (f = 0; f < F; f++) {
                double sum = 0;
                for (i = 0; i < MCS_VL; i++)
                    sum += glanes[f * MCS_VL + i];
                dbp[f] += sum;
            }
    }
}

#undef MCS_FB
#undef MCS_VB
#undef MCS_KB
#undef MCS_GB
