"""Loss reductions, sample weights and masks with Keras 3's definitions.

keras/src/losses/loss.py (Keras 3.15) defines, for per-sample losses ``v``, weights ``w`` and a
boolean mask ``m``:

- ``reduce_values``: ``"sum"`` is ``sum(v)``; ``"sum_over_batch_size"`` and ``"mean"`` divide
  that by the number of values; ``"mean_with_sample_weight"`` divides by ``sum(w)`` when a weight
  was given (``divide_no_nan``: 0 when ``sum(w) == 0``); ``"none"``/None return ``v``.
- ``apply_mask``: the mask multiplies the weights; under ``"mean"``/``"sum_over_batch_size"`` it
  is first scaled by ``total / valid``, so the average runs over the valid values only.
- ``reduce_weighted_values``: ``v * w`` (weights and mask merged), then ``reduce_values``.
"""

import numpy as np
import pytest

import minicnn
from minicnn import losses

REDUCTIONS = ["sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None]
LOG3 = np.log(3.0)


def value(loss, y_true, y_pred, **kwargs):
    return np.asarray(loss(y_true, y_pred, **kwargs).data)


def masked(y_pred, mask):
    t = minicnn.Tensor(np.asarray(y_pred, np.float64))
    t._keras_mask = np.asarray(mask, bool)
    return t


# ------------------------------------------------------------------ hand-computed numbers
# MeanSquaredError, y_true [[1], [2], [3], [4]], y_pred 0: per-sample losses v = [1, 4, 9, 16].
Y_TRUE = np.array([[1.0], [2.0], [3.0], [4.0]])
Y_PRED = np.zeros((4, 1))


@pytest.mark.parametrize("reduction,expected", [
    # Keras 3.15 with weights [1, 0, 0, 1] (issue 22): sum(w v) = 1 + 16 = 17, 4 values, sum(w) = 2
    ("sum_over_batch_size", 17 / 4),   # 4.25
    ("mean", 17 / 4),                  # 4.25: "mean" divides by the sample size, like the default
    ("mean_with_sample_weight", 17 / 2),  # 8.5
    ("sum", 17.0),
    ("none", [1.0, 0.0, 0.0, 16.0]),
    (None, [1.0, 0.0, 0.0, 16.0]),
])
def test_mse_reductions_with_sample_weight(reduction, expected):
    got = value(losses.MeanSquaredError(reduction=reduction), Y_TRUE, Y_PRED, sample_weight=[1, 0, 0, 1])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction,expected", [
    # no weights: sum(v) = 30 over 4 values; mean_with_sample_weight falls back to the sample size
    ("sum_over_batch_size", 7.5), ("mean", 7.5), ("mean_with_sample_weight", 7.5), ("sum", 30.0),
    ("none", [1.0, 4.0, 9.0, 16.0]),
])
def test_mse_reductions_without_sample_weight(reduction, expected):
    np.testing.assert_allclose(value(losses.MeanSquaredError(reduction=reduction), Y_TRUE, Y_PRED), expected)


