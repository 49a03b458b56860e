"""Batch-normalisation kernels, channels-last: validation and allocation here, the loops in ``_norm``.

``x`` (and the gradient ``g``) is any float32/float64 array whose LAST axis holds the C
normalised channels; every other axis is reduced (NHWC activations, or (batch, features)).
Per-channel arrays have shape (C,).  Statistics and parameter sums come back in float64
(accumulated in double whatever the dtype); activations and gradients keep x's dtype.

The three steps of a training forward pass and of a backward pass:

    mean, var = batch_norm_statistics(x)                     # one pass over x
    inv_std = 1 / sqrt(var + epsilon)
    y = batch_norm_forward(x, mean, inv_std, gamma, beta)    # one pass: (x - mean) * inv_std * gamma + beta
    gx, dgamma, dbeta = batch_norm_backward(g, x, mean, inv_std, gamma)   # two passes over g and x

``xhat = (x - mean) * inv_std`` is never stored: the backward pass recomputes it from x (two
flops an element), which saves writing and keeping an activation-sized array.

>>> import numpy as np
>>> x = np.array([[0.0, 10.0], [2.0, 30.0]])
>>> mean, var = batch_norm_statistics(x)
>>> mean, var
(array([ 1., 20.]), array([  1., 100.]))
>>> batch_norm_forward(x, mean, 1 / np.sqrt(var))
array([[-1., -1.],
       [ 1.,  1.]])

``isa=`` (a name from ``minicnn._kernels._dispatch.available()``) runs that instruction set's
kernel table instead of the one chosen at import (tests compare them).
"""

import numpy as np

from minicnn._kernels import _norm
from minicnn._kernels._args import DTypeError, array as _array, rows as _rows

__all__ = ["batch_norm_statistics", "batch_norm_coefficients", "batch_norm_forward", "batch_norm_backward"]


# ------------------------------------------------------------------ argument checking

def _channel(v, name, C, dtype, shape_of_x, optional=False):
    """A per-channel vector (C,) of any real float dtype, as a contiguous array of ``dtype``."""
    if v is None:
        if optional:
            return None
        raise ValueError(f"{name} is required")
    if not isinstance(v, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(v).__name__}")
    if v.dtype.kind != "f":
        raise DTypeError(f"{name} must be a float array, got {v.dtype}")
    if v.shape != (C,):
        raise ValueError(f"{name} must have shape ({C},) (the last axis of x, shape {shape_of_x}), got {v.shape}")
    return np.ascontiguousarray(v, dtype=dtype)


# ------------------------------------------------------------------ the three steps

def batch_norm_statistics(x, isa=None):
    """(mean, var), float64 (C,): per-channel mean and biased variance over all but the last axis.

    Numerically sound at any offset (blockwise two-pass in double, blocks merged pairwise), and
    bitwise the same at any thread count.

    >>> import numpy as np
    >>> m, v = batch_norm_statistics(np.float32(1e4) + np.arange(8, dtype=np.float32).reshape(2, 2, 2))
    >>> m.tolist(), v.tolist()
    ([10003.0, 10004.0], [5.0, 5.0])
    """
    x2 = _rows(_array(x, "x", ndim=None))
    M, C = x2.shape
    if M == 0:
        raise ValueError(f"batch_norm_statistics: x shape {x.shape} has no rows to take statistics over")
    mean = np.empty(C, np.float64)
    var = np.empty(C, np.float64)
    if C == 0:
        return mean, var
    _norm.bn_stats_into(x2, mean, var, isa)
    return mean, var


