"""``Trainer``: the Keras 3 training API mixed into ``Model`` and ``Sequential``.

``compile`` / ``fit`` / ``evaluate`` / ``predict``, the ``*_on_batch`` variants, ``save`` and the
weights I/O.  The model side supplies ``__call__(x, training=...)``, ``trainable_weights``,
``weights``, ``losses`` and ``output_names``; this mixin owns everything about the loop.

The loops hand every batch to ``train_step(data)`` / ``test_step(data)`` / ``predict_step(data)``
with Keras 3's signatures (``data`` as ``keras.utils.unpack_x_y_sample_weight`` reads it), so a
subclass overrides a step the way the Keras guides do it with the torch backend: ``zero_grad()``,
``loss.backward()``, ``[v.value.grad for v in trainable_weights]``, ``optimizer.apply(...)``.
What ``fit`` accepts as data is ``minicnn.utils.data_adapters``' business.

The default training step: run the model with ``training=True``, clear the gradients, add the
compiled losses (weighted per output) and the regularization penalties, ``backward()``, let the
optimizer update every trainable weight in place, then update the metrics with the predictions.
"""

import functools
import inspect
import warnings

import numpy as np

from minicnn._kernels.mempool import pooled
from minicnn.utils import compile_utils as cu
from minicnn.utils.data_adapters import (get_data_adapter, is_array_like, pack_x_y_sample_weight,
                                         unpack_x_y_sample_weight)