@pytest.mark.parametrize("weights,reduction,expected", [
    # mask [1, 0, 1, 1] (3 valid of 4), no weights: the masked sum is 1 + 9 + 16 = 26
    (None, "sum_over_batch_size", 26 / 3),       # mask scaled by 4/3, then / 4
    (None, "mean", 26 / 3),
    (None, "mean_with_sample_weight", 26 / 3),   # the mask is the weight: / sum(mask) = 3
    (None, "sum", 26.0),
    (None, "none", [1.0, 0.0, 9.0, 16.0]),
    # weights [3, 1, 0, 1] and the mask: sum(w m v) = 3 + 0 + 0 + 16 = 19, sum(w m) = 4
    ([3, 1, 0, 1], "sum_over_batch_size", 19 / 3),
    ([3, 1, 0, 1], "mean", 19 / 3),
    ([3, 1, 0, 1], "mean_with_sample_weight", 19 / 4),
    ([3, 1, 0, 1], "sum", 19.0),
    ([3, 1, 0, 1], "none", [3.0, 0.0, 0.0, 16.0]),  # "none" does not rescale the mask
])
def test_mse_reductions_with_a_mask_on_y_pred(weights, reduction, expected):
    loss = losses.MeanSquaredError(reduction=reduction)
    got = value(loss, Y_TRUE, masked(Y_PRED, [True, False, True, True]), sample_weight=weights)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("weights,reduction,expected", [
    # logits 0 over 3 classes: every sample's loss is log 3; labels [0, 2, 2, 1], ignore_class=2
    # masks samples 1 and 2 out (2 valid)
    (None, "sum_over_batch_size", LOG3), (None, "mean", LOG3), (None, "mean_with_sample_weight", LOG3),
    (None, "sum", 2 * LOG3), (None, "none", [LOG3, 0.0, 0.0, LOG3]),
    # weights [1, 2, 3, 4]: sum(w m v) = 5 log 3, sum(w m) = 5
    ([1, 2, 3, 4], "sum_over_batch_size", 5 * LOG3 / 2), ([1, 2, 3, 4], "mean", 5 * LOG3 / 2),
    ([1, 2, 3, 4], "mean_with_sample_weight", LOG3), ([1, 2, 3, 4], "sum", 5 * LOG3),
    ([1, 2, 3, 4], "none", [LOG3, 0.0, 0.0, 4 * LOG3]),
])
def test_ignore_class_is_a_mask_under_every_reduction(weights, reduction, expected):
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction=reduction)
    got = value(loss, np.array([0, 2, 2, 1]), np.zeros((4, 3)), sample_weight=weights)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_everything_masked_or_zero_weights_gives_zero_not_nan():
    # divide_no_nan: a zero divisor gives 0
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert value(loss, Y_TRUE, Y_PRED, sample_weight=[0, 0, 0, 0]) == 0.0
    for reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        got = value(losses.MeanSquaredError(reduction=reduction), Y_TRUE, masked(Y_PRED, np.zeros(4)))
        assert got == 0.0


def test_weights_of_shape_n_1_expand_the_losses_as_keras_does():
    # squeeze_or_expand_to_same_rank(losses (4,), weights (4, 1)) expands the losses to (4, 1)
    got = value(losses.MeanSquaredError(reduction="none"), Y_TRUE, Y_PRED, sample_weight=[[1], [0], [0], [1]])
    np.testing.assert_allclose(got, [[1.0], [0.0], [0.0], [16.0]])


def test_mean_with_sample_weight_gradient():
    # d/dp sum(w (p - y)^2) / sum(w) = 2 w (p - y) / sum(w)
    p = minicnn.Tensor(np.array([[0.5], [1.0], [-1.0]]), requires_grad=True)
    y, w = np.array([[1.0], [0.0], [2.0]]), np.array([2.0, 1.0, 1.0])
    losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, sample_weight=w).backward()
    np.testing.assert_allclose(p.grad, (2 * w[:, None] * (p.data - y)) / 4.0)


def test_a_scalar_loss_is_not_reduced():
    # reduce_values returns values of shape () as they are (after weighting)
    class Total(losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_pred - y_true) ** 2).sum()

    for reduction in ("sum_over_batch_size", "mean", "sum"):
        assert value(Total(reduction=reduction), Y_TRUE, minicnn.Tensor(Y_PRED), sample_weight=2.0) == 60.0


def test_bad_reduction_and_weight_shapes_are_clear():
    with pytest.raises(ValueError, match="mean_with_sample_weight"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"sample_weight shape \(3,\).*\(4,\)"):
        losses.MeanSquaredError()(Y_TRUE, Y_PRED, sample_weight=[1, 2, 3])


