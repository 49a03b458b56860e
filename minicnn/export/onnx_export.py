"""``export_onnx``: write a minicnn model as an ONNX file (the ``onnx`` package builds and checks
the protobuf; nothing else is needed, and nothing runs the model except a subclassed model's one
traced call).

The graph takes the model's inputs as ``predict`` does (channels-last, a symbolic batch
dimension ``"batch"``), or channels-first with ``input_layout="NCHW"``, and returns what
``predict`` returns.  Each input keeps the dtype of its ``Input`` (uint8 images, integer token
ids) and is cast to float32 on entry, as ``predict`` casts its batches; float32 throughout.  The model's name is the graph's name; the input and
output names, minicnn's version and the input layout are in the metadata.  The file is checked
(``onnx.checker.check_model(full_check=True)``) before it is written, atomically.
"""

import json

import numpy as np

from minicnn._version import __version__
from minicnn.export import converters  # noqa: F401  (fills the converter table)
from minicnn.export.builder import ExportError, GraphBuilder, Value, channels_first_perm
from minicnn.export.graph import convert_model, input_specs, output_names
from minicnn.saving.atomic import atomic_writer

__all__ = ["export_onnx", "import_onnx", "DEFAULT_OPSET", "OPSETS", "INPUT_LAYOUTS"]

DEFAULT_OPSET = 17
OPSETS = range(13, 22)
INPUT_LAYOUTS = ("NHWC", "NCHW")
_BATCH = "batch"


def import_onnx():
    """The ``onnx`` module, or an ImportError saying which extra installs it."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError('ONNX export needs the "onnx" package, which minicnn installs as an '
                          'optional extra: pip install "minicnn[onnx]"') from e
    return onnx


def _check_arguments(opset_version, input_layout):
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) or opset not in OPSETS:
        raise ValueError(f"opset_version must be an int from {OPSETS.start} to {OPSETS.stop - 1} "
                         f"(default {DEFAULT_OPSET}), got {opset_version!r}")
    if input_layout not in INPUT_LAYOUTS:
        raise ValueError(f"input_layout must be one of {INPUT_LAYOUTS}, got {input_layout!r}")
    return int(opset)


def _dims(shape):
    return [_BATCH if i == 0 and d is None else d for i, d in enumerate(shape)]


def _tensor_info(onnx, name, dtype, shape):
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return onnx.helper.make_tensor_value_info(name, elem, _dims(shape))


def build_onnx_model(model, input_signature=None, opset_version=None, input_layout="NHWC"):
    """The checked ``onnx.ModelProto`` of ``model`` (see :func:`export_onnx`)."""
    opset = _check_arguments(opset_version, input_layout)
    onnx = import_onnx()
    if onnx.defs.onnx_opset_version() < opset:
        raise ValueError(f"opset_version={opset} is newer than the installed onnx "
                         f"{onnx.__version__} supports ({onnx.defs.onnx_opset_version()})")
    graph = GraphBuilder(onnx, opset)
    structure, specs = input_specs(model, input_signature)
    inputs, graph_inputs = [], []
    for name, shape, dtype in specs:
        perm = channels_first_perm(4) if input_layout == "NCHW" and len(shape) == 4 else None
        value = Value(graph.reserve(name), shape, dtype, perm=perm)
        inputs.append(graph.float32(value))  # predict casts every input to float32 (see above)
        graph_inputs.append(_tensor_info(onnx, name, dtype, value.onnx_shape))
    names = output_names(model)  # claimed before the layers name their tensors after themselves
    for name in names or ():
        graph.reserve(name)
    outputs = convert_model(graph, model, structure, inputs)
    if names is None:  # a subclassed model: Keras' output_0, output_1, ...
        names = [graph.reserve(f"output_{i}") for i in range(len(outputs))]
    graph_outputs = []
    for name, value in zip(names, outputs):
        graph.nodes.append(onnx.helper.make_node("Identity", [graph.physical(value)], [name],
                                                 name=name))
        graph_outputs.append(_tensor_info(onnx, name, value.dtype, value.shape))
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, model.name, graph_inputs, graph_outputs,
                               initializer=graph.initializers),
        opset_imports=opsets, producer_name="minicnn", producer_version=__version__,
        doc_string=f"{model.name}, exported by minicnn {__version__}")
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.helper.set_model_props(proto, {
        "model_name": model.name, "minicnn_version": __version__, "input_layout": input_layout,
        "input_names": json.dumps([s[0] for s in specs]), "output_names": json.dumps(names)})
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        # a converter's bug: say so, and write nothing
        raise ExportError(f"the ONNX graph of model {model.name!r} failed onnx's checker (a bug "
                          f"in minicnn's exporter, please report it): {e}") from e
    return proto


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None,
                input_layout="NHWC"):
    """Write ``model`` to ``filepath`` as ONNX (see :meth:`minicnn.Model.export`)."""
    proto = build_onnx_model(model, input_signature, opset_version, input_layout)
    data = proto.SerializeToString()
    with atomic_writer(filepath) as f:
        f.write(data)
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'.")
