"""``keras.ops.numpy``: the NumPy-like operations, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._activations import tanh
from minicnn.ops._arithmetic import (abs, add, clip, concatenate, divide, exp, log, matmul, max,
                                     mean, multiply, negative, power, reshape, sqrt, stack,
                                     subtract, sum, transpose)

__all__ = ["abs", "add", "clip", "concatenate", "divide", "exp", "log", "matmul", "max", "mean",
           "multiply", "negative", "power", "reshape", "sqrt", "stack", "subtract", "sum", "tanh",
           "transpose"]
