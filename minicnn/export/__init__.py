"""Model export: ``model.export(filepath, format="onnx")`` writes an ONNX file that ONNX Runtime
(or any ONNX inference stack) runs in place of ``model.predict``.

The exporter walks minicnn's own layer graph (a ``Sequential``'s layers, a functional model's
nodes, the layer calls of one traced call of a subclassed model: see
:mod:`minicnn.export.graph`) and writes each layer with the converter registered for its class
(:mod:`minicnn.export.converters`, one small module per layer family).  Only the ``onnx`` package
is needed: ``pip install "minicnn[onnx]"``.

>>> import minicnn
>>> from minicnn import layers
>>> model = minicnn.Sequential([minicnn.Input((28, 28, 1)), layers.Conv2D(8, 3, padding="same"),
...                             layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)])
>>> model.export("model.onnx", format="onnx")  # doctest: +SKIP
Saved artifact at 'model.onnx'.

A layer class without a converter (a custom layer computing with ``ops``, a ``Lambda``) stops
the export with an :class:`ExportError` naming the layer; give its class a converter with
:func:`onnx_converter` (see :mod:`minicnn.export.registry`).
"""

from minicnn.export.builder import ExportError, GraphBuilder, Value
from minicnn.export.registry import LayerCall, onnx_converter

__all__ = ["export_model", "ExportError", "onnx_converter", "LayerCall", "GraphBuilder", "Value",
           "FORMATS"]

FORMATS = ("onnx",)


def export_model(model, filepath, format="onnx", verbose=None, input_signature=None, *,
                 opset_version=None, input_layout="NHWC"):
    """See :meth:`minicnn.Model.export`."""
    if format not in FORMATS:
        raise ValueError(f"Unrecognized format={format!r}. Supported formats are: {list(FORMATS)} "
                         "(Keras' 'tf_saved_model', 'openvino', 'litert' and 'torch' need "
                         "TensorFlow, OpenVINO or PyTorch, which minicnn does not use)")
    from minicnn.export.onnx_export import export_onnx
    export_onnx(model, filepath, verbose=verbose, input_signature=input_signature,
                opset_version=opset_version, input_layout=input_layout)
