"""The base optimizer's Keras 3 contract: iterations and variables, moving averages, gradient
accumulation, loss scaling, overwrite_with_gradient, callable learning rates, arguments.
Numbers marked "Keras" are those of keras/src/optimizers/optimizer_test.py."""

import warnings

import numpy as np
import pytest

import minicnn
from minicnn import layers, optimizers

ONES = np.ones((2, 2), np.float32)


def _var():
    return minicnn.Variable([[1.0, 2.0], [3.0, 4.0]])


# ------------------------------------------------------------------ iterations and variables
def test_iterations_is_a_variable_that_counts_updates():
    v = _var()
    opt = optimizers.Adam(learning_rate=1.0)
    assert isinstance(opt.iterations, minicnn.Variable) and opt.iterations.dtype == np.int64
    assert int(opt.iterations) == 0
    opt.apply_gradients([(ONES, v)])
    returned = opt.apply_gradients([(ONES, v)])
    assert returned is opt.iterations and int(opt.iterations) == 2


def test_variables_are_keras_named_variables_in_a_fixed_order():
    minicnn.layers.clear_session()
    model = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(2)])
    opt = optimizers.Adam(use_ema=True)
    opt.build(model.trainable_weights)
    assert all(isinstance(v, minicnn.Variable) and not v.trainable for v in opt.variables)
    assert [v.path for v in opt.variables] == [
        "adam/iteration",
        "adam/sequential_dense_kernel_average", "adam/sequential_dense_bias_average",
        "adam/sequential_dense_kernel_momentum", "adam/sequential_dense_kernel_velocity",
        "adam/sequential_dense_bias_momentum", "adam/sequential_dense_bias_velocity"]
    assert [v.shape for v in opt.variables[1:]] == [(3, 2), (2,), (3, 2), (3, 2), (2,), (2,)]


def test_default_names_are_unique_snake_case_as_in_keras():
    minicnn.layers.clear_session()
    names = [optimizers.Adam().name, optimizers.Adam().name, optimizers.SGD().name,
             optimizers.AdamW().name, optimizers.Adam(name="my_adam").name]
    assert names == ["adam", "adam_1", "sgd", "adam_w", "my_adam"]
    again = optimizers.deserialize(optimizers.serialize(optimizers.Adam(name="kept")))
    assert again.name == "kept"


def test_set_weights_copies_another_optimizers_state():
    x = _var()
    first = optimizers.Adam()
    first.apply_gradients([(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), x)])
    second = optimizers.Adam()
    with pytest.raises(ValueError, match="You are calling `set_weights\\(\\)` on an optimizer"):
        second.set_weights(first.variables)
    second.build([x])
    second.set_weights(first.variables)
    for a, b in zip(first.variables, second.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(second.iterations) == 1


# ------------------------------------------------------------------ moving averages
def test_ema_keras_numbers():
    v = minicnn.Variable([[3.0, 4.0], [5.0, 6.0]])
    opt = optimizers.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    average = lambda: opt._model_variables_moving_average[0].numpy()  # noqa: E731
    opt.apply_gradients([(ONES, v)])
    np.testing.assert_allclose(v.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_allclose(average(), [[2.0, 3.0], [4.0, 5.0]])  # the first average is the variable
    opt.apply_gradients([(ONES, v)])
    np.testing.assert_allclose(v.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(average(), [[1.9, 2.9], [3.9, 4.9]], rtol=1e-6)
    opt.apply_gradients([(ONES, v)])  # third update: the variables take their averages
    np.testing.assert_allclose(v.numpy(), [[1.71, 2.71], [3.71, 4.71]], rtol=1e-6)
    np.testing.assert_allclose(average(), [[1.71, 2.71], [3.71, 4.71]], rtol=1e-6)


def test_ema_with_fit_ends_on_the_averages():
    # Keras: test_ema_with_model_fit (its target of shape (1, 1) broadcast to the two outputs)
    opt = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    model = minicnn.Sequential([minicnn.Input((1,)), layers.Dense(2, kernel_initializer="ones",
                                                                   use_bias=False)])
    model.compile(loss="mse", optimizer=opt)
    model.fit(np.ones((1, 1), np.float32), np.zeros((1, 2), np.float32), batch_size=1, epochs=2,
              verbose=0)
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(), [[0.891, 0.891]], atol=1e-5)
    np.testing.assert_allclose(model.trainable_weights[0].numpy(), [[0.891, 0.891]], atol=1e-5)


def test_finalize_variable_values_only_with_ema():
    v = _var()
    plain = optimizers.SGD(learning_rate=1.0)
    plain.apply_gradients([(ONES, v)])
    plain.finalize_variable_values([v])
    np.testing.assert_array_equal(v.numpy(), [[0.0, 1.0], [2.0, 3.0]])
    ema = optimizers.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
    ema.apply_gradients([(ONES, v)])  # average = variable = [[-1, 0], [1, 2]]
    ema.apply_gradients([(ONES, v)])  # v = [[-2, -1], [0, 1]], average halfway
    ema.finalize_variable_values([v])
    np.testing.assert_array_equal(v.numpy(), [[-1.5, -0.5], [0.5, 1.5]])


# ------------------------------------------------------------------ gradient accumulation
def test_gradient_accumulation_keras_numbers():
    v = _var()
    opt = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=3)
    expected = [([[1.0, 2.0], [3.0, 4.0]], 1.0, 1, 0), ([[1.0, 2.0], [3.0, 4.0]], 2.0, 2, 0),
                ([[0.0, 1.0], [2.0, 3.0]], 0.0, 3, 1), ([[0.0, 1.0], [2.0, 3.0]], 1.0, 4, 1)]
    for value, accumulated, calls, updates in expected:
        opt.apply_gradients([(ONES, v)])
        np.testing.assert_array_equal(v.numpy(), value)
        np.testing.assert_array_equal(opt._accumulated_gradients[0].numpy(), np.full((2, 2), accumulated))
        assert int(opt._iterations) == calls and int(opt.iterations) == updates


def test_a_schedule_sees_the_calls_and_adam_the_updates():
    # Keras: learning-rate schedules look at the calls, the update formulas at calls // steps
    schedule = optimizers.schedules.PiecewiseConstantDecay([0], [1.0, 0.5])  # 1.0 at call 0
    opt = optimizers.Adam(schedule, gradient_accumulation_steps=2)
    v = minicnn.Variable([0.0])
    opt.apply([np.array([1.0], np.float32)], [v])
    assert opt.learning_rate == 0.5  # one call made
    opt.apply([np.array([3.0], np.float32)], [v])  # first update, lr 0.5, mean gradient 2
    np.testing.assert_allclose(v.numpy(), [-0.5], rtol=1e-5)  # Adam's first step is lr * sign


# ------------------------------------------------------------------ loss scaling
def test_static_loss_scaling_keras_numbers():
    v = _var()
    opt = optimizers.SGD(learning_rate=1.0, loss_scale_factor=1024.0)
    opt.apply_gradients([(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32) * 1024.0, v)])
    assert opt.scale_loss(1.0) == 1024.0
    np.testing.assert_allclose(v.numpy(), np.zeros((2, 2)))


