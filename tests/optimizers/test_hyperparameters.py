"""Optimizers and schedules refuse hyperparameters that would silently train to NaN or uphill:
NaN, infinities, negatives, out-of-range momenta, non-numbers -- each error names the argument."""

import math

import numpy as np
import pytest

from minicnn import optimizers
from minicnn.optimizers import schedules

NAN, INF = float("nan"), float("inf")

BAD = [
    (optimizers.Adam, {"learning_rate": NAN}, "learning_rate"),
    (optimizers.Adam, {"learning_rate": INF}, "learning_rate"),
    (optimizers.Adam, {"learning_rate": -1e-3}, "learning_rate"),
    (optimizers.Adam, {"learning_rate": np.float32("nan")}, "learning_rate"),
    (optimizers.Adam, {"beta_1": NAN}, "beta_1"),
    (optimizers.Adam, {"beta_2": 1.0}, "beta_2"),
    (optimizers.Adam, {"epsilon": NAN}, "epsilon"),
    (optimizers.Adam, {"epsilon": -1e-7}, "epsilon"),
    (optimizers.Adam, {"clipnorm": NAN}, "clipnorm"),
    (optimizers.Adam, {"global_clipnorm": INF}, "global_clipnorm"),
    (optimizers.Adam, {"clipvalue": -1.0}, "clipvalue"),
    (optimizers.AdamW, {"weight_decay": NAN}, "weight_decay"),
    (optimizers.SGD, {"learning_rate": NAN}, "learning_rate"),
    (optimizers.SGD, {"momentum": NAN}, "momentum"),
    (optimizers.SGD, {"momentum": 1.5}, "momentum"),
    (optimizers.SGD, {"momentum": "0.9"}, "momentum"),
    (optimizers.RMSprop, {"rho": NAN}, "rho"),
    (optimizers.RMSprop, {"momentum": -0.1}, "momentum"),
    (optimizers.RMSprop, {"epsilon": INF}, "epsilon"),
    (optimizers.Adagrad, {"initial_accumulator_value": NAN}, "initial_accumulator_value"),
    (optimizers.Adagrad, {"epsilon": NAN}, "epsilon"),
]


@pytest.mark.parametrize("cls, kwargs, name", BAD, ids=lambda v: getattr(v, "__name__", str(v)))
def test_optimizer_refuses_non_finite_or_out_of_range(cls, kwargs, name):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {name} must be"):
        cls(**kwargs)


def test_learning_rate_set_later_is_checked_too():
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="learning_rate must be"):
        opt.learning_rate = NAN
    assert opt.learning_rate == pytest.approx(1e-3)


@pytest.mark.parametrize("make, name", [
    (lambda: schedules.ExponentialDecay(NAN, 10, 0.9), "initial_learning_rate"),
    (lambda: schedules.ExponentialDecay(0.1, NAN, 0.9), "decay_steps"),
    (lambda: schedules.ExponentialDecay(0.1, 10, -0.5), "decay_rate"),
    (lambda: schedules.CosineDecay(0.1, INF), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=NAN), "alpha"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=NAN, warmup_steps=2), "warmup_target"),
    (lambda: schedules.PiecewiseConstantDecay([10], [0.1, NAN]), r"values\[1\]"),
])
def test_schedules_refuse_non_finite_values(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_valid_edges_are_accepted():
    assert optimizers.Adam(learning_rate=0.0, beta_1=0.0, epsilon=0.0).epsilon == 0.0
    assert optimizers.SGD(momentum=1.0).momentum == 1.0
    assert optimizers.Adam(np.float64(1e-3)).learning_rate == pytest.approx(1e-3)
    assert math.isclose(schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=2)(2), 0.2)
