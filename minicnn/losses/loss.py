"""The ``Loss`` base class and Keras 3's reductions (keras/src/losses/loss.py).

A loss object maps ``(y_true, y_pred, sample_weight=None)`` to a scalar Tensor: ``call`` gives the
per-sample losses, then, with ``w`` the sample weight (and mask):

- ``"sum_over_batch_size"`` (default) and ``"mean"``: ``sum(w * loss) / number of loss values``
- ``"mean_with_sample_weight"``: ``sum(w * loss) / sum(w)`` (0 when ``sum(w)`` is 0)
- ``"sum"``: ``sum(w * loss)``; ``"none"``/None: the weighted per-sample Tensor.

A mask (a boolean ``_keras_mask`` attribute on ``y_pred`` or on the per-sample losses, as
``ignore_class`` sets) multiplies the weights; under ``"sum_over_batch_size"``/``"mean"`` it is
scaled by ``total / valid`` so that masked-out values leave the mean instead of counting as 0.
"""

import re

import numpy as np

from minicnn.autograd import Tensor

__all__ = ["Loss", "REDUCTIONS", "reduce_weighted", "keras_mask"]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


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
        in_mask = keras_mask(y_pred)
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = Tensor(np.asarray(values))
        out_mask = keras_mask(values)
        if in_mask is not None and out_mask is not None:
            mask = np.logical_and(in_mask, out_mask)
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted(values, sample_weight, self.reduction, mask=mask)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _default_name(class_name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def keras_mask(x):
    """The boolean mask a Tensor carries as ``_keras_mask`` (Keras' convention), or None."""
    mask = getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None
    return None if mask is None else np.asarray(getattr(mask, "data", mask)).astype(bool, copy=False)


def _same_rank(x, w):
    """Keras' squeeze_or_expand_to_same_rank(x, w): fix a rank difference of one trailing 1."""
    if x.ndim == w.ndim + 1 and x.shape[-1] == 1:
        if w.ndim == 1:
            w = w[..., None]
        elif w.ndim:
            x = x.reshape(x.shape[:-1])
    elif w.ndim == x.ndim + 1 and w.shape[-1] == 1:
        if x.ndim == 1:
            x = x.reshape(x.shape + (1,))
        else:
            w = w[..., 0]
    return x, w


def _weights_for(values, w, what):
    """``values`` and ``w`` made to multiply: Keras' rank fix, then per-sample weights of lower
    rank line up with the leading axes (a weight per sample, not per last-axis entry)."""
    values, w = _same_rank(values, w)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim < values.ndim and w.shape == tuple(values.shape[: w.ndim]):
        w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    try:
        np.broadcast_shapes(w.shape, tuple(values.shape))
    except ValueError:
        raise ValueError(f"{what} shape {w.shape} does not match the per-sample losses shape "
                         f"{tuple(values.shape)}") from None
    if w.ndim > values.ndim:
        raise ValueError(f"{what} shape {w.shape} has more axes than the per-sample losses "
                         f"{tuple(values.shape)}")
    return values, w


def _merge_mask(sample_weight, mask, values, reduction):
    """Keras' apply_mask: the mask becomes (part of) the weights; under the averaging reductions
    it is scaled by total/valid, so the mean runs over the valid values only."""
    if mask is None:
        return sample_weight
    m = np.asarray(mask).astype(values.dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = m.sum()
        m = m * (m.size / valid if valid else 0.0)
    if sample_weight is None:
        return m
    m, w = _weights_for(m, sample_weight, "sample_weight")
    return m * w


def reduce_weighted(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Keras 3's reduce_weighted_values: weight (and mask) the per-sample loss ``values`` (a
    Tensor), then reduce.  ``mask`` defaults to the mask ``values`` carries.

    One difference from Keras: an empty batch reduces to 0 (Keras returns the empty tensor), so
    that a scalar loss can always be differentiated.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if mask is None:
        mask = keras_mask(values)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight)
        w = w.astype(values.dtype, copy=False)
    w = _merge_mask(w, mask, values, reduction)
    if w is not None:
        values, w = _weights_for(values, w, "sample_weight" if mask is None else "sample_weight x mask")
        values = values * w
    if reduction in ("none", None) or values.ndim == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and w is not None:
        denom = float(w.sum())
        return total / denom if denom else total * 0.0
    return total / values.size if values.size else total * 0.0
