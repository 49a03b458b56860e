"""Dense (x @ W + b), dropout, batch normalisation, zero padding."""

import numpy as np

from minicnn._kernels import norm as _norm
from minicnn._kernels.elementwise import relu_mask_bias_grad as _relu_mask_bias_grad
from minicnn._random import global_rng
from minicnn.ops._elementary import matmul2d as _mm
from minicnn.autograd import Function
from minicnn.ops._util import as_tensor, check_float, norm_axis, raw

_KERNEL_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

__all__ = ["dense", "dropout", "fused_batch_normalization", "zero_padding2d", "DenseFunction",
           "DropoutFunction", "BatchNormFunction", "ZeroPadding2DFunction"]


class DenseFunction(Function):
    """y = x @ W (+ b) over the last axis of x (any leading dims), optionally followed by a
    fused ReLU so the activation costs no extra graph node or pass over memory."""

    @staticmethod
    def forward(ctx, x, kernel, bias=None, relu=False):
        x2 = x.reshape(-1, x.shape[-1])
        y = _mm(x2, kernel)
        if bias is not None:
            y += bias
        if relu:
            np.maximum(y, 0, out=y)
        ctx.save_for_backward(x, kernel, y if relu else None)
        ctx.has_bias = bias is not None
        return y.reshape(x.shape[:-1] + (kernel.shape[1],))

    @staticmethod
    def backward(ctx, g):
        x, kernel, y = ctx.saved_tensors
        nx, nk, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gb = None
        if y is not None and g2.dtype in _KERNEL_FLOATS and g2.dtype == y.dtype:
            # ReLU mask and bias gradient in one compiled pass.
            g2, gb = _relu_mask_bias_grad(g2, y, bias=bool(nb))
        elif y is not None:
            g2 = g2 * (y > 0)
        g2 = g2 if g2.flags.c_contiguous else np.ascontiguousarray(g2)
        gx = _mm(g2, kernel, trans_b=True).reshape(x.shape) if nx else None
        gk = _mm(x.reshape(-1, x.shape[-1]), g2, trans_a=True) if nk else None
        if nb and gb is None:
            gb = g2.sum(axis=0)
        return gx, gk, gb if nb else None


def dense(x, kernel, bias=None, activation=None):
    """``x @ kernel + bias`` over the last axis of ``x``; ``activation="relu"`` fuses a ReLU.

    >>> import numpy as np, minicnn
    >>> y = minicnn.ops.dense(np.ones((2, 5, 3), np.float32), np.ones((3, 4), np.float32))
    >>> y.shape
    (2, 5, 4)
    """
    x, kernel = as_tensor(x, "x"), as_tensor(kernel, "kernel")
    check_float("x", x.data)
    if kernel.ndim != 2:
        raise ValueError(f"dense: kernel must be 2-D (input_dim, units), got shape {kernel.shape}")
    if x.ndim < 1 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"dense: x's last dimension must equal kernel.shape[0]; got x.shape={x.shape}, "
                         f"kernel.shape={kernel.shape}")
    if x.dtype != kernel.dtype:
        raise TypeError(f"dense: x and kernel must have the same dtype, got {x.dtype} and {kernel.dtype}")
    if bias is not None:
        bias = as_tensor(bias, "bias")
        if bias.shape != (kernel.shape[1],):
            raise ValueError(f"dense: bias must have shape ({kernel.shape[1]},) for kernel.shape="
                             f"{kernel.shape}, got {bias.shape}")
        if bias.dtype != x.dtype:
            raise TypeError(f"dense: bias dtype {bias.dtype} differs from x dtype {x.dtype}")
    if activation not in (None, "linear", "relu"):
        raise ValueError(f"dense: activation must be None, 'linear' or 'relu' (fused), got {activation!r}")
    return DenseFunction.apply(x, kernel, bias, relu=activation == "relu")


class DropoutFunction(Function):
    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def dropout(x, rate, rng=None, seed=None, training=True):
    """Inverted dropout: zero each element with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` (identity when ``training`` is False or ``rate`` is 0).

    ``rng`` (a numpy Generator) or ``seed`` make the mask reproducible; otherwise minicnn's
    global generator is used (reseeded by ``set_random_seed``).

    >>> import numpy as np, minicnn
    >>> y = minicnn.ops.dropout(np.ones(1000, np.float32), 0.5, seed=0)
    >>> sorted(set(y.numpy().tolist()))
    [0.0, 2.0]
    """
    x = as_tensor(x)
    check_float("x", x.data)
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x
    if rng is None:
        rng = np.random.default_rng(seed) if seed is not None else global_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"dropout: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    u = rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
    mask = (u >= rate).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
    return DropoutFunction.apply(x, mask)


