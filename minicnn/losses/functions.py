"""Per-sample loss functions (Keras' function forms: ``fn(y_true, y_pred)`` -> one value per sample).

They are differentiable in ``y_pred`` (built on Tensor methods and ``minicnn.ops``); ``y_true`` is
a constant.  As Keras' ``squeeze_or_expand_to_same_rank``, labels may have one more or one fewer
trailing axis of size 1 than the predictions; 1-D regression predictions count as ``(N, 1)``
(one value per sample).  ``EPSILON`` is Keras' ``backend.epsilon()``.
"""

import math

import numpy as np

from minicnn import ops
from minicnn.autograd import Tensor

__all__ = [
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "kl_divergence",
    "poisson", "hinge", "squared_hinge", "categorical_hinge", "EPSILON",
]

EPSILON = 1e-7


def _as_tensor(y_pred):
    return y_pred if isinstance(y_pred, Tensor) else Tensor(np.asarray(y_pred))


def _true_like(y_true, y_pred):
    """y_true as an ndarray of y_pred's dtype, with y_pred's rank (Keras squeeze_or_expand)."""
    y = np.asarray(getattr(y_true, "data", y_true) if isinstance(y_true, Tensor) else y_true)
    y = y.astype(y_pred.dtype, copy=False)
    if y.ndim == y_pred.ndim - 1:
        y = y[..., None]
    elif y.ndim == y_pred.ndim + 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y.shape} does not match y_pred shape {tuple(y_pred.shape)}")
    return y


def _regression_pair(y_true, y_pred):
    y_pred = _as_tensor(y_pred)
    if y_pred.ndim == 1:  # per-sample scalars: treat as (N, 1) so "mean over last axis" is per sample
        y_pred = y_pred.reshape(-1, 1)
    return _true_like(y_true, y_pred), y_pred


# ------------------------------------------------------------------ cross-entropies and errors
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample cross-entropy from integer labels (shape (N,) or (N, 1)) -> (N,) Tensor.

    Samples labelled ``ignore_class`` give 0 and are masked out (``_keras_mask``), so the loss
    classes leave them out of the mean.
    """
    y_pred = _as_tensor(y_pred)
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    values = ops.sparse_categorical_crossentropy(y, y_pred, from_logits=from_logits,
                                                    ignore_class=ignore_class, axis=axis)
    if ignore_class is not None:  # Keras marks the ignored samples in the values' mask
        values._keras_mask = (y != int(ignore_class)).reshape(values.shape)
    return values


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy from one-hot labels -> (N,) Tensor."""
    y_pred = _as_tensor(y_pred)
    return ops.categorical_crossentropy(_true_like(y_true, y_pred), y_pred, from_logits=from_logits,
                                           label_smoothing=label_smoothing, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary cross-entropy, averaged over the last axis -> (N,) Tensor."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits,
                                            label_smoothing=label_smoothing), axis=-1)


def mean_squared_error(y_true, y_pred):
    """``mean((y_pred - y_true)**2, axis=-1)`` -> (N,) Tensor."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ops.mean_squared_error(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_pred - y_true|, axis=-1)`` -> (N,) Tensor."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ops.mean_absolute_error(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss per sample: ``0.5 e**2`` for ``|e| <= delta``, ``delta (|e| - 0.5 delta)`` beyond.

    Written as ``0.5 q**2 + delta * (|e| - q)`` with ``q = clip(|e|, 0, delta)`` (Keras' form).
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    abs_error = (y_pred - y_true).abs()
    quadratic = abs_error.clip(0.0, delta)
    linear = abs_error - quadratic
    return (quadratic * quadratic * 0.5 + linear * delta).mean(axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, EPSILON), axis=-1)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ((y_pred - y_true).abs() / np.maximum(np.abs(y_true), EPSILON)).mean(axis=-1) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, EPSILON) + 1) - log(max(y_true, EPSILON) + 1))**2, axis=-1)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    diff = (y_pred.clip(EPSILON, None) + 1.0).log() - np.log(np.maximum(y_true, EPSILON) + 1.0)
    return (diff * diff).mean(axis=-1)


def _l2_normalize(x, axis):
    """Keras' ``ops.normalize``: ``x / sqrt(max(sum(x**2), EPSILON**2))`` (zero vectors stay 0)."""
    if isinstance(x, Tensor):
        return x / (x * x).sum(axis=axis, keepdims=True).clip(EPSILON * EPSILON, None).sqrt()
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), EPSILON * EPSILON))


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for the same direction.

    >>> import numpy as np
    >>> y_true = np.array([[0., 1.], [1., 1.], [1., 1.]])
    >>> cosine_similarity(y_true, np.array([[1., 0.], [1., 1.], [-1., -1.]])).numpy().round(6).tolist()
    [-0.0, -1.0, 1.0]
    """
    y_pred = _as_tensor(y_pred)
    y_true = _true_like(y_true, y_pred)
    return -(_l2_normalize(y_pred, axis) * _l2_normalize(y_true, axis)).sum(axis=axis)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, as ``x + softplus(-2x) - log 2`` (no overflow).

    >>> import numpy as np
    >>> round(float(log_cosh(np.array([[0., 1.], [0., 0.]]), np.array([[1., 1.], [0., 0.]])).mean()), 3)
    0.108
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    x = y_pred - y_true
    return (x + ops.softplus(x * -2.0) - math.log(2.0)).mean(axis=-1)


def kl_divergence(y_true, y_pred):
    """``sum(t * log(t / p), axis=-1)`` with ``t``, ``p`` clipped to ``[EPSILON, 1]``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    t = np.clip(y_true, EPSILON, 1.0)
    return (y_pred.clip(EPSILON, 1.0).log() * -t).sum(axis=-1) + (t * np.log(t)).sum(axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + EPSILON), axis=-1)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return (y_pred - (y_pred + EPSILON).log() * y_true).mean(axis=-1)


def _hinge_labels(y):
    """Keras' convert_binary_labels_to_hinge: labels all in {0, 1} become {-1, 1}."""
    return 2.0 * y - 1.0 if np.isin(y, (0, 1)).all() else y


def _margin(y_true, y_pred):
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ops.relu(y_pred * -_hinge_labels(y_true) + 1.0)


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``; labels in {0, 1} are read as {-1, 1}."""
    return _margin(y_true, y_pred).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)``; labels in {0, 1} are read as {-1, 1}."""
    margin = _margin(y_true, y_pred)
    return (margin * margin).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)``
    over the last axis (one-hot labels)."""
    y_pred = _as_tensor(y_pred)
    y_true = _true_like(y_true, y_pred)
    pos = (y_pred * y_true).sum(axis=-1)
    neg = (y_pred * (1.0 - y_true)).max(axis=-1)
    return ops.relu(neg - pos + 1.0)
