"""Activation functions by name, as in ``keras.activations``.

Each function takes a Tensor (or ndarray) and returns a Tensor in the autograd graph.
:func:`get` turns a string, a serialised dict, a callable or ``None`` into a function.

>>> import numpy as np
>>> from minicnn import activations
>>> activations.get("relu")(np.array([-1.0, 2.0])).data
array([0., 2.])
>>> activations.serialize(activations.get("relu"))
'relu'
>>> activations.get(None) is activations.linear
True
"""

from minicnn import ops
from minicnn.autograd import Tensor
from minicnn.serialization import register_builtin, serialize as _serialize, deserialize as _deserialize

_MODULE = "minicnn.activations"
__all__ = [
    "get", "serialize", "deserialize", "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid",
    "tanh", "softplus", "softmax", "log_softmax", "swish", "silu",
]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


@register_builtin(_MODULE)
def linear(x):
    """Identity: returns ``x`` (as a Tensor)."""
    return _t(x)


@register_builtin(_MODULE)
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``; ``negative_slope`` gives a leaky slope below zero, ``max_value`` caps it."""
    if threshold != 0.0:
        raise ValueError(f"relu: threshold={threshold} is not supported (only 0.0)")
    y = ops.relu(x) if negative_slope == 0.0 else ops.leaky_relu(x, negative_slope)
    if max_value is not None:
        y = y.clip(None, float(max_value))
    return y


@register_builtin(_MODULE)
def leaky_relu(x, negative_slope=0.2):
    """``x`` if ``x > 0`` else ``negative_slope * x`` (Keras' function default is 0.2)."""
    return ops.leaky_relu(x, negative_slope)


@register_builtin(_MODULE)
def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return ops.elu(x, alpha)


@register_builtin(_MODULE)
def gelu(x, approximate=False):
    """Gaussian error linear unit."""
    return ops.gelu(x, approximate=approximate)


@register_builtin(_MODULE)
def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return ops.sigmoid(x)


@register_builtin(_MODULE)
def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


@register_builtin(_MODULE)
def softplus(x):
    """``log(1 + exp(x))``."""
    return ops.softplus(x)


@register_builtin(_MODULE)
def softmax(x, axis=-1):
    """Normalised exponentials along ``axis``."""
    return ops.softmax(x, axis=axis)


@register_builtin(_MODULE)
def log_softmax(x, axis=-1):
    """``log(softmax(x))`` computed stably."""
    return ops.log_softmax(x, axis=axis)


@register_builtin(_MODULE)
def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    x = _t(x)
    return x * ops.sigmoid(x)


swish = silu
register_builtin(_MODULE, name="swish")(silu)

_ALL = {f.__name__: f for f in (linear, relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus,
                                softmax, log_softmax, silu)}
_ALL["swish"] = silu


def serialize(activation):
    """A built-in activation serialises to its name; user functions to a registry dict."""
    if activation is None:
        return "linear"
    if getattr(activation, "__name__", None) in _ALL and _ALL[activation.__name__] is activation:
        return activation.__name__
    return _serialize(activation)


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`."""
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        if config in _ALL:
            return _ALL[config]
    obj = _deserialize(config, custom_objects=custom_objects, module=_MODULE)
    if not callable(obj):
        raise ValueError(f"activation config {config!r} did not give a callable")
    return obj


def get(identifier):
    """A callable activation from a name, a config dict, a callable, or ``None`` (linear).

    Raises ``ValueError`` for an unknown name, ``TypeError`` for anything else.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier in _ALL:
            return _ALL[identifier]
        try:
            return deserialize(identifier)
        except ValueError:
            raise ValueError(
                f"activation: unknown name {identifier!r}; known: {sorted(_ALL)}") from None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a string, a callable or None, got {identifier!r}")
