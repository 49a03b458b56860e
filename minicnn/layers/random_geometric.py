"""RandomRotation and RandomZoom: per-image random affine resampling (training only), on the
sampler of :mod:`minicnn.layers.preprocessing` (same fill modes and interpolations as
RandomTranslation).  Output pixel ``(i, j)`` shows input point ``(y, x)`` given by Keras' affine
matrices, about the image centre ``((h - 1) / 2, (w - 1) / 2)``."""

import numbers

import numpy as np

from minicnn.layers.preprocessing import (_FILL_MODES, _INTERPOLATIONS, _RandomImageLayer,
                                          _bounded_factor, sample, sample_separable)
from minicnn.serialization import register_builtin

__all__ = ["RandomRotation", "RandomZoom"]
_MOD = "minicnn.layers"


def _check_modes(fill_mode, interpolation):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"fill_mode must be one of {_FILL_MODES}, got {fill_mode!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")


class _AffineLayer(_RandomImageLayer):
    """The fill and interpolation arguments the affine layers share."""

    def __init__(self, fill_mode, interpolation, seed, fill_value, data_format, **kwargs):
        _check_modes(fill_mode, interpolation)
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _options(self):
        return {"interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value}

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


@register_builtin(_MOD)
class RandomRotation(_AffineLayer):
    """Rotate each image by a random angle (training only).

    ``factor``: a fraction of a full turn; a float f draws angles in ``[-f, f] * 360`` degrees,
    a pair ``(lower, upper)`` in ``[lower, upper] * 360``; positive angles rotate
    counter-clockwise.  ``fill_mode`` (``"reflect"``, ``"wrap"``, ``"constant"``,
    ``"nearest"``) fills the corners the rotation uncovers.

    >>> import numpy as np
    >>> from minicnn.layers import RandomRotation
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> RandomRotation((0.25, 0.25), interpolation="nearest")(x, training=True).numpy()[0, :, :, 0]
    array([[2., 5., 8.],
           [1., 4., 7.],
           [0., 3., 6.]], dtype=float32)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        self.factor = _bounded_factor(factor, (-1.0, 1.0), "RandomRotation factor")
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, undo = self._as_nhwc(inputs)
        n, h, w = x.shape[:3]
        angle = self._rng.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, size=n)
        theta = np.deg2rad(angle)[:, None, None]
        cos, sin = np.cos(theta), np.sin(theta)
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        i = np.arange(h, dtype=np.float64)[None, :, None] - cy
        j = np.arange(w, dtype=np.float64)[None, None, :] - cx
        # Keras' rotation matrix: (x, y)_in = R(theta) (x - cx, y - cy)_out + (cx, cy).
        xs = cos * j - sin * i + cx
        ys = sin * j + cos * i + cy
        return undo(sample(x, ys, xs, **self._options()))

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


def _zoom_factor(factor, name):
    """Keras' zoom factor: each bound in (-1, 1]; a float f means (-|f|, |f|)."""
    values = factor if isinstance(factor, (tuple, list)) else [factor]
    if (isinstance(factor, (tuple, list)) and len(factor) != 2) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and -1.0 < v <= 1.0
            for v in values):
        raise ValueError(f"{name} must be a number or a pair of numbers in (-1, 1], got {factor!r}")
    if isinstance(factor, (tuple, list)):
        return tuple(sorted(float(v) for v in factor))
    return -abs(float(factor)), abs(float(factor))


@register_builtin(_MOD)
class RandomZoom(_AffineLayer):
    """Zoom each image in or out by a random amount (training only).

    ``height_factor``: a float f draws vertical zooms in ``[-f, f]``, a pair in
    ``[lower, upper]``; positive values zoom out (the image shrinks), negative zoom in.
    ``width_factor``: the same horizontally; ``None`` (default) reuses the vertical zoom,
    keeping the aspect ratio.

    >>> import numpy as np
    >>> from minicnn.layers import RandomZoom
    >>> x = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 5, 1)
    >>> zoom = RandomZoom((0, 0), (-0.6, -0.6), fill_mode="constant", interpolation="nearest")
    >>> zoom(x, training=True).numpy().ravel()   # 2.5x zoom in on the centre
    array([2., 3., 3., 3., 4.], dtype=float32)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs):
        self._height_range = _zoom_factor(height_factor, "RandomZoom height_factor")
        self._width_range = (None if width_factor is None
                             else _zoom_factor(width_factor, "RandomZoom width_factor"))
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, undo = self._as_nhwc(inputs)
        n, h, w = x.shape[:3]
        zy = 1.0 + self._rng.uniform(*self._height_range, size=(n, 1))
        zx = zy if self._width_range is None else 1.0 + self._rng.uniform(*self._width_range, size=(n, 1))
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        ys = cy + zy * (np.arange(h)[None, :] - cy)
        xs = cx + zx * (np.arange(w)[None, :] - cx)
        return undo(sample_separable(x, ys, xs, **self._options()))

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config

