/* Denormal (subnormal) flushing inside a kernel call, restored on exit.
 *
 * Why: a float operand below ~1.2e-38 sends x86 cores down a microcode path that can be 10-100x
 * slower; deep networks produce such values in late training (tiny gradients, ReLU tails).  The
 * kernels therefore flush them (FTZ: denormal results become 0; DAZ: denormal inputs read as 0),
 * but only for their own duration: the caller's floating-point environment is saved at entry
 * and restored at exit, so numpy, Python and other libraries keep IEEE semantics (no process-wide
 * fast-math, unlike -ffast-math's crtfastmath.o).
 *
 * The control register (x86 MXCSR, AArch64 FPCR) is per thread, so a kernel that runs an OpenMP
 * team sets it on every team thread:
 *
 *     fp = minicnn_fpenv_enter_work(nt, work);   // nt = threads the kernel may use
 *     ... kernel, including its parallel regions with <= nt threads ...
 *     minicnn_fpenv_exit(fp);
 *
 * Kernels with parallel regions of their own can avoid the two extra regions (each wakes the
 * sleeping workers again under OMP_WAIT_POLICY=PASSIVE): flush the calling thread with
 * minicnn_fpenv_enter_work(1, work), and have every team thread call minicnn_fpenv_enter_thread()
 * / minicnn_fpenv_exit_thread() at the start and end of its part of each region, as _conv.pyx
 * does (nested on the calling thread, so no-ops there).
 *
 * Each thread keeps its saved state and a nesting depth in thread-local storage; only the
 * outermost enter/exit pair of a thread touches its register.  With nt <= 1 no parallel region
 * is started (two register accesses: a few nanoseconds).  OpenMP reuses the same pool threads
 * for teams of the same size, so the exit team restores the threads the enter team changed.
 * Elsewhere (other CPUs, compilers without the intrinsics) both calls are no-ops.
 */
#ifndef MINICNN_FPENV_H
#define MINICNN_FPENV_H

#include "omp_compat.h"

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
static MINICNN_TLS unsigned long long minicnn_fpenv_saved = 0;
static MINICNN_TLS int minicnn_fpenv_depth = 0;

static inline void minicnn_fpenv_enter_thread(void) {
    if (minicnn_fpenv_depth++ == 0) {
        minicnn_fpenv_saved = minicnn_fpenv_get();
        minicnn_fpenv_set(minicnn_fpenv_saved | MINICNN_FPENV_BITS);
    }
}

static inline void minicnn_fpenv_exit_thread(void) {
    /* depth 0: this thread was not in the enter team; leave its register alone */
    if (minicnn_fpenv_depth > 0 && --minicnn_fpenv_depth == 0)
        minicnn_fpenv_set(minicnn_fpenv_saved);
}
#else
static inline void minicnn_fpenv_enter_thread(void) {}
static inline void minicnn_fpenv_exit_thread(void) {}
#endif

/* Flush denormals on the calling thread and, with nt > 1, on an OpenMP team of nt threads.
 * Returns nt, to be handed to minicnn_fpenv_exit. */
static inline int minicnn_fpenv_enter(int nt) {
#if MINICNN_FPENV_FLUSH && defined(_OPENMP)
    if (nt > 1 && !omp_in_parallel()) {
        #pragma omp parallel num_threads(nt)
        minicnn_fpenv_enter_thread();
        /* the calling thread is the team's master: entered inside the region */
        return nt;
    }
#endif
    minicnn_fpenv_enter_thread();
    return nt;
}

/* Calls with less work than this do not flush at all, on any thread: waking the OpenMP team to
 * set its registers costs ~10-20 us (OMP_WAIT_POLICY=PASSIVE, measured 1.6-1.9x on an 8x8 conv),
 * more than subnormals can cost such a call.  The choice depends on the problem size only, never
 * on the thread count, so results stay identical at any thread count. */
#define MINICNN_FPENV_MIN_WORK (1LL << 22)

/* minicnn_fpenv_enter(nt) for calls of at least MINICNN_FPENV_MIN_WORK multiply-adds (or
 * element operations); otherwise nothing, and -1 tells minicnn_fpenv_exit to do nothing. */
static inline int minicnn_fpenv_enter_work(int nt, long long work) {
    if (work < MINICNN_FPENV_MIN_WORK)
        return -1;
    return minicnn_fpenv_enter(nt);
}

/* Restore what minicnn_fpenv_enter(nt) changed; call with the value it returned. */
static inline void minicnn_fpenv_exit(int nt) {
    if (nt < 0)
        return;
#if MINICNN_FPENV_FLUSH && defined(_OPENMP)
    if (nt > 1 && !omp_in_parallel()) {
        #pragma omp parallel num_threads(nt)
        minicnn_fpenv_exit_thread();
        return;
    }
#endif
    (void)nt;
    minicnn_fpenv_exit_thread();
}

#endif
