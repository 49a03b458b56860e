"""Per-sample losses (Keras' functional losses: no reduction over the batch).

Cross-entropies on the output of :func:`softmax` / :func:`sigmoid` are computed from the logits
those ops recorded (log-sum-exp / log-sigmoid), so they never take log(0) and their gradient
is the clean ``p - y`` path.  Probabilities from anywhere else are clipped to
``[EPSILON, 1 - EPSILON]`` like Keras.
"""

import numpy as np

from minicnn.autograd import Function, Tensor, sum_to_shape
from minicnn.ops._util import as_tensor, check_float, norm_axis, raw
from minicnn.ops._activations import _log_softmax, _sigmoid

__all__ = ["sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
           "mean_squared_error", "mean_absolute_error", "SoftmaxCrossentropyFunction",
           "ProbabilityCrossentropyFunction", "SigmoidBinaryCrossentropyFunction",
           "ProbabilityBinaryCrossentropyFunction", "MeanSquaredErrorFunction",
           "MeanAbsoluteErrorFunction", "EPSILON"]

EPSILON = 1e-7


class SoftmaxCrossentropyFunction(Function):
    """loss = -sum(t * log_softmax(z)) over ``axis``; d/dz = g * (softmax(z) * sum(t) - t)."""

    @staticmethod
    def forward(ctx, target, logits, *, axis):
        logp = _log_softmax(logits, axis)
        ctx.save_for_backward(target, logp)
        ctx.axis = axis
        return -(target * logp).sum(axis=axis)

    @staticmethod
    def backward(ctx, g):
        t, logp = ctx.saved_tensors
        nt, nz = ctx.needs_input_grad
        g = np.expand_dims(g, ctx.axis)
        gt = (-g * logp).astype(t.dtype, copy=False) if nt else None
        gz = None
        if nz:
            gz = g * (np.exp(logp) * t.sum(axis=ctx.axis, keepdims=True) - t)
            gz = gz.astype(logp.dtype, copy=False)
        return gt, gz


class ProbabilityCrossentropyFunction(Function):
    """Keras' probability path: p = y / sum(y), clipped to [eps, 1 - eps], loss -sum(t log p)."""

    @staticmethod
    def forward(ctx, target, probs, *, axis):
        s = probs.sum(axis=axis, keepdims=True)
        q = probs / s
        c = np.clip(q, EPSILON, 1 - EPSILON)
        logc = np.log(c)
        ctx.save_for_backward(target, q, c, s, logc)
        ctx.axis = axis
        return -(target * logc).sum(axis=axis)

    @staticmethod
    def backward(ctx, g):
        t, q, c, s, logc = ctx.saved_tensors
        nt, np_ = ctx.needs_input_grad
        g = np.expand_dims(g, ctx.axis)
        gt = (-g * logc).astype(t.dtype, copy=False) if nt else None
        gp = None
        if np_:
            inside = (q > EPSILON) & (q < 1 - EPSILON)
            u = np.where(inside, -t / c, 0) * g  # dL/dq
            gp = ((u - (u * q).sum(axis=ctx.axis, keepdims=True)) / s).astype(q.dtype, copy=False)
        return gt, gp


class SigmoidBinaryCrossentropyFunction(Function):
    """loss = mean(max(z, 0) - z t + log(1 + exp(-|z|))) over the last axis."""

    @staticmethod
    def forward(ctx, target, logits):
        ctx.save_for_backward(target, logits)
        per = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
        return per.mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        t, z = ctx.saved_tensors
        nt, nz = ctx.needs_input_grad
        g = np.expand_dims(g, -1) / z.shape[-1]
        gt = (-g * z).astype(t.dtype, copy=False) if nt else None
        gz = (g * (_sigmoid(z) - t)).astype(z.dtype, copy=False) if nz else None
        return gt, gz


