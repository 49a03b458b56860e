"""Does minicnn train like Keras on TensorFlow when nothing random differs?

Two checks, each framework in its own process (minicnn with this interpreter, TensorFlow with
``--tf-python`` or ``$BENCH_TF_PYTHON``), both starting from the weights TensorFlow's process draws
for the seed (saved to a temporary .npz and loaded by minicnn's):

* ``--steps N``: N ``train_on_batch`` steps of Adam on the same random batches; prints both loss
  sequences and, per weight, the largest difference after the steps.
* ``--epochs E``: E epochs of real Fashion-MNIST in the same batch order (the training set permuted
  once by the seed, ``fit(shuffle=False)``); prints the test accuracy after every epoch.

    python benchmarks/compare_training.py --model ref --steps 20 --epochs 2 --seeds 0,1,2

What differs between the two runs is then only rounding (summation order inside the kernels),
which Adam and the training dynamics amplify; the seed-to-seed spread of ``bench_train.py
--accuracy`` adds the initial weights and the shuffling on top.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def child(args):
    sys.path.insert(0, HERE)
    if args.framework == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
    else:
        import minicnn as keras
    import _worker
    import models

    keras.utils.set_random_seed(args.seed)
    shape = models.SPECS[args.model][0]
    model = models.compile_for_training(keras, models.build(keras, args.model, shape))
    if args.framework == "tf":
        np.savez(args.init, *model.get_weights())
    saved = np.load(args.init)
    init = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    model.set_weights(init)
    out = {}
    if args.steps:
        rng = np.random.default_rng(args.seed + 1000)
        out["losses"] = []
        for _ in range(args.steps):
            x = rng.random((args.batch,) + shape, dtype=np.float32)
            y = rng.integers(0, 10, args.batch)
            out["losses"].append(float(np.ravel(model.train_on_batch(x, y))[0]))
        np.savez(args.init + f".{args.framework}.npz", *model.get_weights())
        model.set_weights(init)
        model = models.compile_for_training(keras, model)  # a fresh Adam
    if args.epochs:
        xtr, ytr, xte, yte = _worker.fashion_mnist(args.data_dir, shape)
        order = np.random.default_rng(args.seed).permutation(len(xtr))
        xtr, ytr = xtr[order], ytr[order]
        out["test_acc"] = []
        for _ in range(args.epochs):
            model.fit(xtr, ytr, batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
            out["test_acc"].append(round(float(model.evaluate(xte, yte, batch_size=256, verbose=0)[-1]), 4))
    print("RESULT " + json.dumps(out))


def run(args, framework, seed, init):
    python = args.tf_python if framework == "tf" else sys.executable
    cmd = [python, os.path.abspath(__file__), "--child", framework, "--seed", str(seed), "--init", init,
           "--model", args.model, "--batch", str(args.batch), "--steps", str(args.steps),
           "--epochs", str(args.epochs), "--data-dir", args.data_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{framework} (seed {seed}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ref", choices=("ref", "lenet", "resnet"))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="train_on_batch steps on random data (0: none)")
    p.add_argument("--epochs", type=int, default=0, help="Fashion-MNIST epochs in one fixed order (0: none)")
    p.add_argument("--seeds", default="0")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tf-python", default=os.environ.get("BENCH_TF_PYTHON", sys.executable))
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--child", choices=("tf", "minicnn"), help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--init", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.framework = args.child
        return child(args)
    with tempfile.TemporaryDirectory(prefix="minicnn-compare-") as tmp:
        for seed in [int(s) for s in args.seeds.split(",")]:
            init = os.path.join(tmp, f"init{seed}.npz")
            tf, mc = run(args, "tf", seed, init), run(args, "minicnn", seed, init)
            print(f"{args.model}, seed {seed}, batch {args.batch}, {args.threads} thread(s)")
            if args.steps:
                print("  losses TF      ", " ".join(f"{v:.5f}" for v in tf["losses"]))
                print("  losses minicnn ", " ".join(f"{v:.5f}" for v in mc["losses"]))
                a, b = np.load(init + ".tf.npz"), np.load(init + ".minicnn.npz")
                for k in a.files:
                    diff = float(np.abs(a[k] - b[k]).max())
                    print(f"  weight {k} {a[k].shape}: max |TF - minicnn| {diff:.2e} "
                          f"(max |w| {float(np.abs(a[k]).max()):.3f})")
            if args.epochs:
                print("  test accuracy TF      ", tf["test_acc"])
                print("  test accuracy minicnn ", mc["test_acc"])


if __name__ == "__main__":
    main()
