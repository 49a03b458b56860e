"""Argument checks every kernel wrapper shares (conv, pooling, batch norm, elementwise).

They raise errors that name the argument, the expected and the received shapes and dtypes.
"""

import operator

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # the dtypes the compiled kernels take


class DTypeError(ValueError, TypeError):
    """A wrong or mismatched dtype: both a ValueError (bad argument value) and a TypeError."""


def _ints(values, name, what):
    """tuple(values) as ints, or a TypeError saying that name must be what."""
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError:
        raise TypeError(f"{name} must be {what}, got {values!r}") from None


def pair(value, name, minimum=1):
    """An int or a 2-sequence of ints, each >= minimum -> (int, int)."""
    # Fast path for what layers pass (a plain int or a tuple of 2 plain ints): the checks below
    # cost more than a small convolution's kernel call.
    if type(value) is int:
        if value >= minimum:
            return (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        if value[0] >= minimum and value[1] >= minimum:
            return value
    try:
        ints = (operator.index(value),) * 2
    except TypeError:
        ints = _ints(value, name, "an int or a tuple of 2 ints")
    if len(ints) != 2:
        raise ValueError(f"{name} must be an int or a tuple of 2 ints, got {value!r}")
    if min(ints) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return ints


def padding_arg(padding):
    """'valid' | 'same' | ((top, bottom), (left, right)) with non-negative ints."""
    if type(padding) is str and (padding == "valid" or padding == "same"):
        return padding
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid', 'same' or ((top, bottom), (left, right)), got {padding!r}")
        return p
    try:
        (t, b), (l, r) = padding
        pads = tuple(operator.index(v) for v in (t, b, l, r))
    except (TypeError, ValueError):
        raise ValueError(
            f"padding must be 'valid', 'same' or ((top, bottom), (left, right)), got {padding!r}") from None
    if min(pads) < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return (pads[0], pads[1]), (pads[2], pads[3])


def shape4(shape, name):
    """A shape of 4 non-negative ints, as a tuple."""
    if (type(shape) is tuple and len(shape) == 4 and type(shape[0]) is int and type(shape[1]) is int
            and type(shape[2]) is int and type(shape[3]) is int and min(shape) >= 0):
        return shape  # an ndarray's shape: already what the checks below produce
    shape = _ints(shape, name, "a tuple of 4 ints")
    if len(shape) != 4:
        raise ValueError(f"{name} must have 4 dimensions, got shape {shape}")
    if min(shape) < 0:
        raise ValueError(f"{name} must not have negative sizes, got {shape}")
    return shape


def array(a, name, dtype=None, ndim=4):
    """``a`` as a C-contiguous float32/float64 array of ``ndim`` dimensions (None: at least one,
    channels last) and of ``dtype`` (None: either)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.ndim < 1 if ndim is None else a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim or 'at least 1'} dimensions, got shape {a.shape}")
    if a.dtype not in FLOATS:
        raise DTypeError(f"{name} must be float32 or float64, got {a.dtype} (shape {a.shape})")
    if dtype is not None and a.dtype != dtype:
        raise DTypeError(f"{name} has dtype {a.dtype} (shape {a.shape}) but the other arguments are {dtype}")
    return np.ascontiguousarray(a)


def rows(a):
    """a as a C-contiguous (rows, last axis) view (reshape(-1, 0) cannot infer the rows)."""
    F = a.shape[-1]
    return np.ascontiguousarray(a).reshape(a.size // F if F else 0, F)


def same_shape(a, shape, name, why=""):
    """a, or the ValueError saying that name must have ``shape`` (``why``: what that shape is)."""
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}{why}, got {a.shape}")
    return a


def array_pair(a, b, names, min_ndim=0):
    """Two arrays of one shape (at least ``min_ndim`` dimensions) and one float32/float64 dtype, or
    the error naming them (``names``: "a and b")."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"{names} must be numpy arrays, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape or a.ndim < min_ndim:
        at_least = f" (at least {min_ndim}-D)" if min_ndim else ""
        raise ValueError(f"{names} must have the same shape{at_least}, got {a.shape} and {b.shape}")
    if a.dtype not in FLOATS or a.dtype != b.dtype:
        raise DTypeError(f"{names} must share a float32/float64 dtype, got {a.dtype} and {b.dtype}")


def same_pad(size, dk, s):
    """(before, after) padding of Keras' "same" for a dilated kernel extent dk at stride s."""
    total = max((-(-size // s) - 1) * s + dk - size, 0)
    return total // 2, total - total // 2
