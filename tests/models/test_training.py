"""The training loop (compile/fit/evaluate/predict), losses and metrics, Keras 3 semantics."""

import math

import numpy as np
import pytest

import minicnn
from minicnn import layers, losses, metrics


# ------------------------------------------------------------------ data and models
def bars(n, size=8, seed=0):
    """Images with a horizontal (class 0) or vertical (class 1) bar plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.3, size=(n, size, size, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    pos = rng.integers(1, size - 1, size=n)
    for i in range(n):
        if y[i] == 0:
            x[i, pos[i], :, 0] += 1.0
        else:
            x[i, :, pos[i], 0] += 1.0
    return x, y


def small_cnn(seed=0):
    minicnn.utils.set_random_seed(seed)
    return minicnn.Sequential([
        minicnn.Input((8, 8, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])


def mlp(seed=0, units=3, activation="softmax", dropout=0.0):
    minicnn.utils.set_random_seed(seed)
    stack = [minicnn.Input((4,)), layers.Dense(8, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(units, activation=activation))
    return minicnn.Sequential(stack)


def toy(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# ------------------------------------------------------------------ it learns
def test_small_cnn_learns_bars():
    x, y = bars(384)
    xt, yt = bars(200, seed=1)
    model = small_cnn()
    model.compile(optimizer=minicnn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=4, verbose=0, validation_data=(xt, yt))
    h = history.history
    assert list(h) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    # Stated bar: held-out accuracy >= 0.9 after 4 epochs (chance is 0.5).
    assert h["val_accuracy"][-1] >= 0.9
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc == pytest.approx(h["val_accuracy"][-1]) and loss == pytest.approx(h["val_loss"][-1])
    probs = model.predict(xt, verbose=0)
    assert probs.shape == (200, 2) and probs.dtype == np.float32
    assert np.mean(probs.argmax(-1) == yt) == pytest.approx(acc)


def test_set_random_seed_makes_two_runs_bitwise_identical():
    x, y = toy(80)
    runs = []
    for _ in range(2):
        model = mlp(seed=7, dropout=0.3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=True)
        runs.append(model)
    assert same_weights(*runs)


# ------------------------------------------------------------------ fit semantics
def test_default_batch_size_and_partial_last_batch():
    x, y = toy(70)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    sizes = []
    real_step = model.train_step
    model.train_step = lambda data: (sizes.append(len(data[0])), real_step(data))[1]
    model.fit(x, y, epochs=1, verbose=0)
    assert sizes == [32, 32, 6] and model.optimizer.iterations == 3


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    x, y = toy(50)
    model = mlp()
    model.compile(optimizer=minicnn.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, validation_split=0.2, epochs=1, verbose=0, shuffle=True)
    val_loss, val_acc = model.evaluate(x[40:], y[40:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(val_acc)
    train_loss = model.evaluate(x[:40], y[:40], verbose=0)[0]
    assert history.history["loss"][0] == pytest.approx(train_loss, rel=1e-5)


def test_shuffle_false_is_deterministic_and_class_weight_equals_sample_weight():
    x, y = toy(48)
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    a = mlp(seed=3)
    a.compile(optimizer=minicnn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, class_weight=cw)
    b = mlp(seed=3)
    b.compile(optimizer=minicnn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    b.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
          sample_weight=np.array([cw[int(c)] for c in y], np.float32))
    assert same_weights(a, b)


def test_initial_epoch_and_history_epochs(capsys):
    x, y = toy(20)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=2)
    assert history.epoch == [2, 3] and len(history.history["loss"]) == 2
    assert model.history is history
    out = capsys.readouterr().out
    assert "Epoch 3/4" in out and "Epoch 4/4" in out and "Epoch 1/4" not in out


def test_sample_weight_weighted_loss_and_weighted_metrics():
    x, y = toy(30)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=[metrics.SparseCategoricalAccuracy(name="wacc")])
    w = np.linspace(0.0, 2.0, 30).astype(np.float32)
    logs = model.evaluate(x, y, sample_weight=w, batch_size=7, return_dict=True, verbose=0)
    p = model.predict(x, verbose=0).astype(np.float64)
    per_sample = -np.log(np.clip(p[np.arange(30), y], 1e-7, 1))
    # sum_over_batch_size per batch; the epoch loss is the batch-size-weighted mean of the batches
    batches = [slice(i, i + 7) for i in range(0, 30, 7)]
    expected = sum((per_sample[s] * w[s]).sum() for s in batches) / 30
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    hit = (p.argmax(-1) == y).astype(np.float64)
    assert logs["accuracy"] == pytest.approx(hit.mean())
    assert logs["wacc"] == pytest.approx((hit * w).sum() / w.sum())


def test_regularization_penalties_are_added_to_the_loss():
    x, y = toy(16)
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)),
                                layers.Dense(3, activation="softmax", kernel_regularizer="l2")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss = model.evaluate(x, y, batch_size=16, verbose=0)
    p = model.predict(x, verbose=0).astype(np.float64)
    ce = -np.log(p[np.arange(16), y]).mean()
    kernel = model.layers[-1].kernel.data.astype(np.float64)
    assert loss == pytest.approx(ce + 0.01 * np.sum(kernel**2), rel=1e-5)


def test_softmax_output_with_huge_logits_gives_finite_loss():
    x = np.array([[1.0, 0.0, 0.0, 0.0]], np.float32)  # logits (100, -100)
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(
        2, activation="softmax", kernel_initializer=minicnn.initializers.Constant(100.0))])
    model.layers[-1].kernel.data[:, 1] = -100.0
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss = model.train_on_batch(x, np.array([1]))
    assert math.isfinite(loss) and loss > 100  # the true log-loss, not log(eps) = 16.1
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_predict_is_inference_mode_without_graph():
    x, _ = toy(10)
    model = mlp(dropout=0.5)
    a = model.predict(x, verbose=0)
    b = model.predict(x, batch_size=3, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)  # no dropout, batching does not matter
    assert all(w.grad is None for w in model.trainable_weights)
    np.testing.assert_array_equal(model.predict_on_batch(x), a)


def test_on_batch_methods():
    x, y = toy(16)
    model = mlp()
    model.compile(optimizer=minicnn.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.test_on_batch(x, y, return_dict=True)
    assert list(before) == ["accuracy", "loss"]
    for _ in range(20):
        loss, acc = model.train_on_batch(x, y)
    assert model.optimizer.iterations == 20
    after = model.test_on_batch(x, y)
    assert after[0] < before["loss"]


# ------------------------------------------------------------------ several inputs / outputs
def two_in_two_out(seed=0):
    minicnn.utils.set_random_seed(seed)
    a = minicnn.Input((4,), name="a")
    b = minicnn.Input((2,), name="b")
    h = layers.Concatenate()([layers.Dense(6, activation="relu")(a), b])
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    return minicnn.Model([a, b], [cls, reg])


def test_multi_input_multi_output_with_lists_and_dicts():
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(40, 4)).astype(np.float32)
    xb = rng.normal(size=(40, 2)).astype(np.float32)
    y_cls = (xa[:, 0] > 0).astype(np.int64)
    y_reg = (xa[:, :1] + xb[:, :1]).astype(np.float32)
    model = two_in_two_out()
    model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    history = model.fit({"a": xa, "b": xb}, {"cls": y_cls, "reg": y_reg}, epochs=2, batch_size=8, verbose=0)
    assert list(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    logs = model.evaluate([xa, xb], [y_cls, y_reg], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)
    p_cls, p_reg = model.predict([xa, xb], verbose=0)
    assert p_cls.shape == (40, 3) and p_reg.shape == (40, 1)
    assert logs["reg_mae"] == pytest.approx(np.mean(np.abs(p_reg - y_reg)), rel=1e-5)
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"])
    total, cls_loss, reg_loss = model.train_on_batch([xa, xb], [y_cls, y_reg])  # metrics_names order
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss"]
    assert total == pytest.approx(cls_loss + reg_loss, rel=1e-5)
    with pytest.raises(ValueError, match="2 outputs"):
        model.train_on_batch([xa, xb], y_cls)


# ------------------------------------------------------------------ "accuracy" resolution
@pytest.mark.parametrize("loss,units,activation,target,expected", [
    ("sparse_categorical_crossentropy", 3, "softmax", "sparse", metrics.sparse_categorical_accuracy),
    ("categorical_crossentropy", 3, "softmax", "onehot", metrics.categorical_accuracy),
    ("binary_crossentropy", 1, "sigmoid", "binary", metrics.binary_accuracy),
])
def test_accuracy_string_is_resolved_from_the_shapes(loss, units, activation, target, expected):
    x, y = toy(24)
    y = {"sparse": y, "onehot": minicnn.utils.to_categorical(y, 3),
         "binary": (y > 0).astype(np.float32)[:, None]}[target]
    model = mlp(units=units, activation=activation)
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy", "acc"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx(np.mean(expected(y, p)))
    assert logs["acc"] == logs["accuracy"]


# ------------------------------------------------------------------ losses
def np_ce(p, y):
    return -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1 - 1e-7))


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_loss_classes_match_numpy_with_sample_weight(reduction):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    y = rng.integers(0, 4, size=6)
    onehot = np.eye(4)[y]
    w = rng.uniform(0, 2, size=6)
    yr = rng.normal(size=(6, 4))
    delta = 0.7
    err = np.abs(p - yr)
    huber = np.where(err <= delta, 0.5 * err**2, delta * err - 0.5 * delta**2).mean(-1)
    cases = [
        (losses.SparseCategoricalCrossentropy(reduction=reduction), y, p, np_ce(p, y)),
        (losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction), y, logits, np_ce(p, y)),
        (losses.CategoricalCrossentropy(reduction=reduction), onehot, p, np_ce(p, y)),
        (losses.CategoricalCrossentropy(label_smoothing=0.2, from_logits=True, reduction=reduction), onehot,
         logits, -((onehot * 0.8 + 0.05) * np.log(p)).sum(-1)),
        (losses.BinaryCrossentropy(reduction=reduction), (yr > 0) * 1.0, p,
         -((yr > 0) * np.log(p) + (yr <= 0) * np.log(1 - p)).mean(-1)),
        (losses.MeanSquaredError(reduction=reduction), yr, p, ((p - yr) ** 2).mean(-1)),
        (losses.MeanAbsoluteError(reduction=reduction), yr, p, err.mean(-1)),
        (losses.Huber(delta=delta, reduction=reduction), yr, p, huber),
    ]
    for loss, yt, yp, per_sample in cases:
        got = loss(yt, minicnn.Tensor(yp), sample_weight=w).data
        expected = {"sum_over_batch_size": (per_sample * w).sum() / 6, "sum": (per_sample * w).sum(),
                    "none": per_sample * w}[reduction]
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=loss.name)


def test_huber_gradient_and_string_names():
    pred = minicnn.Tensor(np.array([[0.5, 3.0, -2.0]]), requires_grad=True)
    losses.Huber(delta=1.0)(np.zeros((1, 3)), pred).backward()
    np.testing.assert_allclose(pred.grad, [[0.5 / 3, 1 / 3, -1 / 3]])
    for name, cls in [("mse", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
                      ("huber", losses.Huber), ("binary_crossentropy", losses.BinaryCrossentropy),
                      ("categorical_crossentropy", losses.CategoricalCrossentropy),
                      ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy)]:
        assert isinstance(losses.get(name), cls)
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("hinge_of_fate")
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")


def test_sparse_crossentropy_ignore_class_is_left_out_of_the_mean():
    logits = np.random.default_rng(1).normal(size=(4, 3))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    y = np.array([0, 2, 2, 1])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    kept = np.array([0, 3])
    assert float(loss(y, minicnn.Tensor(logits))) == pytest.approx(np_ce(p[kept], y[kept]).mean())


def test_loss_config_round_trip():
    for loss in (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                 losses.Huber(delta=2.0, reduction="sum"), losses.SparseCategoricalCrossentropy(ignore_class=0)):
        again = losses.deserialize(losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


# ------------------------------------------------------------------ metrics
def test_metrics_stateful_api():
    y = np.array([0, 1, 2, 1])
    p = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7], [0.2, 0.7, 0.1]])
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(y[:2], p[:2])
    m.update_state(y[2:], p[2:])
    assert m.result() == 0.75
    m.reset_state()
    assert m.result() == 0.0
    cat = metrics.CategoricalAccuracy()
    cat.update_state(np.eye(3)[y], p, sample_weight=[1, 0, 1, 1])
    assert cat.result() == 1.0
    top2 = metrics.SparseTopKCategoricalAccuracy(k=2)
    top2.update_state(y, p)
    assert top2.result() == 1.0
    top1 = metrics.TopKCategoricalAccuracy(k=1)
    top1.update_state(np.eye(3)[y], p)
    assert top1.result() == 0.75
    binary = metrics.BinaryAccuracy(threshold=0.5)
    binary.update_state(np.array([[1], [0], [1]]), np.array([[0.7], [0.6], [0.2]]))
    assert binary.result() == pytest.approx(1 / 3)
    mean = metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 1.0, 2.0])
    assert mean.result() == pytest.approx(9 / 4)
    mse = metrics.MeanSquaredError()
    mse.update_state(np.zeros((2, 2)), np.array([[1.0, 1.0], [2.0, 0.0]]))
    assert mse.result() == pytest.approx(1.5)
    with pytest.raises(ValueError, match="do not match"):
        m.update_state(np.array([0, 1, 2]), p)


def test_metric_config_round_trip():
    for metric in (metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"), metrics.BinaryAccuracy(threshold=0.3),
                   metrics.Mean(name="avg")):
        again = metrics.deserialize(metrics.serialize(metric))
        assert type(again) is type(metric) and again.get_config() == metric.get_config()


# ------------------------------------------------------------------ errors
def test_clear_errors():
    x, y = toy(10)
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"same number of samples.*x: \[10\].*y: \[9\]"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=(x,), verbose=0)
    with pytest.raises(ValueError, match="class_weight and sample_weight"):
        model.fit(x, y, class_weight={0: 1, 1: 1, 2: 1}, sample_weight=np.ones(10), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(optimizer="adam", loss="cross_entropy_of_doom")
    with pytest.raises(ValueError, match="class_weight has no entry"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)


def test_subclassed_model_builds_its_weights_during_the_first_step():
    class TwoLayer(minicnn.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(3, activation="softmax")

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    x, y = toy(64)
    minicnn.utils.set_random_seed(0)
    model = TwoLayer()
    model.compile(optimizer=minicnn.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert len(model.trainable_weights) == 4 and model.optimizer.iterations == 20
    assert history.history["loss"][-1] < history.history["loss"][0]


# ------------------------------------------------------------------ cached weight lists
# Layer.weights / trainable_weights are cached until the model's structure changes; a stale list
# would silently keep training frozen weights or skip new ones.
def moved(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after)]


def ids(weights):  # Tensor == is elementwise, so lists of weights are compared by identity
    return [id(w) for w in weights]


def test_toggling_trainable_between_fits_and_batches_changes_which_weights_move():
    x, y = toy(32)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, verbose=0)
    assert len(model.trainable_weights) == 4
    first, second = model.layers
    first.trainable = False
    before = model.get_weights()
    model.fit(x, y, batch_size=8, verbose=0)
    assert moved(before, model.get_weights()) == [False, False, True, True]
    assert ids(model.trainable_weights) == ids(second.weights)
    first.trainable, second.trainable = True, False
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert moved(before, model.get_weights()) == [True, True, False, False]
    model.trainable = False
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert model.trainable_weights == [] and moved(before, model.get_weights()) == [False] * 4
    model.trainable = True
    model.train_on_batch(x, y)
    assert moved(before, model.get_weights()) == [True] * 4


def test_weights_added_to_a_sequential_or_nested_layer_are_listed_and_trained():
    x, y = toy(32)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(8, activation="relu")])
    assert len(model.trainable_weights) == 2
    model.add(layers.Dense(3, activation="softmax"))
    assert len(model.weights) == len(model.trainable_weights) == 4
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert moved(before, model.get_weights()) == [True] * 4
    model.pop()
    assert len(model.trainable_weights) == 2
    extra = model.layers[0].add_weight(shape=(2,), initializer="zeros", name="extra")
    assert model.trainable_weights[-1] is extra and model.weights[-1] is extra
    frozen = model.layers[0].add_weight(shape=(2,), name="frozen", trainable=False)
    assert model.weights[-1] is frozen and id(frozen) not in ids(model.trainable_weights)


def test_a_subclassed_model_that_creates_weights_lazily_trains_all_of_them():
    class Lazy(minicnn.Model):
        def call(self, x, training=False):
            if not hasattr(self, "head"):
                self.head = layers.Dense(3, activation="softmax")
            if x.shape[0] == 4 and not hasattr(self, "scale"):  # a weight of its own, later
                self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")
            out = self.head(x)
            return out * self.scale if hasattr(self, "scale") else out

    x, y = toy(32)
    minicnn.utils.set_random_seed(0)
    model = Lazy()
    assert model.trainable_weights == []
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, verbose=0)
    assert len(model.trainable_weights) == 2
    model.train_on_batch(x[:4], y[:4])
    assert len(model.trainable_weights) == 3 and model.trainable_weights[0] is model.scale
    before = model.get_weights()
    model.train_on_batch(x[:4], y[:4])
    assert moved(before, model.get_weights()) == [True] * 3


def test_mean_of_one_value_with_one_weight_matches_the_broadcast_path():
    # fit's loss tracker takes the scalar fast path of the weighted mean: the same numbers.
    for value, weight in [(0.1, 7), (np.float32(0.3), 3.0), (-0.0, 1), (2.5, 0)]:
        scalar, vector = metrics.Mean(), metrics.Mean()
        scalar.update_state(value, sample_weight=weight)
        vector.update_state(np.array([value]), sample_weight=np.array([weight]))
        assert (scalar.total, scalar.count) == (vector.total, vector.count)
        assert str(scalar.total) == str(vector.total)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="reads Linux's /proc/self/statm")
def test_resident_memory_does_not_grow_over_epochs():
    # A leak per step (a graph kept alive, a buffer per batch) would add megabytes over 4 epochs
    # of 32 steps; the step's own arrays come back from the memory pool every time.
    import os

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input(shape=(16, 16, 1)), layers.Conv2D(8, 3, activation="relu"),
                                layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10)])
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((1024, 16, 16, 1), dtype=np.float32), rng.integers(0, 10, 1024)
    seen = []

    class Rss(minicnn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(rss_mb())

    model.fit(x, y, batch_size=32, epochs=6, verbose=0, callbacks=[Rss()])
    assert seen[-1] - seen[1] < 2.0, f"resident memory by epoch (MB): {[round(s, 1) for s in seen]}"
