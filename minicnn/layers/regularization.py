"""Noise layers active in training only: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout.

Each draws its noise with NumPy and applies it with an ordinary differentiable op (a product or
a sum with a constant array), so the gradient is the noise's own: the mask for dropout, 1 for
additive noise.  With ``seed`` a layer owns its stream; without, it draws from minicnn's global
generator, so ``keras.utils.set_random_seed`` makes a run reproducible (like ``Dropout``).
"""

import math
import numbers

import numpy as np

from minicnn._random import global_rng, make_rng
from minicnn.layers import _args as A
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout"]
_MOD = "minicnn.layers"


def _check_unit(value, who, arg):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{who}: {arg} must be a number in [0, 1], got {arg}={value!r}")
    return float(value)


class _NoiseLayer(Layer):
    """Seed handling, identity outside training, shape passthrough."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else make_rng(seed)
        self.built = True

    def _generator(self):
        return self._rng if self._rng is not None else global_rng()

    def _float(self, inputs):
        return np.float32 if inputs.dtype == np.float32 else np.float64

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class _SpatialDropout(_NoiseLayer):
    """Drop whole feature maps: one keep/drop draw per (sample, channel), scaled by 1/(1-rate)."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_unit(rate, type(self).__name__, "rate")
        self.data_format = A.data_format_arg(data_format)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{type(self).__name__} expects {self.rank + 2}-D inputs, got shape "
                             f"{tuple(inputs.shape)}")
        noise_shape = [1] * inputs.ndim
        noise_shape[0] = inputs.shape[0]
        channel_axis = 1 if self.data_format == "channels_first" else -1
        noise_shape[channel_axis] = inputs.shape[channel_axis]
        if self.rate >= 1.0:
            return inputs * np.zeros(noise_shape, dtype=inputs.dtype)
        keep = self._generator().random(noise_shape, dtype=self._float(inputs)) >= self.rate
        return inputs * (keep * (1.0 / (1.0 - self.rate))).astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


@register_builtin(_MOD)
class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (N, steps, C) inputs (training only).

    >>> import numpy as np
    >>> from minicnn.layers import SpatialDropout1D
    >>> y = SpatialDropout1D(0.5, seed=0)(np.ones((1, 4, 6)), training=True).numpy()
    >>> bool((y == y[:, :1]).all())   # each channel kept or dropped at every step
    True
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, None, seed, **kwargs)


@register_builtin(_MOD)
class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of (N, H, W, C) inputs (training only): neighbouring pixels
    are correlated, so dropping single pixels regularises little.

    >>> import numpy as np
    >>> from minicnn.layers import SpatialDropout2D
    >>> y = SpatialDropout2D(0.5, seed=1)(np.ones((2, 3, 3, 8)), training=True).numpy()
    >>> sorted(np.unique(y).tolist()), bool((y == y[:, :1, :1]).all())
    ([0.0, 2.0], True)
    """


@register_builtin(_MOD)
class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature volumes of (N, D, H, W, C) inputs (training only)."""

    rank = 3


@register_builtin(_MOD)
class GaussianNoise(_NoiseLayer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` (training only).

    >>> import numpy as np
    >>> from minicnn.layers import GaussianNoise
    >>> layer = GaussianNoise(0.1, seed=0)
    >>> bool((layer(np.ones((2, 3))).numpy() == 1).all())   # inference: identity
    True
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _check_unit(stddev, "GaussianNoise", "stddev")

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        noise = self._generator().standard_normal(inputs.shape, dtype=self._float(inputs))
        return inputs + (noise * self.stddev).astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


@register_builtin(_MOD)
class GaussianDropout(_NoiseLayer):
    """Multiply by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))``
    (training only).

    >>> import numpy as np
    >>> from minicnn.layers import GaussianDropout
    >>> y = GaussianDropout(0.2, seed=0)(np.ones(100_000), training=True).numpy()
    >>> round(float(y.mean()), 2), round(float(y.std()), 2)
    (1.0, 0.5)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_unit(rate, "GaussianDropout", "rate")

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate >= 1.0:  # Keras' formula divides by zero; all signal is gone
            raise ValueError("GaussianDropout: rate=1 leaves no signal (the noise would have an "
                             "infinite standard deviation); use a rate below 1")
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = self._generator().standard_normal(inputs.shape, dtype=self._float(inputs))
        return inputs * (1.0 + stddev * noise).astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config
