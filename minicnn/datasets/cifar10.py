"""CIFAR-10: 60,000 32x32 colour images in 10 classes (Krizhevsky, 2009).

Read from the *binary* version of the dataset (fixed-size records), so no pickle is ever loaded.
"""

import os
import tarfile

import numpy as np

from minicnn.datasets import _files
from minicnn.datasets._idx import CIFAR_RECORD, parse_cifar_batch, read_bytes

#: Class names, indexed by label.
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_MEMBER_DIR = "cifar-10-batches-bin"
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = "test_batch.bin"
_PER_BATCH = 10000

# SHA-256 of cifar-10-binary.tar.gz (170,052,171 bytes; the authors publish its MD5,
# c32a1d4ab5d03f1284b67883e8d87530, on https://www.cs.toronto.edu/~kriz/cifar.html).
DATASET = _files.DatasetSpec(
    name="cifar-10",
    title="CIFAR-10",
    files={
        "archive": _files.RemoteFile(
            "cifar-10-binary.tar.gz",
            sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            # An extracted copy: the batches directory, or the .bin files themselves.
            local_names=(f"{_MEMBER_DIR}/{_TEST}", _TEST),
        ),
    },
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
)


def _read_archive(path):
    """{member base name: (label for errors, bytes)} for the six batches, read without extracting."""
    wanted = set(_TRAIN) | {_TEST}
    blobs = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if base in wanted and member.isfile():
                    if member.size != _PER_BATCH * CIFAR_RECORD:
                        raise ValueError(
                            f"{path}: member {member.name} is {member.size} bytes, expected "
                            f"{_PER_BATCH * CIFAR_RECORD} (10000 records of {CIFAR_RECORD})"
                        )
                    blobs[base] = (f"{path}:{member.name}", tar.extractfile(member).read())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a readable CIFAR-10 binary archive: {exc}") from None
    missing = sorted(wanted - set(blobs))
    if missing:
        raise ValueError(f"{path}: CIFAR-10 archive lacks {', '.join(missing)}")
    return blobs


def _read_directory(directory):
    blobs = {}
    for name in (*_TRAIN, _TEST):
        p = os.path.join(directory, name)
        if not os.path.isfile(p):
            raise ValueError(f"{directory}: incomplete CIFAR-10 copy, {name} is missing")
        blobs[name] = (p, read_bytes(p))
    return blobs


def load_data(path=None):
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    ``x_train`` is uint8 ``(50000, 32, 32, 3)`` (channels last), ``y_train`` uint8 ``(50000, 1)``;
    the test split has 10,000 images.  ``path`` is a directory holding ``cifar-10-binary.tar.gz``
    or its extracted ``cifar-10-batches-bin/`` (or the ``.bin`` batches themselves); the archive
    is downloaded into it when absent.  Without ``path``: ``$MINICNN_DATA/cifar-10/``, then
    ``~/.minicnn/datasets/cifar-10/``, then a download (162 MB) into that cache.

    >>> from minicnn.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1))
    """
    found = _files.locate(DATASET, path)["archive"]
    if found.endswith(".bin"):
        blobs = _read_directory(os.path.dirname(found))
    else:
        blobs = _read_archive(found)
    parts = [parse_cifar_batch(blobs[n][1], blobs[n][0], expected_records=_PER_BATCH) for n in _TRAIN]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = parse_cifar_batch(blobs[_TEST][1], blobs[_TEST][0], expected_records=_PER_BATCH)
    return (x_train, y_train), (x_test, y_test)


def is_available(path=None):
    """True when a complete local copy of CIFAR-10 exists (``path``, ``$MINICNN_DATA``, the user
    cache or a system copy); nothing is downloaded."""
    return _files.is_available(DATASET, path)
