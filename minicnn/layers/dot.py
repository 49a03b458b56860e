"""Dot: batchwise dot product of two inputs along one axis of each (Keras' ``batch_dot``)."""

import math

from minicnn import ops
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Dot"]

EPSILON = 1e-7  # Keras' backend.epsilon(), the floor of the norm in normalize=True


def _axes_for(axes, rank_x, rank_y):
    """Keras' rule: an int applies to both inputs; negative axes count from each input's end."""
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    return pair[0] % rank_x, pair[1] % rank_y


def _l2_normalize(x, axis):
    """``x / max(||x||, epsilon)`` along ``axis`` (Keras' ``ops.normalize``)."""
    square_sum = ops.sum(x * x, axis=axis, keepdims=True)
    return x / ops.sqrt(ops.clip(square_sum, EPSILON * EPSILON, None))


def batch_dot(x, y, a0, a1):
    """Sum ``x`` and ``y`` over their axes ``a0`` and ``a1`` (>= 1) for each batch row.

    The result holds x's remaining axes, then y's (batch excluded); a rank-1 result becomes
    ``(batch, 1)``.  Computed as one batched matmul: x's summed axis moved last and y's to axis 1.
    """
    rank_x, rank_y = x.ndim, y.ndim
    b = x.shape[0]
    keep_x = [d for d in range(1, rank_x) if d != a0]
    keep_y = [d for d in range(1, rank_y) if d != a1]
    x_mid = tuple(x.shape[d] for d in keep_x)
    y_rest = tuple(y.shape[d] for d in keep_y)
    k = x.shape[a0]
    x3 = x.transpose([0] + keep_x + [a0]).reshape((b, math.prod(x_mid), k))
    y3 = y.transpose([0, a1] + keep_y).reshape((b, k, math.prod(y_rest)))
    out = ops.matmul(x3, y3).reshape((b,) + x_mid + y_rest)
    return out.reshape((b, 1)) if out.ndim == 1 else out


@register_builtin("minicnn.layers")
class Dot(Layer):
    """Dot product of two inputs, per sample: ``axes`` (an int, or one per input; never the batch
    axis 0) names the axes summed over; ``normalize=True`` L2-normalises both along them first
    (the output is then the cosine similarity).

    >>> import numpy as np
    >>> from minicnn.layers import Dot
    >>> x = np.arange(10.0).reshape(1, 5, 2)
    >>> y = np.arange(10.0, 20.0).reshape(1, 2, 5)
    >>> Dot(axes=(1, 2))([x, y]).numpy()
    array([[[260., 360.],
            [320., 445.]]], dtype=float32)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"Dot: axes must be an int or a pair of ints, got axes={axes!r}")
            axes = tuple(axes)
        elif not isinstance(axes, int) or isinstance(axes, bool):
            raise TypeError(f"Dot: axes must be an int or a pair of ints, got axes={axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)
        self.built = True

    def _check(self, shapes):
        if not isinstance(shapes, (list, tuple)) or len(shapes) != 2 or not all(
                isinstance(s, tuple) for s in shapes):
            raise ValueError(f"Dot must be called on a list of 2 inputs, got input shape {shapes}")
        s1, s2 = shapes
        if len(s1) < 2 or len(s2) < 2:
            raise ValueError(f"Dot needs inputs of rank >= 2, got shapes {s1} and {s2}")
        a0, a1 = _axes_for(self.axes, len(s1), len(s2))
        if a0 == 0 or a1 == 0:
            raise ValueError(f"Dot cannot sum over the batch axis 0 (axes={self.axes}, shapes {s1} and {s2})")
        if s1[a0] is not None and s2[a1] is not None and s1[a0] != s2[a1]:
            raise ValueError(f"Dot: axis {a0} of the first input ({s1[a0]}) differs from axis {a1} "
                             f"of the second ({s2[a1]}); shapes {s1} and {s2}")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f"Dot: the inputs have different batch sizes, shapes {s1} and {s2}")
        return a0, a1

    def compute_output_shape(self, input_shape):
        a0, a1 = self._check(input_shape)
        s1, s2 = input_shape
        out = [d for i, d in enumerate(s1) if i != a0] + [d for i, d in enumerate(s2) if i not in (0, a1)]
        return tuple(out + [1] if len(out) == 1 else out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("Dot must be called on a list of 2 inputs")
        a0, a1 = self._check([tuple(t.shape) for t in inputs])
        x, y = inputs
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        return batch_dot(x, y, a0, a1)

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config
