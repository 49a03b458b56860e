"""Plain-NumPy references of Keras' ops that minicnn implements beyond its layers' maths: the
formula each op computes, in float64, for the tests to compare with.  The N-D convolution and
pooling ops reuse the 2-D loop references of :mod:`minicnn.reference.kernels` (on a unit row for
1-D inputs): what they check is the N-D, layout and groups handling around those kernels."""

import numpy as np

from minicnn.reference import kernels as _k
from minicnn.reference.special import erf as _erf

_f = np.asarray


# -- elementwise ------------------------------------------------------------------------------
def square(x):
    return np.square(x)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - the op's name
    return np.min(x, axis=axis, keepdims=keepdims, **({} if initial is None else {"initial": initial}))


def log1p(x):
    return np.log1p(x)


def log2(x):
    return np.log2(x)


def log10(x):
    return np.log10(x)


def expm1(x):
    return np.expm1(x)


def exp2(x):
    return np.exp2(x)


def sin(x):
    return np.sin(x)


def cos(x):
    return np.cos(x)


def tan(x):
    return np.tan(x)


def sinh(x):
    return np.sinh(x)


def cosh(x):
    return np.cosh(x)


def arcsin(x):
    return np.arcsin(x)


def arccos(x):
    return np.arccos(x)


def arctan(x):
    return np.arctan(x)


def arcsinh(x):
    return np.arcsinh(x)


def arccosh(x):
    return np.arccosh(x)


def arctanh(x):
    return np.arctanh(x)


def reciprocal(x):
    return 1.0 / _f(x)


def rsqrt(x):
    return 1.0 / np.sqrt(x)


def cbrt(x):
    return np.cbrt(x)


def erf(x):
    return _erf(x)


def maximum(x1, x2):
    return np.maximum(x1, x2)


def minimum(x1, x2):
    return np.minimum(x1, x2)


def where(condition, x1, x2):
    return np.where(condition, x1, x2)


# -- reductions and scans ------------------------------------------------------------------------
def prod(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=None):
    return np.cumsum(x, axis=axis)


