"""How a layer is built: the wrapper every ``build`` gets, and which shapes a first call hands to
``build`` (or to ``compute_output_shape``) when the layer takes several tensor arguments.

Keras' rule for the shapes: a ``build`` with one parameter receives the first tensor argument's
shape; a ``build(self, logits_shape, targets_shape)`` receives each call argument's shape by the
argument's name plus ``_shape``.
"""

import functools
import inspect

from minicnn.layers._shapes import _shape_tree
from minicnn.layers._weights import structure_changed
from minicnn.variables import current_path, name_scope

__all__ = ["wrap_build", "call_shapes", "shape_arguments", "first_parameter"]


def _as_shapes(value):
    """A shape structure with tuples for shapes (a build() argument may be a list), or the value
    unchanged when it is not one."""
    try:
        return _shape_tree(value)
    except TypeError:
        return value


def wrap_build(build):
    """``build`` that marks the layer built, records its input shapes (``get_build_config``) and
    opens the layer's name scope (its variables' paths), as Keras 3 wraps every layer's build:
    after ``layer.build(shape)`` the first call does not build again, so weights set between the
    two are the ones used.  A ``super().build()`` inside a wrapped build runs unwrapped."""
    if getattr(build, "_minicnn_wrapped", False):
        return build

    @functools.wraps(build)
    def build_wrapper(self, *args, **kwargs):
        if self.__dict__.get("_building"):
            return build(self, *args, **kwargs)
        shapes = inspect.signature(build).bind(self, *args, **kwargs).arguments
        shapes.pop(next(iter(shapes)))  # self
        shapes = {k: _as_shapes(v) for k, v in shapes.items()}
        s = object.__setattr__
        s(self, "_build_shapes_dict", shapes)
        s(self, "_build_input_shape", next(iter(shapes.values()), None))
        s(self, "_building", True)
        try:
            with name_scope(self.name, caller=self):
                s(self, "_path", current_path())
                out = build(self, *args, **kwargs)
        finally:
            s(self, "_building", False)
        s(self, "built", True)
        # What a build attaches besides weights (sub-layers, metrics) is listed by the models'
        # caches too, which this invalidates.
        structure_changed()
        return out

    build_wrapper._minicnn_wrapped = True
    return build_wrapper


_FIRST = {}


def first_parameter(fn):
    """The name of ``fn``'s first parameter after ``self`` (a layer's ``call``), or None."""
    if fn not in _FIRST:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
        _FIRST[fn] = params[0].name if params else None
    return _FIRST[fn]


def call_shapes(call, layer, args, kwargs, is_tensor, shape_of):
    """``{"<argument>_shape": shape structure}`` for every argument of ``call(*args, **kwargs)``
    that holds tensors, in the order of ``call``'s parameters."""
    params = inspect.signature(call).parameters
    try:
        bound = inspect.signature(call).bind(layer, *args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f'layer "{layer.name}" ({type(layer).__name__}): the call does not match '
                        f"call()'s signature ({exc})") from None
    shapes = {}
    for i, (name, value) in enumerate(bound.items()):
        if i == 0:
            continue  # self
        if params[name].kind == params[name].VAR_POSITIONAL:
            value = list(value)
        if params[name].kind == params[name].VAR_KEYWORD:
            for k, v in value.items():
                if _holds(v, is_tensor):
                    shapes[f"{k}_shape"] = _map(v, is_tensor, shape_of)
        elif _holds(value, is_tensor):
            shapes[f"{name}_shape"] = _map(value, is_tensor, shape_of)
    return shapes


def shape_arguments(fn, shapes, layer):
    """The keyword arguments that ``fn`` (``build`` or ``compute_output_shape``) takes from
    ``shapes`` (see :func:`call_shapes`), following Keras: one parameter gets the first shape."""
    names = [p.name for p in inspect.signature(fn).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]
    if len(names) == 1:
        return {names[0]: next(iter(shapes.values()), None)}
    bad = [n for n in names if not n.endswith("_shape") or n not in shapes]
    if bad:
        raise ValueError(
            f'layer "{layer.name}" ({type(layer).__name__}): {fn.__name__}() has parameters {names}; '
            f"with several tensor arguments each must be named after a call() argument plus "
            f"'_shape' (the call gave {sorted(shapes)}), e.g. {fn.__name__}(self, "
            f"{', '.join(shapes)})")
    return {n: shapes[n] for n in names}


def _holds(value, is_tensor):
    if isinstance(value, (list, tuple)):
        return any(_holds(v, is_tensor) for v in value)
    if isinstance(value, dict):
        return any(_holds(v, is_tensor) for v in value.values())
    return is_tensor(value)


def _map(value, is_tensor, fn):
    if isinstance(value, list):
        return [_map(v, is_tensor, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_map(v, is_tensor, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map(v, is_tensor, fn) for k, v in value.items()}
    return fn(value) if is_tensor(value) else value
