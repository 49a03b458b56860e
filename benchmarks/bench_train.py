#!/usr/bin/env python3
"""End-to-end training and inference speed: minicnn against Keras 3 on TensorFlow (and PyTorch).

Every framework trains the same models (``models.py``, written once against Keras' API and built
with ``import minicnn as keras`` or ``import keras``): the reference CNN and LeNet-5 (28x28x1,
batch 64 and 128) and a CIFAR-shaped ResNet-20 (32x32x3, batch norm, 0.27M parameters, batch 128),
with Adam(1e-3, eps=1e-7) and softmax cross-entropy on logits, on random data of the right shapes.
PyTorch (eager, NCHW, the same layers and Keras' initialisation) runs the reference CNN and LeNet-5.

Each case runs in a fresh process per framework (``_worker.py``: minicnn from this checkout,
TensorFlow with ``--tf-python``, its threads set with ``set_intra_op_parallelism_threads(T)`` and
inter-op 1 before the model is built), ``--repeats`` times with the frameworks' order rotating.
Training images/s = batch / median time between ``on_train_batch_begin`` calls after the warm-up
steps; inference = ``predict`` at batch 256, best of 3 passes after an untimed one.  The table
shows medians over the repeats and, for each ratio, the median and range of the per-repeat
ratios (> 1: minicnn is faster); ``% peak`` = training FLOPs per image (counted by
``minicnn.utils.flops``) x images/s / (FMA peak per core x threads), the peak measured by
``peak.py``.  ``x TF, CPU time`` compares the processes' CPU time per step instead (all their
threads, TensorFlow's runtime threads included): on a shared machine a process waiting for a core
loses wall time but not CPU time.  ``load`` is the 1-minute load average seen during the case.

  export BENCH_TF_PYTHON=/path/to/tf-venv/bin/python      # or pass --tf-python
  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py                       # every case, 3 repeats
  python benchmarks/bench_train.py --models ref --batch-sizes 64 --threads 1 --repeats 1
  python benchmarks/bench_train.py --accuracy --models ref,lenet --epochs 3 --seeds 0,1,2
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
import models
import peak as peak_probe

HERE = os.path.dirname(os.path.abspath(__file__))
# Per model: (steps, warm-up steps, inference batches of 256).
RUN_LENGTH = {"ref": (60, 15, 10), "lenet": (60, 15, 10), "resnet": (30, 8, 4)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="ref,lenet,resnet")
    p.add_argument("--batch-sizes", default=None, help="default: 64,128 (ResNet: 128)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--frameworks", default="minicnn,tf,torch")
    p.add_argument("--tf-python", default=os.environ.get("BENCH_TF_PYTHON", sys.executable),
                   help="interpreter with tensorflow-cpu and keras (default: $BENCH_TF_PYTHON, else this one)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default per model)")
    p.add_argument("--warmup", type=int, default=None, help="steps left out (default per model)")
    p.add_argument("--infer-batches", type=int, default=None, help="batches of 256 predicted (0: none)")
    p.add_argument("--accuracy", action="store_true",
                   help="instead: test accuracy per epoch on Fashion-MNIST, minicnn vs TensorFlow")
    p.add_argument("--epochs", type=int, default=3, help="accuracy mode")
    p.add_argument("--seeds", default="0,1,2", help="accuracy mode")
    p.add_argument("--limit", type=int, default=0, help="accuracy mode: first N training images")
    p.add_argument("--json", help="append every run's JSON line to this file")
    p.add_argument("--report", help="print the table of a --json log instead of running")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- running
def run_case(args, fw, model, batch, threads, extra=()):
    """One fresh process; its RESULT dict, or None (the reason goes to stderr)."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(threads)
    python = args.tf_python if fw == "tf" else sys.executable
    cmd = [python, os.path.join(HERE, "_worker.py"), fw, model, str(batch), str(threads), *extra]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(dict(res, time=time.strftime("%Y-%m-%dT%H:%M:%S"))) + "\n")
            return res
    sys.stderr.write(f"{fw} {model} batch {batch} threads {threads} failed (rc {p.returncode}):\n"
                     f"{p.stdout[-2000:]}\n{p.stderr[-3000:]}\n")
    return None


