"""Shape-structure helpers shared by layers and models.

A *shape* is a tuple of ints/None; a shape *structure* nests shapes in lists/dicts (several
inputs).  Tuples are always leaves here, unlike ``node.map_structure`` over tensors.
"""

import inspect

import numpy as np

_BASIC = (type(None), bool, int, float, str)


def _is_basic(v):
    if isinstance(v, (list, tuple)):
        return all(_is_basic(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_basic(x) for k, x in v.items())
    return isinstance(v, _BASIC)


def _unique(ws):
    seen, out = set(), []
    for w in ws:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


_ACCEPTS = {}


def _accepts(fn, arg):
    try:  # on every layer call: one lookup when known
        return _ACCEPTS[fn, arg]
    except KeyError:
        params = inspect.signature(fn).parameters
        accepted = arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        _ACCEPTS[fn, arg] = accepted
        return accepted


_TRAINING_DEFAULTS = {}


def _training_default(fn):
    """The default of ``fn``'s ``training`` argument when it is a bool, else None (Keras falls
    back to it when neither the caller nor an enclosing call sets ``training``)."""
    if fn not in _TRAINING_DEFAULTS:
        param = inspect.signature(fn).parameters.get("training")
        default = None if param is None else param.default
        _TRAINING_DEFAULTS[fn] = default if isinstance(default, bool) else None
    return _TRAINING_DEFAULTS[fn]


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _is_single_shape(s):
    return _is_shape(s)


def _shape_tree(s):
    """Lists from JSON back to tuples: a shape is a list of ints/None."""
    if isinstance(s, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return tuple(s)
    if isinstance(s, dict):
        return {k: _shape_tree(v) for k, v in s.items()}
    return [_shape_tree(x) for x in s]


def map_shapes(fn, s):
    """Apply ``fn`` to every shape (a tuple of ints/None) of a nested structure of shapes."""
    if _is_shape(s):
        return fn(s)
    if isinstance(s, dict):
        return {k: map_shapes(fn, v) for k, v in s.items()}
    return [map_shapes(fn, v) for v in s]


def flatten_shapes_list(s):
    if _is_shape(s):
        return [s]
    if isinstance(s, dict):
        return [x for v in s.values() for x in flatten_shapes_list(v)]
    return [x for v in s for x in flatten_shapes_list(v)]


_flatten_shapes = flatten_shapes_list


def _pack_shapes(structure, flat):
    it = iter(flat)

    def rec(s):
        if _is_shape(s):
            return next(it)
        if isinstance(s, dict):
            return {k: rec(v) for k, v in s.items()}
        return [rec(v) for v in s]
    return rec(structure)


def _to_lists(s):
    if _is_shape(s):
        return list(s)
    if isinstance(s, dict):
        return {k: _to_lists(v) for k, v in s.items()}
    return [_to_lists(v) for v in s]


def _shape_str(s):
    return str(s)


