"""``LearningRateScheduler``: set the learning rate at the start of each epoch."""

import inspect
import sys

from minicnn.callbacks.callback import Callback


class LearningRateScheduler(Callback):
    """``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``) is called at every epoch begin;
    the epoch logs get ``learning_rate``.

    >>> cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        try:
            params = inspect.signature(schedule).parameters
            self._two_args = len(params) >= 2 or any(
                p.kind == p.VAR_POSITIONAL for p in params.values())
        except (TypeError, ValueError):
            self._two_args = True

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        new_lr = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got {new_lr!r}") from None
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            sys.stdout.write(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.\n")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
