"""Adadelta."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Keras 3 formulas); the base arguments of ``Optimizer`` as keywords.

    ``acc_g = rho * acc_g + (1 - rho) * g**2``;
    ``delta = -sqrt(acc_delta + epsilon) * g / sqrt(acc_g + epsilon)``;
    ``acc_delta = rho * acc_delta + (1 - rho) * delta**2``; ``w += lr * delta``.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0])
    >>> Adadelta(learning_rate=0.5).apply([np.array([1.0, 6.0])], [w])
    >>> np.round(w, 4)
    array([0.9993, 1.9993])
    """

    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = hyperparameter("Adadelta", "rho", rho, 0, 1)
        self.epsilon = hyperparameter("Adadelta", "epsilon", epsilon)

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        rho = self.rho
        acc_g, acc_delta = slots["accumulated_grad"].data, slots["accumulated_delta_var"].data
        acc_g *= rho
        np.square(gradient, out=tmp)
        tmp *= 1 - rho
        acc_g += tmp
        rms_g = np.add(acc_g, self.epsilon, out=np.empty_like(acc_g))
        np.sqrt(rms_g, out=rms_g)
        np.add(acc_delta, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp *= gradient
        tmp /= rms_g  # tmp = -delta
        acc_delta *= rho
        np.square(tmp, out=rms_g)
        rms_g *= 1 - rho
        acc_delta += rms_g
        tmp *= learning_rate
        variable -= tmp

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, epsilon=self.epsilon)
        return config
