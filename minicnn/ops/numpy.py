"""``keras.ops.numpy``: the NumPy-like operations, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._activations import tanh
from minicnn.ops._arithmetic import (abs, absolute, add, amax, amin, clip, concatenate, divide, exp,
                                     log, matmul, max, mean, min, multiply, negative, power,
                                     reshape, sqrt, square, stack, subtract, sum, transpose,
                                     true_divide)
from minicnn.ops._comparison import (allclose, equal, greater, greater_equal, isclose, isfinite,
                                     isinf, isnan, less, less_equal, logical_and, logical_not,
                                     logical_or, logical_xor, not_equal)
from minicnn.ops._conversion import array, ndim, size
from minicnn.ops._creation import (arange, empty, empty_like, eye, full, full_like, identity,
                                   linspace, ones, ones_like, tri, zeros, zeros_like)
from minicnn.ops._linalg import dot, einsum, inner, outer, tensordot, vdot
from minicnn.ops._reductions import (all, any, argmax, argmin, count_nonzero, cumprod, cumsum,
                                     prod, std, var)
from minicnn.ops._select import maximum, minimum, where
from minicnn.ops._shape import (array_split, broadcast_to, expand_dims, flip, moveaxis, pad,
                                ravel, repeat, roll, split, squeeze, swapaxes, take,
                                take_along_axis, tile, tril, triu)
from minicnn.ops._unary import (arccos, arccosh, arcsin, arcsinh, arctan, arctanh, cbrt, ceil,
                                cos, cosh, exp2, expm1, floor, log10, log1p, log2, reciprocal,
                                round, sign, sin, sinh, tan, trunc)

__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "arange", "arccos",
    "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "argmax", "argmin", "array",
    "array_split", "broadcast_to", "cbrt", "ceil", "clip", "concatenate", "cos", "cosh",
    "count_nonzero", "cumprod", "cumsum", "divide", "dot", "einsum", "empty", "empty_like",
    "equal", "exp", "exp2", "expand_dims", "expm1", "eye", "flip", "floor", "full", "full_like",
    "greater", "greater_equal", "identity", "inner", "isclose", "isfinite", "isinf", "isnan",
    "less", "less_equal", "linspace", "log", "log10", "log1p", "log2", "logical_and",
    "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum", "mean", "min",
    "minimum", "moveaxis", "multiply", "ndim", "negative", "not_equal", "ones", "ones_like",
    "outer", "pad", "power", "prod", "ravel", "reciprocal", "repeat", "reshape", "roll",
    "round", "sign", "sin", "sinh", "size", "split", "sqrt", "square", "squeeze", "stack",
    "std", "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh",
    "tensordot", "tile", "transpose", "tri", "tril", "triu", "true_divide", "trunc", "var",
    "vdot", "where", "zeros", "zeros_like",
]
