"""Nadam."""

import numpy as np

from minicnn.optimizers._moments import MomentOptimizer, moments_into
from minicnn.optimizers._variables import data_of


class Nadam(MomentOptimizer):
    """Adam with Nesterov momentum (Keras 3 formulas, Dozat's momentum schedule); the base
    arguments of ``Optimizer`` as keywords.

    With t = iterations + 1 and ``u(t) = beta_1 * (1 - 0.5 * 0.96**t)``, the optimizer-wide
    ``u_product`` is multiplied by ``u(t)`` at each update; then per variable Adam's moments m, v
    and ``m_hat = u(t+1) * m / (1 - u_product * u(t+1)) + (1 - u(t)) * g / (1 - u_product)``,
    ``w -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)``.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0])
    >>> Nadam(learning_rate=0.5).apply([np.array([1.0, 6.0])], [w])
    >>> np.round(w, 4)
    array([0.4686, 1.4686])
    """

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self._u_product = None

    def build(self, var_list):
        var_list = list(var_list)
        if self._u_product is None:  # in the first variable's dtype, as Keras keeps it
            dtype = data_of(var_list[0]).dtype if var_list else np.dtype("float32")
            self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="u_product")
        super().build(var_list)

    def _u(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _begin_update(self):
        u = self._u_product.data
        u[...] = u * self._u(self._update_count + 1)

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        t = self._update_count + 1
        u_t, u_next = self._u(t), self._u(t + 1)
        u_product = self._u_product.data
        m, v = slots["momentum"].data, slots["velocity"].data
        moments_into(gradient, m, v, tmp, self.beta_1, self.beta_2)
        m_hat = np.multiply(m, u_next / (1 - u_product * u_next))
        np.multiply(gradient, (1 - u_t) / (1 - u_product), out=tmp)
        m_hat += tmp
        np.divide(v, 1 - self.beta_2 ** t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        m_hat *= learning_rate
        m_hat /= tmp
        variable -= m_hat
