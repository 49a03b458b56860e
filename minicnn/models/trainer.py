"""``Trainer``: the Keras 3 training API mixed into ``Model`` and ``Sequential``.

``compile`` / ``fit`` / ``evaluate`` / ``predict``, the ``*_on_batch`` variants, ``save`` and the
weights I/O.  The model side supplies ``__call__(x, training=...)``, ``trainable_weights``,
``weights``, ``losses`` and ``output_names``; this mixin owns everything about the loop.

One training step: clear the gradients, run the model with ``training=True``, add the compiled
losses (weighted per output) and the regularization penalties, ``backward()``, let the optimizer
update every trainable weight in place, then update the running metrics with the detached
predictions.
"""

import functools
import math

import numpy as np

from minicnn import optimizers
from minicnn._kernels.mempool import pooled
from minicnn._random import global_rng
from minicnn.autograd import no_grad
from minicnn.callbacks import CallbackList
from minicnn.metrics import Mean
from minicnn.saving import load_weights, save_model, save_weights
from minicnn.utils import compile_utils as cu

__all__ = ["Trainer"]


def _in_memory_pool(method):
    """Run ``method`` with numpy's array data coming from minicnn's caching allocator: every
    step allocates the same sizes, so blocks are reused instead of page-faulted in afresh."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with pooled():
            return method(*args, **kwargs)
    return wrapper


class Trainer:
    """Mixin giving a model Keras' training loop (see the module docstring)."""

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Configure the model for training.

        Args:
            optimizer: name (``"adam"``) or ``minicnn.optimizers.Optimizer``.
            loss: name, Loss, function ``fn(y_true, y_pred)``, or a list/dict (one per output).
            loss_weights: scalar coefficients of the output losses (list or dict).
            metrics: names/Metrics/functions; a list, or list of lists / dict per output.
                ``"accuracy"`` is resolved from the shapes of targets and predictions.
            weighted_metrics: like ``metrics`` but weighted by ``sample_weight``/``class_weight``.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for Keras
                compatibility (minicnn always runs eagerly, one step at a time).

        >>> # model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        if steps_per_execution != 1:
            raise ValueError(f"compile: steps_per_execution must be 1 in minicnn, got {steps_per_execution}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_loss = cu.CompileLoss(loss, loss_weights)
        self._compile_metrics = cu.CompileMetrics(metrics, weighted_metrics)
        self._loss_tracker = _mean("loss")
        self._compile_config = cu.compile_config(self.optimizer, loss, loss_weights, metrics,
                                                 weighted_metrics)
        self.compiled = True
        self.stop_training = False

    def get_compile_config(self):
        """The JSON-able arguments of the last ``compile`` (None if never compiled)."""
        return getattr(self, "_compile_config", None)

    def compile_from_config(self, config, custom_objects=None):
        """``compile`` again from ``get_compile_config()`` (used by ``load_model``)."""
        self.compile(**cu.compile_args_from_config(config, custom_objects))

    def _require_compiled(self, what):
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"You must call compile() before {what}.")

    @property
    def metrics(self):
        """The metric objects whose results make the logs (loss tracker first)."""
        if not getattr(self, "compiled", False):
            return []
        return [self._loss_tracker] + self._compile_loss.trackers + self._compile_metrics.metrics

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self):
        # Keras 3 reports the logs sorted by name ("accuracy" before "loss").
        return {m.name: float(m.result()) for m in sorted(self.metrics, key=lambda m: m.name)}

    # ------------------------------------------------------------------ one step
    def _outputs_list(self, y_pred):
        names = list(getattr(self, "output_names", None) or [])
        return cu.flatten_outputs(y_pred, names)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Total loss Tensor: weighted compiled losses plus ``self.losses`` (regularization)."""
        preds, names = self._outputs_list(y_pred)
        total = self._compile_loss(y, preds, names, sample_weight)
        penalties = list(getattr(self, "losses", None) or [])
        for p in penalties:
            total = p if total is None else total + p
        if total is None:
            raise ValueError("No loss to compute: pass loss= to compile() or add losses in the model")
        return total

    def _update_metrics(self, y, y_pred, sample_weight, loss_value, batch_size):
        self._loss_tracker.update_state(loss_value, sample_weight=batch_size)
        preds, names = self._outputs_list(y_pred)
        detached = [p.data if hasattr(p, "data") and not isinstance(p, np.ndarray) else np.asarray(p)
                    for p in preds]
        self._compile_metrics.update_state(y, detached, names, sample_weight)

    def train_step(self, x, y=None, sample_weight=None):
        """One optimizer update on a batch; returns the running logs."""
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        # Listed after the forward pass (a subclassed model may have built weights just now) and
        # cleared before backward: the forward pass does not read gradients.
        trainable = list(self.trainable_weights)
        for w in trainable:
            w.grad = None
        if getattr(loss, "requires_grad", False):
            loss.backward()
            self.optimizer.apply([w.grad for w in trainable], trainable)
        loss_value = float(loss.data if hasattr(loss, "data") else loss)
        self._update_metrics(y, y_pred, sample_weight, loss_value, cu.batch_size_of(x))
        return self._logs()

    def test_step(self, x, y=None, sample_weight=None):
        """Loss and metrics on a batch in inference mode; returns the running logs."""
        with no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._update_metrics(y, y_pred, sample_weight, float(loss.data), cu.batch_size_of(x))
        return self._logs()

    def predict_step(self, x):
        """The model's outputs on a batch as ndarrays (inference mode, no graph)."""
        with no_grad():
            y_pred = self(x, training=False)
        return cu.map_structure(cu.to_numpy, y_pred)

    # ------------------------------------------------------------------ data plumbing
    def _input_dtype(self):
        # Inputs are cast to the model's float type (Keras casts to the layer dtype) so a
        # float64 or uint8 array meets float32 weights without upcasting the whole graph.
        for w in getattr(self, "weights", None) or ():
            if w.data.dtype.kind == "f":
                return w.data.dtype
        try:
            dtype = np.dtype(getattr(self, "dtype", None) or "float32")
        except TypeError:
            return np.dtype("float32")
        return dtype if dtype.kind == "f" else np.dtype("float32")

    def _prepare_x(self, x):
        dtype = self._input_dtype()
        return cu.map_structure(lambda a: a if a.dtype == dtype else a.astype(dtype), x)

    # ------------------------------------------------------------------ fit
    @_in_memory_pool
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs on arrays; returns a ``History``.

        ``batch_size`` defaults to 32; the last partial batch is trained.  ``validation_split``
        holds out the *last* fraction of the samples (before shuffling).  ``shuffle`` reorders
        the training samples every epoch with minicnn's global generator (so
        ``minicnn.utils.set_random_seed`` makes runs repeatable).  ``class_weight`` maps class
        index -> weight (single output).  ``verbose``: "auto"/1 progress bar, 2 one line per
        epoch, 0 silent.

        >>> # history = model.fit(x, y, batch_size=64, epochs=3, validation_split=0.1)
        >>> # history.history.keys() -> dict_keys(['accuracy', 'loss', 'val_accuracy', 'val_loss'])
        """
        self._require_compiled("fit")
        verbose = _check_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if not 0 <= initial_epoch <= max(epochs, 0):
            raise ValueError(f"fit: initial_epoch must be in [0, epochs], got {initial_epoch}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if validation_freq != 1 and not (isinstance(validation_freq, int) and validation_freq > 0):
            raise ValueError(f"fit: validation_freq must be a positive int, got {validation_freq!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True or False, got {shuffle!r}")

        x, y, sample_weight = cu.to_arrays(x, "x"), cu.to_arrays(y, "y"), cu.to_arrays(sample_weight, "sample_weight")
        n = cu.check_lengths(x, y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("fit: you cannot pass class_weight and sample_weight at the same time")
            sample_weight = cu.class_weight_to_sample_weight(y, class_weight)
        if validation_data is None and validation_split:
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(f"fit: validation_split={validation_split} leaves an empty training or "
                                 f"validation set for {n} samples")
            take = lambda s, sl: cu.slice_structure(s, sl)  # noqa: E731
            val = (take(x, slice(split_at, None)), take(y, slice(split_at, None)),
                   take(sample_weight, slice(split_at, None)))
            x, y, sample_weight = (take(x, slice(0, split_at)), take(y, slice(0, split_at)),
                                   take(sample_weight, slice(0, split_at)))
            n = split_at
        elif validation_data is not None:
            val = cu.unpack_validation_data(validation_data)
        else:
            val = None
        if n == 0:
            raise ValueError("fit: x has no samples")

        steps = math.ceil(n / batch_size)
        if steps_per_epoch is not None:
            steps = min(int(steps_per_epoch), steps)
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._train_counter = getattr(self, "_train_counter", 0)
        cbs.on_train_begin()
        training_logs = None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            if shuffle is True:
                order = global_rng().permutation(n)
            else:
                order = None
            logs = {}
            for step in range(steps):
                start, stop = step * batch_size, min((step + 1) * batch_size, n)
                index = slice(start, stop) if order is None else order[start:stop]
                xb = self._prepare_x(cu.slice_structure(x, index))
                yb = cu.slice_structure(y, index)
                wb = cu.slice_structure(sample_weight, index)
                cbs.on_train_batch_begin(step)
                logs = self.train_step(xb, yb, wb)
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(self._logs())
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, batch_size=validation_batch_size or batch_size,
                                                 callbacks=cbs, steps=validation_steps)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            schedule = getattr(self.optimizer, "schedule", None)
            if schedule is not None:
                epoch_logs["learning_rate"] = float(self.optimizer.learning_rate)
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        cbs.on_train_end(training_logs)
        return cbs.history

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, x, y, sample_weight, batch_size, callbacks, steps=None):
        n = cu.check_lengths(x, y, sample_weight)
        total_steps = math.ceil(n / batch_size) if n else 0
        if steps is not None:
            total_steps = min(int(steps), total_steps)
        self.reset_metrics()
        callbacks.on_test_begin()
        logs = {}
        for step in range(total_steps):
            index = slice(step * batch_size, min((step + 1) * batch_size, n))
            callbacks.on_test_batch_begin(step)
            logs = self.test_step(self._prepare_x(cu.slice_structure(x, index)),
                                  cu.slice_structure(y, index), cu.slice_structure(sample_weight, index))
            callbacks.on_test_batch_end(step, logs)
        logs = self._logs()
        callbacks.on_test_end(logs)
        return logs

    @_in_memory_pool
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on ``x``/``y`` in inference mode, batch by batch.

        Returns the loss as a float when there are no metrics, else ``[loss, *metrics]`` in
        ``metrics_names`` order, or a dict with ``return_dict=True``.
        """
        self._require_compiled("evaluate")
        verbose = _check_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        x, y, sample_weight = cu.to_arrays(x, "x"), cu.to_arrays(y, "y"), cu.to_arrays(sample_weight, "sample_weight")
        n = cu.check_lengths(x, y, sample_weight)
        total = math.ceil(n / batch_size) if steps is None else min(int(steps), math.ceil(n / batch_size))
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=total)
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size, cbs, steps=steps)
        if return_dict:
            return logs
        return self._flatten_logs(logs)

    def _flatten_logs(self, logs):
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    @_in_memory_pool
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` (inference mode, no graph), batch by batch, as ndarrays with the
        same structure as the model's outputs."""
        verbose = _check_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        x = cu.to_arrays(x, "x")
        n = cu.check_lengths(x, None, None)
        total = math.ceil(n / batch_size) if steps is None else min(int(steps), math.ceil(n / batch_size))
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                           steps=total)
        cbs.on_predict_begin()
        outputs = []
        for step in range(total):
            index = slice(step * batch_size, min((step + 1) * batch_size, n))
            cbs.on_predict_batch_begin(step)
            batch_out = self.predict_step(self._prepare_x(cu.slice_structure(x, index)))
            outputs.append(batch_out)
            cbs.on_predict_batch_end(step, {"outputs": batch_out})
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: x has no samples")
        return cu.concatenate_structures(outputs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on exactly this batch; returns the batch's loss/metrics."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = cu.to_arrays(x, "x"), cu.to_arrays(y, "y"), cu.to_arrays(sample_weight, "sample_weight")
        cu.check_lengths(x, y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("train_on_batch: you cannot pass class_weight and sample_weight at the same time")
            sample_weight = cu.class_weight_to_sample_weight(y, class_weight)
        self.reset_metrics()
        logs = self.train_step(self._prepare_x(x), y, sample_weight)
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss/metrics on exactly this batch, in inference mode."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = cu.to_arrays(x, "x"), cu.to_arrays(y, "y"), cu.to_arrays(sample_weight, "sample_weight")
        cu.check_lengths(x, y, sample_weight)
        self.reset_metrics()
        logs = self.test_step(self._prepare_x(x), y, sample_weight)
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as ndarrays."""
        x = cu.to_arrays(x, "x")
        cu.check_lengths(x, None, None)
        return self.predict_step(self._prepare_x(x))

    # ------------------------------------------------------------------ saving
    def save(self, filepath, overwrite=True):
        """Save the whole model (config, weights, compile config, optimizer state) in one zip file,
        atomically; reload with ``minicnn.models.load_model``."""
        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Save ``self.weights`` to one file (atomically)."""
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Load weights written by ``save_weights`` or ``save``; shapes must match."""
        load_weights(self, filepath, skip_mismatch=skip_mismatch)


def _mean(name):
    return Mean(name=name)


def _check_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)
