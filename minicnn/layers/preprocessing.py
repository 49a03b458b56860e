"""Image augmentation layers (Keras 3 API): RandomFlip, RandomTranslation, RandomCrop.

They transform in training: in ``fit``, and, as in Keras, when called on their own without
``training`` (``augmented = data_augmentation(images)``); in ``predict``/``evaluate`` or with
``training=False`` RandomFlip and RandomTranslation return their input unchanged and RandomCrop
resizes to its target size.  Every layer draws from its own generator when given ``seed=`` and from
minicnn's global one otherwise (``minicnn.utils.set_random_seed`` makes runs repeatable).

All three are one operation underneath: each output pixel ``(i, j)`` of image ``n`` samples the
input at row ``ys[n, i]`` and column ``xs[n, j]`` (separable coordinates), by nearest or
bilinear interpolation, with Keras' fill modes outside the image.  The sampling is written with
Tensor indexing and arithmetic, so it is differentiable like any other op.
"""

import numbers

import numpy as np

from minicnn._random import make_rng
from minicnn.autograd import Tensor
from minicnn.layers._args import image_tensor
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

_MOD = "minicnn.layers"  # serialised as minicnn.layers.<Class>, like every built-in layer

__all__ = ["RandomFlip", "RandomTranslation", "RandomCrop", "sample", "sample_separable"]

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


# ------------------------------------------------------------------------------ the sampler

def _map_index(idx, n, fill_mode):
    """Integer source indices -> in-range indices and a validity mask (constant fill only).

    reflect: (d c b a | a b c d | d c b a); wrap: (a b c d | a b c d); nearest: (a a | a b c d |
    d d); constant: outside pixels take ``fill_value`` (the mask says which).
    """
    if fill_mode == "reflect":
        m = np.mod(idx, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m), None
    if fill_mode == "wrap":
        return np.mod(idx, n), None
    if fill_mode == "nearest":
        return np.clip(idx, 0, n - 1), None
    valid = (idx >= 0) & (idx < n)
    return np.clip(idx, 0, n - 1), valid


def _taps(coords, interpolation):
    """[(integer indices, weights)] along one axis for float source coordinates."""
    if interpolation == "nearest":
        return [(np.floor(coords + 0.5).astype(np.intp), None)]
    lo = np.floor(coords)
    frac = coords - lo
    lo = lo.astype(np.intp)
    if not frac.any():  # whole-pixel positions: one tap, no arithmetic
        return [(lo, None)]
    return [(lo, 1.0 - frac), (lo + 1, frac)]


