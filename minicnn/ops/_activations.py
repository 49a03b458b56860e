"""Activation functions (elementwise, numpy) and softmax / log-softmax."""

import math

import numpy as np

from minicnn._kernels.elementwise import relu_mask_bias_grad as _relu_mask_bias_grad
from minicnn.autograd import Function
from minicnn.ops._special import erfc as _erfc
from minicnn.ops._util import as_tensor, check_float, norm_axis

__all__ = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax",
           "log_softmax", "ReluFunction", "LeakyReluFunction", "EluFunction", "GeluFunction",
           "SigmoidFunction", "TanhFunction", "SoftplusFunction", "SoftmaxFunction",
           "LogSoftmaxFunction"]

class ReluFunction(Function):
    """max(x, 0).  Backward: ``g * (y > 0)`` from the saved output; for float32/float64 in one
    compiled, threaded pass, bitwise the same (numpy makes a boolean mask, then multiplies)."""

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if y.ndim >= 1 and g.dtype == y.dtype and y.dtype in _KERNEL_FLOATS:
            return _relu_mask_bias_grad(g, y, bias=False)[0]
        return g * (y > 0)


_KERNEL_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class LeakyReluFunction(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.2):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * np.where(x > 0, 1, ctx.slope)).astype(x.dtype, copy=False)


class EluFunction(Function):
    @staticmethod
    def forward(ctx, x, alpha=1.0):
        y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (g * np.where(x > 0, 1, y + ctx.alpha)).astype(x.dtype, copy=False)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_MINUS_INV_SQRT_2 = -1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GeluFunction(Function):
    """x * Phi(x), Phi the normal CDF, exactly (``0.5 * erfc(-x / sqrt(2))``) or by Keras' tanh
    approximation when ``approximate=True``, computed as ``x * sigmoid(2u)``, which equals
    ``0.5 x (1 + tanh(u))``.  Both forms avoid ``1 + erf`` and ``1 + tanh``: those cancel for
    negative x (every bit lost below x = -5 in float32), these keep float32's relative accuracy
    in the whole left tail.  Forward keeps Phi (or the sigmoid) for backward."""

    @staticmethod
    def forward(ctx, x, approximate=False):
        dt = x.dtype.type
        ctx.approximate = approximate
        if approximate:
            # u = sqrt(2/pi) (x + 0.044715 x^3); s = 1 / (1 + exp(-2u))
            s = x * x
            s *= dt(-2 * 0.044715 * _SQRT_2_OVER_PI)
            s += dt(-2 * _SQRT_2_OVER_PI)
            s *= x
            with np.errstate(over="ignore"):  # x << 0: exp overflows to inf, s to 0, as it should
                np.exp(s, out=s)
            s += 1
            np.reciprocal(s, out=s)
        else:
            s = _erfc(x * dt(_MINUS_INV_SQRT_2))
            s *= dt(0.5)  # Phi(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        dt = x.dtype.type
        if ctx.approximate:
            # d/dx x s(2u) = s + 2 x s (1 - s) u',  u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
            d = x * x
            d *= dt(2 * 3 * 0.044715 * _SQRT_2_OVER_PI)
            d += dt(2 * _SQRT_2_OVER_PI)
            d *= x
            d *= s
            d *= 1 - s
        else:
            # d/dx x Phi(x) = Phi(x) + x phi(x)
            d = x * x
            d *= dt(-0.5)
            with np.errstate(under="ignore"):
                np.exp(d, out=d)
            d *= x
            d *= dt(_INV_SQRT_2PI)
        d += s
        d *= g
        return d


def _sigmoid(x):
    # exp of -|x| only: no overflow warning for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class SigmoidFunction(Function):
    @staticmethod
    def forward(ctx, x):
        y = _sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class TanhFunction(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class SoftplusFunction(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _sigmoid(x)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class SoftmaxFunction(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax(x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gy = g * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True)


class LogSoftmaxFunction(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _log_softmax(x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * g.sum(axis=ctx.axis, keepdims=True)


def _float_input(x):
    x = as_tensor(x)
    check_float("x", x.data)
    return x


def relu(x):
    """max(x, 0).

    >>> import minicnn
    >>> minicnn.ops.relu([-1.0, 2.0])
    Tensor([0., 2.], dtype=float32)
    """
    return ReluFunction.apply(_float_input(x))


def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, else negative_slope * x (Keras' default slope 0.2)."""
    return LeakyReluFunction.apply(_float_input(x), negative_slope=float(negative_slope))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return EluFunction.apply(_float_input(x), alpha=float(alpha))


def gelu(x, approximate=True):
    """Gaussian error linear unit: x * Phi(x); ``approximate=True`` (Keras' default for
    ``ops.gelu``) is the tanh form, ``False`` the exact one with erf.

    >>> import minicnn
    >>> minicnn.ops.gelu([0.0, 1.0], approximate=False).numpy().round(4)
    array([0.    , 0.8413], dtype=float32)
    """
    return GeluFunction.apply(_float_input(x), approximate=bool(approximate))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow.  The output remembers its logits so that
    ``binary_crossentropy`` on it is computed stably from them."""
    x = _float_input(x)
    y = SigmoidFunction.apply(x)
    y._sigmoid_logits = x
    return y


def tanh(x):
    """Hyperbolic tangent."""
    return TanhFunction.apply(_float_input(x))


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return SoftplusFunction.apply(_float_input(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (max-shifted).  The output remembers its logits so
    that a cross-entropy on it is computed from them (log-sum-exp), never as log(0).

    >>> import minicnn
    >>> minicnn.ops.softmax([[0.0, 0.0]]).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """
    x = _float_input(x)
    axis = norm_axis(axis, x.ndim)
    y = SoftmaxFunction.apply(x, axis=axis)
    y._softmax_logits = x
    y._softmax_axis = axis
    return y


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``."""
    x = _float_input(x)
    return LogSoftmaxFunction.apply(x, axis=norm_axis(axis, x.ndim))
