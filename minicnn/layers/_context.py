"""Process-wide layer bookkeeping: unique default names and the current call's training flag."""

import collections
import re
import threading

import numpy as np

_name_counts = collections.defaultdict(int)
_lock = threading.Lock()


def to_snake_case(name):
    """Keras' class-name -> default-name rule: ``Conv2D`` -> ``conv2d``, ``ReLU`` -> ``re_lu``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix):
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ... (like Keras)."""
    with _lock:
        n = _name_counts[prefix]
        _name_counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session():
    """Reset default-name counters (``keras.backend.clear_session()``): the next Conv2D is
    ``conv2d`` again."""
    with _lock:
        _name_counts.clear()


class _CallState(threading.local):
    def __init__(self):
        self.depth = 0
        self.training = []


call_state = _CallState()


def standardize_dtype(dtype, who="dtype"):
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):  # a Keras DTypePolicy config
        dtype = dtype.get("config", {}).get("name", "float32")
    name = getattr(dtype, "name", dtype)
    if name == "mixed_float16" or name == "mixed_bfloat16":
        raise ValueError(f"{who}: mixed precision policies are not supported, got {dtype!r}")
    try:
        dt = np.dtype(name)
    except TypeError:
        raise TypeError(f"{who} must be a dtype name such as 'float32', got {dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"{who} must be a floating dtype (float32 or float64), got {dt}")
    return str(dt)

