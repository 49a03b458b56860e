"""Lion."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class Lion(Optimizer):
    """Lion, the sign of an interpolated momentum (Keras 3 formulas); the base arguments of
    ``Optimizer`` as keywords.

    ``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then ``m = beta_2 * m + (1 - beta_2) * g``.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0])
    >>> Lion(learning_rate=0.5).apply([np.array([1.0, -6.0])], [w])
    >>> w
    array([0.5, 2.5])
    """

    _slot_names = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if beta_1 == 0:
            raise ValueError("Lion: Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = hyperparameter("Lion", "beta_1", beta_1, 0, 1)
        self.beta_2 = hyperparameter("Lion", "beta_2", beta_2, 0, 1)

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        m = slots["momentum"].data
        # beta * m + (1 - beta) * g written as beta * (m - g) + g: no second buffer
        np.subtract(m, gradient, out=tmp)
        tmp *= self.beta_1
        tmp += gradient
        np.sign(tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp
        m -= gradient
        m *= self.beta_2
        m += gradient

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2)
        return config
