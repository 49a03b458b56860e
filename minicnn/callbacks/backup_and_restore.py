"""``BackupAndRestore`` (keras/src/callbacks/backup_and_restore.py): resume an interrupted ``fit``.

The training state -- the model's weights, the optimizer's state (iterations and slots) and the
number of finished epochs -- is written as one minicnn archive, atomically (a temporary file
renamed into place), so an interruption leaves the previous backup or the new one, never a mix.
Under ``minicnn.distribute`` rank 0 writes and reads the backup and sends the restored state to
the other ranks (``minicnn.distribute.rank_zero``).
"""

import os
import shutil

from minicnn.callbacks.callback import Callback
from minicnn.distribute.rank_zero import on_root, write_on_root
from minicnn.distribute.state import broadcast_model_state
from minicnn.saving.file_format import ArchiveReader, SavedModelError, write_archive
from minicnn.saving.saving_api import _assign_weights, _load_optimizer_state, _optimizer_state

__all__ = ["BackupAndRestore"]


def save_training_state(model, path, metadata):
    """Weights, optimizer state and ``metadata`` (a JSON-able dict) in one archive at ``path``."""

    weights = list(model.weights)
    groups = {"weights": [w.data for w in weights]}
    state = _optimizer_state(model)
    if state is not None:
        groups["optimizer"] = state
    write_archive(path, "weights", {"weights/names.json": [getattr(w, "name", None) for w in weights],
                                    "training_metadata.json": metadata}, groups)


def load_training_state(model, path):
    """Restore what ``save_training_state`` wrote into ``model``; returns the metadata dict.
    Raises ``SavedModelError`` (a ValueError) for a damaged or foreign file."""

    with ArchiveReader(path, expected_kind="weights") as reader:
        metadata = reader.read_json("training_metadata.json")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("epoch"), int):
            raise reader.error("has no epoch count", "training_metadata.json")
        _assign_weights(model, reader, reader.manifest("weights"))
        if reader.has("optimizer/arrays.json") and getattr(model, "optimizer", None) is not None:
            _load_optimizer_state(model, reader)
    return metadata


class BackupAndRestore(Callback):
    """Back up the training state in ``backup_dir`` and restore it when ``fit`` starts again.

    ``save_freq``: "epoch" (at the end of every epoch) or an int (every that many batches; a
    restart then repeats the unfinished epoch from its start).  ``double_checkpoint``: keep the
    previous backup too, and fall back to it when the latest cannot be read.
    ``delete_checkpoint``: remove ``backup_dir`` when training finishes (not when it is
    interrupted).  ``backup_dir`` must not be shared with other runs or callbacks.

    >>> # cb = BackupAndRestore(backup_dir="/tmp/backup")
    >>> # model.fit(x, y, epochs=10, callbacks=[cb])  # interrupted at epoch 4 ...
    >>> # model.fit(x, y, epochs=10, callbacks=[cb])  # ... runs epochs 5 to 10 only
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty backup_dir argument passed")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                                         and save_freq > 0):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._state_path = os.path.join(self.backup_dir, "latest.minicnn")
        self._prev_state_path = self._state_path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call "
                             f"fit(). Model {getattr(self.model, 'name', self.model)!r} is unbuilt: build it by "
                             "calling it on a batch of data.")
        metadata = on_root(self._restore, "BackupAndRestore")
        broadcast_model_state(self.model, 0)
        if metadata is not None:
            self.model._initial_epoch = metadata["epoch"]
            self._current_epoch = metadata["epoch"]

    def _restore(self):
        candidates = [p for p in (self._state_path, self._prev_state_path) if os.path.exists(p)]
        for i, path in enumerate(candidates):
            try:
                metadata = load_training_state(self.model, path)
            except (OSError, SavedModelError):
                if i + 1 == len(candidates):  # nothing older to fall back to
                    raise
                continue
            return metadata
        return None

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # Keras' count: a batch index not past the last one seen starts a new epoch
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save()

    def _save(self):
        write_on_root(self.model, self._write, "BackupAndRestore")

    def _write(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._state_path):
            os.replace(self._state_path, self._prev_state_path)
        save_training_state(self.model, self._state_path,
                            {"epoch": self._current_epoch, "batch": self._last_batch_seen})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            on_root(self._delete, "BackupAndRestore")

    def _delete(self):
        if os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