def speed_args(args, model):
    steps, warmup, infer = RUN_LENGTH[model]
    return ["--steps", str(args.steps or steps), "--warmup", str(args.warmup if args.warmup is not None
                                                                   else warmup),
            "--infer-batches", str(args.infer_batches if args.infer_batches is not None else infer)]


def frameworks_for(args, model):
    fws = args.frameworks.split(",")
    return [f for f in fws if not (f == "torch" and model == "resnet")]


def rotate(seq, k):
    k %= len(seq)
    return seq[k:] + seq[:k]


# ----------------------------------------------------------------------------- reporting
def machine_header(args):
    import minicnn

    model, simd = minicnn.utils.peak.cpu_info()
    cfg = minicnn._config.config()
    pk = peak_probe.load_or_measure()
    return pk, "\n".join([
        f"bench_train {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}",
        f"CPU: {model}, {os.cpu_count()} cores, {minicnn.utils.peak.isa_name(simd)} ({' '.join(simd)}); "
        f"FP32 FMA peak {pk['gflops_per_core']:.1f} GFLOP/s per core ({pk['vector_bits']}-bit, peak.py)",
        f"minicnn {cfg['version']}: GEMM kernel {cfg['gemm_kernel']} (float32), compiler {cfg['compiler']}",
        f"TensorFlow interpreter: {args.tf_python}"])


def train_flops_per_image(model_name):
    """(training, inference) FLOPs per image of ``model_name``, from minicnn's own profile."""
    import minicnn

    shape = models.SPECS[model_name][0]
    model = models.compile_for_training(minicnn, models.build(minicnn, model_name))
    x = np.zeros((2,) + shape, np.float32)
    rows = minicnn.utils.profile(model, x, np.zeros(2, np.int64), steps=1, warmup=0, verbose=False,
                                 peak_gflops=1.0)
    return (rows[-1]["fwd_flops"] + rows[-1]["bwd_flops"]) / 2, rows[-1]["fwd_flops"] / 2


def _ratio(runs, fw, key):
    """minicnn / ``fw`` per repeat (of a rate; of ``fw`` / minicnn for a cost in ms), as
    "median (min-max)"."""
    vals = [r["minicnn"][key] / r[fw][key] for r in runs if r.get("minicnn") and r.get(fw)
            and key in r["minicnn"] and key in r[fw]]
    if "_ms" in key:
        vals = [1 / v for v in vals]
    if not vals:
        return "-"
    s = f"{np.median(vals):.2f}"
    return s + (f" ({min(vals):.2f}-{max(vals):.2f})" if len(vals) > 1 else "")


def _median(runs, fw, key):
    vals = [r[fw][key] for r in runs if r.get(fw) and key in r[fw]]
    return float(np.median(vals)) if vals else None


def _load_range(runs):
    """The 1-minute load averages seen while the case ran (2 cores: above 2, others were running)."""
    loads = [r[fw][k] for r in runs for fw in r if r[fw] for k in ("load_start", "load_end")]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def _num(v, fmt="{:.0f}", scale=1.0):
    return "-" if v is None else fmt.format(v * scale)


COLUMNS = ("model", "batch", "thr", "minicnn img/s", "TF img/s", "x TF (range)", "x TF, CPU time",
           "torch img/s", "x torch (range)", "minicnn % peak", "TF % peak", "infer minicnn", "infer TF",
           "infer x TF (range)", "infer x torch", "load")


