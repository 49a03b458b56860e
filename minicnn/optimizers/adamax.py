"""Adamax."""

import numpy as np

from minicnn.optimizers._moments import MomentOptimizer


class Adamax(MomentOptimizer):
    """Adamax, Adam with the infinity norm (Keras 3 formulas); the base arguments of
    ``Optimizer`` as keywords.

    With t = iterations + 1: ``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0])
    >>> Adamax(learning_rate=0.5).apply([np.array([1.0, 6.0])], [w])
    >>> np.round(w, 4)
    array([0.5, 1.5])
    """

    _slot_names = ("momentum", "norm")

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        t = self._update_count + 1
        m, u = slots["momentum"].data, slots["norm"].data
        np.subtract(gradient, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        u *= self.beta_2
        np.abs(gradient, out=tmp)
        np.maximum(u, tmp, out=u)
        np.add(u, self.epsilon, out=tmp)
        tmp *= 1 - self.beta_1 ** t
        np.divide(m, tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp
