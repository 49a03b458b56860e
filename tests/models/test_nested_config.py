"""serialize() turns what a get_config() holds into plain data, as Keras' serialize_keras_object
does: nested layers (and other objects) become nested config dicts, arrays Keras' "__numpy__"
dicts; deserialize() turns them back."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.saving import deserialize_keras_object, serialize_keras_object


@minicnn.saving.register_keras_serializable(package="NestedTest")
class Residual(layers.Layer):
    """The serialization guide's pattern: get_config() returns the sub-layer (and an array)
    itself and from_config() deserializes them."""

    def __init__(self, inner, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.scale = np.ones(1, np.float32) if scale is None else np.asarray(scale, np.float32)

    def call(self, x):
        return x + self.inner(x) * self.scale

    def get_config(self):
        return {**super().get_config(), "inner": self.inner, "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["inner"] = deserialize_keras_object(config["inner"])
        config["scale"] = deserialize_keras_object(config["scale"])
        return cls(**config)


def test_nested_layer_is_serialized_to_json():
    layer = Residual(layers.Dense(3, name="inner_dense"), scale=[0.5, 2.0, 1.0], name="res")
    config = serialize_keras_object(layer)
    text = json.dumps(config)  # nothing but plain data
    inner = config["config"]["inner"]
    assert inner["class_name"] == "Dense" and inner["config"]["units"] == 3
    assert config["config"]["scale"] == {"class_name": "__numpy__",
                                         "config": {"value": [0.5, 2.0, 1.0], "dtype": "float32"}}
    clone = deserialize_keras_object(json.loads(text))
    assert isinstance(clone.inner, layers.Dense) and clone.inner.name == "inner_dense"
    np.testing.assert_array_equal(clone.scale, [0.5, 2.0, 1.0])


def test_model_with_a_nested_layer_saves_and_loads(tmp_path):
    inp = minicnn.Input((3,))
    model = minicnn.Model(inp, Residual(layers.Dense(3), name="res")(inp))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    path = tmp_path / "nested.minicnn"
    model.save(path)
    loaded = minicnn.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert minicnn.models.model_from_json(model.to_json()).get_layer("res").inner.units == 3


def test_special_values_round_trip():
    values = {"array": np.arange(6, dtype=np.int32).reshape(2, 3), "scalar": np.float32(1.5),
              "tensor": minicnn.Tensor(np.ones(2, np.float32)), "bytes": b"abc",
              "slice": slice(1, None, 2), "ellipsis": Ellipsis, "tuple": (1, 2), "plain": "relu"}
    config = json.loads(json.dumps(serialize_keras_object(values)))
    assert config["scalar"] == 1.5 and config["plain"] == "relu"
    back = deserialize_keras_object(config)
    np.testing.assert_array_equal(back["array"], values["array"])
    assert back["array"].dtype == np.int32
    assert isinstance(back["tensor"], minicnn.Tensor) and back["tensor"].numpy().tolist() == [1.0, 1.0]
    assert (back["bytes"], back["slice"], back["ellipsis"]) == (b"abc", slice(1, None, 2), Ellipsis)
    assert back["tuple"] == [1, 2] and back["plain"] == "relu"  # plain strings stay strings


def test_plain_dict_with_nested_objects_is_rebuilt():
    config = {"a": serialize_keras_object(layers.Dense(2)), "b": [1, {"c": "zeros"}]}
    back = deserialize_keras_object(config)
    assert isinstance(back["a"], layers.Dense) and back["b"] == [1, {"c": "zeros"}]


def test_bad_values_are_refused():
    with pytest.raises(TypeError, match="dtype"):
        serialize_keras_object(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="__numpy__"):
        deserialize_keras_object({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}})
    with pytest.raises(ValueError, match="malformed"):
        deserialize_keras_object({"class_name": "__numpy__", "config": {"value": [1]}})

    class BadConfig(layers.Layer):
        def get_config(self):
            return ["not", "a", "dict"]

    with pytest.raises(TypeError, match="must return a dict"):
        serialize_keras_object(BadConfig())
