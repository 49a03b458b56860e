"""Lamb."""

import math

import numpy as np

from minicnn.optimizers._moments import MomentOptimizer, moments_into


class Lamb(MomentOptimizer):
    """Lamb, Adam with a layer-wise trust ratio (Keras 3 formulas); the base arguments of
    ``Optimizer`` as keywords.

    With t = iterations + 1, Adam's moments m, v and
    ``update = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)``:
    ``w -= r * lr * update`` with ``r = ||w|| / ||update||`` when both norms are positive, else 1.

    >>> import numpy as np
    >>> w = np.array([1.0, 2.0, 3.0, 4.0])
    >>> Lamb(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
    >>> np.round(w, 4)
    array([-0.3693,  0.6307,  1.6307,  2.6307])
    """

    _slot_names = ("momentum", "velocity")

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        t = self._update_count + 1
        m, v = slots["momentum"].data, slots["velocity"].data
        moments_into(gradient, m, v, tmp, self.beta_1, self.beta_2)
        np.divide(v, 1 - self.beta_2 ** t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp /= 1 - self.beta_1 ** t  # the update
        w_norm = math.sqrt(float(np.vdot(variable, variable)))
        u_norm = math.sqrt(float(np.vdot(tmp, tmp)))
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        tmp *= ratio * learning_rate
        variable -= tmp
