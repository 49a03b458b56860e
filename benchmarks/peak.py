#!/usr/bin/env python3
"""The FP32 fused multiply-add peak of this CPU, per core and on all cores, so that every
benchmark figure can also be read as a fraction of what the hardware can do.

A small C loop of independent FMA chains (enough accumulators to hide the FMA latency on every
FMA pipe) is compiled at run time with the system compiler for the widest vectors this CPU has
(AVX-512 if /proc/cpuinfo lists avx512f, else AVX2+FMA) and run on 1 thread and on every core
(pthreads, started together behind a barrier).  Each figure is the best of repeated timed
windows: a peak is what the core does when nothing else runs, and a shared machine only ever
takes speed away.

The result is cached in ``$XDG_CACHE_HOME/minicnn/peak.json`` (``~/.cache/...``) together with
the CPU model and flags it was measured on; ``minicnn.utils.profile`` reads it from there (as
"FMA peak") when the CPU matches, and otherwise measures a lower bound with minicnn's own GEMM
("GEMM peak").

  python benchmarks/peak.py                 # measure (about 3 s), print, cache
  python benchmarks/peak.py --cached        # print the cached value if it fits this CPU
  python benchmarks/peak.py --json          # one JSON line
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
from minicnn.utils.peak import cached_fma_peak, cpu_info, fma_peak_cache_path, isa_name

_C_SOURCE = r"""
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(WIDE512)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float SUM(__m256 v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[7]; }
#endif
/* 4-5 cycles of FMA latency x 2 FMA pipes = 8-10 chains in flight; 12 leave slack. */
#define CHAINS 12

static double seconds;
static pthread_barrier_t start;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Best FLOP/s of one thread over windows of about 20 ms during `seconds`.  The chains converge
   to 1 (x <- 0.999 x + 0.001), so no value overflows or turns subnormal. */
static void *run(void *out) {
    vec acc[CHAINS];
    vec a = SET1(0.999f), b = SET1(0.001f);
    for (int j = 0; j < CHAINS; j++) acc[j] = SET1((float)j);
    long iters = 1 << 14;
    double best = 0;
    pthread_barrier_wait(&start);
    double stop = now() + seconds;
    while (now() < stop) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
            for (int j = 0; j < CHAINS; j++) acc[j] = FMA(acc[j], a, b);
        }
        double dt = now() - t0;
        double flops = (double)iters * CHAINS * LANES * 2 / dt;
        if (flops > best) best = flops;
        if (dt < 0.02) iters *= 2;
    }
    float s = 0;
    for (int j = 0; j < CHAINS; j++) s += SUM(acc[j]);
    ((double *)out)[0] = best;
    ((double *)out)[1] = s;  /* a use of the results */
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    seconds = argc > 2 ? atof(argv[2]) : 1.0;
    pthread_t tid[256];
    double res[256][2];
    if (threads < 1 || threads > 256) return 2;
    pthread_barrier_init(&start, NULL, threads);
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, run, res[t]);
    double total = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += res[t][0];
    }
    printf("%d %.0f %d\n", threads, total, LANES * 32);  /* threads, FLOP/s, vector bits */
    return 0;
}
"""


def _compile(workdir, simd):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("peak.py needs a C compiler (cc, gcc or clang) on PATH, or CC=...")
    if "avx512f" in simd:
        flags = ["-mavx512f", "-mfma", "-DWIDE512"]
    elif "avx2" in simd and "fma" in simd:
        flags = ["-mavx2", "-mfma"]
    else:
        raise RuntimeError(f"peak.py measures x86 FMA units (AVX2+FMA or AVX-512); this CPU lists "
                           f"{simd or 'neither'}")
    src, exe = os.path.join(workdir, "peak.c"), os.path.join(workdir, "peak")
    with open(src, "w") as f:
        f.write(_C_SOURCE)
    subprocess.run([cc, "-O2", *flags, src, "-o", exe, "-pthread"], check=True,
                   capture_output=True, text=True)
    return exe


def measure(seconds=1.0, threads=None):
    """Measure and return a dict: per-core and all-core FP32 FMA GFLOP/s, CPU, ISA, vector width."""
    model, simd = cpu_info()
    threads = threads or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="minicnn-peak-") as d:
        exe = _compile(d, simd)
        runs = {}
        for t in sorted({1, threads}):
            out = subprocess.run([exe, str(t), str(seconds)], check=True, capture_output=True,
                                 text=True).stdout.split()
            runs[t] = float(out[1]) / 1e9
            bits = int(out[2])
    return dict(cpu=model, simd=simd, isa=isa_name(simd), vector_bits=bits,
                gflops_per_core=round(runs[1], 1), cores=threads,
                gflops_all_cores=round(runs[threads], 1), seconds_per_test=seconds)


def save(result):
    path = fma_peak_cache_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + f".tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
    return path


def load_or_measure():
    """The cached peak of this CPU, measured and cached first if there is none."""
    res = cached_fma_peak()
    if res is None:
        res = measure()
        save(res)
    return res


def describe(res):
    return (f"FP32 FMA peak on {res['cpu']} ({res['isa']}, {res['vector_bits']}-bit vectors): "
            f"{res['gflops_per_core']:.1f} GFLOP/s per core, {res['gflops_all_cores']:.1f} on "
            f"{res['cores']} cores")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=1.0, help="per test (default 1.0)")
    p.add_argument("--threads", type=int, default=None, help="all-core test threads (default: all CPUs)")
    p.add_argument("--cached", action="store_true", help="print the cached value instead of measuring")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(argv)
    res = cached_fma_peak() if args.cached else None
    if args.cached and res is None:
        print(f"no cached peak for this CPU in {fma_peak_cache_path()}: run without --cached",
              file=sys.stderr)
        return 1
    if res is None:
        res = measure(args.seconds, args.threads)
        save(res)
    print(json.dumps(res) if args.json else describe(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
