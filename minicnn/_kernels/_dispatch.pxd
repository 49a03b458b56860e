# The kernel tables (src/kernels.h): one per instruction set compiled into this build, chosen once
# at import (_dispatch.pyx).  Every kernel module takes its per-ISA code from a table:
#     cdef const minicnn_kernel_table *kt = table(isa)     # isa None: the chosen table

from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t

cdef extern from "kernels.h" nogil:
    ctypedef void (*minicnn_sukr_t)(ptrdiff_t k, float alpha, const float *a, const float *b,
                                    float beta, float *c, ptrdiff_t ldc, ptrdiff_t m,
                                    ptrdiff_t n) noexcept nogil
    ctypedef void (*minicnn_dukr_t)(ptrdiff_t k, double alpha, const double *a, const double *b,
                                    double beta, double *c, ptrdiff_t ldc, ptrdiff_t m,
                                    ptrdiff_t n) noexcept nogil
    ctypedef void (*minicnn_sukr_rowa_t)(ptrdiff_t k, float alpha, const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                         const float *b, float beta, float *c, ptrdiff_t ldc,
                                         ptrdiff_t n) noexcept nogil
    ctypedef void (*minicnn_dukr_rowa_t)(ptrdiff_t k, double alpha, const double *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                         const double *b, double beta, double *c, ptrdiff_t ldc,
                                         ptrdiff_t n) noexcept nogil
    ctypedef struct minicnn_gemm_kernel:
        const char *sname
        const char *dname
        int smr, snr, smc, skc, snc
        int dmr, dnr, dmc, dkc, dnc
        minicnn_sukr_t sukr
        minicnn_dukr_t dukr
        minicnn_sukr_rowa_t sukr_rowa
        minicnn_dukr_rowa_t dukr_rowa
    void *minicnn_aligned_alloc(size_t nbytes)
    void minicnn_aligned_free(void *p)

    ctypedef struct minicnn_conv_geom:
        ptrdiff_t N, H, W, C, OH, OW, F, kh, kw, sh, sw, dh, dw, pt, pl
    ctypedef struct minicnn_conv_direct_kernels:
        const char *name
        ptrdiff_t (*forward_scratch)(const minicnn_conv_geom *g) noexcept nogil
        ptrdiff_t (*backward_scratch)(const minicnn_conv_geom *g) noexcept nogil
        void (*forward_f32)(const float *x, const float *k, const float *bias, float *y, const minicnn_conv_geom *g,
                            ptrdiff_t t0, ptrdiff_t t1, int relu, float *scratch, const float **tp) noexcept nogil
        void (*forward_f64)(const double *x, const double *k, const double *bias, double *y,
                            const minicnn_conv_geom *g, ptrdiff_t t0, ptrdiff_t t1, int relu, double *scratch,
                            const double **tp) noexcept nogil
        void (*backward_f32)(const float *x, const float *dy, const float *ry, double *dk, double *db,
                             const minicnn_conv_geom *g, ptrdiff_t n0, ptrdiff_t n1, float *scratch,
                             const float **tp) noexcept nogil
        void (*backward_f64)(const double *x, const double *dy, const double *ry, double *dk, double *db,
                             const minicnn_conv_geom *g, ptrdiff_t n0, ptrdiff_t n1, double *scratch,
                             const double **tp) noexcept nogil
    ctypedef struct minicnn_pool_kernels:
        const char *name
        void (*max2x2_row_f32)(const float *r0, const float *r1, float *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,
                               ptrdiff_t W, ptrdiff_t row) noexcept nogil
        void (*max2x2_row_f64)(const double *r0, const double *r1, double *y, int32_t *arg, ptrdiff_t OW,
                               ptrdiff_t C, ptrdiff_t W, ptrdiff_t row) noexcept nogil
        int (*max2x2_back_f32)(const float *dy, const int32_t *arg, float *dx, ptrdiff_t OH, ptrdiff_t OW,
                               ptrdiff_t C, ptrdiff_t H, ptrdiff_t W) noexcept nogil
        int (*max2x2_back_f64)(const double *dy, const int32_t *arg, double *dx, ptrdiff_t OH, ptrdiff_t OW,
                               ptrdiff_t C, ptrdiff_t H, ptrdiff_t W) noexcept nogil
    ctypedef struct minicnn_elementwise_kernels:
        const char *name
        void (*relu_mask_f32)(const float *dy, const float *y, float *out, ptrdiff_t n) noexcept nogil
        void (*relu_mask_f64)(const double *dy, const double *y, double *out, ptrdiff_t n) noexcept nogil
        void (*column_sums_f32)(const float *x, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t f0, ptrdiff_t f1,
                                double *acc) noexcept nogil
        void (*column_sums_f64)(const double *x, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t f0, ptrdiff_t f1,
                                double *acc) noexcept nogil
        void (*add_relu_f32)(const float *a, const float *b, float *out, ptrdiff_t n) noexcept nogil
        void (*add_relu_f64)(const double *a, const double *b, double *out, ptrdiff_t n) noexcept nogil
    ctypedef struct minicnn_batch_norm_kernels:
        const char *name
        void (*stats_f32)(const float *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, double *acc, double *mean,
                          double *m2) noexcept nogil
        void (*stats_f64)(const double *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, double *acc, double *mean,
                          double *m2) noexcept nogil
        void (*normalize_f32)(const float *x, float *y, ptrdiff_t n, ptrdiff_t L, const float *mean,
                              const float *scale, const float *shift, int relu) noexcept nogil
        void (*normalize_f64)(const double *x, double *y, ptrdiff_t n, ptrdiff_t L, const double *mean,
                              const double *scale, const double *shift, int relu) noexcept nogil
        void (*sums_f32)(const float *g, const float *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L, const float *mean,
                         double *acc, double *sum_g, double *sum_gxc) noexcept nogil
        void (*sums_f64)(const double *g, const double *x, ptrdiff_t n, ptrdiff_t C, ptrdiff_t L,
                         const double *mean, double *acc, double *sum_g, double *sum_gxc) noexcept nogil
        void (*input_grad_f32)(const float *g, const float *x, float *gx, ptrdiff_t n, ptrdiff_t L,
                               const float *mean, const float *a, const float *b, const float *k,
                               int training) noexcept nogil
        void (*input_grad_f64)(const double *g, const double *x, double *gx, ptrdiff_t n, ptrdiff_t L,
                               const double *mean, const double *a, const double *b, const double *k,
                               int training) noexcept nogil
    ctypedef struct minicnn_adam_kernels:
        const char *name
        void (*update_f32)(float *w, const float *g, float *m, float *v, ptrdiff_t n, float c1, float c2,
                           float alpha, float eps) noexcept nogil
        void (*update_f64)(double *w, const double *g, double *m, double *v, ptrdiff_t n, double c1, double c2,
                           double alpha, double eps) noexcept nogil
    ctypedef struct minicnn_winograd_kernels:
        const char *name
        void (*input_f32)(const float *x, ptrdiff_t rs, ptrdiff_t cs, float *v, ptrdiff_t ldv,
                          ptrdiff_t C) noexcept nogil
        void (*input_f64)(const double *x, ptrdiff_t rs, ptrdiff_t cs, double *v, ptrdiff_t ldv,
                          ptrdiff_t C) noexcept nogil
        void (*output_f32)(const float *m, ptrdiff_t ldm, float *y, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t F,
                           const float *bias, int relu) noexcept nogil
        void (*output_f64)(const double *m, ptrdiff_t ldm, double *y, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t F,
                           const double *bias, int relu) noexcept nogil
        void (*multiply_f32)(const float *v, ptrdiff_t ldv, const float *u, float *m, ptrdiff_t ldm, ptrdiff_t nt,
                             ptrdiff_t C, ptrdiff_t F) noexcept nogil
        void (*multiply_f64)(const double *v, ptrdiff_t ldv, const double *u, double *m, ptrdiff_t ldm,
                             ptrdiff_t nt, ptrdiff_t C, ptrdiff_t F) noexcept nogil
    ctypedef struct minicnn_kernel_table:
        const char *isa
        int (*runnable)() noexcept nogil
        const minicnn_gemm_kernel *gemm
        minicnn_conv_direct_kernels conv_direct
        minicnn_pool_kernels pool
        minicnn_elementwise_kernels elementwise
        minicnn_batch_norm_kernels batch_norm
        minicnn_adam_kernels adam
        minicnn_winograd_kernels winograd

# The table chosen at import (the best this CPU runs, or MINICNN_ARCH's).
cdef const minicnn_kernel_table *active() noexcept nogil
# The table of instruction set `isa` (None: the chosen one); ValueError unless this CPU runs it.
cdef const minicnn_kernel_table *table(isa) except NULL
