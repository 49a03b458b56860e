"""Regression, probabilistic, hinge, confusion-matrix and F-score metrics against Keras' documented
numbers (docstrings and tests of keras/src/metrics, quoted) and NumPy references."""

import re

import numpy as np
import pytest

import minicnn
from minicnn import layers, metrics


def run(metric, y_true, y_pred, sample_weight=None):
    metric.reset_state()
    metric.update_state(np.asarray(y_true), np.asarray(y_pred), sample_weight=sample_weight)
    return metric.result()


REG_T, REG_P = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
HINGE_T, HINGE_P = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]


# ------------------------------------------------------------------ Keras' docstring numbers
@pytest.mark.parametrize("metric,y_true,y_pred,weight,expected", [
    # regression_metrics.py
    (metrics.MeanSquaredLogarithmicError(), REG_T, REG_P, None, 0.12011322),
    (metrics.MeanSquaredLogarithmicError(), REG_T, REG_P, [1, 0], 0.24022643),
    (metrics.RootMeanSquaredError(), REG_T, REG_P, None, 0.5),
    (metrics.RootMeanSquaredError(), REG_T, REG_P, [1, 0], 0.70710677),
    (metrics.LogCoshError(), REG_T, REG_P, None, 0.10844523),
    (metrics.LogCoshError(), REG_T, REG_P, [1, 0], 0.21689045),
    (metrics.CosineSimilarity(axis=1), [[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]], None, 0.49999997),
    (metrics.CosineSimilarity(axis=1), [[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]], [0.3, 0.7], 0.6999999),
    (metrics.MeanAbsolutePercentageError(), REG_T, REG_P, None, 250000000.0),
    (metrics.MeanAbsolutePercentageError(), REG_T, REG_P, [1, 0], 500000000.0),
    (metrics.R2Score(), [[1.], [4.], [3.]], [[2.], [4.], [4.]], None, 0.57142854),
    # hinge_metrics.py
    (metrics.Hinge(), HINGE_T, HINGE_P, None, 1.3),
    (metrics.Hinge(), HINGE_T, HINGE_P, [1, 0], 1.1),
    (metrics.SquaredHinge(), HINGE_T, HINGE_P, None, 1.86),
    (metrics.SquaredHinge(), HINGE_T, HINGE_P, [1, 0], 1.46),
    (metrics.CategoricalHinge(), HINGE_T, HINGE_P, None, 1.4000001),
    (metrics.CategoricalHinge(), HINGE_T, HINGE_P, [1, 0], 1.2),
    # probabilistic_metrics.py
    (metrics.KLDivergence(), HINGE_T, HINGE_P, None, 0.45814306),
    (metrics.KLDivergence(), HINGE_T, HINGE_P, [1, 0], 0.9162892),
    (metrics.Poisson(), REG_T, REG_P, None, 0.49999997),
    (metrics.Poisson(), REG_T, REG_P, [1, 0], 0.99999994),
    # confusion_metrics.py
    (metrics.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], None, 2.0),
    (metrics.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0], 1.0),
    (metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], None, 0.6666667),
    (metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
    (metrics.Precision(top_k=2), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.0),
    (metrics.Precision(top_k=4), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.5),
    (metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], None, 0.6666667),
    (metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
    (metrics.SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 0.5),
    (metrics.SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [1, 1, 2, 2, 1], 0.333333),
    (metrics.SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 0.66666667),
    (metrics.SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [1, 1, 2, 2, 2], 0.5),
    (metrics.PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 0.5),
    (metrics.PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [2, 2, 2, 1, 1], 0.33333333),
    (metrics.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.5),
    (metrics.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 1.0),
    (metrics.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.75),
    (metrics.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 1.0),
])
def test_keras_docstring_values(metric, y_true, y_pred, weight, expected):
    np.testing.assert_allclose(run(metric, y_true, y_pred, weight), expected, rtol=2e-6, atol=1e-6)


# confusion_metrics_test.py AUCTest: y_pred [0, .5, .3, .9], y_true [0, 0, 1, 1], weights [1, 2, 3, 4],
# 3 thresholds -> tp = [7, 4, 0], fp = [3, 0, 0], fn = [0, 3, 7], tn = [0, 3, 3]
AUC_T, AUC_P, AUC_W = [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 2, 3, 4]


