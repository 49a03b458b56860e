"""``ModelCheckpoint``: save the model (or its weights) during training, atomically."""

import os
import sys
import warnings

import numpy as np

from minicnn.callbacks.callback import Callback
from minicnn.callbacks.monitoring import _resolve_mode, settle_auto_mode


class ModelCheckpoint(Callback):
    """Save the model at the end of every epoch (``save_freq="epoch"``) or every ``save_freq``
    batches.

    ``filepath`` may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch`` and the
    logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.  With ``save_best_only`` only an
    improvement of ``monitor`` (per ``mode``) is saved.  Files are written to a temporary name and
    moved into place with ``os.replace``, so a crash never leaves a half-written checkpoint.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._mode_arg = mode
        self._initial_value_threshold = initial_value_threshold
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -np.inf if self.mode == "max" else np.inf
        self._current_epoch = 0
        self._batches_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch, batch, logs):
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **(logs or {}))
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **(logs or {}))
        except KeyError as exc:
            raise KeyError(f"ModelCheckpoint: failed to format filepath {self.filepath!r}: key {exc} "
                           f"is not in the logs ({sorted(logs or {})})") from None

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            if settle_auto_mode(self, self._mode_arg) and self._initial_value_threshold is None:
                self.best = -np.inf if self.mode == "max" else np.inf
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: can save best model only with {self.monitor!r} "
                              f"available, skipping (logs: {sorted(logs)})", stacklevel=2)
                return
            better = current > self.best if self.mode == "max" else current < self.best
            if not better:
                if self.verbose > 0:
                    sys.stdout.write(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}\n")
                return
            if self.verbose > 0:
                sys.stdout.write(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                                 f"{current:.5f}, saving model to {path}\n")
            self.best = current
        elif self.verbose > 0:
            sys.stdout.write(f"\nEpoch {epoch + 1}: saving model to {path}\n")
        dirname = os.path.dirname(path)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