from minicnn.utils.epoch_iterator import EpochIterator

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
        from minicnn import optimizers

        if steps_per_execution != 1:
            raise ValueError(f"compile: steps_per_execution must be 1 in minicnn, got {steps_per_execution}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_loss = cu.CompileLoss(loss, loss_weights)
        self._compile_metrics = (cu.CompileMetrics(metrics, weighted_metrics, flatten=self._outputs_list)
                                 if metrics is not None or weighted_metrics is not None else None)
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

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self):
        """The metrics reset every epoch and reported in the logs, in Keras' order: the loss
        tracker, the compiled metrics (one ``compile_metrics`` entry), the per-output loss
        trackers, then ``Metric`` objects held as attributes of the model and its layers."""
        own = []
        if getattr(self, "compiled", False):
            own = [self._loss_tracker]
            if self._compile_metrics is not None:
                own.append(self._compile_metrics)
            own.extend(self._compile_loss.metrics)
        return own + _attribute_metrics(self, {id(m) for m in own})

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        """``{name: result}`` of ``self.metrics`` (a dict result, ``compile_metrics``'s, is merged)."""
        results = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    def _metrics_result_or(self, logs):
        # A custom step may report other names than self.metrics: then its own logs are the truth.
        results = _pythonify(self.get_metrics_result())
        return results if set(results) == set(logs) else logs

    def _flatten_metrics_in_order(self, logs):
        names = []
        for metric in self.metrics:
            names += [m.name for m in metric.metrics] if isinstance(metric, cu.CompileMetrics) \
                else [metric.name]
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ one step
    def _outputs_list(self, y_pred):
        names = list(getattr(self, "output_names", None) or [])
        return cu.flatten_outputs(y_pred, names)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Total loss Tensor: weighted compiled losses plus ``self.losses`` (regularization)."""
        preds, names = self._outputs_list(y_pred)
        total = self._compile_loss(y, preds, names, sample_weight) if getattr(self, "compiled", False) else None
        for p in list(getattr(self, "losses", None) or []):
            total = p if total is None else total + p
        if total is None:
            raise ValueError("No loss to compute: pass loss= to compile() or add losses in the model")
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        # An override of compute_loss gets only the arguments its signature takes (Keras checks
        # for `training`; older overrides stop at sample_weight or earlier).
        positional, keywords = _accepted_arguments(type(self).compute_loss)
        values = {"x": x, "y": y, "y_pred": y_pred, "sample_weight": sample_weight, "training": training}
        names = list(values)
        kwargs = {k: values[k] for k in names[positional:] if k in keywords}
        return self.compute_loss(*[values[k] for k in names[:positional]], **kwargs)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch; returns ``get_metrics_result()``."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def zero_grad(self):
        """Forget the gradients of every trainable weight (``torch.nn.Module.zero_grad``)."""
        for w in self.trainable_weights:
            w.grad = None

    def train_step(self, data):
        """One optimizer update on a batch ``data``; returns the metrics' results."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        # After the forward pass (a subclassed model may have built weights just now).
        self.zero_grad()
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        self._loss_tracker.update_state(float(cu.to_numpy(loss)), sample_weight=cu.batch_size_of(x))
        trainable = list(self.trainable_weights)
        if trainable and getattr(loss, "requires_grad", False):
            loss.backward()
            self.optimizer.apply([w.grad for w in trainable], trainable)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """Loss and metrics on a batch in inference mode (the loop runs it under ``no_grad``)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(float(cu.to_numpy(loss)), sample_weight=cu.batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs on a batch (inference mode; the loop runs it under ``no_grad``)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

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

    def _prepare_batch(self, data):
        """A batch of the data on its way to a step: the inputs cast to the model's float type.
        Every batch of fit/evaluate/predict passes here, whatever its source."""
        dtype = self._input_dtype()
        cast = functools.partial(_cast, dtype=dtype)
        if isinstance(data, tuple):
            return (cu.map_structure(cast, data[0]),) + data[1:]
        return cu.map_structure(cast, data)

    def _epochs(self, what, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                class_weight=None, steps=None):
        adapter = get_data_adapter(x, y, sample_weight, batch_size=_check_batch_size(batch_size),
                                   shuffle=shuffle, class_weight=class_weight, what=what)
        return EpochIterator(adapter, steps, prepare=self._prepare_batch)

    # ------------------------------------------------------------------ fit
    @_in_memory_pool
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History``.

        ``x`` is arrays (with ``y``, ``sample_weight``), a ``keras.utils.PyDataset``, a Python
        generator, or any iterable of ``(x, y[, sample_weight])`` batches (a ``tf.data.Dataset``,
        a torch ``DataLoader``); ``validation_data`` takes the same kinds (a tuple of arrays for
        arrays).  ``batch_size`` (arrays only) defaults to 32; the last partial batch is
        trained.  ``validation_split`` (arrays only) holds out the *last* fraction of the
        samples, before shuffling.  ``shuffle`` reorders the samples (of arrays) or the batches
        (of a PyDataset) every epoch with minicnn's global generator, so
        ``minicnn.utils.set_random_seed`` makes runs repeatable.  ``steps_per_epoch``: an epoch
        is that many batches, the next one going on where it stopped (needed for an infinite
        generator).  ``class_weight`` maps class index -> weight (single output).  ``verbose``:
        "auto"/1 progress bar, 2 one line per epoch, 0 silent.

        >>> # history = model.fit(x, y, batch_size=64, epochs=3, validation_split=0.1)
        >>> # history.history.keys() -> dict_keys(['accuracy', 'loss', 'val_accuracy', 'val_loss'])
        """
        from minicnn.callbacks import CallbackList

        self._require_compiled("fit")
        verbose = _check_verbose(verbose)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if not 0 <= initial_epoch <= max(epochs, 0):
            raise ValueError(f"fit: initial_epoch must be in [0, epochs], got {initial_epoch}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if not (isinstance(validation_freq, int) and validation_freq > 0
                or isinstance(validation_freq, (list, tuple))):
            raise ValueError(f"fit: validation_freq must be a positive int or a list of epochs, "
                             f"got {validation_freq!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', got {shuffle!r}")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = _split_arrays(x, y, sample_weight, validation_split)

        train = self._epochs("fit", x, y, sample_weight, batch_size, shuffle, class_weight, steps_per_epoch)
        val = None
        if validation_data is not None:
            val = self._epochs("fit: validation_data", *_unpack_validation_data(validation_data),
                               batch_size=validation_batch_size or batch_size, steps=validation_steps)
        try:
            cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                               verbose=verbose, epochs=epochs, steps=train.num_batches)
            return self._fit_loop(train, val, cbs, initial_epoch, epochs, validation_freq)
        finally:
            train.close()
            if val is not None:
                val.close()

    def _fit_loop(self, train, val, cbs, initial_epoch, epochs, validation_freq):
        from minicnn.autograd import no_grad

        self.stop_training = False
        cbs.on_train_begin()
        training_logs = None
        for epoch in range(initial_epoch, epochs):
            with train.epoch() as steps:
                if steps is None:
                    if epoch == initial_epoch:
                        raise ValueError("fit: the training data has no batches (no samples, or an "
                                         "exhausted generator)")
                    warnings.warn("Your input ran out of data; interrupting training. Make sure that "
                                  "your dataset or generator can generate at least "
                                  "`steps_per_epoch * epochs` batches.", stacklevel=3)
                    break
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                logs = {}
                for step, data in steps:
                    cbs.on_train_batch_begin(step)
                    logs = _pythonify(self.train_step(data))
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            epoch_logs = dict(self._metrics_result_or(logs))
            if val is not None and _should_validate(epoch, validation_freq):
                with no_grad():
                    val_logs = self._test_loop(val, cbs)
                if val_logs is None:
                    warnings.warn(f"fit: the validation data ran out of batches at epoch {epoch + 1}: "
                                  "no validation metrics for it", stacklevel=3)
                else:
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            if getattr(self.optimizer, "schedule", None) is not None:
                epoch_logs["learning_rate"] = float(self.optimizer.learning_rate)
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        cbs.on_train_end(training_logs)
        return cbs.history

    # ------------------------------------------------------------------ evaluate / predict
    def _test_loop(self, iterator, callbacks):
        """One epoch of ``test_step`` (the caller holds ``no_grad``); None if there was no batch."""
        self.reset_metrics()
        with iterator.epoch() as steps:
            if steps is None:
                return None
            callbacks.on_test_begin()
            logs = {}
            for step, data in steps:
                callbacks.on_test_batch_begin(step)
                logs = _pythonify(self.test_step(data))
                callbacks.on_test_batch_end(step, logs)
        logs = self._metrics_result_or(logs)
        callbacks.on_test_end(logs)
        return logs

    @_in_memory_pool
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on the data (the kinds ``fit`` takes) in inference mode.

        Returns the loss as a float when there are no metrics, else ``[loss, *metrics]`` in
        ``metrics_names`` order, or a dict with ``return_dict=True``.
        """
        from minicnn.autograd import no_grad
        from minicnn.callbacks import CallbackList

        self._require_compiled("evaluate")
        verbose = _check_verbose(verbose)
        iterator = self._epochs("evaluate", x, y, sample_weight, batch_size, steps=steps)
        try:
            cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                               epochs=1, steps=iterator.num_batches)
            with no_grad():
                logs = self._test_loop(iterator, cbs)
        finally:
            iterator.close()
        if logs is None:
            raise ValueError("evaluate: the data has no batches (no samples, or an exhausted generator)")
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @_in_memory_pool
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` (the kinds ``fit`` takes; targets in the batches are ignored),
        in inference mode, batch by batch, as ndarrays with the structure of the outputs."""
        from minicnn.autograd import no_grad
        from minicnn.callbacks import CallbackList

        verbose = _check_verbose(verbose)
        iterator = self._epochs("predict", x, batch_size=batch_size, steps=steps)
        outputs = []
        try:
            cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                               epochs=1, steps=iterator.num_batches)
            with iterator.epoch() as batches:
                if batches is None:
                    raise ValueError("predict: x has no samples (or is an exhausted generator)")
                cbs.on_predict_begin()
                for step, data in batches:
                    cbs.on_predict_batch_begin(step)
                    with no_grad():
                        batch_out = cu.map_structure(cu.to_numpy, self.predict_step(data))
                    outputs.append(batch_out)
                    cbs.on_predict_batch_end(step, {"outputs": batch_out})
        finally:
            iterator.close()
        cbs.on_predict_end()
        return cu.concatenate_structures(outputs)

    # ------------------------------------------------------------------ one batch
    def _one_batch(self, what, x, y=None, sample_weight=None, class_weight=None):
        if not is_array_like((x, y, sample_weight)):
            raise TypeError(f"{what}: x, y and sample_weight must be arrays, got x of type "
                            f"{type(x).__name__}")
        adapter = get_data_adapter(x, y, sample_weight, batch_size=1, class_weight=class_weight,
                                   what=what)
        return self._prepare_batch(pack_x_y_sample_weight(adapter.x, adapter.y, adapter.sample_weight))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on exactly this batch; returns the batch's loss/metrics."""
        self._require_compiled("train_on_batch")
        data = self._one_batch("train_on_batch", x, y, sample_weight, class_weight)
        self.reset_metrics()
        logs = _pythonify(self.train_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss/metrics on exactly this batch, in inference mode."""
        from minicnn.autograd import no_grad

        self._require_compiled("test_on_batch")
        data = self._one_batch("test_on_batch", x, y, sample_weight)
        self.reset_metrics()
        with no_grad():
            logs = _pythonify(self.test_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as ndarrays."""
        from minicnn.autograd import no_grad

        with no_grad():
            return cu.map_structure(cu.to_numpy, self.predict_step(self._one_batch("predict_on_batch", x)))

    # ------------------------------------------------------------------ saving
    def save(self, filepath, overwrite=True):
        """Save the whole model (config, weights, compile config, optimizer state) in one zip file,
        atomically; reload with ``minicnn.models.load_model``."""
        from minicnn.saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Save ``self.weights`` to one file (atomically)."""
        from minicnn.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Load weights written by ``save_weights`` or ``save``; shapes must match."""
        from minicnn.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)


