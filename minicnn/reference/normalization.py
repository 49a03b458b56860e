"""Plain-NumPy references of layer and group normalisation: the oracles of
:func:`minicnn.ops.layer_normalization` and :func:`minicnn.ops.group_normalization`.

Both normalise each sample by its own statistics (biased variance), then scale and shift::

    y = (x - mean) / sqrt(var + epsilon) * gamma + beta

Layer normalisation takes mean and variance over ``axis`` (gamma/beta span those axes); group
normalisation splits the channel axis into ``groups`` and takes them over every non-batch axis
of one group (gamma/beta are per channel).  Computed in float64.
"""

import numpy as np

__all__ = ["layer_normalization", "group_normalization"]


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    x = np.asarray(x, dtype=np.float64)
    axes = tuple(a % x.ndim for a in np.atleast_1d(axis))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon)
    shape = [x.shape[d] if d in axes else 1 for d in range(x.ndim)]
    if gamma is not None:
        y = y * np.reshape(gamma, shape)
    if beta is not None:
        y = y + np.reshape(beta, shape)
    return y


def group_normalization(x, gamma=None, beta=None, groups=32, axis=-1, epsilon=1e-3):
    x = np.asarray(x, dtype=np.float64)
    axis %= x.ndim
    c = x.shape[axis]
    y = np.empty_like(x)
    for n in range(x.shape[0]):
        for g in range(groups):
            index = [n] + [slice(None)] * (x.ndim - 1)
            index[axis] = slice(g * c // groups, (g + 1) * c // groups)
            part = x[tuple(index)]
            y[tuple(index)] = (part - part.mean()) / np.sqrt(part.var() + epsilon)
    shape = [c if d == axis else 1 for d in range(x.ndim)]
    if gamma is not None:
        y = y * np.reshape(gamma, shape)
    if beta is not None:
        y = y + np.reshape(beta, shape)
    return y
