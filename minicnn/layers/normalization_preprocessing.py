"""Normalization: ``(inputs - mean) / sqrt(variance)`` with statistics given up front or learned
from data by :meth:`Normalization.adapt` (Keras' preprocessing layer)."""

import itertools

import numpy as np

from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Normalization"]

EPSILON = 1e-7  # Keras' backend.epsilon(): the floor of the standard deviation


def _batch_input(batch):
    """The inputs of a batch: ``x`` of ``(x, y)`` or ``(x, y, sample_weight)``."""
    return batch[0] if isinstance(batch, tuple) else batch


@register_builtin("minicnn.layers")
class Normalization(Layer):
    """Shift and scale inputs to mean 0 and standard deviation 1, per index of ``axis``.

    ``axis``: the axes that keep separate statistics (default -1: one mean and variance per
    feature of the last axis; ``None``: one scalar for everything).  ``mean``/``variance``: fixed
    statistics (broadcast to the kept axes), else call :meth:`adapt` on data before using the
    layer.  ``invert=True`` applies the inverse map, ``x * sqrt(variance) + mean``.
    Weights (adapted layers only, all non-trainable): ``mean``, ``variance``, ``count``.

    >>> import numpy as np
    >>> from minicnn.layers import Normalization
    >>> layer = Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> layer(np.array([1.0, 2.0, 3.0])).numpy()
    array([-1.4142135 , -0.70710677,  0.        ], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            try:
                axis = tuple(int(a) for a in axis)
            except (TypeError, ValueError):
                raise TypeError(f"Normalization: axis must be None, an int or a tuple of ints, "
                                f"got {axis!r}") from None
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: mean and variance must be given together, got "
                             f"mean={mean!r} and variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization: mean and variance must have the same shape, got "
                                 f"{np.shape(mean)} and {np.shape(variance)}")
            if np.ndim(mean) > len(axis):
                raise ValueError(f"Normalization: mean has rank {np.ndim(mean)}, more than the "
                                 f"{len(axis)} axes of axis={axis}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._mean = self._variance = None  # the broadcast statistics, once built

    # -- shapes --------------------------------------------------------------------------
    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Normalization: axis={self.axis} is out of range for inputs of "
                             f"shape {tuple(input_shape)}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[d] is None for d in keep):
            raise ValueError(f"Normalization: the kept axes {keep} must have known sizes, got "
                             f"input shape {tuple(input_shape)}")
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        self._build_shape = tuple(input_shape)
        stats_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=stats_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=stats_shape,
                                                  initializer="ones", trainable=False)
            # Kept for Keras' weight list (a saved Keras layer has it); adapt() leaves it at 0.
            self.count = self.add_weight(name="count", shape=(), dtype="int", initializer="zeros",
                                         trainable=False)
        else:
            self._mean = self._broadcast(self.input_mean, "mean")
            self._variance = self._broadcast(self.input_variance, "variance")
        self.built = True

    def _broadcast(self, value, name):
        """Fixed statistics aligned right-to-left with the kept axes, broadcast to them."""
        value = np.asarray(value, dtype=np.float64)
        shape = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            shape[self._keep_axis[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(shape), self._broadcast_shape)
        except ValueError:
            raise ValueError(f"Normalization: {name} of shape {value.shape} does not broadcast to "
                             f"the kept axes {self._keep_axis} of inputs {self._build_shape}") from None

    def compute_output_shape(self, input_shape):
        return input_shape

    # -- statistics -----------------------------------------------------------------------
    def adapt(self, data):
        """Set ``mean`` and ``variance`` from ``data``: an array, a Tensor, or an iterable of
        batches (arrays, or ``(x, y[, sample_weight])`` tuples whose ``x`` is used)."""
        if self.input_mean is not None:
            raise ValueError("Normalization.adapt() cannot change a layer given fixed mean and variance")
        if isinstance(data, np.ndarray) or hasattr(data, "numpy"):
            batches = [np.asarray(data)]
        elif hasattr(data, "__iter__"):
            it = iter(data)
            first = next(it, None)
            if first is None:
                raise ValueError("Normalization.adapt() received an empty iterable (no batches)")
            batches = (np.asarray(_batch_input(b)) for b in itertools.chain([first], it))
        else:
            raise TypeError(f"Normalization.adapt() takes an array, a Tensor or an iterable of batches, "
                            f"got {type(data).__name__}")
        mean = var = None
        count = 0
        for batch in batches:
            if batch.dtype.kind not in "biuf":
                raise TypeError(f"Normalization.adapt(): batches must be numeric, got dtype {batch.dtype}")
            if not self.built:
                self.build(batch.shape)
            self._check_batch(batch.shape)
            batch = batch.astype(np.float64)
            b_mean = batch.mean(axis=self._reduce_axis)
            b_var = batch.var(axis=self._reduce_axis)
            b_count = batch.size // max(b_mean.size, 1)
            if mean is None:
                mean, var, count = b_mean, b_var, b_count
                continue
            # Merge two sets of moments (Chan et al.): the variance of the union is the weighted
            # variances plus the spread of the two means around the new mean.
            total = count + b_count
            new_mean = (mean * count + b_mean * b_count) / total
            var = ((var + (mean - new_mean) ** 2) * count
                   + (b_var + (b_mean - new_mean) ** 2) * b_count) / total
            mean, count = new_mean, total
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(var)

    def _check_batch(self, shape):
        if len(shape) != len(self._build_shape) or any(
                shape[d] != self._build_shape[d] for d in self._keep_axis):
            raise ValueError(f"Normalization was built for inputs of shape {self._build_shape} "
                             f"(kept axes {self._keep_axis}), got data of shape {tuple(shape)}")

    def _stats(self, dtype):
        if self._mean is not None:
            mean, variance = self._mean, self._variance
        else:
            mean = self.adapt_mean.numpy().reshape(self._broadcast_shape)
            variance = self.adapt_variance.numpy().reshape(self._broadcast_shape)
        # In the layer's dtype, as Keras (its statistics are variables of that dtype).
        std = np.maximum(np.sqrt(variance.astype(dtype)), dtype.type(EPSILON))
        return mean.astype(dtype), std

    def call(self, inputs):
        dtype = np.dtype(self.dtype)
        x = inputs if inputs.dtype == dtype else inputs.astype(dtype)
        mean, std = self._stats(dtype)
        if self.invert:
            return x * std + mean
        return (x - mean) / std

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        })
        return config
