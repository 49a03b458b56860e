"""``keras.random``: random Tensors drawn from minicnn's generators.

``seed`` is what Keras takes: ``None`` draws from minicnn's global generator (reseeded by
``minicnn.utils.set_random_seed``), an int gives the same values on every call, and a
:class:`SeedGenerator` gives a new, reproducible draw on each call.

>>> import minicnn
>>> minicnn.random.normal((2, 3), seed=1).shape
(2, 3)
>>> bool((minicnn.random.uniform((4,), seed=7) == minicnn.random.uniform((4,), seed=7)).numpy().all())
True
"""

import numpy as np

from minicnn import _random
from minicnn.autograd import Tensor
from minicnn.ops._creation import _shape
from minicnn.ops._layers import DropoutFunction
from minicnn.ops._util import as_tensor, check_float

__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "dropout",
           "shuffle"]


class SeedGenerator:
    """A stream of seeds: each random call given this generator draws new values, the whole
    sequence fixed by ``seed`` (drawn from the global generator when None)."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self.name = name
        self._seed = seed
        self._rng = _random.make_rng(seed)

    def next(self, ordered=True):
        """The next seed of the stream (an int)."""
        return int(self._rng.integers(0, 2**63 - 1))

    def get_config(self):
        return {"seed": self._seed}


def _rng(seed, name):
    if seed is None:
        return _random.global_rng()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"{name}: seed must be None, an int or a keras.random.SeedGenerator, got {seed!r}")


def _float_dtype(dtype, name):
    dt = np.dtype("float32" if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"{name}: dtype must be a floating-point dtype, got {dt}")
    return dt


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution (float32 unless ``dtype`` says otherwise)."""
    dt = _float_dtype(dtype, "normal")
    values = _rng(seed, "normal").normal(mean, stddev, _shape(shape, "normal"))
    return Tensor._wrap(values.astype(dt))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of a uniform distribution on ``[minval, maxval)``."""
    dt = _float_dtype(dtype, "uniform")
    if not minval < maxval:
        raise ValueError(f"uniform: minval ({minval}) must be less than maxval ({maxval})")
    values = _rng(seed, "uniform").uniform(minval, maxval, _shape(shape, "uniform"))
    return Tensor._wrap(values.astype(dt))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``."""
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"randint: dtype must be an integer dtype, got {dt}")
    if not int(minval) < int(maxval):
        raise ValueError(f"randint: minval ({minval}) must be less than maxval ({maxval})")
    values = _rng(seed, "randint").integers(int(minval), int(maxval), _shape(shape, "randint"))
    return Tensor._wrap(values.astype(dt))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, those more than two standard deviations from the mean drawn again."""
    dt = _float_dtype(dtype, "truncated_normal")
    rng = _rng(seed, "truncated_normal")
    values = rng.standard_normal(_shape(shape, "truncated_normal"))
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return Tensor._wrap((mean + stddev * values).astype(dt))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout, differentiable: zeroes entries with probability ``rate`` and scales the
    rest by ``1 / (1 - rate)``; ``noise_shape`` (broadcast to the input's) shares the mask
    along axes of size 1."""
    x = as_tensor(inputs, "inputs")
    check_float("dropout: inputs", x.data)
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    shape = x.shape if noise_shape is None else tuple(
        x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    try:
        np.broadcast_shapes(shape, x.shape)
    except ValueError:
        raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to the "
                         f"inputs' shape {x.shape}") from None
    keep = _rng(seed, "dropout").random(shape) >= rate
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
    return DropoutFunction.apply(x, mask)


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    order = _rng(seed, "shuffle").permutation(arr.shape[axis])
    return Tensor._wrap(np.take(arr, order, axis=axis))
