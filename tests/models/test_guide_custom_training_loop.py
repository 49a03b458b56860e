"""Keras 3's guide "Writing a training loop from scratch in PyTorch" (keras-io,
guides/writing_a_custom_training_loop_in_torch.py, Apache License 2.0), run with
``import minicnn as keras``.

The guide's code is kept as it is, changed only in the imports (``torch.no_grad()`` ->
``minicnn.no_grad()``, ``torch.sum`` -> ``keras.ops.sum``), the data (a small synthetic
10-class problem in place of MNIST, lists of batches in place of torch ``DataLoader``s) and the
epochs.  Its first loop trains with ``torch.optim.Adam(model.parameters())`` and
``torch.nn.CrossEntropyLoss``: torch objects, which minicnn does not replace, so it is left out.
Each section ends with checks of what it must have done.
"""

import numpy as np
import pytest

import minicnn
import minicnn as keras


# Let's consider a simple MNIST model
def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def loader(x, y, batch_size):
    """What the guide's DataLoader yields: (inputs, targets) batches."""
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


@pytest.fixture
def dataloaders():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 640)
    prototypes = rng.random((10, 784)).astype("float32")  # each class near its own prototype
    x = prototypes[labels] + 0.3 * rng.random((640, 784)).astype("float32")
    y = keras.utils.to_categorical(labels)
    batch_size = 32
    x_train, y_train, x_val, y_val = x[:-128], y[:-128], x[-128:], y[-128:]
    return loader(x_train, y_train, batch_size), loader(x_val, y_val, batch_size), batch_size


def test_training_with_a_keras_optimizer_and_loss(dataloaders, capsys):
    train_dataloader, _, batch_size = dataloaders
    epochs = 2

    model = get_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        for step, (inputs, targets) in enumerate(train_dataloader):
            # Forward pass
            logits = model(inputs)
            loss = loss_fn(targets, logits)

            # Backward pass
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                optimizer.apply(gradients, trainable_weights)

            # Log every 100 batches.
            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")

    out = capsys.readouterr().out
    assert "Start of epoch 1" in out and "Training loss (for 1 batch) at step 0" in out
    assert optimizer.iterations == epochs * len(train_dataloader)
    first = float(loss_fn(train_dataloader[0][1], get_model()(train_dataloader[0][0])))
    assert float(loss) < first / 2  # it learned


def test_low_level_handling_of_metrics(dataloaders, capsys):
    train_dataloader, val_dataloader, batch_size = dataloaders
    epochs = 2

    # Get a fresh model
    model = get_model()

    # Instantiate an optimizer to train the model.
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    # Instantiate a loss function.
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    # Prepare the metrics.
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        for step, (inputs, targets) in enumerate(train_dataloader):
            # Forward pass
            logits = model(inputs)
            loss = loss_fn(targets, logits)

            # Backward pass
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                optimizer.apply(gradients, trainable_weights)

            # Update training metric.
            train_acc_metric.update_state(targets, logits)

            # Log every 100 batches.
            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")

        # Display metrics at the end of each epoch.
        train_acc = train_acc_metric.result()
        print(f"Training acc over epoch: {float(train_acc):.4f}")

        # Reset training metrics at the end of each epoch
        train_acc_metric.reset_state()

        # Run a validation loop at the end of each epoch.
        for x_batch_val, y_batch_val in val_dataloader:
            val_logits = model(x_batch_val, training=False)
            # Update val metrics
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = val_acc_metric.result()
        val_acc_metric.reset_state()
        print(f"Validation acc: {float(val_acc):.4f}")

    assert "Validation acc:" in capsys.readouterr().out
    assert float(val_acc) > 0.9  # chance is 0.1
    model.compile(loss=loss_fn, metrics=["categorical_accuracy"])  # the same number from evaluate
    x_val = np.concatenate([b[0] for b in val_dataloader])
    y_val = np.concatenate([b[1] for b in val_dataloader])
    assert model.evaluate(x_val, y_val, verbose=0)[1] == pytest.approx(float(val_acc))


def test_low_level_handling_of_losses_tracked_by_the_model(dataloaders):
    train_dataloader, val_dataloader, batch_size = dataloaders
    epochs = 1

    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * keras.ops.sum(inputs))
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    # Insert activity regularization as a layer
    x = ActivityRegularizationLayer()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)

    # (The guide builds this model, then trains a fresh get_model(); the loop below trains the
    # model with the regularization layer, so that model.losses is not empty.)
    # Instantiate an optimizer to train the model.
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    # Instantiate a loss function.
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    # Prepare the metrics.
    train_acc_metric = keras.metrics.CategoricalAccuracy()

    regularization = []
    for epoch in range(epochs):
        for step, (inputs, targets) in enumerate(train_dataloader):
            # Forward pass
            logits = model(inputs)
            loss = loss_fn(targets, logits)
            if model.losses:
                loss = loss + keras.ops.sum(*model.losses)
            regularization.append(float(keras.ops.sum(*model.losses)))

            # Backward pass
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            # Call torch.Tensor.backward() on the loss to compute gradients
            # for the weights.
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            # Update weights
            with minicnn.no_grad():
                optimizer.apply(gradients, trainable_weights)

            # Update training metric.
            train_acc_metric.update_state(targets, logits)

    # The activity penalty is one scalar per forward pass; its gradient reaches the weights under
    # it (it pulls the first layer's activations down, hard: 1e-2 times their sum).
    assert len(model.losses) == 1 and regularization[-1] < regularization[0] / 10
    assert np.isfinite(float(loss)) and 0.0 <= float(train_acc_metric.result()) <= 1.0
