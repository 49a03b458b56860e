"""``keras.ops.numpy``: the NumPy-like operations, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._activations import tanh
from minicnn.ops._arithmetic import (abs, add, clip, concatenate, divide, exp, log, matmul, max,
                                     mean, multiply, negative, power, reshape, sqrt, stack,
                                     subtract, sum, transpose)
from minicnn.ops._composite import expand_dims, square
from minicnn.ops._einsum import dot, einsum
from minicnn.ops._reductions import cumsum, min, norm, prod
from minicnn.ops._select import (equal, greater, greater_equal, less, less_equal, maximum, minimum,
                                 not_equal, where)
from minicnn.ops._tiling import repeat, split, squeeze, tile
from minicnn.ops._creation import (arange, eye, full, full_like, ones, ones_like, zeros,
                                   zeros_like)
from minicnn.ops._indexing import argmax, argmin

__all__ = ["abs", "add", "clip", "concatenate", "divide", "exp", "log", "matmul", "max", "mean",
           "multiply", "negative", "power", "reshape", "sqrt", "stack", "subtract", "sum", "tanh",
           "transpose", "square", "expand_dims", "ones", "zeros", "full", "ones_like",
           "zeros_like", "full_like", "arange", "eye", "argmax", "argmin", "dot", "einsum", "cumsum",
           "min", "norm", "prod", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "maximum", "minimum", "where", "repeat", "split", "squeeze", "tile"]
