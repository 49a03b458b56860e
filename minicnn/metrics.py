"""Stateful metrics with Keras 3's API: ``update_state`` / ``result`` / ``reset_state``.

Metrics see plain ndarrays (predictions are detached: a metric never records a graph) and keep
running sums in float64, so an epoch's value does not depend on how it was split into batches.

>>> import numpy as np

from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize
>>> m = SparseCategoricalAccuracy()
>>> m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
>>> m.result()
0.5
"""

import numpy as np

from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "BinaryCrossentropy", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "get", "serialize", "deserialize",
]

_EPS = 1e-7


def _np(x):
    return np.asarray(x.data if hasattr(x, "data") and not isinstance(x, np.ndarray) else x)


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ------------------------------------------------------------------ per-sample numpy functions
def _sparse_labels(y_true, y_pred):
    y = _np(y_true)
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse labels of shape {y.shape} do not match predictions of shape {y_pred.shape}")
    return y


def _dense_labels(y_true, y_pred):
    y = _np(y_true)
    if y.ndim == y_pred.ndim - 1:
        y = y[..., None]
    if y.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y.shape} does not match y_pred shape {y_pred.shape}")
    return y


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


def _regression(y_true, y_pred):
    y_pred = _np(y_pred).astype(np.float64)
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    return _dense_labels(y_true, y_pred).astype(np.float64), y_pred


def mean_squared_error(y_true, y_pred):
    y, p = _regression(y_true, y_pred)
    return np.mean((p - y) ** 2, axis=-1)


def mean_absolute_error(y_true, y_pred):
    y, p = _regression(y_true, y_pred)
    return np.mean(np.abs(p - y), axis=-1)


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


# ------------------------------------------------------------------ stateful metrics
class Metric:
    """Base class: ``update_state(*args)``, ``result()``, ``reset_state()``, ``get_config()``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype or "float32"

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _weighted(values, sample_weight):
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        return float(values.sum()), float(values.size)
    w = np.asarray(_np(sample_weight), dtype=np.float64)
    if w.ndim == 0 and values.ndim == 0:  # one value, one weight: fit's loss tracker, every batch
        return float((values * w).sum()), float(w)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim > values.ndim or w.shape != values.shape[: w.ndim]:
        raise ValueError(f"sample_weight shape {w.shape} does not match values shape {values.shape}")
    w = np.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)
    return float((values * w).sum()), float(w.sum())


class Mean(Metric):
    """Weighted mean of the values seen: ``sum(w * v) / sum(w)``.

    >>> m = Mean(); m.update_state([1.0, 3.0]); m.update_state(5.0, sample_weight=2.0); m.result()
    3.5
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        total, count = _weighted(_np(values), sample_weight)
        self.total += total
        self.count += count

    def result(self):
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0


class Sum(Metric):
    """Weighted sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        self.total += _weighted(_np(values), sample_weight)[0]

    def result(self):
        return self.total

    def reset_state(self):
        self.total = 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def _wrapper_class(class_name, fn, default_name, doc, **defaults):
    """Define a MeanMetricWrapper subclass whose constructor takes ``defaults`` as keywords."""

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected arguments {sorted(unknown)}")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
        for key, value in self._fn_kwargs.items():
            setattr(self, key, value)

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc,
                                                     "__module__": __name__})


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
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error",
                                  "Mean of squared errors.")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                                   "Mean of absolute errors.")
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    "Mean cross-entropy with one-hot labels.", from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
    "Mean cross-entropy with integer labels.", from_logits=False)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    "Mean binary cross-entropy.", from_logits=False, label_smoothing=0.0)

_CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy)}
_STRINGS = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
}


def get(identifier):
    """A Metric from a string, a config dict, a Metric, or a function (wrapped in a mean)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = _STRINGS.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown metric {identifier!r}; known: {sorted(_STRINGS)}")
        metric = cls()
        if identifier in _STRINGS:
            metric.name = identifier
        return metric
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"Could not interpret metric identifier: {identifier!r}")


def resolve_accuracy(identifier, y_true, y_pred, loss=None):
    """Resolve ``"accuracy"``/``"acc"`` as Keras 3 does, from the shapes of y_true and y_pred.

    A single output unit means binary accuracy; labels of lower rank than the predictions (or a
    trailing 1) mean sparse categorical accuracy; otherwise categorical accuracy.
    """
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_pred.ndim == 0 or y_pred.shape[-1] == 1 or y_pred.ndim == 1:
        fn = binary_accuracy
    elif y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        fn = sparse_categorical_accuracy
    else:
        fn = categorical_accuracy
    return MeanMetricWrapper(fn, name=identifier)


def serialize(metric):
    if type(metric) is MeanMetricWrapper:
        name = getattr(metric._fn, "__name__", None)
        if globals().get(name) is not metric._fn:
            raise ValueError(f"serialize: cannot serialize a MeanMetricWrapper of {metric._fn!r}")
        return {"module": "minicnn.metrics", "class_name": "MeanMetricWrapper",
                "config": dict(metric.get_config(), fn=name), "registered_name": "MeanMetricWrapper"}
    return _serialize(metric)


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    if config.get("class_name") == "MeanMetricWrapper":
        cfg = dict(config["config"])
        fn_name = cfg.pop("fn")
        fn = (custom_objects or {}).get(fn_name) or globals().get(fn_name)
        if fn is None or fn_name.startswith("_"):
            raise ValueError(f"Unknown metric function {fn_name!r}: pass it in custom_objects")
        return MeanMetricWrapper(fn, **cfg)
    cls = resolve_class(config, _CLASSES, custom_objects, "metric")
    return cls.from_config(dict(config.get("config", {})))


def _register():
    for cls in _CLASSES.values():
        register_builtin("minicnn.metrics")(cls)


_register()
