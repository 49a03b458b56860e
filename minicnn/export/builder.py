"""``GraphBuilder``: the ONNX graph under construction, and ``Value``, one tensor of it seen from
Keras' side.

Layout is handled here, once.  Every ``Value`` knows its Keras shape (channels-last, batch
``None``) and how the ONNX tensor is laid out relative to it: ``perm`` (the ONNX tensor is the
Keras tensor transposed by ``perm``) and, for a flattened feature map, ``order`` (ONNX feature
``j`` is Keras feature ``order[j]``).  A converter asks for the layout it needs
(:meth:`GraphBuilder.physical`, :meth:`GraphBuilder.channels_first`) and a Transpose is inserted
only where the layouts differ, at most once per tensor and layout; elementwise converters keep
their input's layout, so a channels-last model runs channels-first from its first convolution to
its last, and ``Flatten`` before ``Dense`` permutes the Dense weight rows instead of transposing.
"""

import numpy as np

__all__ = ["Value", "GraphBuilder", "ExportError", "same_pads"]


class ExportError(ValueError):
    """A model (or a layer, or one of its settings) that cannot be written as ONNX."""


def same_pads(size, dilated_kernel, stride):
    """Keras' ``"same"`` padding of one axis as ``(before, after)``: the odd cell goes after."""
    total = max((-(-size // stride) - 1) * stride + dilated_kernel - size, 0)
    return total // 2, total - total // 2


class Value:
    """One tensor of the graph: ``name`` in ONNX, ``shape`` and ``dtype`` in Keras' terms."""

    __slots__ = ("name", "shape", "dtype", "perm", "order")

    def __init__(self, name, shape, dtype="float32", perm=None, order=None):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.perm = tuple(range(len(self.shape))) if perm is None else tuple(perm)
        self.order = order  # only on a rank-2 value in Keras order otherwise

    @property
    def rank(self):
        return len(self.shape)

    @property
    def onnx_shape(self):
        return tuple(self.shape[p] for p in self.perm)

    def onnx_axis(self, keras_axis):
        """Where Keras axis ``keras_axis`` (negative counts from the end) sits in ONNX."""
        return self.perm.index(keras_axis % self.rank)

    def same_layout(self, other):
        same_order = (self.order is None and other.order is None) or (
            self.order is not None and other.order is not None
            and np.array_equal(self.order, other.order))
        return self.perm == other.perm and same_order

    def __repr__(self):
        return f"<Value {self.name} {self.shape} perm={self.perm}>"


def channels_first_perm(rank):
    """The ``perm`` that moves the last (channel) axis to 1: ``(0, 3, 1, 2)`` for rank 4."""
    return (0, rank - 1) + tuple(range(1, rank - 1))


class GraphBuilder:
    """Collects nodes and initializers; hands out unique tensor names."""

    def __init__(self, onnx, opset):
        self.onnx = onnx
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._names = set()
        self._consts = {}   # (dtype, shape, bytes) -> initializer name
        self._layouts = {}  # (tensor name, transpose perm or "keras") -> tensor name

    # -- names, nodes, constants ------------------------------------------------------------
    def reserve(self, name):
        """Claim ``name`` exactly (graph inputs and outputs); ExportError if it is taken."""
        if name in self._names:
            raise ExportError(f"two graph inputs/outputs are both named {name!r}")
        self._names.add(name)
        return name

    def fresh(self, hint):
        name, i = hint, 1
        while name in self._names:
            name, i = f"{hint}_{i}", i + 1
        self._names.add(name)
        return name

    def node(self, op, inputs, hint, outputs=1, **attrs):
        """Append one node; returns its output name (a list of names when ``outputs`` > 1)."""
        names = [self.fresh(hint if outputs == 1 else f"{hint}_{i}") for i in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names, name=names[0],
                                                     **attrs))
        return names[0] if outputs == 1 else names

    def const(self, array, hint, dtype=None):
        """An initializer holding ``array`` (float arrays become float32); equal constants are
        stored once, so a shared layer's weights appear once."""
        a = np.asarray(array)
        if dtype is not None:
            a = a.astype(dtype)
        elif a.dtype.kind == "f":
            a = a.astype(np.float32)
        a = np.ascontiguousarray(a)
        key = (a.dtype.str, a.shape, a.tobytes())
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.fresh(hint)
            self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    # -- layout ----------------------------------------------------------------------------
    def physical(self, value, perm=None):
        """The ONNX name of ``value`` laid out as its Keras tensor transposed by ``perm``
        (default: Keras' own order), transposing (once, cached) if it is laid out otherwise."""
        perm = tuple(range(value.rank)) if perm is None else tuple(perm)
        name, current = value.name, value.perm
        if value.order is not None:
            key = (name, "keras")
            if key not in self._layouts:
                inverse = self.ints(np.argsort(value.order), f"{name}_keras_order")
                self._layouts[key] = self.node("Gather", [name, inverse], f"{name}_keras",
                                               axis=value.rank - 1)
            name = self._layouts[key]
        if current == perm:
            return name
        transpose = tuple(current.index(p) for p in perm)
        key = (name, transpose)
        if key not in self._layouts:
            self._layouts[key] = self.node("Transpose", [name], f"{name}_transposed",
                                           perm=list(transpose))
        return self._layouts[key]

    def keras(self, value):
        """``value`` as a Keras-ordered ``Value`` (its ONNX tensor transposed if needed)."""
        if value.order is None and value.perm == tuple(range(value.rank)):
            return value
        return Value(self.physical(value), value.shape, value.dtype)

    def channels_first(self, value, data_format="channels_last"):
        """The ONNX name of a layer input laid out (batch, channels, spatial...), the layout of
        ONNX's Conv and pooling, and the ``perm`` of that layout for the layer's outputs."""
        if data_format == "channels_first":
            perm = tuple(range(value.rank))
        else:
            perm = channels_first_perm(value.rank)
        return self.physical(value, perm), perm

    def in_layout(self, array, value):
        """A constant broadcastable to ``value``'s Keras shape (aligned on the right), rearranged
        to broadcast against ``value``'s ONNX tensor."""
        a = np.asarray(array)
        a = a.reshape((1,) * (value.rank - a.ndim) + a.shape).transpose(value.perm)
        if value.order is not None and a.shape[-1] > 1:
            a = a[..., value.order]
        return a

    def float32(self, value):
        """``value`` cast to float32 if it is not (integer images fed to a float layer)."""
        if value.dtype == np.float32:
            return value
        name = self.node("Cast", [value.name], f"{value.name}_float",
                         to=self.onnx.TensorProto.FLOAT)
        return Value(name, value.shape, "float32", value.perm, value.order)

    # -- ops whose form changed between the opsets we write ---------------------------------
    def reduce(self, op, name, axes, hint, keepdims=True):
        """ReduceMean/ReduceMax/ReduceSum/ReduceMin over ``axes`` (an input from opset 18, 13
        for ReduceSum; an attribute before)."""
        axes = [int(a) for a in axes]
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [name, self.ints(axes, "axes")], hint, keepdims=int(keepdims))
        return self.node(op, [name], hint, axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, name, axes, hint):
        return self.node("Unsqueeze", [name, self.ints(axes, "axes")], hint)
