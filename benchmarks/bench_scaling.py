#!/usr/bin/env python3
"""How training cost grows with the batch size and the image size: minicnn against Keras 3 on
TensorFlow, images/s for every (image size, batch size) pair.

The model is one of ``models.py`` (default the reference CNN, whose valid convolutions take any
size from 28 px; its Dense layer grows with the image) with one input channel, Adam, random data;
every cell is a fresh process per framework (``_worker.py``), the frameworks' order alternating,
images/s = batch / median step time after 3 warm-up steps.  Each run lasts about ``--seconds``
(its step count is set from the FLOPs per image, counted by ``minicnn.utils.flops``).  Cells over
``--max-pixels`` (batch x height x width; the im2col buffers grow with it) are left out.

  BENCH_TF_PYTHON=/path/to/tf-venv/bin/python OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_scaling.py
  python benchmarks/bench_scaling.py --sizes 28,64 --batch-sizes 32,128 --threads 1
"""
import argparse
import math
import os
import sys

import numpy as np

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
import models
from bench_train import machine_header, rotate, run_case


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ref", choices=sorted(models.SPECS))
    p.add_argument("--sizes", default="28,32,64,128", help="image heights = widths, px")
    p.add_argument("--batch-sizes", default="16,32,64,128,256,512")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frameworks", default="minicnn,tf")
    p.add_argument("--tf-python", default=os.environ.get("BENCH_TF_PYTHON", sys.executable))
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seconds", type=float, default=4.0, help="target length of one run")
    p.add_argument("--max-pixels", type=int, default=128 * 128 * 128,
                   help="skip cells with batch x height x width above this (memory)")
    p.add_argument("--json", help="append every run's JSON line to this file")
    return p.parse_args(argv)


def flops_per_image(model_name, size):
    import minicnn

    shape = (size, size, models.SPECS[model_name][0][2])
    model = models.compile_for_training(minicnn, models.build(minicnn, model_name, shape))
    rows = minicnn.utils.profile(model, np.zeros((2,) + shape, np.float32), np.zeros(2, np.int64),
                                 steps=1, warmup=0, verbose=False, peak_gflops=1.0)
    return (rows[-1]["fwd_flops"] + rows[-1]["bwd_flops"]) / 2


def main():
    args = parse_args()
    pk, header = machine_header(args)
    print(header, flush=True)
    print(f"model {args.model}, {args.threads} thread(s), training images/s (median step); "
          "ratio = minicnn / TF", flush=True)
    fws = args.frameworks.split(",")
    batches = [int(b) for b in args.batch_sizes.split(",")]
    print("| px | batch | MFLOP/img | " + " | ".join(f"{f} img/s" for f in fws)
          + " | ratio | ratio by CPU time | minicnn % peak | load |\n|" + "---|" * (len(fws) + 7), flush=True)
    grid = {}
    for size in (int(s) for s in args.sizes.split(",")):
        per_img = flops_per_image(args.model, size)
        guess = 0.3 * pk["gflops_per_core"] * 1e9 * args.threads / per_img  # img/s at 30% of peak
        for batch in batches:
            if batch * size * size > args.max_pixels:
                continue
            steps = 3 + max(5, math.ceil(args.seconds * guess / batch))
            extra = ["--steps", str(steps), "--warmup", "3", "--infer-batches", "0",
                     "--image-size", str(size)]
            runs = [{fw: run_case(args, fw, args.model, batch, args.threads, extra)
                     for fw in rotate(fws, rep)} for rep in range(args.repeats)]
            med = lambda fw, key: np.median([r[fw][key] for r in runs if r.get(fw)] or [np.nan])  # noqa: E731
            rate = {fw: med(fw, "train_img_s") for fw in fws}
            both = {"minicnn", "tf"} <= set(fws)
            ratio = rate["minicnn"] / rate["tf"] if both else np.nan
            cpu_ratio = med("tf", "cpu_ms_per_step") / med("minicnn", "cpu_ms_per_step") if both else np.nan
            loads = [r[fw][k] for r in runs for fw in r if r[fw] for k in ("load_start", "load_end")]
            grid[size, batch] = ratio
            pct = rate.get("minicnn", np.nan) * per_img / (pk["gflops_per_core"] * 1e9 * args.threads)
            print(f"| {size} | {batch} | {per_img / 1e6:.1f} | " + " | ".join(f"{rate[f]:.0f}" for f in fws)
                  + f" | {ratio:.2f} | {cpu_ratio:.2f} | {100 * pct:.1f}% | "
                  f"{min(loads or [np.nan]):.1f}-{max(loads or [np.nan]):.1f} |", flush=True)
    sizes = sorted({s for s, _ in grid})
    print("\nminicnn / TF, training images/s (rows: image size, px; columns: batch size)")
    print("| px | " + " | ".join(str(b) for b in batches) + " |\n|" + "---|" * (len(batches) + 1))
    for s in sizes:
        print(f"| {s} | " + " | ".join(f"{grid[s, b]:.2f}" if (s, b) in grid else "-" for b in batches) + " |")


if __name__ == "__main__":
    main()
