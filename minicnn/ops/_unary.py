"""Elementwise math functions, one table: each entry is the function and its derivative.

One Function (``UnaryFunction``) runs every entry, so adding a function is one line here and one
NumPy reference; the derivative gets the input and the output (``exp``-like functions reuse y).
Integer inputs compute in floatx, as in Keras.  The piecewise-constant functions (``sign``,
``floor``, ...) have no gradient (as in Keras: their outputs are not recorded).
"""

import math

import numpy as np

from minicnn.autograd import Function, Tensor
from minicnn.ops._dtypes import as_float
from minicnn.ops._special import erf as _erf
from minicnn.ops._util import as_tensor

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# name -> (forward(x), derivative(x, y))
UNARY = {
    "log1p": (np.log1p, lambda x, y: 1 / (1 + x)),
    "log2": (np.log2, lambda x, y: 1 / (x * _LN2)),
    "log10": (np.log10, lambda x, y: 1 / (x * _LN10)),
    "expm1": (np.expm1, lambda x, y: y + 1),
    "exp2": (np.exp2, lambda x, y: y * _LN2),
    "sin": (np.sin, lambda x, y: np.cos(x)),
    "cos": (np.cos, lambda x, y: -np.sin(x)),
    "tan": (np.tan, lambda x, y: 1 + y * y),
    "sinh": (np.sinh, lambda x, y: np.cosh(x)),
    "cosh": (np.cosh, lambda x, y: np.sinh(x)),
    "arcsin": (np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x)),
    "arccos": (np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x)),
    "arctan": (np.arctan, lambda x, y: 1 / (1 + x * x)),
    "arcsinh": (np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1)),
    "arccosh": (np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1)),
    "arctanh": (np.arctanh, lambda x, y: 1 / (1 - x * x)),
    "reciprocal": (np.reciprocal, lambda x, y: -y * y),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y * y * y),
    "cbrt": (np.cbrt, lambda x, y: 1 / (3 * y * y)),
    "erf": (_erf, lambda x, y: _TWO_OVER_SQRT_PI * np.exp(-x * x)),
}

__all__ = [*UNARY, "sign", "floor", "ceil", "trunc", "round", "UnaryFunction"]


class UnaryFunction(Function):
    """``y = UNARY[op][0](x)``; backward ``g * UNARY[op][1](x, y)``."""

    @staticmethod
    def forward(ctx, x, *, op):
        fn, ctx.derivative = UNARY[op]
        y = fn(x).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (g * ctx.derivative(x, y)).astype(x.dtype, copy=False)


def _constant(numpy_fn, x):
    x = as_tensor(x)
    return Tensor._wrap(numpy_fn(x.data) if x.dtype != bool else x.data.astype(np.int32))


def _float_function(name):
    def op(x):
        return UnaryFunction.apply(as_float(x), op=name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}, differentiable (integer inputs compute in floatx)."
    return op


log1p = _float_function("log1p")
log2 = _float_function("log2")
log10 = _float_function("log10")
expm1 = _float_function("expm1")
exp2 = _float_function("exp2")
sin = _float_function("sin")
cos = _float_function("cos")
tan = _float_function("tan")
sinh = _float_function("sinh")
cosh = _float_function("cosh")
arcsin = _float_function("arcsin")
arccos = _float_function("arccos")
arctan = _float_function("arctan")
arcsinh = _float_function("arcsinh")
arccosh = _float_function("arccosh")
arctanh = _float_function("arctanh")
reciprocal = _float_function("reciprocal")
rsqrt = _float_function("rsqrt")
cbrt = _float_function("cbrt")
erf = _float_function("erf")


def sign(x):
    return _constant(np.sign, x)


def floor(x):
    return _constant(np.floor, x)


def ceil(x):
    return _constant(np.ceil, x)


def trunc(x):
    return _constant(np.trunc, x)


def round(x, decimals=0):
    """Round half to even to ``decimals`` places (no gradient, as in Keras)."""
    x = as_tensor(x)
    return Tensor._wrap(np.round(x.data, decimals))
