"""RandomContrast and RandomBrightness: per-image random intensity changes (training only),
clipped to ``value_range`` as Keras does."""

import numbers

import numpy as np

from minicnn import ops
from minicnn.layers.preprocessing import _RandomImageLayer, _bounded_factor
from minicnn.serialization import register_builtin

__all__ = ["RandomContrast", "RandomBrightness"]
_MOD = "minicnn.layers"


def _value_range(value_range, who):
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) for v in value_range)):
        raise ValueError(f"{who}: value_range must be a pair of numbers (low, high), got {value_range!r}")
    return sorted(float(v) for v in value_range)


class _ColorLayer(_RandomImageLayer):
    _bounds = (-1.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        who = type(self).__name__
        self.factor = _bounded_factor(factor, self._bounds, f"{who} factor")
        self._range = _value_range(value_range, who)
        super().__init__(seed=seed, **kwargs)
        self.value_range = value_range

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, undo = self._as_nhwc(inputs)
        y = self._adjust(x, self._rng.uniform(*self._draw_range(), size=(x.shape[0], 1, 1, 1)))
        return undo(ops.clip(y, *self._range))

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range})
        return config


@register_builtin(_MOD)
class RandomContrast(_ColorLayer):
    """Scale each channel's deviation from its mean by a random factor (training only):
    ``(x - mean) * c + mean``, with ``mean`` over the image's rows and columns and ``c`` drawn per
    image in ``[1 - lower, 1 + upper]``, then clipped to ``value_range``.

    ``factor``: in [0, 1].  As in Keras 3, a single float f means ``(lower, upper) = (0, f)``
    (contrast only rises: ``c`` in ``[1, 1 + f]``); pass ``(f, f)`` for ``[1 - f, 1 + f]``.

    >>> import numpy as np
    >>> from minicnn.layers import RandomContrast
    >>> x = np.array([[[[0.0], [100.0]]]], dtype=np.float32)   # one 1x2 image, mean 50
    >>> layer = RandomContrast((0.5, 0.5), value_range=(-1000, 1000), seed=0)
    >>> y = layer(x, training=True).numpy().ravel()
    >>> float(y.mean()), bool(25 <= y[1] - 50 <= 75)
    (50.0, True)
    """

    _bounds = (0.0, 1.0)

    def _draw_range(self):
        return 1.0 - self.factor[0], 1.0 + self.factor[1]

    def _adjust(self, x, c):
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        return (x - mean) * c.astype(x.dtype) + mean


@register_builtin(_MOD)
class RandomBrightness(_ColorLayer):
    """Add a random offset to each image (training only): ``x + d * (high - low)`` with ``d``
    drawn per image in ``[lower, upper]`` (``factor`` in [-1, 1]; a float f means ``[-f, f]``),
    then clipped to ``value_range = (low, high)``.

    >>> import numpy as np
    >>> from minicnn.layers import RandomBrightness
    >>> x = np.full((1, 2, 2, 3), 0.5, dtype=np.float32)
    >>> y = RandomBrightness((0.1, 0.1), value_range=(0, 1))(x, training=True).numpy()
    >>> np.allclose(y, 0.6)
    True
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, **kwargs)
        self.value_range = sorted(value_range)  # Keras keeps RandomBrightness' range sorted

    def _draw_range(self):
        return self.factor

    def _adjust(self, x, d):
        return x + (d * (self._range[1] - self._range[0])).astype(x.dtype)
