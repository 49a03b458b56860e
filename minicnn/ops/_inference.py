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

from minicnn._kernels import conv as _conv
from minicnn._kernels import elementwise as _elementwise
from minicnn._kernels import norm as _norm
from minicnn.ops._layers import kernel_statistics

__all__ = ["conv2d_batch_norm", "batch_norm_relu", "add_relu"]


def conv2d_batch_norm(x, kernel, bias, gamma, beta, moving_mean, moving_variance, *, epsilon, relu,
                      strides, padding, dilation_rate, groups):
    """``relu(batch_norm(conv2d(x, kernel) + bias))`` with batch norm's moving statistics (the
    ReLU only if ``relu``): arrays in x's dtype (float32/float64) except the statistics (any float)."""
    mean, inv_std = kernel_statistics(moving_mean, moving_variance, epsilon, x.dtype)
    coeffs = _norm.batch_norm_coefficients(kernel.shape[-1:], x.dtype, mean, inv_std, gamma, beta)
    return _conv.conv2d_forward(x, kernel, bias, strides=strides, padding=padding, dilation_rate=dilation_rate,
                                groups=groups, relu=relu, batch_norm=coeffs)


def batch_norm_relu(x, gamma, beta, moving_mean, moving_variance, *, epsilon):
    """``relu(batch_norm(x))`` over x's last axis with the moving statistics, in one pass."""
    mean, inv_std = kernel_statistics(moving_mean, moving_variance, epsilon, x.dtype)
    return _norm.batch_norm_forward(x, mean, inv_std, gamma, beta, relu=True)


def add_relu(a, b):
    """``np.maximum(a + b, 0)`` for two arrays of one shape and float dtype, in one threaded pass."""
    return _elementwise.add_relu(a, b)
