"""``TensorBoard`` (keras/src/callbacks/tensorboard.py): TensorBoard event files written with
tensorboardX (the optional extra ``pip install "minicnn[tensorboard]"``), with Keras' tags.

Under ``log_dir/train``: ``epoch_<metric>`` per epoch (and ``epoch_learning_rate``),
``batch_<metric>`` every ``update_freq`` batches, weight histograms ``<weight path>/histogram``
every ``histogram_freq`` epochs (images ``<weight path>/image`` with ``write_images``), the model's
config for the graph dashboard (``write_graph``), Embedding tables for the projector
(``embeddings_freq``).  Under ``log_dir/validation``: the validation metrics as ``epoch_<metric>``
and, after each evaluation, ``evaluation_<metric>_vs_iterations`` at the optimizer's step.
"""

import json
import os
import time
import warnings

import numpy as np

from minicnn import serialization
from minicnn.callbacks.callback import Callback

__all__ = ["TensorBoard"]


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError('The TensorBoard callback writes event files with tensorboardX, which is not '
                          'installed: pip install "minicnn[tensorboard]"') from None
    return SummaryWriter


def _profile_batch_arg(profile_batch):
    if isinstance(profile_batch, str):
        profile_batch = [int(v) for v in profile_batch.split(",")]
    if isinstance(profile_batch, (list, tuple)) and len(profile_batch) == 2:
        start, stop = profile_batch
    elif isinstance(profile_batch, int):
        start = stop = profile_batch
    else:
        raise ValueError("profile_batch must be a non-negative integer or 2-tuple of positive integers, "
                         f"got {profile_batch!r}")
    if start or stop:
        # as Keras with its torch and numpy backends: there is no profiler to start
        raise ValueError(f"TensorBoard: profiling is not available in minicnn (use minicnn.utils.profile); "
                         f"got profile_batch={profile_batch!r}, it must be 0")


class TensorBoard(Callback):
    """Log metrics, histograms and the model to TensorBoard; view with ``tensorboard --logdir``.

    ``update_freq``: "epoch", "batch" (= 1) or an int N (batch-level scalars every N batches).
    ``write_steps_per_second`` adds ``epoch_steps_per_second`` / ``batch_steps_per_second``.
    ``profile_batch`` must be 0 (minicnn has no TensorBoard profiler).

    >>> # model.fit(x, y, epochs=2, callbacks=[TensorBoard(log_dir="./logs", histogram_freq=1)])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self._writer_class = _summary_writer_class()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and not isinstance(update_freq, bool)
                                           and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got {update_freq!r}")
        _profile_batch_arg(profile_batch)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start_time = self._epoch_start_time = 0.0
        self._previous_epoch_iterations = 0

    # ------------------------------------------------------------------ writers
    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = self._writer_class(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        if self.write_graph:
            self._write_model_config()

    def _write_model_config(self):
        """The model's JSON config under the tag "keras" with the graph_keras_model plugin, which
        TensorBoard's graph dashboard draws as a conceptual graph (Keras' keras_model_summary)."""
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto

        try:
            if hasattr(self.model, "to_json"):
                text = self.model.to_json()
            else:
                text = json.dumps(serialization.serialize(self.model))
        except Exception as exc:  # noqa: BLE001 - as Keras: a model that cannot serialize is skipped
            warnings.warn(f"TensorBoard: model failed to serialize as JSON, not writing its graph ({exc})",
                          stacklevel=3)
            return
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                           content=b"1"))
        tensor = TensorProto(dtype=7, string_val=[text.encode()])  # 7 = DT_STRING
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        self._writer("train")._get_file_writer().add_summary(summary, global_step=0)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = self._iterations()
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / max(time.time() - self._batch_start_time, 1e-9), step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs=None):
        if getattr(self.model, "optimizer", None) is None:
            return
        writer, step = self._writer("validation"), self._iterations()
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)

    # ------------------------------------------------------------------ what is written
    def _iterations(self):
        return int(getattr(getattr(self.model, "optimizer", None), "iterations", 0))

    def _log_epoch_metrics(self, epoch, logs):
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start_time, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._previous_epoch_iterations) / seconds
        for which, values in (("train", train), ("validation", val)):
            for name, value in values.items():
                if np.ndim(value) == 0:
                    self._writer(which).add_scalar(f"epoch_{name}", float(value), epoch)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = str(getattr(weight, "path", None) or getattr(weight, "name", "weight")).replace(":", "_")
                values = np.asarray(getattr(weight, "data", weight))
                writer.add_histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.add_image(f"{name}/image", image, epoch, dataformats="NHWC")
        writer.flush()

    def _log_embeddings(self, epoch):
        metadata = self.embeddings_metadata
        for layer in self.model.layers:
            table = getattr(layer, "embeddings", None)
            if table is None:
                continue
            labels = None
            path = metadata if isinstance(metadata, str) else (metadata or {}).get(layer.name)
            if path is not None:
                with open(path, encoding="utf-8") as f:
                    labels = [line.rstrip("\n") for line in f][: len(np.asarray(getattr(table, "data", table)))]
            self._writer("train").add_embedding(np.asarray(getattr(table, "data", table)), metadata=labels,
                                                global_step=epoch, tag=layer.name)


def _weight_image(w):
    """Keras' _log_weight_as_image: a bias as a 1-pixel-high strip, a Dense kernel as one gray image
    (wide side horizontal), a conv kernel as one image per output channel; None otherwise."""
    w = np.squeeze(w)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]
    else:
        return None
    lo, hi = float(w.min()), float(w.max())
    return (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)
