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
    if ((unsigned)leaf > __get_cpuid_max((unsigned)leaf & 0x80000000u, NULL))
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

/* XCR0 bits: 1 SSE, 2 AVX (YMM upper halves), 5-7 AVX-512 (opmask, ZMM0-15 upper, ZMM16-31). */
static int os_saves(unsigned long long mask)
{
    unsigned r[4];
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 27))) /* OSXSAVE: the OS enabled XSAVE and XGETBV */
        return 0;
    return (xgetbv0() & mask) == mask;
}
#endif

int minicnn_cpu_always(void) { return 1; }

int minicnn_cpu_has_avx2_fma(void)
{
#ifdef MINICNN_X86
    unsigned r1[4], r7[4];
    cpuid(0, 0, r1);
    if (r1[0] < 7)
        return 0;
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    if (!(r1[2] & (1u << 12)) || !(r1[2] & (1u << 28)) || !(r7[1] & (1u << 5))) /* FMA, AVX, AVX2 */
        return 0;
    if (!os_saves(0x6))
        return 0;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
#endif
    return 1;
#else
    return 0;
#endif
}

int minicnn_cpu_has_avx512(void)
{
#ifdef MINICNN_X86
    unsigned r[4];
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31); /* F, DQ, BW, VL */
    if (!minicnn_cpu_has_avx2_fma())
        return 0;
    cpuid(7, 0, r);
    if ((r[1] & need) != need)
        return 0;
    if (!os_saves(0xE6))
        return 0;
#if defined(__GNUC__) || defined(__clang__)
    if (!__builtin_cpu_supports("avx512f"))
        return 0;
#endif
    return 1;
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
