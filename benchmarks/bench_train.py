#!/usr/bin/env python3
"""End-to-end Fashion-MNIST training and inference: minicnn vs PyTorch 2.13 CPU, one invocation.

Same recipe on both sides: inputs in [0, 1], glorot-uniform weights and zero biases, softmax
cross-entropy on logits, Adam(lr=1e-3, eps=1e-7), shuffled mini-batches, one epoch.

  ref    Conv2D(32,3,relu) -> MaxPool2 -> Conv2D(64,3,relu) -> MaxPool2 -> Flatten -> Dense(128,relu)
         -> Dense(10)                                          ('valid' padding, 225,034 params)
  lenet  Conv2D(6,5,relu) -> MaxPool2 -> Conv2D(16,5,relu) -> MaxPool2 -> Flatten -> Dense(120,relu)
         -> Dense(84,relu) -> Dense(10)

Every (framework, model, batch size, threads) case runs in a fresh child process so that peak
resident memory (ru_maxrss, includes the data set: about 220 MB for both) and thread pools are
its own.  Reported per case: steady-state training images/s (batches after --warmup, from the
median time between batch starts, robust to stalls on a shared machine, plus the plain mean),
inference images/s over the 10k test images at batch 256 (best of 3), peak RSS, test accuracy
after the epoch.  Ratios are minicnn / PyTorch in the same run (> 1: minicnn is faster).
A process's speed on this shared host varies by up to 1.5x from one process to the next (the
same command, seconds apart), so --repeats N runs every case N times, the frameworks' order
alternating, and reports medians: of each number, and of the N minicnn/PyTorch ratios.

Accuracy after --quick (300 steps) depends on the seed by about +-0.02 on either side (LeNet,
batch 64, seeds 0-3: minicnn 0.738/0.758/0.773/0.774, PyTorch 0.782/0.755/0.762/0.767): compare
accuracies over several --seed values, or after a full epoch.

  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py              # full epoch, all cases
  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py --quick      # 300 steps per case
  OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py --quick --repeats 5   # medians of 5 runs
  python benchmarks/bench_train.py --quick --models ref --batch-sizes 64 --threads 2
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import _checkout  # noqa: E402,F401  (minicnn from an installed wheel or this checkout)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="--steps training steps per case instead of an epoch")
    p.add_argument("--steps", type=int, default=300, help="steps per case with --quick (default 300)")
    p.add_argument("--models", default="ref,lenet")
    p.add_argument("--batch-sizes", default="64,128")
    p.add_argument("--threads", default="2,1")
    p.add_argument("--frameworks", default="minicnn,torch")
    p.add_argument("--warmup", type=int, default=20, help="batches left out of the steady rate")
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1,
                   help="runs per case, the frameworks' order alternating; rates and ratios are medians "
                        "over the runs (ratios taken pair by pair)")
    p.add_argument("--json", help="append every case's JSON line to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # framework,model,batch,threads (child process)
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- data
def load_data():
    from minicnn.datasets import fashion_mnist

    (xtr, ytr), (xte, yte) = fashion_mnist.load_data()
    xtr = (xtr.astype(np.float32) / 255.0)[..., None]  # NHWC
    xte = (xte.astype(np.float32) / 255.0)[..., None]
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def steady_stats(starts, t_end, bs, warmup):
    t = np.diff(np.asarray(starts + [t_end]))[warmup:]
    if len(t) == 0:
        return dict(train_img_s=float("nan"), train_mean_img_s=float("nan"), median_batch_ms=float("nan"))
    return dict(train_img_s=bs / float(np.median(t)), train_mean_img_s=bs * len(t) / float(t.sum()),
                median_batch_ms=1e3 * float(np.median(t)))


# ----------------------------------------------------------------------------- minicnn
def run_minicnn(model_name, bs, threads, n_train, args, data):
    import minicnn
    from minicnn import layers

    xtr, ytr, xte, yte = data
    minicnn.set_num_threads(threads)
    minicnn.utils.set_random_seed(args.seed)
    if model_name == "ref":
        body = [layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dense(128, activation="relu"), layers.Dense(10)]
    else:
        body = [layers.Conv2D(6, 5, activation="relu"), layers.MaxPooling2D(2),
                layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"), layers.Dense(10)]
    model = minicnn.Sequential([minicnn.Input(shape=(28, 28, 1))] + body)
    model.compile(optimizer=minicnn.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
                  loss=minicnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    class Timer(minicnn.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.starts = []

        def on_train_batch_begin(self, batch, logs=None):
            self.starts.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            self.t_end = time.perf_counter()

    timer = Timer()
    t0 = time.perf_counter()
    model.fit(xtr[:n_train], ytr[:n_train], batch_size=bs, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
    wall = time.perf_counter() - t0
    # Drop the last (possibly partial) batch from the steady rate.
    stats = steady_stats(timer.starts[:-1], timer.starts[-1], bs, args.warmup)
    _, acc = model.evaluate(xte, yte, batch_size=args.infer_batch, verbose=0)
    times = []
    for _ in range(3):
        t1 = time.perf_counter()
        model.predict(xte, batch_size=args.infer_batch, verbose=0)
        times.append(time.perf_counter() - t1)
    return dict(stats, epoch_wall_s=wall, test_acc=float(acc), infer_img_s=len(xte) / min(times))


# ----------------------------------------------------------------------------- torch
def run_torch(model_name, bs, threads, n_train, args, data):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte = data
    X = torch.from_numpy(np.ascontiguousarray(xtr[:n_train].transpose(0, 3, 1, 2)))
    Y = torch.from_numpy(ytr[:n_train])
    Xt = torch.from_numpy(np.ascontiguousarray(xte.transpose(0, 3, 1, 2)))
    Yt = torch.from_numpy(yte)
    if model_name == "ref":
        m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        m = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
                          nn.ReLU(), nn.Linear(84, 10))
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(args.seed)
    starts = []
    t0 = time.perf_counter()
    perm = torch.randperm(X.shape[0], generator=g)
    for i in range(0, X.shape[0], bs):
        starts.append(time.perf_counter())
        idx = perm[i:i + bs]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        loss.item()  # the Keras-style loop reads the loss every step too
    t_end = time.perf_counter()
    stats = steady_stats(starts[:-1], starts[-1], bs, args.warmup)
    m.eval()
    with torch.inference_mode():
        correct = sum(int((m(Xt[i:i + 256]).argmax(1) == Yt[i:i + 256]).sum()) for i in range(0, len(Xt), 256))
        times = []
        for _ in range(3):
            t1 = time.perf_counter()
            for i in range(0, len(Xt), args.infer_batch):
                m(Xt[i:i + args.infer_batch])
            times.append(time.perf_counter() - t1)
    return dict(stats, epoch_wall_s=t_end - t0, test_acc=correct / len(Xt), infer_img_s=len(Xt) / min(times),
                torch=torch.__version__)


# ----------------------------------------------------------------------------- driver
def worker(args):
    fw, model_name, bs, threads = args.worker.split(",")
    bs, threads = int(bs), int(threads)
    data = load_data()
    n_train = min(len(data[0]), args.steps * bs) if args.quick else len(data[0])
    run = run_minicnn if fw == "minicnn" else run_torch
    res = run(model_name, bs, threads, n_train, args, data)
    res.update(framework=fw, model=model_name, batch=bs, threads=threads, n_train=n_train,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    print("RESULT " + json.dumps(res), flush=True)


def _median_case(results):
    """One framework's runs of a case folded into one row: the median of every number."""
    if not results:
        return None
    return {k: float(np.median([r[k] for r in results])) for k in
            ("train_img_s", "train_mean_img_s", "infer_img_s", "peak_rss_mb", "test_acc")}


