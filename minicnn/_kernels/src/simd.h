/* The vector kit the kernel templates are written against: one template per kernel family
 * (conv_direct.h, pool_rows.h, elementwise.h, batch_norm.h, adam.h), instantiated by table.c for
 * each element type and vector width its instruction set runs:
 *
 *     #define MK_DOUBLE 0        // float (0) or double (1)
 *     #define MK_BYTES 32        // vector width in bytes: 16, 32, 64, or 0 (scalar)
 *     #include "simd.h"          // defines the kit below for that pair (undefining the last one)
 *     #include "conv_direct.h"   // the template: functions named FN(name) = name_f32x8
 *
 * The kit:
 *   T        the element type          V, VL     a vector of VL elements of T (T itself, VL 1: scalar)
 *   VI       a signed integer vector with T-wide lanes (comparison masks), VI32 one of int32 lanes
 *   VU, VI32U  the same types for unaligned access
 *   VLOAD(p), VSTORE(p, v)  unaligned load and store      VSPLAT(s)  s in every lane
 *   VFMA(acc, a, b)  acc + a * b, fused (one rounding) where the instruction set has FMA
 *   VPOS(v)  1 in the lanes where v > 0, else 0 (NaN: 0)  VRELU(v)  v where v < 0 is false, else +0
 *   VMAX0(v)  np.maximum(v, 0): v where v > 0 or NaN, else +0 (so -0.0 gives +0.0, as in NumPy);
 *            MAX0(s) the same for one value of T
 *   VLANES(f)  f(0), f(1), ..., f(VL - 1) (to build a vector lane by lane)
 *   FN(name) the instantiation's name for function `name`
 *
 * Vectors are the compilers' vector extensions (gcc, clang); elsewhere (MSVC) every instantiation
 * is scalar and the compiler vectorises what it can under the unit's /arch flags.  The units are
 * compiled with -ffp-contract=off: a product is rounded before its sum unless a template asks for
 * VFMA, so every instruction set computes the same numbers except where VFMA fuses.
 */
#ifndef MINICNN_SIMD_TYPES_H
#define MINICNN_SIMD_TYPES_H

#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#endif

#ifndef MINICNN_VECTORS /* -DMINICNN_VECTORS=0 builds the scalar forms with gcc/clang too, to test them */
#if defined(__GNUC__) || defined(__clang__)
#define MINICNN_VECTORS 1
#else
#define MINICNN_VECTORS 0
#endif
#endif

#if MINICNN_VECTORS
#define MK_VEC(name, type, bytes) \
    typedef type name __attribute__((vector_size(bytes))); \
    typedef type name##u __attribute__((vector_size(bytes), aligned(sizeof(type))));
MK_VEC(mk_f32x4, float, 16) MK_VEC(mk_f32x8, float, 32) MK_VEC(mk_f32x16, float, 64)
MK_VEC(mk_f64x2, double, 16) MK_VEC(mk_f64x4, double, 32) MK_VEC(mk_f64x8, double, 64)
MK_VEC(mk_i32x2, int32_t, 8) MK_VEC(mk_i32x4, int32_t, 16) MK_VEC(mk_i32x8, int32_t, 32)
MK_VEC(mk_i32x16, int32_t, 64)
MK_VEC(mk_i64x2, int64_t, 16) MK_VEC(mk_i64x4, int64_t, 32) MK_VEC(mk_i64x8, int64_t, 64)
#undef MK_VEC
#endif

#define MK_L2(f) f(0), f(1)
#define MK_L4(f) MK_L2(f), f(2), f(3)
#define MK_L8(f) MK_L4(f), f(4), f(5), f(6), f(7)
#define MK_L16(f) MK_L8(f), f(8), f(9), f(10), f(11), f(12), f(13), f(14), f(15)
#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

#define MK_CAT2(a, b) a##b
#define MK_CAT(a, b) MK_CAT2(a, b)

#endif /* MINICNN_SIMD_TYPES_H */

/* ---------------- the kit of one (type, width) pair ---------------- */
#ifndef MK_TYPES_ONLY
#if !defined(MK_DOUBLE) || !defined(MK_BYTES)
#error "simd.h: define MK_DOUBLE and MK_BYTES first"
#endif
#undef T
#undef V
#undef VU
#undef VI
#undef VI32
#undef VI32U
#undef VL
#undef MK_SFX
#undef VLANES
#undef VLOAD
#undef VSTORE
#undef VSPLAT
#undef VFMA
#undef VPOS
#undef VRELU
#undef VMAX0
#undef MAX0
#undef MK_FMA_X86
#undef MK_SPLAT_LANE

#if MK_DOUBLE
#define T double
#else
#define T float
#endif

