"""keras.constraints, and the optimizer applying a variable's constraint after every update (a
layer's kernel_constraint / bias_constraint used to be stored and never applied)."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import constraints, layers, optimizers

EPS = 1e-7  # Keras' backend.epsilon()


def _norms(w, axis):
    return np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, [0, 1, 2]])
def test_constraints_match_the_keras_formulas(dtype, axis):
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(3, 3, 2, 4)) * 2).astype(dtype)
    n = _norms(w, tuple(axis) if isinstance(axis, list) else axis)
    cases = [
        (constraints.MaxNorm(max_value=1.5, axis=axis), w * (np.clip(n, 0, 1.5) / (EPS + n))),
        (constraints.MinMaxNorm(0.5, 1.5, rate=0.7, axis=axis),
         w * ((0.7 * np.clip(n, 0.5, 1.5) + 0.3 * n) / (EPS + n))),
        (constraints.UnitNorm(axis=axis), w / (EPS + n)),
        (constraints.NonNeg(), np.where(w < 0, 0, w)),
    ]
    for constraint, want in cases:
        got = constraint(minicnn.Variable(w))
        assert got.dtype == dtype and got.shape == w.shape
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_max_norm_bounds_the_norms_and_keeps_small_weights():
    w = np.array([[3.0, 0.1], [4.0, 0.2]])
    out = constraints.MaxNorm(2.0)(w)
    np.testing.assert_allclose(_norms(out, 0), [[2.0, np.sqrt(0.05)]], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], w[:, 1], rtol=1e-6)


def test_names_config_and_get():
    for name, cls in [("max_norm", constraints.MaxNorm), ("MinMaxNorm", constraints.MinMaxNorm),
                      ("non_neg", constraints.NonNeg), ("unit_norm", constraints.UnitNorm)]:
        assert type(constraints.get(name)) is cls
    c = constraints.MinMaxNorm(0.2, 3.0, rate=0.5, axis=[0, 1])
    again = constraints.deserialize(json.loads(json.dumps(constraints.serialize(c))))
    assert type(again) is constraints.MinMaxNorm and again.get_config() == c.get_config()
    assert constraints.max_norm is constraints.MaxNorm and constraints.get(None) is None
    assert type(constraints.get(constraints.UnitNorm)) is constraints.UnitNorm
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        constraints.get(3)
    with pytest.raises(TypeError, match="axis must be an int or a list of ints"):
        constraints.UnitNorm(axis="rows")


def test_layer_config_keeps_its_constraints():
    dense = layers.Dense(3, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg())
    config = json.loads(json.dumps(minicnn.serialization.serialize(dense)))
    again = minicnn.serialization.deserialize(config)
    assert isinstance(again.kernel_constraint, constraints.MaxNorm)
    assert isinstance(again.bias_constraint, constraints.NonNeg)


def test_optimizer_applies_a_variables_constraint():
    # Keras: test_constraints_are_applied
    v = minicnn.Variable(np.random.default_rng(0).random((2, 2)) - 1.0)
    v.constraint = constraints.NonNeg()
    optimizers.SGD(learning_rate=0.0001).apply_gradients([(np.zeros((2, 2)), v)])
    assert v.numpy().min() == 0.0


@pytest.mark.parametrize("make", [lambda: optimizers.SGD(0.5), lambda: optimizers.Adam(0.5),
                                  lambda: optimizers.Nadam(0.5)])
def test_fit_keeps_layers_within_their_constraints(make):
    # Large steps push the kernel's columns past norm 1 and the bias below 0 at once; the
    # constraints must hold after every update, not only at the end.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 3)) * 3 - 5).astype(np.float32)
    dense = layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.0), bias_constraint="non_neg")
    model = minicnn.Sequential([minicnn.Input((5,)), dense])
    model.compile(make(), "mse")
    seen = []
    check = minicnn.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(
        (float(_norms(dense.kernel.numpy(), 0).max()), float(dense.bias.numpy().min()))))
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[check])
    assert len(seen) == 12
    assert max(n for n, _ in seen) <= 1.0 + 1e-6 and min(b for _, b in seen) >= 0.0


def test_a_custom_training_loop_gets_the_constraints_too():
    conv = layers.Conv2D(2, 3, kernel_constraint=constraints.UnitNorm(axis=[0, 1, 2]))
    model = minicnn.Sequential([minicnn.Input((5, 5, 1)), conv])
    opt = optimizers.SGD(1.0)
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 1)).astype(np.float32)
    model.zero_grad()
    (model(x, training=True) ** 2).mean().backward()
    opt.apply([w.grad for w in model.trainable_weights], model.trainable_weights)
    np.testing.assert_allclose(_norms(conv.kernel.numpy(), (0, 1, 2)).ravel(), [1.0, 1.0], rtol=1e-5)


def test_a_constraint_returning_the_wrong_shape_is_named():
    v = minicnn.Variable(np.ones((2, 2)), name="w")
    v.constraint = lambda w: np.ones(3)
    with pytest.raises(ValueError, match=r"returned shape \(3,\), the variable has shape \(2, 2\)"):
        optimizers.SGD().apply([np.ones((2, 2))], [v])
