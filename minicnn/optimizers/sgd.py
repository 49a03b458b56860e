"""Stochastic gradient descent with optional (Nesterov) momentum."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent (Keras 3 formulas); the base arguments of ``Optimizer`` as keywords.

    With ``momentum`` m: ``v = m * v - lr * g``; then ``w += v`` or, with ``nesterov``,
    ``w += m * v - lr * g``.  Without momentum: ``w -= lr * g``.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0], dtype=np.float32)
    >>> SGD(learning_rate=0.1).apply([np.array([1.0, 1.0], dtype=np.float32)], [w])
    >>> w
    array([0.9, 1.9], dtype=float32)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = hyperparameter("SGD", "momentum", momentum, 0, 1)
        self.nesterov = bool(nesterov)

    def _slot_names_for(self, var):
        return ("momentum",) if self.momentum else ()

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        if not self.momentum:
            np.multiply(gradient, learning_rate, out=tmp)
            variable -= tmp
            return
        m = slots["momentum"].data
        m *= self.momentum
        np.multiply(gradient, learning_rate, out=tmp)
        m -= tmp
        if self.nesterov:
            # w += momentum * v - lr * g; tmp holds lr * g, then is reused for momentum * v
            variable -= tmp
            np.multiply(m, self.momentum, out=tmp)
            variable += tmp
        else:
            variable += m

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, nesterov=self.nesterov)
        return config
