"""Sequential (three input styles, add/pop), functional (residual, two inputs, shared layer,
several outputs), subclassed models; summary text; build-time shape errors; config round trips."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers, models, serialization
from minicnn.autograd import Tensor

L = layers

REFERENCE_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                      │ (None, 26, 26, 32)          │             320 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ max_pooling2d (MaxPooling2D)         │ (None, 13, 13, 32)          │               0 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ conv2d_1 (Conv2D)                    │ (None, 11, 11, 64)          │          18,496 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ max_pooling2d_1 (MaxPooling2D)       │ (None, 5, 5, 64)            │               0 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ flatten (Flatten)                    │ (None, 1600)                │               0 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ dense (Dense)                        │ (None, 128)                 │         204,928 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ dense_1 (Dense)                      │ (None, 10)                  │           1,290 │
└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘
 Total params: 225,034 (879.04 KB)
 Trainable params: 225,034 (879.04 KB)
 Non-trainable params: 0 (0.00 B)
"""


def reference_layers():
    return [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(), L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)]


@pytest.fixture(autouse=True)
def fresh_names():
    minicnn.layers.clear_session()


def test_reference_cnn_summary_matches_keras_at_88_columns():
    model = minicnn.Sequential([minicnn.Input((28, 28, 1))] + reference_layers())
    captured = []
    model.summary(line_length=88, print_fn=captured.append)
    assert captured == [REFERENCE_SUMMARY]
    assert model.count_params() == 225_034


def test_summary_default_width_follows_terminal(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")  # not a terminal: Keras uses min(88, 80 - 4)
    model = minicnn.Sequential([minicnn.Input((28, 28, 1))] + reference_layers())
    model.summary()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert lines[1] == "┏" + "━" * 33 + "┳" + "━" * 24 + "┳" + "━" * 15 + "┓"
    assert "│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │" in lines
    assert lines[-3] == " Total params: 225,034 (879.04 KB)"


@pytest.mark.parametrize("style", ["Input", "input_shape", "deferred", "build"])
def test_sequential_input_styles(style):
    if style == "Input":
        model = minicnn.Sequential([minicnn.Input((28, 28, 1))] + reference_layers())
    elif style == "input_shape":
        first = L.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1))
        model = minicnn.Sequential([first] + reference_layers()[1:])
    else:
        model = minicnn.Sequential(reference_layers())
        assert not model.built and model.inputs is None
        if style == "build":
            model.build((None, 28, 28, 1))
        else:
            model(np.zeros((2, 28, 28, 1), np.float32))
    assert model.built
    assert [l.name for l in model.layers][:2] == ["conv2d", "max_pooling2d"]
    assert model.inputs[0].shape == (None, 28, 28, 1) and model.outputs[0].shape == (None, 10)
    assert model.count_params() == 225_034
    assert len(model.weights) == 8 and len(model.trainable_weights) == 8
    y = model(np.random.default_rng(0).normal(size=(3, 28, 28, 1)).astype(np.float32))
    assert y.shape == (3, 10)
    y.sum().backward()
    assert all(w.grad is not None for w in model.trainable_weights)
    assert model.output_names == ["dense_1"]


def test_sequential_unbuilt_summary():
    model = minicnn.Sequential([L.Dense(4), L.Dense(2)])
    text = []
    model.summary(line_length=70, print_fn=text.append)
    assert "0 (unbuilt)" in text[0] and "│ ?" in text[0]


