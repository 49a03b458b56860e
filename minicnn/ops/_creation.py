"""Tensor creation (Keras' ``ones``, ``zeros``, ``full``, ``empty``, ``arange``, ``linspace``,
``eye``, ``identity``, ``tri`` and the ``*_like`` forms): floatx unless a dtype is given; the
``*_like`` forms keep x's dtype.  Constants: nothing to differentiate."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._dtypes import FLOATX, result_type, standardize_dtype
from minicnn.ops._util import as_tensor

__all__ = ["ones", "zeros", "full", "empty", "ones_like", "zeros_like", "full_like",
           "empty_like", "arange", "linspace", "eye", "identity", "tri"]


def _shape(shape, fn):
    """``shape`` as a tuple of ints, checked; ``fn`` (the caller's name) prefixes the errors."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if isinstance(dims, (str, bytes)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{fn}: shape must be an int or a sequence of ints, got {shape!r}")
    if any(d < 0 for d in dims):
        raise ValueError(f"{fn}: shape must be non-negative, got {tuple(dims)}")
    return tuple(int(d) for d in dims)


def _dtype(dtype):
    return standardize_dtype(dtype) or FLOATX


def ones(shape, dtype=None):
    """A tensor of ones (float32 unless ``dtype``).

    >>> import minicnn
    >>> minicnn.ops.ones((2,))
    Tensor([1., 1.], dtype=float32)
    """
    return Tensor._wrap(np.ones(_shape(shape, "ones"), _dtype(dtype)))


def zeros(shape, dtype=None):
    return Tensor._wrap(np.zeros(_shape(shape, "zeros"), _dtype(dtype)))


def empty(shape, dtype=None):
    return Tensor._wrap(np.empty(_shape(shape, "empty"), _dtype(dtype)))


def full(shape, fill_value, dtype=None):
    return Tensor._wrap(np.full(_shape(shape, "full"), np.asarray(as_tensor(fill_value).data), _dtype(dtype)))


def _like(x, dtype):
    x = as_tensor(x)
    return x, standardize_dtype(dtype) or x.dtype


def ones_like(x, dtype=None):
    x, dt = _like(x, dtype)
    return Tensor._wrap(np.ones(x.shape, dt))


def zeros_like(x, dtype=None):
    x, dt = _like(x, dtype)
    return Tensor._wrap(np.zeros(x.shape, dt))


def empty_like(x, dtype=None):
    x, dt = _like(x, dtype)
    return Tensor._wrap(np.empty(x.shape, dt))


def full_like(x, fill_value, dtype=None):
    x, dt = _like(x, dtype)
    return Tensor._wrap(np.full(x.shape, np.asarray(as_tensor(fill_value).data), dt))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (``arange(n)`` counts from 0); integer arguments
    give int32, a float argument float32, as in Keras.

    >>> import minicnn
    >>> minicnn.ops.arange(3)
    Tensor([0, 1, 2], dtype=int32)
    """
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dt = standardize_dtype(dtype) or result_type(*(v for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    return Tensor._wrap(np.arange(start, stop, 1 if step is None else step, dtype=dt))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop (float32 unless ``dtype``)."""
    if int(num) < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    values, step = np.linspace(np.asarray(as_tensor(start).data), np.asarray(as_tensor(stop).data),
                               int(num), endpoint=endpoint, retstep=True, axis=axis)
    out = Tensor._wrap(values.astype(_dtype(dtype)))
    return (out, step) if retstep else out


def eye(N, M=None, k=0, dtype=None):
    """Ones on the k-th diagonal of an N x M matrix."""
    return Tensor._wrap(np.eye(int(N), None if M is None else int(M), int(k), dtype=_dtype(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the k-th diagonal of an N x M matrix."""
    return Tensor._wrap(np.tri(int(N), None if M is None else int(M), int(k), dtype=_dtype(dtype)))
