"""SwapEMAWeights: evaluation and prediction see the optimizer's moving averages, training the
weights themselves."""

import numpy as np
import pytest

import minicnn
from minicnn import callbacks, layers, optimizers


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 1))).astype(np.float32)
    minicnn.utils.set_random_seed(seed)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(1)])
    model.compile(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8), "mse")
    return model, x, y


class Record(callbacks.Callback):
    """What the weights and the averages are when each hook runs (placed after SwapEMAWeights)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def _record(self, hook):
        opt = self.model.optimizer
        self.seen.append((hook, [w.numpy() for w in self.model.trainable_weights],
                          [a.numpy() for a in opt._model_variables_moving_average]))

    def on_test_begin(self, logs=None):
        self._record("test_begin")

    def on_train_batch_begin(self, batch, logs=None):
        self._record("train_batch")

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end")


def test_validation_runs_on_the_averages_and_training_on_the_weights():
    model, x, y = _setup()
    record = Record()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y),
                        callbacks=[callbacks.SwapEMAWeights(), record])
    tests = [(w, a) for hook, w, a in record.seen if hook == "test_begin"]
    trains = [(w, a) for hook, w, a in record.seen if hook == "train_batch"]
    assert len(tests) == 2 and len(trains) == 8
    ends = [(w, a) for hook, w, a in record.seen if hook == "epoch_end"]
    for (w_test, a_test), (w_end, a_end) in zip(tests, ends):
        # during validation the model holds the averages (and the optimizer the weights)
        for wt, ae, at, we in zip(w_test, a_end, a_test, w_end):
            np.testing.assert_array_equal(wt, ae)
            np.testing.assert_array_equal(at, we)
    # val_loss is the loss of the averaged weights: evaluate them directly
    averages = [a.numpy() for a in model.optimizer._model_variables_moving_average]
    np.testing.assert_array_equal(model.get_weights()[0], averages[0])  # fit ends on the averages
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_predict_and_evaluate_swap_back_afterwards():
    model, x, y = _setup(1)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    opt = model.optimizer
    rng = np.random.default_rng(5)
    for w, a in zip(model.trainable_weights, opt._model_variables_moving_average):
        a.assign(rng.normal(size=a.shape))  # averages different from the weights
    weights = model.get_weights()
    averages = [a.numpy() for a in opt._model_variables_moving_average]
    swap = callbacks.SwapEMAWeights()
    with_averages = model.predict(x, verbose=0, callbacks=[swap])
    for w, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, want)
    for a, want in zip(opt._model_variables_moving_average, averages):
        np.testing.assert_array_equal(a.numpy(), want)
    kernel, bias = averages
    np.testing.assert_allclose(with_averages, x @ kernel + bias, rtol=1e-5, atol=1e-6)
    model.evaluate(x, y, verbose=0, callbacks=[swap])
    for w, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, want)


def test_swap_on_epoch_shows_the_averages_to_later_callbacks_and_ends_on_them():
    model, x, y = _setup(2)
    record = Record()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0,
              callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True), record])
    ends = [(w, a) for hook, w, a in record.seen if hook == "epoch_end"]
    first_batch_of_epoch_2 = [w for hook, w, _ in record.seen if hook == "train_batch"][4]
    # at the end of epoch 1 the model held the averages and the optimizer the weights, which
    # epoch 2 went on training
    for w, a in zip(first_batch_of_epoch_2, ends[0][1]):
        np.testing.assert_array_equal(w, a)
    for w, want in zip(model.get_weights(), ends[1][0]):
        np.testing.assert_array_equal(w, want)  # fit ended on the averages the callbacks saw


def test_needs_an_optimizer_with_use_ema():
    model, x, y = _setup()
    model.compile(optimizers.SGD(0.1), "mse")
    with pytest.raises(ValueError, match="SwapEMAWeights must be used when `use_ema=True`"):
        model.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
