"""``EpochLoops``: ``fit`` / ``evaluate`` / ``predict`` as Keras 3 runs them, mixed into ``Trainer``.

Data of any kind becomes epochs of batches here (``minicnn.utils.data_adapters`` picks the
adapter, ``minicnn.utils.epoch_iterator.EpochIterator`` counts the steps), and every batch passes
through ``_prepare_batch`` on its way to ``train_step`` / ``test_step`` / ``predict_step``.  Under
``minicnn.distribute`` with several ranks, ``_epochs`` is where the data is shared between them
(``minicnn.distribute.sharding``): the adapter cuts global batches and each rank takes its part;
the loops then make the metrics those of the whole group and gather ``predict``'s outputs.  Callbacks are called
in Keras' order with the logs as ``pythonify_logs`` makes them (floats, nested dicts merged, keys
sorted).  ``fit``, ``evaluate`` and ``predict`` run inside minicnn's caching allocator.
"""

import functools
import warnings

import numpy as np

from minicnn._kernels.mempool import pooled
from minicnn.autograd import no_grad
from minicnn.callbacks import CallbackList
from minicnn.distribute import sharding as dist_sharding, state as dist_state
from minicnn.distribute._runtime import active_group
from minicnn.utils import compile_utils as cu
from minicnn.utils.data_adapters import is_array_like, unpack_x_y_sample_weight
from minicnn.utils.epoch_iterator import EpochIterator, get_data_adapter

__all__ = ["EpochLoops", "pythonify_logs"]


def _in_memory_pool(method):
    """Run ``method`` with numpy's array data coming from minicnn's caching allocator: every
    step allocates the same sizes, so blocks are reused instead of page-faulted in afresh."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with pooled():
            return method(*args, **kwargs)
    return wrapper


class EpochLoops:
    """The loops over epochs and steps (see the module docstring); the steps are ``Trainer``'s."""

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
                class_weight=None, steps=None, steps_name="steps"):
        self._forget_attribute_metrics()
        adapter = get_data_adapter(x, y, sample_weight,
                                   batch_size=dist_sharding.global_batch_size(_check_batch_size(batch_size)),
                                   shuffle=shuffle, class_weight=class_weight, what=what)
        adapter = dist_sharding.shard(adapter, what, steps, model=self)
        return EpochIterator(adapter, steps, prepare=self._prepare_batch,
                             steps_name=f"{what.split(':')[0]}: {steps_name}")

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
        self._require_compiled("fit")
        verbose = _check_verbose(verbose)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)):
            raise TypeError(f"fit: initial_epoch must be an int, got {initial_epoch!r}")
        if not 0 <= initial_epoch <= max(epochs, 0):
            raise ValueError(f"fit: initial_epoch must be in [0, epochs], got {initial_epoch}")
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.number)):
            raise TypeError(f"fit: validation_split must be a float, got {validation_split!r}")
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

        train = self._epochs("fit", x, y, sample_weight, batch_size, shuffle, class_weight, steps_per_epoch,
                             steps_name="steps_per_epoch")
        val = None
        if validation_data is not None:
            val = self._epochs("fit: validation_data", *_unpack_validation_data(validation_data),
                               batch_size=validation_batch_size or batch_size, steps=validation_steps,
                               steps_name="validation_steps")
        try:
            if val is not None and val.adapter.num_batches == 0:  # every val_ metric would read 0
                raise ValueError("fit: validation_data has no samples (empty arrays); pass data or "
                                 "leave validation_data out")
            cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                               verbose=verbose, epochs=epochs, steps=train.num_batches)
            return self._fit_loop(train, val, cbs, initial_epoch, epochs, validation_freq)
        finally:
            train.close()
            if val is not None:
                val.close()

    def _fit_loop(self, train, val, cbs, initial_epoch, epochs, validation_freq):
        self.stop_training = False
        cbs.on_train_begin()
        # BackupAndRestore sets where a restored run resumes (Keras' Model._initial_epoch)
        initial_epoch, self._initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch, None
        training_logs = None
        validated = False  # validation data that never gave a batch is an error, not val_loss 0
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
                    logs = pythonify_logs(self.train_step(data))
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            dist_state.reduce_metric_states(self.metrics)
            dist_state.average_moving_statistics(self)
            epoch_logs = dict(self._metrics_result_or(logs))
            if val is not None and _should_validate(epoch, validation_freq):
                with no_grad():
                    val_logs = self._test_loop(val, cbs)
                if val_logs is None and not validated:
                    raise ValueError("fit: validation_data gave no batches (an empty or exhausted "
                                     "generator): there is nothing to validate on")
                if val_logs is None:
                    warnings.warn(f"fit: the validation data ran out of batches at epoch {epoch + 1}: "
                                  "no validation metrics for it", stacklevel=3)
                else:
                    validated = True
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            if getattr(self.optimizer, "schedule", None) is not None:
                epoch_logs["learning_rate"] = float(self.optimizer.learning_rate)
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > 0:  # with use_ema, the weights become their moving averages (as in Keras)
            self.optimizer.finalize_variable_values(self.trainable_weights)
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
                logs = pythonify_logs(self.test_step(data))
                callbacks.on_test_batch_end(step, logs)
        dist_state.reduce_metric_states(self.metrics)
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
        return cu.concatenate_structures(dist_sharding.gather_outputs(iterator.adapter, outputs))


def _cast(array, dtype):
    return array if array.dtype == dtype else array.astype(dtype)

def pythonify_logs(logs):
    """Logs as callbacks see them (Keras' ``pythonify_logs``): nested dicts merged, values as
    Python floats where they convert, keys sorted."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
            continue
        try:
            value = float(value)  # Python and NumPy numbers, 0-d arrays, one-element Tensors
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out

def _split_arrays(x, y, sample_weight, validation_split):
    """(training part, validation part): the last ``validation_split`` of the samples held out."""
    if not is_array_like((x, y, sample_weight)):
        raise ValueError("fit: validation_split is only supported for arrays; with a dataset or a "
                         "generator pass validation_data")
    x, y = cu.to_arrays(x, "x"), cu.to_arrays(y, "y")
    sample_weight = cu.to_arrays(sample_weight, "sample_weight")
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
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    group = active_group()
    if group is not None and group.rank != 0:  # one progress bar for the group, on rank 0
        return 0
    return 1 if verbose == "auto" else int(verbose)


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)
