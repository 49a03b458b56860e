"""Plain-NumPy references of the batch-normalisation kernels (:mod:`minicnn._kernels.norm`).

Written for reading, not speed, and computed in float64 whatever the input dtype: the textbook
formulas the kernels must reproduce.  Channels are the LAST axis; every other axis is reduced.

    mean, var = batch_norm_statistics(x)
    y         = (x - mean) / sqrt(var + epsilon) * gamma + beta        (batch_norm_forward)
    xhat      = (x - mean) * inv_std
    dgamma    = sum(g * xhat),   dbeta = sum(g)
    gx        = gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat))   while training
    gx        = gamma * inv_std * g                                        in inference

The training-mode input gradient follows from differentiating through the batch mean and
variance: with n reduced elements per channel and dxhat = g * gamma,
``gx = inv_std / n * (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))``.
"""

import numpy as np

__all__ = ["batch_norm_statistics", "batch_norm_forward", "batch_norm_backward"]


def _rows(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, a.shape[-1])


def batch_norm_statistics(x):
    """(mean, biased variance) per channel, float64."""
    x2 = _rows(x)
    mean = x2.sum(axis=0) / x2.shape[0]
    var = ((x2 - mean) ** 2).sum(axis=0) / x2.shape[0]
    return mean, var


def batch_norm_forward(x, mean, inv_std, gamma=None, beta=None, relu=False):
    """(x - mean) * inv_std * gamma + beta, then max(., 0) if relu; float64, x's shape."""
    x = np.asarray(x, dtype=np.float64)
    y = (x - np.asarray(mean, np.float64)) * np.asarray(inv_std, np.float64)
    if gamma is not None:
        y = y * np.asarray(gamma, np.float64)
    if beta is not None:
        y = y + np.asarray(beta, np.float64)
    if relu:
        y = np.maximum(y, 0.0)
    return y


def batch_norm_backward(g, x, mean, inv_std, gamma=None, training=True):
    """(gx, dgamma, dbeta), float64.  ``training``: mean and inv_std are x's batch statistics."""
    g2, x2 = _rows(g), _rows(x)
    n = x2.shape[0]
    inv_std = np.asarray(inv_std, np.float64)
    gamma = np.ones(x2.shape[1]) if gamma is None else np.asarray(gamma, np.float64)
    xhat = (x2 - np.asarray(mean, np.float64)) * inv_std
    dgamma = (g2 * xhat).sum(axis=0)
    dbeta = g2.sum(axis=0)
    dxhat = g2 * gamma
    if training:
        gx = inv_std / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    else:
        gx = dxhat * inv_std
    return gx.reshape(np.shape(x)), dgamma, dbeta
