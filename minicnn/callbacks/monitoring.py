"""Callbacks that watch a logged quantity: ``EarlyStopping``, ``ReduceLROnPlateau``,
``TerminateOnNaN``; and the shared "is this an improvement" logic."""

import math
import sys
import warnings

import numpy as np

from minicnn.callbacks.callback import Callback


def _resolve_mode(mode, monitor, owner):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner}: mode {mode!r} is unknown, falling back to 'auto'", stacklevel=3)
        mode = "auto"
    if mode == "auto":
        # Until the model's metrics exist: accuracy-like and AUC-like quantities grow, everything
        # else shrinks; settle_auto_mode then asks the metric itself.
        name = monitor.lower()
        mode = "max" if name.endswith(("acc", "accuracy", "auc")) else "min"
    return mode


def settle_auto_mode(callback, mode_arg):
    """Keras 3's MonitorCallback: in "auto" mode the monitored metric's own direction (its
    ``_direction``, "up" for AUC, precision, recall, F-scores, ...) decides.  Called before the
    first comparison, once the compiled metrics exist; returns True when ``callback.mode`` changed."""
    if mode_arg != "auto" or getattr(callback, "_mode_settled", False):
        return False
    callback._mode_settled = True
    name = callback.monitor[4:] if callback.monitor.startswith("val_") else callback.monitor
    found = []
    for metric in getattr(callback.model, "metrics", None) or ():
        # the compiled metrics come wrapped in one CompileMetrics, as in Keras
        inner = getattr(metric, "metrics", None)
        found += list(inner) if isinstance(inner, (list, tuple)) else [metric]
    for metric in found:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            mode = "max" if direction == "up" else "min"
            changed, callback.mode = mode != callback.mode, mode
            return changed
    return False


def _print(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving for ``patience`` epochs.

    An epoch improves when ``current - min_delta`` beats the best so far (``min_delta`` counts
    against the direction of ``mode``).  With ``restore_best_weights`` the weights of the best
    epoch are put back when training stops.  ``stopped_epoch`` and ``best_epoch`` are recorded.

    >>> EarlyStopping(monitor="val_accuracy").mode
    'max'
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._mode_arg = mode
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        return value - self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs; available: "
                          f"{sorted(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if settle_auto_mode(self, self._mode_arg):
            self.min_delta = -self.min_delta
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement of
    ``monitor`` (by more than ``min_delta``), then wait ``cooldown`` epochs; never below ``min_lr``.
    Adds ``learning_rate`` to the epoch logs.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self._mode_arg = mode
        self.mode = _resolve_mode(mode, monitor, "ReduceLROnPlateau")
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self.best = -np.inf if self.mode == "max" else np.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _better(self, a, b):
        return a > b + self.min_delta if self.mode == "max" else a < b - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs; "
                          f"available: {sorted(logs)}", stacklevel=2)
            return
        if settle_auto_mode(self, self._mode_arg):
            self.best = -np.inf if self.mode == "max" else np.inf
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    By default training stops gracefully (``model.stop_training = True``: the epoch's and the
    training's end hooks still run); ``raise_error=True`` raises a RuntimeError at once instead, so
    no later hook runs (a BackupAndRestore backup is then kept, not deleted).
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
