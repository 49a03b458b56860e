/* One-pass Adam update (optimizers/adam.py's compiled path).
 *
 * Why: the NumPy form of the update is ten ufunc passes over each variable plus a temporary;
 * this is one pass, read g, m, v, w and write m, v, w.
 *
 * The arithmetic is Adam.update_step's, operation for operation, in the variable's precision:
 *   t = (g - m) * c1;  m += t;   t = g * g;  t -= v;  t *= c2;  v += t;
 *   t = sqrt(v);  t += eps;  t = m / t;  t *= alpha;  w -= t
 * so the numbers are bitwise those of the NumPy path.  That needs every product rounded before
 * its sum: no contraction into fused multiply-adds (gcc and clang contract by default wherever
 * FMA is baseline, e.g. AArch64; MSVC does not without /fp:fast).
 */
#ifndef MINICNN_OPTIM_H
#define MINICNN_OPTIM_H

#include <math.h>
#include <stddef.h>

/* setup.py builds this extension with -ffp-contract=off -fno-math-errno (gcc/clang): products
 * are rounded before their sums, and sqrt (of v >= 0) needs no errno path, so the loop is
 * vectorised.  clang also honours the pragma below. */
#if defined(__clang__)
#define MINICNN_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define MINICNN_NO_CONTRACT
#endif

#if defined(_MSC_VER)
#define MINICNN_RESTRICT __restrict
#else
#define MINICNN_RESTRICT __restrict__
#endif

/* w, m, v (IN/OUT) and g (IN) are distinct arrays (the caller's contract: a variable, its own
 * gradient and its own two slots). */
#define MINICNN_ADAM(NAME, T, SQRT)                                                              \
    static void NAME(T *MINICNN_RESTRICT w, const T *MINICNN_RESTRICT g, T *MINICNN_RESTRICT m,  \
                     T *MINICNN_RESTRICT v, ptrdiff_t n, T c1, T c2, T alpha, T eps) {           \
        MINICNN_NO_CONTRACT                                                                      \
        for (ptrdiff_t i = 0; i < n; i++) {                                                      \
            T gi = g[i], t, mi, vi;                                                              \
            t = gi - m[i];                                                                       \
            t = t * c1;                                                                          \
            mi = m[i] + t;                                                                       \
            t = gi * gi;                                                                         \
            t = t - v[i];                                                                        \
            t = t * c2;                                                                          \
            vi = v[i] + t;                                                                       \
            m[i] = mi;                                                                           \
            v[i] = vi;                                                                           \
            t = SQRT(vi);                                                                        \
            t = t + eps;                                                                         \
            t = mi / t;                                                                          \
            t = t * alpha;                                                                       \
            w[i] = w[i] - t;                                                                     \
        }                                                                                        \
    }

MINICNN_ADAM(minicnn_adam_f32, float, sqrtf)
MINICNN_ADAM(minicnn_adam_f64, double, sqrt)

#endif