class BatchNormFunction(Function):
    """Normalise over every axis but ``axis``.  Training: batch statistics (biased variance,
    as Keras), and the moving statistics are updated in place.  Inference: moving statistics.

    Memory-bound on CNN activations, so the passes are counted.  Channels last (``axis`` the
    last axis, float32/float64, gamma/beta of x's dtype): compiled kernels
    (:mod:`minicnn._kernels.norm`) take the statistics in one read of x (in double), write y in
    one pass, and the backward reads g and x twice (``sum(g)``, ``sum(g * xhat)``, then ``gx``);
    xhat is recomputed from x instead of being stored.  Any other axis: NumPy, which allocates
    ``xhat`` and ``y`` in the forward and reads ``sum(g)`` and ``sum(g * xhat)`` once in the
    backward.  Both compute the input gradient
    ``gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat))``.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, moving_mean, moving_variance, *, training, momentum,
                epsilon, axis):
        ctx.training = training
        if _use_kernels(x, gamma, beta, axis):
            return _bn_forward_kernels(ctx, x, gamma, beta, moving_mean, moving_variance,
                                       training, momentum, epsilon)
        ctx.kernels = False
        bshape = [1] * x.ndim
        bshape[axis] = x.shape[axis]
        reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
        if training:
            mean = x.mean(axis=reduce_axes, keepdims=True)
            xhat = x - mean
            var = np.mean(np.square(xhat), axis=reduce_axes, keepdims=True)
            _update_moving(moving_mean, moving_variance, mean.reshape(-1), var.reshape(-1), momentum)
        else:
            xhat = x - moving_mean.reshape(bshape).astype(x.dtype, copy=False)
            var = moving_variance.reshape(bshape).astype(x.dtype, copy=False)
        inv_std = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype, copy=False)
        xhat *= inv_std  # xhat is a fresh array: normalise in place
        y = xhat * gamma.reshape(bshape) if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta.reshape(bshape)
        ctx.save_for_backward(xhat, inv_std, gamma)
        ctx.bshape, ctx.reduce_axes = bshape, reduce_axes
        return y

    @staticmethod
    def backward(ctx, g):
        if ctx.kernels:
            return _bn_backward_kernels(ctx, g)
        xhat, inv_std, gamma = ctx.saved_tensors
        nx, ng, nb = ctx.needs_input_grad[:3]
        axes = ctx.reduce_axes
        gx = gg = gb = None
        train_x = nx and ctx.training
        g_sum = g.sum(axis=axes, keepdims=True) if (nb or train_x) else None
        gxhat_sum = (g * xhat).sum(axis=axes, keepdims=True) if (ng or train_x) else None
        if ng:
            gg = gxhat_sum.reshape(-1)
        if nb:
            gb = g_sum.reshape(-1)
        if nx:
            scale = inv_std * gamma.reshape(ctx.bshape) if gamma is not None else inv_std
            if ctx.training:
                n = xhat.size // inv_std.size
                gx = xhat * (gxhat_sum / n)
                np.subtract(g, gx, out=gx)
                gx -= g_sum / n
                gx *= scale
            else:
                gx = g * scale
        return gx, gg, gb, None, None


def _use_kernels(x, gamma, beta, axis):
    """True where the compiled kernels give the NumPy path's result: channels last, a kernel
    dtype shared by gamma and beta (else NumPy's type promotion decides y's dtype), and a
    non-empty batch in training (NumPy returns NaN statistics for an empty one)."""
    return (axis == x.ndim - 1 and x.dtype in _KERNEL_FLOATS and x.size > 0
            and (gamma is None or gamma.dtype == x.dtype) and (beta is None or beta.dtype == x.dtype))


def _update_moving(moving_mean, moving_variance, mean, var, momentum):
    """moving = moving * momentum + batch * (1 - momentum), in place (Keras)."""
    m = 1.0 - momentum
    moving_mean *= momentum
    moving_mean += (mean * m).astype(moving_mean.dtype, copy=False)
    moving_variance *= momentum
    moving_variance += (var * m).astype(moving_variance.dtype, copy=False)


def kernel_statistics(mean, var, epsilon, dtype):
    """(mean, inv_std) of ``dtype`` from per-channel statistics (any float dtype, combined in
    float64), as the kernels use them: rounded to x's dtype once, so that the backward pass (and
    an inference epilogue fused into a conv) recomputes exactly the forward's numbers."""
    mean = np.asarray(mean).astype(np.float64, copy=False)
    var = np.asarray(var).astype(np.float64, copy=False)
    return mean.astype(dtype), (1.0 / np.sqrt(var + epsilon)).astype(dtype)


def _bn_forward_kernels(ctx, x, gamma, beta, moving_mean, moving_variance, training, momentum, epsilon):
    if training:
        mean, var = _norm.batch_norm_statistics(x)  # float64
        _update_moving(moving_mean, moving_variance, mean, var, momentum)
    else:
        mean, var = moving_mean, moving_variance
    mean, inv_std = kernel_statistics(mean, var, epsilon, x.dtype)
    y = _norm.batch_norm_forward(x, mean, inv_std, gamma, beta)
    ctx.kernels = True
    ctx.save_for_backward(x, mean, inv_std, gamma)
    return y


