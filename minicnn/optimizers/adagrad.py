"""Adagrad."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Keras 3): ``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``; ``acc`` starts
    at ``initial_accumulator_value``; the base arguments of ``Optimizer`` as keywords.

    >>> import numpy as np
    >>> w = np.zeros(1)
    >>> _ = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.0).apply([np.ones(1)], [w])
    >>> w
    array([-0.1])
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = hyperparameter("Adagrad", "initial_accumulator_value",
                                                        initial_accumulator_value)
        self.epsilon = hyperparameter("Adagrad", "epsilon", epsilon)

    _slot_names = ("accumulator",)

    def _initial_slot_value(self, slot_name):
        return self.initial_accumulator_value

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        acc = slots["accumulator"].data
        np.square(gradient, out=tmp)
        acc += tmp
        np.add(acc, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(gradient, tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp

    def get_config(self):
        config = super().get_config()
        config.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return config
