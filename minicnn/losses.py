"""Losses: Keras 3 classes, string names and reductions, built on the differentiable ``minicnn.ops``.

A loss object maps ``(y_true, y_pred, sample_weight=None)`` to a scalar Tensor.  The per-sample
losses come from ``minicnn.ops`` (the cross-entropies there compute from the logits when
``y_pred`` came out of a ``softmax``/``sigmoid``, so a softmax output layer never gives NaN), then
``sample_weight`` multiplies them and the reduction averages:

- ``"sum_over_batch_size"`` (default): ``sum(w * loss) / number of loss values``
- ``"sum"``: ``sum(w * loss)``; ``"mean"``: ``sum(w * loss) / sum(w)``; ``"none"``/None: the
  weighted per-sample Tensor.

>>> import numpy as np
>>> import minicnn
>>> loss = minicnn.losses.MeanSquaredError()
>>> float(loss(np.array([[1.0], [2.0]]), minicnn.Tensor(np.array([[1.0], [4.0]]))))
2.0
"""

import numpy as np

from minicnn import ops
from minicnn.autograd import Tensor
from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize

__all__ = [
    "Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
    "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber",
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "huber", "mse", "mae", "get", "serialize",
    "deserialize",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


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


# ------------------------------------------------------------------ per-sample functions
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample cross-entropy from integer labels (shape (N,) or (N, 1)) -> (N,) Tensor.

    Samples labelled ``ignore_class`` contribute 0 (they still count in the batch size).
    """
    y_pred = _as_tensor(y_pred)
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    return ops.sparse_categorical_crossentropy(y, y_pred, from_logits=from_logits,
                                                  ignore_class=ignore_class, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy from one-hot labels -> (N,) Tensor."""
    y_pred = _as_tensor(y_pred)
    return ops.categorical_crossentropy(_true_like(y_true, y_pred), y_pred, from_logits=from_logits,
                                           label_smoothing=label_smoothing, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary cross-entropy, averaged over the last axis -> (N,) Tensor."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits,
                                      label_smoothing=label_smoothing)


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


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# ------------------------------------------------------------------ classes
class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` -> per-sample Tensor."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.name = name or _default_name(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = Tensor(np.asarray(values))
        return reduce_weighted(values, sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _default_name(class_name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def reduce_weighted(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Apply ``sample_weight`` to per-sample loss ``values`` (a Tensor) and reduce."""
    n = values.size
    if sample_weight is not None:
        w = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight)
        w = w.astype(values.dtype, copy=False)
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = w[..., 0]
        if w.ndim and w.shape != values.shape[: w.ndim]:
            raise ValueError(f"sample_weight shape {w.shape} does not match the per-sample losses "
                             f"shape {tuple(values.shape)}")
        w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
        values = values * w
    if reduction in ("none", None):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean" and sample_weight is not None:
        denom = float(np.broadcast_to(w, values.shape).sum())
        return total / denom if denom else total * 0.0
    return total / max(n, 1)


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
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def __call__(self, y_true, y_pred, sample_weight=None):
        value = super().__call__(y_true, y_pred, sample_weight=sample_weight)
        if self.ignore_class is None or self.reduction != "sum_over_batch_size":
            return value
        # Keras masks ignored samples out of the mean: divide by the valid count, not the batch.
        labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
        valid = int(np.count_nonzero(labels != self.ignore_class))
        return value * (labels.size / valid) if valid else value


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot labels and predictions, with ``label_smoothing``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CategoricalCrossentropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy (averaged over the last axis), with ``label_smoothing``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"BinaryCrossentropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class Huber(LossFunctionWrapper):
    """Huber loss with threshold ``delta`` (quadratic inside, linear outside).

    >>> import numpy as np
    >>> float(Huber(delta=1.0)(np.array([[0.0]]), np.array([[3.0]])))
    2.5
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        if delta <= 0:
            raise ValueError(f"Huber: delta must be positive, got {delta}")
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


_CLASSES = {cls.__name__: cls for cls in (
    SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError,
    MeanAbsoluteError, Huber)}
_FUNCTIONS = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error, "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "huber": huber, "huber_loss": huber,
}
# Keras turns a string into the matching class so that compile() reports the class' name.
_STRING_TO_CLASS = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}


def get(identifier):
    """A loss callable from a string (``"mse"``, ``"SparseCategoricalCrossentropy"``), a config dict,
    a Loss or a function ``fn(y_true, y_pred)`` (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, str):
        if identifier in _STRING_TO_CLASS:
            return _STRING_TO_CLASS[identifier]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(f"Unknown loss {identifier!r}; known: {sorted(_STRING_TO_CLASS)}")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """A JSON-able dict naming the loss (class + config) or the built-in function."""
    if isinstance(loss, Loss):
        if isinstance(loss, LossFunctionWrapper) and type(loss) is LossFunctionWrapper:
            name = getattr(loss.fn, "__name__", None)
            if _FUNCTIONS.get(name) is not loss.fn:
                raise ValueError(f"serialize: cannot serialize a LossFunctionWrapper of {loss.fn!r}")
            cfg = dict(loss.get_config(), fn=name)
            return {"module": "minicnn.losses", "class_name": "LossFunctionWrapper", "config": cfg,
                    "registered_name": "LossFunctionWrapper"}
        return _serialize(loss)
    name = getattr(loss, "__name__", None)
    if name in _FUNCTIONS and _FUNCTIONS[name] is loss:
        return {"module": "minicnn.losses", "class_name": "function", "config": name,
                "registered_name": name}
    # A user function: saved by name, found again through custom_objects or the registry.
    return {"module": getattr(loss, "__module__", None), "class_name": "function", "config": name,
            "registered_name": name}


def deserialize(config, custom_objects=None):
    """Rebuild a loss from ``serialize``'s dict."""
    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict) and config.get("class_name") == "function":
        name = config.get("registered_name") or config.get("config")
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if name in _FUNCTIONS:
            return _FUNCTIONS[name]
        raise ValueError(f"Unknown loss function {name!r}: pass it in custom_objects")
    if isinstance(config, dict) and config.get("class_name") == "LossFunctionWrapper":
        cfg = dict(config.get("config", {}))
        fn = cfg.pop("fn")
        fn = (custom_objects or {}).get(fn) or _FUNCTIONS.get(fn)
        if fn is None:
            raise ValueError(f"Unknown loss function in LossFunctionWrapper config: {config!r}")
        return LossFunctionWrapper(fn, **cfg)
    cls = resolve_class(config, _CLASSES, custom_objects, "loss")
    return cls.from_config(dict(config.get("config", {})))


def _register():
    for cls in _CLASSES.values():
        register_builtin("minicnn.losses")(cls)
    for name, fn in _FUNCTIONS.items():
        if name == fn.__name__:
            register_builtin("minicnn.losses")(fn)


_register()
