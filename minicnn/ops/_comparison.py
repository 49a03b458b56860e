"""Comparisons and logical operations: boolean Tensors, outside the graph (nothing to
differentiate), with Keras' promotion of the operands."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._dtypes import promote
from minicnn.ops._util import as_tensor

__all__ = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
           "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
           "isfinite", "isclose", "allclose"]


def _compare(fn, x1, x2):
    a, b = promote(x1, x2)
    return Tensor._wrap(np.asarray(fn(a.data, b.data)))


def equal(x1, x2):
    """Elementwise x1 == x2 (a boolean Tensor)."""
    return _compare(np.equal, x1, x2)


def not_equal(x1, x2):
    return _compare(np.not_equal, x1, x2)


def greater(x1, x2):
    return _compare(np.greater, x1, x2)


def greater_equal(x1, x2):
    return _compare(np.greater_equal, x1, x2)


def less(x1, x2):
    return _compare(np.less, x1, x2)


def less_equal(x1, x2):
    return _compare(np.less_equal, x1, x2)


def logical_and(x1, x2):
    return _compare(np.logical_and, x1, x2)


def logical_or(x1, x2):
    return _compare(np.logical_or, x1, x2)


def logical_xor(x1, x2):
    return _compare(np.logical_xor, x1, x2)


def logical_not(x):
    return Tensor._wrap(np.asarray(np.logical_not(as_tensor(x).data)))


def isnan(x):
    return Tensor._wrap(np.asarray(np.isnan(as_tensor(x).data)))


def isinf(x):
    return Tensor._wrap(np.asarray(np.isinf(as_tensor(x).data)))


def isfinite(x):
    return Tensor._wrap(np.asarray(np.isfinite(as_tensor(x).data)))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = promote(x1, x2)
    return Tensor._wrap(np.asarray(np.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(isclose(x1, x2, rtol, atol, equal_nan).data.all())
