"""``keras.ops`` functions built from other differentiable ops (their gradients come from them):
``square``, ``expand_dims``, ``moments``, and Keras' N-D ``conv``, ``depthwise_conv``,
``max_pool`` and ``average_pool`` (1-D and 2-D, channels-last or channels-first), which run the
2-D kernels (a 1-D input gets a unit row axis)."""

import numpy as np

from minicnn.ops._arithmetic import mean, multiply, reshape, subtract, transpose
from minicnn.ops._conv import avg_pool2d, conv2d, depthwise_conv2d, max_pool2d
from minicnn.ops._util import as_tensor

__all__ = ["square", "expand_dims", "moments", "conv", "depthwise_conv", "max_pool",
           "average_pool"]


def square(x):
    """x * x, elementwise."""
    x = as_tensor(x)
    return multiply(x, x)


def expand_dims(x, axis):
    """``x`` with a new axis of size 1 at ``axis`` (an int or a tuple of ints), as numpy does."""
    x = as_tensor(x)
    return reshape(x, np.expand_dims(np.empty(x.shape, dtype=bool), axis).shape)


def _axes(axes, ndim):
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    for a in axes:
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"moments: axes={axes} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(int(a) % ndim for a in axes))


def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and variance of ``x`` over ``axes``: ``(mean, variance)``, both differentiable.

    >>> import numpy as np, minicnn
    >>> m, v = minicnn.ops.moments(np.array([1.0, 2.0, 3.0, 4.0]), axes=[0])
    >>> float(m), float(v)
    (2.5, 1.25)
    """
    x = as_tensor(x, "x")
    axes = _axes(axes, x.ndim)
    mu = mean(x, axis=axes, keepdims=True)
    centered = subtract(x, mu)
    variance = mean(multiply(centered, centered), axis=axes, keepdims=keepdims)
    if not keepdims:
        mu = reshape(mu, tuple(d for i, d in enumerate(x.shape) if i not in axes))
    return mu, variance


def _spatial_call(name, inputs, data_format, run_2d, one_d_args):
    """Runs ``run_2d(x, **args)`` on channels-last 4-D data: 1-D inputs get a unit row axis
    (their int/1-tuple arguments a leading 1), channels-first inputs are transposed around it."""
    x = as_tensor(inputs, "inputs")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: inputs must be 3-D (1-D data) or 4-D (2-D data), got shape "
                         f"{x.shape} (minicnn has no 3-D {name})")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    if data_format == "channels_first":
        x = transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
    one_d = x.ndim == 3
    args = {k: (None if v is None else (1, _one(v, k, name))) if one_d else v
            for k, v in one_d_args.items()}
    if one_d:
        x = reshape(x, (x.shape[0], 1) + x.shape[1:])
    y = run_2d(x, **args)
    if one_d:
        y = reshape(y, (y.shape[0],) + y.shape[2:])
    if data_format == "channels_first":
        y = transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
    return y


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras' ``ops.conv`` for 1-D and 2-D convolutions: ``inputs`` (N, *spatial, C) (or
    (N, C, *spatial) with ``data_format="channels_first"``), ``kernel`` (*kernel_size,
    C // groups, filters); the groups follow from the kernel's input channels, as in Keras.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.conv(np.ones((2, 10, 3)), np.ones((3, 3, 4)), padding="same").shape
    (2, 10, 4)
    """
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"conv: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    k = as_tensor(kernel, "kernel")
    ndim = np.ndim(inputs.data if hasattr(inputs, "data") else inputs)
    if k.ndim != ndim:
        raise ValueError(f"conv: kernel {k.shape} must have the rank of the inputs ({ndim})")
    channels = np.shape(inputs)[1 if data_format == "channels_first" else -1] if ndim > 1 else 0
    in_per_group = k.shape[-2] if k.ndim > 1 else 0
    if in_per_group == 0 or channels % in_per_group:
        raise ValueError(f"conv: the input has {channels} channels, which the kernel's "
                         f"{in_per_group} input channels (kernel shape {k.shape}) do not divide")
    groups = channels // in_per_group
    if k.shape[-1] % groups:
        raise ValueError(f"conv: {groups} groups (input channels {channels} / kernel input "
                         f"channels {in_per_group}) must divide the kernel's {k.shape[-1]} filters")
    if k.ndim == 3:
        k = reshape(k, (1,) + k.shape)

    def run(x, strides, dilation_rate):
        return conv2d(x, k, strides=strides, padding=padding, dilation_rate=dilation_rate,
                      groups=groups)
    return _spatial_call("conv", inputs, data_format, run,
                         {"strides": strides, "dilation_rate": dilation_rate})


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras' ``ops.depthwise_conv``: ``kernel`` (*kernel_size, C, multiplier), output channel
    ``c * multiplier + m``."""
    k = as_tensor(kernel, "kernel")
    if k.ndim == 3:
        k = reshape(k, (1,) + k.shape)

    def run(x, strides, dilation_rate):
        return depthwise_conv2d(x, k, strides=strides, padding=padding, dilation_rate=dilation_rate)
    return _spatial_call("depthwise_conv", inputs, data_format, run,
                         {"strides": strides, "dilation_rate": dilation_rate})


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Keras' ``ops.max_pool`` (1-D and 2-D); ``strides`` defaults to ``pool_size``."""
    def run(x, pool_size, strides):
        return max_pool2d(x, pool_size=pool_size, strides=strides, padding=padding)
    return _spatial_call("max_pool", inputs, data_format, run,
                         {"pool_size": pool_size, "strides": strides})


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Keras' ``ops.average_pool`` (1-D and 2-D); ``strides`` defaults to ``pool_size``."""
    def run(x, pool_size, strides):
        return avg_pool2d(x, pool_size=pool_size, strides=strides, padding=padding)
    return _spatial_call("average_pool", inputs, data_format, run,
                         {"pool_size": pool_size, "strides": strides})


def _one(value, name, op):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) != 1:
        raise ValueError(f"{op}: {name} of 1-D data must be an int or a 1-tuple, got {value!r}")
    return int(values[0])
