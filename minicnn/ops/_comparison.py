"""Comparisons and logical operations: boolean Tensors, outside the graph (nothing to
differentiate), with Keras' promotion of the operands."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._dtypes import promote
from minicnn.ops._util import as_tensor

__all__ = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
           "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
           "isfinite", "isclose", "allclose"]


def _binary(numpy_fn):
    def op(x1, x2):
        a, b = promote(x1, x2)
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{numpy_fn.__name__}: shapes {a.shape} and {b.shape} do not "
                             "broadcast together") from None
        return Tensor._wrap(np.asarray(numpy_fn(a.data, b.data)))

    op.__name__ = op.__qualname__ = numpy_fn.__name__
    op.__doc__ = f"Elementwise ``numpy.{numpy_fn.__name__}(x1, x2)`` (a boolean Tensor)."
    return op


def _unary(numpy_fn):
    def op(x):
        return Tensor._wrap(np.asarray(numpy_fn(as_tensor(x).data)))

    op.__name__ = op.__qualname__ = numpy_fn.__name__
    op.__doc__ = f"Elementwise ``numpy.{numpy_fn.__name__}(x)`` (a boolean Tensor)."
    return op


equal = _binary(np.equal)
not_equal = _binary(np.not_equal)
greater = _binary(np.greater)
greater_equal = _binary(np.greater_equal)
less = _binary(np.less)
less_equal = _binary(np.less_equal)
logical_and = _binary(np.logical_and)
logical_or = _binary(np.logical_or)
logical_xor = _binary(np.logical_xor)
logical_not = _unary(np.logical_not)
isnan = _unary(np.isnan)
isinf = _unary(np.isinf)
isfinite = _unary(np.isfinite)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = promote(x1, x2)
    return Tensor._wrap(np.asarray(np.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(isclose(x1, x2, rtol, atol, equal_nan).data.all())
