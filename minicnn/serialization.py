"""The one registry of serialisable objects: layers, models, initializers, regularizers,
activations, optimizers, losses, metrics, callbacks.

An object serialises to a plain dict (JSON-safe when its config is)::

    {"module": "minicnn.layers", "class_name": "Dense",
     "config": {...}, "registered_name": None}

``registered_name`` is ``None`` for minicnn's own objects and ``"Package>Name"`` for user classes
registered with :func:`register_serializable`.  :func:`deserialize` looks a name up in
``custom_objects``, then the user registry, then minicnn's built-ins.

>>> import minicnn
>>> from minicnn import serialization
>>> d = serialization.serialize(minicnn.layers.Dense(3, name="d"))
>>> d["class_name"], d["config"]["units"]
('Dense', 3)
>>> layer = serialization.deserialize(d)
>>> type(layer).__name__, layer.name, layer.units
('Dense', 'd', 3)
"""

import contextlib
import importlib
import inspect
import threading

import numpy as np

from minicnn.autograd import Tensor

__all__ = [
    "register_serializable", "register_builtin", "serialize", "deserialize",
    "get_registered_name", "get_registered_object", "custom_object_scope",
    "get_custom_objects", "get_builtin_objects", "SafeModeScope", "in_safe_mode",
    "enable_unsafe_deserialization", "scoped_custom_objects", "resolve_class",
]

# "Package>Name" -> class or function registered by users.
_CUSTOM = {}
# class/function -> "Package>Name" (the reverse map).
_CUSTOM_NAMES = {}
# minicnn's own objects: (module, name) -> object, and name -> object for short lookups.
_BUILTINS = {}
_BUILTIN_BY_NAME = {}
# Modules that register built-ins on import; deserialize imports them on demand so that
# a config naming "minicnn.optimizers" works even if the caller never imported it.
_BUILTIN_MODULES = (
    "minicnn.activations", "minicnn.initializers", "minicnn.regularizers", "minicnn.constraints",
    "minicnn.layers",
    "minicnn.models", "minicnn.optimizers", "minicnn.losses", "minicnn.metrics",
    "minicnn.callbacks",
)


class _Scope(threading.local):
    def __init__(self):
        self.stack = []
        self.safe_mode = []  # the SafeModeScope values in force, innermost last


_scope = _Scope()
_unsafe_enabled = False


class SafeModeScope:
    """``with SafeModeScope(safe_mode):`` sets what :func:`in_safe_mode` answers inside the block
    (``load_model(..., safe_mode=...)`` enters one).  Safe mode refuses to rebuild objects that
    carry code, such as a ``Lambda`` layer's Python lambda."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        _scope.safe_mode.append(self.safe_mode)
        return self

    def __exit__(self, *exc):
        _scope.safe_mode.pop()


def in_safe_mode():
    """False after :func:`enable_unsafe_deserialization`; else the innermost
    :class:`SafeModeScope`'s value, or None outside any (callers treat None as safe)."""
    if _unsafe_enabled:
        return False
    return _scope.safe_mode[-1] if _scope.safe_mode else None


def enable_unsafe_deserialization():
    """Allow code-carrying objects (``Lambda`` layers' lambdas) to be rebuilt everywhere, for this
    process (Keras' ``keras.config.enable_unsafe_deserialization``).  Only for trusted files."""
    global _unsafe_enabled
    _unsafe_enabled = True


def scoped_custom_objects():
    """The custom objects of the active :func:`custom_object_scope` blocks, inner ones winning."""
    merged = {}
    for scope in _scope.stack:
        merged.update(scope)
    return merged


