#!/usr/bin/env python3
"""minicnn's GEMM against numpy's (OpenBLAS), GFLOP/s side by side, at 1 and 2 threads.

    python benchmarks/bench_gemm.py                       # float32, threads 1 and 2, all shapes
    python benchmarks/bench_gemm.py --threads 1 --sizes 512,1024 --no-conv
    python benchmarks/bench_gemm.py --dtype float64 --json out.jsonl

Shapes: square 256..4096 and the im2col/dense GEMMs of ../shared/baselines/bench_gemm.py
(C[M,N] = A[M,K] @ B[K,N], GFLOP = 2*M*N*K/1e9; "A^T" rows use a transposed view of a
C-contiguous (K, M) array, as a conv's weight gradient does).

How it is measured, and why (the machine is shared and noisy):
  * One fresh subprocess per thread count, with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set,
    threadpoolctl limiting OpenBLAS and minicnn.set_num_threads inside it.
  * Samples are paired: numpy, then minicnn (the order alternates), each sample timing enough
    calls to last --min-time; a pause follows every numpy sample when threads > 1, so that
    OpenBLAS workers still spinning for more work have gone to sleep before minicnn runs.
    Both libraries thus see the same background load; the ratio column is the median of the
    per-pair ratios (minicnn / numpy, > 1 means minicnn is faster); GFLOP/s are medians.
  * minicnn is called through its public entry point minicnn.linalg.gemm(a, b, c) and numpy
    through np.matmul(a, b, out=c): both include their Python-level overhead.
Set OMP_WAIT_POLICY=PASSIVE for the run (it is passed on to the children).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)

SQUARE = [256, 512, 1024, 2048, 4096]

# name, M, K, N, A is a transposed view, description (same list as ../shared/baselines/bench_gemm.py)
SHAPES = [
    ("ref_conv1_fwd", 64 * 26 * 26, 9, 32, False, "ref CNN conv1 fwd: N=64 1->32 28x28 k3"),
    ("ref_conv2_fwd", 64 * 11 * 11, 288, 64, False, "ref CNN conv2 fwd: N=64 32->64 13x13 k3"),
    ("ref_conv2_bwd_w", 288, 64 * 11 * 11, 64, True, "ref CNN conv2 dW = cols^T @ dY"),
    ("ref_conv2_bwd_x", 64 * 11 * 11, 64, 288, False, "ref CNN conv2 dcols = dY @ W"),
    ("c64_32x32_fwd", 32 * 32 * 32, 576, 64, False, "N=32 64->64 32x32 k3 pad1 fwd"),
    ("c64_32x32_bwd_w", 576, 32 * 32 * 32, 64, True, "N=32 64->64 32x32 dW"),
    ("c64_32x32_bwd_x", 32 * 32 * 32, 64, 576, False, "N=32 64->64 32x32 dcols"),
    ("c128_16x16_fwd", 32 * 16 * 16, 1152, 128, False, "N=32 128->128 16x16 k3 pad1 fwd"),
    ("lenet_conv1_fwd", 64 * 24 * 24, 25, 6, False, "LeNet conv1 fwd: N=64 1->6 28x28 k5"),
    ("lenet_conv2_fwd", 64 * 8 * 8, 150, 16, False, "LeNet conv2 fwd: N=64 6->16 12x12 k5"),
    ("ref_dense1_fwd", 64, 1600, 128, False, "ref CNN Dense 1600->128, batch 64"),
    ("ref_dense2_fwd", 64, 128, 10, False, "ref CNN Dense 128->10, batch 64"),
]
LIBS = ("numpy", "minicnn")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--sizes", default=",".join(map(str, SQUARE)), help="square sizes (default 256..4096)")
    p.add_argument("--no-conv", action="store_true", help="skip the im2col/dense shapes")
    p.add_argument("--only", default="", help="comma-separated shape names to keep (e.g. sq512,c64_32x32_fwd)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--repeats", type=int, default=9, help="paired samples per shape (default 9)")
    p.add_argument("--min-time", type=float, default=0.1,
                   help="seconds per sample (default 0.1: after the pause that follows a numpy sample, "
                        "the first calls run on an idle, slow-to-wake second core; short samples overweight them)")
    p.add_argument("--unpacked-a", default="", metavar="ROWA,COLA",
                   help="tuning: largest n for which minicnn reads row-major / transposed A unpacked (0: never)")
    p.add_argument("--json", help="append one JSON line with every number to this file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def shape_list(args):
    shapes = [(f"sq{s}", s, s, s, False, f"square {s}") for s in map(int, args.sizes.split(",")) if s > 0]
    if not args.no_conv:
        shapes += SHAPES
    if args.only:
        keep = set(args.only.split(","))
        shapes = [s for s in shapes if s[0] in keep]
    return shapes


def calibrate(fn, min_time):
    """Calls per sample so that one sample lasts about min_time."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time or n >= 1 << 20:
            return n
        n = max(n * 2, int(n * min_time / max(dt, 1e-9) * 1.2))


