"""Adam and AdamW."""

import math

import numpy as np

from minicnn.optimizers._moments import MomentOptimizer, moments_into

from minicnn._kernels import _optim
from minicnn._kernels._args import FLOATS as _FLOATS


class Adam(MomentOptimizer):
    """Adam (Keras 3 formulas, epsilon outside the square root); the base arguments of
    ``Optimizer`` as keywords.

    With t = iterations + 1: ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``;
    ``amsgrad`` uses the running maximum of v.

    >>> import numpy as np
    >>> w = np.zeros(2, dtype=np.float32)
    >>> _ = Adam(learning_rate=0.1).apply([np.array([1.0, -1.0], dtype=np.float32)], [w])
    >>> np.round(w, 4)
    array([-0.1,  0.1], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = bool(amsgrad)
        self._compiled_views = {}  # see _update_compiled

    def _slot_names_for(self, var):
        return ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        t = self._update_count + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots["momentum"].data, slots["velocity"].data
        self._moments(gradient, m, v, tmp)
        if self.amsgrad:
            v = np.maximum(slots["velocity_hat"].data, v, out=slots["velocity_hat"].data)
        self._step(m, v, tmp, alpha)
        variable -= tmp

    def _moments(self, g, m, v, tmp):
        """m, v (IN/OUT) += their moving-average updates for gradient g; tmp: scratch."""
        moments_into(g, m, v, tmp, self.beta_1, self.beta_2)

    def _step(self, m, v, tmp, alpha):
        """tmp (OUT) = alpha * m / (sqrt(v) + epsilon), the amount subtracted from the variable."""
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha

    def _update_all(self, pairs, lr):
        """All variables in one pass of ~10 ufunc calls over flat buffers instead of 12 calls per
        variable (a small CNN's step spends more time calling numpy than computing).

        Taken when every built variable has a gradient and they share a dtype (the usual training
        step); the slots then become views of one flat momentum and one flat velocity buffer, so
        ``variables``/``load_variables`` and the per-variable path keep working on them.  The
        elementwise operations and their order are those of ``update_step``: same numbers.
        """
        n = len(self._trainable_variables)
        if self.amsgrad or len(pairs) != n:
            return False
        if self._update_compiled(pairs, lr):
            return True
        flat = self._flat_state(pairs)
        if flat is None:
            return False
        g, m, v, tmp, tmp_views = flat
        np.concatenate([p[1].reshape(-1) for p in pairs], out=g)
        t = self._update_count + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        self._moments(g, m, v, tmp)
        self._step(m, v, tmp, alpha)
        for (_, _, _, data), step in zip(pairs, tmp_views):
            data -= step
        return True

    def _update_compiled(self, pairs, lr):
        """Each variable in one compiled pass (``_kernels/src/adam.h``: the same operations as
        ``update_step``, so the same numbers, without ten ufunc passes and a temporary).  False,
        with nothing changed, unless every variable, gradient and slot is a C-contiguous float32
        or float64 array of the variable's dtype."""
        work = []
        # Per variable index: (data, m, v, their flat views), valid while the variable and its
        # slots are the same array objects (the slots are replaced by _flat_state, a variable's
        # data by user code), which saves re-checking and re-flattening them at every step.
        checked = self._compiled_views
        for i, g, _, data in pairs:
            slots = self._slots[i]
            m, v = slots["momentum"].data, slots["velocity"].data
            views = checked.get(i)
            if views is None or views[0] is not data or views[1] is not m or views[2] is not v:
                if data.dtype not in _FLOATS or not data.flags.c_contiguous:
                    return False
                if m.dtype != data.dtype or v.dtype != data.dtype:
                    return False
                if not (m.flags.c_contiguous and v.flags.c_contiguous):
                    return False
                views = checked[i] = (data, m, v, data.reshape(-1), m.reshape(-1), v.reshape(-1))
            if g.dtype != data.dtype or not data.flags.writeable:  # may change between steps
                return False
            work.append((views[3], np.ascontiguousarray(g).reshape(-1), views[4], views[5]))
        t = self._update_count + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        c1, c2 = 1 - self.beta_1, 1 - self.beta_2
        for w, g, m, v in work:
            _optim.adam_update_into(w, g, m, v, c1, c2, alpha, self.epsilon)
        self._compiled_steps = getattr(self, "_compiled_steps", 0) + 1
        return True

    def _flat_state(self, pairs):
        """(g, m, v, tmp, tmp views shaped like the variables) for pairs in build order, or None
        when the variables do not share one dtype.  Built once (and again if variables were
        added); the existing momentum/velocity values are moved into the flat buffers."""
        for i, p in enumerate(pairs):  # every built variable, in build order
            if p[0] != i:
                return None
        cached = getattr(self, "_flat", None)
        if cached is not None and cached[0] == len(pairs):
            return cached[1]
        dtype = pairs[0][3].dtype
        if any(d.dtype != dtype for _, _, _, d in pairs):
            return None
        sizes = [d.size for _, _, _, d in pairs]
        total = sum(sizes)
        bufs = [np.empty(total, dtype) for _ in range(4)]
        g, m, v, tmp = bufs
        views, start = [], 0
        for (i, _, _, data), size in zip(pairs, sizes):
            sl = slice(start, start + size)
            slots = self._slots[i]
            for name, buf in (("momentum", m), ("velocity", v)):
                view = buf[sl].reshape(data.shape)
                view[...] = slots[name].data
                slots[name].data = view
            views.append(tmp[sl].reshape(data.shape))
            start += size
        state = (g, m, v, tmp, views)
        self._flat = (len(pairs), state)
        return state

    def get_config(self):
        config = super().get_config()
        config.update(amsgrad=self.amsgrad)
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004, as Keras): ``w -= w * weight_decay * lr``
    before the Adam step.

    >>> AdamW().weight_decay
    0.004
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: Argument `weight_decay` must be a float. Received: weight_decay=None "
                             "(use Adam for no decay)")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)