def register_serializable(package="Custom", name=None):
    """Decorator registering a user class or function as ``"package>name"``.

    Registered objects deserialise without ``custom_objects``.  The class needs
    ``get_config()`` (its ``from_config`` defaults to ``cls(**config)``).

    >>> from minicnn import serialization, layers
    >>> @serialization.register_serializable(package="Doc")
    ... class Twice(layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
    >>> serialization.get_registered_name(Twice)
    'Doc>Twice'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"package must be a string without '>', got {package!r}")

    def decorator(obj):
        reg_name = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"cannot register {obj.__name__}: a serialisable class needs a get_config() method")
        _CUSTOM[reg_name] = obj
        _CUSTOM_NAMES[obj] = reg_name
        return obj

    return decorator


def register_builtin(module, name=None):
    """Decorator registering one of minicnn's own classes/functions under ``module``.

    Used by the optimizers, losses, metrics and callbacks packages::

        @register_builtin("minicnn.optimizers")
        class Adam(Optimizer): ...

    ``deserialize({"class_name": "Adam", ...})`` then finds it, and ``serialize`` writes
    ``"module": "minicnn.optimizers"``.  ``name`` adds an alias (e.g. a snake_case string name).
    """

    def decorator(obj):
        key = name or obj.__name__
        _BUILTINS[(module, key)] = obj
        _BUILTIN_BY_NAME.setdefault(key, obj)
        if name is None:
            obj._minicnn_module = module
        return obj

    return decorator


def get_registered_name(obj):
    """``"Package>Name"`` for a registered user object, else its class/function name."""
    if obj in _CUSTOM_NAMES:
        return _CUSTOM_NAMES[obj]
    return obj.__name__


def get_custom_objects():
    """The live dict of user-registered objects ("Package>Name" -> object)."""
    return _CUSTOM


def get_builtin_objects(module=None):
    """minicnn's registered built-ins, optionally only those of one module (name -> object)."""
    _import_builtin_modules()
    return {k[1]: v for k, v in _BUILTINS.items() if module is None or k[0] == module}


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Make ``custom_objects`` (name -> object) visible to :func:`deserialize` inside a block."""
    _scope.stack.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _scope.stack.pop()


def get_registered_object(name, custom_objects=None, module=None):
    """Look ``name`` up: ``custom_objects``, active scopes, user registry, built-ins."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_scope.stack):
        if name in scope:
            return scope[name]
    if name in _CUSTOM:
        return _CUSTOM[name]
    _import_builtin_modules()
    if module is not None and (module, name) in _BUILTINS:
        return _BUILTINS[(module, name)]
    return _BUILTIN_BY_NAME.get(name)


def resolve_class(config, builtin, custom_objects=None, kind="object"):
    """The class a serialized dict names, for a family's own ``deserialize`` (optimizers,
    schedules, losses, metrics): ``custom_objects``, then the family's ``builtin`` dict
    (name -> class), then the registry.  ``kind`` names the family in the error."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize {kind}: expected a dict with 'class_name', got {config!r}")
    names = [name for name in (config.get("registered_name"), config["class_name"]) if name]
    for name in names:
        if custom_objects and name in custom_objects:
            return custom_objects[name]
    for name in names:
        if name in builtin:
            return builtin[name]
    for name in names:
        obj = get_registered_object(name, custom_objects)
        if obj is not None:
            return obj
    raise ValueError(
        f"Unknown {kind} {config['class_name']!r}. Pass it in custom_objects={{...}} or register it "
        "with @minicnn.serialization.register_serializable().")


def _import_builtin_modules():
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def serialize(obj):
    """Turn a serialisable object into its config dict (``None`` stays ``None``).

    Plain Python values (numbers, strings, lists, dicts) pass through unchanged, and so does
    everything inside a ``get_config()``: a layer (or initializer, loss, ...) that a config holds
    becomes its own nested dict, as in Keras, which ``deserialize`` turns back into the object.
    Arrays become ``{"class_name": "__numpy__", ...}`` (``"__tensor__"`` for Tensors), numpy
    scalars plain numbers, bytes, slices and ``...`` Keras' special dicts.  Functions serialise
    by name.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [serialize(o) for o in obj]
    if isinstance(obj, tuple):  # kept, as Keras does (JSON writes a list)
        return tuple(serialize(o) for o in obj)
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    special = _serialize_value(obj)
    if special is not None:
        return special
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        registered = _CUSTOM_NAMES.get(obj)
        return {
            "module": getattr(obj, "_minicnn_module", obj.__module__),
            "class_name": "function",
            "config": obj.__name__,
            "registered_name": registered or "function",
        }
    if inspect.isclass(obj):
        raise TypeError(f"cannot serialize the class {obj.__name__}; serialize an instance")
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"cannot serialize {obj!r} of type {type(obj).__name__}: it has no get_config()")
    cls = type(obj)
    out = {
        "module": _class_module(cls),
        "class_name": cls.__name__,
        "config": _config_of(obj),
        "registered_name": _CUSTOM_NAMES.get(cls),
    }
    build_config = getattr(obj, "get_build_config", None)
    if build_config is not None:
        bc = build_config()
        if bc is not None:
            out["build_config"] = bc
    return out


