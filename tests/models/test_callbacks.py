"""Callbacks (Keras 3 order and semantics) and the Progbar's output on non-terminal streams."""

import csv
import io
import math
import os
import re

import numpy as np
import pytest

import minicnn
from minicnn import callbacks as cb
from minicnn.utils import Progbar


# ------------------------------------------------------------------ helpers
def small_model(seed=0, units=3):
    minicnn.utils.set_random_seed(seed)
    model = minicnn.Sequential([minicnn.Input((4,)), minicnn.layers.Dense(8, activation="relu"),
                                minicnn.layers.Dense(units, activation="softmax")])
    model.compile(optimizer=minicnn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def toy_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


class FakeOptimizer:
    def __init__(self, lr):
        self.learning_rate = lr


class FakeModel:
    """Just what the monitoring callbacks touch."""

    def __init__(self, lr=1.0):
        self.optimizer = FakeOptimizer(lr)
        self.stop_training = False
        self.w = np.zeros(1)

    def get_weights(self):
        return [self.w.copy()]

    def set_weights(self, weights):
        self.w = weights[0].copy()


class TTYStream(io.StringIO):
    def isatty(self):
        return True


# ------------------------------------------------------------------ Progbar
def test_progbar_verbose2_prints_one_summary_line():
    out = io.StringIO()
    bar = Progbar(3, verbose=2, stream=out)
    for i, loss in enumerate([1.0, 2.0, 3.0]):
        bar.update(i + 1, [("loss", loss)])
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - loss: 2\.0000\n", out.getvalue()), out.getvalue()


def test_progbar_verbose1_on_a_non_tty_prints_only_the_final_line():
    out = io.StringIO()
    bar = Progbar(10, verbose=1, stream=out, interval=0)
    for i in range(10):
        bar.update(i + 1, [("loss", 0.5), ("acc", 1e-5)])
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert re.fullmatch(r"10/10 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.5000 - acc: 1\.0000e-05\n", text), text


def test_progbar_verbose1_on_a_tty_redraws_in_place():
    out = TTYStream()
    bar = Progbar(4, verbose=1, stream=out, interval=0)
    for i in range(4):
        bar.update(i + 1, [("loss", 1.0)])
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert re.search(r"\r1/4 ━{20} \d+s \d+(us|ms|s)/step - loss: 1\.0000", plain)  # ETA while running
    assert "\x1b[32m" in text  # the done part of the bar is green


def test_progbar_silent_and_stateful_metrics():
    out = io.StringIO()
    bar = Progbar(2, verbose=0, stream=out)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 3.0)])
    assert out.getvalue() == ""
    out = io.StringIO()
    bar = Progbar(2, verbose=2, stream=out, stateful_metrics=["acc"])
    bar.update(1, [("acc", 0.25)])
    bar.update(2, [("acc", 0.75)])
    assert "acc: 0.7500" in out.getvalue()
    with pytest.raises(ValueError, match="verbose"):
        Progbar(3, verbose=3)


