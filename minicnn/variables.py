"""``Variable``: a layer's (or metric's) state, Keras 3's ``keras.Variable``.

A Variable *is* a :class:`minicnn.Tensor` (a leaf that requires a gradient when trainable), so it
goes into any op and ``loss.backward()`` fills its ``.grad``; ``.value`` is the variable itself,
which makes the torch-backend idiom ``v.value.grad`` work.  ``assign``, ``assign_add`` and
``assign_sub`` write into the existing array and never rebind it: optimizers (the fused Adam
among them) keep views of the weight arrays across steps.

Variables get a ``path`` from the name scopes open when they are created: a layer opens its
name while it builds, so a Dense built inside a Sequential model has the path
``sequential/dense/kernel``, as in Keras.

>>> import numpy as np
>>> import minicnn
>>> v = minicnn.Variable(np.zeros((2,), "float32"), name="acc")
>>> v.assign_add([1.0, 2.0]).numpy()
array([1., 2.], dtype=float32)
>>> v
<Variable path=acc, shape=(2,), dtype=float32, value=[1. 2.]>
"""

import threading

import numpy as np

from minicnn import initializers as _initializers
from minicnn.autograd import Tensor

__all__ = ["Variable", "name_scope", "current_path"]

_AGGREGATIONS = (None, "none", "mean", "sum", "only_first_replica")
_SYNCHRONIZATIONS = (None, "none", "on_read", "on_write", "auto")


class _Scopes(threading.local):
    def __init__(self):
        self.stack = []  # [(name, caller)]


_scopes = _Scopes()


class name_scope:
    """Open ``name`` as a path component for the variables created inside the block.

    ``caller``: the object opening the scope; when the innermost scope is already ``name`` opened
    by the same caller it is not opened twice (a layer's ``add_weight`` inside its ``build``).
    """

    def __init__(self, name, caller=None):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"name_scope: name must be a non-empty string without '/', got {name!r}")
        self.name = name
        self.caller = caller
        self._pushed = False

    def __enter__(self):
        stack = _scopes.stack
        if not (stack and self.caller is not None and stack[-1] == (self.name, self.caller)):
            stack.append((self.name, self.caller))
            self._pushed = True
        return self

    def __exit__(self, *exc):
        if self._pushed:
            _scopes.stack.pop()
            self._pushed = False


def current_path():
    """The open name scopes joined by "/" ("" when none is open)."""
    return "/".join(name for name, _ in _scopes.stack)


def _infer_dtype(value):
    """Keras' default dtype for a value: arrays keep theirs; Python floats become float32 and
    Python ints int32."""
    if isinstance(value, (np.ndarray, np.generic, Tensor)):
        return np.dtype(value.dtype)
    kind = np.asarray(value).dtype.kind
    return np.dtype({"f": "float32", "i": "int32", "u": "int32", "b": "bool"}.get(kind, "float32"))


class Variable(Tensor):
    """A named, assignable Tensor: ``keras.Variable(initializer, shape=None, dtype=None,
    trainable=True, autocast=True, aggregation="none", synchronization="auto", name=None)``.

    ``initializer`` is an initial value (array-like) or an initializer (a name such as
    ``"zeros"``, an ``Initializer``, or a callable ``(shape, dtype) -> array``, which needs
    ``shape``).
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None):
        if name is None:
            # Keras' default names come from the layers' counter (reset by clear_session);
            # imported here because minicnn.layers imports this module.
            from minicnn.layers._context import to_snake_case, unique_name
            name = unique_name(to_snake_case(type(self).__name__))
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Variable: name must be a string without '/', got {name!r}")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"Variable: aggregation must be one of {_AGGREGATIONS}, "
                             f"got {aggregation!r}")
        if synchronization not in _SYNCHRONIZATIONS:
            raise ValueError(f"Variable: synchronization must be one of {_SYNCHRONIZATIONS}, "
                             f"got {synchronization!r}")
        if isinstance(initializer, str) or (callable(initializer) and not isinstance(initializer, Tensor)):
            if shape is None:
                raise ValueError(f"Variable {name!r}: creating a variable from an initializer "
                                 f"needs shape=; got initializer={initializer!r} and shape=None")
            value = _initial_value(_initializers.get(initializer), shape, dtype, name)
        else:
            value = initializer.data if isinstance(initializer, Tensor) else initializer
            dtype = np.dtype(dtype) if dtype is not None else _infer_dtype(value)
            value = np.array(value, dtype=dtype, copy=True, order="C")  # never the caller's array
            if shape is not None and value.shape != tuple(shape):
                raise ValueError(f"Variable {name!r}: the initial value has shape {value.shape}, "
                                 f"shape= says {tuple(shape)}")
        if value.dtype.hasobject or value.dtype.kind not in "biuf":
            raise TypeError(f"Variable {name!r}: dtype must be a bool, integer or floating "
                            f"type, got {value.dtype}")
        super().__init__(value)
        self._trainable = bool(trainable)
        self.requires_grad = self._trainable and value.dtype.kind == "f"
        self.name = name
        scope = current_path()
        self.path = f"{scope}/{name}" if scope else name
        self.autocast = bool(autocast)
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.regularizer = None
        self.constraint = None
        self.overwrite_with_gradient = False

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = self._trainable and self.data.dtype.kind == "f"
        # The layers' cached weight lists are filtered on ``trainable``.
        from minicnn.layers._weights import structure_changed
        structure_changed()

    @property
    def value(self):
        """The variable itself: a Tensor whose ``.grad`` the last backward filled."""
        return self

    def numpy(self):
        """A copy of the value as an ndarray (a later ``assign`` does not change it)."""
        return np.array(self.data, copy=True)

    def assign(self, value):
        """Overwrite the value in place; ``value`` must have the variable's shape."""
        value = self._checked(value, "assign")
        if value.shape != self.data.shape:
            raise ValueError(
                f"the shape of the target variable and the shape of the target value in "
                f"`variable.assign(value)` must match. variable.shape={self.shape}, Received: "
                f"value.shape={value.shape}. Target variable: {self!r}")
        self.data[...] = value
        return self

    def assign_add(self, value):
        """``self += value`` in place (``value`` broadcasts to the variable's shape)."""
        np.add(self.data, self._broadcastable(value, "assign_add"), out=self.data)
        return self

    def assign_sub(self, value):
        """``self -= value`` in place (``value`` broadcasts to the variable's shape)."""
        np.subtract(self.data, self._broadcastable(value, "assign_sub"), out=self.data)
        return self

    def _checked(self, value, what):
        if isinstance(value, Tensor):
            value = value.data
        try:
            value = np.asarray(value, dtype=self.data.dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"variable.{what}: cannot convert the value to {self.data.dtype} "
                            f"for variable {self.path!r} ({exc})") from None
        return value

    def _broadcastable(self, value, what):
        value = self._checked(value, what)
        try:
            fits = np.broadcast_shapes(value.shape, self.data.shape) == self.data.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"variable.{what}: a value of shape {value.shape} does not broadcast "
                             f"to the shape {self.shape} of variable {self.path!r}")
        return value

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={self.data}>")


def _initial_value(init, shape, dtype, name):
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype or "float32")
    # minicnn's initializers produce floats; integer and boolean state (counters, masks) is
    # initialised in float64 and cast, which is exact for the constants such state starts from.
    value = np.array(init(shape, dtype=dtype if dtype.kind == "f" else np.float64), dtype=dtype,
                     order="C")
    if value.shape != shape:
        raise ValueError(f"Variable {name!r}: the initializer returned shape {value.shape}, "
                         f"expected {shape}")
    return value
