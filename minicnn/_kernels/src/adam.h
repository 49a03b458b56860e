/* One-pass Adam update (the adam family of the kernel table; optimizers/adam.py's compiled
 * path): a template (simd.h's kit), instantiated by table.c per element type.
 *
 * Why: the NumPy form of the update is ten ufunc passes over each variable plus a temporary;
 * this is one pass, read g, m, v, w and write m, v, w.
 *
 * The arithmetic is Adam.update_step's, operation for operation, in the variable's precision:
 *   t = (g - m) * c1;  m += t;   t = g * g;  t -= v;  t *= c2;  v += t;
 *   t = sqrt(v);  t += eps;  t = m / t;  t *= alpha;  w -= t
 * so the numbers are bitwise those of the NumPy path.  That needs every product rounded before
 * its sum: the units are compiled without contraction into fused multiply-adds (setup.py:
 * -ffp-contract=off; MSVC does not contract without /fp:fast), and without errno for sqrt (of
 * v >= 0: -fno-math-errno), so the loop vectorises.
 *
 * w, m, v (IN/OUT) and g (IN) are distinct arrays (the caller's contract: a variable, its own
 * gradient and its own two slots).
 */
#include <math.h>

static void FN(adam_update)(T *restrict w, const T *restrict g, T *restrict m, T *restrict v, ptrdiff_t n, T c1,
                            T c2, T alpha, T eps)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        T gi = g[i], t, mi, vi;
        t = gi - m[i];
        t = t * c1;
        mi = m[i] + t;
        t = gi * gi;
        t = t - v[i];
        t = t * c2;
        vi = v[i] + t;
        m[i] = mi;
        v[i] = vi;
#if MK_DOUBLE
        t = sqrt(vi);
#else
        t = sqrtf(vi);
#endif
        t = t + eps;
        t = mi / t;
        t = t * alpha;
        w[i] = w[i] - t;
    }
}
