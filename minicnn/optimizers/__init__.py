"""Optimizers (Keras 3 names, defaults and update formulas) and learning-rate schedules.

>>> import minicnn
>>> opt = minicnn.optimizers.get("adam")
>>> type(opt).__name__, opt.learning_rate
('Adam', 0.001)
"""

import inspect

from minicnn.optimizers import schedules
from minicnn.optimizers.adadelta import Adadelta
from minicnn.optimizers.adagrad import Adagrad
from minicnn.optimizers.adam import Adam, AdamW
from minicnn.optimizers.adamax import Adamax
from minicnn.optimizers.base import Optimizer
from minicnn.optimizers.ftrl import Ftrl
from minicnn.optimizers.lamb import Lamb
from minicnn.optimizers.lion import Lion
from minicnn.optimizers.nadam import Nadam
from minicnn.optimizers.rmsprop import RMSprop
from minicnn.optimizers.sgd import SGD
from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
           "Lion", "Ftrl", "Lamb", "schedules", "get", "serialize", "deserialize"]

_BUILTIN = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax,
                                          Nadam, Lion, Ftrl, Lamb)}
# Keras looks built-in optimizers up by their lower-cased class names, in strings and in dicts.
_ALIASES = {name.lower(): cls for name, cls in _BUILTIN.items()}


def serialize(optimizer):
    """``{"module", "class_name", "config", "registered_name"}`` for an optimizer."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize: expected an Optimizer, got {type(optimizer).__name__}")
    return _serialize(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from ``serialize``'s dict (``custom_objects`` for user classes); a
    built-in's ``class_name`` may be in any case (``"adamw"``), as in Keras."""
    cls = resolve_class(config, {**_BUILTIN, **_ALIASES}, custom_objects, "optimizer")
    return cls.from_config(dict(config.get("config", {})), custom_objects=custom_objects) \
        if _takes_custom_objects(cls) else cls.from_config(dict(config.get("config", {})))


def _takes_custom_objects(cls):
    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False


def get(identifier):
    """An optimizer from a name (``"adam"``), a config dict, or an Optimizer (returned as is);
    None gives None."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}; known: {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"Could not interpret optimizer identifier: {identifier!r}")


def _register():
    # Let minicnn.serialization.deserialize find these classes by name (e.g. inside model configs).
    for cls in _BUILTIN.values():
        register_builtin("minicnn.optimizers")(cls)
    for cls in schedules._BUILTIN.values():
        register_builtin("minicnn.optimizers.schedules")(cls)


_register()
