# keras-io guides/transfer_learning.py (Keras 3), "Recursive setting of the trainable attribute".
# Copyright the Keras authors, Apache License 2.0: a test input of minicnn's conformance corpus
# (tests/keras_io/README.md), not product code.
# Changed: imports.
import numpy as np
import minicnn as keras
from minicnn import layers

inner_model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dense(3, activation="relu"),
    ]
)

model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        inner_model,
        keras.layers.Dense(3, activation="sigmoid"),
    ]
)

model.trainable = False  # Freeze the outer model

assert inner_model.trainable == False  # All layers in `model` are now frozen
assert inner_model.layers[0].trainable == False  # `trainable` is propagated recursively
