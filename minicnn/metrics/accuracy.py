"""Accuracy metrics (keras/src/metrics/accuracy_metrics.py): per-sample functions and their
``MeanMetricWrapper`` classes."""

import numpy as np

from minicnn.metrics.base import _dense_labels, _np, _sparse_labels, _wrapper_class

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy"]


def accuracy(y_true, y_pred):
    """Exact-match rate: ``y_true == y_pred`` elementwise (float)."""
    y_pred = _np(y_pred)
    return (_dense_labels(y_true, y_pred) == y_pred).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == y_true`` (integer labels), per sample."""
    y_pred = _np(y_pred)
    y = _sparse_labels(y_true, y_pred)
    return (np.argmax(y_pred, axis=-1) == y.astype(np.int64)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels), per sample."""
    y_pred = _np(y_pred)
    y = _dense_labels(y_true, y_pred)
    return (np.argmax(y_pred, axis=-1) == np.argmax(y, axis=-1)).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of ``(y_pred > threshold) == y_true``, per sample."""
    y_pred = _np(y_pred)
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    y = _dense_labels(y_true, y_pred)
    return np.mean((y_pred > threshold) == (y > 0.5), axis=-1, dtype=np.float64)


def _in_top_k(y_pred, labels, k):
    # A label is in the top k when fewer than k classes score strictly higher (ties count in).
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (np.sum(y_pred > target, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label is among the ``k`` highest predictions."""
    y_pred = _np(y_pred)
    return _in_top_k(y_pred, np.argmax(_dense_labels(y_true, y_pred), axis=-1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the ``k`` highest predictions."""
    y_pred = _np(y_pred)
    return _in_top_k(y_pred, _sparse_labels(y_true, y_pred).astype(np.int64), k)


Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy", "How often predictions equal labels.")
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                                "How often thresholded predictions match binary labels.", threshold=0.5)
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy",
                                     "How often argmax(y_pred) matches the one-hot label.")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy",
    "How often argmax(y_pred) matches the integer label.")
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy",
    "How often the one-hot label is among the k top predictions.", k=5)
SparseTopKCategoricalAccuracy = _wrapper_class(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy", "How often the integer label is among the k top predictions.", k=5)

for _cls in (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
             SparseTopKCategoricalAccuracy):
    _cls._direction = "up"  # accuracies grow as the model improves
