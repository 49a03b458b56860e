"""Keras' dtype rules for the ``keras.ops`` functions: conversion and type promotion.

Keras (like JAX) promotes differently from NumPy in the cases that matter to a float32 program:
Python scalars are *weak* (``float32 tensor + 1.5`` stays float32, ``int32 tensor + 1.5`` becomes
floatx), an integer tensor never widens a float one (``int64 + float32 -> float32``, NumPy says
float64), and a lone Python int is int32, a lone Python float float32.
"""

import builtins

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._elementary import Stack

FLOATX = np.dtype("float32")  # Keras' default float (keras.config.floatx())
_INT = np.dtype("int32")  # what a Python int becomes

_PY_KINDS = {bool: "b", int: "i", float: "f"}


def standardize_dtype(dtype, who="dtype"):
    """``None`` stays None; a name, NumPy dtype or Python type becomes a NumPy dtype (Python
    ``float`` is floatx and ``int`` int32, as in Keras)."""
    if dtype is None:
        return None
    if dtype in (float, "float"):
        return FLOATX
    if dtype in (int, "int"):
        return _INT
    if isinstance(dtype, Tensor):
        raise TypeError(f"{who} must be a dtype, got a Tensor")
    try:
        return np.dtype(getattr(dtype, "name", dtype))
    except TypeError:
        raise TypeError(f"{who} must be a dtype name such as 'float32', got {dtype!r}") from None


def dtype_name(x):
    """The dtype of a Tensor/array as a string: ``keras.ops.dtype``."""
    return str(getattr(x, "dtype", None) or np.asarray(x).dtype)


def _weak_kind(x):
    """'b'/'i'/'f' for a Python scalar (weakly typed), None for anything with a dtype."""
    return _PY_KINDS.get(type(x))


def result_type(*values):
    """The dtype Keras gives an elementwise op on ``values`` (Tensors, arrays, scalars, lists)."""
    strong = []
    weak = set()
    for v in values:
        kind = _weak_kind(v)
        if kind is not None:
            weak.add(kind)
        elif v is not None:
            strong.append(v.dtype if isinstance(v, (Tensor, np.ndarray, np.generic)) else _list_dtype(v))
    floats = [d for d in strong if d.kind in "fc"]
    if floats:
        return np.result_type(*floats)
    ints = [d for d in strong if d.kind in "iu"]
    if "f" in weak:
        return FLOATX
    if ints:
        return np.result_type(*ints)
    if strong:  # bools only
        return _INT if "i" in weak else np.dtype(bool)
    if "i" in weak:
        return _INT
    return np.dtype(bool)


def _list_dtype(v):
    """A nested list's dtype as Keras converts it: Python ints int32, floats float32."""
    arr = np.asarray(v)
    if arr.dtype == np.float64 and not isinstance(v, np.generic):
        return FLOATX
    if arr.dtype == np.int64 and not isinstance(v, np.generic):
        return _INT
    return arr.dtype


def convert(x, dtype=None, name="x"):
    """``keras.ops.convert_to_tensor``: a Tensor (the same object when nothing changes)."""
    dtype = standardize_dtype(dtype)
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    if dtype is None:
        if _weak_kind(x) is not None:
            dtype = result_type(x)
        elif not isinstance(x, (np.ndarray, np.generic)):
            dtype = _list_dtype(x) if not _has_tensor(x) else None
    try:
        if _has_tensor(x):  # a list holding Tensors: stack them (differentiably)
            parts = promote(*[convert(v) for v in x])
            if builtins.any(p.shape != parts[0].shape for p in parts):
                raise ValueError(f"the elements have different shapes {[p.shape for p in parts]}")
            t = Stack.apply(*parts, axis=0)
            return t if dtype is None else t.astype(dtype)
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(f"{name} must be a Tensor or array-like, got {type(x).__name__}: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array-like, got {type(x).__name__} of objects")
    return Tensor._wrap(arr)


def _has_tensor(x):
    return isinstance(x, (list, tuple)) and builtins.any(
        isinstance(v, Tensor) or _has_tensor(v) for v in x)


def cast_to(x, dtype):
    """``x`` (Tensor, array or scalar) as a Tensor of ``dtype`` (differentiable for Tensors)."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.astype(dtype)
    return Tensor._wrap(np.asarray(x, dtype=dtype))


def promote(*values):
    """All ``values`` as Tensors of their Keras result type."""
    dt = result_type(*values)
    return [cast_to(v, dt) for v in values]


def as_float(x, name="x"):
    """A Tensor in a floating dtype: integer and boolean inputs of float functions (exp, sin,
    mean, ...) compute in floatx, as in Keras."""
    x = convert(x, name=name)
    return x if x.dtype.kind in "fc" else x.astype(FLOATX)
