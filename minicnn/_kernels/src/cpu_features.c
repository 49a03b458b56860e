/* Run-time CPU feature detection: the one check behind every kernel table's runnable().
 *
 * A SIMD kernel may run only when the CPU has the instructions AND the operating system saves
 * the wider register state on context switches (XCR0, read with XGETBV, after checking
 * OSXSAVE).  Both are checked here with CPUID directly, on gcc/clang and on MSVC alike; on
 * gcc/clang __builtin_cpu_supports is consulted as well, as a second opinion. */
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define MINICNN_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void cpuid(int leaf, int sub, unsigned r[4])
{
    int regs[4];
    __cpuidex(regs, leaf, sub);
    r[0] = (unsigned)regs[0]; r[1] = (unsigned)regs[1]; r[2] = (unsigned)regs[2]; r[3] = (unsigned)regs[3];
}
static unsigned long long xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void cpuid(int leaf, int sub, unsigned r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    if ((unsigned)leaf > (unsigned)__get_cpuid_max((unsigned)leaf & 0x80000000u, NULL)) /* int in clang's cpuid.h */
        return;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    /* the xgetbv mnemonic needs -mxsave; the raw opcode does not */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

/* The CPU has every feature bit of CPUID leaf 1 ECX (ecx1) and leaf 7 EBX (ebx7), and the OS saves
 * the register state of every XCR0 bit in xcr0 (1 SSE, 2 AVX: YMM upper halves, 5-7 AVX-512:
 * opmask, ZMM0-15 upper, ZMM16-31). */
static int x86_has(unsigned ecx1, unsigned ebx7, unsigned long long xcr0)
{
    unsigned r1[4], r7[4];
    cpuid(0, 0, r1);
    if (r1[0] < 7)
        return 0;
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    if ((r1[2] & ecx1) != ecx1 || (r7[1] & ebx7) != ebx7)
        return 0;
    if (!(r1[2] & (1u << 27))) /* OSXSAVE: the OS enabled XSAVE and XGETBV */
        return 0;
    return (xgetbv0() & xcr0) == xcr0;
}

#if defined(__GNUC__) || defined(__clang__)
#define SECOND_OPINION(feature) (__builtin_cpu_init(), __builtin_cpu_supports(feature))
#else
#define SECOND_OPINION(feature) 1
#endif
#endif

int minicnn_cpu_always(void) { return 1; }

#define AVX2_FMA_ECX1 ((1u << 12) | (1u << 28)) /* FMA, AVX */
#define AVX2_EBX7 (1u << 5)

int minicnn_cpu_has_avx2_fma(void)
{
#ifdef MINICNN_X86
    return x86_has(AVX2_FMA_ECX1, AVX2_EBX7, 0x6) && SECOND_OPINION("avx2") && SECOND_OPINION("fma");
#else
    return 0;
#endif
}

int minicnn_cpu_has_avx512(void)
{
#ifdef MINICNN_X86
    const unsigned f_dq_bw_vl = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    return x86_has(AVX2_FMA_ECX1, AVX2_EBX7 | f_dq_bw_vl, 0xE6) && SECOND_OPINION("avx2") &&
           SECOND_OPINION("fma") && SECOND_OPINION("avx512f");
#else
    return 0;
#endif
}

int minicnn_cpu_has_neon(void)
{
#if defined(__aarch64__) || defined(_M_ARM64)
    return 1; /* Advanced SIMD is part of the AArch64 baseline */
#else
    return 0;
#endif
}
