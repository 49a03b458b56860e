#!/usr/bin/env python3
"""minicnn's conv and pooling kernels vs PyTorch, side by side in one run (float32, ms, medians).

Shapes are those of ../shared/baselines/bench_layers.py.  PyTorch runs in NCHW (its native
layout, default oneDNN path), minicnn in NHWC (its native layout); the same tensors otherwise.

  conv   fwd:      y = conv(x, w) + b
         fwd+bwd:  y, then dx, dw, db for a given dy  (minicnn: forward, backward_input, backward_kernel;
                   torch: autograd.grad(y, (x, w, b), dy))
  pool   2x2 stride 2 max and average pooling, fwd+bwd (the same pairing)

ratio = minicnn time / torch time (< 1: minicnn is faster).  Targets (issue 3): conv fwd+bwd <= 1.0,
pooling fwd+bwd <= 0.5.  Without torch the minicnn columns are still printed.

  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_layers.py             # 1 and 2 threads
  python benchmarks/bench_layers.py --threads 2 --only conv --repeats 9
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

import _checkout  # noqa: E402,F401  (minicnn from an installed wheel or this checkout)
import minicnn  # noqa: E402
from minicnn._kernels import conv as kconv  # noqa: E402
from minicnn._kernels import pool as kpool  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the benchmark still times minicnn alone
    torch = None

# name, N, Cin, Cout, H, W, k, pad
CONVS = [
    ("ref_conv1", 64, 1, 32, 28, 28, 3, 0),
    ("ref_conv2", 64, 32, 64, 13, 13, 3, 0),
    ("c64_32x32_p1", 32, 64, 64, 32, 32, 3, 1),
    ("c128_16x16_p1", 32, 128, 128, 16, 16, 3, 1),
    ("lenet_conv1", 64, 1, 6, 28, 28, 5, 0),
    ("lenet_conv2", 64, 6, 16, 12, 12, 5, 0),
]
# name, N, C, H, W (2x2 stride-2 pools of the conv outputs above)
POOLS = [
    ("ref_pool1", 64, 32, 26, 26),
    ("ref_pool2", 64, 64, 11, 11),
    ("p_64x32x32", 32, 64, 32, 32),
    ("p_128x16x16", 32, 128, 16, 16),
    ("lenet_pool1", 64, 6, 24, 24),
    ("lenet_pool2", 64, 16, 8, 8),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=7, help="samples per timing; the median is reported")
    p.add_argument("--min-time", type=float, default=0.04, help="seconds per sample")
    p.add_argument("--only", default="conv,pool", help="comma list: conv,pool")
    return p.parse_args(argv)


def _calls_for(fn, min_time):
    """How many calls make one sample last >= min_time (after a warm-up)."""
    for _ in range(2):
        fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return n
        n = max(n * 2, int(n * min_time / max(dt, 1e-9) * 1.2))


def _sample(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e3


def bench(fns, repeats, min_time):
    """Median milliseconds per call of each function in ``fns``.

    The functions' samples are interleaved (a b a b ...), so that load from other processes on a
    shared machine hits all of them alike and the ratios stay meaningful.
    """
    counts = [_calls_for(fn, min_time) for fn in fns]
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, n, out in zip(fns, counts, samples):
            out.append(_sample(fn, n))
    return [float(np.median(s)) for s in samples]


def conv_rows(args, threads):
    rows = []
    rng = np.random.default_rng(0)
    for name, N, Cin, Cout, H, W, k, pad in CONVS:
        x = rng.standard_normal((N, H, W, Cin), dtype=np.float32)
        w = (rng.standard_normal((k, k, Cin, Cout), dtype=np.float32) / np.sqrt(Cin * k * k)).astype(np.float32)
        b = rng.standard_normal(Cout, dtype=np.float32)
        padding = ((pad, pad), (pad, pad))
        y = kconv.conv2d_forward(x, w, b, padding=padding)
        dy = rng.standard_normal(y.shape, dtype=np.float32)

        def fwd():
            return kconv.conv2d_forward(x, w, b, padding=padding)

        def fwdbwd():
            kconv.conv2d_forward(x, w, b, padding=padding)
            kconv.conv2d_backward_input(dy, w, x.shape, padding=padding)
            return kconv.conv2d_backward_kernel(x, dy, w.shape, padding=padding)

        row = {"name": name, "shape": f"N={N} {Cin}->{Cout} {H}x{W} k{k} pad{pad}"}
        if torch is None:
            with minicnn.num_threads(threads):
                row["ours_fwd"], row["ours_fwdbwd"] = bench([fwd, fwdbwd], args.repeats, args.min_time)
        else:
            tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
            tw = torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
            tb = torch.from_numpy(b)
            tdy = torch.from_numpy(dy.transpose(0, 3, 1, 2).copy())
            xg, wg, bg = (t.clone().requires_grad_(True) for t in (tx, tw, tb))
            with torch.no_grad():
                err = np.abs(F.conv2d(tx, tw, tb, padding=pad).numpy().transpose(0, 2, 3, 1) - y).max()
            row["max_err"] = float(err)

            def tfwd():
                with torch.no_grad():
                    return F.conv2d(tx, tw, tb, padding=pad)

            def tfwdbwd():
                out = F.conv2d(xg, wg, bg, padding=pad)
                return torch.autograd.grad(out, (xg, wg, bg), tdy)

            torch.set_num_threads(threads)
            with minicnn.num_threads(threads):
                row["ours_fwd"], row["torch_fwd"], row["ours_fwdbwd"], row["torch_fwdbwd"] = bench(
                    [fwd, tfwd, fwdbwd, tfwdbwd], args.repeats, args.min_time)
        rows.append(row)
        print(f"  {name:14s} done", file=sys.stderr, flush=True)
    return rows


def pool_rows(args, threads):
    rows = []
    rng = np.random.default_rng(1)
    for name, N, C, H, W in POOLS:
        x = rng.standard_normal((N, H, W, C), dtype=np.float32)
        dy = rng.standard_normal((N, H // 2, W // 2, C), dtype=np.float32)

        def maxfb():
            y, arg = kpool.max_pool2d_forward(x, 2)
            return kpool.max_pool2d_backward(dy, arg, x.shape)

        def avgfb():
            kpool.avg_pool2d_forward(x, 2)
            return kpool.avg_pool2d_backward(dy, x.shape, 2)

        row = {"name": name, "shape": f"N={N} C={C} {H}x{W} 2x2/2"}
        if torch is None:
            with minicnn.num_threads(threads):
                row["ours_max"], row["ours_avg"] = bench([maxfb, avgfb], args.repeats, args.min_time)
        else:
            tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
            tdy = torch.from_numpy(dy.transpose(0, 3, 1, 2).copy())
            torch.set_num_threads(threads)
            with minicnn.num_threads(threads):
                row["ours_max"], row["torch_max"], row["ours_avg"], row["torch_avg"] = bench(
                    [maxfb, lambda: torch.autograd.grad(F.max_pool2d(tx, 2), tx, tdy),
                     avgfb, lambda: torch.autograd.grad(F.avg_pool2d(tx, 2), tx, tdy)], args.repeats, args.min_time)
        rows.append(row)
    return rows


def ratio(row, ours, theirs):
    return f"{row[ours] / row[theirs]:.2f}" if theirs in row else "-"


def fmt(row, key):
    return f"{row[key]:.3f}" if key in row else "-"


def main():
    args = parse_args()
    only = args.only.split(",")
    if torch is None:
        print("PyTorch is not installed: timing minicnn alone (pip install torch for the comparison).")
    print(f"minicnn {minicnn.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else '-'}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; ms, median of {args.repeats}")
    for threads in [int(t) for t in args.threads.split(",")]:
        if "conv" in only:
            rows = conv_rows(args, threads)
            print(f"\n### conv2d float32, {threads} thread(s)  (target: fwd+bwd ratio <= 1.0)\n")
            print("| layer | shape | ours fwd | torch fwd | ratio | ours fwd+bwd | torch fwd+bwd | ratio | max err |")
            print("|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                err = f"{r['max_err']:.1e}" if "max_err" in r else "-"
                print(f"| {r['name']} | {r['shape']} | {fmt(r, 'ours_fwd')} | {fmt(r, 'torch_fwd')} | "
                      f"{ratio(r, 'ours_fwd', 'torch_fwd')} | {fmt(r, 'ours_fwdbwd')} | {fmt(r, 'torch_fwdbwd')} | "
                      f"{ratio(r, 'ours_fwdbwd', 'torch_fwdbwd')} | {err} |")
        if "pool" in only:
            rows = pool_rows(args, threads)
            print(f"\n### pooling 2x2/2 fwd+bwd float32, {threads} thread(s)  (target: ratio <= 0.5)\n")
            print("| layer | input | ours max | torch max | ratio | ours avg | torch avg | ratio |")
            print("|---|---|---|---|---|---|---|---|")
            for r in rows:
                print(f"| {r['name']} | {r['shape']} | {fmt(r, 'ours_max')} | {fmt(r, 'torch_max')} | "
                      f"{ratio(r, 'ours_max', 'torch_max')} | {fmt(r, 'ours_avg')} | {fmt(r, 'torch_avg')} | "
                      f"{ratio(r, 'ours_avg', 'torch_avg')} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
