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
from minicnn._kernels._args import array_pair, rows as _rows

__all__ = ["relu_mask_bias_grad", "bias_grad", "add_relu"]


def relu_mask_bias_grad(dy, y, bias=True, isa=None):
    """(dy * (y > 0), its sum over all but the last axis or None) in one pass: the gradient
    through a ReLU whose output is ``y``, and the bias gradient of the layer before it."""
    array_pair(dy, y, "dy and y", min_ndim=1)
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
    array_pair(a, b, "a and b")
    out = np.empty(a.shape, a.dtype)
    _elementwise.add_relu_into(np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1),
                               out.reshape(-1), isa)
    return out
