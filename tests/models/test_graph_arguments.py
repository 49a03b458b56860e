"""Layers called with several tensor arguments in a functional graph (Keras' endpoint-layer
pattern): nodes record every positional and keyword argument, and the model runs, summarises,
serialises and reloads them."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers, ops


class LogisticEndpoint(layers.Layer):
    """keras-io's "endpoint layer pattern": the loss is computed inside the graph."""

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss_fn = minicnn.losses.BinaryCrossentropy(from_logits=True)

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(self.loss_fn(targets, logits, sample_weight))
        return ops.softmax(logits)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return {"inputs": x, "targets": (x[:, :1] > 0).astype(np.float32),
            "sample_weight": np.ones((n, 1), np.float32)}


def _endpoint_model():
    inputs = minicnn.Input((5,), name="inputs")
    targets = minicnn.Input((1,), name="targets")
    sample_weight = minicnn.Input((1,), name="sample_weight")
    logits = layers.Dense(1, name="logits")(inputs)
    preds = LogisticEndpoint(name="endpoint")(logits, targets, sample_weight)
    return minicnn.Model([inputs, targets, sample_weight], preds)


def test_node_records_every_positional_argument():
    model = _endpoint_model()
    node = model.get_layer("endpoint")._inbound_nodes[0]
    assert [t.name for t in node.input_tensors] == ["logits", "targets", "sample_weight"]
    assert len(node.call_args) == 3 and node.call_kwargs == {}
    assert model.get_layer("endpoint").input == node.input_tensors
    assert [l.name for l in model.layers] == ["inputs", "logits", "targets", "sample_weight", "endpoint"]


def test_endpoint_model_runs_and_adds_its_loss():
    model = _endpoint_model()
    data = _data()
    out = model(data).numpy()
    np.testing.assert_allclose(out, 1.0)  # softmax over one unit
    (loss,) = model.losses
    logits = data["inputs"] @ model.get_layer("logits").kernel.numpy() + model.get_layer("logits").bias.numpy()
    y = data["targets"]
    expected = np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_endpoint_model_trains_without_a_compiled_loss():
    minicnn.utils.set_random_seed(0)
    model = _endpoint_model()
    model.compile(minicnn.optimizers.Adam(0.05))
    history = model.fit(_data(), epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_keyword_tensor_arguments_are_recorded_and_replayed():
    inputs = minicnn.Input((5,), name="inputs")
    targets = minicnn.Input((1,), name="targets")
    logits = layers.Dense(1, name="logits")(inputs)
    preds = LogisticEndpoint(name="endpoint")(logits, targets=targets, sample_weight=None)
    model = minicnn.Model([inputs, targets], preds)
    node = model.get_layer("endpoint")._inbound_nodes[0]
    assert set(node.call_kwargs) == {"targets", "sample_weight"}
    assert [t.name for t in node.input_tensors] == ["logits", "targets"]
    data = _data()
    model([data["inputs"], data["targets"]])
    assert len(model.losses) == 1


def test_config_round_trip_keeps_the_arguments(tmp_path):
    model = _endpoint_model()
    config = json.loads(json.dumps(minicnn.serialization.serialize(model)))
    nodes = [l for l in config["config"]["layers"] if l["name"] == "endpoint"][0]["inbound_nodes"]
    assert [a["config"]["keras_history"] for a in nodes[0]["args"]] == [
        ["logits", 0, 0], ["targets", 0, 0], ["sample_weight", 0, 0]]
    clone = minicnn.models.model_from_config(config, custom_objects={"LogisticEndpoint": LogisticEndpoint})
    clone.set_weights(model.get_weights())
    data = _data()
    np.testing.assert_array_equal(clone(data).numpy(), model(data).numpy())
    assert len(clone.losses) == 1
    path = tmp_path / "endpoint.minicnn"
    model.save(path)
    loaded = minicnn.models.load_model(path, custom_objects={"LogisticEndpoint": LogisticEndpoint})
    np.testing.assert_array_equal(loaded(data).numpy(), model(data).numpy())


def test_eager_call_takes_the_first_argument_by_keyword():
    endpoint = LogisticEndpoint()
    data = _data(8)
    out = endpoint(logits=data["inputs"][:, :1], targets=data["targets"])
    assert out.shape == (8, 1) and len(endpoint.losses) == 1
    with pytest.raises(TypeError, match="without inputs"):
        endpoint(targets=data["targets"])


class Bilinear(layers.Layer):
    """``build`` and ``compute_output_shape`` take each argument's shape by name (Keras' rule)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, a_shape, b_shape):
        self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1], self.units), name="w")

    def call(self, a, b):
        i, j, k = self.w.shape
        ab = (a @ self.w.reshape(i, j * k)).reshape(-1, j, k)  # sum_i a_ni w_ijk
        return (ab * b.reshape(-1, j, 1)).sum(axis=1)

    def compute_output_shape(self, a_shape, b_shape):
        return (a_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_build_gets_each_argument_shape_by_name():
    a, b = minicnn.Input((2,)), minicnn.Input((3,))
    layer = Bilinear(4)
    out = layer(a, b)
    assert out.shape == (None, 4) and layer.w.shape == (2, 3, 4)
    assert layer.get_build_config() == {"shapes_dict": {"a_shape": [None, 2], "b_shape": [None, 3]}}
    model = minicnn.Model([a, b], out)
    xa, xb = np.ones((5, 2), np.float32), np.ones((5, 3), np.float32)
    np.testing.assert_allclose(model([xa, xb]).numpy(), np.broadcast_to(layer.w.numpy().sum((0, 1)), (5, 4)),
                               rtol=1e-5)
    assert model.compute_output_shape([(None, 2), (None, 3)]) == (None, 4)


def test_build_with_misnamed_parameters_is_refused():
    class Misnamed(layers.Layer):
        def build(self, first, second):
            pass

        def call(self, a, b):
            return a + b

    with pytest.raises(ValueError, match=r"a_shape, b_shape"):
        Misnamed()(minicnn.Input((2,)), minicnn.Input((2,)))


def test_output_shape_found_by_running_all_arguments():
    class Concat(layers.Layer):
        def call(self, a, b):
            return ops.concatenate([a, b], axis=-1)

    a, b = minicnn.Input((2,)), minicnn.Input((3,))
    out = Concat()(a, b)
    assert out.shape == (None, 5)
    model = minicnn.Model([a, b], out)
    assert model([np.ones((4, 2)), np.zeros((4, 3))]).shape == (4, 5)
