"""Hinge metrics (keras/src/metrics/hinge_metrics.py): the hinge losses' functions, averaged."""

from minicnn import losses
from minicnn.metrics.base import _wrapper_class, from_loss

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge", "hinge", "squared_hinge", "categorical_hinge"]

hinge = from_loss(losses.hinge)
squared_hinge = from_loss(losses.squared_hinge)
categorical_hinge = from_loss(losses.categorical_hinge)

Hinge = _wrapper_class("Hinge", hinge, "hinge", "Mean of ``max(1 - y_true * y_pred, 0)`` (labels {0, 1} -> {-1, 1}).")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              "Mean of ``max(1 - y_true * y_pred, 0)**2`` (labels {0, 1} -> {-1, 1}).")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                  "Mean of ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.")