@pytest.mark.parametrize("curve,summation,expected", [
    ("ROC", "interpolation", 0.7855 * 1 + 0.2855 * 0),
    ("ROC", "majoring", 1 * 1 + 0.571 * 0),
    ("ROC", "minoring", 0.571 * 1 + 0 * 0),
    ("PR", "majoring", 1 * 0.429 + 1 * 0.571),
    ("PR", "minoring", 0.7 * 0.429 + 0 * 0.571),
    ("PR", "interpolation", 2.416 / 7 + 4 / 7),  # Davis & Goadrich's interpolation
])
def test_auc_curves_and_summations_weighted(curve, summation, expected):
    auc = metrics.AUC(num_thresholds=3, curve=curve, summation_method=summation)
    np.testing.assert_allclose(run(auc, AUC_T, AUC_P, AUC_W), expected, atol=1e-3)
    # negative weights: the PR divisor max(tp + fn, 0) is 0 everywhere, divide_no_nan gives 0
    if (curve, summation) == ("PR", "interpolation"):
        assert run(auc, AUC_T, AUC_P, [-1, -2, -3, -4]) == 0.0


# MultiAUCTest: 5 thresholds, two label columns
ML_P = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]]).T
ML_T = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T


def test_auc_multi_label_flat_label_weights_and_logits():
    assert run(metrics.AUC(num_thresholds=5, multi_label=True), ML_T, ML_P) == pytest.approx((0.875 + 1.0) / 2, abs=1e-3)
    p32 = ML_P.astype(np.float32)  # as Keras' test: in float32, 0.5 + 1e-12 is 0.5 and its logit is 0
    logits = -np.log(np.float32(1.0) / (p32 + np.float32(1e-12)) - np.float32(1.0))
    assert run(metrics.AUC(num_thresholds=5, multi_label=True, from_logits=True), ML_T, logits) == \
        pytest.approx((0.875 + 1.0) / 2, abs=1e-3)
    assert run(metrics.AUC(num_thresholds=5), ML_T, ML_P) == pytest.approx(1.0 - 3.0 / 32.0, abs=1e-3)
    assert run(metrics.AUC(num_thresholds=5), ML_T, ML_P, [1, 2, 3, 4]) == \
        pytest.approx(1.0 - (0.3333 * (1.0 - 0.2857) / 2.0), abs=1e-3)
    assert run(metrics.AUC(num_thresholds=5), ML_T, ML_P, np.arange(8).reshape(4, 2)) == \
        pytest.approx(1.0 - (0.3333 * (1.0 - 0.2727) / 2.0), abs=1e-3)
    assert run(metrics.AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25]), ML_T, ML_P) == \
        pytest.approx(0.875 * 0.75 + 1.0 * 0.25, abs=1e-3)
    assert run(metrics.AUC(num_thresholds=5, label_weights=[0.75, 0.25]), ML_T, ML_P) == \
        pytest.approx(1.0 - ((1.0 - 0.375) * 0.375 / 2.0), abs=1e-2)
    assert metrics.AUC(num_thresholds=3).thresholds == pytest.approx([-1e-7, 0.5, 1 + 1e-7])


