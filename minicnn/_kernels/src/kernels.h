/* The kernel table: every compiled kernel family of one instruction set, registered together
 * (BLIS' "context").
 *
 * One source, table.c, is compiled once per instruction set with that set's compiler flags
 * (setup.py: reference = the baseline, avx2 = AVX2+FMA, avx512 = AVX-512 F/BW/VL/DQ, neon) and
 * defines that set's table, minicnn_table_<isa>.  registry.c lists the tables compiled into this
 * build, the reference table first; _dispatch.pyx checks the CPU once (cpu_features.c), honours
 * MINICNN_ARCH once, and hands the chosen table to every kernel module.  Every family of a table
 * comes from the same templates, so the tests that validate one instruction set's build validate
 * the code of the others too.
 *
 * The families (what the framework code in the .pyx modules calls, per row, block or image):
 *   gemm          micro-kernels of one MR x NR tile (gemm_kernels.h, ukernel_<isa>.c)
 *   conv_direct   direct convolution for few input channels (conv_direct.h)
 *   pool          2x2, stride-2 max pooling rows and their backward (pool_rows.h)
 *   elementwise   the ReLU gradient mask, column sums and Add+ReLU (elementwise.h)
 *   batch_norm    the row-block cores of batch normalisation (batch_norm.h)
 *   adam          the one-pass Adam update (adam.h)
 *   winograd      Winograd F(2x2, 3x3) tile transforms of the input and output (winograd.h)
 * Each family carries a name for show_config(): the instruction set and vector widths.
 */
#ifndef MINICNN_KERNELS_H
#define MINICNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gemm_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A convolution's geometry as the direct loops read it. */
typedef struct {
    ptrdiff_t N, H, W, C, OH, OW, F, kh, kw, sh, sw, dh, dw, pt, pl;
} minicnn_conv_geom;

typedef struct {
    const char *name;
    /* values of scratch one thread needs (besides the tap pointers), per row chunk / image block */
    ptrdiff_t (*forward_scratch)(const minicnn_conv_geom *g);
    ptrdiff_t (*backward_scratch)(const minicnn_conv_geom *g);
    /* y rows t0..t1-1 (t = n * OH + oh) = conv(x, k) + bias (or NULL), then ReLU if relu */
    void (*forward_f32)(const float *x, const float *k, const float *bias, float *y, const minicnn_conv_geom *g,
                        ptrdiff_t t0, ptrdiff_t t1, int relu, float *scratch, const float **tp);
    void (*forward_f64)(const double *x, const double *k, const double *bias, double *y, const minicnn_conv_geom *g,
                        ptrdiff_t t0, ptrdiff_t t1, int relu, double *scratch, const double **tp);
    /* kernel (and bias, or NULL) gradient over images n0..n1-1 in double, dy masked by ry > 0 (or NULL) */
    void (*backward_f32)(const float *x, const float *dy, const float *ry, double *dk, double *db,
                         const minicnn_conv_geom *g, ptrdiff_t n0, ptrdiff_t n1, float *scratch, const float **tp);
    void (*backward_f64)(const double *x, const double *dy, const double *ry, double *dk, double *db,
                         const minicnn_conv_geom *g, ptrdiff_t n0, ptrdiff_t n1, double *scratch, const double **tp);
} minicnn_conv_direct_kernels;

typedef struct {
    const char *name;
    /* one output row of a 2x2, stride-2 max pooling: y (and its argmax, or NULL) from input rows r0, r1 */
    void (*max2x2_row_f32)(const float *r0, const float *r1, float *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                           ptrdiff_t W, ptrdiff_t row);
    void (*max2x2_row_f64)(const double *r0, const double *r1, double *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                           ptrdiff_t W, ptrdiff_t row);
    /* its backward for one image: 1 if every index lies in its window (dx fully written), else 0 */
    int (*max2x2_back_f32)(const float *dy, const int32_t *arg, float *dx, ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t C,
                           ptrdiff_t H, ptrdiff_t W);
    int (*max2x2_back_f64)(const double *dy, const int32_t *arg, double *dx, ptrdiff_t OH, ptrdiff_t OW,
                           ptrdiff_t C, ptrdiff_t H, ptrdiff_t W);
} minicnn_pool_kernels;

typedef struct {
    const char *name;
    /* out[i] = dy[i] * (y[i] > 0), i < n */
    void (*relu_mask_f32)(const float *dy, const float *y, float *out, ptrdiff_t n);
    void (*relu_mask_f64)(const double *dy, const double *y, double *out, ptrdiff_t n);
    /* acc[f] += x[r * ld + f] for rows r < m, columns f0 <= f < f1, in double, row after row */
    void (*column_sums_f32)(const float *x, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t f0, ptrdiff_t f1, double *acc);
    void (*column_sums_f64)(const double *x, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t f0, ptrdiff_t f1, double *acc);
    /* out[i] = np.maximum(a[i] + b[i], 0), i < n */
    void (*add_relu_f32)(const float *a, const float *b, float *out, ptrdiff_t n);
    void (*add_relu_f64)(const double *a, const double *b, double *out, ptrdiff_t n);
} minicnn_elementwise_kernels;

