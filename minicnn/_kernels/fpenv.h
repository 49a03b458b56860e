/* Denormal (subnormal) flushing inside a kernel call, per thread, restored on exit.
 *
 * Why: a float operand below ~1.2e-38 sends x86 cores down a microcode path that can be 10-100x
 * slower; deep networks produce such values in late training (tiny gradients, ReLU tails).  The
 * kernels therefore flush them (FTZ: denormal results become 0; DAZ: denormal inputs read as 0),
 * but only for their own duration: each thread's floating-point environment is saved when it
 * starts its share of a call and restored when it ends it, so numpy, Python and other libraries
 * keep IEEE semantics (no process-wide fast-math, unlike -ffast-math's crtfastmath.o).
 *
 * The control register (x86 MXCSR, AArch64 FPCR) is per thread.  The rule that keeps every
 * thread's environment intact:
 *
 *     a thread flushes only around work that starts no OpenMP team.
 *
 * minicnn_parallel_for (parallel.h) brackets each team thread's share inside the team's own
 * region, and a serial section (one thread, no team inside) brackets itself.  A team is never
 * started from a flushed thread: a worker that the OpenMP runtime creates copies its creator's
 * control register, so a worker first created by a flushed caller would start flushed, save that
 * as "its" state and keep flushing after every later call (a later kernel that does not flush
 * then reads subnormal inputs as zeros on that worker only).  Nothing here depends on OpenMP
 * reusing the same pool threads from one region to the next.
 *
 * Whether a call flushes depends on its size only (the tuning table's flush_min_work), never on
 * the thread count, so results stay identical at any thread count.  Each thread keeps a nesting
 * depth in thread-local storage: only the outermost enter/exit pair touches its register (two
 * register accesses, a few nanoseconds).  Elsewhere (other CPUs, compilers without the intrinsics) both
 * are no-ops.
 */
#ifndef MINICNN_FPENV_H
#define MINICNN_FPENV_H

#if defined(_MSC_VER)
#define MINICNN_TLS __declspec(thread)
#else
#define MINICNN_TLS __thread
#endif

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define MINICNN_FPENV_FLUSH 1
#define MINICNN_FPENV_BITS 0x8040u /* MXCSR bit 15 FTZ | bit 6 DAZ */
static inline unsigned long long minicnn_fpenv_get(void) { return _mm_getcsr(); }
static inline void minicnn_fpenv_set(unsigned long long v) { _mm_setcsr((unsigned int)v); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define MINICNN_FPENV_FLUSH 1
#define MINICNN_FPENV_BITS (1ull << 24) /* FPCR.FZ */
static inline unsigned long long minicnn_fpenv_get(void) {
    unsigned long long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}
static inline void minicnn_fpenv_set(unsigned long long v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }
#else
#define MINICNN_FPENV_FLUSH 0
#endif

#if MINICNN_FPENV_FLUSH
static MINICNN_TLS unsigned long long minicnn_fp_saved = 0;
static MINICNN_TLS int minicnn_fp_depth = 0;

/* This thread flushes from now on (when flush is set), until the matching minicnn_fp_exit. */
static inline void minicnn_fp_enter(int flush)
{
    if (flush && minicnn_fp_depth++ == 0) {
        minicnn_fp_saved = minicnn_fpenv_get();
        minicnn_fpenv_set(minicnn_fp_saved | MINICNN_FPENV_BITS);
    }
}

static inline void minicnn_fp_exit(int flush)
{
    if (flush && minicnn_fp_depth > 0 && --minicnn_fp_depth == 0)
        minicnn_fpenv_set(minicnn_fp_saved);
}

/* 1 while this thread is inside an enter/exit pair of this extension module (for a debug check:
 * no team may start from a flushed thread). */
static inline int minicnn_fp_active(void) { return minicnn_fp_depth > 0; }
#else
static inline void minicnn_fp_enter(int flush) { (void)flush; }
static inline void minicnn_fp_exit(int flush) { (void)flush; }
static inline int minicnn_fp_active(void) { return 0; }
#endif

#endif
