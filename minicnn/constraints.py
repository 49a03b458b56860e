"""Weight constraints, as in ``keras.constraints``.

A constraint maps a weight to its projection (``__call__(w) -> array``).  A layer stores its
``kernel_constraint`` / ``bias_constraint`` on the variable (``variable.constraint``) and the
optimizer applies it after every update, as Keras does.  Norms are taken over ``axis``
(``axis=0`` of a Dense kernel: each unit's incoming weights; ``[0, 1, 2]`` of a Conv2D kernel:
each filter).

>>> import numpy as np
>>> from minicnn import constraints
>>> constraints.MaxNorm(max_value=1.0)(np.array([[3.0], [4.0]])).round(4)
array([[0.6],
       [0.8]])
>>> constraints.NonNeg()(np.array([-1.0, 2.0]))
array([0., 2.])
"""

import numbers

import numpy as np

from minicnn.autograd import Tensor
from minicnn.serialization import deserialize as _deserialize, register_builtin, serialize as _serialize

_MODULE = "minicnn.constraints"
# Keras' backend.epsilon(), added to the norms before dividing by them.
_EPSILON = 1e-7
__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm",
           "non_neg", "unit_norm", "get", "serialize", "deserialize"]


def _array(w):
    return np.asarray(w.data if isinstance(w, Tensor) else w)


def _axis(axis):
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(isinstance(a, numbers.Integral) for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(f"axis must be an int or a list of ints, got {axis!r}")


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (``w`` itself here)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register_builtin(_MODULE)
class MaxNorm(Constraint):
    """Scales the weights so that their norm over ``axis`` is at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (_EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@register_builtin(_MODULE)
class MinMaxNorm(Constraint):
    """Scales the weights towards a norm over ``axis`` in ``[min_value, max_value]``: the new
    norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


@register_builtin(_MODULE)
class NonNeg(Constraint):
    """Sets the negative weights to zero."""

    def __call__(self, w):
        return np.maximum(_array(w), 0)


@register_builtin(_MODULE)
class UnitNorm(Constraint):
    """Divides the weights by their norm over ``axis``."""

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


# Keras exports these snake_case names as the classes.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
for _name, _cls in (("max_norm", MaxNorm), ("min_max_norm", MinMaxNorm), ("non_neg", NonNeg),
                    ("unit_norm", UnitNorm)):
    register_builtin(_MODULE, name=_name)(_cls)


def serialize(constraint):
    """Config dict of a constraint."""
    return _serialize(constraint)


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also accepts a name ("max_norm", "NonNeg", ...)."""
    return _deserialize(config, custom_objects=custom_objects, module=_MODULE)


def get(identifier):
    """A constraint from a name, a config dict, a class (instantiated), a callable, or None."""
    if isinstance(identifier, (str, dict)):
        identifier = deserialize(identifier)
    elif isinstance(identifier, type):
        identifier = identifier()
    if identifier is None or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
