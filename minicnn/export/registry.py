"""The table of layer converters: which function writes which minicnn layer as ONNX nodes.

A converter is ``fn(graph, call) -> Value or list of Values``: ``graph`` is the
:class:`~minicnn.export.builder.GraphBuilder`, ``call`` a :class:`LayerCall` (the layer, the
``Value`` of each input, the Keras shapes of the outputs).  Register one for a custom layer with
:func:`onnx_converter`::

    @minicnn.export.onnx_converter(MyScale)
    def _(graph, call):
        x = call.input
        factor = graph.const(graph.in_layout(call.layer.factor, x), "factor")
        return Value(graph.node("Mul", [x.name, factor], call.layer.name), x.shape, x.dtype,
                     x.perm, x.order)
"""

from minicnn.export.builder import ExportError

__all__ = ["LayerCall", "onnx_converter", "find_converter", "unsupported"]

_CONVERTERS = {}

# Methods a subclass may override without changing what a registered layer computes.
_HARMLESS = frozenset({"__init__", "__new__", "__repr__", "__init_subclass__", "get_config",
                       "from_config", "build", "compute_output_shape", "get_build_config",
                       "build_from_config"})


class LayerCall:
    """One call of ``layer``: ``inputs`` (its input tensors, flattened, as Values) and the Keras
    ``output_shapes`` (batch ``None``) of what it returns."""

    def __init__(self, layer, inputs, output_shapes):
        self.layer = layer
        self.inputs = list(inputs)
        self.output_shapes = [tuple(s) for s in output_shapes]

    @property
    def input(self):
        return self.inputs[0]

    @property
    def output_shape(self):
        return self.output_shapes[0]

    def describe(self):
        return f"layer {self.layer.name!r} ({type(self.layer).__name__})"


def onnx_converter(*layer_classes):
    """Decorator: ``fn(graph, call)`` writes layers of these classes (and of subclasses that
    override no computing method) to ONNX."""
    def register(fn):
        for cls in layer_classes:
            _CONVERTERS[cls] = fn
        return fn
    return register


def find_converter(layer):
    """The converter of ``layer``'s class, or None.  A subclass that overrides a method taking
    part in the computation (``call``, ``convolution_op``, ...) is a new layer: None."""
    mro = type(layer).__mro__
    for i, cls in enumerate(mro):
        fn = _CONVERTERS.get(cls)
        if fn is None:
            continue
        inherited = {name for base in mro[i:] for name in vars(base)}
        for sub in mro[:i]:
            changed = (set(vars(sub)) & inherited) - _HARMLESS
            if any(callable(getattr(sub, n, None)) for n in changed):
                return None
        return fn
    return None


def unsupported(reason):
    """A converter for layers that cannot be exported: raises ExportError with ``reason``."""
    def convert(graph, call):
        raise ExportError(f"cannot export {call.describe()} to ONNX: {reason}")
    return convert