def _config_of(obj):
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"{type(obj).__name__}.get_config() must return a dict, "
                        f"got {type(config).__name__}")
    return serialize(config)


def _serialize_value(obj):
    """Keras' encodings of the non-object values a config may hold, or None."""

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (np.ndarray, Tensor)):
        array = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot serialize an array of dtype {array.dtype}")
        if array.ndim == 0 and not isinstance(obj, Tensor):
            return array.item()
        return {"class_name": "__tensor__" if isinstance(obj, Tensor) else "__numpy__",
                "config": {"value": array.tolist(), "dtype": str(array.dtype)}}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize(obj.start), "stop": serialize(obj.stop), "step": serialize(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    return None


def _deserialize_special(class_name, inner):
    """The values :func:`_serialize_value` encodes (the caller checked ``class_name``)."""

    if class_name in ("__numpy__", "__tensor__"):
        dtype = np.dtype(inner["dtype"])
        if dtype.kind not in "biuf":
            raise ValueError(f"{class_name}: dtype must be numeric, got {dtype}")
        array = np.array(inner["value"], dtype=dtype)
        if class_name == "__numpy__":
            return array
        return Tensor(array)
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__slice__":
        return slice(inner.get("start"), inner.get("stop"), inner.get("step"))
    return Ellipsis


_SPECIAL = ("__numpy__", "__tensor__", "__bytes__", "__slice__", "__ellipsis__")


def _deserialize_nested(value, custom_objects):
    if isinstance(value, dict):
        return deserialize(value, custom_objects)
    if isinstance(value, list):
        return [_deserialize_nested(v, custom_objects) for v in value]
    return value


def _class_module(cls):
    mod = cls.__dict__.get("_minicnn_module")
    if mod is not None:
        return mod
    return cls.__module__


def deserialize(config, custom_objects=None, module=None):
    """Rebuild an object from :func:`serialize`'s dict (or a registered name string).

    ``module`` narrows string look-ups (e.g. ``"minicnn.initializers"`` so that ``"zeros"``
    means the initializer).  Unknown names raise ``ValueError`` naming what was asked for.
    """
    if config is None:
        return None
    if isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects, module)
        if obj is None:
            raise ValueError(f"unknown object name {config!r}"
                             + (f" in {module}" if module else "")
                             + "; register it with register_serializable or pass custom_objects")
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, (list, tuple)):
        return [deserialize(c, custom_objects, module) for c in config]
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict with 'class_name' (from serialize()), got {config!r}")
    if "class_name" not in config or "config" not in config:
        # A plain dict (a config's dict-valued argument): its serialized objects are rebuilt,
        # other values kept, as Keras does.
        return {k: _deserialize_nested(v, custom_objects) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config.get("config", {})
    if inner is None:
        inner = {}
    if class_name in _SPECIAL:
        try:
            return _deserialize_special(class_name, inner)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed {class_name} config {inner!r} ({exc})") from None
    if class_name == "function":
        name = config.get("registered_name")
        if not name or name == "function":
            name = inner
        fn = get_registered_object(name, custom_objects, config.get("module"))
        if fn is None:
            fn = get_registered_object(inner, custom_objects, config.get("module"))
        if fn is None:
            raise ValueError(f"unknown function {inner!r} (module {config.get('module')!r})")
        return fn
    reg = config.get("registered_name")
    cls = None
    if reg:
        cls = get_registered_object(reg, custom_objects)
    if cls is None:
        cls = get_registered_object(class_name, custom_objects, config.get("module") or module)
    if cls is None:
        raise ValueError(
            f"unknown class {class_name!r} (registered_name={reg!r}, module={config.get('module')!r}); "
            "register it with minicnn.serialization.register_serializable or pass custom_objects")
    with custom_object_scope(custom_objects or {}):
        if hasattr(cls, "from_config"):
            obj = cls.from_config(inner)
        else:
            obj = cls(**inner)
        bc = config.get("build_config")
        if bc is not None and hasattr(obj, "build_from_config"):
            obj.build_from_config(bc)
    return obj
