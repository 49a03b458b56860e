"""The Keras 3 layer contract: build() marks the layer built, weights are Variables, layers
track the variables and sub-layers assigned to them, add_variable, Metric.add_variable."""

import numpy as np
import pytest

import minicnn
from minicnn import layers, metrics, optimizers


def test_weights_set_after_build_are_used():
    # The silent wrong answer of issue 16: the first call rebuilt the layer with fresh weights.
    conv = layers.Conv2D(2, 3)
    conv.build((None, 5, 5, 1))
    assert conv.built
    conv.set_weights([np.ones((3, 3, 1, 2), np.float32), np.array([0.0, 1.0], np.float32)])
    y = conv(np.ones((1, 5, 5, 1), np.float32)).numpy()
    np.testing.assert_array_equal(y[..., 0], 9.0)
    np.testing.assert_array_equal(y[..., 1], 10.0)


def test_build_is_wrapped_for_user_layers():
    calls = []

    class Scale(layers.Layer):
        def build(self, input_shape):
            calls.append(input_shape)
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    layer = Scale(name="scale")
    layer.build((None, 3))
    assert layer.built and layer.path == "scale" and layer.w.path == "scale/w"
    layer.w.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(layer(np.ones((1, 3))).numpy(), [[1.0, 2.0, 3.0]])
    assert calls == [(None, 3)]
    assert layer.get_build_config() == {"input_shape": [None, 3]}


def test_super_build_inside_a_build_runs_once():
    class Base(layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight(shape=(1,), name="a")

    class Child(Base):
        def build(self, input_shape):
            super().build(input_shape)
            assert not self.built  # marked only when the outermost build returns
            self.b = self.add_weight(shape=(1,), name="b")

        def call(self, x):
            return x * self.a + self.b

    layer = Child()
    layer(np.ones((1, 1)))
    assert [w.name for w in layer.weights] == ["a", "b"]


def test_failed_build_leaves_the_layer_unbuilt():
    dense = layers.Dense(2)
    with pytest.raises(ValueError):
        dense.build((None, None))
    assert not dense.built


def test_build_with_several_shape_arguments_round_trips():
    class Pair(layers.Layer):
        def build(self, a_shape, b_shape):
            self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1]), name="w")

        def call(self, a, b):
            return a @ self.w + b

    layer = Pair()
    layer.build((None, 2), (None, 3))
    config = layer.get_build_config()
    assert config == {"shapes_dict": {"a_shape": [None, 2], "b_shape": [None, 3]}}
    clone = Pair()
    clone.build_from_config(config)
    assert clone.built and clone.w.shape == (2, 3)


def test_weights_are_variables():
    dense = layers.Dense(3)
    dense.build((None, 2))
    assert all(isinstance(w, minicnn.Variable) for w in dense.weights)
    kernel = dense.weights[0]
    assert (kernel.name, kernel.path, kernel.shape, kernel.dtype) == ("kernel", dense.name + "/kernel",
                                                                     (2, 3), "float32")
    assert repr(kernel).startswith(f"<Variable path={dense.name}/kernel, shape=(2, 3), dtype=float32, value=[[")


def test_add_weight_keras3_signature():
    layer = layers.Layer(name="owner")
    w = layer.add_weight((2,), "ones", "float64", name="w")
    assert w.dtype == "float64" and w.numpy().tolist() == [1.0, 1.0] and w.path == "owner/w"
    counter = layer.add_weight(shape=(), dtype="int32", trainable=False, name="count")
    assert counter.numpy() == 0 and counter.dtype == "int32"  # zeros for non-floats
    legacy = layer.add_weight("legacy", (3,))  # Keras 2's order still works
    assert legacy.name == "legacy" and legacy.shape == (3,)
    with pytest.raises(TypeError, match="at most 3 positional"):
        layer.add_weight((1,), "zeros", "float32", True)
    with pytest.raises(TypeError, match="both positionally and by keyword"):
        layer.add_weight((1,), shape=(2,))
    assert layer.trainable_weights == [w, legacy]
    assert layer.non_trainable_weights == [counter]


