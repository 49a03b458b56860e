"""Regression metrics (keras/src/metrics/regression_metrics.py)."""

import warnings

import numpy as np

from minicnn import losses
from minicnn.metrics.base import Mean, Metric, _dense_labels, _np, _wrapper_class, from_loss

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "RootMeanSquaredError", "CosineSimilarity", "LogCoshError", "R2Score", "mean_squared_error",
           "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
           "cosine_similarity", "log_cosh"]


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


mean_absolute_percentage_error = from_loss(losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = from_loss(losses.mean_squared_logarithmic_error)
log_cosh = from_loss(losses.log_cosh)
# Keras' metric is +sum(l2_normalize(y_true) * l2_normalize(y_pred)): the loss with its sign flipped
cosine_similarity = from_loss(losses.cosine_similarity, sign=-1.0)

MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error",
                                  "Mean of squared errors.")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                                   "Mean of absolute errors.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error",
    """Mean of ``100 * |y_true - y_pred| / |y_true|``.

    >>> m = MeanAbsolutePercentageError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> round(float(m.result()), 2)
    250000000.0
    """)
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error",
    "Mean of ``(log(y_pred + 1) - log(y_true + 1))**2``.")
LogCoshError = _wrapper_class("LogCoshError", log_cosh, "logcosh", "Mean of ``log(cosh(y_pred - y_true))``.")
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity",
    """Mean cosine similarity along ``axis`` (1 for the same direction).

    >>> m = CosineSimilarity(axis=1)
    >>> m.update_state([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]])
    >>> round(float(m.result()), 4)
    0.5
    """, direction="up", axis=-1)


class RootMeanSquaredError(Mean):
    """``sqrt(mean((y_pred - y_true)**2))`` over everything seen.

    >>> m = RootMeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> float(m.result())
    0.5
    """

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, p = _regression(y_true, y_pred)
        super().update_state((p - y) ** 2, sample_weight=sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` per output column, aggregated by
    ``class_aggregation`` ("uniform_average", "variance_weighted_average" or None); with
    ``num_regressors`` > 0 the adjusted R2.

    >>> m = R2Score()
    >>> m.update_state(np.array([[1.], [4.], [3.]]), np.array([[2.], [4.], [4.]]))
    >>> round(float(m.result()), 6)
    0.571429
    """

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("R2Score: class_aggregation must be None, 'uniform_average' or "
                             f"'variance_weighted_average', got {class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._sums = None  # (sum, squared_sum, residual, count) per output column, and num_samples
        self.num_samples = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, p = (np.asarray(_np(a), np.float64) for a in (y_true, y_pred))
        if y.ndim == p.ndim + 1 and y.shape[-1] == 1:
            y = y[..., 0]
        elif p.ndim == y.ndim + 1 and p.shape[-1] == 1:
            p = p[..., 0]
        if y.ndim != 2 or p.shape != y.shape:
            raise ValueError(f"R2Score expects 2D inputs of one shape (batch_size, output_dim), got "
                             f"y_true {y.shape} and y_pred {p.shape}")
        w = np.ones(()) if sample_weight is None else np.asarray(_np(sample_weight), np.float64)
        if w.ndim == 1:
            w = w[:, None]
        w = np.broadcast_to(w, y.shape)
        stats = np.stack([(y * w).sum(0), (y * y * w).sum(0), ((y - p) ** 2 * w).sum(0), w.sum(0)])
        if self._sums is not None and self._sums.shape != stats.shape:
            raise ValueError(f"R2Score: {y.shape[1]} output columns, earlier batches had {self._sums.shape[1]}")
        self._sums = stats if self._sums is None else self._sums + stats
        self.num_samples += float(np.any(w != 0, axis=-1).sum())

    def result(self):
        if self._sums is None:
            return 0.0
        total_sum, squared_sum, residual, count = self._sums
        with np.errstate(divide="ignore", invalid="ignore"):
            total = squared_sum - total_sum * (total_sum / count)
            raw = 1.0 - residual / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            return raw
        n, k = self.num_samples, self.num_regressors
        if k and k >= n - 1:
            warnings.warn("R2Score: as many independent predictors as data points or more; the adjusted R2 "
                          "is undefined, returning the standard R2 score", stacklevel=2)
        elif k:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - k - 1.0)
        return float(score)

    def reset_state(self):
        self._sums = None
        self.num_samples = 0.0

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
