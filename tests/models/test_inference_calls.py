"""Inference calls (issue 19, batch-1 overhead): the direct paths that ``Functional.call``,
``Layer._convert_input`` and ``Merge`` take for plain tensors give the results of the general
ones, follow weight changes, and record no graph under ``no_grad``."""

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.autograd import Tensor, no_grad


class Halves(layers.Layer):
    """Two outputs, a list: the graph walk's nested-output path."""

    def call(self, x):
        return [x * 2.0, x + 1.0]

    def compute_output_shape(self, input_shape):
        return [input_shape, input_shape]


class Minus(layers.Layer):
    """A tensor passed by keyword: the graph walk's keyword path."""

    def call(self, a, b=None):
        return a - b


def _graph():
    minicnn.utils.set_random_seed(0)
    inp = minicnn.Input((4, 4, 3))
    h = layers.Conv2D(5, 3, padding="same")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    twice, plus = Halves()(h)
    merged = layers.Add()([twice, plus])
    out = Minus()(merged, b=layers.Dense(5)(h))
    return minicnn.Model(inp, out)


def _by_hand(model, x):
    """The same graph run one layer at a time, without the model's graph walk."""
    conv, bn, relu, halves, add, dense, minus = model.layers[1:]
    h = relu(bn(conv(x, training=False), training=False), training=False)
    return minus(add(halves(h)), b=dense(h))


def test_graph_walk_matches_layer_by_layer_and_follows_weight_changes():
    model = _graph()
    x = np.random.default_rng(1).random((1, 4, 4, 3), dtype=np.float32)
    with no_grad():
        first = model(x, training=False).data
        np.testing.assert_array_equal(first, _by_hand(model, x).data)
        model.set_weights([w * 1.5 + 0.25 for w in model.get_weights()])
        second = model(x, training=False).data
        np.testing.assert_array_equal(second, _by_hand(model, x).data)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(model.predict(x, verbose=0), second)


def test_no_graph_is_recorded_under_no_grad_and_one_is_outside_it():
    model = _graph()
    x = np.random.default_rng(2).random((2, 4, 4, 3), dtype=np.float32)
    with no_grad():
        out = model(x, training=False)
    assert out._ctx is None and not out.requires_grad
    out = model(x, training=False)
    assert out._ctx is not None and out.requires_grad


@pytest.mark.parametrize("layer_dtype, given, expected", [
    ("float32", np.float64, np.float32), ("float64", np.float32, np.float64),
    ("float32", np.float32, np.float32), ("float32", np.int32, np.int32)])
def test_tensor_inputs_are_autocast_to_the_layer_dtype(layer_dtype, given, expected):
    seen = []

    class Probe(layers.Layer):
        def call(self, x):
            seen.append(x.dtype)
            return x

    Probe(dtype=layer_dtype)(Tensor(np.ones((2, 3), dtype=given)))
    assert seen == [np.dtype(expected)]


def test_merge_checks_shapes_only_when_they_differ():
    a = Tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(layers.Add()([a, a]).data, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(layers.Add()([a, Tensor(np.ones((1, 3), np.float32))]).data,
                                  np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match="same shape"):
        layers.Add()([a, Tensor(np.ones((2, 4), np.float32))])
    with pytest.raises(ValueError, match="same rank"):
        layers.Add()([a, Tensor(np.ones((3,), np.float32))])
