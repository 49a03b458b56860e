"""Lambda: wrap an expression (``Lambda(lambda x: x ** 2)``) as a layer.

Saving.  A *named* function is saved by name and found again through ``custom_objects`` or
``register_serializable``, as any Keras function.  A Python *lambda* has no name: Keras saves its
bytecode (marshal) and refuses to load it unless ``safe_mode=False``.  minicnn does the same
refusing, but never stores code objects: it saves the lambda's **source text** (recovered with
``inspect``/``ast``) plus the plain values (numbers, strings, lists) it closes over, and with
``safe_mode=False`` rebuilds it by evaluating that text.  The names it reads from outside are
saved too: plain values (numbers, strings, lists) by value, modules and importable functions by
module and name; ``keras``/``minicnn``, ``ops``, ``layers``, ``np`` and the custom objects in
scope are always available.  A lambda whose source is unavailable (typed at a bare ``python``
prompt, built with ``exec``), or which uses other objects not given in ``custom_objects``,
cannot be rebuilt; loading says so, naming the layer.
"""

import ast
import importlib
import inspect
import linecache
import types

import numpy as np

import minicnn
from minicnn import serialization
from minicnn.layers._shapes import _is_basic, _is_shape, map_shapes
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Lambda"]

_UNSAFE_MESSAGE = (
    "Requested the deserialization of a Lambda layer whose function is a Python lambda. This "
    "carries a potential risk of arbitrary code execution and thus it is disallowed by default. "
    "If you trust the source of the file, pass safe_mode=False to the loading function, or call "
    "minicnn.serialization.enable_unsafe_deserialization().")


def _is_lambda(fn):
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def _signature(code):
    """What survives compiling a lambda's text on its own: its arguments and the names it uses
    (free variables of the original become globals of the recompiled text)."""
    return code.co_argcount, code.co_varnames, tuple(sorted(set(code.co_names) | set(code.co_freevars)))


def _lambda_source(fn):
    """The source text of the lambda ``fn``, or None when it cannot be pinned down."""
    code = fn.__code__
    text = "".join(linecache.getlines(code.co_filename))
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    matches = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            segment = ast.get_source_segment(text, node)
            compiled = compile(segment, "<lambda>", "eval")
            inner = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
            if _signature(inner) == _signature(code):
                matches.append(segment)
    return matches[0] if len(set(matches)) == 1 else None


def _free_names(source):
    """Names the lambda's body reads that it does not bind itself."""
    tree = ast.parse(source, mode="eval")
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(loaded - bound)


def _outside_values(fn, names):
    """Where each free name of ``fn`` comes from: ``values`` (plain data: numbers, strings,
    lists), ``imports`` (modules, and functions/classes importable by module and name) and
    ``missing`` (anything else: it must come from ``custom_objects`` when loading)."""
    cells = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    values, imports, missing = {}, {}, []
    for name in names:
        if name in cells:
            obj = cells[name]
        elif name in fn.__globals__:
            obj = fn.__globals__[name]
        else:
            continue  # a builtin
        if isinstance(obj, types.ModuleType):
            imports[name] = obj.__name__
        elif _is_basic(obj):
            values[name] = obj
        elif (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ != "__main__" \
                and "<" not in obj.__qualname__:
            imports[name] = f"{obj.__module__}:{obj.__qualname__}"
        else:
            missing.append(name)
    return values, imports, missing


def _serialize_function(fn):
    if _is_lambda(fn):
        source = _lambda_source(fn)
        names = _free_names(source) if source is not None else []
        values, imports, missing = _outside_values(fn, names)
        return {"class_name": "__lambda__",
                "config": {"source": source, "values": values, "imports": imports, "missing": missing}}
    if callable(fn):
        return serialization.serialize(fn)
    raise TypeError(f"Lambda: expected a callable, got {fn!r} of type {type(fn).__name__}")


def _resolve(target):
    module, _, qualname = target.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, qualname.split(".")):
        obj = getattr(obj, part)
    return obj