def sample(x, ys, xs, *, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
    """Resample a batch of NHWC images at source coordinates ``(ys, xs)``.

    ``x``: Tensor ``(N, H, W, C)``; ``ys`` (source rows) and ``xs`` (source columns) are floats
    in pixel units, broadcastable to ``(N, Ho, Wo)``.  Returns a Tensor ``(N, Ho, Wo, C)``.
    """
    n, h, w = x.shape[:3]
    dtype = x.dtype
    ys, xs = np.asarray(ys, dtype=np.float64), np.asarray(xs, dtype=np.float64)
    out_shape = np.broadcast_shapes(ys.shape, xs.shape)
    b = np.arange(n).reshape(n, 1, 1)
    out = None
    fill_weight = None
    for ty, wy in _taps(ys, interpolation):
        ry, vy = _map_index(ty, h, fill_mode)
        for tx, wx in _taps(xs, interpolation):
            rx, vx = _map_index(tx, w, fill_mode)
            gathered = x[b, ry, rx]
            weight = None
            if wy is not None or wx is not None:
                weight = np.broadcast_to((1.0 if wy is None else wy) * (1.0 if wx is None else wx),
                                         out_shape)
            if vy is not None:
                valid = vy & vx
                base = np.ones(out_shape) if weight is None else weight
                missing = np.where(valid, 0.0, base)
                fill_weight = missing if fill_weight is None else fill_weight + missing
                weight = np.where(valid, base, 0.0)
            if weight is not None:
                gathered = gathered * weight[..., None].astype(dtype)
            out = gathered if out is None else out + gathered
    if fill_weight is not None and fill_value != 0 and fill_weight.any():
        out = out + (fill_value * fill_weight[..., None]).astype(dtype)
    return out


def sample_separable(x, ys, xs, **options):
    """:func:`sample` at separable coordinates: ``ys`` ``(N, Ho)`` source rows and ``xs``
    ``(N, Wo)`` source columns.

    >>> import numpy as np
    >>> from minicnn.autograd import Tensor
    >>> x = Tensor(np.arange(4.0, dtype=np.float32).reshape(1, 1, 4, 1))
    >>> sample_separable(x, np.zeros((1, 1)), np.array([[3.0, 2.0, 1.5, 0.0]])).data.ravel()
    array([3. , 2. , 1.5, 0. ], dtype=float32)
    """
    ys, xs = np.asarray(ys, dtype=np.float64), np.asarray(xs, dtype=np.float64)
    return sample(x, ys[:, :, None], xs[:, None, :], **options)


# ------------------------------------------------------------------------------ validation

def _check_data_format(data_format):
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def _check_seed(seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"seed must be None or a non-negative int, got {seed!r}")
    return seed


def _factor_range(factor, name):
    """Keras' factor: a float f means (-f, f); a pair is (lower, upper); all within [-1, 1]."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{name} must be a float or a pair (lower, upper), got {factor!r}")
        lower, upper = float(factor[0]), float(factor[1])
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise TypeError(f"{name} must be a float or a pair of floats, got {type(factor).__name__}")
    if lower > upper:
        raise ValueError(f"{name}: lower bound {lower} is larger than the upper bound {upper}")
    if lower < -1.0 or upper > 1.0:
        raise ValueError(f"{name} must lie in [-1, 1], got ({lower}, {upper})")
    return lower, upper


def _bounded_factor(factor, bounds, name):
    """Keras' image-layer ``factor`` within ``bounds`` (lo, hi): a float f means
    (max(-|f|, lo), |f|); a pair is sorted into (lower, upper)."""
    lo, hi = bounds
    err = f"{name} must be a number or a pair of numbers in [{lo}, {hi}], got {factor!r}"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, numbers.Real) for f in factor):
            raise ValueError(err)
        if factor[0] > hi or factor[1] < lo:
            raise ValueError(err)
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        if not lo <= factor <= hi:
            raise ValueError(err)
        lower, upper = max(-abs(float(factor)), lo), abs(float(factor))
    else:
        raise ValueError(err)
    return lower, upper


class _RandomImageLayer(Layer):
    """What the three augmentation layers share: data format, seed, batching, float casting."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed(seed)
        self.data_format = _check_data_format(data_format)
        self._rng = make_rng(seed)

    def _as_nhwc(self, inputs):
        """(Tensor NHWC float, undo) for 3-D (one image) or 4-D (batch) inputs."""
        inputs = image_tensor(inputs, type(self).__name__)
        x = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} expects images of rank 3 (H, W, C) or 4 (N, H, W, C) in "
                f"{self.data_format}, got shape {tuple(x.shape)}")
        if x.dtype.kind not in "f":
            x = x.astype(np.float32)  # like Keras: integer images come out as float32
        single = x.ndim == 3
        if single:
            x = x.reshape((1, *x.shape))
        if self.data_format == "channels_first":
            x = x.transpose(0, 2, 3, 1)

        def undo(y):
            if self.data_format == "channels_first":
                y = y.transpose(0, 3, 1, 2)
            return y.reshape(y.shape[1:]) if single else y

        return x, undo

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "data_format": self.data_format})
        return config


# ------------------------------------------------------------------------------ the layers

