/* The one parallel loop of the kernels: every OpenMP team they start is started here.
 *
 *     rc = minicnn_parallel_for(units, threads, scratch_bytes, flush, dynamic, fn, ctx);
 *
 * runs fn(ctx, u, scratch) for every work unit u in [0, units) on at most `threads` threads
 * (never more threads than units; one thread: the calling thread, no team).  Each thread
 *   - gets its own scratch of scratch_bytes (malloc'ed once per thread and call, NULL when 0),
 *   - flushes subnormals for its share when flush is set (fpenv.h: entered and left inside the
 *     region by every team thread, so nothing depends on which pool threads OpenMP hands out),
 * and units are handed out dynamically (a core taken by another process then holds up less) or
 * statically (contiguous ranges; with units == threads, unit t on thread t).  Which thread runs
 * a unit never changes how the unit is computed.
 *
 * fn returns 0, or nonzero on failure (out of memory); a thread stops taking units after its
 * first failure.  Returns 0, or -1 when any unit or any scratch allocation failed.
 *
 * Parallelism never nests: fn runs serial code only (a GEMM inside gets num_threads = 1).
 */
#ifndef MINICNN_PARALLEL_H
#define MINICNN_PARALLEL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "fpenv.h"
#include "omp_compat.h"

typedef int (*minicnn_unit_fn)(void *ctx, ptrdiff_t unit, void *scratch);

/* Units [u0, u1) on the calling thread, in order; 1 at the first failure. */
static inline int minicnn_run_units(ptrdiff_t u0, ptrdiff_t u1, minicnn_unit_fn fn, void *ctx, void *scratch)
{
    ptrdiff_t u;
    for (u = u0; u < u1; u++)
        if (fn(ctx, u, scratch))
            return 1;
    return 0;
}

static inline int minicnn_parallel_for(ptrdiff_t units, int threads, size_t scratch_bytes, int flush,
                                       int dynamic, minicnn_unit_fn fn, void *ctx)
{
    int failed = 0;
    if (units <= 0)
        return 0;
    if (threads > units)
        threads = (int)units;
#ifdef _OPENMP
    if (threads > 1) {
#ifdef MINICNN_DEBUG
        if (minicnn_fp_active()) { /* a worker created now would inherit the flushed register */
            fprintf(stderr, "minicnn: internal error: a parallel region started from a flushed thread\n");
            abort();
        }
#endif
        #pragma omp parallel num_threads(threads) reduction(|:failed)
        {
            void *scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
            int mine = scratch_bytes && scratch == NULL;
            ptrdiff_t u;
            minicnn_fp_enter(flush);
            if (dynamic) {
                #pragma omp for schedule(dynamic) nowait
                for (u = 0; u < units; u++)
                    if (!mine && fn(ctx, u, scratch))
                        mine = 1;
            } else {
                #pragma omp for schedule(static) nowait
                for (u = 0; u < units; u++)
                    if (!mine && fn(ctx, u, scratch))
                        mine = 1;
            }
            minicnn_fp_exit(flush);
            free(scratch);
            failed |= mine;
        }
        return failed ? -1 : 0;
    }
#endif
    (void)dynamic;
    {
        void *scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
        if (scratch_bytes && scratch == NULL)
            return -1;
        minicnn_fp_enter(flush);
        failed = minicnn_run_units(0, units, fn, ctx, scratch);
        minicnn_fp_exit(flush);
        free(scratch);
    }
    return failed ? -1 : 0;
}

#endif
