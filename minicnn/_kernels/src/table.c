/* One instruction set's kernel table (kernels.h): this file is compiled once per instruction set
 * by setup.py, with that set's flags and -DMINICNN_ISA_<SET> -DMINICNN_ISA_NAME=<set>:
 *
 *   reference  the target's baseline (x86-64: SSE2, AArch64: Advanced SIMD), no fused multiply-add
 *   avx2       -mavx2 -mfma (MSVC /arch:AVX2)
 *   avx512     -mavx512f -mavx512bw -mavx512vl -mavx512dq (MSVC /arch:AVX512)
 *   neon       AArch64 with fused multiply-add
 *
 * It instantiates every family's template (simd.h's kit) at the set's widest vector, and the
 * pooling rows at every width from 16 bytes up, then defines minicnn_table_<set>.  To add an
 * instruction set: a branch below (its widest vector, its runnable() check in cpu_features.c, its
 * GEMM micro-kernel descriptor in ukernel_<set>.c), its flags in setup.py, its table in
 * registry.c (docs/architecture.md walks through it).
 */
#include "kernels.h"

#if defined(MINICNN_ISA_AVX512)
#define MINICNN_ISA_FMA 1
#define TB_WIDE 64
#define TB_RUNNABLE minicnn_cpu_has_avx512
#define TB_GEMM minicnn_gemm_avx512
#elif defined(MINICNN_ISA_AVX2)
#define MINICNN_ISA_FMA 1
#define TB_WIDE 32
#define TB_RUNNABLE minicnn_cpu_has_avx2_fma
#define TB_GEMM minicnn_gemm_avx2
#elif defined(MINICNN_ISA_NEON)
#define MINICNN_ISA_FMA 1
#define TB_WIDE 16
#define TB_RUNNABLE minicnn_cpu_has_neon
#define TB_GEMM minicnn_gemm_neon
#elif defined(MINICNN_ISA_REFERENCE)
#define TB_WIDE 16
#define TB_RUNNABLE minicnn_cpu_always
#define TB_GEMM minicnn_gemm_reference
#else
#error "table.c: compile with -DMINICNN_ISA_<SET> -DMINICNN_ISA_NAME=<set> (setup.py does)"
#endif

#define MK_TYPES_ONLY
#include "simd.h"
#undef MK_TYPES_ONLY

#if !MINICNN_VECTORS /* no vector extensions (MSVC): every instantiation scalar */
#undef TB_WIDE
#define TB_WIDE 0
#define CD_VMAX 1
#define TB_F32 _f32x1
#define TB_F64 _f64x1
#define TB_WIDTHS "f32x1, f64x1"
#else
#define CD_VMAX (TB_WIDE / 4)
#if TB_WIDE == 64
#define TB_F32 _f32x16
#define TB_F64 _f64x8
#define TB_WIDTHS "f32x16, f64x8"
#define TB_POOL_WIDTHS "f32x4/8/16, f64x2/4/8"
#elif TB_WIDE == 32
#define TB_F32 _f32x8
#define TB_F64 _f64x4
#define TB_WIDTHS "f32x8, f64x4"
#define TB_POOL_WIDTHS "f32x4/8, f64x2/4"
#else
#define TB_F32 _f32x4
#define TB_F64 _f64x2
#define TB_WIDTHS "f32x4, f64x2"
#endif
#endif
#ifndef TB_POOL_WIDTHS
#define TB_POOL_WIDTHS TB_WIDTHS
#endif

/* ---------------- every family at the widest vector ---------------- */
#define MK_BYTES TB_WIDE
#define MK_DOUBLE 0
#include "simd.h"
#include "elementwise.h"
#include "conv_direct.h"
#include "pool_rows.h"
#include "batch_norm.h"
#include "adam.h"
#include "winograd.h"
#undef MK_DOUBLE
#define MK_DOUBLE 1
#include "simd.h"
#include "elementwise.h"
#include "conv_direct.h"
#include "pool_rows.h"
#include "batch_norm.h"
#include "adam.h"
#include "winograd.h"
#undef MK_DOUBLE
#undef MK_BYTES

