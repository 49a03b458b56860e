"""``AUC`` (keras/src/metrics/confusion_metrics.py): the area under the ROC or PR curve from
confusion counts at evenly spaced (or given) thresholds."""

import numpy as np

from minicnn.metrics.base import _np
from minicnn.metrics.confusion import _ConfusionMetric, _ratio, _thresholds_arg, confusion_counts

__all__ = ["AUC"]

EPSILON = 1e-7  # Keras' end thresholds are -EPSILON and 1 + EPSILON


class AUC(_ConfusionMetric):
    """Area under the ROC (default) or PR curve by a Riemann sum over ``num_thresholds``
    thresholds (or the given ``thresholds``, plus -1e-7 and 1 + 1e-7).

    ``summation_method``: "interpolation" (mid-point for ROC; Davis & Goadrich's interpolation of
    the positives for PR), "minoring" or "majoring".  ``multi_label``: one AUC per label column,
    averaged (weighted by ``label_weights`` if given); otherwise every label-prediction pair is
    one data point, weighted by ``label_weights``.  ``from_logits``: apply a sigmoid first.

    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curves = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
        if str(curve).lower() not in curves:
            raise ValueError(f'AUC: invalid curve "{curve}"; expected one of ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'AUC: invalid summation_method "{summation_method}"; expected one of '
                             '["interpolation", "majoring", "minoring"]')
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds_arg(thresholds, None))
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, got {num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve = curves[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._from_logits = from_logits
        if not multi_label and num_labels:
            raise ValueError("AUC: num_labels is needed only when multi_label is True")
        self._built = False
        if not multi_label:
            self._build_counts((self.num_thresholds,))
            self._built = True
        elif num_labels:
            self._build_counts((self.num_thresholds, num_labels))
            self._built = True

    @property
    def thresholds(self):
        return list(self._thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(_np(y_pred), np.float64)
        if self.multi_label and y_pred.ndim != 2:
            raise ValueError(f"AUC: y_pred must have rank 2 when multi_label=True, got shape {y_pred.shape}")
        if not self._built:
            self._build_counts((self.num_thresholds, y_pred.shape[1]))
            self._built = True
        if self._from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        self._accumulate(confusion_counts(
            y_true, y_pred, self._thresholds, sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights))

    def _average(self, per_label):
        if not self.multi_label:
            return float(per_label)
        if self.label_weights is None:
            return float(np.mean(per_label))
        return float(_ratio(np.sum(per_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr_auc(self, tp, fp, fn):
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increments = _ratio(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increments.sum(axis=0))

    def result(self):
        if not self._built:
            return 0.0
        tp, fp, tn, fn = self._counts()
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _ratio(tp, tp + fp)
        else:  # PRGAIN: the gains of Flach & Kull, with Keras' guards for tp == 0 and negative gains
            scale = _ratio(tp + fn, tn + fp)
            x = np.where(tp == 0, 0.0, np.maximum(1.0 - scale * _ratio(fn, tp), 0.0))
            y = np.where(tp == 0, 1.0, 1.0 - scale * _ratio(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average(((x[:-1] - x[1:]) * heights).sum(axis=0))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
