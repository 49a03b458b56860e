/* The few atomic operations the kernels use to share work inside one parallel region without
 * a barrier: threads claim work items from a shared counter (fetch_add), count the items they
 * finished, and wait (spin, briefly) until every item of a phase is done.
 *
 * Why not an OpenMP barrier: with OMP_WAIT_POLICY=PASSIVE a sleeping worker takes 50-100 us
 * to wake up on a virtual machine, and a barrier would make the thread that is already running
 * wait for it.  With claimed work items the running thread simply takes more of them.
 *
 * gcc/clang use the __atomic builtins, MSVC the Interlocked functions; counters are `long`.
 * A waiting thread spins briefly and then yields its core (sched_yield / SwitchToThread). */
#ifndef MINICNN_ATOMICS_H
#define MINICNN_ATOMICS_H

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#define minicnn_yield() SwitchToThread()
#else
#include <sched.h>
#define minicnn_yield() sched_yield()
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static inline long minicnn_atomic_fetch_add(long *p, long v)
{
    return _InterlockedExchangeAdd((volatile long *)p, v);
}
static inline long minicnn_atomic_load(long *p)
{
    return _InterlockedCompareExchange((volatile long *)p, 0, 0); /* a full-barrier read */
}
static inline void minicnn_cpu_relax(void)
{
#if defined(_M_X64) || defined(_M_IX86)
    _mm_pause();
#else
    __yield();
#endif
}
#else
static inline long minicnn_atomic_fetch_add(long *p, long v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL);
}
static inline long minicnn_atomic_load(long *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void minicnn_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif

/* Wait until *p >= target: a short spin, then yielding the core every so often (on a busy
 * machine the thread we wait for may need this core to run). */
static inline void minicnn_wait_at_least(long *p, long target)
{
    int spins = 0;
    while (minicnn_atomic_load(p) < target) {
        minicnn_cpu_relax();
        if (++spins >= 4096) {
            minicnn_yield();
            spins = 0;
        }
    }
}

#endif
