"""Custom training with Keras 3's signatures beyond the guides: compute_loss overrides of every
shape, Metric attributes, compute_metrics, predict_step, the *_on_batch methods, zero_grad,
apply_gradients."""

import numpy as np
import pytest

import minicnn
import minicnn as keras


def regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")


def functional(cls, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    return cls(inputs, keras.layers.Dense(1)(inputs))


@pytest.mark.parametrize("signature", ["x_y_ypred_sw", "keyword_only", "kwargs", "extra_argument"])
def test_compute_loss_overrides_get_only_the_arguments_they_take(signature):
    seen = []

    def record(**got):
        seen.append(sorted(k for k, v in got.items() if v is not None))

    class Positional(keras.Model):  # Keras < 3.3: no `training`
        def compute_loss(self, x, y, y_pred, sample_weight):
            record(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            return super().compute_loss(x, y, y_pred, sample_weight)

    class KeywordOnly(keras.Model):
        def compute_loss(self, *, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            record(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
            return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)

    class Kwargs(keras.Model):
        def compute_loss(self, *args, **kwargs):
            record(**dict(zip(["x", "y", "y_pred", "sample_weight"], args)), **kwargs)
            return super().compute_loss(*args, **kwargs)

    class Extra(keras.Model):  # keras-io's knowledge distillation example has this signature
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            record(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            assert allow_empty is False
            return super().compute_loss(x, y, y_pred, sample_weight)

    cls = {"x_y_ypred_sw": Positional, "keyword_only": KeywordOnly, "kwargs": Kwargs,
           "extra_argument": Extra}[signature]
    model = functional(cls)
    model.compile(optimizer="sgd", loss="mse")
    x, y = regression()
    model.fit(x, y, sample_weight=np.ones(len(x)), batch_size=32, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    training = ["training"] if signature in ("keyword_only", "kwargs") else []
    assert seen[0] == sorted(["sample_weight", "x", "y", "y_pred"] + training)
    assert len(seen) == 4 and seen[3] == sorted(["x", "y", "y_pred"] + training)  # 2 + 2 steps


def test_metric_attributes_are_tracked_reset_and_reported_with_the_compiled_ones():
    class WithTracker(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.batches = keras.metrics.Sum(name="batches")

        def train_step(self, data):
            logs = super().train_step(data)
            self.batches.update_state(1.0)
            return {m.name: m.result() for m in self.metrics}

    model = functional(WithTracker)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    assert model.metrics_names == ["loss", "compile_metrics", "batches"]
    x, y = regression()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history.history["batches"] == [4.0, 4.0]  # reset at every epoch
    assert sorted(history.history) == ["batches", "loss", "mae"]
    model.batches = keras.metrics.Sum(name="steps")  # a new attribute replaces the old one
    assert model.metrics_names[-1] == "steps"


def test_compute_metrics_override_as_keras_documents_it():
    class CountAbove(keras.metrics.Metric):
        def __init__(self, name="above", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = 0.0

        def update_state(self, x, y, y_pred, sample_weight=None):
            self.count += float(np.sum(np.asarray(y_pred) > 0))

        def result(self):
            return self.count

        def reset_state(self):
            self.count = 0.0

    class MyModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.custom_metric = CountAbove()

        def compute_metrics(self, x, y, y_pred, sample_weight):
            metric_results = super().compute_metrics(x, y, y_pred, sample_weight)
            self.custom_metric.update_state(x, y, y_pred, sample_weight)
            metric_results["above"] = self.custom_metric.result()
            return metric_results

    model = functional(MyModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = regression()
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert logs["above"] == float(np.sum(model.predict(x, verbose=0) > 0))
    assert set(logs) == {"above", "loss", "mae"}


def test_custom_test_and_predict_steps_and_the_on_batch_methods():
    class Scaled(keras.Model):
        def predict_step(self, data):
            x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            return {"twice": self(x, training=False) * 2.0}

        def test_step(self, data):
            x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
            error = keras.ops.mean(keras.ops.abs(self(x, training=False) - y))
            return {"error": error}  # a Tensor: the logs hold its float

    model = functional(Scaled)
    model.compile(optimizer="sgd", loss="mse")
    x, y = regression()
    plain = keras.Model(model.inputs[0], model.outputs[0])
    out = model.predict(x, batch_size=16, verbose=0)
    np.testing.assert_allclose(out["twice"], 2 * plain.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x)["twice"], out["twice"], rtol=1e-6)
    last_batch = np.mean(np.abs(plain.predict(x[48:], verbose=0) - y[48:]))
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert logs == {"error": pytest.approx(float(last_batch), rel=1e-5)}  # the last step's logs
    assert model.test_on_batch(x, y) == pytest.approx(float(np.mean(np.abs(plain.predict(x, verbose=0) - y))),
                                                      rel=1e-5)
    before = model.get_weights()
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss"} and not np.array_equal(before[0], model.get_weights()[0])


def test_zero_grad_and_apply_gradients_in_a_hand_written_loop():
    model = functional(keras.Model)
    x, y = regression()
    optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.MeanSquaredError()
    losses = []
    for _ in range(3):
        loss = loss_fn(y, model(x))
        loss.backward()
        assert all(v.value.grad is not None for v in model.trainable_weights)
        grads = [v.value.grad for v in model.trainable_weights]
        with minicnn.no_grad():
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
        model.zero_grad()
        assert all(v.grad is None for v in model.trainable_weights)
        losses.append(float(loss))
    assert losses[2] < losses[1] < losses[0] and optimizer.iterations == 3


def test_a_step_override_that_forgets_to_return_logs_trains_and_reports_the_metrics():
    class Quiet(keras.Model):
        def train_step(self, data):
            super().train_step(data)
            return {}

    model = functional(Quiet)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = regression()
    history = model.fit(x, y, epochs=2, verbose=0)
    assert history.history == {}  # Keras: the epoch logs are the step's when names differ
    assert model.optimizer.iterations == 4
