/* Direct (no im2col) convolution for layers with few input channels, e.g. a network's first
 * layer (one grey channel, a handful of filters).
 *
 * Why: with K = kh * kw * C of 9..25, im2col copies K values per output pixel in runs of
 * kw * C (a few floats) and the GEMM's micro-tile is mostly empty when there are few filters;
 * both cost more than the multiply-adds.  Here the taps of one output row at a time are found
 * in place or laid out in L1, and register tiles multiply broadcast tap values by vectors of
 * filters, which is the NHWC layout of the output and of its gradient: no im2col, and no
 * transposition on the way in or out (conv_small_impl.h).
 *
 * The _conv extension is compiled for the baseline ISA (setup.py builds ISA-specific code only
 * for the GEMM), so the loops below are compiled twice: as is (16-byte vectors), and, on x86 with
 * gcc/clang, with the AVX2+FMA target attribute (32-byte vectors).  Without vector extensions
 * (MSVC) they are plain scalar loops.  mcs_isa() picks one at run time (CPUID through
 * __builtin_cpu_supports, which also checks that the OS saves the YMM state); _conv.pyx may force
 * the baseline (MINICNN_ARCH=reference, and tests compare both).
 */
#ifndef MINICNN_CONV_SMALL_H
#define MINICNN_CONV_SMALL_H

#include <stddef.h>

typedef struct {
    ptrdiff_t N, H, W, C, OH, OW, F, kh, kw, sh, sw, dh, dw, pt, pl;
} mcs_geom;

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MCS_HAVE_AVX2 1
#else
#define MCS_HAVE_AVX2 0
#endif

#if defined(__GNUC__) || defined(__clang__)
/* Vectors through the compilers' vector extensions: 32 bytes (8 floats, 4 doubles) in the AVX2
 * build, 16 bytes (SSE2 / NEON) in the baseline build.  The ...u types allow unaligned access. */
typedef float mcs_vf8 __attribute__((vector_size(32)));
typedef float mcs_vf8u __attribute__((vector_size(32), aligned(4)));
typedef double mcs_vd4 __attribute__((vector_size(32)));
typedef double mcs_vd4u __attribute__((vector_size(32), aligned(8)));
typedef float mcs_vf4 __attribute__((vector_size(16)));
typedef float mcs_vf4u __attribute__((vector_size(16), aligned(4)));
typedef double mcs_vd2 __attribute__((vector_size(16)));
typedef double mcs_vd2u __attribute__((vector_size(16), aligned(8)));
typedef int mcs_vi8 __attribute__((vector_size(32)));
typedef long long mcs_vl4 __attribute__((vector_size(32)));
typedef int mcs_vi4 __attribute__((vector_size(16)));
typedef long long mcs_vl2 __attribute__((vector_size(16)));
/* 1 where v > 0, else 0 (NaN: 0), lane by lane: -(v > 0) turns the comparison's -1/0 into 1/0 */
#define MCS_MASK01(V, VI, v, zero) __builtin_convertvector(-((VI)((v) > (zero))), V)
/* v where v < 0 is false (NaN and -0.0 stay), else +0: the lanes' bits cleared by the comparison's mask */
#define MCS_RELU_BITS(V, VI, v, zero) ((V)((VI)(v) & ~(VI)((v) < (zero))))
#define MCS_LOADU(VU, p) (*(const VU *)(p))
#define MCS_STOREU(VU, p, v) (*(VU *)(p) = (v))
#define MCS_VMAX 8 /* the most lanes of any build: scratch is sized for it */
#else
#define MCS_LOADU(VU, p) (*(p))
#define MCS_STOREU(VU, p, v) (*(p) = (v))
#define MCS_VMAX 1
#endif

/* Register tiles (conv_small_impl.h): MCS_ACC vector accumulators, up to MCS_FVMAX filter vectors
 * times MCS_ACC / fv output columns or taps (16 vector registers: 12 accumulators and the operands). */
#define MCS_FVMAX 4
#define MCS_ACC 12
/* Every tile shape (filter vectors, columns or taps) the loops instantiate with constant sizes,
 * X(fv, n) for n up to MCS_ACC / fv; (1, 1) is the switch's default. */
#define MCS_TILE_SHAPES(X) \
    X(1, 12) X(1, 11) X(1, 10) X(1, 9) X(1, 8) X(1, 7) X(1, 6) X(1, 5) X(1, 4) X(1, 3) X(1, 2) \
    X(2, 6) X(2, 5) X(2, 4) X(2, 3) X(2, 2) X(2, 1) \
    X(3, 4) X(3, 3) X(3, 2) X(3, 1) \
    X(4, 3) X(4, 2) X(4, 1)

