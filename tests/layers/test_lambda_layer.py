"""Lambda: calling conventions, output shapes, and saving - named functions by name, lambdas as
source text refused unless safe_mode=False (as Keras), never pickled or marshalled."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn import models, ops, serialization

SCALE = 3.0


class Helper:  # an importable class a lambda may use
    @staticmethod
    def twice(x):
        return x * 2


def cube(x):
    return x * x * x


def make_closure_lambda():
    offset = [1.0, -1.0]
    return L.Lambda(lambda x: x * SCALE + ops.relu(x) + np.asarray(offset, "float32"), name="closure")


def round_trip(layer, **kwargs):
    return L.Lambda.from_config(json.loads(json.dumps(layer.get_config())), **kwargs)


def test_call_arguments_training_and_output_shapes():
    x = np.array([[-1.0, 2.0]])
    np.testing.assert_array_equal(L.Lambda(lambda t, p: t ** p, arguments={"p": 2})(x).numpy(), [[1.0, 4.0]])
    seen = []
    layer = L.Lambda(lambda t, training=None: seen.append(training) or t)
    layer(x, training=True)
    layer(x)
    assert seen == [True, False]
    assert L.Lambda(lambda t: t[:, :1]).compute_output_shape((None, 2)) == (None, 1)  # found by running it
    assert L.Lambda(lambda t: t, output_shape=(5, 2)).compute_output_shape((None, 3)) == (None, 5, 2)
    assert L.Lambda(lambda t: t, output_shape=lambda s: s[:1] + (7,)).compute_output_shape((4, 3)) == (4, 7)
    y = L.Lambda(lambda t: ops.concatenate([t, t], axis=-1))(minicnn.Input((3,)))
    assert y.shape == (None, 6)
    with pytest.raises(ValueError, match="mask"):
        L.Lambda(lambda t: t, mask=lambda t, m: m)
    with pytest.raises(TypeError, match="callable"):
        L.Lambda(3)


def test_named_functions_save_by_name():
    layer = L.Lambda(cube, name="cube")
    config = layer.get_config()
    assert config["function"]["class_name"] == "function" and config["function"]["config"] == "cube"
    again = round_trip(layer, custom_objects={"cube": cube})  # a named function needs no unsafe mode
    np.testing.assert_array_equal(again(np.array([2.0])).numpy(), [8.0])
    with pytest.raises(ValueError, match="unknown"):
        round_trip(layer)


def test_lambdas_are_refused_in_safe_mode_as_in_keras():
    layer = L.Lambda(lambda t: t + 1)
    config = layer.get_config()
    assert config["function"]["class_name"] == "__lambda__"
    assert config["function"]["config"]["source"] == "lambda t: t + 1"  # text, not bytecode
    for kwargs in ({}, {"safe_mode": True}):
        with pytest.raises(ValueError, match="arbitrary code execution.*safe_mode=False"):
            round_trip(layer, **kwargs)
    with serialization.SafeModeScope(True):
        with pytest.raises(ValueError, match="safe_mode=False"):
            round_trip(layer)
    with serialization.SafeModeScope(False):
        np.testing.assert_array_equal(round_trip(layer)(np.array([1.0])).numpy(), [2.0])
    np.testing.assert_array_equal(round_trip(layer, safe_mode=False)(np.array([1.0])).numpy(), [2.0])


def test_enable_unsafe_deserialization(monkeypatch):
    monkeypatch.setattr(serialization, "_unsafe_enabled", False)
    layer = L.Lambda(lambda t: t * 5)
    serialization.enable_unsafe_deserialization()
    assert serialization.in_safe_mode() is False
    np.testing.assert_array_equal(round_trip(layer)(np.array([1.0])).numpy(), [5.0])


def test_closures_globals_and_imports_are_saved():
    layer = make_closure_lambda()
    inner = layer.get_config()["function"]["config"]
    assert inner["values"] == {"SCALE": 3.0, "offset": [1.0, -1.0]}
    assert inner["imports"] == {"np": "numpy", "ops": "minicnn.ops"} and inner["missing"] == []
    x = np.array([[-1.0, 2.0]])
    np.testing.assert_allclose(round_trip(layer, safe_mode=False)(x).numpy(), layer(x).numpy())
    helper = L.Lambda(lambda t: Helper.twice(t) + cube(t))
    assert helper.get_config()["function"]["config"]["imports"] == {
        "Helper": f"{__name__}:Helper", "cube": f"{__name__}:cube"}
    np.testing.assert_array_equal(round_trip(helper, safe_mode=False)(np.array([2.0])).numpy(), [12.0])


def test_what_cannot_be_rebuilt_says_why():
    table = np.arange(3.0)  # an array: not a plain value
    uses_array = L.Lambda(lambda t: t * table[1], name="uses_array")
    assert uses_array.get_config()["function"]["config"]["missing"] == ["table"]
    with pytest.raises(ValueError, match=r"'uses_array'.*\['table'\].*custom_objects"):
        round_trip(uses_array, safe_mode=False)
    np.testing.assert_array_equal(round_trip(uses_array, safe_mode=False, custom_objects={"table": table})(
        np.array([3.0])).numpy(), [3.0])
    built = eval("lambda t: t - 1")  # noqa: S307 - no source file to read back
    with pytest.raises(ValueError, match="source text was not available"):
        round_trip(L.Lambda(built, name="built"), safe_mode=False)


def test_two_lambdas_on_one_line_are_told_apart():
    a, b = L.Lambda(lambda t: t + 1), L.Lambda(lambda t, k=2: t * k)
    assert a.get_config()["function"]["config"]["source"] == "lambda t: t + 1"
    assert b.get_config()["function"]["config"]["source"] == "lambda t, k=2: t * k"


def test_lambda_model_save_and_load(tmp_path):
    model = minicnn.Sequential([minicnn.Input((3,)), L.Dense(4), L.Lambda(lambda t: ops.relu(t) * SCALE,
                                                                          output_shape=(4,)), L.Dense(1)])
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        models.load_model(path)
    again = models.load_model(path, safe_mode=False)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with open(path, "rb") as f:
        data = f.read()
    assert b"marshal" not in data and b"pickle" not in data
