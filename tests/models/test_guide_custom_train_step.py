"""Keras 3's guide "Customizing what happens in fit() with PyTorch" (keras-io,
guides/custom_train_step_in_torch.py, Apache License 2.0), run with ``import minicnn as keras``.

The guide's code is kept as it is, changed only where the brief allows: the imports
(``torch.no_grad()`` -> ``minicnn.no_grad()``), the data (small random arrays instead of MNIST,
an iterable of batches instead of a torch ``DataLoader``) and the epochs.  The GAN's torch tensor
calls (``torch.concat``, ``torch.ones``...) have no minicnn spelling, so that section uses the
TensorFlow version's ``keras.ops`` and ``keras.random`` calls inside the torch version's training
step.  Each section ends with checks of what it must have done.
"""

import numpy as np
import pytest

import minicnn
import minicnn as keras
from minicnn import layers, ops


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


def data(n=96, features=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, features))
    return x, x[:, :1] * 0.5 + x[:, 1:2] * 0.25  # a learnable target


def test_a_first_simple_example(capsys):
    class CustomModel(keras.Model):
        def train_step(self, data):
            # Unpack the data. Its structure depends on your model and
            # on what you pass to `fit()`.
            x, y = data

            # Call torch.nn.Module.zero_grad() to clear the leftover gradients
            # for the weights from the previous train step.
            self.zero_grad()

            # Compute loss
            y_pred = self(x, training=True)  # Forward pass
            loss = self.compute_loss(y=y, y_pred=y_pred)

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            # Update metrics (includes the metric that tracks the loss)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)

            # Return a dict mapping metric names to current value
            # Note that it will include the loss (tracked in self.metrics).
            return {m.name: m.result() for m in self.metrics}

    # Construct and compile an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])

    # Just use `fit` as usual
    x, y = data()
    history = model.fit(x, y, epochs=3)

    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.optimizer.iterations == 3 * 3
    assert "mae:" in capsys.readouterr().out
    # The guide's step is the built-in one: the same start, the same batches, the same result.
    builtin = keras.Model(inputs, outputs)
    custom = CustomModel(inputs, outputs)  # the same layers: they share the weights
    start = builtin.get_weights()
    logs = {}
    for name, m in (("builtin", builtin), ("custom", custom)):
        m.set_weights(start)
        m.compile(optimizer="adam", loss="mse", metrics=["mae"])
        keras.utils.set_random_seed(1)
        logs[name] = m.fit(x, y, epochs=2, verbose=0).history
        logs[name + " weights"] = m.get_weights()
    for key in ("loss", "mae"):
        np.testing.assert_allclose(logs["custom"][key], logs["builtin"][key], rtol=1e-6)
    for a, b in zip(logs["custom weights"], logs["builtin weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_going_lower_level():
    class CustomModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data

            # Call torch.nn.Module.zero_grad() to clear the leftover gradients
            # for the weights from the previous train step.
            self.zero_grad()

            # Compute loss
            y_pred = self(x, training=True)  # Forward pass
            loss = self.loss_fn(y, y_pred)

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            # Compute our own metrics
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {
                "loss": self.loss_tracker.result(),
                "mae": self.mae_metric.result(),
            }

        @property
        def metrics(self):
            # We list our `Metric` objects here so that `reset_states()` can be
            # called automatically at the start of each epoch
            # or at the start of `evaluate()`.
            return [self.loss_tracker, self.mae_metric]

    # Construct an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)

    # We don't pass a loss or metrics here.
    model.compile(optimizer="adam")

    # Just use `fit` as usual -- you can use callbacks, etc.
    x, y = data()
    history = model.fit(x, y, epochs=5, verbose=0)

    assert sorted(history.history) == ["loss", "mae"] and len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The trackers were reset at every epoch: the last epoch's loss is that epoch's mean only.
    assert model.loss_tracker.count == pytest.approx(3.0)


def test_supporting_sample_weight_and_class_weight():
    class CustomModel(keras.Model):
        def train_step(self, data):
            # Unpack the data. Its structure depends on your model and
            # on what you pass to `fit()`.
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                sample_weight = None
                x, y = data

            # Call torch.nn.Module.zero_grad() to clear the leftover gradients
            # for the weights from the previous train step.
            self.zero_grad()

            # Compute loss
            y_pred = self(x, training=True)  # Forward pass
            loss = self.compute_loss(
                y=y,
                y_pred=y_pred,
                sample_weight=sample_weight,
            )

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            # Update metrics (includes the metric that tracks the loss)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)

            # Return a dict mapping metric names to current value
            # Note that it will include the loss (tracked in self.metrics).
            return {m.name: m.result() for m in self.metrics}

    # Construct and compile an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])

    # You can now use sample_weight argument
    x, y = data()
    sw = np.random.random((len(x), 1))
    history = model.fit(x, y, sample_weight=sw, epochs=3, verbose=0)

    assert history.history["loss"][-1] < history.history["loss"][0]
    # The weights reach the loss: halving every sample's weight halves the gradients, which is
    # plain SGD with half the learning rate.
    start = model.get_weights()
    after = []
    for lr, weights in ((0.1, np.full((len(x), 1), 0.5)), (0.05, None)):
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse", metrics=["mae"])
        model.fit(x, y, sample_weight=weights, epochs=2, shuffle=False, verbose=0)
        after.append(model.get_weights())
    for a, b in zip(*after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not np.allclose(after[0][0], start[0])


def test_providing_your_own_evaluation_step():
    class CustomModel(keras.Model):
        def test_step(self, data):
            # Unpack the data
            x, y = data
            # Compute predictions
            y_pred = self(x, training=False)
            # Updates the metrics tracking the loss
            loss = self.compute_loss(y=y, y_pred=y_pred)
            # Update the metrics.
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            # Return a dict mapping metric names to current value.
            # Note that it will include the loss (tracked in self.metrics).
            return {m.name: m.result() for m in self.metrics}

    # Construct an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(loss="mse", metrics=["mae"])

    # Evaluate with our custom test_step
    x, y = data()
    loss, mae = model.evaluate(x, y)

    pred = model.predict(x, verbose=0)
    assert loss == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-5)
    assert mae == pytest.approx(float(np.mean(np.abs(pred - y))), rel=1e-5)


class _Loader:
    """A torch DataLoader's shape: re-iterable, with a length, yielding lists of batches (a plain
    list would be taken for arrays: several inputs)."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def test_wrapping_up_an_end_to_end_gan_example():
    # Create the discriminator
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.GlobalMaxPooling2D(),
            layers.Dense(1),
        ],
        name="discriminator",
    )

    # Create the generator
    latent_dim = 128
    generator = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            # We want to generate 128 coefficients to reshape into a 7x7x128 map
            layers.Dense(7 * 7 * 128),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
        ],
        name="generator",
    )

    class GAN(keras.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        def train_step(self, real_images):
            if isinstance(real_images, tuple):
                real_images = real_images[0]
            # Sample random points in the latent space
            batch_size = real_images.shape[0]
            random_latent_vectors = keras.random.normal(
                shape=(batch_size, self.latent_dim), seed=self.seed_generator
            )

            # Decode them to fake images
            generated_images = self.generator(random_latent_vectors)

            # Combine them with real images
            real_images = ops.convert_to_tensor(real_images)
            combined_images = ops.concatenate([generated_images, real_images], axis=0)

            # Assemble labels discriminating real from fake images
            labels = ops.concatenate(
                [
                    ops.ones((batch_size, 1)),
                    ops.zeros((batch_size, 1)),
                ],
                axis=0,
            )
            # Add random noise to the labels - important trick!
            labels += 0.05 * keras.random.uniform(labels.shape, seed=self.seed_generator)

            # Train the discriminator
            self.zero_grad()
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with minicnn.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

            # Sample random points in the latent space
            random_latent_vectors = keras.random.normal(
                shape=(batch_size, self.latent_dim), seed=self.seed_generator
            )

            # Assemble labels that say "all real images"
            misleading_labels = ops.zeros((batch_size, 1))

            # Train the generator (note that we should *not* update the weights
            # of the discriminator)!
            self.zero_grad()
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
            grads = g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with minicnn.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)

            # Update metrics and return their value.
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {
                "d_loss": self.d_loss_tracker.result(),
                "g_loss": self.g_loss_tracker.result(),
            }

    # Prepare the dataset: a few random "digits" instead of MNIST, in batches of
    # [images, images] lists as the guide's torch DataLoader over a TensorDataset yields them.
    batch_size = 4
    all_digits = np.random.default_rng(0).random((2 * batch_size, 28, 28, 1)).astype("float32")
    dataloader = _Loader([[all_digits[i:i + batch_size]] * 2
                          for i in range(0, len(all_digits), batch_size)])

    gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )

    d_before, g_before = discriminator.get_weights(), generator.get_weights()
    history = gan.fit(dataloader, epochs=1, verbose=0)

    assert sorted(history.history) == ["d_loss", "g_loss"]
    assert gan.d_optimizer.iterations == gan.g_optimizer.iterations == 2
    # Each optimizer moved its own network only.
    assert all(not np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
    assert all(not np.array_equal(a, b) for a, b in zip(g_before, generator.get_weights()))
    assert len(gan.d_optimizer.variables) != len(gan.g_optimizer.variables)