/* ---------------- the pooling rows at the narrower vectors ---------------- */
#if TB_WIDE >= 64
#define MK_BYTES 32
#define MK_DOUBLE 0
#include "simd.h"
#include "pool_rows.h"
#undef MK_DOUBLE
#define MK_DOUBLE 1
#include "simd.h"
#include "pool_rows.h"
#undef MK_DOUBLE
#undef MK_BYTES
#endif
#if TB_WIDE >= 32
#define MK_BYTES 16
#define MK_DOUBLE 0
#include "simd.h"
#include "pool_rows.h"
#undef MK_DOUBLE
#define MK_DOUBLE 1
#include "simd.h"
#include "pool_rows.h"
#undef MK_DOUBLE
#undef MK_BYTES
#endif

/* The pooling rows at the widest vector whose lanes C channels fill (fewer channels than the
 * narrowest vector's lanes: that vector, gathering the lanes of several pixels). */
#if TB_WIDE >= 64
#define TB_POOL_F32(f) ((C) >= 16 ? f##_f32x16 : (C) >= 8 ? f##_f32x8 : f##_f32x4)
#define TB_POOL_F64(f) ((C) >= 8 ? f##_f64x8 : (C) >= 4 ? f##_f64x4 : f##_f64x2)
#elif TB_WIDE >= 32
#define TB_POOL_F32(f) ((C) >= 8 ? f##_f32x8 : f##_f32x4)
#define TB_POOL_F64(f) ((C) >= 4 ? f##_f64x4 : f##_f64x2)
#else
#define TB_POOL_F32(f) MK_CAT(f, TB_F32)
#define TB_POOL_F64(f) MK_CAT(f, TB_F64)
#endif

/* The table's pool entries for one element type: those of the vector chosen by TB_POOL_<T> */
#define TB_POOL_ENTRIES(T, SFX, PICK)                                                                            \
    static void tb_max2x2_row##SFX(const T *r0, const T *r1, T *y, int32_t *arg, ptrdiff_t OW, ptrdiff_t C,      \
                                   ptrdiff_t W, ptrdiff_t row)                                                   \
    {                                                                                                            \
        PICK(max2x2_row)(r0, r1, y, arg, OW, C, W, row);                                                         \
    }                                                                                                            \
    static int tb_max2x2_back##SFX(const T *dy, const int32_t *arg, T *dx, ptrdiff_t OH, ptrdiff_t OW,           \
                                   ptrdiff_t C, ptrdiff_t H, ptrdiff_t W)                                        \
    {                                                                                                            \
        return PICK(max2x2_back)(dy, arg, dx, OH, OW, C, H, W);                                                  \
    }
TB_POOL_ENTRIES(float, _f32, TB_POOL_F32)
TB_POOL_ENTRIES(double, _f64, TB_POOL_F64)

#define TB_STR2(x) #x
#define TB_STR(x) TB_STR2(x)
#define TB_NAME(widths) TB_STR(MINICNN_ISA_NAME) " (" widths ")"
#define TB_FN32(name) MK_CAT(name, TB_F32)
#define TB_FN64(name) MK_CAT(name, TB_F64)

const minicnn_kernel_table MK_CAT(minicnn_table_, MINICNN_ISA_NAME) = {
    TB_STR(MINICNN_ISA_NAME),
    TB_RUNNABLE,
    &TB_GEMM,
    {TB_NAME(TB_WIDTHS), cd_forward_scratch, cd_backward_scratch, TB_FN32(forward_rows), TB_FN64(forward_rows),
     TB_FN32(backward_kernel_images), TB_FN64(backward_kernel_images)},
    {TB_NAME(TB_POOL_WIDTHS), tb_max2x2_row_f32, tb_max2x2_row_f64, tb_max2x2_back_f32, tb_max2x2_back_f64},
    {TB_NAME(TB_WIDTHS), TB_FN32(relu_mask), TB_FN64(relu_mask), TB_FN32(column_sums), TB_FN64(column_sums),
     TB_FN32(add_relu), TB_FN64(add_relu)},
    {TB_NAME(TB_WIDTHS), TB_FN32(bn_stats), TB_FN64(bn_stats), TB_FN32(bn_normalize), TB_FN64(bn_normalize),
     TB_FN32(bn_sums), TB_FN64(bn_sums), TB_FN32(bn_input_grad), TB_FN64(bn_input_grad)},
    {TB_NAME(TB_WIDTHS), TB_FN32(adam_update), TB_FN64(adam_update)},
    {TB_NAME(TB_WIDTHS), TB_FN32(wg2_input), TB_FN64(wg2_input), TB_FN32(wg2_output), TB_FN64(wg2_output),
     TB_FN32(wg2_multiply), TB_FN64(wg2_multiply)},
};
