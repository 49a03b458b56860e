"""Rescaling: ``inputs * scale + offset`` (e.g. ``[0, 255]`` pixels to ``[0, 1]``), in training
and inference alike; integer inputs (uint8 images) come out in the layer's float dtype."""

import numbers

import numpy as np

from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Rescaling"]


def _value(v, name):
    """A number or an array broadcastable to the inputs (per-channel scales)."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return float(v)
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"Rescaling: {name} must be a number or an array of numbers, got {v!r}") from None
    return arr


def _config(v):
    return v if isinstance(v, float) else v.tolist()


@register_builtin("minicnn.layers")
class Rescaling(Layer):
    """``inputs * scale + offset``.

    >>> import numpy as np
    >>> from minicnn.layers import Rescaling
    >>> Rescaling(1 / 127.5, offset=-1)(np.array([0, 255], dtype=np.uint8)).numpy()
    array([-1.,  1.], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _value(scale, "scale")
        self.offset = _value(offset, "offset")
        self.built = True

    def call(self, inputs):
        dtype = np.dtype(self.dtype)
        x = inputs if inputs.dtype == dtype else inputs.astype(dtype)
        return x * np.asarray(self.scale, dtype=dtype) + np.asarray(self.offset, dtype=dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": _config(self.scale), "offset": _config(self.offset)})
        return config
