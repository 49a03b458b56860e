"""Keras' N-D neural-network ops on minicnn's 2-D kernels: ``conv``, ``depthwise_conv``,
``separable_conv``, ``conv_transpose``, ``max_pool``, ``average_pool`` (1-D runs on a unit row,
``channels_first`` is transposed around the op), plus ``one_hot``, ``multi_hot``, ``moments``,
Keras' ``batch_normalization``, ``normalize`` and the activations written from other ops."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._activations import elu, sigmoid, softplus
from minicnn.ops._arithmetic import abs, add, clip, divide, mean, multiply, reshape, sqrt, square, subtract, sum
from minicnn.ops._conv import avg_pool2d, conv2d, conv2d_transpose, depthwise_conv2d, max_pool2d
from minicnn.ops._dtypes import FLOATX, as_float, standardize_dtype
from minicnn.ops._select import maximum, minimum
from minicnn.ops._shape import moveaxis, split
from minicnn.ops._util import as_tensor

__all__ = ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool",
           "average_pool", "one_hot", "multi_hot", "moments", "batch_normalization", "normalize",
           "relu6", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
           "selu", "softsign", "log_sigmoid", "celu", "glu"]


# -- N-D on the 2-D kernels -----------------------------------------------------------------
def _spatial(values, rank, name):
    """An int or a per-axis tuple as the 2-D ops' pair (``(1, v)`` for rank 1)."""
    vals = (int(values),) * rank if isinstance(values, (int, np.integer)) else tuple(int(v) for v in values)
    if len(vals) != rank:
        raise ValueError(f"{name} must be an int or {rank} ints for {rank}-D inputs, got {values}")
    return (1,) + vals if rank == 1 else vals


def _channels_last(inputs, data_format, who):
    """(x as an NHWC 4-D Tensor, rank, a function that turns an NHWC result back)."""
    x = as_tensor(inputs, "inputs")
    fmt = "channels_last" if data_format is None else data_format
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    rank = x.ndim - 2
    if rank not in (1, 2):
        raise ValueError(f"{who}: inputs must be 3-D (N, W, C) or 4-D (N, H, W, C) in minicnn "
                         f"(1-D and 2-D convolutions), got shape {x.shape}")
    if fmt == "channels_first":
        x = moveaxis(x, 1, -1)
    if rank == 1:
        x = reshape(x, (x.shape[0], 1) + x.shape[1:])

    def back(y):
        if rank == 1:
            y = reshape(y, (y.shape[0],) + y.shape[2:])
        return moveaxis(y, -1, 1) if fmt == "channels_first" else y

    return x, rank, back


def _kernel_2d(kernel, rank, who):
    k = as_tensor(kernel, "kernel")
    if k.ndim != rank + 2:
        raise ValueError(f"{who}: a {rank}-D convolution needs a kernel of rank {rank + 2} "
                         f"(spatial..., in, out), got shape {k.shape}")
    return reshape(k, (1,) + k.shape) if rank == 1 else k


def _padding(padding, who):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras' ``ops.conv``: a 1-D or 2-D convolution; kernel (spatial..., C // groups, F), the
    number of groups being C divided by ``kernel.shape[-2]``.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.conv(np.ones((2, 8, 3), np.float32), np.ones((3, 3, 4), np.float32)).shape
    (2, 6, 4)
    """
    x, rank, back = _channels_last(inputs, data_format, "conv")
    k = _kernel_2d(kernel, rank, "conv")
    cin, kin = x.shape[-1], k.shape[-2]
    if kin == 0 or cin % kin:
        raise ValueError(f"conv: the input channels ({cin}) must be a multiple of kernel.shape[-2] "
                         f"({kin}); got inputs {tuple(as_tensor(inputs).shape)}, kernel {k.shape}")
    return back(conv2d(x, k, strides=_spatial(strides, rank, "strides"), padding=_padding(padding, "conv"),
                       dilation_rate=_spatial(dilation_rate, rank, "dilation_rate"), groups=cin // kin))


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras' ``ops.depthwise_conv``: kernel (spatial..., C, multiplier), output channel
    ``c * multiplier + m``."""
    x, rank, back = _channels_last(inputs, data_format, "depthwise_conv")
    k = _kernel_2d(kernel, rank, "depthwise_conv")
    return back(depthwise_conv2d(x, k, strides=_spatial(strides, rank, "strides"),
                                 padding=_padding(padding, "depthwise_conv"),
                                 dilation_rate=_spatial(dilation_rate, rank, "dilation_rate")))


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a pointwise (1x1) one."""
    x, rank, back = _channels_last(inputs, data_format, "separable_conv")
    k = _kernel_2d(depthwise_kernel, rank, "separable_conv")
    y = depthwise_conv2d(x, k, strides=_spatial(strides, rank, "strides"),
                         padding=_padding(padding, "separable_conv"),
                         dilation_rate=_spatial(dilation_rate, rank, "dilation_rate"))
    return back(conv2d(y, _kernel_2d(pointwise_kernel, rank, "separable_conv")))


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Keras' ``ops.conv_transpose``: kernel (spatial..., F, C), output size by Keras' rule."""
    x, rank, back = _channels_last(inputs, data_format, "conv_transpose")
    k = _kernel_2d(kernel, rank, "conv_transpose")
    if output_padding is not None:
        output_padding = _spatial(output_padding, rank, "output_padding")
        output_padding = (0,) + output_padding[1:] if rank == 1 else output_padding
    return back(conv2d_transpose(x, k, strides=_spatial(strides, rank, "strides"),
                                 padding=_padding(padding, "conv_transpose"),
                                 output_padding=output_padding,
                                 dilation_rate=_spatial(dilation_rate, rank, "dilation_rate")))