def test_f_scores_keras_docstrings():
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    np.testing.assert_allclose(run(metrics.FBetaScore(beta=2.0, threshold=0.5), y_true, y_pred),
                               [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)
    np.testing.assert_allclose(run(metrics.F1Score(threshold=0.5), y_true, y_pred), [0.5, 0.8, 0.6666667], rtol=1e-6)


# ------------------------------------------------------------------ NumPy references
RNG = np.random.default_rng(5)


def np_counts(y, p, t, w):
    pos, pred = y.astype(bool), p > t
    return [np.sum(w * (pos & pred)), np.sum(w * (~pos & pred)), np.sum(w * (~pos & ~pred)), np.sum(w * (pos & ~pred))]


@pytest.mark.parametrize("thresholds", [None, 0.3, [0.1, 0.5, 0.9], [0.9, 0.2]])
def test_confusion_counts_precision_recall_match_numpy_over_batches(thresholds):
    y = RNG.integers(0, 2, size=(40, 3))
    p = RNG.uniform(size=(40, 3))
    w = RNG.uniform(size=40)
    ts = [0.5] if thresholds is None else list(np.atleast_1d(thresholds))
    expected = np.array([np_counts(y, p, t, w[:, None]) for t in ts])  # (T, 4)
    counters = [metrics.TruePositives(thresholds), metrics.FalsePositives(thresholds),
                metrics.TrueNegatives(thresholds), metrics.FalseNegatives(thresholds)]
    prec, rec = metrics.Precision(thresholds), metrics.Recall(thresholds)
    for part in (slice(0, 13), slice(13, 40)):  # accumulates over batches
        for m in counters + [prec, rec]:
            m.update_state(y[part], p[part], sample_weight=w[part])
    for i, m in enumerate(counters):
        np.testing.assert_allclose(m.result(), expected[:, i] if len(ts) > 1 else expected[0, i], rtol=1e-12)
    tp, fp, tn, fn = expected.T
    np.testing.assert_allclose(prec.result(), (tp / (tp + fp)) if len(ts) > 1 else (tp / (tp + fp))[0])
    np.testing.assert_allclose(rec.result(), (tp / (tp + fn)) if len(ts) > 1 else (tp / (tp + fn))[0])


def test_precision_recall_top_k_and_class_id():
    y = np.eye(4)[RNG.integers(0, 4, size=30)]
    p = RNG.uniform(size=(30, 4))
    top2 = np.argsort(-p, axis=1)[:, :2]
    in_top = np.zeros_like(y, bool)
    np.put_along_axis(in_top, top2, True, axis=1)
    tp, fp = np.sum(in_top & (y == 1)), np.sum(in_top & (y == 0))
    assert run(metrics.Precision(top_k=2), y, p) == pytest.approx(tp / (tp + fp))
    assert run(metrics.Recall(top_k=2), y, p) == pytest.approx(tp / y.sum())
    c = 2
    pred_c, true_c = p[:, c] > 0.5, y[:, c] == 1
    assert run(metrics.Precision(class_id=c), y, p) == pytest.approx(np.sum(pred_c & true_c) / np.sum(pred_c))
    assert run(metrics.Recall(class_id=c), y, p) == pytest.approx(np.sum(pred_c & true_c) / np.sum(true_c))
    both = in_top[:, c] & (p[:, c] > 0.5)
    assert run(metrics.Precision(top_k=2, class_id=c, thresholds=0.5), y, p) == \
        pytest.approx(np.sum(both & true_c) / np.sum(both))


def test_auc_close_to_the_exact_roc_auc_with_many_thresholds():
    y = RNG.integers(0, 2, size=500)
    p = np.clip(y * 0.3 + RNG.uniform(size=500) * 0.7, 0, 1)
    pos, neg = p[y == 1], p[y == 0]
    exact = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
    assert run(metrics.AUC(num_thresholds=1000), y, p) == pytest.approx(exact, abs=2e-3)


def test_r2_score_matches_numpy_with_aggregations():
    y, p = RNG.normal(size=(30, 3)), RNG.normal(size=(30, 3))
    ss_res = ((y - p) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    raw = 1 - ss_res / ss_tot
    np.testing.assert_allclose(run(metrics.R2Score(class_aggregation=None), y, p), raw)
    assert run(metrics.R2Score(), y, p) == pytest.approx(raw.mean())
    assert run(metrics.R2Score(class_aggregation="variance_weighted_average"), y, p) == \
        pytest.approx((ss_tot * raw).sum() / ss_tot.sum())
    adjusted = 1 - (1 - raw.mean()) * (30 - 1) / (30 - 4 - 1)
    assert run(metrics.R2Score(num_regressors=4), y, p) == pytest.approx(adjusted)


def test_fbeta_averages_match_numpy():
    y = RNG.integers(0, 2, size=(50, 4))
    p = RNG.uniform(size=(50, 4))
    pred = (p > 0.4).astype(float)
    tp, fp, fn = (pred * y).sum(0), (pred * (1 - y)).sum(0), ((1 - pred) * y).sum(0)
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    f = 1.25 * prec * rec / (0.25 * prec + rec)
    np.testing.assert_allclose(run(metrics.FBetaScore(beta=0.5, threshold=0.4), y, p), f, rtol=1e-5)
    assert run(metrics.FBetaScore(beta=0.5, threshold=0.4, average="macro"), y, p) == pytest.approx(f.mean(), rel=1e-5)
    support = y.sum(0)
    assert run(metrics.FBetaScore(beta=0.5, threshold=0.4, average="weighted"), y, p) == \
        pytest.approx((f * support).sum() / support.sum(), rel=1e-5)
    TP, FP, FN = tp.sum(), fp.sum(), fn.sum()
    P, R = TP / (TP + FP), TP / (TP + FN)
    assert run(metrics.F1Score(threshold=0.4, average="micro"), y, p) == pytest.approx(2 * P * R / (P + R), rel=1e-5)


# ------------------------------------------------------------------ errors, configs, names, compile
def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="specificity"):
        metrics.SensitivityAtSpecificity(1.5)
    with pytest.raises(ValueError, match="beta"):
        metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="2D"):
        metrics.F1Score().update_state(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="class_id"):
        metrics.Precision(class_id=5).update_state(np.ones((2, 3)), np.ones((2, 3)))


