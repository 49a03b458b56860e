"""Small helpers shared by the op modules."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._dtypes import convert


def as_tensor(x, name="x"):
    """Tensor inputs pass through; arrays, lists and scalars become (non-grad) Tensors with
    Keras' dtypes (Python floats float32, Python ints int32; arrays keep theirs)."""
    if isinstance(x, Tensor):
        return x
    return convert(x, name=name)


def raw(x):
    return x.data if isinstance(x, Tensor) else x


def check_float(name, arr):
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {arr.dtype}")


def norm_axis(axis, ndim, name="axis"):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for a tensor with {ndim} dimensions")
    return axis % ndim


def contiguous(g):
    # Gradients may arrive as broadcast (read-only, strided) views; kernels want C order.
    return g if g.flags.c_contiguous else np.ascontiguousarray(g)