def _pool(fn, inputs, pool_size, strides, padding, data_format, who):
    x, rank, back = _channels_last(inputs, data_format, who)
    size = _spatial(pool_size, rank, "pool_size")
    step = size if strides is None else _spatial(strides, rank, "strides")
    return back(fn(x, pool_size=size, strides=step, padding=_padding(padding, who)))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1-D or 2-D windows (``strides=None``: = pool_size)."""
    return _pool(max_pool2d, inputs, pool_size, strides, padding, data_format, "max_pool")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over 1-D or 2-D windows; under "same" only real cells are averaged."""
    return _pool(avg_pool2d, inputs, pool_size, strides, padding, data_format, "average_pool")


# -- encodings and statistics -------------------------------------------------------------------
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of integer labels along a new ``axis``; negative labels give all zeros.

    >>> import minicnn
    >>> minicnn.ops.one_hot([1, -1], 3)
    Tensor([[0., 1., 0.],
            [0., 0., 0.]], dtype=float32)
    """
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported")
    labels = np.asarray(as_tensor(x, "x").data)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise TypeError(f"one_hot: x must hold integer labels, got dtype {labels.dtype}")
    n = int(num_classes)
    out = np.zeros(labels.shape + (n,), standardize_dtype(dtype) or FLOATX)
    valid = (labels >= 0) & (labels < n)
    out[np.nonzero(valid) + (labels[valid],)] = 1
    return Tensor._wrap(np.moveaxis(out, -1, axis) if axis != -1 else out)


def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """One vector per sample with ones at every label it lists (the last axis of ``inputs``)."""
    hot = one_hot(inputs, num_classes, axis=-1, dtype=dtype, sparse=sparse).data
    out = hot.max(axis=-2) if hot.ndim > 1 else hot
    return Tensor._wrap(np.moveaxis(out, -1, axis) if axis != -1 else out)


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over ``axes`` (biased variance), both differentiable."""
    if synchronized:
        raise ValueError("moments: synchronized=True needs a distributed setup; minicnn has none")
    x = as_float(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    m = mean(x, axis=axes, keepdims=True)
    v = mean(square(subtract(x, m)), axis=axes, keepdims=keepdims)
    return (m if keepdims else reshape(m, v.shape)), v


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """Keras' ``ops.batch_normalization``: ``(x - mean) / sqrt(variance + epsilon) * scale +
    offset`` with the 1-D statistics laid along ``axis``; differentiable in every input.

    (The Keras layer's fused form with moving statistics is ``fused_batch_normalization``.)
    """
    x = as_float(x)
    ax = int(axis) % x.ndim
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]

    def laid(t, name):
        t = as_tensor(t, name)
        if t.shape != (x.shape[ax],):
            raise ValueError(f"batch_normalization: {name} must have shape ({x.shape[ax]},) for "
                             f"x.shape={x.shape} and axis={axis}, got {t.shape}")
        return reshape(t.astype(x.dtype), tuple(shape))

    inv = divide(1.0, sqrt(add(laid(variance, "variance"), epsilon)))
    if scale is not None:
        inv = multiply(inv, laid(scale, "scale"))
    y = multiply(subtract(x, laid(mean, "mean")), inv)
    return y if offset is None else add(y, laid(offset, "offset"))


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its ``order``-norm along ``axis`` (at least ``epsilon``, 1e-7 by default)."""
    x = as_float(x)
    eps = 1e-7 if epsilon is None else float(epsilon)
    if order == 2:
        n = sqrt(maximum(sum(square(x), axis=axis, keepdims=True), eps * eps))
    else:
        n = maximum(sum(abs(x) ** float(order), axis=axis, keepdims=True) ** (1.0 / float(order)), eps)
    return divide(x, n)


# -- activations written from other ops -----------------------------------------------------------
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu6(x):
    """min(max(x, 0), 6)."""
    return clip(as_float(x), 0.0, 6.0)


def silu(x):
    """x * sigmoid(x) (also ``swish``)."""
    x = as_float(x)
    return multiply(x, sigmoid(x))


swish = silu


def hard_sigmoid(x):
    """clip(x / 6 + 0.5, 0, 1)."""
    x = as_float(x)
    return clip(add(divide(x, 6.0), 0.5), 0.0, 1.0)


def hard_silu(x):
    """x * hard_sigmoid(x) (also ``hard_swish``)."""
    x = as_float(x)
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return clip(as_float(x), -1.0, 1.0)


def selu(x):
    """scale * elu(x, alpha) with Klambauer et al.'s constants."""
    return multiply(elu(as_float(x), _SELU_ALPHA), _SELU_SCALE)


def softsign(x):
    """x / (1 + |x|)."""
    x = as_float(x)
    return divide(x, add(abs(x), 1.0))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), without overflow."""
    return -softplus(-as_float(x))


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)."""
    x = as_float(x)
    neg = minimum(x, 0.0)
    return add(maximum(x, 0.0), multiply(subtract(divide(neg, alpha).exp(), 1.0), alpha))


def glu(x, axis=-1):
    """a * sigmoid(b) for the two halves a, b of x along ``axis``."""
    x = as_float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of shape {x.shape} must have an even size")
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))