NEW = [metrics.AUC(num_thresholds=7, curve="PR", summation_method="majoring", multi_label=True, num_labels=2,
                   label_weights=[1.0, 2.0], from_logits=True),
       metrics.AUC(thresholds=[0.2, 0.6]), metrics.Precision(thresholds=[0.3, 0.7], top_k=2, class_id=1),
       metrics.Recall(thresholds=0.4), metrics.TruePositives(0.2), metrics.SensitivityAtSpecificity(0.3, 50),
       metrics.RecallAtPrecision(0.6, class_id=1), metrics.F1Score(average="macro", threshold=0.4),
       metrics.FBetaScore(beta=2.0), metrics.R2Score(num_regressors=1), metrics.RootMeanSquaredError(),
       metrics.MeanAbsolutePercentageError(), metrics.MeanSquaredLogarithmicError(), metrics.CosineSimilarity(axis=0),
       metrics.LogCoshError(), metrics.KLDivergence(), metrics.Poisson(), metrics.Hinge(), metrics.SquaredHinge(),
       metrics.CategoricalHinge()]


@pytest.mark.parametrize("metric", NEW, ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()
    y, p = RNG.integers(0, 2, size=(8, 2)), RNG.uniform(0.05, 0.95, size=(8, 2))
    np.testing.assert_allclose(run(again, y, p), run(metric, y, p))


@pytest.mark.parametrize("name,cls", [
    ("auc", "AUC"), ("AUC", "AUC"), ("precision", "Precision"), ("recall", "Recall"), ("f1_score", "F1Score"),
    ("f_beta_score", "FBetaScore"), ("mape", "MeanAbsolutePercentageError"), ("msle", "MeanSquaredLogarithmicError"),
    ("root_mean_squared_error", "RootMeanSquaredError"), ("r2_score", "R2Score"), ("kl_divergence", "KLDivergence"),
    ("log_cosh_error", "LogCoshError"), ("true_positives", "TruePositives"), ("hinge", "Hinge"),
])
def test_string_names(name, cls):
    assert type(metrics.get(name)) is getattr(metrics, cls)


def test_usable_in_compile_and_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, :1] + 0.3 * rng.normal(size=(64, 1)) > 0).astype(np.float32)
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["auc", metrics.Precision(name="prec"), metrics.Recall(thresholds=0.3),
                           metrics.AUC(curve="PR", name="pr_auc")])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert {"auc", "prec", "pr_auc"} <= set(history.history)
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert logs["auc"] == pytest.approx(run(metrics.AUC(), y, p), abs=1e-6)
    assert logs["prec"] == pytest.approx(run(metrics.Precision(), y, p), abs=1e-6)


def test_array_valued_metrics_in_fit_logs_and_progress_bar(capsys):
    # Keras' F1Score() averages nothing by default: one score per class in the logs
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, size=32)].astype(np.float32)
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(), metrics.Recall(thresholds=[0.2, 0.5])])
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=2)
    assert np.shape(history.history["f1_score"][0]) == (3,) and np.shape(history.history["recall"][0]) == (2,)
    p = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["f1_score"], run(metrics.F1Score(), y, p), rtol=1e-6)
    assert re.search(r"f1_score: \[\d\.\d{4} \d\.\d{4} \d\.\d{4}\]", capsys.readouterr().out)
