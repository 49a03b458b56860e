"""Walk a minicnn model's layer calls in order and hand each to its converter.

* ``Sequential``: its layers, one after the other.
* Functional (``Model(inputs, outputs)``): its nodes in topological order (``model._nodes``),
  each node's input tensors looked up among the values computed so far.
* Nested models (a ``Sequential`` or functional model used as a layer) are walked in place.
* A subclassed model, or a custom layer with no converter, is **traced**: it is called once on a
  batch of zeros in inference mode while every layer call it makes is recorded (through the hook
  that ``minicnn.utils.profile`` uses, ``minicnn._profiling``), each recorded call converted with
  its input tensors looked up by identity.  So a ``call()`` that only chains minicnn layers (any
  Python control flow around them is fine; it is evaluated once, for that input shape) exports;
  a tensor computed between layers with ``ops`` or operators is a computation no converter sees,
  and the export stops with an ExportError naming the layer it reached, never a graph without it.
"""

import threading

import numpy as np

from minicnn import _profiling
from minicnn.autograd import Tensor, no_grad
from minicnn.export.builder import ExportError
from minicnn.export.registry import LayerCall, find_converter
from minicnn.layers.node import KerasTensor, flatten, map_structure, pack_like
from minicnn.models.functional import Functional
from minicnn.models.sequential import Sequential

__all__ = ["input_specs", "output_names", "convert_model"]

_TRACE_BATCH = 2


def _unbuilt(model):
    return ExportError(f"model {model.name!r} has never been called or built, so its input shape "
                       "is unknown: call it on a batch (or model.build(input_shape)) first, or pass "
                       "input_signature=")


def _check_signature(model, shapes, input_signature):
    if input_signature is None:
        return
    given = [tuple(getattr(s, "shape", s)) for s in flatten_signature(input_signature)]
    ok = len(given) == len(shapes) and all(
        len(g) == len(s) and all(a is None or b is None or a == b for a, b in zip(g, s))
        for g, s in zip(given, shapes))
    if not ok:
        raise ValueError(f"input_signature {given} does not match the inputs of model "
                         f"{model.name!r}, {shapes}")


def _is_spec(s):
    return hasattr(s, "shape") or (isinstance(s, (list, tuple)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in s))


def flatten_signature(signature):
    """Shapes (tuples of ints/None) or objects with ``.shape``, flattened."""
    if _is_spec(signature):
        return [signature]
    if isinstance(signature, dict):
        return [x for v in signature.values() for x in flatten_signature(v)]
    return [x for v in signature for x in flatten_signature(v)]


def _index_structure(signature, counter):
    """``signature`` with each spec replaced by its position in the flat list."""
    if _is_spec(signature):
        return next(counter)
    if isinstance(signature, dict):
        return {k: _index_structure(v, counter) for k, v in signature.items()}
    return [_index_structure(v, counter) for v in signature]


def input_specs(model, input_signature=None):
    """``(structure, [(name, keras shape, dtype)])`` of the model's inputs: the structure (a
    nesting of the flat inputs' indices, None for a single input) is what the model takes."""
    if isinstance(model, Functional):
        tensors = model._input_tensors
        names = model.input_names
        structure = map_structure(lambda t: tensors.index(t), model._inputs_struct)
        if not isinstance(structure, (list, dict)):
            structure = None
    elif isinstance(model, Sequential):
        if model._graph_out is None:
            raise _unbuilt(model)
        tensors, names, structure = [model._seq[0].output], [model._seq[0].name], None
    else:
        shape = model._build_input_shape
        if input_signature is not None:
            # Keras lists one structure per argument of call(), and a model takes one.
            one = isinstance(input_signature, (list, tuple)) and len(input_signature) == 1
            shape = input_signature[0] if one and not _is_spec(input_signature) else input_signature
        if shape is None:
            raise _unbuilt(model)
        flat = flatten_signature(shape)
        specs = []
        for i, s in enumerate(flat):
            dims = (None,) + tuple(getattr(s, "shape", s))[1:]
            specs.append((getattr(s, "name", None) or f"input_{i}", dims,
                          str(getattr(s, "dtype", None) or model.dtype)))
        structure = None if _is_spec(shape) else _index_structure(shape, iter(range(len(flat))))
        return structure, specs
    _check_signature(model, [t.shape for t in tensors], input_signature)
    return structure, [(n, t.shape, t.dtype) for n, t in zip(names, tensors)]


def output_names(model):
    """The output names of a graph model (Keras'); None for a subclassed one (known once run)."""
    if isinstance(model, (Functional, Sequential)):
        return list(model.output_names)
    return None


def convert_model(graph, model, structure, inputs):
    """The output Values of ``model`` called on ``inputs`` (Values, placed in ``structure``)."""
    if structure is None:
        return convert_layer(graph, model, inputs[0], None)
    return convert_layer(graph, model, map_structure(lambda i: inputs[i], structure), None)


