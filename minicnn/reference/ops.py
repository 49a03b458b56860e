"""Plain-NumPy forward references of every differentiable op in :mod:`minicnn.ops`.

Written for reading, not speed: each function is the textbook formula, so it documents what
the op computes and serves as the oracle the tests compare the ops with.  Names match
``minicnn.ops.registry.OPS``.  Convolutions and pooling use the naive loop references in
:mod:`minicnn.reference.kernels`.
"""

import math

import numpy as np

from minicnn.reference import kernels as _k
# Image resizing and per-sample normalisation have their references in modules of their own.
from minicnn.reference.image import resize  # noqa: F401
from minicnn.reference.normalization import group_normalization, layer_normalization  # noqa: F401
# Keras' NumPy-like and nn ops (creation, shape, reductions, products, N-D conv/pool, ...).
from minicnn.reference.keras_ops import *  # noqa: F401,F403
from minicnn.reference.special import erfc

EPSILON = 1e-7


# -- elementary -------------------------------------------------------------------------------
def add(a, b):
    return np.add(a, b)


def subtract(a, b):
    return np.subtract(a, b)


def multiply(a, b):
    return np.multiply(a, b)


def divide(a, b):
    return np.divide(a, b)


def negative(x):
    return -np.asarray(x)


def power(x1, x2):
    return np.power(x1, x2)


def matmul(a, b):
    return np.matmul(a, b)


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def abs(x):  # noqa: A001 - mirrors the op's name
    return np.abs(x)


def clip(x, x_min=None, x_max=None):
    return np.clip(x, x_min, x_max)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return np.max(x, axis=axis, keepdims=keepdims)


def reshape(x, newshape):
    return np.reshape(x, newshape)


def transpose(x, axes=None):
    return np.transpose(x, axes)


def getitem(x, index):
    return np.asarray(x)[index]


def cast(x, dtype):
    return np.asarray(x).astype(dtype)


def concatenate(xs, axis=0):
    return np.concatenate(xs, axis=axis)


def stack(x, axis=0):
    return np.stack(x, axis=axis)


def flatten(x):
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1)


# -- activations -----------------------------------------------------------------------------
def relu(x):
    return np.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.2):
    return np.where(x > 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def gelu(x, approximate=True):
    """x * Phi(x): Phi = 0.5 * (1 + erf(x / sqrt(2))) = 0.5 * erfc(-x / sqrt(2)), and for the
    tanh form 0.5 * (1 + tanh(u)) = 1 / (1 + exp(-2u)).  The second forms are the ones written
    here: the first cancel for x << 0, even in float64 (1 + erf(-6) is 0)."""
    x = np.asarray(x, dtype=np.float64)
    if approximate:
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        with np.errstate(over="ignore"):
            return x / (1 + np.exp(-2 * u))
    return x * 0.5 * erfc(-x / math.sqrt(2))


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def tanh(x):
    return np.tanh(x)


def softplus(x):
    return np.log(1 + np.exp(np.asarray(x, dtype=np.float64)))


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return np.log(softmax(x, axis))


# -- layers' maths ---------------------------------------------------------------------------
def dense(x, kernel, bias=None, activation=None):
    y = x @ kernel
    if bias is not None:
        y = y + bias
    return relu(y) if activation == "relu" else y


def dropout(x, rate, rng=None, seed=None, training=True):
    """Inverted dropout with the same random draw as the op: keep where u >= rate."""
    x = np.asarray(x)
    if not training or rate == 0:
        return x
    rng = rng if rng is not None else np.random.default_rng(seed)
    u = rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
    return np.where(u >= rate, x / (1 - rate), 0)


def fused_batch_normalization(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99,
                              epsilon=1e-3, axis=-1):
    """Returns y only (the op also updates the moving statistics in training)."""
    x = np.asarray(x)
    axis = axis % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if training:
        mean_ = x.mean(axis=axes).reshape(shape)
        var = x.var(axis=axes).reshape(shape)
    else:
        mean_ = np.reshape(moving_mean, shape)
        var = np.reshape(moving_variance, shape)
    y = (x - mean_) / np.sqrt(var + epsilon)
    if gamma is not None:
        y = y * np.reshape(gamma, shape)
    if beta is not None:
        y = y + np.reshape(beta, shape)
    return y


def zero_padding2d(x, padding=((1, 1), (1, 1))):
    (t, b), (l, r) = padding
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           activation=None):
    y = _k.conv2d_forward(x, kernel, bias, strides=strides, padding=padding,
                          dilation_rate=dilation_rate, groups=groups)
    return relu(y) if activation == "relu" else y


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    return _k.conv2d_transpose_forward(x, kernel, bias, strides=strides, padding=padding,
                                       output_padding=output_padding, dilation_rate=dilation_rate)


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Each input channel c is convolved with its own kernel[..., c, :] filters."""
    kh, kw, c, mult = kernel.shape
    outs = [conv2d(x[..., i:i + 1], kernel[:, :, i:i + 1, :], None, strides, padding,
                   dilation_rate) for i in range(c)]
    y = np.concatenate(outs, axis=-1)  # channel order c * mult + m
    return y + bias if bias is not None else y


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    return _k.max_pool2d_forward(x, pool_size, strides, padding)[0]


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    return _k.avg_pool2d_forward(x, pool_size, strides, padding)


def global_avg_pool2d(x, keepdims=False):
    return np.mean(x, axis=(1, 2), keepdims=keepdims)


def global_max_pool2d(x, keepdims=False):
    return np.max(x, axis=(1, 2), keepdims=keepdims)


# -- losses (per sample) ---------------------------------------------------------------------
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return -(y_true * log_softmax(y_pred, axis)).sum(axis=axis)
    p = y_pred / y_pred.sum(axis=axis, keepdims=True)
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return -(y_true * np.log(p)).sum(axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true).astype(np.int64)
    if labels.ndim == y_pred.ndim:  # Keras accepts labels with a trailing axis of 1
        labels = labels.squeeze(-1)
    keep = np.ones(labels.shape) if ignore_class is None else (labels != ignore_class)
    onehot = np.eye(y_pred.shape[axis])[np.where(keep, labels, 0)] * keep[..., None]
    onehot = np.moveaxis(onehot, -1, axis % y_pred.ndim)
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    p = sigmoid(y_pred) if from_logits else np.clip(y_pred, EPSILON, 1 - EPSILON)
    return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))


def mean_squared_error(y_true, y_pred):
    return ((np.asarray(y_pred) - y_true) ** 2).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    return np.abs(np.asarray(y_pred) - y_true).mean(axis=-1)
