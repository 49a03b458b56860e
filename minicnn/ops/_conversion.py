"""Keras' core conversions: ``convert_to_tensor``, ``convert_to_numpy``, ``cast``,
``stop_gradient``, and the introspection helpers ``shape``, ``ndim``, ``size``, ``dtype``,
``is_tensor``."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._dtypes import convert, dtype_name, standardize_dtype
from minicnn.ops._util import as_tensor

__all__ = ["convert_to_tensor", "array", "convert_to_numpy", "cast", "stop_gradient", "shape", "ndim",
           "size", "dtype", "is_tensor"]


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A Tensor from a Tensor, array, list or scalar (Python floats float32, ints int32; a list
    of Tensors is stacked, differentiably).

    >>> import minicnn
    >>> minicnn.ops.convert_to_tensor([1, 2]).dtype
    dtype('int32')
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: sparse and ragged tensors are not supported")
    return convert(x, dtype)


def array(x, dtype=None):
    """``keras.ops.array``: ``convert_to_tensor`` without its sparse/ragged options."""
    return convert(x, dtype)


def convert_to_numpy(x):
    """The value as a NumPy array (a Tensor's data, not a copy)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def cast(x, dtype):
    """``x`` in ``dtype``; differentiable between floating dtypes (the gradient is cast back)."""
    return as_tensor(x).astype(standardize_dtype(dtype, "cast: dtype"))


def stop_gradient(variable):
    """The same values, outside the graph: nothing flows back through the result.

    >>> import minicnn
    >>> x = minicnn.Tensor([2.0], requires_grad=True)
    >>> (minicnn.ops.stop_gradient(x) * x).sum().backward()
    >>> x.grad
    array([2.], dtype=float32)
    """
    return as_tensor(variable).detach()


def shape(x):
    """The static shape, a tuple of ints."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def ndim(x):
    return len(shape(x))


def size(x):
    return int(np.prod(shape(x), dtype=np.int64))


def dtype(x):
    """The dtype's name, e.g. ``"float32"``."""
    return dtype_name(x)


def is_tensor(x):
    return isinstance(x, Tensor)
