"""MNIST: 70,000 28x28 grayscale images of handwritten digits (LeCun, Cortes, Burges)."""

from minicnn.datasets import _files
from minicnn.datasets._idx import load_idx_dataset

# SHA-256 of the original .gz files (as mirrored on storage.googleapis.com/cvdf-datasets, the
# mirror TensorFlow uses; their MD5s f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d... are
# the ones torchvision checks against ossci-datasets).
DATASET = _files.DatasetSpec(
    name="mnist",
    title="MNIST",
    files={
        "train_images": _files.RemoteFile(
            "train-images-idx3-ubyte.gz",
            sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train_labels": _files.RemoteFile(
            "train-labels-idx1-ubyte.gz",
            sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "test_images": _files.RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "test_labels": _files.RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    system_dirs=("/usr/share/datasets/mnist",),
    homepage="http://yann.lecun.com/exdb/mnist/",
)


def load_data(path=None):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    ``x_train`` is uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``, the test split has
    10,000 images.  ``path`` is a directory holding the four IDX files (gzipped or not); they are
    downloaded into it when absent.  Without ``path``: ``$MINICNN_DATA/mnist/``, then
    ``~/.minicnn/datasets/mnist/``, then a download into that cache.

    >>> from minicnn.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
    """
    return load_idx_dataset(_files.locate(DATASET, path), name=DATASET.title)


def is_available(path=None):
    """True when a complete local copy of MNIST exists (``path``, ``$MINICNN_DATA``, the user
    cache or a system copy); nothing is downloaded."""
    return _files.is_available(DATASET, path)
