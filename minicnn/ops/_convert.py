"""``keras.ops`` conversions: ``convert_to_tensor``, ``convert_to_numpy``, ``stop_gradient``."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._util import as_tensor, raw

__all__ = ["convert_to_tensor", "convert_to_numpy", "stop_gradient"]


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a Tensor (a Tensor of the right dtype is returned as it is)."""
    if sparse or ragged:
        raise ValueError("convert_to_tensor: minicnn has no sparse or ragged tensors")
    t = as_tensor(x, "x")
    return t if dtype is None or t.dtype == np.dtype(dtype) else t.astype(dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array."""
    return np.asarray(raw(x))


def stop_gradient(variable):
    """The same values, outside the graph: no gradient flows back through it."""
    return as_tensor(variable).detach()
