"""One benchmark case in a fresh process: ``python _worker.py FRAMEWORK MODEL BATCH THREADS [options]``.

Run by ``bench_train.py`` and ``bench_scaling.py`` (never by hand), with minicnn's interpreter for
``minicnn`` and ``torch`` and with TensorFlow's for ``tf``; prints one line ``RESULT {json}``.

Speed (default): ``--steps`` training steps of ``fit`` on random data of the model's shapes (inputs
uniform in [0, 1), integer labels), a callback taking ``time.perf_counter()`` at every
``on_train_batch_begin``; the first ``--warmup`` intervals are dropped and images/s is the batch
size over the median interval.  Then ``predict`` on ``--infer-batches`` batches of
``--infer-batch`` images: one untimed pass (TensorFlow traces its function there), then the best
of three timed passes.

Accuracy (``--epochs E``): real Fashion-MNIST (28x28x1; zero-padded to 32x32 and repeated to three
channels for the ResNet), ``E`` epochs of shuffled mini-batches, test accuracy after every epoch.
"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("framework", choices=["minicnn", "tf", "torch"])
    p.add_argument("model")
    p.add_argument("batch", type=int)
    p.add_argument("threads", type=int)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--infer-batches", type=int, default=10, help="0: no inference")
    p.add_argument("--image-size", type=int, default=None, help="override the model's height/width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=0, help="accuracy mode: epochs on Fashion-MNIST")
    p.add_argument("--limit", type=int, default=0, help="accuracy mode: first N training images")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- data
def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(data_dir, shape):
    """(x_train, y_train, x_test, y_test) as float32 NHWC in [0, 1] of ``shape`` (H, W, C)."""
    def images(name):
        x = _idx(os.path.join(data_dir, name)).astype(np.float32) / 255.0
        h, w, c = shape
        ph, pw = (h - 28) // 2, (w - 28) // 2
        x = np.pad(x, ((0, 0), (ph, h - 28 - ph), (pw, w - 28 - pw)))[..., None]
        return np.ascontiguousarray(np.repeat(x, c, axis=-1))
    labels = lambda name: _idx(os.path.join(data_dir, name)).astype(np.int64)  # noqa: E731
    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def random_data(n, shape, seed):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + shape, dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


def interval_stats(starts, t_end, batch, warmup, cpu):
    """Rates from the wall-clock batch starts (and ``cpu``: the process CPU time at the same
    points, which a shared machine's waiting does not inflate)."""
    t = np.diff(np.asarray(list(starts) + [t_end]))[warmup:]
    if len(t) == 0:
        raise RuntimeError(f"no interval left after dropping {warmup} warm-up steps")
    med = float(np.median(t))
    return dict(train_img_s=batch / med, median_step_ms=1e3 * med,
                train_mean_img_s=batch * len(t) / float(t.sum()), timed_steps=len(t),
                cpu_ms_per_step=1e3 * (cpu[-1] - cpu[warmup]) / len(t))


# ----------------------------------------------------------------------------- Keras-like
def import_keras(framework, threads):
    if framework == "minicnn":
        sys.path.insert(0, HERE)
        import _checkout  # noqa: F401  (minicnn from this checkout or the installed wheel)
        import minicnn as keras

        keras.set_num_threads(threads)
        return keras
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    # Before anything builds a graph: thread pools are fixed at first use.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    return keras


def run_keras_like(keras, args, shape):
    import models

    keras.utils.set_random_seed(args.seed)
    model = models.compile_for_training(keras, models.build(keras, args.model, shape))
    starts, cpu = [], []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            starts.append(time.perf_counter())
            cpu.append(time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            starts.append(time.perf_counter())  # closes the last interval
            cpu.append(time.process_time())

    if args.epochs:
        xtr, ytr, xte, yte = fashion_mnist(args.data_dir, shape)
        if args.limit:
            xtr, ytr = xtr[:args.limit], ytr[:args.limit]
        accs = []
        t0 = time.perf_counter()
        for ep in range(args.epochs):
            model.fit(xtr, ytr, batch_size=args.batch, epochs=ep + 1, initial_epoch=ep, shuffle=True,
                      verbose=0)
            res = model.evaluate(xte, yte, batch_size=256, verbose=0)
            accs.append(round(float(res[-1]), 4))
        return dict(test_acc=accs, wall_s=time.perf_counter() - t0)

    x, y = random_data(args.steps * args.batch, shape, args.seed)
    model.fit(x, y, batch_size=args.batch, epochs=1, shuffle=True, verbose=0, callbacks=[Timer()])
    out = interval_stats(starts[:-1], starts[-1], args.batch, args.warmup, cpu)
    if args.infer_batches:
        xi = x[:args.infer_batch * args.infer_batches]
        if len(xi) < args.infer_batch * args.infer_batches:
            xi = random_data(args.infer_batch * args.infer_batches, shape, args.seed + 1)[0]
        model.predict(xi, batch_size=args.infer_batch, verbose=0)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            model.predict(xi, batch_size=args.infer_batch, verbose=0)
            times.append(time.perf_counter() - t0)
        out["infer_img_s"] = len(xi) / min(times)
    return out


# ----------------------------------------------------------------------------- torch
def torch_model(nn, name, shape):
    h, w, c = shape
    if name == "ref":
        flat = 64 * (((h - 2) // 2 - 2) // 2) * (((w - 2) // 2 - 2) // 2)
        m = nn.Sequential(nn.Conv2d(c, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, 10))
    elif name == "lenet":
        flat = 16 * (((h - 4) // 2 - 4) // 2) * (((w - 4) // 2 - 4) // 2)
        m = nn.Sequential(nn.Conv2d(c, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84),
                          nn.ReLU(), nn.Linear(84, 10))
    else:
        raise SystemExit(f"the torch peer has the reference CNN and LeNet-5 only, not {name!r}")
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):  # Keras' initialisation: glorot-uniform, zero bias
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return m


def run_torch(args, shape):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    m = torch_model(nn, args.model, shape)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    to_nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa: E731
    if args.epochs:
        raise SystemExit("accuracy mode compares minicnn and TensorFlow only")
    x, y = random_data(args.steps * args.batch, shape, args.seed)
    X, Y = to_nchw(x), torch.from_numpy(y)
    perm = torch.randperm(len(X))
    starts, cpu = [], []
    for i in range(0, len(X), args.batch):
        starts.append(time.perf_counter())
        cpu.append(time.process_time())
        idx = perm[i:i + args.batch]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        loss.item()  # Keras' loop reads the loss every step too
    cpu.append(time.process_time())
    out = interval_stats(starts, time.perf_counter(), args.batch, args.warmup, cpu)
    if args.infer_batches:
        xi = to_nchw(random_data(args.infer_batch * args.infer_batches, shape, args.seed + 1)[0])
        m.eval()
        times = []
        with torch.inference_mode():
            for rep in range(4):
                t0 = time.perf_counter()
                for i in range(0, len(xi), args.infer_batch):
                    m(xi[i:i + args.infer_batch])
                if rep:
                    times.append(time.perf_counter() - t0)
        out["infer_img_s"] = len(xi) / min(times)
    out["torch"] = torch.__version__
    return out


def main():
    args = parse_args()
    load_start = os.getloadavg()[0]
    sys.path.insert(0, HERE)
    import models

    shape = models.SPECS[args.model][0]
    if args.image_size:
        shape = (args.image_size, args.image_size, shape[2])
    if args.framework == "torch":
        res = run_torch(args, shape)
    else:
        keras = import_keras(args.framework, args.threads)
        res = run_keras_like(keras, args, shape)
        res["version"] = keras.__version__
    res.update(framework=args.framework, model=args.model, batch=args.batch, threads=args.threads,
               load_start=load_start, load_end=os.getloadavg()[0],
               image_size=shape[0], peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
