"""``Dataset``: the re-iterable sequence of elements that ``image_dataset_from_directory`` and
``split_dataset`` return, and ``keras.utils.split_dataset``.

``Dataset`` is the part of ``tf.data.Dataset`` that programs built on those two functions call:
iteration (a new pass each time), ``len()``/``cardinality()``, ``map``, ``batch``, ``unbatch``,
``take``, ``skip``, and ``prefetch`` (accepted and ignored: elements are made when asked for).
Elements are NumPy arrays or tuples of them; ``fit`` takes a dataset of batches as it is.
"""

import itertools
import numbers

import numpy as np

from minicnn._random import global_rng
__all__ = ["Dataset", "split_dataset"]

UNKNOWN_CARDINALITY = -2


class Dataset:
    """Elements made by ``make_iterator()`` (called once per pass); ``length`` when known.

    >>> ds = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10))
    >>> [tuple(int(v) for v in b) for b in ds.skip(1).take(2)]
    [(1, 10), (2, 20)]
    >>> [b[1].tolist() for b in ds.batch(2)]
    [[0, 10], [20, 30], [40]]
    """

    def __init__(self, make_iterator, length=None, batch_size=None):
        self._make_iterator = make_iterator
        self._length = length
        self._batch_size = batch_size  # elements are batches of this size (the last one partial)

    @classmethod
    def from_tensor_slices(cls, tensors):
        """The samples of an array, or of a tuple/list/dict of arrays of the same length."""
        parts = tensors if isinstance(tensors, (tuple, list, dict)) else None
        columns = parts.values() if isinstance(parts, dict) else parts if parts is not None else [tensors]
        arrays = [np.asarray(a) for a in columns]
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"from_tensor_slices: the arrays have different lengths {sorted(lengths)}")
        n = lengths.pop()

        def sample(i):
            if isinstance(parts, dict):
                return {k: a[i] for k, a in zip(parts, arrays)}
            return tuple(a[i] for a in arrays) if parts is not None else arrays[0][i]

        return cls(lambda: (sample(i) for i in range(n)), n)

    def __iter__(self):
        return iter(self._make_iterator())

    def __len__(self):
        if self._length is None:
            raise TypeError("The dataset length is unknown.")
        return self._length

    def cardinality(self):
        return UNKNOWN_CARDINALITY if self._length is None else self._length

    def _derived(self, make_iterator, length, batch_size="same"):
        out = Dataset(make_iterator, length, self._batch_size if batch_size == "same" else batch_size)
        for name in ("class_names", "file_paths"):
            if hasattr(self, name):
                setattr(out, name, getattr(self, name))
        return out

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """``map_func(*element)`` for tuple elements, ``map_func(element)`` otherwise."""
        def call(element):
            return map_func(*element) if isinstance(element, tuple) else map_func(element)
        return self._derived(lambda: map(call, self), self._length)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None):
        """Consecutive elements stacked along a new first axis."""
        if not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch: batch_size must be a positive int, got {batch_size!r}")

        def batches():
            it = iter(self)
            while True:
                chunk = list(itertools.islice(it, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                yield _stack(chunk)

        length = None
        if self._length is not None:
            length = self._length // batch_size if drop_remainder else -(-self._length // batch_size)
        return self._derived(batches, length, batch_size)

    def unbatch(self):
        """The samples of each batch element, one by one."""
        def samples():
            for element in self:
                yield from _unstack(element)
        return self._derived(samples, None, None)

    def take(self, count):
        length = count if self._length is None else min(count, self._length)
        return self._derived(lambda: itertools.islice(self, count), length)

    def skip(self, count):
        length = None if self._length is None else max(self._length - count, 0)
        return self._derived(lambda: itertools.islice(self, count, None), length)

    def prefetch(self, buffer_size=None, name=None):
        return self


def _stack(elements):
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(_stack([e[i] for e in elements]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([e[k] for e in elements]) for k in first}
    return np.stack([np.asarray(e) for e in elements])


def _unstack(element):
    if isinstance(element, tuple):
        return zip(*(_unstack(part) for part in element))
    if isinstance(element, dict):
        return ({k: v for k, v in zip(element, values)}
                for values in zip(*(_unstack(v) for v in element.values())))
    return list(np.asarray(element))


# ------------------------------------------------------------------ split_dataset
def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split the samples of ``dataset`` into two ``Dataset``s (e.g. train / test), Keras' way.

    ``dataset``: an array, a list/tuple of arrays of the same length, a ``Dataset`` of samples, or
    any iterable of samples (a tf.data or torch map-style dataset).  ``left_size``/``right_size``:
    a fraction in (0, 1) or a number of samples; one of them defaults to the rest.  ``shuffle``
    mixes the samples first (``seed``, or minicnn's global generator).  A ``Dataset`` of batches is
    split sample by sample and re-batched with its batch size, as Keras does for a batched
    tf.data.Dataset.

    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> len(left), len(right)
    (8, 2)
    """
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: at least one of left_size or right_size must be specified")
    batch_size = getattr(dataset, "_batch_size", None)
    if isinstance(dataset, (np.ndarray, list, tuple)) or hasattr(type(dataset), "__array__"):
        samples = list(Dataset.from_tensor_slices(dataset))
    elif batch_size is not None:
        samples = list(dataset.unbatch())
    elif hasattr(dataset, "__iter__"):
        samples = list(dataset)
    else:
        raise TypeError("split_dataset: dataset must be an array, a list/tuple of arrays or an "
                        f"iterable of samples, got {type(dataset).__name__}")
    if shuffle:
        rng = np.random.default_rng(seed) if seed is not None else global_rng()
        samples = [samples[i] for i in rng.permutation(len(samples))]
    left, right = _split_sizes(left_size, right_size, len(samples))
    out = []
    for part in (samples[:left], samples[len(samples) - right:]):
        ds = Dataset(lambda part=part: iter(part), len(part))
        out.append(ds.batch(batch_size) if batch_size is not None else ds)
    return tuple(out)


def _split_sizes(left_size, right_size, total):
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            sizes.append(None)
        elif isinstance(size, bool) or not isinstance(size, (numbers.Integral, numbers.Real)):
            raise TypeError(f"split_dataset: {name} must be an int, a float or None, got "
                            f"{type(size).__name__}")
        elif isinstance(size, numbers.Integral):
            if not 0 < size < total:
                raise ValueError(f"split_dataset: {name} should be a positive integer smaller than "
                                 f"{total}, or a float in (0, 1); got {size}")
            sizes.append(int(size))
        else:
            if not 0 < size < 1:
                raise ValueError(f"split_dataset: {name} should be a positive integer smaller than "
                                 f"{total}, or a float in (0, 1); got {size}")
            sizes.append(round(size * total))
    left, right = sizes
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} is more than the "
                         f"{total} samples")
    return left, right
