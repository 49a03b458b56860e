"""Weight regularizers, as in ``keras.regularizers``.

A regularizer maps a weight Tensor to a scalar penalty Tensor; layers collect the penalties of
their weights in ``layer.losses`` / ``model.losses`` and training adds them to the loss.

>>> import numpy as np
>>> from minicnn import regularizers
>>> from minicnn.autograd import Tensor
>>> w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
>>> float(regularizers.L1L2(l1=0.1, l2=0.5)(w).data)
2.8
>>> regularizers.get("l2").get_config()
{'l2': 0.01}
"""

from minicnn.serialization import register_builtin, serialize as _serialize, deserialize as _deserialize

_MODULE = "minicnn.regularizers"
__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def _factor(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if value < 0 or value != value:
        raise ValueError(f"{name} must be a non-negative number, got {value}")
    return value


class Regularizer:
    """Base class: ``__call__(weight) -> scalar Tensor`` plus ``get_config``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register_builtin(_MODULE)
class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01):
        self.l1 = _factor("l1", l1)

    def __call__(self, x):
        return self.l1 * abs(x).sum()

    def get_config(self):
        return {"l1": self.l1}


@register_builtin(_MODULE)
class L2(Regularizer):
    """``l2 * sum(x ** 2)``."""

    def __init__(self, l2=0.01):
        self.l2 = _factor("l2", l2)

    def __call__(self, x):
        return self.l2 * (x * x).sum()

    def get_config(self):
        return {"l2": self.l2}


@register_builtin(_MODULE)
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)

    def __call__(self, x):
        out = None
        if self.l1:
            out = self.l1 * abs(x).sum()
        if self.l2 or out is None:
            sq = self.l2 * (x * x).sum()
            out = sq if out is None else out + sq
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


# Keras exports these lowercase names as the classes.
l1, l2, l1_l2 = L1, L2, L1L2
_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def serialize(regularizer):
    """Config dict of a regularizer."""
    return _serialize(regularizer)


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also accepts "l1", "l2", "l1_l2"."""
    if isinstance(config, str) and config in _ALIASES:
        return _ALIASES[config]()
    return _deserialize(config, custom_objects=custom_objects, module=_MODULE)


def get(identifier):
    """A regularizer from a name, a config dict, an instance/callable, or ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"regularizer must be a string, a dict or a callable, got {identifier!r}")
