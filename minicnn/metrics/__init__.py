"""Stateful metrics with Keras 3's API: ``update_state`` / ``result`` / ``reset_state``.

Metrics see plain ndarrays (predictions are detached: a metric never records a graph) and keep
running sums in float64, so an epoch's value does not depend on how it was split into batches.
The modules follow Keras': :mod:`~minicnn.metrics.base`, ``accuracy``, ``regression``,
``probabilistic``, ``hinge``, ``confusion`` (Precision, Recall, ...), ``auc``, ``f_score``.

>>> import numpy as np
>>> m = SparseCategoricalAccuracy()
>>> m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
>>> m.result()
0.5
"""

import re

from minicnn.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, _np
from minicnn.metrics.accuracy import *  # noqa: F401,F403
from minicnn.metrics.accuracy import __all__ as _accuracy_all
from minicnn.metrics.auc import *  # noqa: F401,F403
from minicnn.metrics.auc import __all__ as _auc_all
from minicnn.metrics.confusion import *  # noqa: F401,F403
from minicnn.metrics.confusion import __all__ as _confusion_all
from minicnn.metrics.f_score import *  # noqa: F401,F403
from minicnn.metrics.f_score import __all__ as _f_score_all
from minicnn.metrics.hinge import *  # noqa: F401,F403
from minicnn.metrics.hinge import __all__ as _hinge_all
from minicnn.metrics.probabilistic import *  # noqa: F401,F403
from minicnn.metrics.probabilistic import __all__ as _probabilistic_all
from minicnn.metrics.regression import *  # noqa: F401,F403
from minicnn.metrics.regression import __all__ as _regression_all
from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize

_ALL = [*_accuracy_all, *_auc_all, *_confusion_all, *_f_score_all, *_hinge_all, *_probabilistic_all, *_regression_all]
__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", *_ALL, "get", "serialize", "deserialize"]

_CLASSES = {name: obj for name, obj in globals().items()
            if name in ("Mean", "Sum", *_ALL) and isinstance(obj, type) and issubclass(obj, Metric)}
def _snake_case(name):
    """Keras' to_snake_case: "AUC" -> "auc", "KLDivergence" -> "kl_divergence", "F1Score" -> "f1_score"."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# Keras' ALL_OBJECTS_DICT: class names, their snake_case, and the short aliases.
_STRINGS = {_snake_case(name): cls for name, cls in _CLASSES.items()}
_STRINGS.update({
    "accuracy": Accuracy, "acc": Accuracy, "mse": MeanSquaredError, "MSE": MeanSquaredError,  # noqa: F405
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,  # noqa: F405
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,  # noqa: F405
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,  # noqa: F405
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,  # noqa: F405
})


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