def spawn(args, fw, model_name, bs, threads):
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", f"{fw},{model_name},{bs},{threads}",
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--infer-batch", str(args.infer_batch),
           "--seed", str(args.seed)] + (["--quick"] if args.quick else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(f"{fw} {model_name} batch {bs} threads {threads} failed:\n{p.stdout}\n{p.stderr}\n")
    return None


def main():
    args = parse_args()
    if args.worker:
        return worker(args)
    have_torch = True
    try:
        import torch  # noqa: F401
    except ImportError:
        have_torch = False
    fws = [f for f in args.frameworks.split(",") if f != "torch" or have_torch]
    print(f"bench_train: {'quick, %d steps' % args.steps if args.quick else 'one epoch'} per case; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}; frameworks {fws}")
    hdr = (f"{'model':6} {'batch':>5} {'thr':>3} | {'framework':9} {'train img/s':>11} {'(mean)':>8} "
           f"{'infer img/s':>11} {'peak MB':>8} {'acc':>6} || {'train x':>7} {'infer x':>7} {'mem x':>6}")
    print(hdr)
    print("-" * len(hdr))
    for model_name in args.models.split(","):
        for bs in (int(b) for b in args.batch_sizes.split(",")):
            for threads in (int(t) for t in args.threads.split(",")):
                runs = []
                for rep in range(max(1, args.repeats)):
                    order = fws if rep % 2 == 0 else fws[::-1]
                    res = {fw: spawn(args, fw, model_name, bs, threads) for fw in order}
                    for fw in order:
                        if res[fw] is not None and args.json:
                            with open(args.json, "a") as f:
                                f.write(json.dumps(dict(res[fw], quick=args.quick, repeat=rep,
                                                        time=time.strftime("%H:%M:%S"))) + "\n")
                    runs.append(res)
                for fw in fws:
                    r = _median_case([run[fw] for run in runs if run.get(fw)])
                    if r is None:
                        continue
                    ratio = ""
                    pairs = [run for run in runs if run.get(fw) and run.get("torch")]
                    if fw == "minicnn" and pairs:
                        med = {k: float(np.median([run["minicnn"][k] / run["torch"][k] for run in pairs]))
                               for k in ("train_img_s", "infer_img_s", "peak_rss_mb")}
                        ratio = f"{med['train_img_s']:7.2f} {med['infer_img_s']:7.2f} {med['peak_rss_mb']:6.2f}"
                        if len(pairs) > 1:
                            lo, hi = (f([run["minicnn"]["train_img_s"] / run["torch"]["train_img_s"]
                                         for run in pairs]) for f in (min, max))
                            ratio += f"  (train x {lo:.2f}-{hi:.2f} over {len(pairs)} runs)"
                    print(f"{model_name:6} {bs:5d} {threads:3d} | {fw:9} {r['train_img_s']:11.0f} "
                          f"{r['train_mean_img_s']:8.0f} {r['infer_img_s']:11.0f} {r['peak_rss_mb']:8.0f} "
                          f"{r['test_acc']:6.4f} || {ratio}", flush=True)


if __name__ == "__main__":
    main()
