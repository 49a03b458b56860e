"""Confusion-matrix metrics (keras/src/metrics/confusion_metrics.py, metrics_utils.py): counts of
true/false positives/negatives at thresholds, Precision, Recall and the "X at Y" family (AUC is in
:mod:`minicnn.metrics.auc`).

A prediction is positive at threshold ``t`` when ``y_pred > t``; ``y_true`` is read as a bool.
Counts are weighted by ``sample_weight`` (rank 0, or broadcastable to ``y_true`` once given a
trailing axis, as Keras) and kept in float64 variables (``metric.variables``).
"""

import numpy as np

from minicnn.metrics.base import Metric, _np

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
           "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision"]

NEG_INF = -1e10  # Keras' value for the predictions top_k leaves out


def _thresholds_arg(thresholds, default):
    values = [default] if thresholds is None else list(np.atleast_1d(thresholds).tolist())
    if thresholds is not None:
        bad = [t for t in values if t is None or not 0 <= t <= 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1], got {bad}")
    return values


def _filter_top_k(x, k):
    """Keep the ``k`` largest values of the last axis (the first ones on ties), the others NEG_INF."""
    keep = np.zeros(x.shape, bool)
    top = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, x, NEG_INF)


def _weights(sample_weight, y_true, shape):
    """Keras' sample-weight shaping: an added trailing axis, squeezed against ``y_true``, then
    broadcast to the predictions' shape."""
    w = np.asarray(_np(sample_weight), np.float64)[..., None]
    if w.ndim == y_true.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(_np(sample_weight))} does not broadcast to the "
                         f"predictions' shape {shape}") from None


def _count_above(thresholds, values, weights):
    """``[sum(weights[values > t]) for t in thresholds]`` in O((N + T) log T); NaN is never above."""
    order = np.argsort(thresholds, kind="stable")
    below = np.searchsorted(thresholds[order], values, side="left")  # thresholds < value
    below[np.isnan(values)] = 0
    counts = np.bincount(below, weights=weights, minlength=len(thresholds) + 1)
    above = np.cumsum(counts[::-1])[::-1][1:]
    out = np.empty(len(thresholds))
    out[order] = above
    return out


def confusion_counts(y_true, y_pred, thresholds, *, top_k=None, class_id=None, sample_weight=None,
                     multi_label=False, label_weights=None):
    """``(tp, fp, tn, fn)``, each ``(len(thresholds),)`` (or ``(len(thresholds), labels)`` with
    ``multi_label``): Keras' update_confusion_matrix_variables in NumPy."""
    y_pred = np.asarray(_np(y_pred), np.float64)
    y_true = np.asarray(_np(y_true), np.float64)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}")
    w = None if sample_weight is None else _weights(sample_weight, y_true, y_pred.shape)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(f"class_id needs y_pred of shape (num_samples, num_classes), got {y_pred.shape}")
        if not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(f"class_id={class_id} is out of range for {y_pred.shape[-1]} classes")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
        w = None if w is None else w[..., class_id, None]
    w = np.ones(y_pred.shape) if w is None else w
    if label_weights is not None:
        w = w * np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
    thresholds = np.asarray(thresholds, np.float64)
    positive = y_true.astype(bool)
    if multi_label:
        columns = [confusion_counts(y_true[:, j], y_pred[:, j], thresholds, sample_weight=w[:, j])
                   for j in range(y_pred.shape[1])]
        return tuple(np.stack([c[i] for c in columns], axis=1) for i in range(4))
    p, pos, w = y_pred.ravel(), positive.ravel(), w.ravel()
    tp = _count_above(thresholds, p[pos], w[pos])
    fp = _count_above(thresholds, p[~pos], w[~pos])
    return tp, fp, w[~pos].sum() - fp, w[pos].sum() - tp


