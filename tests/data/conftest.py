"""What the data tests share: a small classification problem and a seeded model for it."""

import numpy as np
import pytest

import minicnn
from minicnn import layers


@pytest.fixture
def toy():
    """``toy(n, seed) -> (x, y)``: 4 features, 3 classes."""
    def make(n=64, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, 4)).astype(np.float32)
        return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return make


@pytest.fixture
def mlp():
    """``mlp(seed)``: a compiled model with dropout, so the global generator matters."""
    def make(seed=0):
        minicnn.utils.set_random_seed(seed)
        model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(8, activation="relu"),
                                    layers.Dropout(0.25), layers.Dense(3, activation="softmax")])
        model.compile(optimizer=minicnn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    return make


@pytest.fixture
def same_weights():
    return lambda a, b: all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
