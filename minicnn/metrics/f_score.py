"""F-scores (keras/src/metrics/f_score_metrics.py): ``FBetaScore`` and ``F1Score``."""

import numpy as np

from minicnn.metrics.base import Metric, _np

__all__ = ["FBetaScore", "F1Score"]

EPSILON = 1e-7


class FBetaScore(Metric):
    """``(1 + beta**2) * precision * recall / (beta**2 * precision + recall)`` per class.

    ``threshold``: predictions above it count as positive; None: the largest prediction of each
    row (if nonzero).  ``average``: None (one score per class), "micro" (global counts), "macro"
    (mean over classes) or "weighted" (by each class' support).

    >>> m = FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
    ...                np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
    >>> m.result().round(6).tolist()
    [0.384615, 0.909091, 0.833333]
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', "
                             f"got {average!r}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{type(self).__name__}: beta must be a Python float > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{type(self).__name__}: threshold must be a Python float in (0, 1], got {threshold!r}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self._axis = None if average == "micro" else 0
        self._built = False

    def _build(self, shape):
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=shape, initializer="zeros", dtype="float64", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(_np(y_true), np.float64)
        y_pred = np.asarray(_np(y_pred), np.float64)
        if y_true.ndim != 2 or y_pred.shape != y_true.shape:
            raise ValueError(f"{type(self).__name__} expects 2D inputs of one shape (batch_size, output_dim), got "
                             f"y_true {y_true.shape} and y_pred {y_pred.shape}")
        if not self._built:
            self._build(() if self.average == "micro" else (y_pred.shape[-1],))
        if self.threshold is None:
            y_pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(np.float64)
        w = 1.0
        if sample_weight is not None:
            w = np.asarray(_np(sample_weight), np.float64)
            w = w.reshape(w.shape + (1,) * (y_true.ndim - w.ndim))
        for variable, value in ((self.true_positives, y_pred * y_true), (self.false_positives, y_pred * (1 - y_true)),
                                (self.false_negatives, (1 - y_pred) * y_true), (self.intermediate_weights, y_true)):
            variable.assign_add(np.sum(value * w, axis=self._axis))

    def result(self):
        if not self._built:
            return 0.0
        tp, fp, fn, support = (v.numpy() for v in (self.true_positives, self.false_positives,
                                                   self.false_negatives, self.intermediate_weights))
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            return float(np.sum(score * support / (np.sum(support) + EPSILON)))
        if self.average is not None:
            return float(np.mean(score))
        return score

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (``FBetaScore`` with ``beta=1``).

    >>> m = F1Score(threshold=0.5)
    >>> m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
    ...                np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
    >>> m.result().round(6).tolist()
    [0.5, 0.8, 0.666667]
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
