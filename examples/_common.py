"""Helpers the example scripts share: data loading, command-line flags, timing, plots.

Kept apart so that each example reads as the model it trains; nothing here is minicnn API.
"""

import argparse
import contextlib
import math
import os
import time

import numpy as np

import minicnn as keras
# Make sure the Keras-style namespaces exist as attributes (keras.losses, keras.saving, ...)
# whether or not the top-level package imports them eagerly.
import minicnn.callbacks  # noqa: E402,F401
import minicnn.datasets  # noqa: E402,F401
import minicnn.losses  # noqa: E402,F401
import minicnn.optimizers  # noqa: E402,F401
import minicnn.optimizers.schedules  # noqa: E402,F401
import minicnn.saving  # noqa: E402,F401
import minicnn.utils  # noqa: E402,F401

# Fashion-MNIST's per-pixel statistics over the training set (pixels scaled to [0, 1]).
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


def add_common_args(parser, *, epochs, batch_size=64):
    parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"default {batch_size}")
    parser.add_argument("--threads", type=int, default=None,
                        help="OpenMP threads for the kernels (default: all cores, or $OMP_NUM_THREADS)")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="fast mode: train on the first N training images and test on N test images")
    parser.add_argument("--validation-split", type=float, default=0.1, metavar="F",
                        help="fraction of the training images held out to validate on after each "
                             "epoch (default 0.1; 0: train on all of them); the test set is scored "
                             "once, at the end")
    parser.add_argument("--seed", type=int, default=0, help="random seed (weights, shuffling, augmentation)")
    parser.add_argument("--output-dir", default=".", help="where the model and plots are written (default .)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit() verbosity (1: progress bar)")
    return parser


def training_count(n_images, validation_split):
    """How many of ``n_images`` fit trains on (it holds out the last ``validation_split``)."""
    return int(math.floor(n_images * (1.0 - validation_split))) if validation_split else n_images


def threads(n):
    """``minicnn.num_threads(n)`` when a count was asked for, else a no-op context."""
    return keras.num_threads(n) if n else contextlib.nullcontext()


def load_images(dataset="fashion_mnist", subset=None, standardize=True):
    """``(x_train, y_train), (x_test, y_test)`` as float32 NHWC in ``[0, 1]`` (or standardized).

    ``subset`` keeps the first N images of each split (fast mode for tests and smoke runs).
    """
    module = {"fashion_mnist": keras.datasets.fashion_mnist, "mnist": keras.datasets.mnist}[dataset]
    (x_train, y_train), (x_test, y_test) = module.load_data()
    if subset:
        x_train, y_train, x_test, y_test = x_train[:subset], y_train[:subset], x_test[:subset], y_test[:subset]
    x_train = x_train[..., None].astype(np.float32) / 255.0
    x_test = x_test[..., None].astype(np.float32) / 255.0
    if standardize:
        # Zero mean, unit variance inputs: the same statistics for train and test.
        mean, std = (FASHION_MEAN, FASHION_STD) if dataset == "fashion_mnist" else (0.1307, 0.3081)
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    return (x_train, y_train), (x_test, y_test)


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every training epoch (the images/second the examples report)."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def images_per_second(n_images, timer):
    """Training throughput: images seen per second of epoch wall time (median epoch)."""
    return n_images / float(np.median(timer.times)) if timer.times else float("nan")


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_history(history, path, title):
    """PNG of loss and accuracy per epoch; returns the path, or None without matplotlib."""
    if not have_matplotlib():
        print("matplotlib is not installed: skipping the training-curve plot "
              "(pip install matplotlib, or pip install 'minicnn[plot]')")
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    h = history.history
    epochs = np.arange(1, len(h["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        if key in h:
            ax.plot(epochs, h[key], "o-", label=f"train {key}")
        if "val_" + key in h:
            ax.plot(epochs, h["val_" + key], "s--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.set_title(key)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    print(f"training curves saved to {path}")
    return path


def save_figure(fig, path):
    """Write a PNG atomically (a temporary file in the same directory, then os.replace)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        fig.savefig(tmp, format="png", dpi=100)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def parser(description):
    return argparse.ArgumentParser(description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