@register_builtin(_MOD)
class RandomFlip(_RandomImageLayer):
    """Flip each image horizontally and/or vertically with probability 1/2 (training only).

    ``mode``: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or
    ``"horizontal_and_vertical"`` (each axis independently; Keras' default).

    >>> import numpy as np
    >>> flip = RandomFlip("horizontal", seed=0)
    >>> x = np.arange(6, dtype=np.float32).reshape(1, 1, 6, 1)
    >>> flip(x, training=False).numpy().ravel().tolist()   # inference: unchanged
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> sorted({tuple(flip(x, training=True).numpy().ravel().tolist()) for _ in range(20)})
    [(0.0, 1.0, 2.0, 3.0, 4.0, 5.0), (5.0, 4.0, 3.0, 2.0, 1.0, 0.0)]
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(
                f"RandomFlip mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', got {mode!r}")
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = mode

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, undo = self._as_nhwc(inputs)
        n, h, w = x.shape[:3]
        rows = np.broadcast_to(np.arange(h, dtype=np.float64), (n, h))
        cols = np.broadcast_to(np.arange(w, dtype=np.float64), (n, w))
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            flip = self._rng.random(n) < 0.5
            rows = np.where(flip[:, None], h - 1 - rows, rows)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            flip = self._rng.random(n) < 0.5
            cols = np.where(flip[:, None], w - 1 - cols, cols)
        return undo(sample_separable(x, rows, cols, interpolation="nearest", fill_mode="nearest"))

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


@register_builtin(_MOD)
class RandomTranslation(_RandomImageLayer):
    """Shift each image by a random fraction of its height and width (training only).

    ``height_factor`` / ``width_factor``: a float ``f`` draws shifts uniformly in
    ``[-f, f] * size``, a pair ``(lower, upper)`` in ``[lower, upper] * size``; positive shifts
    move the image down / right.  ``fill_mode`` (``"reflect"``, ``"wrap"``, ``"constant"``,
    ``"nearest"``) says what appears in the uncovered border, ``fill_value`` is the constant;
    ``interpolation`` is ``"bilinear"`` or ``"nearest"`` (shifts need not be whole pixels).

    >>> import numpy as np
    >>> shift = RandomTranslation(0.0, (0.5, 0.5), fill_mode="constant", interpolation="nearest")
    >>> x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 4, 1)
    >>> shift(x, training=True).numpy().ravel().tolist()   # 2 pixels to the right
    [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        self._height_range = _factor_range(height_factor, "height_factor")
        self._width_range = _factor_range(width_factor, "width_factor")
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"fill_mode must be one of {_FILL_MODES}, got {fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, undo = self._as_nhwc(inputs)
        n, h, w = x.shape[:3]
        dy = self._rng.uniform(*self._height_range, size=n) * h
        dx = self._rng.uniform(*self._width_range, size=n) * w
        # Output pixel i shows input pixel i - shift.
        ys = np.arange(h)[None, :] - dy[:, None]
        xs = np.arange(w)[None, :] - dx[:, None]
        return undo(sample_separable(x, ys, xs, interpolation=self.interpolation,
                                     fill_mode=self.fill_mode, fill_value=self.fill_value))

    def get_config(self):
        config = super().get_config()
        config.update({
            "height_factor": self.height_factor, "width_factor": self.width_factor,
            "fill_mode": self.fill_mode, "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        })
        return config


@register_builtin(_MOD)
class RandomCrop(_RandomImageLayer):
    """Crop a random ``height x width`` window from each image (training).

    At inference, and in training when an image is smaller than the target, the image is
    resized (bilinear) after cropping the largest central window with the target's aspect
    ratio, as Keras does, so the output is always ``height x width``.  (Keras draws one crop
    position per batch; this layer draws one per image, which augments more for the same cost.)

    >>> import numpy as np
    >>> crop = RandomCrop(2, 2, seed=1)
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> crop(x, training=True).shape
    (1, 2, 2, 1)
    >>> crop(x, training=False).numpy().ravel().tolist()   # inference: the whole image resized
    [2.5, 4.5, 10.5, 12.5]
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        for arg, v in (("height", height), ("width", width)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"RandomCrop {arg} must be a positive int, got {v!r}")
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs, training=True):
        x, undo = self._as_nhwc(inputs)
        n, h, w = x.shape[:3]
        if training and h >= self.height and w >= self.width:
            top = self._rng.integers(0, h - self.height + 1, size=n)
            left = self._rng.integers(0, w - self.width + 1, size=n)
            ys = top[:, None] + np.arange(self.height)[None, :]
            xs = left[:, None] + np.arange(self.width)[None, :]
            return undo(sample_separable(x, ys, xs, interpolation="nearest", fill_mode="nearest"))
        return undo(self._smart_resize(x))

    def _smart_resize(self, x):
        n, h, w = x.shape[:3]
        # Largest central window with the target aspect ratio, then a half-pixel-centred
        # bilinear resize of that window (TF/JAX resize convention, no antialiasing).
        crop_h = min(h, int(round(w * self.height / self.width)))
        crop_w = min(w, int(round(h * self.width / self.height)))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        # Edges clamp to the window, not the image: Keras crops first, then resizes.
        ys = top + np.clip((np.arange(self.height) + 0.5) * (crop_h / self.height) - 0.5, 0, crop_h - 1)
        xs = left + np.clip((np.arange(self.width) + 0.5) * (crop_w / self.width) - 0.5, 0, crop_w - 1)
        return sample_separable(x, np.broadcast_to(ys, (n, self.height)), np.broadcast_to(xs, (n, self.width)),
                                interpolation="bilinear", fill_mode="nearest")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if self.data_format == "channels_last":
            shape[-3], shape[-2] = self.height, self.width
        else:
            shape[-2], shape[-1] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
