"""Inference-only fused steps: what a chain of layers computes, in fewer passes over memory, with
the very numbers of the chain run layer by layer (the models' fusion plan, ``minicnn.models._fusion``,
picks them; tests compare bit for bit).  They take and return plain arrays and record no graph:
there is nothing to differentiate through.

* ``conv2d_batch_norm``: Conv2D -> BatchNormalization (moving statistics) [-> ReLU] as one conv
  call, the normalisation (and ReLU) applied by batch norm's own row kernel to each block of
  output rows right after the conv writes it;
* ``batch_norm_relu``: BatchNormalization -> ReLU as one pass;
* ``add_relu``: Add -> ReLU as one threaded pass.
"""

import numpy as np

from minicnn._kernels import conv as _conv
from minicnn._kernels import elementwise as _elementwise
from minicnn._kernels import norm as _norm
from minicnn.ops._layers import kernel_statistics

__all__ = ["conv2d_batch_norm", "batch_norm_relu", "add_relu"]


def _coefficients(shape, dtype, gamma, beta, moving_mean, moving_variance, epsilon):
    mean, inv_std = kernel_statistics(moving_mean, moving_variance, epsilon, dtype)
    return _norm.batch_norm_coefficients(shape, dtype, mean, inv_std, gamma, beta)


def _relu_in_kernel(shift):
    """Whether the row kernel's ReLU (``y < 0 ? 0 : y``) gives np.maximum(y, 0)'s bits: they differ
    only on -0.0 (np.maximum returns +0.0), and y = (x - mean) * scale + shift is -0.0 only where
    shift is -0.0 (round to nearest: a sum with +0.0 is never -0.0)."""
    return not np.any(np.signbit(shift) & (shift == 0))


def conv2d_batch_norm(x, kernel, bias, gamma, beta, moving_mean, moving_variance, *, epsilon, relu,
                      strides, padding, dilation_rate, groups):
    """``relu(batch_norm(conv2d(x, kernel) + bias))`` with batch norm's moving statistics (the
    ReLU only if ``relu``): arrays in x's dtype (float32/float64) except the statistics (any float)."""
    F = kernel.shape[-1]
    coeffs = _coefficients((F,), x.dtype, gamma, beta, moving_mean, moving_variance, epsilon)
    fuse_relu = relu and _relu_in_kernel(coeffs[2])
    y = _conv.conv2d_forward(x, kernel, bias, strides=strides, padding=padding, dilation_rate=dilation_rate,
                             groups=groups, relu=fuse_relu, batch_norm=coeffs)
    if relu and not fuse_relu:
        np.maximum(y, 0, out=y)
    return y


def batch_norm_relu(x, gamma, beta, moving_mean, moving_variance, *, epsilon):
    """``relu(batch_norm(x))`` over x's last axis with the moving statistics, in one pass."""
    mean, inv_std = kernel_statistics(moving_mean, moving_variance, epsilon, x.dtype)
    shift = _norm.batch_norm_coefficients(x.shape, x.dtype, mean, inv_std, gamma, beta)[2]
    fuse_relu = _relu_in_kernel(shift)
    y = _norm.batch_norm_forward(x, mean, inv_std, gamma, beta, relu=fuse_relu)
    if not fuse_relu:
        np.maximum(y, 0, out=y)
    return y


def add_relu(a, b):
    """``np.maximum(a + b, 0)`` for two arrays of one shape and float dtype, in one threaded pass."""
    return _elementwise.add_relu(a, b)
