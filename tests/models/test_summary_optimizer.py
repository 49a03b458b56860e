"""summary()'s "Optimizer params" line (keras/src/utils/summary_utils.py): once the optimizer is
built, its variables -- the iteration counter (int64), the learning rate (float32, unless a
schedule) and the slots -- are listed and added to "Total params"."""

import numpy as np

import minicnn


def summary_tail(model):
    lines = []
    model.summary(line_length=80, print_fn=lines.append)
    return "".join(lines).splitlines()[-4:]


def dense_model():
    minicnn.utils.set_random_seed(0)
    return minicnn.Sequential([minicnn.Input((4,)), minicnn.layers.Dense(2)])  # 10 float32 params


def test_no_optimizer_line_before_the_optimizer_is_built():
    model = dense_model()
    model.compile(optimizer="adam", loss="mse")
    assert summary_tail(model)[-1] == " Non-trainable params: 0 (0.00 B)"


def test_optimizer_line_after_fit_as_keras_counts_it():
    x, y = np.ones((4, 4), np.float32), np.ones((4, 2), np.float32)
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, verbose=0)
    # SGD without momentum: iteration (8 B) + learning_rate (4 B)
    assert summary_tail(model) == [" Total params: 12 (52.00 B)", " Trainable params: 10 (40.00 B)",
                                   " Non-trainable params: 0 (0.00 B)", " Optimizer params: 2 (12.00 B)"]
    model = dense_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, verbose=0)
    # Adam: + momentum and velocity for each of the 10 parameters (80 B)
    assert summary_tail(model)[0] == " Total params: 32 (132.00 B)"
    assert summary_tail(model)[-1] == " Optimizer params: 22 (92.00 B)"
    model = dense_model()
    schedule = minicnn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    model.compile(optimizer=minicnn.optimizers.SGD(schedule, momentum=0.9), loss="mse")
    model.fit(x, y, verbose=0)
    assert summary_tail(model)[-1] == " Optimizer params: 11 (48.00 B)"  # a schedule is no variable
