# keras-io guides/training_with_built_in_methods.py (Keras 3), "Training & evaluation using tf.data
# Datasets": validation_steps.
# Copyright the Keras authors, Apache License 2.0: a test input of minicnn's conformance corpus
# (tests/keras_io/README.md), not product code.
# Changed: imports; data (1280/256 local Fashion-MNIST images for MNIST, 256 of them
# held out for validation instead of 10000); tf.data.Dataset pipelines -> corpus_data.batches, a
# Python generator of the same batches; validation steps 10 -> 2.
import os
import numpy as np
import minicnn as keras
from minicnn import layers
from minicnn import ops
from corpus_data import batches, mnist_load_data


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


(x_train, y_train), (x_test, y_test) = mnist_load_data(n_train=1280, n_test=256)

# Preprocess the data (these are NumPy arrays)
x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

y_train = y_train.astype("float32")
y_test = y_test.astype("float32")

# Reserve 256 samples for validation
x_val = x_train[-256:]
y_val = y_train[-256:]
x_train = x_train[:-256]
y_train = y_train[:-256]

model = get_compiled_model()

# Prepare the training dataset
train_dataset = batches((x_train, y_train), batch_size=64, shuffle=True)

# Prepare the validation dataset
val_dataset = batches((x_val, y_val), batch_size=64)

model.fit(
    train_dataset,
    epochs=1,
    # Only run validation using the first 2 batches of the dataset
    # using the `validation_steps` argument
    validation_data=val_dataset,
    validation_steps=2,
)