# ------------------------------------------------------------------ fit's output
def test_fit_verbose_1_on_a_non_tty_prints_one_line_per_epoch(capsys):
    x, y = toy_data(40)
    small_model().fit(x, y, batch_size=20, epochs=2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    for line in lines[1::2]:
        assert re.fullmatch(r"2/2 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", line), line


def test_fit_verbose_2_and_0(capsys):
    x, y = toy_data(40)
    small_model().fit(x, y, batch_size=16, epochs=2, verbose=2, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0] == "Epoch 1/2"
    assert re.fullmatch(r"2/2 - \d+s - \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
                        r" - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1]), lines[1]
    small_model().fit(x, y, epochs=2, verbose=0)
    small_model().evaluate(x, y, verbose=0)
    small_model().predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_draw_their_own_bar(capsys):
    x, y = toy_data(40)
    model = small_model()
    model.evaluate(x, y, batch_size=10, verbose=1)
    model.predict(x, batch_size=10, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", lines[0])
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step", lines[1])


# ------------------------------------------------------------------ order of the hooks
class Spy(cb.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_") and not name.startswith("on_batch"):
            def record(*args, **kwargs):
                index = [a for a in args if isinstance(a, int)]
                self.calls.append(name + (f"({index[0]})" if index else ""))
                return attr(*args, **kwargs)
            return record
        return attr


def test_callback_order_matches_keras():
    x, y = toy_data(30)
    spy = Spy()
    small_model().fit(x, y, batch_size=10, epochs=2, verbose=0, validation_data=(x[:15], y[:15]),
                      callbacks=[spy])
    epoch = lambda e: ([f"on_epoch_begin({e})"]  # noqa: E731
                       + [h for b in range(3) for h in (f"on_train_batch_begin({b})", f"on_train_batch_end({b})")]
                       + ["on_test_begin"]
                       + [h for b in range(2) for h in (f"on_test_batch_begin({b})", f"on_test_batch_end({b})")]
                       + ["on_test_end", f"on_epoch_end({e})"])
    assert spy.calls == ["on_train_begin"] + epoch(0) + epoch(1) + ["on_train_end"]
    assert spy.params == {"verbose": 0, "epochs": 2, "steps": 3}


def test_evaluate_and_predict_hooks():
    x, y = toy_data(20)
    model = small_model()
    spy = Spy()
    model.evaluate(x, y, batch_size=10, verbose=0, callbacks=[spy])
    model.predict(x, batch_size=20, verbose=0, callbacks=[spy])
    assert spy.calls == ["on_test_begin", "on_test_batch_begin(0)", "on_test_batch_end(0)",
                         "on_test_batch_begin(1)", "on_test_batch_end(1)", "on_test_end",
                         "on_predict_begin", "on_predict_batch_begin(0)", "on_predict_batch_end(0)",
                         "on_predict_end"]


def test_logs_seen_by_callbacks():
    x, y = toy_data(30)
    seen = {}
    spy = cb.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.setdefault("batch", dict(logs)),
        on_epoch_end=lambda epoch, logs: seen.setdefault("epoch", dict(logs)))
    history = small_model().fit(x, y, batch_size=10, epochs=1, verbose=0, validation_split=0.2,
                                callbacks=[spy])
    assert list(seen["batch"]) == ["accuracy", "loss"]
    assert list(seen["epoch"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]


# ------------------------------------------------------------------ EarlyStopping
def run_epochs(callback, values, model=None, key="val_loss"):
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.w[...] = epoch
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return model, epoch


def test_early_stopping_patience_and_restore_best_weights():
    model, last = run_epochs(cb.EarlyStopping(patience=2, restore_best_weights=True), [1.0, 0.5, 0.6, 0.7, 0.1])
    assert last == 3 and model.stop_training
    assert model.w[0] == 1.0  # weights of epoch 1, the best


def test_early_stopping_min_delta_and_mode():
    _, last = run_epochs(cb.EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.9])
    assert last == 1  # 0.95 is not better by 0.1
    _, last = run_epochs(cb.EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.7, 0.6],
                         key="val_accuracy")
    assert last == 3  # 'auto' -> max for accuracy
    _, last = run_epochs(cb.EarlyStopping(monitor="val_accuracy", mode="min", patience=1), [0.5, 0.6],
                         key="val_accuracy")
    assert last == 1


def test_early_stopping_in_fit_stops_training():
    x, y = toy_data(20)
    stopper = cb.EarlyStopping(monitor="loss", min_delta=10.0, patience=1)
    history = small_model().fit(x, y, epochs=10, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2 and stopper.stopped_epoch == 1


# ------------------------------------------------------------------ learning-rate callbacks
def test_reduce_lr_on_plateau():
    model = FakeModel(lr=1.0)
    callback = cb.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    callback.set_model(model)
    callback.on_train_begin()
    lrs, logged = [], []
    for epoch in range(8):
        logs = {"val_loss": 1.0}  # never improves after the first epoch
        callback.on_epoch_end(epoch, logs)
        lrs.append(model.optimizer.learning_rate)
        logged.append(logs["learning_rate"])
    # patience 2, then one cooldown epoch, then the counting starts again; floor at min_lr
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]
    assert logged == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]


def test_learning_rate_scheduler_in_fit_logs_learning_rate():
    x, y = toy_data(20)
    model = small_model()
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[cb.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3)
    one_arg = cb.LearningRateScheduler(lambda epoch: 0.5)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[one_arg])
    assert model.optimizer.learning_rate == 0.5


def test_scheduled_optimizer_logs_learning_rate():
    x, y = toy_data(20)
    model = small_model()
    sched = minicnn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model.compile(optimizer=minicnn.optimizers.SGD(sched), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    # 2 steps per epoch: after epoch 1 the next step is 2, after epoch 2 it is 4
    np.testing.assert_allclose(history.history["learning_rate"], [0.1 * 0.5**2, 0.1 * 0.5**4])


# ------------------------------------------------------------------ checkpoints, CSV, NaN
def test_model_checkpoint_best_only_and_atomic(tmp_path):
    model = small_model()
    path = str(tmp_path / "ckpt-{epoch:02d}.weights")
    callback = cb.ModelCheckpoint(path, monitor="val_loss", save_best_only=True, save_weights_only=True)
    callback.set_model(model)
    for epoch, value in enumerate([1.0, 2.0, 0.5]):
        callback.on_epoch_end(epoch, {"val_loss": value})
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.weights", "ckpt-03.weights"]
    clone = small_model(seed=1)
    clone.load_weights(tmp_path / "ckpt-03.weights")
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_whole_model_in_fit(tmp_path):
    x, y = toy_data(20)
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb.ModelCheckpoint(str(tmp_path / "m-{epoch}.minicnn"),
                                                                       monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["m-1.minicnn", "m-2.minicnn"]
    loaded = minicnn.models.load_model(tmp_path / "m-2.minicnn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_csv_logger(tmp_path):
    x, y = toy_data(20)
    path = tmp_path / "log.csv"
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[cb.CSVLogger(path)])
    small_model().fit(x, y, epochs=1, verbose=0, callbacks=[cb.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert all(0.0 <= float(r[1]) <= 1.0 and float(r[2]) > 0 for r in rows[1:])


def test_terminate_on_nan(capsys):
    x, y = toy_data(40)
    x[5, 0] = np.nan
    history = small_model().fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0,
                                callbacks=[cb.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out


def test_stop_training_from_a_callback_ends_the_epoch_early():
    x, y = toy_data(40)
    batches = []

    def stop_after_two(batch, logs):
        batches.append(batch)
        if batch == 1:
            model.stop_training = True

    model = small_model()
    history = model.fit(x, y, batch_size=10, epochs=5, verbose=0,
                        callbacks=[cb.LambdaCallback(on_train_batch_end=stop_after_two)])
    assert batches == [0, 1] and len(history.history["loss"]) == 1


def test_bad_callbacks_argument():
    x, y = toy_data(10)
    with pytest.raises(TypeError, match="Callback instances"):
        small_model().fit(x, y, verbose=0, callbacks=[print])
    with pytest.raises(TypeError, match="unknown hook"):
        cb.LambdaCallback(on_epoch_finish=print)
