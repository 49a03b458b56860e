/* OpenMP when the build has it, serial no-op stand-ins when it does not.
 * Every kernel includes this instead of <omp.h>, so MINICNN_NO_OPENMP=1 builds still compile. */
#ifndef MINICNN_OMP_COMPAT_H
#define MINICNN_OMP_COMPAT_H

#ifdef _OPENMP
#include <omp.h>
#define MINICNN_OPENMP_VERSION _OPENMP
#else
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#define MINICNN_OPENMP_VERSION 0
#endif

#if defined(__clang__)
#define MINICNN_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define MINICNN_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define MINICNN_STR2(x) #x
#define MINICNN_STR(x) MINICNN_STR2(x)
#define MINICNN_COMPILER "msvc " MINICNN_STR(_MSC_FULL_VER)
#else
#define MINICNN_COMPILER "unknown"
#endif

#endif