def convert_layer(graph, layer, inputs, output_shapes):
    """The output Values of one call of ``layer`` on ``inputs`` (a structure of Values)."""
    flat = flatten(inputs)
    if isinstance(layer, Sequential):
        return _sequential(graph, layer, flat)
    if isinstance(layer, Functional):
        return _functional(graph, layer, flat)
    fn = find_converter(layer)
    if fn is None:
        return _Tracer(graph, layer).run(inputs)
    if str(layer.dtype) != "float32":
        raise ExportError(f"cannot export layer {layer.name!r} ({type(layer).__name__}) with dtype "
                          f"{layer.dtype}: ONNX export writes float32 models (set dtype='float32')")
    out = fn(graph, LayerCall(layer, flat, output_shapes))
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _sequential(graph, model, flat):
    if model._graph_out is None:
        raise _unbuilt(model)
    x = flat[0]
    for layer in model.layers:
        shapes = [t.shape for t in flatten(model._out_of[id(layer)])]
        (x,) = convert_layer(graph, layer, x, shapes)
    return [x]


def _functional(graph, model, flat):
    values = {id(t): v for t, v in zip(model._input_tensors, flat)}

    def value(t):
        if isinstance(t, KerasTensor):
            return values[id(t)]
        raise ExportError(f"cannot export: model {model.name!r} passes the constant {t!r} to a "
                          "layer inside a list of tensors")

    for node in model._nodes:
        if node.is_input:
            continue
        _check_call_arguments(node.layer, node.call_args[1:], node.call_kwargs, KerasTensor)
        inputs = map_structure(value, node.call_args[0])
        outputs = convert_layer(graph, node.layer, inputs, [t.shape for t in node.output_tensors])
        for t, v in zip(node.output_tensors, outputs):
            values[id(t)] = v
    return [values[id(t)] for t in model._output_tensors]


def _check_call_arguments(layer, args, kwargs, tensor_type):
    """Only the first argument may hold tensors, and training mode cannot be forced."""
    kwargs = dict(kwargs)
    if kwargs.pop("training", None):
        raise ExportError(f"cannot export layer {layer.name!r} ({type(layer).__name__}): it is "
                          "called with training=True, and an ONNX graph is the inference pass")
    if any(isinstance(t, tensor_type) for t in flatten((list(args), kwargs))):
        raise ExportError(f"cannot export layer {layer.name!r} ({type(layer).__name__}): it is "
                          "called with tensors beyond its first argument")


class _Tracer:
    """Records the layer calls of one inference call of ``root`` (a subclassed model or a custom
    layer) and converts them; installed as ``_profiling.state.recorder`` for that call."""

    def __init__(self, graph, root):
        self.graph, self.root = graph, root
        self.thread = threading.get_ident()
        self.values = {}  # id(Tensor) -> Value
        self.alive = []   # the tensors in ``values``: kept so that their ids stay theirs
        self.inside = 0   # > 0 while a converted layer's own call() runs

    def run(self, inputs):
        flat = flatten(inputs)
        dummies = []
        for v in flat:
            if any(d is None for d in v.shape[1:]):
                raise ExportError(f"cannot trace {self._describe(self.root)}: its input shape "
                                  f"{v.shape} has unknown sizes; pass input_signature= with them")
            dummies.append(Tensor(np.zeros((_TRACE_BATCH,) + v.shape[1:], dtype=v.dtype)))
        self.pending = flat
        previous = _profiling.state.recorder
        _profiling.state.recorder = self
        try:
            with no_grad():
                outputs = self.root(pack_like(inputs, dummies), training=False)
        finally:
            _profiling.state.recorder = previous
        return [self._lookup(t, "returns") for t in flatten(outputs)]

    @staticmethod
    def _describe(layer):
        return f"{layer.name!r} ({type(layer).__name__})"

    def _lookup(self, t, what):
        v = self.values.get(id(t)) if isinstance(t, Tensor) else None
        if v is None:
            shape = getattr(t, "shape", None)
            raise ExportError(
                f"cannot export {self._describe(self.root)}: its call() {what} a tensor "
                f"(shape {shape}) computed outside minicnn layers (with ops, operators or "
                "NumPy), which the ONNX export does not see; compute it with layers (or give its "
                "layer a converter: minicnn.export.onnx_converter)")
        return v

    def layer_call(self, layer, inputs, args, kwargs):
        if threading.get_ident() != self.thread or self.inside:
            return layer.call(inputs, *args, **kwargs)
        if layer is self.root:
            for v, t in zip(self.pending, flatten(inputs)):
                self.values[id(t)] = v
                self.alive.append(t)
            return layer.call(inputs, *args, **kwargs)
        if find_converter(layer) is None and not isinstance(layer, (Sequential, Functional)):
            return layer.call(inputs, *args, **kwargs)  # a container: its own calls are recorded
        _check_call_arguments(layer, args, kwargs, Tensor)
        values = map_structure(lambda t: self._lookup(t, f"passes to layer {layer.name!r}"),
                               inputs)
        self.inside += 1
        try:
            outputs = layer.call(inputs, *args, **kwargs)
        finally:
            self.inside -= 1
        flat = flatten(outputs)
        shapes = [(None,) + tuple(t.shape[1:]) for t in flat]
        for t, v in zip(flat, convert_layer(self.graph, layer, values, shapes)):
            self.values[id(t)] = v
            self.alive.append(t)
        return outputs
