"""Empty data and zero steps are errors naming the argument, never a loss of 0.0; arguments of
the wrong type get clear errors; complex inputs are refused, not cast (issue 18, items 3 and 6)."""

import numpy as np
import pytest

import minicnn
from minicnn import layers

X = np.ones((8, 3), np.float32)
Y = np.ones((8, 1), np.float32)
EMPTY_X, EMPTY_Y = np.zeros((0, 3), np.float32), np.zeros((0, 1), np.float32)


@pytest.fixture
def model():
    minicnn.utils.set_random_seed(0)
    m = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return m


def test_evaluate_on_empty_arrays_is_an_error(model):
    with pytest.raises(ValueError, match="evaluate: .*no batches"):
        model.evaluate(EMPTY_X, EMPTY_Y, verbose=0)


def test_fit_with_empty_validation_data_fails_before_training(model):
    before = model.get_weights()
    with pytest.raises(ValueError, match="fit: validation_data has no samples"):
        model.fit(X, Y, validation_data=(EMPTY_X, EMPTY_Y), epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_with_an_empty_validation_generator_is_an_error(model):
    stopper = minicnn.callbacks.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.raises(ValueError, match="fit: validation_data gave no batches"):
        model.fit(X, Y, validation_data=(b for b in []), epochs=3, callbacks=[stopper], verbose=0)


@pytest.mark.parametrize("call, name", [
    (lambda m: m.fit(X, Y, steps_per_epoch=0, verbose=0), "fit: steps_per_epoch"),
    (lambda m: m.fit(X, Y, validation_data=(X, Y), validation_steps=0, verbose=0), "fit: validation_steps"),
    (lambda m: m.evaluate(X, Y, steps=0, verbose=0), "evaluate: steps"),
    (lambda m: m.predict(X, steps=0, verbose=0), "predict: steps"),
    (lambda m: m.fit(X, Y, steps_per_epoch=1.5, verbose=0), "fit: steps_per_epoch"),
])
def test_zero_or_fractional_steps_name_the_argument(model, call, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        call(model)


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"validation_split": "0.1"}, TypeError, r"fit: validation_split must be a float, got '0.1'"),
    ({"validation_split": True}, TypeError, "fit: validation_split must be a float"),
    ({"validation_split": 1.5}, ValueError, r"fit: validation_split must be in \[0, 1\)"),
    ({"epochs": 3, "initial_epoch": 1.5}, TypeError, "fit: initial_epoch must be an int, got 1.5"),
    ({"epochs": 3, "initial_epoch": 4}, ValueError, r"fit: initial_epoch must be in \[0, epochs\]"),
])
def test_fit_argument_types(model, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        model.fit(X, Y, verbose=0, **kwargs)


@pytest.mark.parametrize("call, name", [
    (lambda m: m.fit(X.astype(np.complex64), Y, verbose=0), "x"),
    (lambda m: m.fit(X, Y.astype(np.complex128), verbose=0), "y"),
    (lambda m: m.evaluate(X.astype(np.complex64), Y, verbose=0), "x"),
    (lambda m: m.predict(X.astype(np.complex128), verbose=0), "x"),
])
def test_complex_inputs_are_refused_not_cast(model, call, name):
    before = model.get_weights()
    with pytest.raises(TypeError, match=rf"\b{name} must be numeric.*complex"):
        call(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