# ------------------------------------------------------------------ every loss, every reduction
def reference_reduce(v, w, mask, reduction):
    """Keras' reduce_weighted_values for per-sample losses v of shape (N,), in NumPy."""
    if mask is not None:
        m = mask.astype(np.float64)
        if reduction in ("mean", "sum_over_batch_size"):
            m = m * (m.size / m.sum() if m.sum() else 0.0)
        w = m if w is None else w * m
    if w is not None:
        v = v * w
    if reduction in ("none", None):
        return v
    if reduction == "sum":
        return v.sum()
    if reduction == "mean_with_sample_weight" and w is not None:
        return v.sum() / w.sum() if w.sum() else 0.0
    return v.sum() / v.size


RNG = np.random.default_rng(22)
LOGITS = RNG.normal(size=(6, 4))
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
LABELS = RNG.integers(0, 4, size=6)
ONEHOT = np.eye(4)[LABELS]
REAL = RNG.normal(size=(6, 4))
BINARY = (REAL > 0).astype(np.float64)
# (loss factory, y_true, y_pred) for every built-in loss class
CASES = {
    "SparseCategoricalCrossentropy": (lambda r: losses.SparseCategoricalCrossentropy(reduction=r), LABELS, PROBS),
    "SparseCategoricalCrossentropy_logits_ignore": (
        lambda r: losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1, reduction=r),
        LABELS, LOGITS),
    "CategoricalCrossentropy": (lambda r: losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=r),
                                ONEHOT, PROBS),
    "BinaryCrossentropy": (lambda r: losses.BinaryCrossentropy(from_logits=True, reduction=r), BINARY, LOGITS),
    "MeanSquaredError": (lambda r: losses.MeanSquaredError(reduction=r), REAL, PROBS),
    "MeanAbsoluteError": (lambda r: losses.MeanAbsoluteError(reduction=r), REAL, PROBS),
    "Huber": (lambda r: losses.Huber(delta=0.5, reduction=r), REAL, PROBS),
    "MeanAbsolutePercentageError": (lambda r: losses.MeanAbsolutePercentageError(reduction=r), REAL, PROBS),
    "MeanSquaredLogarithmicError": (lambda r: losses.MeanSquaredLogarithmicError(reduction=r), PROBS, PROBS[::-1]),
    "CosineSimilarity": (lambda r: losses.CosineSimilarity(reduction=r), REAL, PROBS),
    "LogCosh": (lambda r: losses.LogCosh(reduction=r), REAL, PROBS),
    "KLDivergence": (lambda r: losses.KLDivergence(reduction=r), PROBS[::-1], PROBS),
    "Poisson": (lambda r: losses.Poisson(reduction=r), BINARY, PROBS),
    "Hinge": (lambda r: losses.Hinge(reduction=r), BINARY, REAL),
    "SquaredHinge": (lambda r: losses.SquaredHinge(reduction=r), BINARY, REAL),
    "CategoricalHinge": (lambda r: losses.CategoricalHinge(reduction=r), ONEHOT, REAL),
}
WEIGHTS = RNG.uniform(0.0, 2.0, size=6)
MASK = np.array([True, False, True, True, False, True])


def test_cases_cover_every_loss_class():
    names = {name.split("_")[0] for name in CASES}
    assert names == set(losses._CLASSES), set(losses._CLASSES) ^ names


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_loss_reduces_as_keras_defines(case, reduction, weighted, with_mask):
    make, y_true, y_pred = CASES[case]
    # the per-sample values (and the mask ignore_class puts on them) from the unweighted "none" form
    raw = make("none").call(y_true, minicnn.Tensor(y_pred))
    v = np.asarray(raw.data)
    own = getattr(raw, "_keras_mask", None)
    mask = MASK if with_mask else None
    if own is not None:
        v = np.where(own, v, 0.0)
        mask = own if mask is None else own & mask
    w = WEIGHTS if weighted else None
    pred = masked(y_pred, MASK) if with_mask else minicnn.Tensor(y_pred)
    got = value(make(reduction), y_true, pred, sample_weight=w)
    np.testing.assert_allclose(got, reference_reduce(v, w, mask, reduction), rtol=1e-10, atol=1e-12)