class ProbabilityBinaryCrossentropyFunction(Function):
    @staticmethod
    def forward(ctx, target, probs):
        c = np.clip(probs, EPSILON, 1 - EPSILON)
        ctx.save_for_backward(target, probs, c)
        per = -(target * np.log(c) + (1 - target) * np.log(1 - c))
        return per.mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        t, p, c = ctx.saved_tensors
        nt, np_ = ctx.needs_input_grad
        g = np.expand_dims(g, -1) / p.shape[-1]
        gt = (-g * (np.log(c) - np.log(1 - c))).astype(t.dtype, copy=False) if nt else None
        gp = None
        if np_:
            inside = (p > EPSILON) & (p < 1 - EPSILON)
            gp = (g * np.where(inside, (c - t) / (c * (1 - c)), 0)).astype(p.dtype, copy=False)
        return gt, gp


class MeanSquaredErrorFunction(Function):
    @staticmethod
    def forward(ctx, target, pred):
        d = pred - target
        ctx.save_for_backward(d)
        ctx.meta = (target.shape, target.dtype, pred.shape, pred.dtype)
        return (d * d).mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        ts, tdt, ps, pdt = ctx.meta
        gd = np.expand_dims(g, -1) * (2.0 / d.shape[-1]) * d
        return _to(-gd, ts, tdt, ctx.needs_input_grad[0]), _to(gd, ps, pdt, ctx.needs_input_grad[1])


class MeanAbsoluteErrorFunction(Function):
    @staticmethod
    def forward(ctx, target, pred):
        d = pred - target
        ctx.save_for_backward(d)
        ctx.meta = (target.shape, target.dtype, pred.shape, pred.dtype)
        return np.abs(d).mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        ts, tdt, ps, pdt = ctx.meta
        gd = np.expand_dims(g, -1) * np.sign(d) / d.shape[-1]
        return _to(-gd, ts, tdt, ctx.needs_input_grad[0]), _to(gd, ps, pdt, ctx.needs_input_grad[1])


def _to(g, shape, dtype, needed):
    return sum_to_shape(g, shape, dtype) if needed else None


# -- functional API --------------------------------------------------------------------------
def _pred(y_pred):
    y_pred = as_tensor(y_pred, "y_pred")
    check_float("y_pred", y_pred.data)
    if y_pred.ndim < 1:
        raise ValueError(f"y_pred must have at least 1 dimension, got shape {y_pred.shape}")
    return y_pred


def _target(y_true, like):
    """Labels as a Tensor (gradients to them only if they require it) in y_pred's dtype."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == like.dtype or y_true.requires_grad else Tensor(
            y_true.data.astype(like.dtype))
    arr = np.asarray(y_true)
    return arr.astype(like.dtype, copy=False)


def _recorded_logits(y_pred, attr, axis=None):
    logits = getattr(y_pred, attr, None)
    if logits is None:
        return None
    if axis is not None and getattr(y_pred, "_softmax_axis", None) != axis:
        return None
    return logits


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy against one-hot (or soft) targets, one value per sample.

    >>> import numpy as np, minicnn
    >>> logits = np.array([[2.0, 0.0, 0.0]], np.float32)
    >>> y = np.array([[1.0, 0.0, 0.0]], np.float32)
    >>> minicnn.ops.categorical_crossentropy(y, logits, from_logits=True).numpy().round(4)
    array([0.2395], dtype=float32)
    """
    y_pred = _pred(y_pred)
    ax = norm_axis(axis, y_pred.ndim)
    t = _target(y_true, y_pred)
    if raw(t).shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true shape {raw(t).shape} must equal y_pred "
                         f"shape {y_pred.shape} (use sparse_categorical_crossentropy for integer labels)")
    if label_smoothing:
        ls = float(label_smoothing)
        if not 0.0 <= ls <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        t = t * (1.0 - ls) + ls / y_pred.shape[ax]
    return _crossentropy(t, y_pred, from_logits, ax)