def test_sequential_add_pop_and_build_time_shape_errors():
    model = minicnn.Sequential([minicnn.Input((8,))])
    model.add(L.Dense(4, name="hidden"))
    assert model.output_shape == (None, 4)
    model.add(L.Dense(2))
    assert model.output_shape == (None, 2) and len(model.layers) == 2
    popped = model.pop()
    assert popped.name == "dense" and model.output_shape == (None, 4)
    with pytest.raises(ValueError, match=r'"bad_pool" \(MaxPooling2D\).*\(None, 4\).*4-D'):
        model.add(L.MaxPooling2D(name="bad_pool"))
    assert [l.name for l in model.layers] == ["hidden"]  # the failed layer was not kept
    with pytest.raises(TypeError, match="Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="unique"):
        model.add(model.layers[0])
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_sequential_wrong_input_shape_at_call():
    model = minicnn.Sequential([minicnn.Input((28, 28, 1))] + reference_layers())
    with pytest.raises(ValueError, match=r"\(None, 28, 28, 1\).*\(2, 28, 28\)"):
        model(np.zeros((2, 28, 28), np.float32))


def test_functional_residual_block():
    inp = minicnn.Input((8, 8, 3))
    h = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    h = L.Conv2D(3, 3, padding="same")(h)
    out = L.Add()([h, inp])
    out = L.Dense(2)(L.GlobalAveragePooling2D()(out))
    model = minicnn.Model(inputs=inp, outputs=out)
    assert isinstance(model, models.Functional) and isinstance(model, minicnn.Model)
    assert model.name == "functional"
    assert [l.name for l in model.layers] == ["input_layer", "conv2d", "conv2d_1", "add",
                                              "global_average_pooling2d", "dense"]
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype(np.float32)
    y = model(x)
    # Same result computed layer by layer.
    conv1, conv2, add, gap, dense = model.layers[1:]
    manual = dense(gap(add([conv2(conv1(x)), x])))
    np.testing.assert_allclose(y.data, manual.data, rtol=1e-6)
    y.sum().backward()
    assert all(w.grad is not None for w in model.trainable_weights)
    text = []
    model.summary(line_length=108, print_fn=text.append)
    assert "Connected to" in text[0]
    assert "│ conv2d_1[0][0],            │\n" in text[0]  # wrapped like rich: one entry a line
    assert "│ input_layer[0][0]          │\n" in text[0]
    assert model.get_layer("add") is add and model.get_layer(index=1) is conv1


def test_functional_chain_prints_the_sequential_table():
    inp = minicnn.Input((4,))
    model = minicnn.Model(inp, L.Dense(2)(L.Dense(3)(inp)))
    text = []
    model.summary(line_length=88, print_fn=text.append)
    assert "Connected to" not in text[0]
    assert "│ input_layer (InputLayer)             │ (None, 4)" in text[0]


def test_two_inputs_concatenate_and_dict_inputs():
    a = minicnn.Input((4,), name="a")
    b = minicnn.Input((3,), name="b")
    merged = L.Concatenate()([L.Dense(5)(a), b])
    out = L.Dense(1, name="score")(merged)
    model = minicnn.Model([a, b], out)
    xa, xb = np.ones((2, 4), np.float32), np.ones((2, 3), np.float32)
    y1 = model([xa, xb])
    y2 = model({"a": xa, "b": xb})
    np.testing.assert_array_equal(y1.data, y2.data)
    assert model.output_names == ["score"]
    with pytest.raises(ValueError, match="expects 2 input"):
        model(xa)
    with pytest.raises(ValueError, match=r'input 1 \("b"\).*\(None, 3\).*\(2, 4\)'):
        model([xa, xa])


def test_shared_layer_and_multiple_outputs():
    inp1, inp2 = minicnn.Input((6,)), minicnn.Input((6,))
    shared = L.Dense(4, name="shared")
    h1, h2 = shared(inp1), shared(inp2)
    model = minicnn.Model([inp1, inp2], [L.Dense(1, name="o1")(h1), L.Add(name="o2")([h1, h2])])
    assert [l.name for l in model.layers].count("shared") == 1
    assert len(model.weights) == 2 + 2
    x1, x2 = np.ones((2, 6), np.float32), np.full((2, 6), 2.0, np.float32)
    o1, o2 = model([x1, x2])
    np.testing.assert_allclose(o2.data, shared(x1).data + shared(x2).data, rtol=1e-6)
    (o1.sum() + o2.sum()).backward()
    assert np.abs(shared.kernel.grad).sum() > 0
    text = []
    model.summary(line_length=120, print_fn=text.append)
    assert "│ input_layer[0][0],            │" in text[0]
    assert "│ input_layer_1[0][0]           │" in text[0]
    assert "│ shared[0][0], shared[1][0]    │" in text[0]
    clone = models.model_from_config(serialization.serialize(model))
    clone.set_weights(model.get_weights())
    c1, c2 = clone([x1, x2])
    np.testing.assert_allclose(c2.data, o2.data)


def test_functional_build_time_shape_error_names_layer_and_shapes():
    inp = minicnn.Input((28, 28, 1))
    h = L.Flatten()(inp)
    with pytest.raises(ValueError, match=r'"conv" \(Conv2D\).*\(None, 784\)'):
        L.Conv2D(8, 3, name="conv")(h)
    a = L.Dense(4)(h)
    b = L.Dense(5)(h)
    with pytest.raises(ValueError, match=r'"add" \(Add\).*\(None, 4\).*\(None, 5\)'):
        L.Add()([a, b])


def test_graph_disconnected():
    a, b = minicnn.Input((2,)), minicnn.Input((2,))
    out = L.Add()([a, b])
    with pytest.raises(ValueError, match="disconnected"):
        minicnn.Model(a, out)


def test_subclassed_model():
    class Net(minicnn.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.conv = L.Conv2D(2, 3, kernel_regularizer="l2")
            self.pool = L.GlobalMaxPooling2D()
            self.heads = [L.Dense(units), L.Dense(1)]
            self.drop = L.Dropout(0.5, seed=0)

        def call(self, x, training=False):
            h = self.drop(self.pool(self.conv(x)), training=training)
            return self.heads[1](self.heads[0](h))

    model = Net(name="net")
    assert not model.built
    x = np.ones((2, 6, 6, 1), np.float32)
    y = model(x)
    assert y.shape == (2, 1) and model.built
    assert [l.name for l in model.layers] == ["conv2d", "global_max_pooling2d", "dense", "dense_1",
                                              "dropout"]
    assert len(model.trainable_weights) == 6 and model.count_params() == 20 + 2 * 4 + 4 + 5
    assert len(model.losses) == 1  # the conv kernel's L2 penalty
    model(x, training=True).sum().backward()
    assert all(w.grad is not None for w in model.trainable_weights)
    text = []
    model.summary(line_length=88, print_fn=text.append)
    assert 'Model: "net"' in text[0] and "│ conv2d (Conv2D)" in text[0]
    assert Net.from_config(model.get_config()).units == 4
    # A subclassed model inside a functional graph.
    inp = minicnn.Input((6, 6, 1))
    outer = minicnn.Model(inp, Net()(inp))
    assert outer.outputs[0].shape == (None, 1)


def test_training_flag_propagates_to_nested_layers():
    model = minicnn.Sequential([minicnn.Input((100,)), L.Dropout(0.5, seed=1)])
    x = np.ones((1, 100), np.float32)
    np.testing.assert_array_equal(model(x).data, x)
    assert (model(x, training=True).data == 0).any()
    inner = minicnn.Sequential([minicnn.Input((100,)), L.BatchNormalization()])
    outer = minicnn.Sequential([minicnn.Input((100,)), inner])
    outer(np.random.default_rng(0).normal(size=(8, 100)).astype(np.float32), training=True)
    assert np.abs(inner.layers[0].moving_mean.data).sum() > 0


def test_model_losses_collect_nested_regularizers():
    model = minicnn.Sequential([minicnn.Input((3,)), L.Dense(2, kernel_regularizer="l1"),
                                L.Dense(1, kernel_regularizer=minicnn.regularizers.L2(0.5))])
    model(np.ones((1, 3), np.float32))
    assert len(model.losses) == 2
    total = model.losses[0] + model.losses[1]
    total.backward()
    assert model.layers[0].kernel.grad is not None


def test_sequential_config_round_trip_json():
    model = minicnn.Sequential([minicnn.Input((28, 28, 1))] + reference_layers(), name="ref")
    config = json.loads(json.dumps(serialization.serialize(model)))
    clone = models.model_from_config(config)
    assert clone.name == "ref" and clone.count_params() == 225_034
    assert [l.get_config() for l in clone.layers] == [l.get_config() for l in model.layers]
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(clone(x).data, model(x).data, rtol=1e-6)
    again = minicnn.Sequential.from_config(model.get_config())
    assert again.count_params() == 225_034


def test_functional_config_round_trip_json():
    inp = minicnn.Input((8, 8, 3))
    h = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(inp))
    out = L.Concatenate()([h, inp])
    model = minicnn.Model(inp, L.Dense(2)(L.Flatten()(out)), name="fn")
    config = json.loads(json.dumps(model.get_config()))
    clone = minicnn.Model.from_config(config)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params()
    assert len(clone.non_trainable_weights) == 2
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(clone(x).data, model(x).data, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_models_in_float64_and_float32(dtype):
    model = minicnn.Sequential([minicnn.Input((6, 6, 2), dtype=dtype),
                                L.Conv2D(3, 3, dtype=dtype), L.Flatten(dtype=dtype),
                                L.Dense(2, dtype=dtype)])
    y = model(np.ones((1, 6, 6, 2)))
    assert y.dtype == np.dtype(dtype)
    text = []
    model.summary(line_length=88, print_fn=text.append)
    n = model.count_params()
    size = n * np.dtype(dtype).itemsize
    assert f" Total params: {n:,} ({size:.2f} B)" in text[0] or f"({size / 1024:.2f} KB)" in text[0]


def test_trainable_false_moves_weights_to_non_trainable():
    model = minicnn.Sequential([minicnn.Input((3,)), L.Dense(2), L.Dense(1)])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert not model.layers[0].kernel.requires_grad
    text = []
    model.summary(line_length=88, print_fn=text.append)
    assert " Trainable params: 3 (12.00 B)" in text[0]
    assert " Non-trainable params: 8 (32.00 B)" in text[0]


def test_model_rejects_non_symbolic_inputs():
    with pytest.raises(TypeError, match="symbolic"):
        minicnn.Model(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(TypeError, match="only name"):
        minicnn.Model(3)
    assert isinstance(Tensor(np.zeros(1)), Tensor)


def test_symbolic_plus_adds_an_add_layer():
    inp = minicnn.Input((4,))
    h = L.Dense(4)(inp)
    model = minicnn.Model(inp, h + inp)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Add"]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(model(x).data, model.layers[1](x).data + 1, rtol=1e-6)
    with pytest.raises(TypeError, match="symbolic"):
        h + 1.0


def test_subclass_passing_a_graph_to_super_init():
    class Tiny(minicnn.Model):
        def __init__(self, units=3, **kwargs):
            inp = minicnn.Input((4,))
            super().__init__(inp, L.Dense(units)(inp), **kwargs)
            self.units = units

    model = Tiny(units=2, name="tiny")
    assert isinstance(model, Tiny) and isinstance(model, models.Functional)
    assert model.name == "tiny" and model.outputs[0].shape == (None, 2)
    assert model(np.ones((5, 4), np.float32)).shape == (5, 2)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense"]
