"""Horovod's Keras callbacks: start every rank from the same state, report metrics of the whole
group, and warm the learning rate up to its value for the larger global batch."""

import sys

import numpy as np

from minicnn.callbacks import Callback
from minicnn.distribute._runtime import active_group
from minicnn.distribute.state import broadcast_model_state

__all__ = ["BroadcastGlobalVariablesCallback", "MetricAverageCallback", "LearningRateWarmupCallback"]


class BroadcastGlobalVariablesCallback(Callback):
    """Send rank ``root_rank``'s weights and optimizer state (slots and iteration count) to every
    rank when training starts, so all ranks begin identical even with unseeded initialisation.

    A model whose weights are created by its first call (a subclassed model not yet built) is
    broadcast at the end of the first batch instead, as Horovod does.  Put it first in the
    callback list when it should override state other callbacks restore on rank 0 only.
    """

    def __init__(self, root_rank=0, device=""):
        super().__init__()
        self.root_rank = root_rank
        self._pending = False

    def on_train_begin(self, logs=None):
        self._pending = not list(self.model.weights)
        if not self._pending:
            broadcast_model_state(self.model, self.root_rank)

    def on_train_batch_end(self, batch, logs=None):
        if self._pending:
            self._pending = False
            broadcast_model_state(self.model, self.root_rank)


class MetricAverageCallback(Callback):
    """Average the epoch's logs over the ranks (Horovod's ``MetricAverageCallback``).

    The model's own metrics -- its loss and compiled metrics, training and validation -- are
    already those of the whole group in minicnn (``fit`` sums the metric states over the ranks);
    this callback averages the *other* numbers in the logs, ones added by callbacks that run
    before it.  Put it before callbacks that read the logs (checkpoints, early stopping).
    """

    def on_epoch_end(self, epoch, logs=None):
        g = active_group()
        if g is None or not logs:
            return
        own = set(self.model.get_metrics_result()) if hasattr(self.model, "get_metrics_result") else set()
        own |= {"val_" + name for name in own} | {"learning_rate"}
        keys = sorted(k for k, v in logs.items() if k not in own and _is_number(v))
        if not keys:
            return
        values = np.array([float(logs[k]) for k in keys], dtype=np.float64)
        g.allreduce_(values, "sum")
        values /= g.size
        logs.update(zip(keys, values.tolist()))


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


class LearningRateWarmupCallback(Callback):
    """Gradual warm-up: the learning rate goes linearly from ``initial_lr / size()`` to
    ``initial_lr`` over the first ``warmup_epochs`` epochs, batch by batch (Goyal et al., 2017,
    "Accurate, Large Minibatch SGD"; Horovod's callback of the same name).

    Args:
        initial_lr: the learning rate after the warm-up (scaled for the global batch, e.g.
            ``0.01 * size()``); None: the optimizer's learning rate when training starts.
        warmup_epochs: how many epochs the warm-up takes.
        momentum_correction: while the rate changes, scale SGD's momentum by new / old rate
            for that step (Goyal et al.).
        steps_per_epoch: batches per epoch (default: what ``fit`` says).
        verbose: print a line when the warm-up ends.
    """

    def __init__(self, initial_lr=None, warmup_epochs=5, momentum_correction=True,
                 steps_per_epoch=None, verbose=0):
        super().__init__()
        if not (isinstance(warmup_epochs, (int, float)) and warmup_epochs > 0):
            raise ValueError(f"LearningRateWarmupCallback: warmup_epochs must be positive, got {warmup_epochs!r}")
        self.initial_lr = initial_lr
        self.warmup_epochs = warmup_epochs
        self.momentum_correction = momentum_correction
        self.steps_per_epoch = steps_per_epoch
        self.verbose = verbose
        self._epoch = 0
        self._restore_momentum = None

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if optimizer.schedule is not None:
            raise ValueError("LearningRateWarmupCallback needs a float learning rate, the optimizer "
                             "has a LearningRateSchedule")
        if self.initial_lr is None:
            self.initial_lr = float(optimizer.learning_rate)
        if self.steps_per_epoch is None:
            self.steps_per_epoch = self.params.get("steps")
        if not self.steps_per_epoch:
            raise ValueError("LearningRateWarmupCallback: the number of steps per epoch is unknown; "
                             "pass steps_per_epoch")

    def multiplier(self, epoch):
        """The factor on ``initial_lr`` at (fractional) ``epoch``."""
        size = active_group().size if active_group() is not None else 1
        return (epoch * (size - 1) / self.warmup_epochs + 1) / size

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        epoch = self._epoch + batch / self.steps_per_epoch
        if epoch > self.warmup_epochs:
            return
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        new = self.initial_lr * self.multiplier(min(epoch, self.warmup_epochs))
        optimizer.learning_rate = new
        momentum = getattr(optimizer, "momentum", None)
        if self.momentum_correction and momentum and old > 0:
            self._restore_momentum = momentum
            optimizer.momentum = momentum * new / old

    def on_train_batch_end(self, batch, logs=None):
        if self._restore_momentum is not None:
            self.model.optimizer.momentum = self._restore_momentum
            self._restore_momentum = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        if self.verbose and epoch + 1 == self.warmup_epochs:
            sys.stdout.write(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to "
                             f"{self.model.optimizer.learning_rate:g}.\n")