def test_fit_backpropagates_the_scaled_loss_and_logs_the_plain_one():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    results = []
    for factor in (None, 256.0):
        minicnn.utils.set_random_seed(1)
        model = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(1)])
        model.compile(optimizers.SGD(0.1, loss_scale_factor=factor), "mse")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append((model.get_weights(), history.history["loss"]))
    (w_plain, loss_plain), (w_scaled, loss_scaled) = results
    for a, b in zip(w_plain, w_scaled):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss_plain, loss_scaled, rtol=1e-6)


# ------------------------------------------------------------------ gradients that overwrite
def test_overwrite_with_gradient_keras_numbers():
    v, v2 = _var(), _var()
    v.overwrite_with_gradient = True
    optimizers.SGD(learning_rate=1.0).apply_gradients([(ONES, v), (ONES, v2)])
    np.testing.assert_array_equal(v.numpy(), ONES)
    np.testing.assert_array_equal(v2.numpy(), [[0.0, 1.0], [2.0, 3.0]])


def test_overwrite_with_gradient_accumulates_by_maximum():
    v, v2 = _var(), _var()
    v.overwrite_with_gradient = True
    opt = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=2)
    opt.apply_gradients([(ONES, v), (ONES, v2)])
    np.testing.assert_array_equal(v.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    twos = 2 * ONES
    opt.apply_gradients([(twos, v), (twos, v2)])
    np.testing.assert_array_equal(v.numpy(), twos)
    np.testing.assert_array_equal(v2.numpy(), [[-0.5, 0.5], [1.5, 2.5]])
    opt.apply_gradients([(ONES, v), (ONES, v2)])
    np.testing.assert_array_equal(v.numpy(), twos)
    np.testing.assert_array_equal(opt._accumulated_gradients[0].numpy(), ONES)


# ------------------------------------------------------------------ learning rate, arguments
def test_callable_learning_rate():
    v = _var()
    opt = optimizers.SGD(learning_rate=lambda: 0.1)
    opt.apply_gradients([(ONES, v)])
    np.testing.assert_allclose(v.numpy(), [[0.9, 1.9], [2.9, 3.9]], rtol=1e-6)
    assert opt.learning_rate == 0.1 and int(opt.iterations) == 1


def test_exclude_from_weight_decay_takes_name_patterns_and_replaces_earlier_calls():
    kernel, bias = minicnn.Variable([1.0], name="kernel"), minicnn.Variable([1.0], name="bias_1")
    opt = optimizers.SGD(learning_rate=1.0, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[kernel])
    opt.exclude_from_weight_decay(var_names=["^bias_[0-9]$"])
    zero = np.zeros(1, np.float32)
    opt.apply([zero, zero], [kernel, bias])
    assert float(kernel[0]) == 0.5 and float(bias[0]) == 1.0


def test_base_arguments_are_checked():
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be an integer >= 2"):
        optimizers.SGD(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency must be an integer >= 1"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=2.5)
    with pytest.raises(ValueError, match="loss_scale_factor must be positive"):
        optimizers.SGD(loss_scale_factor=0.0)
    with pytest.raises(ValueError, match=r"argument\(s\) not recognized: \{'momentun': 0.9\}"):
        optimizers.SGD(momentun=0.9)
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        optimizers.Adam(decay=0.1)


def test_an_empty_apply_is_a_no_op():
    opt = optimizers.SGD()
    opt.apply([], [])
    assert int(opt.iterations) == 0 and not opt.built


def test_no_warning_when_every_variable_has_a_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizers.SGD().apply([ONES], [_var()])
