"""Whole models exported: the example scripts' and the benchmarks' models, functional graphs
(multi-input/output, nested, shared layers), subclassed models (traced), custom layers, opsets
13-21, the NCHW input layout, dynamic image sizes, and the graph's layout work (one Transpose)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn import ops
from minicnn.export import ExportError, Value, onnx_converter

ROOT = Path(__file__).resolve().parent.parent.parent


def _load(path):
    if not path.is_file():
        pytest.skip(f"{path} not found (tests run outside a source checkout)")
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"onnx_test_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def example(name):
    return _load(ROOT / "examples" / f"{name}.py")


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("name, args", [
    ("fashion_mnist_cnn", {}), ("fashion_mnist_cnn", {"padding": "valid"}),
    ("lenet5", {"pool": "avg"}), ("lenet5", {"pool": "max"}), ("resnet_fashion", {}),
])
def test_example_models(name, args, check_export):
    model = example(name).build_model(**args)
    proto = check_export(model)
    assert op_types(proto).count("Transpose") == 1  # the input's, and nothing else


@pytest.mark.parametrize("name", ["ref", "lenet", "resnet"])
def test_benchmark_models(name, check_export):
    models = _load(ROOT / "benchmarks" / "models.py")
    proto = check_export(models.build(minicnn, name))
    ops_ = op_types(proto)
    assert ops_.count("Transpose") == 1 and ops_[0] == "Transpose"
    assert "Gather" not in ops_  # the Flatten -> Dense feature order went into the weights


def test_example_custom_layer_needs_a_converter(check_export, tmp_path):
    module = example("functional_custom_layer")
    model = module.build_model()
    with pytest.raises(ExportError, match=r"'attention' \(SqueezeExcite\).*outside minicnn layers"):
        model.export(tmp_path / "se.onnx", verbose=False)
    assert list(tmp_path.iterdir()) == []

    @onnx_converter(module.SqueezeExcite)
    def squeeze_excite(graph, call):
        layer, x = call.layer, call.input
        spatial = sorted(x.onnx_axis(a) for a in (1, 2))
        h = graph.reduce("ReduceMean", x.name, spatial, f"{layer.name}_squeeze", keepdims=False)
        for w, b, act in ((layer.w1, layer.b1, "Relu"), (layer.w2, layer.b2, "Sigmoid")):
            h = graph.node("Gemm", [h, graph.const(w.numpy(), "w"), graph.const(b.numpy(), "b")],
                           f"{layer.name}_dense")
            h = graph.node(act, [h], f"{layer.name}_{act.lower()}")
        gates = graph.unsqueeze(h, spatial, f"{layer.name}_gates")
        return Value(graph.node("Mul", [x.name, gates], layer.name), x.shape, perm=x.perm)

    check_export(model)


def _subclassed_cnn():
    class Net(minicnn.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.convs = [L.Conv2D(4, 3, padding="same", activation="relu"), L.Conv2D(6, 3)]
            self.pool = L.MaxPooling2D()
            self.head = minicnn.Sequential([L.Flatten(), L.Dense(5)])
            self.aux = L.Dense(2, activation="softmax")

        def call(self, x, training=False):
            for conv in self.convs:  # Python control flow runs once, while tracing
                x = self.pool(conv(x)) if conv is self.convs[0] else conv(x)
            features = self.head(x)
            return features, self.aux(features)
    return Net(name="net")


def test_subclassed_model(check_export):
    model = _subclassed_cnn()
    model(np.zeros((2, 12, 10, 3), np.float32))
    proto = check_export(model, [((None, 12, 10, 3), "float32")])
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    assert [i.name for i in proto.graph.input] == ["input_0"]


def test_subclassed_model_never_called(tmp_path, onnx, check_export):
    model = _subclassed_cnn()
    with pytest.raises(ExportError, match="never been called"):
        model.export(tmp_path / "m.onnx", verbose=False)
    model.export(tmp_path / "m.onnx", verbose=False, input_signature=[(None, 8, 8, 3)])
    assert onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim[1].dim_value == 8


def test_subclassed_model_computing_between_layers(tmp_path, onnx):
    class Scaled(minicnn.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = L.Dense(3, name="first"), L.Dense(2, name="second")

        def call(self, x):
            return self.b(ops.relu(self.a(x)) * 2.0)

    model = Scaled()
    model(np.zeros((1, 4), np.float32))
    with pytest.raises(ExportError, match=r"passes to layer 'second'.*outside minicnn layers"):
        model.export(tmp_path / "m.onnx", verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_custom_layer_of_layers_is_traced(check_export):
    class Block(L.Layer):
        def __init__(self, filters, **kwargs):
            super().__init__(**kwargs)
            self.conv = L.Conv2D(filters, 3, padding="same")
            self.bn = L.BatchNormalization()
            self.add = L.Add()

        def call(self, x):
            return self.add([x, self.bn(self.conv(x))])

    inp = minicnn.Input((8, 8, 4))
    out = L.GlobalAveragePooling2D()(Block(4, name="block")(L.Conv2D(4, 1)(inp)))
    check_export(minicnn.Model(inp, out))


def test_subclasses_of_layers(check_export, tmp_path):
    class PlainConv(L.Conv2D):  # changes nothing: exported as a Conv2D
        pass

    class StandardizedConv(L.Conv2D):  # a new computation: traced, and refused
        def convolution_op(self, inputs, kernel):
            return super().convolution_op(inputs, kernel - ops.mean(kernel, axis=(0, 1, 2),
                                                                    keepdims=True))

    check_export(minicnn.Sequential([minicnn.Input((8, 8, 3)), PlainConv(4, 3)]))
    model = minicnn.Sequential([minicnn.Input((8, 8, 3)), StandardizedConv(4, 3, name="ws")])
    with pytest.raises(ExportError, match=r"'ws' \(StandardizedConv\).*returns a tensor"):
        model.export(tmp_path / "m.onnx", verbose=False)


def test_sync_batch_normalization(check_export):
    from minicnn.distribute import SyncBatchNormalization
    check_export(minicnn.Sequential([minicnn.Input((6, 6, 3)), L.Conv2D(4, 3),
                                     SyncBatchNormalization()]))


def test_functional_multi_io_nested_shared(check_export):
    image, vector = minicnn.Input((10, 10, 3), name="image"), minicnn.Input((6,), name="vector")
    trunk = minicnn.Sequential([minicnn.Input((10, 10, 3)), L.Conv2D(4, 3, activation="relu"),
                                L.MaxPooling2D()], name="trunk")
    shared = L.Dense(8, activation="relu", name="shared")
    a = shared(L.Dense(64)(L.Flatten()(trunk(image))))
    b = shared(L.Dense(64)(vector))
    joined = L.Concatenate()([a, b])
    model = minicnn.Model([image, vector], [L.Dense(3, name="logits")(joined),
                                            L.Add(name="sum")([a, b])])
    proto = check_export(model, [((None, 10, 10, 3), "float32"), ((None, 6), "float32")])
    assert [i.name for i in proto.graph.input] == ["image", "vector"]
    assert [o.name for o in proto.graph.output] == ["logits", "sum"]
    kernels = [i for i in proto.graph.initializer if i.name.startswith("shared_kernel")]
    assert len(kernels) == 1  # a shared layer's weights are stored once


def test_input_layout_nchw(check_export):
    model = _load(ROOT / "benchmarks" / "models.py").build(minicnn, "resnet")
    proto = check_export(model, feed=lambda xs: [x.transpose(0, 3, 1, 2) for x in xs],
                         input_layout="NCHW")
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]] == [3, 32, 32]
    assert "Transpose" not in op_types(proto)


def test_dynamic_image_size(onnx_tools, tmp_path, onnx):
    model = onnx_tools.randomize(minicnn.Sequential([
        minicnn.Input((None, None, 3)), L.Conv2D(4, 3, strides=2, padding="same"),
        L.AveragePooling2D(3, strides=2, padding="same"), L.UpSampling2D(),
        L.GlobalMaxPooling2D(), L.Dense(2)]))
    model.export(tmp_path / "m.onnx", verbose=False)
    dims = onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 0
    for shape in ((2, 9, 13, 3), (1, 16, 16, 3)):
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        onnx_tools.assert_close(onnx_tools.run(tmp_path / "m.onnx", [x])[0],
                                model.predict(x, verbose=0))


def _composite():
    """Layers whose ONNX form changed across opsets 13-21 (reductions, Resize, Pad, Slice,
    Unsqueeze, Softmax), in one small model."""
    inp = minicnn.Input((8, 8, 3))
    x = L.Conv2D(4, 3, padding="same")(inp)
    x = L.ZeroPadding2D(1)(L.UpSampling2D()(x))
    x = L.Cropping2D(2)(L.LayerNormalization(axis=[1, 2, 3])(x))
    x = L.GroupNormalization(groups=2)(x)
    v = L.GlobalAveragePooling2D()(x)
    y = L.Softmax()(L.RepeatVector(2)(v))
    return minicnn.Model(inp, [y, L.GlobalMaxPooling2D()(x)])


@pytest.mark.parametrize("opset", range(13, 22))
def test_opsets(opset, check_export):
    proto = check_export(_composite(), opset_version=opset)
    assert [o.version for o in proto.opset_import] == [opset]


def test_metadata_and_names(check_export):
    model = example("lenet5").build_model()
    proto = check_export(model)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["model_name"] == proto.graph.name == "lenet5"
    assert props["minicnn_version"] == minicnn.__version__ == proto.producer_version
    assert props["input_names"] == '["input_layer"]' and props["output_names"] == '["output"]'
    assert props["input_layout"] == "NHWC" and proto.producer_name == "minicnn"
    assert proto.opset_import[0].version == 17
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_uint8_and_integer_inputs_cast_as_predict_does(check_export):
    images = minicnn.Input((6, 6, 1), dtype="uint8")
    tokens = minicnn.Input((4,), dtype="int32")
    a = L.Flatten()(L.Rescaling(1 / 255)(images))
    b = L.Flatten()(L.Embedding(20, 3)(tokens))
    model = minicnn.Model([images, tokens], L.Concatenate()([a, b]))
    proto = check_export(model, [((None, 6, 6, 1), "uint8", 256), ((None, 4), "int32", 20)])
    assert proto.graph.input[0].type.tensor_type.elem_type == 2  # UINT8: users feed their images


def test_errors(tmp_path, onnx):
    model = minicnn.Sequential([minicnn.Input((4,)), L.Dense(2)])
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"Unrecognized format='tf_saved_model'.*\['onnx'\]"):
        model.export(path, format="tf_saved_model")
    for bad in (12, 22, "17", True):
        with pytest.raises(ValueError, match="opset_version must be an int from 13 to 21"):
            model.export(path, opset_version=bad)
    with pytest.raises(ValueError, match="input_layout must be one of"):
        model.export(path, input_layout="NWHC")
    with pytest.raises(ExportError, match=r"'dense_64' \(Dense\) with dtype float64"):
        minicnn.Sequential([minicnn.Input((4,)), L.Dense(2, dtype="float64", name="dense_64")]
                           ).export(path)
    inp = minicnn.Input((4,))
    forced = minicnn.Model(inp, L.Dropout(0.5, name="drop")(inp, training=True))
    with pytest.raises(ExportError, match="'drop' .*training=True"):
        forced.export(path)
    with pytest.raises(ExportError, match="never been called"):
        minicnn.Sequential([L.Dense(2)]).export(path)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_leaves_the_old_file(tmp_path, onnx):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    bad = minicnn.Sequential([minicnn.Input((4,)), L.Lambda(lambda x: x + 1.0)])
    with pytest.raises(ExportError):
        bad.export(path, verbose=False)
    minicnn.Sequential([minicnn.Input((4,)), L.Dense(2)]).export(path, verbose=False)
    onnx.checker.check_model(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_verbose(tmp_path, onnx, capsys):
    model = minicnn.Sequential([minicnn.Input((4,)), L.Dense(2)])
    model.export(tmp_path / "a.onnx")
    assert capsys.readouterr().out == f"Saved artifact at '{tmp_path / 'a.onnx'}'.\n"
    model.export(tmp_path / "b.onnx", verbose=False)
    assert capsys.readouterr().out == ""


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    model = minicnn.Sequential([minicnn.Input((4,)), L.Dense(2)])
    with pytest.raises(ImportError, match=r'pip install "minicnn\[onnx\]"'):
        model.export(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
