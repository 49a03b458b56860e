"""The corpus's one data-source edit: small local data in place of the keras-io downloads.

`mnist_load_data` returns what `keras.datasets.mnist.load_data()` returns (uint8 images
(n, 28, 28), uint8 labels (n,)), read from the first images of the Fashion-MNIST files that
Debian's `dataset-fashion-mnist` package installs (CI installs it); `cifar10_load_data` returns
CIFAR-10's shapes and dtypes filled with random pixels; `make_image_folder` writes a small folder
of PNG images, one sub-folder per class, for `image_dataset_from_directory`. No framework is
imported here, so the same data feeds minicnn and real Keras.
"""

import gzip
import os
import struct
import zlib

import numpy as np

FASHION_MNIST_DIR = os.environ.get("CORPUS_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def _read_idx(name, count):
    path = os.path.join(FASHION_MNIST_DIR, name)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} is missing: the corpus reads Fashion-MNIST from {FASHION_MNIST_DIR} "
            "(apt-get install dataset-fashion-mnist, or set CORPUS_FASHION_MNIST_DIR)")
    with gzip.open(path, "rb") as f:
        magic = f.read(4)
        ndim = magic[3]
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        count = min(count, dims[0])
        item = int(np.prod(dims[1:], dtype=np.int64))
        data = np.frombuffer(f.read(count * item), dtype=np.uint8)
    return data.reshape((count,) + tuple(dims[1:]))


def mnist_load_data(n_train=1024, n_test=256):
    """`(x_train, y_train), (x_test, y_test)` as keras.datasets.mnist.load_data() gives them."""
    return ((_read_idx("train-images-idx3-ubyte.gz", n_train),
             _read_idx("train-labels-idx1-ubyte.gz", n_train)),
            (_read_idx("t10k-images-idx3-ubyte.gz", n_test),
             _read_idx("t10k-labels-idx1-ubyte.gz", n_test)))


def cifar10_load_data(n_train=256, n_test=64, seed=0):
    """CIFAR-10's shapes and dtypes ((n, 32, 32, 3) uint8, labels (n, 1) uint8), random values."""
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
             rng.integers(0, 10, (n_train, 1), dtype=np.uint8)),
            (rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
             rng.integers(0, 10, (n_test, 1), dtype=np.uint8)))


def _write_png(path, image):
    """An 8-bit RGB PNG, written with zlib alone (no imaging library needed on either side)."""
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_image_folder(root, class_names=("Cat", "Dog"), per_class=12, size=(40, 48), seed=0):
    """root/<class>/<i>.png images of random pixels (each class its own mean colour)."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(class_names):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            image = rng.normal(80 + 90 * k, 40, size + (3,)).clip(0, 255).astype(np.uint8)
            _write_png(os.path.join(root, name, f"{i}.png"), image)
    return root


def _take(structure, index):
    if isinstance(structure, dict):
        return {key: _take(value, index) for key, value in structure.items()}
    if isinstance(structure, (tuple, list)):
        return tuple(_take(value, index) for value in structure)
    return structure[index]


def batches(structure, batch_size, shuffle=False, seed=0):
    """A Python generator of batches: the stand-in for the guides' `tf.data.Dataset` and torch
    `DataLoader` pipelines (neither library is installed where the corpus runs), built from the
    same `(x, y[, sample_weight])` structure (dicts of arrays included) that
    `Dataset.from_tensor_slices` takes. Both minicnn and Keras take a generator in fit/evaluate."""
    first = structure
    while isinstance(first, (dict, tuple, list)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    order = np.arange(len(first))
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        yield _take(structure, order[start:start + batch_size])
