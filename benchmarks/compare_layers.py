#!/usr/bin/env python3
"""Where minicnn loses time to Keras/TensorFlow, layer by layer.

minicnn's side is ``minicnn.utils.profile`` on a training step (or ``--mode predict``) of a
``models.py`` model; TensorFlow's side times each layer of the same model on its own
(``_tf_layers.py``: forward and forward+backward as ``tf.function``s, medians), and a real
``fit`` step of both frameworks is timed too (``_worker.py``), so the part of TensorFlow's step
that is not in any layer (optimizer, loss, its step loop) shows as the difference.

  BENCH_TF_PYTHON=/path/to/tf-venv/bin/python python benchmarks/compare_layers.py --model ref --batch 64
  python benchmarks/compare_layers.py --model resnet --batch 128 --threads 2 --mode predict
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
import models
from bench_train import machine_header, run_case

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ref", choices=sorted(models.SPECS))
    p.add_argument("--batch", type=int, default=None, help="default: the model's first batch size")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--mode", default="train", choices=["train", "predict"])
    p.add_argument("--steps", type=int, default=20, help="profiled minicnn steps")
    p.add_argument("--tf-python", default=os.environ.get("BENCH_TF_PYTHON", sys.executable))
    p.add_argument("--out", help="append both sides' rows as one JSON line to this file")
    p.set_defaults(json=None)  # run_case's log of every run: off here
    return p.parse_args(argv)


def tf_layers(args, batch):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS=str(args.threads))
    p = subprocess.run([args.tf_python, os.path.join(HERE, "_tf_layers.py"), args.model, str(batch),
                        str(args.threads), "--mode", args.mode], env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"_tf_layers.py failed (rc {p.returncode}):\n{p.stderr[-3000:]}")


def minicnn_profile(args, batch):
    import minicnn

    minicnn.set_num_threads(args.threads)
    minicnn.utils.set_random_seed(0)
    shape = models.SPECS[args.model][0]
    model = models.compile_for_training(minicnn, models.build(minicnn, args.model))
    rng = np.random.default_rng(0)
    x = rng.random((batch,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, batch)
    rows = minicnn.utils.profile(model, x, y, steps=args.steps, mode=args.mode)
    return rows, [layer.name for layer in model.layers]


def fit_steps(args, batch):
    """Median ``fit`` step of each framework in fresh processes (ms)."""
    out = {}
    for fw in ("minicnn", "tf"):
        res = run_case(args, fw, args.model, batch, args.threads,
                       ["--steps", "30", "--warmup", "8", "--infer-batches", "0"])
        out[fw] = res["median_step_ms"] if res else float("nan")
    return out


def main():
    args = parse_args()
    batch = args.batch or models.SPECS[args.model][1][0]
    _, header = machine_header(args)
    print(header, flush=True)
    rows, order = minicnn_profile(args, batch)
    tf = tf_layers(args, batch)
    # model.layers order on both sides (the profile lists layers in call order)
    by_name = {r["name"]: r for r in rows if r["kind"] == "layer"}
    layer_rows = [by_name[n] for n in order if n in by_name]
    if [r["type"] for r in layer_rows] != [r["type"] for r in tf["rows"]]:
        raise SystemExit("the two models' layer lists differ: "
                         f"{[r['type'] for r in layer_rows]} vs {[r['type'] for r in tf['rows']]}")
    print(f"\n{args.model}, batch {batch}, {args.threads} thread(s), {args.mode}: ms per step "
          f"(TensorFlow {tf['tf']}, each layer timed alone)")
    print("| layer | minicnn fwd | minicnn bwd | TF fwd | TF bwd | minicnn / TF time | minicnn GFLOP/s |"
          "\n|---|---|---|---|---|---|---|")
    sums = np.zeros(4)
    for m, t in zip(layer_rows, tf["rows"]):
        vals = np.array([m["fwd_ms"], m["bwd_ms"], t["fwd_ms"], t["bwd_ms"]])
        sums += vals
        ratio = (vals[0] + vals[1]) / max(vals[2] + vals[3], 1e-9)
        rate = "" if m["gflops"] is None else f"{m['gflops']:.1f}"
        print(f"| {m['name']} ({m['type']}) | {vals[0]:.3f} | {vals[1]:.3f} | {vals[2]:.3f} | "
              f"{vals[3]:.3f} | {ratio:.2f} | {rate} |")
    print(f"| all layers | {sums[0]:.3f} | {sums[1]:.3f} | {sums[2]:.3f} | {sums[3]:.3f} | "
          f"{(sums[0] + sums[1]) / (sums[2] + sums[3]):.2f} | |")
    by_type = {}
    for m, t in zip(layer_rows, tf["rows"]):
        acc = by_type.setdefault(m["type"], np.zeros(4))
        acc += [m["fwd_ms"], m["bwd_ms"], t["fwd_ms"], t["bwd_ms"]]
    print("\nby layer type (ms per step): | type | minicnn fwd+bwd | TF fwd+bwd | minicnn / TF |\n|---|---|---|---|")
    for kind, v in sorted(by_type.items(), key=lambda kv: -kv[1][:2].sum()):
        print(f"| {kind} | {v[0] + v[1]:.3f} | {v[2] + v[3]:.3f} | {(v[0] + v[1]) / max(v[2] + v[3], 1e-9):.2f} |")
    rest = {r["kind"]: r["total_ms"] for r in rows if r["kind"] not in ("layer", "total")}
    print(f"minicnn outside the layers: loss {rest.get('loss', 0):.3f}, metrics {rest.get('metrics', 0):.3f},"
          f" optimizer {rest.get('optimizer', 0):.3f}, overhead "
          f"{sum(r['total_ms'] for r in rows if r['kind'] == 'overhead'):.3f} ms; profiled step "
          f"{rows[-1]['total_ms']:.3f} ms")
    if args.mode == "train":
        steps = fit_steps(args, batch)
        print(f"fit step (median, fresh processes): minicnn {steps['minicnn']:.3f} ms, TF {steps['tf']:.3f} ms; "
              f"TF outside its layers ~ {steps['tf'] - sums[2] - sums[3]:.3f} ms")
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(dict(model=args.model, batch=batch, threads=args.threads, mode=args.mode,
                                    minicnn=rows, tf=tf)) + "\n")


if __name__ == "__main__":
    main()
