"""Probabilistic metrics (keras/src/metrics/probabilistic_metrics.py): cross-entropies,
``KLDivergence``, ``Poisson``."""

import numpy as np

from minicnn import losses
from minicnn.metrics.base import _EPS, _dense_labels, _np, _sparse_labels, _wrapper_class, from_loss
from minicnn.metrics.regression import _regression

__all__ = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "KLDivergence",
           "Poisson", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
           "kl_divergence", "poisson"]


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    p = _np(y_pred).astype(np.float64)
    y = _dense_labels(y_true, p).astype(np.float64)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    logp = _log_softmax(p) if from_logits else np.log(np.clip(p / p.sum(-1, keepdims=True), _EPS, 1 - _EPS))
    return -np.sum(y * logp, axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    p = _np(y_pred).astype(np.float64)
    y = _sparse_labels(y_true, p).astype(np.int64)
    logp = _log_softmax(p) if from_logits else np.log(np.clip(p / p.sum(-1, keepdims=True), _EPS, 1 - _EPS))
    return -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y, p = _regression(y_true, y_pred)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        # log(1 + exp(-|z|)) + max(z, 0) - z*y: stable for large |z|
        values = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    else:
        p = np.clip(p, _EPS, 1 - _EPS)
        values = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return np.mean(values, axis=-1)


kl_divergence = from_loss(losses.kl_divergence)
poisson = from_loss(losses.poisson)

CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    "Mean cross-entropy with one-hot labels.", from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
    "Mean cross-entropy with integer labels.", from_logits=False)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    "Mean binary cross-entropy.", from_logits=False, label_smoothing=0.0)
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              "Mean of ``sum(y_true * log(y_true / y_pred))``.")
Poisson = _wrapper_class("Poisson", poisson, "poisson", "Mean of ``y_pred - y_true * log(y_pred)``.")
