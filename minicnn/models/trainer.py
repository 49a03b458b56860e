"""``Trainer``: the Keras 3 training API mixed into ``Model`` and ``Sequential``.

``compile``, the metrics, the steps, the ``*_on_batch`` variants, ``save`` and the weights I/O;
``fit`` / ``evaluate`` / ``predict`` come from ``EpochLoops`` (``epoch_loops.py``).  The model side
supplies ``__call__(x, training=...)``, ``trainable_weights``, ``weights``, ``losses`` and
``output_names``.

The loops hand every batch to ``train_step(data)`` / ``test_step(data)`` / ``predict_step(data)``
with Keras 3's signatures (``data`` as ``keras.utils.unpack_x_y_sample_weight`` reads it), so a
subclass overrides a step the way the Keras guides do it with the torch backend: ``zero_grad()``,
``loss.backward()``, ``[v.value.grad for v in trainable_weights]``, ``optimizer.apply(...)``.

The default training step: run the model with ``training=True``, clear the gradients, add the
compiled losses (weighted per output) and the regularization penalties, ``backward()`` (of the
loss times the optimizer's ``loss_scale_factor``), let the optimizer update every trainable
weight in place, then update the metrics with the predictions.
"""

import inspect

from minicnn import optimizers
from minicnn.autograd import no_grad
from minicnn.distribute.rank_zero import load_on_root, write_on_root
from minicnn.layers import _weights
from minicnn.metrics import Mean, Metric
from minicnn.models.epoch_loops import EpochLoops, pythonify_logs
from minicnn.saving import load_weights, save_model, save_weights
from minicnn.utils import compile_utils as cu
from minicnn.utils.data_adapters import (is_array_like, pack_x_y_sample_weight,
                                         unpack_x_y_sample_weight)
from minicnn.utils.epoch_iterator import get_data_adapter

__all__ = ["Trainer"]


class Trainer(EpochLoops):
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
        return own + [m for m in self._attribute_metrics() if all(m is not o for o in own)]

    def _attribute_metrics(self):
        # Cached: the walk through every layer's attributes would cost more than the rest of a
        # small model's step bookkeeping.  Forgotten when a public attribute of the model is set,
        # when a loop starts and when a layer gains weights (a layer built during the first step
        # creates its metrics then), so a metric attached in between is picked up.
        cached = self.__dict__.get(_CACHE)
        version = _weights.structure_version()
        if cached is None or cached[0] != version:
            cached = (version, _attribute_metrics(self))
            object.__setattr__(self, _CACHE, cached)
        return cached[1]

    def _forget_attribute_metrics(self):
        self.__dict__.pop(_CACHE, None)

    def __setattr__(self, key, value):
        if not key.startswith("_"):
            self._forget_attribute_metrics()
        super().__setattr__(key, value)

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
        results = pythonify_logs(self.get_metrics_result())
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
        total = None
        if getattr(self, "compiled", False):
            total = self._compile_loss(y, preds, names, sample_weight)
        for p in list(getattr(self, "losses", None) or []):
            total = p if total is None else total + p
        if total is None:
            raise ValueError("No loss to compute: pass loss= to compile() or add losses in the model")
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        # An override of compute_loss gets only the arguments its signature takes (Keras checks
        # for `training`; older overrides stop at sample_weight or earlier).
        if type(self).compute_loss is Trainer.compute_loss:
            return self.compute_loss(x, y, y_pred, sample_weight, training)
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
        # Listed after the forward pass (a subclassed model may have built weights just now).
        trainable = self.trainable_weights
        for w in trainable:  # zero_grad()
            w.grad = None
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        self._loss_tracker.update_state(float(loss), sample_weight=cu.batch_size_of(x))
        if trainable and getattr(loss, "requires_grad", False):
            self.optimizer.scale_loss(loss).backward()
            self.optimizer.apply([w.grad for w in trainable], trainable)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """Loss and metrics on a batch in inference mode (the loop runs it under ``no_grad``)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(float(loss), sample_weight=cu.batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs on a batch (inference mode; the loop runs it under ``no_grad``)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ------------------------------------------------------------------ one batch
    def _one_batch(self, what, x, y=None, sample_weight=None, class_weight=None):
        self._forget_attribute_metrics()
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
        logs = pythonify_logs(self.train_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss/metrics on exactly this batch, in inference mode."""
        self._require_compiled("test_on_batch")
        data = self._one_batch("test_on_batch", x, y, sample_weight)
        self.reset_metrics()
        with no_grad():
            logs = pythonify_logs(self.test_step(data))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as ndarrays."""
        with no_grad():
            return cu.map_structure(cu.to_numpy, self.predict_step(self._one_batch("predict_on_batch", x)))

    # ------------------------------------------------------------------ saving
    def save(self, filepath, overwrite=True):
        """Save the whole model (config, weights, compile config, optimizer state) in one zip file,
        atomically; reload with ``minicnn.models.load_model``.  Under ``minicnn.distribute``
        every rank calls it and rank 0 writes (see ``minicnn.distribute.rank_zero``)."""
        write_on_root(self, lambda: save_model(self, filepath, overwrite=overwrite), "model.save")

    def save_weights(self, filepath, overwrite=True):
        """Save ``self.weights`` to one file (atomically; on rank 0, like ``save``)."""
        write_on_root(self, lambda: save_weights(self, filepath, overwrite=overwrite),
                      "model.save_weights")

    def load_weights(self, filepath, skip_mismatch=False):
        """Load weights written by ``save_weights`` or ``save``; shapes must match.  Under
        ``minicnn.distribute`` rank 0 reads the file and every rank gets its weights."""
        load_on_root(self, lambda: load_weights(self, filepath, skip_mismatch=skip_mismatch),
                     "model.load_weights")


def _mean(name):
    return Mean(name=name)


_CACHE = "_attribute_metrics_cache"


def _attribute_metrics(model):
    """``Metric`` objects held in attributes of the model and of every layer inside it, as Keras
    tracks them: public or private, alone or in lists, tuples and dicts, in the order they were
    assigned.  A nested model's own attributes (its compiled metrics and trackers) are its own
    business, the layers inside it are not.  ``metrics`` leaves out the model's compiled ones."""
    found, queue, seen = [], [model], set()
    for layer in queue:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if layer is model or not isinstance(layer, Trainer):
            for key, value in vars(layer).items():
                for item in _metrics_in(value) if key != _CACHE else ():
                    if id(item) not in seen:
                        seen.add(id(item))
                        found.append(item)
        queue.extend(getattr(layer, "_layers", ()))
    return found


def _metrics_in(value):
    if isinstance(value, Metric):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in _metrics_in(item)]
    return []


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
