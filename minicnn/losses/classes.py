"""Keras 3's loss classes: a ``LossFunctionWrapper`` around each per-sample function of
``minicnn.losses.functions``, with Keras' constructor arguments, default names and configs."""

from minicnn.losses import functions as F
from minicnn.losses.loss import Loss

__all__ = [
    "LossFunctionWrapper", "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "CosineSimilarity", "Huber", "LogCosh", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge",
]


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _plain(class_name, fn, default_name, doc):
    """A wrapper class whose constructor takes only Keras' ``reduction``, ``name``, ``dtype``."""

    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype)

    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between integer labels and predicted probabilities (or logits).

    ``ignore_class``: samples with this label are left out (of the sum and of the mean).

    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss(np.array([0]), np.array([[0.0, 0.0]], dtype=np.float32))), 4)
    0.6931
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(F.sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits
        self.ignore_class = ignore_class


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot labels and predictions, with ``label_smoothing``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CategoricalCrossentropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        super().__init__(F.categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy (averaged over the last axis), with ``label_smoothing``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"BinaryCrossentropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        super().__init__(F.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


MeanSquaredError = _plain("MeanSquaredError", F.mean_squared_error, "mean_squared_error",
                         "Mean of squared errors over the last axis.")
MeanAbsoluteError = _plain("MeanAbsoluteError", F.mean_absolute_error, "mean_absolute_error",
                          "Mean of absolute errors over the last axis.")


class Huber(LossFunctionWrapper):
    """Huber loss with threshold ``delta`` (quadratic inside, linear outside).

    >>> import numpy as np
    >>> float(Huber(delta=1.0)(np.array([[0.0]]), np.array([[3.0]])))
    2.5
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        if delta <= 0:
            raise ValueError(f"Huber: delta must be positive, got {delta}")
        super().__init__(F.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


MeanAbsolutePercentageError = _plain(
    "MeanAbsolutePercentageError", F.mean_absolute_percentage_error, "mean_absolute_percentage_error",
    """``100 * mean(|y_true - y_pred| / |y_true|)``.

    >>> import numpy as np
    >>> loss = MeanAbsolutePercentageError()
    >>> round(float(loss(np.array([100.0, 200.0, 300.0]), np.array([90.0, 210.0, 310.0]))), 4)
    6.1111
    """)
MeanSquaredLogarithmicError = _plain(
    "MeanSquaredLogarithmicError", F.mean_squared_logarithmic_error, "mean_squared_logarithmic_error",
    "``mean((log(y_pred + 1) - log(y_true + 1))**2)``.")
LogCosh = _plain("LogCosh", F.log_cosh, "log_cosh",
                 "``mean(log(cosh(y_pred - y_true)))``: like MSE near 0, like MAE far away.")
KLDivergence = _plain("KLDivergence", F.kl_divergence, "kl_divergence",
                      "``sum(y_true * log(y_true / y_pred))`` (both clipped to [1e-7, 1]).")
Poisson = _plain("Poisson", F.poisson, "poisson", "``mean(y_pred - y_true * log(y_pred + 1e-7))``.")
Hinge = _plain("Hinge", F.hinge, "hinge",
               "``mean(max(1 - y_true * y_pred, 0))``; labels in {0, 1} are read as {-1, 1}.")
SquaredHinge = _plain("SquaredHinge", F.squared_hinge, "squared_hinge",
                      "``mean(max(1 - y_true * y_pred, 0)**2)``; labels in {0, 1} are read as {-1, 1}.")
CategoricalHinge = _plain("CategoricalHinge", F.categorical_hinge, "categorical_hinge",
                          "``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.")


class CosineSimilarity(LossFunctionWrapper):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 when they point the same way.

    >>> import numpy as np
    >>> loss = CosineSimilarity(axis=1)
    >>> round(float(loss(np.array([[0., 1.], [1., 1.]]), np.array([[1., 0.], [1., 1.]]))), 4)
    -0.5
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(F.cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis
