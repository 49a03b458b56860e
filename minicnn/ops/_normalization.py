"""Per-sample normalisation: ``layer_normalization`` (Keras' ``ops.layer_normalization``) and
``group_normalization`` (the maths of Keras' GroupNormalization layer), both on one Function.

Vectorised NumPy: these layers are memory-bound elementwise passes plus reductions over a few
axes, which NumPy already does at memory speed; the backward reuses the normalised input saved
by the forward (one array the size of x) instead of recomputing it.
"""

import numpy as np

from minicnn.autograd import Function, sum_to_shape
from minicnn.ops._util import as_tensor, check_float

__all__ = ["layer_normalization", "group_normalization", "NormalizeFunction"]

EPSILON = 1e-7  # Keras' backend.epsilon(), the default of ops.layer_normalization


class NormalizeFunction(Function):
    """``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with mean and (biased) variance
    over ``axes`` of x; ``gamma``/``beta`` (or None) broadcast against x.

    Backward, with ``d = g * gamma`` and means over ``axes``:
    ``gx = inv_std * (d - mean(d) - xhat * mean(d * xhat))``, ``ggamma = sum(g * xhat)`` and
    ``gbeta = sum(g)`` reduced to their shapes.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, *, axes, epsilon):
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = np.mean(np.square(xhat), axis=axes, keepdims=True)
        inv_std = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype, copy=False)
        xhat *= inv_std  # a fresh array: normalised in place
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        ctx.save_for_backward(xhat, inv_std, gamma)
        ctx.axes = axes
        ctx.beta_meta = None if beta is None else (beta.shape, beta.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        xhat, inv_std, gamma = ctx.saved_tensors
        nx, ng, nb = ctx.needs_input_grad
        axes = ctx.axes
        gx = gg = gb = None
        if ng:
            gg = sum_to_shape(g * xhat, gamma.shape, gamma.dtype)
        if nb:
            gb = sum_to_shape(g, *ctx.beta_meta)
        if nx:
            d = g * gamma if gamma is not None else g
            gx = d - d.mean(axis=axes, keepdims=True)
            gx -= xhat * (d * xhat).mean(axis=axes, keepdims=True)
            gx *= inv_std
        return gx, gg, gb


def _check_param(name, p, expected, shape, x):
    """``p`` (None, or one value per position of ``expected``) reshaped to broadcast ``shape``."""
    if p is None:
        return None
    p = as_tensor(p, name)
    want = tuple(d for d in expected if d != 1)
    if tuple(d for d in p.shape if d != 1) != want:  # size-1 axes aside
        raise ValueError(f"{name} must hold one value per normalised position, shape {want}, "
                         f"got shape {p.shape}")
    if p.dtype != x.dtype:
        p = p.astype(x.dtype)
    return p.reshape(shape)


def _axes(axis, ndim, who):
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    if not axes or any(not -ndim <= int(a) < ndim for a in axes):
        raise ValueError(f"{who}: axis={axis} is out of range for an input of rank {ndim}")
    axes = sorted(int(a) % ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{who}: duplicate axes in axis={axis}")
    return tuple(axes)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """Normalise each sample over ``axis`` (an int or a list), then ``* gamma + beta``;
    gamma/beta hold one value per position of those axes.  ``epsilon`` defaults to 1e-7 as in
    Keras' op (the layer passes its own, 1e-3).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.layer_normalization(np.array([[1.0, 3.0]]), epsilon=0.0).numpy()
    array([[-1.,  1.]])
    """
    x = as_tensor(x)
    check_float("x", x.data)
    axes = _axes(axis, x.ndim, "layer_normalization")
    shape = tuple(x.shape[d] if d in axes else 1 for d in range(x.ndim))
    gamma, beta = (_check_param(n, p, shape, shape, x) for n, p in (("gamma", gamma), ("beta", beta)))
    return NormalizeFunction.apply(x, gamma, beta, axes=axes,
                                   epsilon=EPSILON if epsilon is None else float(epsilon))


def group_normalization(x, gamma=None, beta=None, groups=32, axis=-1, epsilon=1e-3):
    """Split the channel ``axis`` into ``groups`` and normalise each sample's groups over every
    other non-batch axis; gamma/beta are per channel.  ``groups=channels`` is instance
    normalisation, ``groups=1`` normalises each sample over everything.

    >>> import numpy as np, minicnn
    >>> x = np.array([[1.0, 3.0, 10.0, 30.0]])
    >>> minicnn.ops.group_normalization(x, groups=2, epsilon=0.0).numpy()
    array([[-1.,  1., -1.,  1.]])
    """
    x = as_tensor(x)
    check_float("x", x.data)
    if x.ndim < 2:
        raise ValueError(f"group_normalization: x must have a batch axis and a channel axis, got shape {x.shape}")
    (axis,) = _axes(axis, x.ndim, "group_normalization")
    if axis == 0:
        raise ValueError("group_normalization: the channel axis cannot be the batch axis 0")
    c = x.shape[axis]
    if not isinstance(groups, (int, np.integer)) or groups <= 0 or c % groups:
        raise ValueError(f"group_normalization: groups must be a positive divisor of the {c} channels, "
                         f"got groups={groups}")
    grouped = x.shape[:axis] + (groups, c // groups) + x.shape[axis + 1:]
    reduce = tuple(d for d in range(1, len(grouped)) if d != axis)
    shape = tuple(grouped[d] if d in (axis, axis + 1) else 1 for d in range(len(grouped)))
    xg = x.reshape(grouped)
    gamma, beta = (_check_param(n, p, (c,), shape, x) for n, p in (("gamma", gamma), ("beta", beta)))
    y = NormalizeFunction.apply(xg, gamma, beta, axes=reduce, epsilon=float(epsilon))
    return y.reshape(x.shape)
