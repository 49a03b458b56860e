"""fit/evaluate/predict on generators and iterables of batches (Keras 3's data semantics): the same
batches give bitwise the same training as arrays; steps_per_epoch; validation data; clear errors."""

import warnings

import numpy as np
import pytest

import minicnn
from minicnn.utils import pack_x_y_sample_weight, unpack_x_y_sample_weight


def batches(x, y, size, *extra):
    return [(x[i:i + size], y[i:i + size], *(e[i:i + size] for e in extra))
            for i in range(0, len(x), size)]


@pytest.fixture
def fit_on_arrays(mlp):
    """``fit_on_arrays(x, y, epochs, **fit_kwargs) -> (model, history)``: the reference run."""
    def fit(x, y, epochs=2, **kwargs):
        model = mlp()
        history = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, **kwargs)
        return model, history
    return fit


class FakeTensor:
    """What a tf.Tensor or a torch.Tensor offers that minicnn uses: __array__ only."""

    def __init__(self, array):
        self._array = np.asarray(array)

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)


class FakeLoader:
    """Shaped like a torch DataLoader: re-iterable, has __len__, yields lists [x, y]."""

    def __init__(self, x, y, size):
        self.parts = batches(x, y, size)
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        for xb, yb in self.parts:
            yield [FakeTensor(xb), FakeTensor(yb)]

    def __len__(self):
        return len(self.parts)


# ------------------------------------------------------------------ the same training as arrays
def test_an_infinite_generator_with_steps_per_epoch_trains_like_the_arrays(
        toy, mlp, same_weights, fit_on_arrays):
    x, y = toy(64)
    reference, ref_history = fit_on_arrays(x, y)

    def forever():
        while True:
            yield from batches(x, y, 16)

    model = mlp()
    history = model.fit(forever(), steps_per_epoch=4, epochs=2, verbose=0)
    assert same_weights(model, reference)
    assert history.history == ref_history.history


def test_a_finite_generator_ends_the_epoch_when_exhausted_and_then_training_stops(
        toy, mlp, same_weights, fit_on_arrays):
    x, y = toy(64)
    reference, _ = fit_on_arrays(x, y, epochs=1)
    model = mlp()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit((b for b in batches(x, y, 16)), epochs=3, verbose=0)
    assert history.epoch == [0] and model.optimizer.iterations == 4
    assert same_weights(model, reference)


def test_steps_per_epoch_goes_on_where_the_last_epoch_stopped(
        toy, mlp, same_weights, fit_on_arrays):
    x, y = toy(64)
    reference, _ = fit_on_arrays(x, y, epochs=1)  # 4 batches, in order
    model = mlp()
    model.fit(x, y, batch_size=16, steps_per_epoch=2, epochs=2, shuffle=False, verbose=0)
    assert same_weights(model, reference)
    with pytest.warns(UserWarning, match="ran out of data"):  # 3 steps asked, 1 batch left
        model.fit((b for b in batches(x, y, 16)[:4]), steps_per_epoch=3, epochs=2, verbose=0)
    assert model.optimizer.iterations == 4 + 4


def test_a_reiterable_dataset_of_framework_tensors_trains_like_the_arrays(
        toy, mlp, same_weights, fit_on_arrays):
    x, y = toy(64)
    reference, ref_history = fit_on_arrays(x, y, epochs=3)
    loader = FakeLoader(x, y, 16)
    model = mlp()
    history = model.fit(loader, epochs=3, verbose=0)
    assert loader.passes == 3 and same_weights(model, reference)
    assert history.history == ref_history.history


def test_sample_weight_in_the_batches_and_class_weight_on_a_generator(
        toy, mlp, same_weights, fit_on_arrays):
    x, y = toy(64)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    sw = np.array([cw[int(c)] for c in y], np.float32)
    reference, _ = fit_on_arrays(x, y, sample_weight=sw)
    model = mlp()
    model.fit(iter(batches(x, y, 16, sw) * 2), steps_per_epoch=4, epochs=2, verbose=0)
    assert same_weights(model, reference)
    model = mlp()
    model.fit(iter(batches(x, y, 16) * 2), steps_per_epoch=4, epochs=2, verbose=0, class_weight=cw)
    assert same_weights(model, reference)


def test_shuffle_batch_moves_samples_only_within_their_batch():
    from minicnn.utils.data_adapters import ArrayDataAdapter

    x = np.arange(50, dtype=np.float32)[:, None]
    adapter = ArrayDataAdapter(x, x[:, 0], batch_size=16, shuffle="batch")
    minicnn.utils.set_random_seed(0)
    got = [xb[:, 0] for xb, _ in adapter.get_iterator()]
    assert sorted(np.concatenate(got).tolist()) == list(range(50))
    for xb in got:
        start = xb.min() // 16 * 16
        assert set(xb.tolist()) == set(range(int(start), int(min(start + 16, 50))))
    assert [xb.min() for xb in got] != sorted(xb.min() for xb in got) or \
        any(not np.all(np.diff(xb) > 0) for xb in got)


