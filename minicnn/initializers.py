"""Weight initializers, as in ``keras.initializers``.

An initializer is called with a shape (and optionally a dtype) and returns an ``ndarray``.
With ``seed=None`` each call draws a fresh stream from minicnn's global generator (so
``minicnn.utils.set_random_seed`` makes a whole model reproducible); with an integer seed every
call returns the same values.

>>> from minicnn import initializers
>>> init = initializers.get("glorot_uniform")
>>> w = init((3, 3, 1, 8))
>>> w.shape, w.dtype
((3, 3, 1, 8), dtype('float32'))
>>> bool(abs(w).max() <= (6 / (9 * 1 + 9 * 8)) ** 0.5)
True
>>> (initializers.HeNormal(seed=1)((4, 4)) == initializers.HeNormal(seed=1)((4, 4))).all()
np.True_
"""

import math

import numpy as np

from minicnn._random import make_rng
from minicnn.serialization import register_builtin, serialize as _serialize, deserialize as _deserialize

_MODULE = "minicnn.initializers"
__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
    "LecunNormal", "get", "serialize", "deserialize",
]


def _shape(shape):
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"initializer: shape must be a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"initializer: shape must be non-negative, got {shape}")
    return shape


def _dtype(dtype):
    dtype = np.dtype(dtype or "float32")
    if dtype.kind != "f":
        raise TypeError(f"initializer: dtype must be a floating type, got {dtype}")
    return dtype


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config()``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register_builtin(_MODULE)
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


@register_builtin(_MODULE)
class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


@register_builtin(_MODULE)
class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(_shape(shape), self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class _Seeded(Initializer):
    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def _rng(self):
        return make_rng(self.seed)


@register_builtin(_MODULE)
class RandomNormal(_Seeded):
    """Normal samples with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        x = self._rng().normal(self.mean, self.stddev, size=_shape(shape))
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@register_builtin(_MODULE)
class RandomUniform(_Seeded):
    """Uniform samples in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        x = self._rng().uniform(self.minval, self.maxval, size=_shape(shape))
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, shape, mean, stddev):
    # Redraw values outside two standard deviations, like Keras' truncated_normal.
    x = rng.standard_normal(size=shape)
    bad = np.abs(x) > 2.0
    while bad.any():
        x[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(x) > 2.0
    return mean + stddev * x


@register_builtin(_MODULE)
class TruncatedNormal(_Seeded):
    """Normal samples redrawn when further than two standard deviations from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        x = _truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev)
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def compute_fans(shape):
    """(fan_in, fan_out) of a kernel: Dense (in, out) or conv (kh, kw, in, out)."""
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


@register_builtin(_MODULE)
class VarianceScaling(_Seeded):
    """Samples scaled to the kernel's fan: ``scale / n`` variance, ``n`` per ``mode``.

    ``mode`` is "fan_in", "fan_out" or "fan_avg"; ``distribution`` is "truncated_normal",
    "untruncated_normal" or "uniform".
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling: distribution must be truncated_normal, untruncated_normal or "
                f"uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        var = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # The std of a unit normal truncated to [-2, 2].
            x = _truncated_normal(rng, shape, 0.0, math.sqrt(var) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            x = rng.normal(0.0, math.sqrt(var), size=shape)
        else:
            limit = math.sqrt(3.0 * var)
            x = rng.uniform(-limit, limit, size=shape)
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                          "__doc__": doc, "__module__": __name__})
    return register_builtin(_MODULE)(cls)


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in ``[-l, l]``, ``l = sqrt(6 / (fan_in + fan_out))``.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with ``std = sqrt(2 / (fan_in + fan_out))``.")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "Uniform in ``[-l, l]``, ``l = sqrt(6 / fan_in)``.")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal with ``std = sqrt(2 / fan_in)``.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in ``[-l, l]``, ``l = sqrt(3 / fan_in)``.")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with ``std = sqrt(1 / fan_in)``.")

_ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    # Keras' short aliases (Embedding's default is "uniform").
    "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones,
}
# Keras exports the lowercase names as the classes themselves.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


def serialize(initializer):
    """Config dict of an initializer (see :mod:`minicnn.serialization`)."""
    return _serialize(initializer)


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also accepts a string name."""
    if isinstance(config, str) and config in _ALIASES:
        return _ALIASES[config]()
    return _deserialize(config, custom_objects=custom_objects, module=_MODULE)


def get(identifier):
    """An initializer from a name ("he_normal"), a config dict, an instance, or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier in _ALIASES:
            return _ALIASES[identifier]()
        try:
            return deserialize(identifier)
        except ValueError:
            raise ValueError(
                f"initializer: unknown name {identifier!r}; known: {sorted(_ALIASES)}") from None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a string, a dict, or a callable, got {identifier!r}")
