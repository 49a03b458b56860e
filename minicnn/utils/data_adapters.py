"""What ``fit``/``evaluate``/``predict`` accept as data, behind one interface.

A data adapter turns one kind of input into passes of batches, each batch what Keras 3 hands to
``train_step(data)``: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` with NumPy leaves
(``pack_x_y_sample_weight``'s shapes).

- ``ArrayDataAdapter``: arrays (NumPy, minicnn Tensors, anything with ``__array__``, and
  lists/dicts of them), sliced into ``batch_size`` batches, reshuffled every pass with minicnn's
  global generator when ``shuffle`` is on.
- ``PyDatasetAdapter`` (in ``py_dataset``): a ``keras.utils.PyDataset``, with its worker pool.
- ``IterableDataAdapter``: a Python generator or any iterable of batches -- a ``tf.data.Dataset``
  or a torch ``DataLoader`` included, recognised by duck typing only (their tensors have
  ``__array__``, so ``np.asarray`` converts them; neither library is imported).

``minicnn.utils.epoch_iterator`` picks the adapter (``get_data_adapter``) and turns passes into
epochs of ``steps_per_epoch`` steps.
"""

import numbers

import numpy as np

from minicnn._random import global_rng
from minicnn.utils import compile_utils as cu

__all__ = ["DataAdapter", "ArrayDataAdapter", "IterableDataAdapter", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (missing parts are None); what a custom ``train_step(self, data)`` starts with.

    >>> x, y, sample_weight = unpack_x_y_sample_weight((np.ones((2, 3)), np.zeros(2)))
    >>> y, sample_weight
    (array([0., 0.]), None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} elements")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple ``fit`` uses: ``x`` alone (``(x,)`` if ``x`` is itself a tuple or list),
    ``(x, y)`` or ``(x, y, sample_weight)``.

    >>> pack_x_y_sample_weight("x", "y")
    ('x', 'y')
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return x, y
    return x, y, sample_weight


class DataAdapter:
    """One kind of input as passes of batches.

    ``get_iterator()`` starts a pass (a fresh iterator over the data, or the continuation of a
    one-shot stream); ``num_batches`` is the length of a pass, or None when unknown or infinite;
    ``on_epoch_begin``/``on_epoch_end`` bracket each epoch; ``close()`` releases what a pass holds
    (worker pools) once the caller is done.
    """

    num_batches = None

    def get_iterator(self):
        raise NotImplementedError

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def close(self):
        pass


# ------------------------------------------------------------------ arrays
def is_array_like(value):
    """True for what ``ArrayDataAdapter`` takes: arrays, numbers, and lists/tuples/dicts of them."""
    if value is None or isinstance(value, (np.ndarray, numbers.Number, np.generic)):
        return True
    if isinstance(value, dict):
        return all(is_array_like(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(is_array_like(v) for v in value)
    return hasattr(type(value), "__array__") or isinstance(getattr(value, "data", None), np.ndarray)


class ArrayDataAdapter(DataAdapter):
    """Arrays cut into ``batch_size`` batches (the last one partial), in a new random order every
    pass when ``shuffle`` is True (drawn from minicnn's global generator at the pass's first batch,
    so ``set_random_seed`` fixes it); ``shuffle="batch"`` shuffles the batches' order and the samples
    within each batch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                 class_weight=None):
        x, y, sample_weight = (cu.to_arrays(x, "x"), cu.to_arrays(y, "y"),
                               cu.to_arrays(sample_weight, "sample_weight"))
        self.num_samples = cu.check_lengths(x, y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("you cannot pass class_weight and sample_weight at the same time")
            sample_weight = cu.class_weight_to_sample_weight(y, class_weight)
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_batches = -(-self.num_samples // batch_size)

    def get_iterator(self):
        order = self.pass_order()
        for start in range(0, self.num_samples, self.batch_size):
            yield self.batch_at(self.batch_indices(order, start))

    def pass_order(self):
        """The sample order of a new pass (None: as stored), drawn from the global generator."""
        if self.shuffle is True:
            return global_rng().permutation(self.num_samples)
        if self.shuffle == "batch":
            return _batch_shuffled_order(self.num_samples, self.batch_size, global_rng())
        return None

    def batch_indices(self, order, start):
        """The samples of the batch starting at position ``start`` of a pass in ``order``."""
        stop = min(start + self.batch_size, self.num_samples)
        return slice(start, stop) if order is None else order[start:stop]

    def batch_at(self, index):
        """The batch of the samples at ``index`` (a slice or an integer array)."""
        return pack_x_y_sample_weight(cu.slice_structure(self.x, index),
                                      cu.slice_structure(self.y, index),
                                      cu.slice_structure(self.sample_weight, index))


def _batch_shuffled_order(n, size, rng):
    # Keras' shuffle="batch": whole batches change places, samples move only within their batch
    # (cheaper for data that is slow to gather at random, e.g. memory-mapped).
    starts = rng.permutation(np.arange(0, n, size))
    return np.concatenate([start + rng.permutation(min(size, n - start)) for start in starts])


# ------------------------------------------------------------------ generators and iterables
def standardize_batch(batch, where, class_weight=None):
    """A batch from user code as ``pack_x_y_sample_weight`` does it, with NumPy leaves (``where``
    names the source in errors); lists become tuples, as in Keras."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"{where} must be a tuple (x,), (x, y) or (x, y, sample_weight); got a "
                             f"tuple of {len(batch)} elements")
        parts = tuple(cu.to_arrays(part, f"{where}: {name}")
                      for part, name in zip(batch, ("x", "y", "sample_weight")))
    else:
        parts = (cu.to_arrays(batch, f"{where}: x"),)
    cu.check_lengths(*unpack_x_y_sample_weight(parts))
    if class_weight is not None:
        if len(parts) != 2:
            raise ValueError(f"class_weight needs (x, y) batches, {where} has {len(parts)} "
                             "elements (you cannot pass class_weight and sample_weight at the same time)")
        parts += (cu.class_weight_to_sample_weight(parts[1], class_weight),)
    return parts if isinstance(batch, tuple) else parts[0]


class IterableDataAdapter(DataAdapter):
    """A generator (a one-shot stream: a later pass continues where the last one stopped) or a
    re-iterable object (a new pass calls ``iter()`` again); ``num_batches`` is ``len(data)`` when
    the object has a length."""

    def __init__(self, data, class_weight=None):
        self.data = data
        self.class_weight = class_weight
        self.one_shot = iter(data) is data
        self.kind = "Python generator" if self.one_shot else f"iterable ({type(data).__name__})"
        self.num_batches = None
        if not self.one_shot:
            try:
                self.num_batches = len(data)
            except TypeError:  # no __len__, or one that raises (an infinite tf.data.Dataset)
                pass

    def get_iterator(self):
        for i, batch in enumerate(self.data):
            yield standardize_batch(batch, f"batch {i} of the {self.kind}", self.class_weight)