#define MAX0(s) ((s) > 0 || (s) != (s) ? (s) : (T)0)
#if !MINICNN_VECTORS || MK_BYTES == 0
#define VL 1
#define V T
#define VU T
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VSPLAT(s) ((T)(s))
#define VFMA(acc, a, b) ((acc) + (a) * (b))
#define VPOS(v) ((v) > 0 ? (T)1 : (T)0)
#define VRELU(v) ((v) < 0 ? (T)0 : (v))
#define VMAX0(v) MAX0(v)
#define VLANES(f) f(0)
#else
#if MK_DOUBLE && MK_BYTES == 16
#define VL 2
#define V mk_f64x2
#define VU mk_f64x2u
#define VI mk_i64x2
#define VI32 mk_i32x2
#define VI32U mk_i32x2u
#define VLANES MK_L2
#elif MK_DOUBLE && MK_BYTES == 32
#define VL 4
#define V mk_f64x4
#define VU mk_f64x4u
#define VI mk_i64x4
#define VI32 mk_i32x4
#define VI32U mk_i32x4u
#define VLANES MK_L4
#elif MK_DOUBLE && MK_BYTES == 64
#define VL 8
#define V mk_f64x8
#define VU mk_f64x8u
#define VI mk_i64x8
#define VI32 mk_i32x8
#define VI32U mk_i32x8u
#define VLANES MK_L8
#elif MK_BYTES == 16
#define VL 4
#define V mk_f32x4
#define VU mk_f32x4u
#define VI mk_i32x4
#define VI32 mk_i32x4
#define VI32U mk_i32x4u
#define VLANES MK_L4
#elif MK_BYTES == 32
#define VL 8
#define V mk_f32x8
#define VU mk_f32x8u
#define VI mk_i32x8
#define VI32 mk_i32x8
#define VI32U mk_i32x8u
#define VLANES MK_L8
#elif MK_BYTES == 64
#define VL 16
#define V mk_f32x16
#define VU mk_f32x16u
#define VI mk_i32x16
#define VI32 mk_i32x16
#define VI32U mk_i32x16u
#define VLANES MK_L16
#else
#error "simd.h: MK_BYTES must be 0, 16, 32 or 64"
#endif
#define VLOAD(p) (*(const VU *)(p))
#define VSTORE(p, v) (*(VU *)(p) = (v))
#define MK_SPLAT_LANE(i) mk_splat_
/* s in every lane: a statement expression, so that s is evaluated once */
#define VSPLAT(s) __extension__({ const T mk_splat_ = (T)(s); (V){VLANES(MK_SPLAT_LANE)}; })
#define VPOS(v) __builtin_convertvector(-((VI)((v) > VSPLAT(0))), V)
#define VRELU(v) ((V)((VI)(v) & ~(VI)((v) < VSPLAT(0))))
#define VMAX0(v) ((V)((VI)(v) & ((VI)((v) > VSPLAT(0)) | (VI)((v) != (v)))))
/* fused where the unit's instruction set has FMA (table.c defines MINICNN_ISA_FMA) */
#if defined(MINICNN_ISA_FMA) && (defined(__x86_64__) || defined(__i386__))
#if MK_BYTES == 16 && MK_DOUBLE
#define MK_FMA_X86(a, b, c) _mm_fmadd_pd((__m128d)(a), (__m128d)(b), (__m128d)(c))
#elif MK_BYTES == 16
#define MK_FMA_X86(a, b, c) _mm_fmadd_ps((__m128)(a), (__m128)(b), (__m128)(c))
#elif MK_BYTES == 32 && MK_DOUBLE
#define MK_FMA_X86(a, b, c) _mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c))
#elif MK_BYTES == 32
#define MK_FMA_X86(a, b, c) _mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c))
#elif MK_DOUBLE
#define MK_FMA_X86(a, b, c) _mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c))
#else
#define MK_FMA_X86(a, b, c) _mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c))
#endif
#define VFMA(acc, a, b) ((V)MK_FMA_X86((a), (b), (acc)))
#elif defined(MINICNN_ISA_FMA) && defined(__aarch64__)
#if MK_DOUBLE
#define VFMA(acc, a, b) ((V)vfmaq_f64((float64x2_t)(acc), (float64x2_t)(a), (float64x2_t)(b)))
#else
#define VFMA(acc, a, b) ((V)vfmaq_f32((float32x4_t)(acc), (float32x4_t)(a), (float32x4_t)(b)))
#endif
#else
#define VFMA(acc, a, b) ((acc) + (a) * (b))
#endif
#endif

/* FN(name): name_f32x8 (element type and lanes); the scalar forms are name_f32x1 / name_f64x1 */
#undef MK_SFX
#undef FN
#if MK_DOUBLE
#define MK_SFX MK_CAT(_f64x, VL)
#else
#define MK_SFX MK_CAT(_f32x, VL)
#endif
#define FN(name) MK_CAT(name, MK_SFX)
#endif /* MK_TYPES_ONLY */
