"""RMSprop."""

import numpy as np

from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers.base import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Keras 3 formulas); the base arguments of ``Optimizer`` as keywords.

    ``v = rho * v + (1 - rho) * g**2``; centered: ``a = rho * a + (1 - rho) * g`` and the
    denominator is ``v - a**2 + epsilon``, else ``v + epsilon``; ``step = lr * g / sqrt(denominator)``;
    with momentum: ``mom = momentum * mom + step; w -= mom``, else ``w -= step``.

    >>> import numpy as np
    >>> w = np.zeros(1)
    >>> _ = RMSprop(learning_rate=0.1).apply([np.ones(1)], [w])
    >>> np.round(w, 4)
    array([-0.3162])
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = hyperparameter("RMSprop", "rho", rho, 0, 1)
        self.momentum = hyperparameter("RMSprop", "momentum", momentum, 0, 1)
        self.epsilon = hyperparameter("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def _slot_names_for(self, var):
        names = ["velocity"]
        if self.momentum:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        return tuple(names)

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        rho = self.rho
        v = slots["velocity"].data
        v *= rho
        np.square(gradient, out=tmp)
        tmp *= 1 - rho
        v += tmp
        if self.centered:
            a = slots["average_gradient"].data
            a *= rho
            np.multiply(gradient, 1 - rho, out=tmp)
            a += tmp
            np.square(a, out=tmp)
            np.subtract(v, tmp, out=tmp)
        else:
            tmp[...] = v
        tmp += self.epsilon
        np.sqrt(tmp, out=tmp)
        np.divide(gradient, tmp, out=tmp)
        tmp *= learning_rate
        if self.momentum:
            mom = slots["momentum"].data
            mom *= self.momentum
            mom += tmp
            variable -= mom
        else:
            variable -= tmp

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return config