def sample(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def run_child(args):
    import numpy as np
    from threadpoolctl import threadpool_limits

    import minicnn

    threads = int(args.child)
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    out = {"kernel": minicnn._config.config()["gemm_kernel"], "results": {}}
    pause = 0.2 if threads > 1 else 0.0
    with threadpool_limits(limits=threads):
        minicnn.set_num_threads(threads)
        for name, m, k, n, trans_a, _ in shape_list(args):
            a = rng.standard_normal((k, m)).astype(dtype).T if trans_a else rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            c = np.empty((m, n), dtype)
            fns = {"numpy": lambda: np.matmul(a, b, out=c), "minicnn": lambda: minicnn.linalg.gemm(a, b, c)}
            calls = {}
            for lib in LIBS:
                calls[lib] = calibrate(fns[lib], args.min_time)
                time.sleep(pause)
            secs = {lib: [] for lib in LIBS}
            for rep in range(args.repeats):
                for lib in (LIBS if rep % 2 == 0 else LIBS[::-1]):
                    secs[lib].append(sample(fns[lib], calls[lib]))
                    if lib == "numpy":
                        time.sleep(pause)
            flop = 2.0 * m * n * k
            out["results"][name] = {
                "numpy": flop / statistics.median(secs["numpy"]) / 1e9,
                "minicnn": flop / statistics.median(secs["minicnn"]) / 1e9,
                "ratio": statistics.median(x / y for x, y in zip(secs["numpy"], secs["minicnn"])),
            }
    print(json.dumps(out))


def main():
    args = parse_args()
    if args.child:
        run_child(args)
        return
    shapes = shape_list(args)
    threads = [int(t) for t in args.threads.split(",")]
    here = os.path.abspath(__file__)
    t_start = time.time()
    results = {}
    kernel = "?"
    for t in threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        if args.unpacked_a:  # the tuning table is read once, at import (minicnn._kernels._tuning)
            rowa, cola = args.unpacked_a.split(",")
            env["MINICNN_TUNING"] = f"gemm_rowa_max_n={rowa},gemm_cola_max_n={cola}"
        cmd = [sys.executable, here, "--child", str(t), "--sizes", args.sizes, "--dtype", args.dtype,
               "--repeats", str(args.repeats), "--min-time", str(args.min_time), "--only", args.only]
        cmd += ["--no-conv"] if args.no_conv else []
        res = json.loads(subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE,
                                        text=True).stdout.strip().splitlines()[-1])
        kernel = res["kernel"]
        results[t] = res["results"]

    import numpy as np

    print(f"# GEMM {args.dtype}, GFLOP/s (medians of {args.repeats} paired samples), minicnn kernel {kernel}, "
          f"numpy {np.__version__}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    print("| shape | M | K | N | A^T | threads | numpy | minicnn | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for t in threads:
        for name, m, k, n, trans_a, desc in shapes:
            r = results[t][name]
            row = dict(name=name, M=m, K=k, N=n, transA=trans_a, threads=t, desc=desc, **r)
            rows.append(row)
            print(f"| {name} | {m} | {k} | {n} | {'T' if trans_a else ''} | {t} | {r['numpy']:.1f} | "
                  f"{r['minicnn']:.1f} | {r['ratio']:.2f} |")
    print(f"# wall {time.time() - t_start:.0f} s")
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"bench": "gemm", "dtype": args.dtype, "kernel": kernel, "cmd": " ".join(sys.argv),
                                "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "results": rows}) + "\n")


if __name__ == "__main__":
    main()
