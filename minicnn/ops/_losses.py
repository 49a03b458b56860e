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
    """loss = max(z, 0) - z t + log(1 + exp(-|z|)), elementwise (Keras' ops form: no mean)."""

    @staticmethod
    def forward(ctx, target, logits):
        ctx.save_for_backward(target, logits)
        return np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))

    @staticmethod
    def backward(ctx, g):
        t, z = ctx.saved_tensors
        nt, nz = ctx.needs_input_grad
        gt = (-g * z).astype(t.dtype, copy=False) if nt else None
        gz = (g * (_sigmoid(z) - t)).astype(z.dtype, copy=False) if nz else None
        return gt, gz


class ProbabilityBinaryCrossentropyFunction(Function):
    """Keras' probability path, elementwise: p clipped to [eps, 1 - eps]."""

    @staticmethod
    def forward(ctx, target, probs):
        c = np.clip(probs, EPSILON, 1 - EPSILON)
        ctx.save_for_backward(target, probs, c)
        return -(target * np.log(c) + (1 - target) * np.log(1 - c))

    @staticmethod
    def backward(ctx, g):
        t, p, c = ctx.saved_tensors
        nt, np_ = ctx.needs_input_grad
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
def _pred(y_pred, name="y_pred"):
    y_pred = as_tensor(y_pred, name)
    check_float(name, y_pred.data)
    if y_pred.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension, got shape {y_pred.shape}")
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


def categorical_crossentropy(target, output, from_logits=False, axis=-1, label_smoothing=0.0):
    """Cross-entropy against one-hot (or soft) targets, one value per sample
    (``label_smoothing``, after Keras' arguments, is the loss class's option).

    >>> import numpy as np, minicnn
    >>> logits = np.array([[2.0, 0.0, 0.0]], np.float32)
    >>> y = np.array([[1.0, 0.0, 0.0]], np.float32)
    >>> minicnn.ops.categorical_crossentropy(y, logits, from_logits=True).numpy().round(4)
    array([0.2395], dtype=float32)
    """
    output = _pred(output, "output")
    ax = norm_axis(axis, output.ndim)
    t = _target(target, output)
    if raw(t).shape != output.shape:
        raise ValueError(f"categorical_crossentropy: target shape {raw(t).shape} must equal output "
                         f"shape {output.shape} (use sparse_categorical_crossentropy for integer labels)")
    if label_smoothing:
        ls = float(label_smoothing)
        if not 0.0 <= ls <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        t = t * (1.0 - ls) + ls / output.shape[ax]
    return _crossentropy(t, output, from_logits, ax)


def _crossentropy(t, output, from_logits, ax):
    if not from_logits:
        logits = _recorded_logits(output, "_softmax_logits", ax)
        if logits is None:
            return ProbabilityCrossentropyFunction.apply(t, output, axis=ax)
        output = logits
    return SoftmaxCrossentropyFunction.apply(t, output, axis=ax)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None):
    """Cross-entropy against integer class labels, one value per sample.

    ``target`` has output's shape without ``axis`` (a trailing 1 is accepted, as in Keras).
    Samples labelled ``ignore_class`` (after Keras' arguments: the loss class's option) get
    loss 0 and no gradient.

    >>> import numpy as np, minicnn
    >>> p = minicnn.ops.softmax(np.array([[0.0, 0.0]], np.float32))
    >>> minicnn.ops.sparse_categorical_crossentropy(np.array([1]), p).numpy().round(4)
    array([0.6931], dtype=float32)
    """
    output = _pred(output, "output")
    ax = norm_axis(axis, output.ndim)
    labels = np.asarray(raw(target))
    want = output.shape[:ax] + output.shape[ax + 1:]
    if labels.shape != want and labels.shape == want + (1,):
        labels = labels.reshape(want)
    if labels.shape != want:
        raise ValueError(f"sparse_categorical_crossentropy: target shape {labels.shape} does not match "
                         f"output shape {output.shape} without axis {axis} ({want})")
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("sparse_categorical_crossentropy: target must hold integer class indices")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"sparse_categorical_crossentropy: target must be integer labels, got dtype {labels.dtype}")
    n_classes = output.shape[ax]
    ignored = None
    if ignore_class is not None:
        ignored = labels == int(ignore_class)
        labels = np.where(ignored, 0, labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"sparse_categorical_crossentropy: labels must be in [0, {n_classes}), got "
                         f"min {labels.min()} max {labels.max()}")
    onehot = np.eye(n_classes, dtype=output.dtype)[labels]
    if ignored is not None:
        onehot[ignored] = 0  # an all-zero target: loss 0 and a zero gradient
    onehot = np.moveaxis(onehot, -1, ax)
    return _crossentropy(onehot, output, from_logits, ax)


def binary_crossentropy(target, output, from_logits=False, label_smoothing=0.0):
    """Binary cross-entropy, elementwise (Keras' ``ops.binary_crossentropy``; the loss
    ``keras.losses.binary_crossentropy`` averages it over the last axis).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]]), from_logits=True).numpy().round(4)
    array([[0.6931]])
    """
    output = _pred(output, "output")
    t = _target(target, output)
    if raw(t).shape != output.shape:
        raise ValueError(f"binary_crossentropy: target shape {raw(t).shape} must equal output shape {output.shape}")
    if label_smoothing:
        ls = float(label_smoothing)
        if not 0.0 <= ls <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        t = t * (1.0 - ls) + 0.5 * ls
    if not from_logits:
        logits = _recorded_logits(output, "_sigmoid_logits")
        if logits is None:
            return ProbabilityBinaryCrossentropyFunction.apply(t, output)
        output = logits
    return SigmoidBinaryCrossentropyFunction.apply(t, output)


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
