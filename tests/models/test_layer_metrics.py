"""Metrics that layers hold and update in ``call`` (keras-io's "endpoint layer" pattern) are in
``model.metrics``, reset every epoch and logged by fit/evaluate, as Keras tracks them: in public
or private attributes, lists and dicts, in layers nested inside inner models, and created when a
layer is built during the first step."""

import numpy as np
import pytest

import minicnn as keras
from minicnn import layers, ops


class LogisticEndpoint(layers.Layer):
    """keras-io's examples/keras_recipes/endpoint_layer_pattern.py."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_metric = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(self.loss_fn(targets, logits, sample_weight))
            self.accuracy_metric.update_state(targets, logits, sample_weight)
        return ops.softmax(logits)


class LogReg(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.logistic_endpoint = LogisticEndpoint()

    def call(self, inputs):
        logits = self.dense(inputs["inputs"])
        return self.logistic_endpoint(logits=logits, targets=inputs["targets"],
                                      sample_weight=inputs["sample_weight"])


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return {"inputs": x, "targets": (x[:, :1] > 0).astype(np.float32),
            "sample_weight": rng.random((n, 1)).astype(np.float32)}


def test_endpoint_layer_metric_is_logged_with_the_epochs_value():
    keras.utils.set_random_seed(0)
    model = LogReg()
    model.compile(keras.optimizers.SGD(learning_rate=0.0))  # frozen weights: a known accuracy
    data = _data()
    history = model.fit(data, batch_size=8, epochs=2, verbose=0)
    assert [m.name for m in model.metrics] == ["loss", "accuracy"]
    logits = data["inputs"] @ model.dense.kernel.numpy() + model.dense.bias.numpy()
    hits = ((logits > 0.5) == (data["targets"] > 0.5)).astype(np.float64)
    want = float(np.sum(hits * data["sample_weight"]) / np.sum(data["sample_weight"]))
    # the same each epoch: the metric is reset at every epoch's start
    assert history.history["accuracy"] == pytest.approx([want, want], rel=1e-6)
    assert model.evaluate(data, batch_size=8, verbose=0, return_dict=True)["accuracy"] == \
        pytest.approx(want, rel=1e-6)


class Tally(layers.Layer):
    """Metrics in a private attribute, a dict and a list; one more made when the layer builds."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._private_mean = keras.metrics.Mean(name="private_mean")
        self.by_name = {"max": keras.metrics.Mean(name="dict_mean")}
        self.listed = [keras.metrics.Sum(name="listed_sum")]

    def build(self, input_shape):
        self.built_mean = keras.metrics.Mean(name="built_mean")

    def call(self, x):
        for metric in (self._private_mean, self.by_name["max"], self.built_mean):
            metric.update_state(ops.mean(x))
        self.listed[0].update_state(1.0)
        return x


def _compile_and_fit(model):
    model.compile("sgd", "mse")
    x = np.full((12, 3), 2.0, np.float32)
    return model.fit(x, x, batch_size=4, epochs=1, verbose=0).history


def test_metrics_in_private_attributes_dicts_lists_and_build_are_tracked():
    history = _compile_and_fit(keras.Sequential([keras.Input((3,)), Tally()]))
    assert history["private_mean"] == [2.0] and history["dict_mean"] == [2.0]
    assert history["built_mean"] == [2.0] and history["listed_sum"] == [3.0]


def test_a_subclassed_model_whose_layer_builds_in_the_first_step():
    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__()
            self.tally = Tally()

        def call(self, x):
            return self.tally(x)

    history = _compile_and_fit(Wrapper())
    assert history["built_mean"] == [2.0] and history["listed_sum"] == [3.0]


def test_layers_inside_an_inner_model_count_but_its_own_trackers_do_not():
    inner = keras.Sequential([keras.Input((3,)), Tally()])
    inner.compile("sgd", "mse")  # its loss tracker is its own business
    inputs = keras.Input((3,))
    outer = keras.Model(inputs, inner(inputs))
    history = _compile_and_fit(outer)
    assert sorted(history) == ["built_mean", "dict_mean", "listed_sum", "loss", "private_mean"]
    assert [m.name for m in outer.metrics][0] == "loss" and len(outer.metrics) == 5
