"""Symbolic graph pieces: ``KerasTensor`` (a shape + dtype placeholder) and ``Node`` (one call
of a layer on symbolic inputs), plus helpers over nested lists/tuples/dicts of tensors."""

import numpy as np

__all__ = ["KerasTensor", "Node", "flatten", "map_structure", "is_symbolic", "standardize_shape",
           "format_shape"]


class KerasTensor:
    """A symbolic tensor: what a layer returns when called on ``minicnn.Input(...)``.

    It carries ``shape`` (batch dimension ``None``), ``dtype`` and where it came from
    (``_keras_history = (layer, node_index, tensor_index)``); it holds no data.

    >>> import minicnn
    >>> x = minicnn.Input((28, 28, 1))
    >>> x.shape, x.dtype
    ((None, 28, 28, 1), 'float32')
    """

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = standardize_shape(shape)
        self.dtype = str(np.dtype(dtype))
        self.name = name
        self._keras_history = history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "a symbolic KerasTensor (from minicnn.Input) has no values; build a Model from it and "
            "call the model on data")

    def __bool__(self):
        raise TypeError("a symbolic KerasTensor has no truth value")

    # ``x + y`` / ``x * y`` between symbolic tensors add Add / Multiply layers to the graph
    # (the summary then shows ``add (Add)`` as Keras does).
    def _merge(self, other, cls_name):
        if not isinstance(other, KerasTensor):
            raise TypeError(f"symbolic tensors combine only with symbolic tensors in a graph; got "
                            f"{type(other).__name__}. Wrap the computation in a Layer.")
        from minicnn.layers import merging
        return getattr(merging, cls_name)()([self, other])

    def __add__(self, other):
        return self._merge(other, "Add")

    def __mul__(self, other):
        return self._merge(other, "Multiply")

    __radd__, __rmul__ = __add__, __mul__

    __hash__ = object.__hash__


class Node:
    """One call ``layer(*call_args, **call_kwargs)`` on symbolic tensors producing ``outputs``
    (KerasTensors); ``input_tensors`` are the KerasTensors among all the arguments."""

    def __init__(self, layer, call_args, call_kwargs, outputs):
        self.layer = layer
        self.call_args = tuple(call_args)     # the positional arguments, each a nested structure
        self.call_kwargs = dict(call_kwargs)  # keyword arguments: tensors and plain values
        self.outputs = outputs                # nested structure of KerasTensors
        self.input_tensors = [t for t in flatten((self.call_args, self.call_kwargs))
                              if isinstance(t, KerasTensor)]
        self.output_tensors = flatten(outputs)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        out = []
        for t in self.input_tensors:
            layer, node_index, _ = t._keras_history
            out.append(layer._inbound_nodes[node_index])
        return out

    def __repr__(self):
        return f"<Node {self.layer.name} inputs={len(self.input_tensors)}>"


def flatten(structure):
    """Leaves of a nested list/tuple/dict (dicts in insertion order), as a list."""
    if isinstance(structure, (list, tuple)):
        out = []
        for s in structure:
            out.extend(flatten(s))
        return out
    if isinstance(structure, dict):
        out = []
        for v in structure.values():
            out.extend(flatten(v))
        return out
    return [structure]


def map_structure(fn, structure):
    """Apply ``fn`` to every leaf, keeping the nesting (tuples stay tuples)."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_like(structure, flat):
    """Inverse of :func:`flatten`: put the leaves ``flat`` back into ``structure``'s nesting."""
    it = iter(flat)
    return map_structure(lambda _: next(it), structure)


def is_symbolic(structure):
    """True when any leaf is a KerasTensor."""
    return any(isinstance(t, KerasTensor) for t in flatten(structure))


def standardize_shape(shape):
    """A tuple of ints or ``None``; rejects negative sizes and non-integers."""
    if shape is None:
        raise ValueError("shape cannot be None")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints or None, got {shape!r}") from None
    out = []
    for s in shape:
        if s is None:
            out.append(None)
        elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0:
            out.append(int(s))
        else:
            raise ValueError(f"shape entries must be non-negative ints or None, got {shape!r}")
    return tuple(out)


def format_shape(shape):
    """Keras' summary format: ``(None, 26, 26, 32)``."""
    return "(" + ", ".join(str(s) for s in shape) + ")"
