"""Data-parallel training of the Fashion-MNIST CNN over MPI ranks with minicnn.distribute.

    mpiexec -n 2 python examples/distributed_fashion_mnist.py                 # 2 ranks, this machine
    mpiexec -n 4 -hosts a,b python examples/distributed_fashion_mnist.py      # 2 hosts (MPICH's hydra)
    python examples/distributed_fashion_mnist.py --subset 2000 --epochs 1     # one process, no MPI

Every rank loads the data; ``fit`` gives each rank its slice of every global batch of
``--batch-size`` x ranks images, averages the gradients with one Allreduce per step and reports
the metrics of the whole group.  The learning rate is scaled by the number of ranks (the global
batch grew by that factor) and warmed up to it over the first epoch (Goyal et al., 2017).  The
model is the benchmarks' reference CNN (``--padding valid``: 225,034 parameters).  Rank 0 prints
the progress bar, the test accuracy, the speed of the group in images/second and the time each
step spent in the Allreduce; it also writes the trained model (every rank calls ``save``).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
from fashion_mnist_cnn import build_model  # noqa: E402

import minicnn as keras  # noqa: E402
from minicnn import distribute as dist  # noqa: E402


def main(argv=None):
    p = _common.add_common_args(_common.parser(__doc__), epochs=3)
    p.add_argument("--padding", choices=("same", "valid"), default="valid",
                   help="conv padding (default valid: the 225,034-parameter reference CNN)")
    p.add_argument("--warmup-epochs", type=float, default=1.0,
                   help="epochs over which the learning rate grows to 1e-3 x ranks (default 1)")
    args = p.parse_args(argv)
    dist.init()  # one process when not started by mpiexec
    root = dist.rank() == 0
    say = print if root else (lambda *a, **k: None)
    if args.threads:
        keras.set_num_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = _common.load_images("fashion_mnist", args.subset)
    n_train = _common.training_count(len(x_train), args.validation_split)
    say(f"{dist.size()} rank(s) x {keras.get_num_threads()} thread(s); global batch "
        f"{args.batch_size} x {dist.size()} = {args.batch_size * dist.size()}; {n_train} training images")

    model = build_model(args.padding)
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size())),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    timer = _common.EpochTimer()
    callbacks = [dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback(), timer]
    if dist.size() > 1 and args.warmup_epochs > 0:
        callbacks.insert(2, dist.LearningRateWarmupCallback(warmup_epochs=args.warmup_epochs))
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_split=args.validation_split, callbacks=callbacks,
                        verbose=args.verbose)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    speed = _common.images_per_second(n_train, timer)
    reducer = model.optimizer._gradient_reducer
    allreduce_ms = 1e3 * reducer.seconds / reducer.calls if reducer.calls else 0.0
    say(f"test accuracy: {test_acc:.4f}  (test loss {test_loss:.4f})")
    say(f"training speed: {speed:.0f} images/second for the group (median epoch {np.median(timer.times):.2f} s)")
    say(f"allreduce: {allreduce_ms:.2f} ms per step on rank 0 (waiting for the slowest rank included)")

    model_path = os.path.join(args.output_dir, "distributed_fashion_mnist.minicnn")
    if root:
        os.makedirs(args.output_dir, exist_ok=True)
    model.save(model_path)  # collective: rank 0 writes, the others wait for it
    say(f"model saved to {model_path}")
    return {"test_accuracy": float(test_acc), "images_per_second": speed, "ranks": dist.size(),
            "allreduce_ms_per_step": allreduce_ms, "model_path": model_path,
            "history": history.history}


if __name__ == "__main__":
    main()
