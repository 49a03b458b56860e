"""Programs the tests in this folder run under ``mpiexec -n N`` (or as one plain process).

    python mpi_worker.py SCENARIO OUT_DIR [options]

Each rank writes what it ended with to ``OUT_DIR/<scenario>-rank<r>.npz``; the tests compare the
ranks' files with each other and with a one-process run.
"""

import argparse
import os
import sys

import numpy as np

import minicnn as keras
from minicnn import distribute as dist


def make_data(n, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8, 8, 1)).astype("float32")
    y = (x[:, :4, :4, 0].mean(axis=(1, 2)) > 0).astype("int64") + (x[:, 4:, 4:, 0].mean(axis=(1, 2)) > 0)
    return x, y


def make_model(batch_norm, dropout):
    # No bias before batch norm: its true gradient is 0, and Adam would blow its rounding noise
    # up to steps of size lr, which no two summation orders share.
    layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, use_bias=not batch_norm)]
    if batch_norm:
        layers.append(dist.SyncBatchNormalization() if batch_norm == "sync"
                      else keras.layers.BatchNormalization())
    layers += [keras.layers.ReLU(), keras.layers.MaxPooling2D(), keras.layers.Flatten()]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(3))
    return keras.Sequential(layers)


def compiled(model):
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(0.01)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def state_of(model):
    arrays = {f"w{i}": w.data for i, w in enumerate(model.weights)}
    opt = model.optimizer
    if opt.built:
        arrays.update({f"opt{i}": np.asarray(v) for i, v in enumerate(opt.variables)})
    return arrays


def save(args, **arrays):
    np.savez(os.path.join(args.out, f"{args.scenario}-rank{dist.rank()}.npz"), size=dist.size(), **arrays)


def train(args):
    keras.utils.set_random_seed(0)
    x, y = make_data(args.samples)
    xv, yv = make_data(args.samples // 2 + 1, seed=2)
    model = compiled(make_model(args.batch_norm, args.dropout))
    history = model.fit(x, y, batch_size=args.global_batch // dist.size(), epochs=2, verbose=args.verbose,
                        validation_data=(xv, yv),
                        callbacks=[dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()])
    evaluation = model.evaluate(xv, yv, batch_size=args.global_batch // dist.size(), verbose=0)
    prediction = model.predict(xv, batch_size=7, verbose=0)
    h = history.history
    save(args, **state_of(model), evaluation=np.array(evaluation), prediction=prediction,
         history=np.array([h[k] for k in sorted(h)]), history_keys=np.array(sorted(h)),
         allreduce_calls=model.optimizer._gradient_reducer.calls)


class Snapshot(keras.callbacks.Callback):
    """The state at the start of training (after the restoring callbacks before it)."""

    def on_train_begin(self, logs=None):
        self.state = {"start_" + k: np.array(v) for k, v in state_of(self.model).items()}
        self.state["start_iterations"] = np.array(self.model.optimizer.iterations)


def checkpoint(args):
    keras.utils.set_random_seed(0)
    x, y = make_data(args.samples)
    backup = os.path.join(args.shared, "backup")
    path = os.path.join(args.shared, "ckpt.minicnn")
    if args.phase == "write":
        model = compiled(make_model("plain", False))
        model.fit(x, y, batch_size=16, epochs=2, verbose=0,
                  callbacks=[dist.BroadcastGlobalVariablesCallback(0),
                             keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False),
                             keras.callbacks.ModelCheckpoint(path)])
        save(args, **state_of(model), files=np.array(sorted(os.listdir(args.shared))))
        return
    snapshot = Snapshot()
    model = compiled(make_model("plain", False))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False),
                                   snapshot])
    loaded = dist.load_model(path)
    save(args, **snapshot.state, **state_of(model), epochs_run=len(history.history["loss"]),
         **{"loaded_" + k: v for k, v in state_of(loaded).items()},
         loaded_distributed=type(loaded.optimizer).__mro__[1].__name__ == "_DistributedMixin")


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def per_rank_data(args):
    """Each rank trains on its own PyDataset; unequal lengths are refused on every rank."""
    keras.utils.set_random_seed(dist.rank())  # different initial weights: the callback aligns them
    x, y = make_data(64 * dist.size())
    mine = slice(64 * dist.rank(), 64 * (dist.rank() + 1))
    model = compiled(make_model(None, False))
    model.fit(Batches(x[mine], y[mine], 16), epochs=2, verbose=0,
              callbacks=[dist.BroadcastGlobalVariablesCallback(0)])
    try:
        model.fit(Batches(x[mine][:16 * (2 + dist.rank())], y[mine][:16 * (2 + dist.rank())], 16),
                  epochs=1, verbose=0)
        message = "no error"
    except ValueError as exc:
        message = str(exc)
    save(args, **state_of(model), message=np.array(message))


def collectives(args):
    r, n = dist.rank(), dist.size()
    checks = {
        "average": dist.allreduce(np.arange(3.0) * (r + 1)),
        "sum": dist.allreduce(r + 1, op=dist.Sum),
        "max": dist.allreduce(np.array([r, -r]), op=dist.Max),
        "gathered": dist.allgather(np.full((r + 1, 2), r)),
        "broadcast": dist.broadcast(np.full(4, r, dtype=np.float32), root_rank=n - 1),
        "object": np.array(dist.broadcast_object({"from": r}, root_rank=0)["from"]),
        "objects": np.array([o["r"] for o in dist.allgather_object({"r": r})]),
        "local": np.array([dist.local_rank(), dist.local_size()]),
        "threads": np.array(keras.get_num_threads() if hasattr(keras, "get_num_threads") else -1),
    }
    dist.barrier()
    save(args, **checks)


def rank_raises(args):
    if dist.rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.barrier()  # without the abort hook, rank 0 would wait here for ever


def save_on_rank_zero_only(args):
    model = compiled(make_model(False, False))
    if dist.rank() == 0:
        model.save(os.path.join(args.shared, "only-root.minicnn"))
    dist.barrier()


SCENARIOS = {"train": train, "checkpoint": checkpoint, "collectives": collectives,
             "per_rank_data": per_rank_data,
             "raise": rank_raises, "save_on_rank_zero_only": save_on_rank_zero_only}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("out")
    parser.add_argument("--shared", default=None, help="a folder all ranks (and runs) share")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--batch-norm", choices=("plain", "sync"), default=None)
    parser.add_argument("--dropout", action="store_true")
    parser.add_argument("--phase", choices=("write", "resume"), default="write")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dist.init()
    SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    sys.exit(main())