static ptrdiff_t mcs_owp(const mcs_geom *g)
{
    return (g->OW + MCS_VMAX - 1) / MCS_VMAX * MCS_VMAX;
}

/* F filters padded to a whole number of vectors of the widest build (>= any build's padding). */
static ptrdiff_t mcs_fp(const mcs_geom *g)
{
    return (g->F + MCS_VMAX - 1) / MCS_VMAX * MCS_VMAX;
}

#define MCS_T float
#define MCS_FN(name) mcs_##name##_f32_base
#define MCS_ATTR
#if defined(__GNUC__) || defined(__clang__)
#define MCS_V mcs_vf4
#define MCS_VL 4
#define MCS_LOAD(p) MCS_LOADU(mcs_vf4u, p)
#define MCS_STORE(p, v) MCS_STOREU(mcs_vf4u, p, v)
#define MCS_BCAST(s) ((mcs_vf4){(s), (s), (s), (s)})
#define MCS_POS(v) MCS_MASK01(mcs_vf4, mcs_vi4, v, MCS_BCAST((float)0))
#define MCS_RELU(v) MCS_RELU_BITS(mcs_vf4, mcs_vi4, v, MCS_BCAST((float)0))
#else
#define MCS_V float
#define MCS_VL 1
#define MCS_LOAD(p) (*(p))
#define MCS_STORE(p, v) (*(p) = (v))
#define MCS_BCAST(s) (s)
#define MCS_POS(v) ((v) > 0 ? 1.0 : 0.0)
#define MCS_RELU(v) ((v) < 0 ? 0 : (v))
#endif
#include "conv_small_impl.h"
#undef MCS_T
#undef MCS_FN
#undef MCS_ATTR
#undef MCS_V
#undef MCS_VL
#undef MCS_LOAD
#undef MCS_STORE
#undef MCS_BCAST
#undef MCS_POS
#undef MCS_RELU

#define MCS_T double
#define MCS_FN(name) mcs_##name##_f64_base
#define MCS_ATTR
#if defined(__GNUC__) || defined(__clang__)
#define MCS_V mcs_vd2
#define MCS_VL 2
#define MCS_LOAD(p) MCS_LOADU(mcs_vd2u, p)
#define MCS_STORE(p, v) MCS_STOREU(mcs_vd2u, p, v)
#define MCS_BCAST(s) ((mcs_vd2){(s), (s)})
#define MCS_POS(v) MCS_MASK01(mcs_vd2, mcs_vl2, v, MCS_BCAST((double)0))
#define MCS_RELU(v) MCS_RELU_BITS(mcs_vd2, mcs_vl2, v, MCS_BCAST((double)0))
#else
#define MCS_V double
#define MCS_VL 1
#define MCS_LOAD(p) (*(p))
#define MCS_STORE(p, v) (*(p) = (v))
#define MCS_BCAST(s) (s)
#define MCS_POS(v) ((v) > 0 ? 1.0 : 0.0)
#define MCS_RELU(v) ((v) < 0 ? 0 : (v))
#endif
#include "conv_small_impl.h"
#undef MCS_T
#undef MCS_FN
#undef MCS_ATTR
#undef MCS_V
#undef MCS_VL
#undef MCS_LOAD
#undef MCS_STORE
#undef MCS_BCAST
#undef MCS_POS
#undef MCS_RELU

#if MCS_HAVE_AVX2
#define MCS_ATTR __attribute__((target("avx2,fma")))
#define MCS_T float
#define MCS_FN(name) mcs_##name##_f32_avx2
#define MCS_V mcs_vf8
#define MCS_VL 8
#define MCS_LOAD(p) MCS_LOADU(mcs_vf8u, p)
#define MCS_STORE(p, v) MCS_STOREU(mcs_vf8u, p, v)
#define MCS_BCAST(s) ((mcs_vf8){(s), (s), (s), (s), (s), (s), (s), (s)})
#define MCS_POS(v) MCS_MASK01(mcs_vf8, mcs_vi8, v, MCS_BCAST((float)0))
#define MCS_RELU(v) MCS_RELU_BITS(mcs_vf8, mcs_vi8, v, MCS_BCAST((float)0))
#include "conv_small_impl.h"
#undef MCS_T
#undef MCS_FN
#undef MCS_V
#undef MCS_VL
#undef MCS_LOAD
#undef MCS_STORE
#undef MCS_BCAST
#undef MCS_POS
#undef MCS_RELU
#define MCS_T double
#define MCS_FN(name) mcs_##name##_f64_avx2
#define MCS_V mcs_vd4
#define MCS_VL 4
#define MCS_LOAD(p) MCS_LOADU(mcs_vd4u, p)
#define MCS_STORE(p, v) MCS_STOREU(mcs_vd4u, p, v)
#define MCS_BCAST(s) ((mcs_vd4){(s), (s), (s), (s)})
#define MCS_POS(v) MCS_MASK01(mcs_vd4, mcs_vl4, v, MCS_BCAST((double)0))
#define MCS_RELU(v) MCS_RELU_BITS(mcs_vd4, mcs_vl4, v, MCS_BCAST((double)0))
#include "conv_small_impl.h"
#undef MCS_T
#undef MCS_FN
#undef MCS_V
#undef MCS_VL
#undef MCS_LOAD
#undef MCS_STORE
#undef MCS_BCAST
#undef MCS_POS
#undef MCS_RELU
#undef MCS_ATTR
#endif