# ------------------------------------------------------------------ validation, evaluate, predict
def test_validation_data_of_every_kind_gives_the_arrays_numbers(toy, mlp, fit_on_arrays):
    x, y = toy(96)
    xt, yt, xv, yv = x[:64], y[:64], x[64:], y[64:]
    _, ref = fit_on_arrays(xt, yt, validation_data=(xv, yv))
    for val in (FakeLoader(xv, yv, 16), lambda: (b for b in batches(xv, yv, 16))):
        model = mlp()
        if callable(val):  # one generator per epoch would be needed without validation_steps
            data = iter(batches(xv, yv, 16) * 2)
            history = model.fit(xt, yt, batch_size=16, epochs=2, shuffle=False, verbose=0,
                                validation_data=data, validation_steps=2)
        else:
            history = model.fit(xt, yt, batch_size=16, epochs=2, shuffle=False, verbose=0,
                                validation_data=val)
        assert history.history == ref.history


def test_evaluate_and_predict_take_generators_and_ignore_targets_when_predicting(toy, mlp):
    x, y = toy(40)
    model = mlp()
    expected = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    got = model.evaluate((b for b in batches(x, y, 16)), verbose=0, return_dict=True)
    assert got == pytest.approx(expected)
    assert model.metrics_names == ["loss", "compile_metrics"]
    loss, acc = model.evaluate(FakeLoader(x, y, 16), verbose=0)
    assert (loss, acc) == pytest.approx((expected["loss"], expected["accuracy"]))
    pred = model.predict(x, batch_size=16, verbose=0)
    np.testing.assert_array_equal(model.predict(FakeLoader(x, y, 16), verbose=0), pred)
    np.testing.assert_array_equal(model.predict((xb for xb, _ in batches(x, y, 16)), verbose=0), pred)
    np.testing.assert_array_equal(model.predict(iter(batches(x, y, 16)), steps=2, verbose=0), pred[:32])


def test_pack_and_unpack_x_y_sample_weight():
    x, y, w = np.ones((2, 3)), np.zeros(2), np.ones(2)
    assert unpack_x_y_sample_weight(x)[1:] == (None, None)
    assert unpack_x_y_sample_weight([x, y])[1] is y
    assert unpack_x_y_sample_weight((x, y, w))[2] is w
    assert pack_x_y_sample_weight(x) is x
    assert pack_x_y_sample_weight([x, x]) == ([x, x],)
    assert len(pack_x_y_sample_weight(x, y, w)) == 3
    with pytest.raises(ValueError, match="found a tuple of 4"):
        unpack_x_y_sample_weight((x, y, w, w))


# ------------------------------------------------------------------ errors
def test_clear_errors_for_what_is_not_supported(toy, mlp):
    x, y = toy(32)
    model = mlp()
    with pytest.raises(TypeError, match=r"x must be arrays .* got builtins.object"):
        model.fit(object(), verbose=0)
    with pytest.raises(ValueError, match="y must not be passed"):
        model.fit((b for b in batches(x, y, 16)), y, verbose=0)
    with pytest.raises(TypeError, match="strings"):
        model.fit(iter([(np.array(["a.png", "b.png"]), y[:2])]), verbose=0)
    with pytest.raises(TypeError, match=r"batch 0 of the Python generator: x.*could not be converted"):
        model.fit(iter([([[1.0, 2.0], [3.0]], y[:2])]), verbose=0)
    with pytest.raises(ValueError, match="tuple of 4 elements"):
        model.fit(iter([(x, y, y, y)]), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(iter([(x, y[:5])]), verbose=0)
    with pytest.raises(ValueError, match="validation_split is only supported for arrays"):
        model.fit(FakeLoader(x, y, 16), validation_split=0.5, verbose=0)
    with pytest.raises(TypeError, match="not an array: a builtins.generator"):
        model.fit({"a": (b for b in [])}, verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        model.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        model.evaluate(iter([]), verbose=0)
    with pytest.raises(ValueError, match="no samples"):
        model.predict(iter([]), verbose=0)
    with pytest.raises(TypeError, match="must be arrays"):
        model.train_on_batch(iter([(x, y)]))


def test_a_used_up_validation_generator_warns_instead_of_reporting_zeros(toy, mlp):
    x, y = toy(32)
    model = mlp()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=2, verbose=0, validation_data=(b for b in batches(x, y, 16)))
    assert len(history.history["val_loss"]) == 1 and len(history.history["loss"]) == 2
    assert any("validation data ran out" in str(w.message) for w in caught)