typedef struct {
    const char *name;
    /* one row block of n elements (whole rows of C channels), walked in flat runs of L (see batch_norm.h) */
    void (*stats_f32)(const float *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, double *acc, double *mean, double *m2);
    void (*stats_f64)(const double *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, double *acc, double *mean, double *m2);
    void (*normalize_f32)(const float *x, float *y, ptrdiff_t n, ptrdiff_t L, const float *mean, const float *scale,
                          const float *shift, int relu);
    void (*normalize_f64)(const double *x, double *y, ptrdiff_t n, ptrdiff_t L, const double *mean,
                          const double *scale, const double *shift, int relu);
    void (*sums_f32)(const float *g, const float *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, const float *mean,
                     double *acc, double *sum_g, double *sum_gxc);
    void (*sums_f64)(const double *g, const double *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, const double *mean,
                     double *acc, double *sum_g, double *sum_gxc);
    void (*input_grad_f32)(const float *g, const float *x, float *gx, ptrdiff_t n, ptrdiff_t L, const float *mean,
                           const float *a, const float *b, const float *k, int training);
    void (*input_grad_f64)(const double *g, const double *x, double *gx, ptrdiff_t n, ptrdiff_t L,
                           const double *mean, const double *a, const double *b, const double *k, int training);
} minicnn_batch_norm_kernels;

typedef struct {
    const char *name;
    /* w, m, v (IN/OUT), g (IN): one Adam step over n values (see adam.h) */
    void (*update_f32)(float *w, const float *g, float *m, float *v, ptrdiff_t n, float c1, float c2, float alpha,
                       float eps);
    void (*update_f64)(double *w, const double *g, double *m, double *v, ptrdiff_t n, double c1, double c2,
                       double alpha, double eps);
} minicnn_adam_kernels;

typedef struct {
    const char *name;
    /* v[xi * ldv + c] (OUT) = (B^T d B)[xi] for the 4x4 patch d[r][s][c] = x[r * rs + s * cs + c] (IN) */
    void (*input_f32)(const float *x, ptrdiff_t rs, ptrdiff_t cs, float *v, ptrdiff_t ldv, ptrdiff_t C);
    void (*input_f64)(const double *x, ptrdiff_t rs, ptrdiff_t cs, double *v, ptrdiff_t ldv, ptrdiff_t C);
    /* the 2x2 block y[p * rs + q * cs + f] (OUT) = (A^T M A)[p][q] + bias[f] (or NULL), ReLU if relu,
     * M[xi][f] = m[xi * ldm + f] (IN) */
    void (*output_f32)(const float *m, ptrdiff_t ldm, float *y, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t F,
                       const float *bias, int relu);
    void (*output_f64)(const double *m, ptrdiff_t ldm, double *y, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t F,
                       const double *bias, int relu);
    /* M[xi] (OUT, nt x F at m + xi * ldm) = V[xi] (IN, nt x C at v + xi * ldv) @ U[xi] (IN, C x F at
     * u + xi * C * F) for the 16 positions xi */
    void (*multiply_f32)(const float *v, ptrdiff_t ldv, const float *u, float *m, ptrdiff_t ldm, ptrdiff_t nt,
                         ptrdiff_t C, ptrdiff_t F);
    void (*multiply_f64)(const double *v, ptrdiff_t ldv, const double *u, double *m, ptrdiff_t ldm, ptrdiff_t nt,
                         ptrdiff_t C, ptrdiff_t F);
} minicnn_winograd_kernels;

typedef struct {
    const char *isa;        /* the MINICNN_ARCH value: "reference", "avx2", "avx512", "neon" */
    int (*runnable)(void);  /* may this CPU (and OS) run it? */
    const minicnn_gemm_kernel *gemm;
    minicnn_conv_direct_kernels conv_direct;
    minicnn_pool_kernels pool;
    minicnn_elementwise_kernels elementwise;
    minicnn_batch_norm_kernels batch_norm;
    minicnn_adam_kernels adam;
    minicnn_winograd_kernels winograd;
} minicnn_kernel_table;

/* The tables compiled into this build: index 0 is the reference table, later ones in increasing
 * order of preference (registry.c).  Whether the CPU may run one: its runnable(). */
int minicnn_table_count(void);
const minicnn_kernel_table *minicnn_table_at(int i);

/* CPU feature checks (cpu_features.c): 1 when the CPU and the OS (XSAVE state) support it. */
int minicnn_cpu_always(void);
int minicnn_cpu_has_avx2_fma(void);
int minicnn_cpu_has_avx512(void);
int minicnn_cpu_has_neon(void);

#ifdef __cplusplus
}
#endif

#endif