def table_row(model, batch, threads, runs, train_flops, peak_per_core):
    """One markdown row of COLUMNS from a case's runs (a list of {framework: result})."""
    per_img = train_flops / (peak_per_core * threads * 1e9)
    rate = lambda fw, key="train_img_s": _num(_median(runs, fw, key))  # noqa: E731
    pct = lambda fw: _num(_median(runs, fw, "train_img_s"), "{:.1%}", per_img)  # noqa: E731
    cells = (model, batch, threads, rate("minicnn"), rate("tf"), _ratio(runs, "tf", "train_img_s"),
             _ratio(runs, "tf", "cpu_ms_per_step"), rate("torch"), _ratio(runs, "torch", "train_img_s"),
             pct("minicnn"), pct("tf"), rate("minicnn", "infer_img_s"), rate("tf", "infer_img_s"),
             _ratio(runs, "tf", "infer_img_s"), _ratio(runs, "torch", "infer_img_s"), _load_range(runs))
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table_head():
    return "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


def speed(args):
    pk, header = machine_header(args)
    print(header + "\n" + table_head(), flush=True)
    for model in args.models.split(","):
        train_flops, _ = train_flops_per_image(model)
        batches = args.batch_sizes.split(",") if args.batch_sizes else models.SPECS[model][1]
        for batch in (int(b) for b in batches):
            for threads in (int(t) for t in args.threads.split(",")):
                fws = frameworks_for(args, model)
                runs = [{fw: run_case(args, fw, model, batch, threads, speed_args(args, model))
                         for fw in rotate(fws, rep)} for rep in range(max(1, args.repeats))]
                print(table_row(model, batch, threads, runs, train_flops, pk["gflops_per_core"]), flush=True)
    print("training FLOPs per image (minicnn.utils.flops): "
          + ", ".join(f"{m} {train_flops_per_image(m)[0] / 1e6:.1f} M" for m in args.models.split(",")))


def report(args):
    """The table again from a --json log: a case's k-th result of each framework is repeat k."""
    pk, header = machine_header(args)
    cases = {}
    with open(args.report) as f:
        for line in f:
            r = json.loads(line)
            runs = cases.setdefault((r["model"], r["batch"], r["threads"]), [])
            k = sum(1 for run in runs if r["framework"] in run)
            if k == len(runs):
                runs.append({})
            runs[k][r["framework"]] = r
    machine = header.split("\n", 1)[1]  # this machine, without today's time and load
    print(f"(from {args.report})\n" + machine + "\n" + table_head())
    flops = {}
    for (model, batch, threads), runs in cases.items():
        if model not in flops:
            flops[model] = train_flops_per_image(model)[0]
        print(table_row(model, batch, threads, runs, flops[model], pk["gflops_per_core"]))


def accuracy(args):
    pk, header = machine_header(args)
    print(header, flush=True)
    for model in args.models.split(","):
        batch = int(args.batch_sizes.split(",")[0]) if args.batch_sizes else models.SPECS[model][1][0]
        threads = int(args.threads.split(",")[-1])
        per_fw = {"minicnn": [], "tf": []}
        print(f"\n{model}, batch {batch}, {threads} threads: test accuracy after each epoch", flush=True)
        for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
            extra = ["--epochs", str(args.epochs), "--seed", str(seed), "--limit", str(args.limit)]
            for fw in rotate(["minicnn", "tf"], i):
                res = run_case(args, fw, model, batch, threads, extra)
                if res:
                    per_fw[fw].append(res["test_acc"])
                    print(f"  seed {seed} {fw:8} " + " ".join(f"{a:.4f}" for a in res["test_acc"])
                          + f"   ({res['wall_s']:.0f} s)", flush=True)
        for fw, accs in per_fw.items():
            if accs:
                mean = np.mean(accs, axis=0)
                sd = np.std(accs, axis=0)
                print(f"  mean {fw:8} " + " ".join(f"{m:.4f}+-{s:.4f}" for m, s in zip(mean, sd)))


def main():
    args = parse_args()
    if args.report:
        return report(args)
    return accuracy(args) if args.accuracy else speed(args)


if __name__ == "__main__":
    main()
