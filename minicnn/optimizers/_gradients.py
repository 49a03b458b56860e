"""What the optimizer does to the gradients before an update, in Keras 3's order: variables that
take their gradient as value, loss-scale division, accumulation, clipping.

Work items are ``(index, gradient, variable, data)`` tuples (``index`` into the optimizer's
per-variable lists, ``data`` the variable's ndarray).  The caller's gradients are never
modified: a processed gradient goes into a buffer of the optimizer's, one per variable.
"""

import numpy as np

__all__ = ["GradientProcessing"]


class GradientProcessing:
    """The gradient half of :class:`minicnn.optimizers.Optimizer`."""

    def _grad_buffer(self, i, g):
        if self._gbuf[i] is None or self._gbuf[i].dtype != g.dtype:
            self._gbuf[i] = np.empty_like(g)
        return self._gbuf[i]

    def _is_update_step(self):
        """False on the calls that only accumulate (``gradient_accumulation_steps``)."""
        steps = self.gradient_accumulation_steps
        return not steps or (int(self._iterations.data) + 1) % steps == 0

    def _overwrite_with_gradients(self, pairs):
        """Variables with ``overwrite_with_gradient`` take the gradient as value (accumulated by
        maximum); the other pairs are returned."""
        rest = []
        for p in pairs:
            i, g, var, data = p
            if not getattr(var, "overwrite_with_gradient", False):
                rest.append(p)
            elif self.gradient_accumulation_steps:
                acc = self._accumulated_gradients[i].data
                if self._is_update_step():
                    np.maximum(g, acc, out=data)
                    acc[...] = 0
                else:
                    np.maximum(g, acc, out=acc)
            else:
                data[...] = g
        return rest

    def _unscaled(self, pairs):
        scale = self.loss_scale_factor
        if scale is None:
            return pairs
        return [(i, np.divide(g, scale, out=self._grad_buffer(i, g)), v, d) for i, g, v, d in pairs]

    def _accumulated(self, pairs):
        """The mean gradients of the last ``gradient_accumulation_steps`` calls on an update call
        (the accumulators start again from zero), else None after adding to the accumulators."""
        steps = self.gradient_accumulation_steps
        update = self._is_update_step()
        out = []
        for i, g, v, d in pairs:
            acc = self._accumulated_gradients[i].data
            if not update:
                acc += g
                continue
            mean = np.add(g, acc, out=self._grad_buffer(i, g))
            mean /= steps
            acc[...] = 0
            out.append((i, mean, v, d))
        return out if update else None

    def _clip(self, pairs):
        # Keras treats a clipping threshold of 0 as no clipping.
        if self.clipnorm:
            out = []
            for i, g, v, d in pairs:
                norm = float(np.sqrt(np.vdot(g, g)))
                if norm > self.clipnorm:
                    g = np.multiply(g, self.clipnorm / norm, out=self._grad_buffer(i, g))
                out.append((i, g, v, d))
            return out
        if self.global_clipnorm:
            norm = float(np.sqrt(sum(float(np.vdot(g, g)) for _, g, _, _ in pairs)))
            if norm <= self.global_clipnorm:
                return pairs
            scale = self.global_clipnorm / norm
            return [(i, np.multiply(g, scale, out=self._grad_buffer(i, g)), v, d) for i, g, v, d in pairs]
        if self.clipvalue:
            c = self.clipvalue
            return [(i, np.clip(g, -c, c, out=self._grad_buffer(i, g)), v, d) for i, g, v, d in pairs]
        return pairs
