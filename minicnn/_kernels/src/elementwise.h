/* Elementwise kernels (the elementwise family of the kernel table): a template (simd.h's kit),
 * instantiated by table.c per element type at the unit's widest vector.  conv_direct.h uses
 * relu_mask too, inside its kernel gradient. */

/* out[i] (OUT) = dy[i] * (y[i] > 0) for i < n (dy, y IN): one vectorised pass without branches
 * (a select compiles to a data-dependent branch here).  It multiplies, so NaN/inf in dy and the
 * sign of zero behave as in dy * (y > 0). */
static void FN(relu_mask)(const T *dy, const T *y, T *out, ptrdiff_t n)
{
    ptrdiff_t j;
    for (j = 0; j + VL <= n; j += VL)
        VSTORE(out + j, VLOAD(dy + j) * VPOS(VLOAD(y + j)));
    for (; j < n; j++)
        out[j] = dy[j] * (T)(y[j] > 0);
}

/* out[i] (OUT) = np.maximum(a[i] + b[i], 0) for i < n (a, b IN): an Add and the ReLU after it in
 * one pass (inference), the very bits of the two NumPy passes: NaN stays, -0.0 becomes +0.0. */
static void FN(add_relu)(const T *a, const T *b, T *out, ptrdiff_t n)
{
    ptrdiff_t j;
    for (j = 0; j + VL <= n; j += VL) {
        V s = VLOAD(a + j) + VLOAD(b + j);
        VSTORE(out + j, VMAX0(s));
    }
    for (; j < n; j++)
        out[j] = MAX0(a[j] + b[j]);
}

/* acc[f] (IN/OUT, double) += x[r * ld + f] for the rows r < m and the columns f0 <= f < f1 of x
 * (IN), row after row: every column's sum in one fixed order (the compiler vectorises across
 * columns, never within one). */
static void FN(column_sums)(const T *restrict x, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t f0, ptrdiff_t f1,
                            double *restrict acc)
{
    ptrdiff_t r, f;
    for (r = 0; r < m; r++) {
        const T *row = x + r * ld;
        for (f = f0; f < f1; f++)
            acc[f] += row[f];
    }
}
