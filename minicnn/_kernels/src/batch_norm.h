/* Batch normalisation's serial cores, one row block each (the batch_norm family of the kernel
 * table): a template (simd.h's kit), instantiated by table.c per element type; _norm.pyx cuts
 * the rows into blocks, runs them on threads and merges the blocks' partial results in order.
 *
 * With few channels (CNNs have 16-64) a loop over one row's C channels is too short to vectorise
 * well, so a block of n elements (whole rows of C) is walked as flat runs of L elements (a whole
 * number of rows, at least bn_group_min elements: _norm.pyx), with the per-channel parameters
 * repeated L / C times.  Reductions accumulate L lanes, eight at a time in local variables (held
 * in registers), walking down the block; the lanes are folded into C channels at the end of the
 * block.  Every sum has one fixed order, in double; nothing is fused (contraction off), so every
 * instruction set computes the same numbers.
 */
#ifndef MINICNN_BATCH_NORM_H
#define MINICNN_BATCH_NORM_H

#include <stddef.h>

/* out (OUT, C) = the L lanes (IN) summed per channel, lane j * C + c into channel c. */
static void bn_fold(const double *lanes, ptrdiff_t L, ptrdiff_t C, double *out)
{
    ptrdiff_t j, c;
    for (c = 0; c < C; c++)
        out[c] = lanes[c];
    for (j = C; j < L; j += C)
        for (c = 0; c < C; c++)
            out[c] += lanes[j + c];
}

#endif /* MINICNN_BATCH_NORM_H */

/* ---------------- the template (one instantiation per inclusion) ---------------- */

/* out[i] (OUT, L lanes) = the sum over x[i], x[i + L], x[i + 2L], ... (IN, n elements) of the
 * values themselves when shift is NULL, else of (x - shift[i])^2 (shift IN, L lanes). */
static void FN(bn_lane_sums)(const T *x, ptrdiff_t n, ptrdiff_t L, const double *shift, double *out)
{
    const ptrdiff_t ng = n / L, rem = n - ng * L;
    ptrdiff_t i0 = 0, i, g;
    const T *p;
    double d;
    for (; i0 + 8 <= L; i0 += 8) {
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        p = x + i0;
        if (shift == NULL) {
            for (g = 0; g < ng; g++, p += L) {
                a0 += p[0]; a1 += p[1]; a2 += p[2]; a3 += p[3];
                a4 += p[4]; a5 += p[5]; a6 += p[6]; a7 += p[7];
            }
        } else {
            const double m0 = shift[i0], m1 = shift[i0 + 1], m2 = shift[i0 + 2], m3 = shift[i0 + 3];
            const double m4 = shift[i0 + 4], m5 = shift[i0 + 5], m6 = shift[i0 + 6], m7 = shift[i0 + 7];
            for (g = 0; g < ng; g++, p += L) {
                a0 += (p[0] - m0) * (p[0] - m0); a1 += (p[1] - m1) * (p[1] - m1);
                a2 += (p[2] - m2) * (p[2] - m2); a3 += (p[3] - m3) * (p[3] - m3);
                a4 += (p[4] - m4) * (p[4] - m4); a5 += (p[5] - m5) * (p[5] - m5);
                a6 += (p[6] - m6) * (p[6] - m6); a7 += (p[7] - m7) * (p[7] - m7);
            }
        }
        out[i0] = a0; out[i0 + 1] = a1; out[i0 + 2] = a2; out[i0 + 3] = a3;
        out[i0 + 4] = a4; out[i0 + 5] = a5; out[i0 + 6] = a6; out[i0 + 7] = a7;
    }
    for (i = i0; i < L; i++) {
        double a = 0;
        for (g = 0; g < ng; g++) {
            if (shift == NULL) {
                a += x[g * L + i];
            } else {
                d = x[g * L + i] - shift[i];
                a += d * d;
            }
        }
        out[i] = a;
    }
    p = x + ng * L; /* the last, partial group: lanes i < rem */
    for (i = 0; i < rem; i++) {
        if (shift == NULL) {
            out[i] += p[i];
        } else {
            d = p[i] - shift[i];
            out[i] += d * d;
        }
    }
}

/* mean (OUT, C) = the mean of x (IN, n elements = whole rows of C), m2 (OUT, C) = the sum of
 * squared deviations from it: two passes over the block (the second from cache), in double.
 * acc: scratch of 2 L doubles. */
static void FN(bn_stats)(const T *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, double *acc, double *mean, double *m2)
{
    double *mrep = acc + L;
    const double rows = (double)(n / C);
    ptrdiff_t i, c;
    FN(bn_lane_sums)(x, n, L, NULL, acc);
    bn_fold(acc, L, C, mean);
    for (c = 0; c < C; c++)
        mean[c] /= rows; /* a division: the mean of equal values is then exactly that value */
    for (i = 0; i < L; i++)
        mrep[i] = mean[i % C];
    FN(bn_lane_sums)(x, n, L, mrep, acc);
    bn_fold(acc, L, C, m2);
}

