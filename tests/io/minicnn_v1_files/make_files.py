"""Writes the model files of this folder with the minicnn of main at 620cd2b (before the
optimizer state held use_ema averages, accumulators and Keras-named Variables):

    PYTHONPATH=<checkout of 620cd2b> python make_files.py

For each optimizer: a small model trained one epoch (the optimizer state is mid-training), saved
to <name>.minicnn; then one more epoch, whose weights go to expected.json.  A newer minicnn that
loads the file and trains that epoch must reach the same weights: the state was read in full.
"""

import json
import os

import numpy as np

import minicnn
from minicnn import layers, optimizers

HERE = os.path.dirname(os.path.abspath(__file__))


def data():
    x = np.sin(np.arange(48, dtype=np.float32) * 0.7).reshape(12, 4)
    y = np.cos(np.arange(12, dtype=np.float32)).reshape(12, 1)
    return x, y


def optimizers_to_save():
    return {"adam": optimizers.Adam(0.01),
            "sgd_momentum": optimizers.SGD(0.05, momentum=0.9, nesterov=True)}


def main():
    x, y = data()
    expected = {}
    for name, opt in optimizers_to_save().items():
        minicnn.utils.set_random_seed(3)
        model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3, activation="relu"),
                                    layers.Dense(1)])
        model.compile(opt, "mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.save(os.path.join(HERE, f"{name}.minicnn"))
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        expected[name] = [w.tolist() for w in model.get_weights()]
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"minicnn_commit": "620cd2b", "weights_after_one_more_epoch": expected}, f)


if __name__ == "__main__":
    main()