def cumprod(x, axis=None):
    return np.cumprod(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def var(x, axis=None, keepdims=False):
    return np.var(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return np.std(x, axis=axis, keepdims=keepdims)


def top_k(x, k):
    """The k largest values of the last axis, largest first."""
    return -np.sort(-_f(x), axis=-1)[..., :k]


# -- shape and layout ---------------------------------------------------------------------------
def expand_dims(x, axis):
    return np.expand_dims(x, axis)


def squeeze(x, axis=None):
    return np.squeeze(x, axis)


def moveaxis(x, source, destination):
    return np.moveaxis(x, source, destination)


def flip(x, axis=None):
    return np.flip(x, axis)


def split(x, n, axis=0, i=0):
    return np.split(x, n, axis=axis)[i]


def tile(x, repeats):
    return np.tile(x, repeats)


def repeat(x, repeats, axis=None):
    return np.repeat(x, repeats, axis=axis)


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


def roll(x, shift, axis=None):
    return np.roll(x, shift, axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    return np.pad(x, pad_width, mode=mode, constant_values=constant_values or 0)


def take(x, indices, axis=None):
    return np.take(x, indices, axis=axis)


def take_along_axis(x, indices, axis=None):
    return np.take_along_axis(x, indices, axis=axis)


def tril(x, k=0):
    return np.tril(x, k)


def slice(inputs, start_indices, shape):  # noqa: A001
    return _f(inputs)[tuple(np.s_[s:s + n] for s, n in zip(start_indices, shape))]


# -- products and norms --------------------------------------------------------------------------
def einsum(subscripts, *operands):
    return np.einsum(subscripts, *operands)


def dot(x1, x2):
    return np.dot(x1, x2)


def tensordot(x1, x2, axes=2):
    return np.tensordot(x1, x2, axes)


def outer(x1, x2):
    return np.outer(x1, x2)


def norm(x, ord=None, axis=None, keepdims=False):
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


# -- activations ------------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-_f(x)))


def relu6(x):
    return np.clip(x, 0, 6)


def silu(x):
    return x * _sigmoid(x)


def hard_sigmoid(x):
    return np.clip(_f(x) / 6 + 0.5, 0, 1)


def hard_silu(x):
    return x * hard_sigmoid(x)


def selu(x):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    x = _f(x)
    return scale * np.where(x > 0, x, alpha * np.expm1(x))


def softsign(x):
    return x / (1 + np.abs(x))


def log_sigmoid(x):
    return np.log(_sigmoid(x))


def celu(x, alpha=1.0):
    x = _f(x)
    return np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)


def glu(x, axis=-1):
    a, b = np.split(x, 2, axis=axis)
    return a * _sigmoid(b)


# -- N-D convolution and pooling on the 2-D references ------------------------------------------
def _nhwc(x, data_format):
    x = _f(x, dtype=np.float64)
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    return x[:, None] if x.ndim == 3 else x


def _back(y, rank, data_format):
    y = y[:, 0] if rank == 1 else y
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _pair(v, rank):
    v = (v,) * rank if np.ndim(v) == 0 else tuple(v)
    return (1,) + v if rank == 1 else v


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    rank = np.ndim(inputs) - 2
    x, k = _nhwc(inputs, data_format), _f(kernel, dtype=np.float64)
    k = k[None] if rank == 1 else k
    y = _k.conv2d_forward(x, k, None, strides=_pair(strides, rank), padding=padding,
                          dilation_rate=_pair(dilation_rate, rank), groups=x.shape[-1] // k.shape[-2])
    return _back(y, rank, data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    rank = np.ndim(inputs) - 2
    x, k = _nhwc(inputs, data_format), _f(kernel, dtype=np.float64)
    k = k[None] if rank == 1 else k
    outs = [_k.conv2d_forward(x[..., c:c + 1], k[:, :, c:c + 1, :], None, strides=_pair(strides, rank),
                              padding=padding, dilation_rate=_pair(dilation_rate, rank))
            for c in range(x.shape[-1])]
    return _back(np.concatenate(outs, axis=-1), rank, data_format)  # channel c * multiplier + m


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, data_format=data_format)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    rank = np.ndim(inputs) - 2
    x, k = _nhwc(inputs, data_format), _f(kernel, dtype=np.float64)
    k = k[None] if rank == 1 else k
    if output_padding is not None:
        output_padding = (0,) + _pair(output_padding, rank)[1:] if rank == 1 else _pair(output_padding, rank)
    y = _k.conv2d_transpose_forward(x, k, None, strides=_pair(strides, rank), padding=padding,
                                    output_padding=output_padding, dilation_rate=_pair(dilation_rate, rank))
    return _back(y, rank, data_format)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    rank = np.ndim(inputs) - 2
    size = _pair(pool_size, rank)
    y = _k.max_pool2d_forward(_nhwc(inputs, data_format), size,
                              size if strides is None else _pair(strides, rank), padding)[0]
    return _back(y, rank, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    rank = np.ndim(inputs) - 2
    size = _pair(pool_size, rank)
    y = _k.avg_pool2d_forward(_nhwc(inputs, data_format), size,
                              size if strides is None else _pair(strides, rank), padding)
    return _back(y, rank, data_format)


# -- statistics and normalisation ----------------------------------------------------------------
def moments(x, axes, i=0):
    """(mean, variance)[i] over ``axes``."""
    return (np.mean(x, axis=tuple(axes)), np.var(x, axis=tuple(axes)))[i]


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    x = _f(x, dtype=np.float64)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    y = (x - np.reshape(mean, shape)) / np.sqrt(np.reshape(variance, shape) + epsilon)
    if scale is not None:
        y = y * np.reshape(scale, shape)
    return y + np.reshape(offset, shape) if offset is not None else y


def normalize(x, axis=-1, order=2, epsilon=None):
    eps = 1e-7 if epsilon is None else epsilon
    n = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / np.maximum(n, eps)