def test_add_variable():
    layer = layers.Layer(name="owner2")
    v = layer.add_variable((2, 2), "zeros", trainable=False, name="state")
    assert v.path == "owner2/state" and layer.non_trainable_weights == [v]


def test_variables_and_layers_assigned_as_attributes_are_tracked():
    class Holder(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = minicnn.Variable(np.ones(2, np.float32), name="scale")
            self.frozen = minicnn.Variable(np.zeros(2, np.float32), trainable=False, name="frozen")
            self.inner = layers.Dense(2)

        def call(self, x):
            return self.inner(x) * self.scale + self.frozen

    holder = Holder()
    holder(np.ones((1, 2)))
    assert [w.name for w in holder.weights] == ["scale", "frozen", "kernel", "bias"]
    assert [w.name for w in holder.trainable_weights] == ["scale", "kernel", "bias"]
    holder.scale = holder.scale  # re-assigning does not track twice
    assert len(holder.weights) == 4


def test_trainable_flag_flows_to_variables_and_weight_lists():
    model = minicnn.Sequential([minicnn.Input((2,)), layers.Dense(2), layers.Dense(1)])
    first = model.layers[0]
    first.trainable = False
    assert not first.kernel.trainable and not first.kernel.requires_grad
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    first.trainable = True
    assert first.kernel.requires_grad and len(model.trainable_weights) == 4
    model.layers[1].bias.trainable = False  # one variable, directly
    assert all(w is not model.layers[1].bias for w in model.trainable_weights)
    assert any(w is model.layers[1].bias for w in model.non_trainable_weights)


def test_torch_style_training_loop_on_variables():
    # The torch-backend Keras idiom: loss.backward(), v.value.grad, optimizer.apply.
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(1)])
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    opt = optimizers.Adam(0.1)
    kernel_buffer = model.weights[0].data
    losses = []
    for _ in range(60):
        for v in model.trainable_weights:
            v.grad = None
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.apply([v.value.grad for v in model.trainable_weights], model.trainable_weights)
        losses.append(float(loss))
    assert losses[-1] < 0.01 * losses[0]
    assert model.weights[0].data is kernel_buffer  # updated in place
    model.weights[0].assign(np.zeros((3, 1)))  # the fused Adam's views still see the weights
    opt.apply([np.ones((3, 1), np.float32), np.zeros(1, np.float32)], model.trainable_weights)
    assert np.all(model.weights[0].numpy() < 0)


def test_load_weights_keeps_the_variables(tmp_path):
    model = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(2)])
    before = list(model.weights)
    path = tmp_path / "w.minicnn"
    model.save_weights(path)
    for w in model.weights:
        w.assign(np.zeros(w.shape))
    model.load_weights(path)
    assert all(a is b for a, b in zip(before, model.weights))
    assert np.abs(model.weights[0].numpy()).sum() > 0


class _TruePositives(metrics.Metric):
    """The custom metric of Keras' "training with built-in methods" guide (no reset_state)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.argmax(np.asarray(y_pred), axis=1)
        self.true_positives.assign_add(np.sum(np.asarray(y_true).ravel() == y_pred))

    def result(self):
        return self.true_positives


def test_metric_add_variable():
    m = _TruePositives()
    m.update_state(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))
    assert float(m.result()) == 2.0
    (v,) = m.variables
    assert v.path == "categorical_true_positives/ctp" and not v.trainable and v.aggregation == "sum"
    m.reset_state()  # Keras' default: every variable back to zero
    assert float(m.result()) == 0.0
    assert m.add_weight(name="w").shape == ()  # Keras' backwards-compatible alias


def test_metric_without_variables_must_implement_reset_state():
    class Bare(metrics.Metric):
        pass

    with pytest.raises(NotImplementedError, match="reset_state"):
        Bare().reset_state()