def _ratio(a, b):
    """Keras' divide_no_nan: a / b, 0 where b == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _one_or_many(values, thresholds):
    return float(values[0]) if len(thresholds) == 1 else np.asarray(values)


class _ConfusionMetric(Metric):
    """Keeps the counts named in ``_COUNTS`` (a subset of tp, fp, tn, fn) as float64 variables."""

    _COUNTS = ("tp", "fp", "tn", "fn")
    _VARIABLE_NAMES = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                       "fn": "false_negatives"}

    def _build_counts(self, shape):
        for key in self._COUNTS:
            setattr(self, self._VARIABLE_NAMES[key],
                    self.add_variable(shape=shape, initializer="zeros", dtype="float64",
                                      name=self._VARIABLE_NAMES[key]))

    def _accumulate(self, counts):
        for key, value in zip(("tp", "fp", "tn", "fn"), counts):
            if key in self._COUNTS:
                getattr(self, self._VARIABLE_NAMES[key]).assign_add(value)

    def _counts(self):
        return [getattr(self, self._VARIABLE_NAMES[k]).numpy().astype(np.float64) for k in ("tp", "fp", "tn", "fn")
                if k in self._COUNTS]


class _ConditionCount(_ConfusionMetric):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds_arg(thresholds, 0.5)
        self._build_counts((len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight))

    def result(self):
        return _one_or_many(self._counts()[0], self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _condition_class(class_name, key, doc):
    return type(class_name, (_ConditionCount,), {"_COUNTS": (key,), "__doc__": doc, "__module__": __name__})


TruePositives = _condition_class("TruePositives", "tp", """Weighted count of true positives.

    >>> m = TruePositives()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> m.result()
    2.0
    """)
FalsePositives = _condition_class("FalsePositives", "fp", "Weighted count of false positives.")
TrueNegatives = _condition_class("TrueNegatives", "tn", "Weighted count of true negatives.")
FalseNegatives = _condition_class("FalseNegatives", "fn", "Weighted count of false negatives.")


class _PrecisionRecall(_ConfusionMetric):
    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds_arg(thresholds, 0.5 if top_k is None else NEG_INF)
        self._build_counts((len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(confusion_counts(y_true, y_pred, self.thresholds, top_k=self.top_k,
                                          class_id=self.class_id, sample_weight=sample_weight))

    def result(self):
        tp, other = self._counts()
        return _one_or_many(_ratio(tp, tp + other), self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` at each threshold (default 0.5); ``top_k`` counts only the k highest
    predictions as positive; ``class_id`` restricts to one class.

    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 6)
    0.666667
    """

    _COUNTS = ("tp", "fp")


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` at each threshold (default 0.5); ``top_k`` and ``class_id`` as Precision.

    >>> m = Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    >>> m.result()
    1.0
    """

    _COUNTS = ("tp", "fn")


class _AtValue(_ConfusionMetric):
    """Keras' SensitivitySpecificityBase: ``num_thresholds`` evenly spaced in [0, 1]; the result is
    the best ``dependent`` rate among thresholds whose ``constrained`` rate is >= ``value``."""

    _direction = "up"
    _ARG = _DEPENDENT = None  # the constructor argument holding ``value``; the rate maximised

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= value <= 1:
            raise ValueError(f"{type(self).__name__}: {self._ARG} must be in [0, 1], got {value}")
        if num_thresholds <= 0:
            raise ValueError(f"{type(self).__name__}: num_thresholds must be an integer > 0, got {num_thresholds}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        setattr(self, self._ARG, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        self.thresholds = [0.5] if num_thresholds == 1 else \
            [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        self._build_counts((len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(confusion_counts(y_true, y_pred, self.thresholds, class_id=self.class_id,
                                          sample_weight=sample_weight))

    def _rates(self):
        tp, fp, tn, fn = self._counts()
        return {"sensitivity": _ratio(tp, tp + fn), "recall": _ratio(tp, tp + fn),
                "specificity": _ratio(tn, tn + fp), "precision": _ratio(tp, tp + fp)}

    def result(self):
        rates = self._rates()
        feasible = rates[self._ARG] >= self.value
        return float(np.max(np.where(feasible, rates[self._DEPENDENT], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, self._ARG: self.value,
                "class_id": self.class_id}


class SensitivityAtSpecificity(_AtValue):
    """Best sensitivity (recall) where the specificity is >= ``specificity``.

    >>> m = SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> m.result()
    0.5
    """

    _ARG, _DEPENDENT = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtValue):
    """Best specificity where the sensitivity is >= ``sensitivity``."""

    _ARG, _DEPENDENT = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtValue):
    """Best precision where the recall is >= ``recall``."""

    _ARG, _DEPENDENT = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtValue):
    """Best recall where the precision is >= ``precision``."""

    _ARG, _DEPENDENT = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