def _crossentropy(t, y_pred, from_logits, ax):
    if not from_logits:
        logits = _recorded_logits(y_pred, "_softmax_logits", ax)
        if logits is None:
            return ProbabilityCrossentropyFunction.apply(t, y_pred, axis=ax)
        y_pred = logits
    return SoftmaxCrossentropyFunction.apply(t, y_pred, axis=ax)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy against integer class labels, one value per sample.

    ``y_true`` has y_pred's shape without ``axis`` (a trailing 1 is accepted, as in Keras).
    Samples labelled ``ignore_class`` get loss 0 and no gradient.

    >>> import numpy as np, minicnn
    >>> p = minicnn.ops.softmax(np.array([[0.0, 0.0]], np.float32))
    >>> minicnn.ops.sparse_categorical_crossentropy(np.array([1]), p).numpy().round(4)
    array([0.6931], dtype=float32)
    """
    y_pred = _pred(y_pred)
    ax = norm_axis(axis, y_pred.ndim)
    labels = np.asarray(raw(y_true))
    want = y_pred.shape[:ax] + y_pred.shape[ax + 1:]
    if labels.shape != want and labels.shape == want + (1,):
        labels = labels.reshape(want)
    if labels.shape != want:
        raise ValueError(f"sparse_categorical_crossentropy: y_true shape {labels.shape} does not match "
                         f"y_pred shape {y_pred.shape} without axis {axis} ({want})")
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("sparse_categorical_crossentropy: y_true must hold integer class indices")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"sparse_categorical_crossentropy: y_true must be integer labels, got dtype {labels.dtype}")
    n_classes = y_pred.shape[ax]
    ignored = None
    if ignore_class is not None:
        ignored = labels == int(ignore_class)
        labels = np.where(ignored, 0, labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"sparse_categorical_crossentropy: labels must be in [0, {n_classes}), got "
                         f"min {labels.min()} max {labels.max()}")
    onehot = np.eye(n_classes, dtype=y_pred.dtype)[labels]
    if ignored is not None:
        onehot[ignored] = 0  # an all-zero target: loss 0 and a zero gradient
    onehot = np.moveaxis(onehot, -1, ax)
    return _crossentropy(onehot, y_pred, from_logits, ax)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Binary cross-entropy averaged over the last axis: (N, k) -> (N,).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]]), from_logits=True).numpy().round(4)
    array([0.6931])
    """
    y_pred = _pred(y_pred)
    t = _target(y_true, y_pred)
    if raw(t).shape != y_pred.shape:
        raise ValueError(f"binary_crossentropy: y_true shape {raw(t).shape} must equal y_pred shape {y_pred.shape}")
    if label_smoothing:
        ls = float(label_smoothing)
        if not 0.0 <= ls <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        t = t * (1.0 - ls) + 0.5 * ls
    if not from_logits:
        logits = _recorded_logits(y_pred, "_sigmoid_logits")
        if logits is None:
            return ProbabilityBinaryCrossentropyFunction.apply(t, y_pred)
        y_pred = logits
    return SigmoidBinaryCrossentropyFunction.apply(t, y_pred)


def _regression(fn, name, y_true, y_pred):
    y_pred = _pred(y_pred)
    t = _target(y_true, y_pred)
    try:
        np.broadcast_shapes(raw(t).shape, y_pred.shape)
    except ValueError:
        raise ValueError(f"{name}: y_true shape {raw(t).shape} and y_pred shape {y_pred.shape} "
                         "are not compatible") from None
    return fn.apply(t, y_pred)


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true) ** 2) over the last axis.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.mean_squared_error(np.zeros((1, 2)), np.array([[1.0, 3.0]])).numpy()
    array([5.])
    """
    return _regression(MeanSquaredErrorFunction, "mean_squared_error", y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|) over the last axis."""
    return _regression(MeanAbsoluteErrorFunction, "mean_absolute_error", y_true, y_pred)