def _bn_backward_kernels(ctx, g):
    x, mean, inv_std, gamma = ctx.saved_tensors
    nx, ng, nb = ctx.needs_input_grad[:3]
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    gx, gg, gb = _norm.batch_norm_backward(g, x, mean, inv_std, gamma, training=ctx.training, need_x=nx)
    gg = gg.astype(gamma.dtype) if ng else None
    gb = gb.astype(x.dtype) if nb else None
    return gx, gg, gb, None, None


def fused_batch_normalization(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99,
                        epsilon=1e-3, axis=-1):
    """Batch normalisation over every axis but ``axis`` (Keras' BatchNormalization maths).

    ``training=True``: normalise with the batch mean and (biased) variance and update
    ``moving_mean``/``moving_variance`` (Tensors or arrays) in place:
    ``moving = moving * momentum + batch * (1 - momentum)``.  ``training=False``: normalise with
    the moving statistics.  ``gamma``/``beta`` may be None (no scale / no centre).

    >>> import numpy as np, minicnn
    >>> x = np.array([[0.0], [2.0]], np.float32)
    >>> mm, mv = np.zeros(1, np.float32), np.ones(1, np.float32)
    >>> y = minicnn.ops.fused_batch_normalization(x, None, None, mm, mv, training=True, epsilon=0.0)
    >>> y.numpy().ravel(), mm, mv
    (array([-1.,  1.], dtype=float32), array([0.01], dtype=float32), array([1.], dtype=float32))
    """
    x = as_tensor(x)
    check_float("x", x.data)
    if x.ndim < 1:
        raise ValueError(f"fused_batch_normalization: x must have at least 1 dimension, got shape {x.shape}")
    ax = norm_axis(axis, x.ndim)
    c = x.shape[ax]
    args = []
    for name, t in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                    ("moving_variance", moving_variance)):
        if t is None:
            if name.startswith("moving"):
                raise ValueError(f"fused_batch_normalization: {name} is required")
            args.append(None)
            continue
        arr = raw(t)
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"fused_batch_normalization: {name} must be a Tensor or ndarray, got {type(t).__name__}")
        if arr.shape != (c,):
            raise ValueError(f"fused_batch_normalization: {name} must have shape ({c},) for x.shape={x.shape} "
                             f"and axis={axis}, got {arr.shape}")
        args.append(t)
    return BatchNormFunction.apply(x, *args, training=bool(training), momentum=float(momentum),
                                   epsilon=float(epsilon), axis=ax)


def _padding_pairs(padding):
    if isinstance(padding, (int, np.integer)):
        return ((int(padding),) * 2,) * 2
    try:
        a, b = padding
    except (TypeError, ValueError):
        raise ValueError(f"zero_padding2d: padding must be an int, (h, w) or ((top, bottom), (left, right)), "
                         f"got {padding!r}") from None
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return ((int(a), int(a)), (int(b), int(b)))
    try:
        (t, bo), (l, r) = a, b
    except (TypeError, ValueError):
        raise ValueError(f"zero_padding2d: padding must be an int, (h, w) or ((top, bottom), (left, right)), "
                         f"got {padding!r}") from None
    return ((int(t), int(bo)), (int(l), int(r)))


class ZeroPadding2DFunction(Function):
    @staticmethod
    def forward(ctx, x, pads):
        ctx.pads, ctx.shape = pads, x.shape
        return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))

    @staticmethod
    def backward(ctx, g):
        (t, b), (l, r) = ctx.pads
        h, w = ctx.shape[1], ctx.shape[2]
        return g[:, t:t + h, l:l + w, :].copy()


def zero_padding2d(x, padding=((1, 1), (1, 1))):
    """Zero-pad the spatial axes of an NHWC tensor; ``padding`` is an int, ``(h, w)`` or
    ``((top, bottom), (left, right))`` like Keras' ZeroPadding2D.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.zero_padding2d(np.ones((1, 2, 2, 3)), ((1, 0), (2, 2))).shape
    (1, 3, 6, 3)
    """
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"zero_padding2d: x must be 4-D (N, H, W, C), got shape {x.shape}")
    if x.dtype.kind not in "biuf":  # padding works for any real dtype, as in Keras
        raise TypeError(f"zero_padding2d: x must be a real (bool, int or float) tensor, got dtype {x.dtype}")
    pads = _padding_pairs(padding)
    if any(p < 0 for pair in pads for p in pair):
        raise ValueError(f"zero_padding2d: padding must be non-negative, got {padding!r}")
    return ZeroPadding2DFunction.apply(x, pads=pads)
