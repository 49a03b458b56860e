"""The adapter for what ``fit`` was given (``get_data_adapter``), and epochs of steps over it with
Keras 3's ``steps_per_epoch`` semantics (``EpochIterator``).

- Without ``steps_per_epoch`` an epoch is one whole pass: a finite generator ends the epoch when it
  is exhausted (an infinite one needs ``steps_per_epoch``).
- With ``steps_per_epoch`` an epoch takes that many batches and the next epoch goes on where it
  stopped; a new pass starts when the last one is used up (a pass of known length exactly at
  an epoch's end, or a re-iterable dataset that ran out).  Data that runs out inside an epoch
  ends that epoch early with a warning, as in Keras.

Every batch goes through ``prepare`` on its way out: the one place where a batch of the data set
becomes the batch a step runs on.
"""

import contextlib
import itertools
import warnings

import numpy as np

from minicnn.utils.data_adapters import (ArrayDataAdapter, DataAdapter, IterableDataAdapter,
                                         is_array_like)
from minicnn.utils.py_dataset import PyDataset, PyDatasetAdapter

__all__ = ["EpochIterator", "get_data_adapter"]


class EpochIterator:
    """``with it.epoch() as steps:`` gives ``(step, data)`` pairs for one epoch, or None when the
    data has nothing more to give (a one-shot stream used up)."""

    def __init__(self, adapter, steps_per_epoch=None, prepare=None, steps_name="steps_per_epoch"):
        if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool)
                                            or not isinstance(steps_per_epoch, (int, np.integer))
                                            or steps_per_epoch <= 0):
            raise ValueError(f"{steps_name} must be a positive int or None, got {steps_per_epoch!r}")
        self.adapter = adapter
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.prepare = prepare
        self._pass = None  # the current pass's iterator, kept between epochs with steps_per_epoch
        self._taken = 0  # batches taken from the current pass

    @property
    def num_batches(self):
        """Steps in an epoch, when known beforehand (the progress bar's target)."""
        return self.steps_per_epoch or self.adapter.num_batches

    @contextlib.contextmanager
    def epoch(self):
        self.adapter.on_epoch_begin()
        steps = self._steps()
        try:
            first = next(steps, None)
            yield None if first is None else itertools.chain((first,), steps)
        finally:
            steps.close()
            if self.steps_per_epoch is None:
                self._end_pass()
            self.adapter.on_epoch_end()

    def close(self):
        """Release the pass kept between epochs (a PyDataset's worker pool)."""
        self._end_pass()
        self.adapter.close()

    def _new_pass(self):
        self._end_pass()
        self._pass = iter(self.adapter.get_iterator())
        return self._pass

    def _end_pass(self):
        if self._pass is not None:
            close = getattr(self._pass, "close", None)
            if close is not None:
                close()
        self._pass, self._taken = None, 0

    def _steps(self):
        prepare = self.prepare or (lambda data: data)
        if self.steps_per_epoch is None:
            for step, batch in enumerate(self._new_pass()):
                yield step, prepare(batch)
            return
        for step in range(self.steps_per_epoch):
            batch = self._next_batch(first_of_epoch=step == 0)
            if batch is None:
                if step:
                    warnings.warn(
                        "Your input ran out of data; interrupting the epoch after "
                        f"{step} of steps_per_epoch={self.steps_per_epoch} steps. Make sure that your "
                        "dataset or generator can generate at least `steps_per_epoch * epochs` "
                        "batches.", stacklevel=4)
                return
            yield step, prepare(batch)
        if self.adapter.num_batches is not None and self._taken >= self.adapter.num_batches:
            self._end_pass()

    def _next_batch(self, first_of_epoch):
        if self._pass is None:
            self._new_pass()
        for attempt in range(2):
            try:
                batch = next(self._pass)
            except StopIteration:
                # A re-iterable dataset that ran out just at an epoch's end starts over.
                retry = (attempt == 0 and first_of_epoch and self._taken > 0
                         and not getattr(self.adapter, "one_shot", False))
                self._end_pass()
                if not retry:
                    return None
                self._new_pass()
                continue
            self._taken += 1
            return batch
        return None


def get_data_adapter(x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                     class_weight=None, what="fit"):
    """The adapter for ``x`` (with ``y``/``sample_weight`` for arrays only)."""
    if isinstance(x, DataAdapter):
        return x
    if is_array_like(x):
        if not is_array_like((y, sample_weight)):
            raise TypeError(f"{what}: when x is arrays, y and sample_weight must be arrays too; got "
                            f"y of type {type(y).__name__}, sample_weight of type "
                            f"{type(sample_weight).__name__}")
        return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                class_weight=class_weight)
    if isinstance(x, (dict, list, tuple)):
        raise TypeError(f"{what}: x is a {type(x).__name__} holding something that is not an array: "
                        f"{_first_non_array(x)}")
    if isinstance(x, PyDataset):
        _check_no_targets(what, "a PyDataset", y, sample_weight)
        return PyDatasetAdapter(x, shuffle=shuffle, class_weight=class_weight)
    if hasattr(x, "__iter__") and not isinstance(x, (str, bytes)):
        _check_no_targets(what, f"an iterable ({type(x).__name__})", y, sample_weight)
        return IterableDataAdapter(x, class_weight=class_weight)
    raise TypeError(
        f"{what}: x must be arrays (NumPy arrays, minicnn Tensors, or lists/dicts of them), a "
        "keras.utils.PyDataset, a Python generator, or an iterable of (x,), (x, y) or "
        f"(x, y, sample_weight) batches (a tf.data.Dataset, a torch DataLoader); got "
        f"{type(x).__module__}.{type(x).__qualname__}")


def _first_non_array(value):
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if not is_array_like(child):
            if isinstance(child, (dict, list, tuple)):
                return _first_non_array(child)
            return f"a {type(child).__module__}.{type(child).__qualname__}"
    return "?"


def _check_no_targets(what, kind, y, sample_weight):
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{what}: when x is {kind}, {name} must not be passed: the batches "
                             f"hold it, as (x, y) or (x, y, sample_weight)")
