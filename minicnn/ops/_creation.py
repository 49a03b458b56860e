"""``keras.ops`` creation functions and ``shape``: constant Tensors, outside any graph.

Keras' dtype rules: ``ones``/``zeros``/``full``/``eye`` default to float32 (Keras' floatx),
the ``*_like`` forms to the input's dtype, ``arange`` to int32 for Python ints and float32 for
Python floats.
"""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._util import raw

__all__ = ["ones", "zeros", "full", "ones_like", "zeros_like", "full_like", "arange", "eye",
           "shape"]

FLOATX = "float32"


def _shape(shape, name):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{name}: shape must not have negative sizes, got {shape}")
    return shape


def _dtype(dtype, default):
    return np.dtype(default if dtype is None else dtype)


def ones(shape, dtype=None):
    """A Tensor of ones (float32 unless ``dtype`` says otherwise).

    >>> import minicnn
    >>> minicnn.ops.ones((2, 3)).shape
    (2, 3)
    """
    return Tensor._wrap(np.ones(_shape(shape, "ones"), _dtype(dtype, FLOATX)))


def zeros(shape, dtype=None):
    """A Tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return Tensor._wrap(np.zeros(_shape(shape, "zeros"), _dtype(dtype, FLOATX)))


def full(shape, fill_value, dtype=None):
    """A Tensor filled with ``fill_value`` (float32 unless ``dtype`` says otherwise)."""
    return Tensor._wrap(np.full(_shape(shape, "full"), raw(fill_value), _dtype(dtype, FLOATX)))


def _like(x, dtype):
    arr = np.asarray(raw(x))
    return arr.shape, _dtype(dtype, arr.dtype)


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape, in ``x``'s dtype unless ``dtype`` says otherwise."""
    shape, dt = _like(x, dtype)
    return Tensor._wrap(np.ones(shape, dt))


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape, in ``x``'s dtype unless ``dtype`` says otherwise."""
    shape, dt = _like(x, dtype)
    return Tensor._wrap(np.zeros(shape, dt))


def full_like(x, fill_value, dtype=None):
    """``fill_value`` in ``x``'s shape, in ``x``'s dtype unless ``dtype`` says otherwise."""
    shape, dt = _like(x, dtype)
    return Tensor._wrap(np.full(shape, raw(fill_value), dt))


def _arange_dtype(values):
    kinds = {np.asarray(raw(v)).dtype.kind for v in values if v is not None}
    return FLOATX if "f" in kinds else "int32"


def arange(start, stop=None, step=1, dtype=None):
    """``[start, stop)`` by ``step``, like ``numpy.arange`` (int32 for ints, float32 for floats).

    >>> import minicnn
    >>> minicnn.ops.arange(4)
    Tensor([0, 1, 2, 3], dtype=int32)
    """
    if step == 0:
        raise ValueError("arange: step must not be 0")
    dt = _dtype(dtype, _arange_dtype((start, stop, step)))
    if stop is None:
        start, stop = 0, start
    return Tensor._wrap(np.arange(raw(start), raw(stop), raw(step)).astype(dt, copy=False))


def eye(N, M=None, k=0, dtype=None):
    """An N x M Tensor with ones on the k-th diagonal (float32 unless ``dtype`` says otherwise)."""
    return Tensor._wrap(np.eye(int(N), None if M is None else int(M), int(k),
                               dtype=_dtype(dtype, FLOATX)))


def shape(x):
    """The static shape of ``x`` as a tuple of ints (Keras' ``ops.shape``)."""
    if hasattr(x, "shape") and not isinstance(x, np.ndarray) and not isinstance(x, Tensor):
        return tuple(x.shape)   # a symbolic graph tensor (keras.Input and layer outputs)
    return tuple(np.shape(raw(x)))
