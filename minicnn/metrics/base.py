"""``Metric`` (Keras 3's ``update_state`` / ``result`` / ``reset_state`` and ``add_variable``),
``Mean``, ``Sum`` and ``MeanMetricWrapper``.

Metrics see plain ndarrays (predictions are detached: a metric never records a graph) and keep
running sums in float64, so an epoch's value does not depend on how it was split into batches.
"""

import re

import numpy as np

from minicnn.autograd import Tensor
from minicnn.variables import Variable, name_scope

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper"]

_EPS = 1e-7


def _np(x):
    return np.asarray(x.data if hasattr(x, "data") and not isinstance(x, np.ndarray) else x)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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
        """Zero every variable from ``add_variable`` (Keras' default)."""
        if not self.variables:
            raise NotImplementedError(f"{type(self).__name__} must implement reset_state")
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A non-trainable ``minicnn.Variable`` of metric state (Keras 3's signature), listed in
        ``variables``; update it with ``assign_add``/``assign``."""
        with name_scope(self.name.replace("/", ">"), caller=self):
            variable = Variable(initializer if initializer is not None else "zeros", shape=shape,
                                dtype=dtype or self.dtype, trainable=False,
                                aggregation=aggregation, name=name)
        self.__dict__.setdefault("_variables", []).append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Alias of :meth:`add_variable` (Keras keeps it for backwards compatibility)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        return list(self.__dict__.get("_variables", ()))

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


def _wrapper_class(class_name, fn, default_name, doc, direction="down", **defaults):
    """Define a MeanMetricWrapper subclass whose constructor takes ``defaults`` as keywords;
    ``direction`` ("up" or "down", Keras' ``_direction``) tells callbacks which way is better."""

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected arguments {sorted(unknown)}")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
        for key, value in self._fn_kwargs.items():
            setattr(self, key, value)

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "_direction": direction,
                                                     "__module__": __name__})


def from_loss(loss_fn, sign=1.0):
    """A NumPy per-sample metric function from a loss function of ``minicnn.losses`` (Keras'
    metrics reuse the losses' functions), computed in float64 on detached arrays."""

    def fn(y_true, y_pred, **kwargs):
        values = loss_fn(np.asarray(_np(y_true), np.float64), Tensor(np.asarray(_np(y_pred), np.float64)), **kwargs)
        return sign * values.data

    fn.__name__ = loss_fn.__name__
    fn.__doc__ = f"``{'-' if sign < 0 else ''}minicnn.losses.{loss_fn.__name__}`` as a NumPy metric function."
    return fn
