"""Write the real Keras 3 files that tests/io/test_keras_files.py loads into minicnn.

Run with Keras 3 (any backend) and h5py installed, from this directory:

    KERAS_BACKEND=tensorflow python make_keras_files.py

For each model it writes ``<name>.keras`` (config.json + metadata.json + model.weights.h5 in a
zip), for two of them ``<name>.weights.h5`` (the weights alone; HDF5 files are ~25 KB however
small the model, and the fixtures stay under 200 KB) and, in ``keras_expected.json``, Keras'
predictions for the inputs ``sample_input`` makes (the tests make the same).  The files are committed (``git add -f``, ``*.keras`` is
ignored), so the tests need neither Keras nor TensorFlow.
"""

import json
import os

import numpy as np

import keras
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))


def sample_input(shape):
    """Fixed inputs of ``shape`` (tests/io/test_keras_files.py computes the same)."""
    n = int(np.prod(shape))
    return np.sin(np.arange(n) * 0.7 + 0.3).reshape(shape).astype("float32")


def sequential_cnn():
    return keras.Sequential([
        keras.Input((10, 10, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(6, 3, padding="same", strides=2),
        layers.Flatten(),
        layers.Dropout(0.25),
        layers.Dense(5, activation="softmax"),
    ], name="sequential_cnn")


def functional_merge():
    inputs = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    shortcut = layers.Conv2D(4, 1)(inputs)
    x = layers.Add()([x, shortcut])
    other = layers.AveragePooling2D(pool_size=1)(inputs)
    x = layers.Concatenate()([x, other])
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(3, name="logits")(x)
    return keras.Model(inputs, outputs, name="functional_merge")


def separable():
    inputs = keras.Input((9, 9, 3))
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu")(inputs)
    x = layers.SeparableConv2D(4, 3, padding="same")(x)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)(x)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Dense(2)(x)
    return keras.Model(inputs, outputs, name="separable")


def nested():
    inner = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(4)],
                             name="inner")
    inputs = keras.Input((6,))
    x = layers.Add()([inner(inputs), layers.Dense(4)(inputs)])
    return keras.Model(inputs, layers.Dense(2)(x), name="nested")


def _randomize_batch_norm(model, rng):
    # Fresh moving statistics are 0 and 1: give them values so that loading them is tested.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            for v in (layer.moving_mean, layer.moving_variance):
                v.assign(rng.uniform(0.5, 1.5, size=v.shape).astype("float32"))


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    expected = {"keras_version": keras.__version__, "models": {}}
    for build in (sequential_cnn, functional_merge, separable, nested):
        model = build()
        _randomize_batch_norm(model, rng)
        if build is sequential_cnn:  # one compiled model: its file holds a compile_config
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        x = sample_input((2,) + tuple(model.input_shape[1:]))
        y = np.asarray(model.predict(x, verbose=0))
        name = build.__name__
        model.save(os.path.join(HERE, f"{name}.keras"))
        if build in (sequential_cnn, functional_merge):
            model.save_weights(os.path.join(HERE, f"{name}.weights.h5"))
        expected["models"][name] = {"input_shape": list(x.shape), "y": y.tolist()}
    with open(os.path.join(HERE, "keras_expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
