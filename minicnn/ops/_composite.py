"""``keras.ops`` functions built from other differentiable ops (their gradients come from them):
``square``, ``expand_dims``, ``moments`` and the N-D ``conv`` (1-D and 2-D, channels-last or
channels-first), which runs the 2-D convolution kernels."""

import numpy as np

from minicnn.ops._arithmetic import mean, multiply, reshape, subtract, transpose
from minicnn.ops._conv import conv2d
from minicnn.ops._util import as_tensor

__all__ = ["square", "expand_dims", "moments", "conv"]


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


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras' ``ops.conv`` for 1-D and 2-D convolutions: ``inputs`` (N, *spatial, C) (or
    (N, C, *spatial) with ``data_format="channels_first"``), ``kernel`` (*kernel_size,
    C // groups, filters); the groups follow from the kernel's input channels, as in Keras.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.conv(np.ones((2, 10, 3)), np.ones((3, 3, 4)), padding="same").shape
    (2, 10, 4)
    """
    x, k = as_tensor(inputs, "inputs"), as_tensor(kernel, "kernel")
    spatial = x.ndim - 2
    if spatial not in (1, 2) or k.ndim != x.ndim:
        raise ValueError(f"conv: inputs must be 3-D or 4-D and kernel of the same rank, got "
                         f"inputs {x.shape} and kernel {k.shape} (minicnn has no 3-D convolution)")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"conv: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    if data_format == "channels_first":
        x = transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
    channels, in_per_group = x.shape[-1], k.shape[-2]
    if in_per_group == 0 or channels % in_per_group:
        raise ValueError(f"conv: the input has {channels} channels, which the kernel's "
                         f"{in_per_group} input channels (kernel shape {k.shape}) do not divide")
    groups = channels // in_per_group
    if k.shape[-1] % groups:
        raise ValueError(f"conv: {groups} groups (input channels {channels} / kernel input "
                         f"channels {in_per_group}) must divide the kernel's {k.shape[-1]} filters")
    if spatial == 1:   # a unit row axis turns the 1-D convolution into a 2-D one
        strides, dilation_rate = _one(strides, "strides"), _one(dilation_rate, "dilation_rate")
        x = reshape(x, (x.shape[0], 1) + x.shape[1:])
        k = reshape(k, (1,) + k.shape)
        y = conv2d(x, k, strides=(1, strides), padding=padding,
                   dilation_rate=(1, dilation_rate), groups=groups)
        y = reshape(y, (y.shape[0],) + y.shape[2:])
    else:
        y = conv2d(x, k, strides=strides, padding=padding, dilation_rate=dilation_rate,
                   groups=groups)
    if data_format == "channels_first":
        y = transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
    return y


def _one(value, name):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) != 1:
        raise ValueError(f"conv: {name} of a 1-D convolution must be an int or a 1-tuple, got {value!r}")
    return int(values[0])
