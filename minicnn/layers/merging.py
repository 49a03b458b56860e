"""Merge layers: ``Merge`` (checks a list of >= 2 inputs) -> Add, Subtract, Multiply, Average,
Maximum, Minimum; and Concatenate."""

import functools

import numpy as np

from minicnn import ops
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
_MOD = "minicnn.layers"


def _shape_list(layer, input_shape):
    ok = isinstance(input_shape, (list, tuple)) and len(input_shape) >= 2 and all(
        isinstance(s, tuple) for s in input_shape)
    if not ok:
        raise ValueError(f"{type(layer).__name__} must be called on a list of at least 2 inputs, "
                         f"got input shape {input_shape}")
    return list(input_shape)


class Merge(Layer):
    """Elementwise merge of several same-shaped inputs (size-1 dimensions broadcast)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"all inputs must have the same rank, got shapes {shapes}")
        out = []
        for dims in zip(*shapes):
            known = {d for d in dims if d is not None and d != 1}
            if len(known) > 1:
                raise ValueError(f"inputs must have the same shape (or 1 to broadcast), got shapes {shapes}")
            if known:
                out.append(known.pop())
            elif any(d is None for d in dims):
                out.append(None)
            else:
                out.append(1)
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} must be called on a list of at least 2 inputs")
        first = inputs[0].shape
        if any(t.shape != first for t in inputs[1:]):  # equal shapes always merge
            self.compute_output_shape([tuple(t.shape) for t in inputs])
        return self._merge(list(inputs))


@register_builtin(_MOD)
class Add(Merge):
    """Sum of the inputs: ``Add()([x, y])``.

    >>> import numpy as np
    >>> from minicnn.layers import Add
    >>> Add()([np.ones((1, 2)), np.ones((1, 2))]).data
    array([[2., 2.]], dtype=float32)
    """

    def _merge(self, inputs):
        return functools.reduce(ops.add, inputs)


@register_builtin(_MOD)
class Multiply(Merge):
    """Elementwise product of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(ops.multiply, inputs)


@register_builtin(_MOD)
class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import numpy as np
    >>> from minicnn.layers import Subtract
    >>> Subtract()([np.full((1, 2), 3.0), np.ones((1, 2))]).numpy()
    array([[2., 2.]], dtype=float32)
    """

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and len(input_shape) != 2:
            raise ValueError(f"Subtract must be called on exactly 2 inputs, got {len(input_shape)} "
                             f"(input shapes {list(input_shape)})")
        return super().compute_output_shape(input_shape)

    def _merge(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


@register_builtin(_MOD)
class Average(Merge):
    """Elementwise mean of the inputs.

    >>> import numpy as np
    >>> from minicnn.layers import Average
    >>> Average()([np.zeros((1, 2)), np.full((1, 2), 3.0)]).numpy()
    array([[1.5, 1.5]], dtype=float32)
    """

    def _merge(self, inputs):
        return functools.reduce(ops.add, inputs) / len(inputs)


def _stacked(inputs):
    """The inputs broadcast to one shape and stacked on a new leading axis."""
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in inputs))
    return ops.stack([t if tuple(t.shape) == shape else t + np.zeros(shape, t.dtype) for t in inputs],
                     axis=0)


@register_builtin(_MOD)
class Maximum(Merge):
    """Elementwise maximum of the inputs (tied inputs share the gradient).

    >>> import numpy as np
    >>> from minicnn.layers import Maximum
    >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy()
    array([[3., 5.]], dtype=float32)
    """

    def _merge(self, inputs):
        return ops.max(_stacked(inputs), axis=0)


@register_builtin(_MOD)
class Minimum(Merge):
    """Elementwise minimum of the inputs (tied inputs share the gradient)."""

    def _merge(self, inputs):
        return -ops.max(-_stacked(inputs), axis=0)


@register_builtin(_MOD)
class Concatenate(Layer):
    """Concatenate the inputs along ``axis`` (other dimensions must agree).

    >>> import numpy as np
    >>> from minicnn.layers import Concatenate
    >>> Concatenate()([np.ones((2, 3)), np.ones((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = axis
        self.built = True

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"all inputs must have the same rank, got shapes {shapes}")
        if not -rank <= self.axis < rank:
            raise ValueError(f"axis={self.axis} is out of range for shapes {shapes}")
        ax = self.axis % rank
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == ax:
                out.append(None if any(d is None for d in dims) else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(f"inputs must match except along axis {self.axis}, got shapes {shapes}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError("Concatenate must be called on a list of at least 2 inputs")
        first = inputs[0].shape
        if any(t.shape != first for t in inputs[1:]):  # equal shapes always merge
            self.compute_output_shape([tuple(t.shape) for t in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
