"""``SyncBatchNormalization``: batch normalisation whose statistics are those of the global batch
(Horovod's ``hvd.SyncBatchNormalization``; Keras' ``BatchNormalization(synchronized=True)``).

Plain BatchNormalization on N ranks normalises each rank's slice with that slice's statistics,
so N x b is not 1 x N*b.  Here the forward pass adds the ranks' per-feature count, sum and sum
of squares (one Allreduce, float64) before normalising, and the backward pass adds the ranks'
``sum(g)`` and ``sum(g * xhat)`` (one more): with equal slices, N ranks x b then train exactly
like one process x N*b with BatchNormalization, to float rounding (tests/distribute).  The
backward gives each rank the gradient of the *sum* of the ranks' losses through the shared
statistics, which ``DistributedOptimizer``'s average turns into the gradient of their mean.
With one rank it is BatchNormalization (the variance from the sums instead of two passes).
"""

import numpy as np

from minicnn.autograd import Function
from minicnn.distribute._runtime import active_group
from minicnn.layers import BatchNormalization
from minicnn.serialization import register_builtin

__all__ = ["SyncBatchNormalization", "SyncBatchNormFunction"]


class SyncBatchNormFunction(Function):
    """Training-mode batch normalisation over every axis but ``axis`` with the statistics of all
    ranks of ``group`` (None: this process alone); updates the moving statistics in place."""

    @staticmethod
    def forward(ctx, x, gamma, beta, moving_mean, moving_variance, *, momentum, epsilon, axis, group):
        channels = x.shape[axis]
        axes = tuple(i for i in range(x.ndim) if i != axis)
        bshape = [1] * x.ndim
        bshape[axis] = channels
        sums = np.empty(1 + 2 * channels)
        sums[0] = x.size // channels
        sums[1:1 + channels] = x.sum(axis=axes, dtype=np.float64)
        sums[1 + channels:] = np.square(x, dtype=np.float64).sum(axis=axes)
        if group is not None:
            group.allreduce_(sums, "sum")
        count = sums[0]
        mean = sums[1:1 + channels] / count
        var = np.maximum(sums[1 + channels:] / count - mean * mean, 0.0)  # biased, as Keras
        for moving, batch in ((moving_mean, mean), (moving_variance, var)):
            moving *= momentum
            moving += (batch * (1.0 - momentum)).astype(moving.dtype)
        inv_std = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype).reshape(bshape)
        xhat = (x - mean.astype(x.dtype).reshape(bshape)) * inv_std
        y = xhat * gamma.reshape(bshape) if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta.reshape(bshape)
        ctx.save_for_backward(xhat, inv_std, gamma)
        ctx.axes, ctx.bshape, ctx.count, ctx.group = axes, bshape, count, group
        return y

    @staticmethod
    def backward(ctx, g):
        xhat, inv_std, gamma = ctx.saved_tensors
        nx, ng, nb = ctx.needs_input_grad[:3]
        g_sum = g.sum(axis=ctx.axes, dtype=np.float64)
        gxhat_sum = (g * xhat).sum(axis=ctx.axes, dtype=np.float64)
        gg = gxhat_sum.astype(gamma.dtype) if ng else None
        gb = g_sum.astype(g.dtype) if nb else None
        gx = None
        if nx:
            both = np.concatenate([g_sum, gxhat_sum])
            if ctx.group is not None:
                ctx.group.allreduce_(both, "sum")
            channels = g_sum.size
            mean_g = (both[:channels] / ctx.count).astype(g.dtype).reshape(ctx.bshape)
            mean_gxhat = (both[channels:] / ctx.count).astype(g.dtype).reshape(ctx.bshape)
            scale = inv_std * gamma.reshape(ctx.bshape) if gamma is not None else inv_std
            gx = (g - mean_g - xhat * mean_gxhat) * scale
        return gx, gg, gb, None, None


@register_builtin("minicnn.distribute")
class SyncBatchNormalization(BatchNormalization):
    """``BatchNormalization`` with the global batch's statistics in training (module docstring);
    inference uses the moving statistics, which stay identical on every rank.  Same arguments."""

    def __init__(self, *args, **kwargs):
        kwargs["synchronized"] = True
        super().__init__(*args, **kwargs)

    def call(self, inputs, training=False):
        if not (training and self.trainable):
            return super().call(inputs, training=False)
        return SyncBatchNormFunction.apply(
            inputs, self.gamma, self.beta, self.moving_mean.data, self.moving_variance.data,
            momentum=self.momentum, epsilon=self.epsilon, axis=self.axis % len(inputs.shape),
            group=active_group())