def _deserialize_function(config, what, layer_name, custom_objects, safe_mode):
    if not (isinstance(config, dict) and config.get("class_name") == "__lambda__"):
        return serialization.deserialize(config, custom_objects=custom_objects)
    if safe_mode:
        raise ValueError(_UNSAFE_MESSAGE)
    inner = config.get("config", {})
    where = f"Lambda layer {layer_name!r}: the {what} lambda cannot be rebuilt"
    if inner.get("source") is None:
        raise ValueError(f"{where}: its source text was not available when it was saved (typed at a "
                         "bare prompt or built with exec). Use a named function, found through "
                         "custom_objects, instead.")
    scope = {"keras": minicnn, "minicnn": minicnn, "ops": minicnn.ops, "layers": minicnn.layers,
             "np": np, "numpy": np}
    scope.update({name: _resolve(target) for name, target in inner.get("imports", {}).items()})
    scope.update(inner.get("values", {}))
    scope.update(serialization.scoped_custom_objects())
    scope.update(custom_objects or {})
    unresolved = [n for n in inner.get("missing", []) if n not in scope]
    if unresolved:
        raise ValueError(f"{where}: it uses {unresolved}, which were not plain values or importable "
                         "when it was saved; pass them in custom_objects")
    return eval(inner["source"], scope)  # noqa: S307 - only with safe_mode=False, as Keras


def _serialize_arguments(arguments):
    return {k: v if _is_basic(v) else serialization.serialize(v) for k, v in arguments.items()}


def _deserialize_arguments(arguments, custom_objects):
    return {k: serialization.deserialize(v, custom_objects=custom_objects)
            if isinstance(v, dict) and "class_name" in v else v for k, v in arguments.items()}


@register_builtin("minicnn.layers")
class Lambda(Layer):
    """``function(inputs, **arguments)`` as a layer (``training`` is passed when the function
    takes it).  ``output_shape``: the output shape without the batch axis, or a function of the
    input shape; by default it is found by running the function.  ``mask`` must be None: minicnn
    has no masks.

    >>> import numpy as np
    >>> from minicnn.layers import Lambda
    >>> Lambda(lambda x, power: x ** power, arguments={"power": 3})(np.array([2.0])).numpy()
    array([8.], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        if mask is not None:
            raise ValueError("Lambda: mask is not supported (minicnn has no masks); pass mask=None")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self.mask = None
        params = inspect.signature(function).parameters
        self._pass_training = "training" in params
        self.built = True

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if self._pass_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = (input_shape if _is_shape(input_shape) else input_shape[0])[0]
        structure = tuple(self._output_shape) if isinstance(self._output_shape, list) and all(
            d is None or isinstance(d, int) for d in self._output_shape) else self._output_shape
        return map_shapes(lambda s: (batch,) + tuple(s), structure)

    def get_config(self):
        config = super().get_config()
        config["function"] = _serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_function(self._output_shape) if callable(self._output_shape)
                                      else self._output_shape)
        config["arguments"] = _serialize_arguments(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild; a lambda needs ``safe_mode=False`` (or an unsafe :class:`SafeModeScope`)."""
        config = dict(config)
        if safe_mode is None:
            safe_mode = serialization.in_safe_mode()
        safe = safe_mode is not False  # unset counts as safe, as in Keras
        name = config.get("name")
        config["function"] = _deserialize_function(config["function"], "function", name, custom_objects, safe)
        shape = config.get("output_shape")
        if isinstance(shape, dict):
            config["output_shape"] = _deserialize_function(shape, "output_shape", name, custom_objects, safe)
        elif isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            config["output_shape"] = tuple(shape)
        if "arguments" in config:
            config["arguments"] = _deserialize_arguments(config["arguments"] or {}, custom_objects)
        return cls(**config)