def _mean(name):
    from minicnn.metrics import Mean

    return Mean(name=name)


def _cast(array, dtype):
    return array if array.dtype == dtype else array.astype(dtype)


def _pythonify(logs):
    """Logs as callbacks see them (Keras' ``pythonify_logs``): nested dicts merged, values as
    Python floats where they convert, keys sorted."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(_pythonify(value))
            continue
        try:
            value = float(cu.to_numpy(value))
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out


def _attribute_metrics(model, skip):
    """``Metric`` objects held as attributes (or in list attributes) of the model and of its
    layers, in the order they were assigned; a nested model's metrics are its own business."""
    from minicnn.metrics import Metric

    found, stack, seen_layers = [], [model], set()
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen_layers:
            continue
        seen_layers.add(id(layer))
        for value in vars(layer).values():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Metric) and id(item) not in skip:
                    skip.add(id(item))
                    found.append(item)
        stack.extend(l for l in getattr(layer, "_layers", ()) if not isinstance(l, Trainer))
    return found


_ARGUMENT_CACHE = {}


def _accepted_arguments(compute_loss):
    """(how many of x, y, y_pred, sample_weight go positionally, the names taken by keyword)."""
    if compute_loss not in _ARGUMENT_CACHE:
        params = list(inspect.signature(compute_loss).parameters.values())[1:]  # after self
        kinds = {p.kind for p in params}
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if inspect.Parameter.VAR_POSITIONAL in kinds:
            count = 4
        else:
            count = min(len([n for n in positional if n != "training"]), 4)
        keywords = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if inspect.Parameter.VAR_KEYWORD in kinds:
            keywords |= {"x", "y", "y_pred", "sample_weight", "training"}
        _ARGUMENT_CACHE[compute_loss] = count, keywords
    return _ARGUMENT_CACHE[compute_loss]


def _split_arrays(x, y, sample_weight, validation_split):
    """(training part, validation part): the last ``validation_split`` of the samples held out."""
    if not is_array_like((x, y, sample_weight)):
        raise ValueError("fit: validation_split is only supported for arrays; with a dataset or a "
                         "generator pass validation_data")
    x, y, sample_weight = cu.to_arrays(x, "x"), cu.to_arrays(y, "y"), cu.to_arrays(sample_weight, "sample_weight")
    n = cu.check_lengths(x, y, sample_weight)
    split_at = int(np.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"fit: validation_split={validation_split} leaves an empty training or "
                         f"validation set for {n} samples")
    parts = (x, y, sample_weight)
    train = tuple(cu.slice_structure(p, slice(0, split_at)) for p in parts)
    return train, tuple(cu.slice_structure(p, slice(split_at, None)) for p in parts)


def _unpack_validation_data(data):
    """(x, y, sample_weight) from a tuple of arrays, or (dataset, None, None)."""
    if isinstance(data, (tuple, list)):
        if len(data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                             "val_sample_weight), or a dataset, generator or PyDataset of such batches; "
                             f"got a {type(data).__name__} of length {len(data)}")
        return unpack_x_y_sample_weight(tuple(data))
    return data, None, None


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


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
