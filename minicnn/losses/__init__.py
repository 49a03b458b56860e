"""Losses: Keras 3 classes, function forms, string names and reductions, built on the
differentiable ``minicnn.ops``.

``Loss`` and the reductions are in :mod:`minicnn.losses.loss`, the per-sample functions in
:mod:`minicnn.losses.functions`, the classes in :mod:`minicnn.losses.classes`.  The
cross-entropies compute from the logits when ``y_pred`` came out of a ``softmax``/``sigmoid``, so
a softmax output layer never gives NaN.

>>> import numpy as np
>>> import minicnn
>>> loss = minicnn.losses.MeanSquaredError()
>>> float(loss(np.array([[1.0], [2.0]]), minicnn.Tensor(np.array([[1.0], [4.0]]))))
2.0
"""

from minicnn.losses.classes import *  # noqa: F401,F403
from minicnn.losses.classes import __all__ as _classes_all
from minicnn.losses.functions import *  # noqa: F401,F403
from minicnn.losses.functions import __all__ as _functions_all
from minicnn.losses import classes as _C, functions as _F
from minicnn.losses.loss import REDUCTIONS, Loss, keras_mask, reduce_weighted
from minicnn.serialization import register_builtin, resolve_class, serialize as _serialize

__all__ = ["Loss", "REDUCTIONS", "reduce_weighted", "keras_mask", *_classes_all, *_functions_all,
           "mse", "mae", "mape", "msle", "kld", "MSE", "MAE", "MAPE", "MSLE", "KLD", "bce", "BCE",
           "get", "serialize", "deserialize"]

# Keras' short aliases (keras/src/losses/__init__.py ALL_OBJECTS_DICT)
mse = MSE = _F.mean_squared_error
mae = MAE = _F.mean_absolute_error
mape = MAPE = _F.mean_absolute_percentage_error
msle = MSLE = _F.mean_squared_logarithmic_error
kld = KLD = _F.kl_divergence
bce = BCE = _F.binary_crossentropy

_CLASSES = {name: getattr(_C, name) for name in _classes_all if name != "LossFunctionWrapper"}
_FUNCTIONS = {name: getattr(_F, name) for name in _functions_all if name != "EPSILON"}
_FUNCTIONS.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape,
                   "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld, "bce": bce, "BCE": bce,
                   "huber_loss": _F.huber})
# A string names the matching class (so that compile() reports the class' name); each function
# name maps to the class that wraps it.
_STRING_TO_CLASS = {fn_name: cls for cls in _CLASSES.values()
                    for fn_name, fn in _FUNCTIONS.items() if getattr(cls(), "fn", None) is fn}


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
        if type(loss) is _C.LossFunctionWrapper:
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
        return _C.LossFunctionWrapper(fn, **cfg)
    cls = resolve_class(config, _CLASSES, custom_objects, "loss")
    return cls.from_config(dict(config.get("config", {})))


def _register():
    for cls in _CLASSES.values():
        register_builtin("minicnn.losses")(cls)
    for name, fn in _FUNCTIONS.items():
        if name == fn.__name__:
            register_builtin("minicnn.losses")(fn)


_register()