/* y (OUT, n) = (x - mean) * scale + shift, then np.maximum(., 0) if relu (inference only); x (IN,
 * n elements = whole rows); mean, scale, shift (IN) repeated to L. */
static void FN(bn_normalize)(const T *x, T *y, ptrdiff_t n, ptrdiff_t L, const T *mean, const T *scale,
                             const T *shift, int relu)
{
    ptrdiff_t s, i, m;
    for (s = 0; s < n; s += L) {
        m = s + L <= n ? L : n - s;
        for (i = 0; i < m; i++)
            y[s + i] = (x[s + i] - mean[i]) * scale[i] + shift[i];
        if (relu) /* np.maximum(y, 0) bit for bit: a NaN stays, -0.0 becomes +0.0 */
            for (i = 0; i < m; i++)
                y[s + i] = MAX0(y[s + i]);
    }
}

/* sum_g (OUT, C) = the sum of g (IN, n elements = whole rows), sum_gxc (OUT, C) = the sum of
 * g * (x - mean), x - mean rounded to T as the forward pass forms it; x (IN, n), mean (IN)
 * repeated to L.  acc: scratch of 2 L doubles.  As in bn_lane_sums: eight lanes at a time in
 * local accumulators, then the partial last group. */
static void FN(bn_sums)(const T *g, const T *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, const T *mean, double *acc,
                        double *sum_g, double *sum_gxc)
{
    const ptrdiff_t ng = n / L, rem = n - ng * L;
    double *ax = acc + L;
    ptrdiff_t i0 = 0, i, k;
    const T *gp, *xp;
    T xc;
    for (; i0 + 8 <= L; i0 += 8) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        double t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        const T m0 = mean[i0], m1 = mean[i0 + 1], m2 = mean[i0 + 2], m3 = mean[i0 + 3];
        const T m4 = mean[i0 + 4], m5 = mean[i0 + 5], m6 = mean[i0 + 6], m7 = mean[i0 + 7];
        gp = g + i0;
        xp = x + i0;
        for (k = 0; k < ng; k++, gp += L, xp += L) {
            s0 += gp[0]; s1 += gp[1]; s2 += gp[2]; s3 += gp[3];
            s4 += gp[4]; s5 += gp[5]; s6 += gp[6]; s7 += gp[7];
            t0 += (double)gp[0] * (T)(xp[0] - m0); t1 += (double)gp[1] * (T)(xp[1] - m1);
            t2 += (double)gp[2] * (T)(xp[2] - m2); t3 += (double)gp[3] * (T)(xp[3] - m3);
            t4 += (double)gp[4] * (T)(xp[4] - m4); t5 += (double)gp[5] * (T)(xp[5] - m5);
            t6 += (double)gp[6] * (T)(xp[6] - m6); t7 += (double)gp[7] * (T)(xp[7] - m7);
        }
        acc[i0] = s0; acc[i0 + 1] = s1; acc[i0 + 2] = s2; acc[i0 + 3] = s3;
        acc[i0 + 4] = s4; acc[i0 + 5] = s5; acc[i0 + 6] = s6; acc[i0 + 7] = s7;
        ax[i0] = t0; ax[i0 + 1] = t1; ax[i0 + 2] = t2; ax[i0 + 3] = t3;
        ax[i0 + 4] = t4; ax[i0 + 5] = t5; ax[i0 + 6] = t6; ax[i0 + 7] = t7;
    }
    for (i = i0; i < L; i++) {
        double s = 0, t = 0;
        for (k = 0; k < ng; k++) {
            s += g[k * L + i];
            xc = x[k * L + i] - mean[i];
            t += (double)g[k * L + i] * xc;
        }
        acc[i] = s;
        ax[i] = t;
    }
    gp = g + ng * L; /* the last, partial group: lanes i < rem */
    xp = x + ng * L;
    for (i = 0; i < rem; i++) {
        xc = xp[i] - mean[i];
        acc[i] += gp[i];
        ax[i] += (double)gp[i] * xc;
    }
    bn_fold(acc, L, C, sum_g);
    bn_fold(ax, L, C, sum_gxc);
}

/* gx (OUT, n) = a * ((g - b) - (x - mean) * k) if training else a * g; g, x (IN, n elements =
 * whole rows); mean, a, b, k (IN) repeated to L. */
static void FN(bn_input_grad)(const T *g, const T *x, T *gx, ptrdiff_t n, ptrdiff_t L, const T *mean, const T *a,
                              const T *b, const T *k, int training)
{
    ptrdiff_t s, i, m;
    for (s = 0; s < n; s += L) {
        m = s + L <= n ? L : n - s;
        if (training)
            for (i = 0; i < m; i++)
                gx[s + i] = a[i] * ((g[s + i] - b[i]) - (x[s + i] - mean[i]) * k[i]);
        else
            for (i = 0; i < m; i++)
                gx[s + i] = a[i] * g[s + i];
    }
}
