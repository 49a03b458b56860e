"""Every loss against a plain-NumPy reference and Keras' documented numbers, float64 gradcheck,
config round trips and use by name in compile()."""

import numpy as np
import pytest

import minicnn
from minicnn import layers, losses

EPS = 1e-7
RNG = np.random.default_rng(16)


# ------------------------------------------------------------------ NumPy references (per sample)
def np_l2n(x):
    return x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), EPS * EPS))


def np_hinge_labels(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


REFERENCES = {
    "mean_absolute_percentage_error": lambda t, p: 100 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), -1),
    "mean_squared_logarithmic_error": lambda t, p: np.mean(
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1),
    "cosine_similarity": lambda t, p: -np.sum(np_l2n(t) * np_l2n(p), -1),
    "huber": lambda t, p: np.mean(np.where(np.abs(p - t) <= 1.0, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5), -1),
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "kl_divergence": lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "hinge": lambda t, p: np.mean(np.maximum(1 - np_hinge_labels(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - np_hinge_labels(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0),
}


def data_for(name, n=5, k=4):
    """(y_true, y_pred) in each loss' domain, away from its kinks (so that gradcheck is fair)."""
    if name in ("kl_divergence",):
        t = RNG.dirichlet(np.ones(k), size=n)
        return t, RNG.dirichlet(np.ones(k), size=n) * 0.9 + 0.02
    if name in ("poisson", "mean_squared_logarithmic_error"):
        return RNG.integers(0, 5, size=(n, k)).astype(float), RNG.uniform(0.2, 4.0, size=(n, k))
    if name in ("hinge", "squared_hinge"):
        return RNG.integers(0, 2, size=(n, k)).astype(float), RNG.normal(size=(n, k))
    if name == "categorical_hinge":
        return np.eye(k)[RNG.integers(0, k, size=n)], RNG.normal(size=(n, k))
    if name == "mean_absolute_percentage_error":
        return RNG.uniform(1.0, 3.0, size=(n, k)) * RNG.choice([-1, 1], size=(n, k)), RNG.normal(size=(n, k))
    return RNG.normal(size=(n, k)), RNG.normal(size=(n, k)) * 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_per_sample_values_match_numpy(name, dtype):
    t, p = data_for(name)
    got = getattr(losses, name)(t.astype(dtype), minicnn.Tensor(p.astype(dtype)))
    assert got.shape == (5,) and got.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got.numpy(), REFERENCES[name](t, p), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_float64_gradcheck(name):
    t, p = data_for(name, n=3, k=3)
    fn = getattr(losses, name)
    assert minicnn.gradcheck(lambda yp: fn(t, yp).sum(), [p])


# ------------------------------------------------------------------ Keras' documented numbers
# keras/src/losses/losses_test.py: y_true [[1, 9, 2], [-5, -2, 6]], y_pred [[4, 8, 12], [8, 1, 3]]
KT = np.array([[1.0, 9, 2], [-5, -2, 6]])
KP = np.array([[4.0, 8, 12], [8, 1, 3]])
# HingeTest, SquaredHingeTest, CategoricalHingeTest: y_true [[0, 1], [0, 0]], y_pred [[.6, .4], [.4, .6]]
HT = np.array([[0.0, 1.0], [0.0, 0.0]])
HP = np.array([[0.6, 0.4], [0.4, 0.6]])


@pytest.mark.parametrize("loss,y_true,y_pred,weight,expected", [
    (losses.MeanAbsolutePercentageError(), KT, KP, None, 211.8518),
    # the class docstring: [100, 200, 300] vs [90, 210, 310] -> 6.111111
    (losses.MeanAbsolutePercentageError(), np.array([100.0, 200, 300]), np.array([90.0, 210, 310]), None, 6.111111),
    (losses.MeanSquaredLogarithmicError(), KT, KP, None, 1.4370),
    (losses.MeanSquaredLogarithmicError(), KT, KP, 2.3, 3.3051),
    (losses.Hinge(), HT, HP, None, 1.3),
    (losses.Hinge(reduction="sum"), HT, HP, None, 2.6),
    (losses.SquaredHinge(), HT, HP, None, 1.86),
    (losses.SquaredHinge(reduction="sum"), HT, HP, None, 3.72),
    (losses.CategoricalHinge(), HT, HP, None, 1.4),
    (losses.CategoricalHinge(reduction="sum"), HT, HP, None, 2.8),
    (losses.CategoricalHinge(reduction=None), HT, HP, None, [1.2, 1.6]),
    # docstrings of keras.losses.huber and log_cosh (the mean of the per-sample values)
    (losses.Huber(), np.array([[0.0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]]), None, 0.155),
    (losses.LogCosh(), np.array([[0.0, 1], [0, 0]]), np.array([[1.0, 1], [0, 0]]), None, 0.108),
])
def test_keras_documented_values(loss, y_true, y_pred, weight, expected):
    got = loss(y_true, minicnn.Tensor(y_pred), sample_weight=weight).numpy()
    np.testing.assert_allclose(got, expected, atol=6e-4)


def test_keras_documented_cosine_similarity_and_divergences():
    # keras.losses.cosine_similarity docstring: [-0., -0.99999994, 0.99999994]
    got = losses.cosine_similarity([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]))
    np.testing.assert_allclose(got.numpy(), [0.0, -1.0, 1.0], atol=1e-6)
    # KLDivergenceTest: sum(y_true * log(y_true / y_pred)) / batch_size 2, weighted by 2.3
    t = np.array([0.5, 0.8, 0.12, 0.7, 0.43, 0.8]).reshape(2, 3)
    p = np.array([0.4, 0.9, 0.12, 0.36, 0.3, 0.4]).reshape(2, 3)
    expected = np.sum(t * np.log(t / p)) / 2
    assert float(losses.KLDivergence()(t, p, sample_weight=2.3)) == pytest.approx(2.3 * expected, rel=1e-6)
    # PoissonTest: sum(y_pred - y_true * log(y_pred)) / 6
    t, p = np.array([[4.0, 8, 12], [8, 1, 3]]), np.array([[1.0, 9, 2], [5, 2, 6]])
    assert float(losses.Poisson()(t, p)) == pytest.approx(np.sum(p - t * np.log(p)) / 6, rel=1e-6)


def test_hinge_keeps_labels_that_are_not_binary():
    # labels already in {-1, 1} are used as they are (convert_binary_labels_to_hinge)
    t = np.array([[-1.0, 1.0]])
    np.testing.assert_allclose(losses.hinge(t, np.array([[0.5, 0.5]])).numpy(), [(1.5 + 0.5) / 2])


# ------------------------------------------------------------------ configs, names, compile
NEW_CLASSES = ["KLDivergence", "Huber", "LogCosh", "Poisson", "CosineSimilarity", "Hinge", "SquaredHinge",
               "CategoricalHinge", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError"]


def test_configs_are_keras_and_round_trip():
    # Keras' tests: CosineSimilarity(axis=2, reduction="sum", name="cosine_loss") and Huber(2.0, "sum", "huber")
    assert losses.CosineSimilarity(axis=2, reduction="sum", name="cosine_loss").get_config() == \
        {"name": "cosine_loss", "reduction": "sum", "axis": 2}
    assert losses.Huber(delta=2.0, reduction="sum", name="huber").get_config() == \
        {"name": "huber", "reduction": "sum", "delta": 2.0}
    assert losses.LogCosh(reduction="sum", name="logcosh_loss").get_config() == \
        {"name": "logcosh_loss", "reduction": "sum"}
    defaults = {"KLDivergence": "kl_divergence", "Huber": "huber_loss", "LogCosh": "log_cosh",
                "Poisson": "poisson", "CosineSimilarity": "cosine_similarity", "Hinge": "hinge",
                "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge",
                "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
                "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error"}
    t, p = data_for("kl_divergence")
    for name in NEW_CLASSES:
        loss = getattr(losses, name)(reduction="sum")
        assert loss.name == defaults[name]
        again = losses.deserialize(losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
        assert float(again(t, p)) == float(loss(t, p))


@pytest.mark.parametrize("name,cls", [
    ("kl_divergence", "KLDivergence"), ("kld", "KLDivergence"), ("KLD", "KLDivergence"),
    ("KLDivergence", "KLDivergence"), ("huber", "Huber"), ("log_cosh", "LogCosh"), ("poisson", "Poisson"),
    ("cosine_similarity", "CosineSimilarity"), ("hinge", "Hinge"), ("squared_hinge", "SquaredHinge"),
    ("categorical_hinge", "CategoricalHinge"), ("mape", "MeanAbsolutePercentageError"),
    ("MAPE", "MeanAbsolutePercentageError"), ("msle", "MeanSquaredLogarithmicError"),
    ("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"), ("bce", "BinaryCrossentropy"),
])
def test_string_names(name, cls):
    assert type(losses.get(name)) is getattr(losses, cls)


@pytest.mark.parametrize("name", ["kld", "huber", "log_cosh", "poisson", "cosine_similarity", "hinge",
                                  "squared_hinge", "categorical_hinge", "mape", "msle"])
def test_usable_by_name_in_compile(name):
    t, _ = data_for(name.replace("kld", "kl_divergence").replace("mape", "mean_absolute_percentage_error")
                    .replace("msle", "mean_squared_logarithmic_error"), n=16, k=3)
    x = RNG.normal(size=(16, 5)).astype(np.float32)
    minicnn.utils.set_random_seed(0)
    activation = "softmax" if name == "kld" else "softplus" if name in ("poisson", "msle") else None
    model = minicnn.Sequential([minicnn.Input((5,)), layers.Dense(3, activation=activation)])
    model.compile(optimizer="sgd", loss=name)
    history = model.fit(x, t.astype(np.float32), epochs=2, batch_size=16, verbose=0)
    expected = losses.get(name)(t.astype(np.float32), model.predict(x, verbose=0))
    assert model.evaluate(x, t.astype(np.float32), verbose=0) == pytest.approx(float(expected), rel=1e-5)
    assert np.isfinite(history.history["loss"]).all()
