#!/usr/bin/env python3
"""Inference speed: minicnn's ``predict`` against ONNX Runtime running the same model, exported
by ``model.export(format="onnx")``.  ONNX Runtime is what a user would deploy instead, so it is the
bar for minicnn's inference.

The models are the benchmarks' (``models.py``): the reference CNN, LeNet-5 and the CIFAR ResNet-20,
with their initial weights (seed 0).  Each is saved once as a ``.minicnn`` file and exported once
as ``.onnx``; then every (framework, model, threads) case runs in a fresh process that loads its
file and times one call on a batch, for each batch size: ``model.predict(x, batch_size=len(x))``
for minicnn, ``session.run`` for ONNX Runtime (``intra_op_num_threads`` = threads, one inter-op
thread, its default spinning thread pool).  A call is timed repeatedly for ``--seconds`` after
three untimed ones; a case's time is the median call.  ``--repeats`` rounds alternate which
framework runs first; the table gives medians over the rounds and, for the ratio (ONNX Runtime's
time / minicnn's: > 1 means minicnn is faster), its median and range over the rounds.  Each round
also checks that both frameworks computed the same outputs.

  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_onnx.py           # 3 models x 1,2 threads x 1,256
  python benchmarks/bench_onnx.py --models ref --threads 2 --batch-sizes 256 --repeats 5

Needs ``pip install "minicnn[onnx]" onnxruntime`` (both are in the test extra).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
import models

FRAMEWORKS = ("minicnn", "onnxruntime")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="ref,lenet,resnet")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batch-sizes", default="1,256")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1.0, help="timed calls per case, at least 3")
    p.add_argument("--worker", nargs=5, metavar=("FRAMEWORK", "MODEL", "FILE", "THREADS", "BATCHES"),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- one process
def time_calls(run, x, seconds):
    for _ in range(3):
        run(x)
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def worker(framework, model_name, path, threads, batches, seconds):
    threads = int(threads)
    shape = models.SPECS[model_name][0]
    if framework == "minicnn":
        import minicnn

        minicnn.set_num_threads(threads)
        model = minicnn.saving.load_model(path)
        run = lambda x: model.predict(x, batch_size=len(x), verbose=0)  # noqa: E731
    else:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        run = lambda x: session.run(None, {name: x})[0]  # noqa: E731
    check = np.random.default_rng(1).random((2,) + shape, dtype=np.float32)
    result = {"framework": framework, "output": run(check).tolist(), "ms": {}}
    for batch in (int(b) for b in batches.split(",")):
        x = np.random.default_rng(0).random((batch,) + shape, dtype=np.float32)
        result["ms"][batch] = 1e3 * time_calls(run, x, seconds)
    print("RESULT " + json.dumps(result), flush=True)


def run_worker(args, framework, model_name, path, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    cmd = [sys.executable, os.path.abspath(__file__), "--seconds", str(args.seconds), "--worker",
           framework, model_name, path, str(threads), args.batch_sizes]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{framework} {model_name} {threads} threads failed:\n{p.stderr[-3000:]}")
    res = json.loads(line[7:])
    res["ms"] = {int(b): v for b, v in res["ms"].items()}
    return res


# ----------------------------------------------------------------------------- the table
def prepare(model_name, directory):
    """The model saved (for minicnn) and exported (for ONNX Runtime): the same weights."""
    import minicnn

    minicnn.utils.set_random_seed(0)
    model = models.build(minicnn, model_name)
    saved = os.path.join(directory, f"{model_name}.minicnn")
    exported = os.path.join(directory, f"{model_name}.onnx")
    model.save(saved)
    model.export(exported, verbose=False)
    return {"minicnn": saved, "onnxruntime": exported}


def header():
    import minicnn
    import onnxruntime

    cpu, simd = minicnn.utils.peak.cpu_info()
    cfg = minicnn._config.config()
    return "\n".join([
        f"bench_onnx {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}",
        f"CPU: {cpu}, {os.cpu_count()} cores, {minicnn.utils.peak.isa_name(simd)} ({' '.join(simd)})",
        f"minicnn {cfg['version']} (GEMM kernel {cfg['gemm_kernel']}), onnxruntime "
        f"{onnxruntime.__version__}",
        "| model | batch | threads | minicnn predict ms | onnxruntime ms | minicnn img/s | "
        "onnxruntime img/s | x onnxruntime (range) |",
        "|---|---|---|---|---|---|---|---|"])


def row(model_name, batch, threads, rounds):
    ms = {fw: float(np.median([r[fw]["ms"][batch] for r in rounds])) for fw in FRAMEWORKS}
    ratios = [r["onnxruntime"]["ms"][batch] / r["minicnn"]["ms"][batch] for r in rounds]
    spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
    cells = (model_name, batch, threads, f"{ms['minicnn']:.3g}", f"{ms['onnxruntime']:.3g}",
             f"{1e3 * batch / ms['minicnn']:.0f}", f"{1e3 * batch / ms['onnxruntime']:.0f}",
             f"{np.median(ratios):.2f}{spread}")
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(*args.worker, seconds=args.seconds)
        return
    print(header(), flush=True)
    with tempfile.TemporaryDirectory() as directory:
        for model_name in args.models.split(","):
            paths = prepare(model_name, directory)
            for threads in (int(t) for t in args.threads.split(",")):
                rounds = []
                for k in range(max(1, args.repeats)):
                    order = FRAMEWORKS[k % 2:] + FRAMEWORKS[:k % 2]  # alternate who goes first
                    rounds.append({fw: run_worker(args, fw, model_name, paths[fw], threads)
                                   for fw in order})
                    outputs = [np.asarray(rounds[-1][fw]["output"]) for fw in FRAMEWORKS]
                    scale = max(float(np.abs(outputs[0]).max()), 1e-6)
                    if not np.allclose(outputs[1], outputs[0], rtol=1e-4, atol=1e-4 * scale):
                        raise RuntimeError(f"{model_name}: minicnn and onnxruntime disagree")
                for batch in (int(b) for b in args.batch_sizes.split(",")):
                    print(row(model_name, batch, threads, rounds), flush=True)


if __name__ == "__main__":
    main()
