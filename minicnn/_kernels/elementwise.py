"""Elementwise kernels over the last axis (channels last): validation and allocation here, the
loops in ``_elementwise``.

>>> import numpy as np
>>> g, db = relu_mask_bias_grad(np.ones((2, 3)), np.array([[1., 0., 2.], [-1., 3., 4.]]))
>>> g.tolist(), db.tolist()
([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], [1.0, 1.0, 2.0])

``isa=`` (a name from ``minicnn._kernels._dispatch.available()``) runs that instruction set's
kernel table instead of the one chosen at import (tests compare them).
"""

import numpy as np

from minicnn._kernels import _elementwise
from minicnn._kernels._args import FLOATS, DTypeError

__all__ = ["relu_mask_bias_grad", "bias_grad", "add_relu"]


def _rows(a):
    """a as a C-contiguous (rows, last axis) view (reshape(-1, 0) cannot infer the rows)."""
    F = a.shape[-1]
    return np.ascontiguousarray(a).reshape(a.size // F if F else 0, F)


def relu_mask_bias_grad(dy, y, bias=True, isa=None):
    """(dy * (y > 0), its sum over all but the last axis or None) in one pass: the gradient
    through a ReLU whose output is ``y``, and the bias gradient of the layer before it."""
    if not isinstance(dy, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(f"dy and y must be numpy arrays, got {type(dy).__name__} and {type(y).__name__}")
    if dy.shape != y.shape or dy.ndim < 1:
        raise ValueError(f"dy and y must have the same shape (at least 1-D), got {dy.shape} and {y.shape}")
    if dy.dtype not in FLOATS or dy.dtype != y.dtype:
        raise DTypeError(f"dy and y must share a float32/float64 dtype, got {dy.dtype} and {y.dtype}")
    dy2 = _rows(dy)
    out = np.empty(dy2.shape, dy.dtype)
    db = np.empty(dy.shape[-1], dy.dtype) if bias else None
    _elementwise.relu_mask_bias_grad_into(dy2, _rows(y), out, db, isa)
    return out.reshape(dy.shape), db


def bias_grad(dy, isa=None):
    """dy (float32/float64, C-contiguous) summed over all but its last axis, in double."""
    db = np.empty(dy.shape[-1], dy.dtype)
    _elementwise.bias_grad_into(_rows(dy), db, isa)
    return db


def add_relu(a, b, isa=None):
    """``np.maximum(a + b, 0)`` bit for bit (NaN kept, -0.0 to +0.0) in one threaded pass, for two
    arrays of one shape and float32/float64 dtype: a residual Add and its ReLU at inference."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"a and b must be numpy arrays, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.dtype not in FLOATS or a.dtype != b.dtype:
        raise DTypeError(f"a and b must share a float32/float64 dtype, got {a.dtype} and {b.dtype}")
    out = np.empty(a.shape, a.dtype)
    _elementwise.add_relu_into(np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1),
                               out.reshape(-1), isa)
    return out
