"""FTRL-Proximal."""

import math

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader (Keras 3 formulas, McMahan et al. 2013); the base arguments
    of ``Optimizer`` as keywords.

    With ``p = -learning_rate_power``, ``l2 = l2_regularization_strength + beta / (2 * lr)`` and
    ``new_acc = acc + g**2``:
    ``linear += g + 2 * l2_shrinkage_regularization_strength * w - (new_acc**p - acc**p) / lr * w``;
    ``w = (clip(linear, -l1, l1) - linear) / (new_acc**p / lr + 2 * l2)``; ``acc = new_acc``
    (``acc`` starts at ``initial_accumulator_value``, ``linear`` at 0).

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0])
    >>> Ftrl(learning_rate=0.5).apply([np.array([1.0, 6.0])], [w])
    >>> np.round(w, 4)
    array([0.2218, 1.3954])
    """

    _slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = hyperparameter("Ftrl", "learning_rate_power", learning_rate_power,
                                                  -math.inf, 0.0)
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
                           ("beta", beta)):
            if value < 0.0:  # Keras' words
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
            setattr(self, arg, hyperparameter("Ftrl", arg, value))

    def _initial_slot_value(self, slot_name):
        return self.initial_accumulator_value if slot_name == "accumulator" else 0.0

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        acc, linear = slots["accumulator"].data, slots["linear"].data
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        new_acc = np.square(gradient)
        new_acc += acc
        np.power(acc, power, out=acc)  # acc is replaced by new_acc below
        quadratic = np.power(new_acc, power)
        np.subtract(quadratic, acc, out=tmp)
        tmp /= learning_rate
        tmp *= variable
        linear -= tmp
        linear += gradient
        if self.l2_shrinkage_regularization_strength:
            np.multiply(variable, 2 * self.l2_shrinkage_regularization_strength, out=tmp)
            linear += tmp
        quadratic /= learning_rate
        quadratic += 2 * l2
        l1 = self.l1_regularization_strength
        np.clip(linear, -l1, l1, out=tmp)
        tmp -= linear
        np.divide(tmp, quadratic, out=variable)
        acc[...] = new_acc

    def get_config(self):
        config = super().get_config()
        config.update(learning_rate_power=self.learning_rate_power,
                      initial_accumulator_value=self.initial_accumulator_value,
                      l1_regularization_strength=self.l1_regularization_strength,
                      l2_regularization_strength=self.l2_regularization_strength,
                      l2_shrinkage_regularization_strength=self.l2_shrinkage_regularization_strength,
                      beta=self.beta)
        return config
