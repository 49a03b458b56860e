"""What Adam, Adamax, Nadam and Lamb share: ``beta_1``, ``beta_2``, ``epsilon`` and the first and
second moment estimates (Keras' forms)."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer

__all__ = ["MomentOptimizer", "moments_into"]


def moments_into(g, m, v, tmp, beta_1, beta_2):
    """``m += (g - m) * (1 - beta_1)`` and ``v += (g**2 - v) * (1 - beta_2)``, in place; ``tmp``:
    scratch like ``g``."""
    np.subtract(g, m, out=tmp)
    tmp *= 1 - beta_1
    m += tmp
    np.square(g, out=tmp)
    tmp -= v
    tmp *= 1 - beta_2
    v += tmp


class MomentOptimizer(Optimizer):
    """An optimizer with Adam's hyperparameters and Keras' defaults for them (betas in
    ``[0, 1)``, ``epsilon`` >= 0)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = hyperparameter(owner, "beta_1", beta_1, 0, 1, high_open=True)
        self.beta_2 = hyperparameter(owner, "beta_2", beta_2, 0, 1, high_open=True)
        self.epsilon = hyperparameter(owner, "epsilon", epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