/* Elements of scratch one thread needs for forward_rows and for backward_kernel_images (whatever
 * the build and element type), besides the tap pointers. */
static ptrdiff_t mcs_forward_scratch(const mcs_geom *g)
{
    const ptrdiff_t K = g->kh * g->kw * g->C;
    return K * mcs_owp(g) + (K + 1) * mcs_fp(g) + MCS_ACC * MCS_VMAX; /* the last: one tile's vectors */
}
static ptrdiff_t mcs_backward_scratch(const mcs_geom *g)
{
    const ptrdiff_t K = g->kh * g->kw * g->C;
    return (K + 1) * mcs_fp(g) + g->OW * g->F + MCS_VMAX + K * mcs_owp(g);
}
/* Tap pointers one thread needs: forward_rows (one output row's, and a tile's), backward_kernel_images
 * (one output row's). */
static ptrdiff_t mcs_forward_pointers(const mcs_geom *g)
{
    return 2 * g->kh * g->kw * g->C;
}
static ptrdiff_t mcs_backward_pointers(const mcs_geom *g)
{
    return g->kh * g->kw * g->C;
}

/* 1 when the AVX2+FMA loops may run on this CPU, else 0. */
static int mcs_cpu_avx2(void)
{
#if MCS_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* The entry points: isa 1 = AVX2+FMA (only when mcs_cpu_avx2()), 0 = baseline. */
static void mcs_forward_rows_f32(int isa, const float *x, const float *k, const float *bias, float *y,
                                 const mcs_geom *g, ptrdiff_t t0, ptrdiff_t t1, int relu, float *scratch,
                                 const float **tp)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_forward_rows_f32_avx2(x, k, bias, y, g, t0, t1, relu, scratch, tp);
        return;
    }
#endif
    mcs_forward_rows_f32_base(x, k, bias, y, g, t0, t1, relu, scratch, tp);
}

static void mcs_forward_rows_f64(int isa, const double *x, const double *k, const double *bias, double *y,
                                 const mcs_geom *g, ptrdiff_t t0, ptrdiff_t t1, int relu, double *scratch,
                                 const double **tp)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_forward_rows_f64_avx2(x, k, bias, y, g, t0, t1, relu, scratch, tp);
        return;
    }
#endif
    mcs_forward_rows_f64_base(x, k, bias, y, g, t0, t1, relu, scratch, tp);
}

static void mcs_relu_mask_f32(int isa, const float *dy, const float *y, float *out, ptrdiff_t n)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_relu_mask_f32_avx2(dy, y, out, n);
        return;
    }
#endif
    mcs_relu_mask_f32_base(dy, y, out, n);
}

static void mcs_relu_mask_f64(int isa, const double *dy, const double *y, double *out, ptrdiff_t n)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_relu_mask_f64_avx2(dy, y, out, n);
        return;
    }
#endif
    mcs_relu_mask_f64_base(dy, y, out, n);
}

static void mcs_backward_kernel_images_f32(int isa, const float *x, const float *gy, const float *ry, double *dkp,
                                           double *dbp, const mcs_geom *g, ptrdiff_t n0, ptrdiff_t n1,
                                           float *scratch, const float **tp)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_backward_kernel_images_f32_avx2(x, gy, ry, dkp, dbp, g, n0, n1, scratch, tp);
        return;
    }
#endif
    mcs_backward_kernel_images_f32_base(x, gy, ry, dkp, dbp, g, n0, n1, scratch, tp);
}

static void mcs_backward_kernel_images_f64(int isa, const double *x, const double *gy, const double *ry,
                                           double *dkp, double *dbp, const mcs_geom *g, ptrdiff_t n0,
                                           ptrdiff_t n1, double *scratch, const double **tp)
{
#if MCS_HAVE_AVX2
    if (isa == 1) {
        mcs_backward_kernel_images_f64_avx2(x, gy, ry, dkp, dbp, g, n0, n1, scratch, tp);
        return;
    }
#endif
    mcs_backward_kernel_images_f64_base(x, gy, ry, dkp, dbp, g, n0, n1, scratch, tp);
}

#endif