def batch_norm_coefficients(shape, dtype, mean, inv_std, gamma=None, beta=None):
    """(mean, scale, shift), each (C,) of ``dtype``: what ``batch_norm_forward`` computes
    ``(x - mean) * scale + shift`` with for an x of ``shape`` (C its last axis) and ``dtype``
    (also what ``conv.conv2d_forward(batch_norm=...)`` takes).  ``scale = inv_std * gamma`` in
    float64, rounded once; None for gamma/beta mean 1/0.

    >>> import numpy as np
    >>> [v.tolist() for v in batch_norm_coefficients((5, 2), np.float32, np.ones(2), np.full(2, 0.5), np.full(2, 3.0))]
    [[1.0, 1.0], [1.5, 1.5], [0.0, 0.0]]
    """
    C, dt = shape[-1], np.dtype(dtype)
    m = _channel(mean, "mean", C, dt, shape)
    s64 = _channel(inv_std, "inv_std", C, np.float64, shape)
    g64 = _channel(gamma, "gamma", C, np.float64, shape, optional=True)
    shift = _channel(beta, "beta", C, dt, shape, optional=True)
    scale = (s64 * g64 if g64 is not None else s64).astype(dt)
    if shift is None:
        shift = np.zeros(C, dt)
    return m, scale, shift


def batch_norm_forward(x, mean, inv_std, gamma=None, beta=None, relu=False, isa=None):
    """y = (x - mean) * inv_std * gamma + beta (x's shape and dtype) in one pass; ``relu=True``
    returns max(y, 0).  ``gamma``/``beta`` None mean 1/0.

    The per-channel ``mean``, ``inv_std``, ``gamma``, ``beta`` may be any float dtype: they are
    combined in float64 (``scale = inv_std * gamma``) and rounded to x's dtype once.

    >>> import numpy as np
    >>> batch_norm_forward(np.array([[1.0, -4.0]]), np.zeros(2), np.full(2, 0.5), beta=np.ones(2), relu=True)
    array([[1.5, 0. ]])
    """
    x2 = _rows(_array(x, "x", ndim=None))
    m, scale, shift = batch_norm_coefficients(x.shape, x2.dtype, mean, inv_std, gamma, beta)
    y = np.empty(x2.shape, x2.dtype)
    _norm.bn_normalize_into(x2, m, scale, shift, y, bool(relu), isa)
    return y.reshape(x.shape)


def batch_norm_backward(g, x, mean, inv_std, gamma=None, training=True, need_x=True, isa=None):
    """(gx, dgamma, dbeta) of ``y = (x - mean) * inv_std * gamma + beta``, given dL/dy = ``g``.

    ``dgamma = sum(g * xhat)`` and ``dbeta = sum(g)`` over all but the last axis (float64 (C,),
    xhat = (x - mean) * inv_std recomputed from x); one pass over g and x.  ``gx`` (x's shape and
    dtype; None unless ``need_x``) takes a second pass:
      training   mean and inv_std are x's batch statistics, so they depend on x:
                 gx = gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat));
      otherwise  they are constants (moving statistics): gx = gamma * inv_std * g.
    g is not modified.

    >>> import numpy as np
    >>> x = np.array([[0.0], [2.0]]); g = np.array([[1.0], [3.0]])
    >>> batch_norm_backward(g, x, np.ones(1), np.ones(1))
    (array([[0.],
           [0.]]), array([2.]), array([4.]))
    """
    x2 = _rows(_array(x, "x", ndim=None))
    g2 = _rows(_array(g, "g", x2.dtype, ndim=None))
    if g.shape != x.shape:
        raise ValueError(f"g must have the shape of x {x.shape}, got {g.shape}")
    M, C = x2.shape
    dt = x2.dtype
    m = _channel(mean, "mean", C, dt, x.shape)
    s64 = _channel(inv_std, "inv_std", C, np.float64, x.shape)
    g64 = _channel(gamma, "gamma", C, np.float64, x.shape, optional=True)
    sum_g = np.empty(C, np.float64)
    sum_gxc = np.empty(C, np.float64)
    _norm.bn_backward_sums_into(g2, x2, m, sum_g, sum_gxc, isa)
    dgamma = sum_gxc * s64
    if not need_x:
        return None, dgamma, sum_g
    a64 = s64 * g64 if g64 is not None else s64
    n = max(M, 1)
    a = a64.astype(dt)
    b = (sum_g / n).astype(dt)
    k = (s64 * s64 * sum_gxc / n).astype(dt)
    gx = np.empty(x2.shape, dt)
    _norm.bn_backward_input_into(g2, x2, m, a, b, k, gx, bool(training), isa)
    return gx.reshape(x.shape), dgamma, sum_g
