# keras-io guides/functional_api.py (Keras 3), "Introduction": plotting the model.
# Copyright the Keras authors, Apache License 2.0: a test input of minicnn's conformance corpus
# (tests/keras_io/README.md), not product code.
# Changed: imports.
import numpy as np
import minicnn as keras
from minicnn import layers
from minicnn import ops

inputs = keras.Input(shape=(784,))
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")

keras.utils.plot_model(model, "my_first_model.png")

keras.utils.plot_model(model, "my_first_model_with_shape_info.png", show_shapes=True)
