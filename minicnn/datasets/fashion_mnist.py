"""Fashion-MNIST: 70,000 28x28 grayscale images of 10 kinds of clothing (Zalando Research).

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.
"""

from minicnn.datasets import _files
from minicnn.datasets._idx import load_idx_dataset

#: Class names, indexed by label.
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# The published .gz files and Debian's copies differ byte-wise (Debian re-compressed them without
# the embedded file name), so downloads are verified by the SHA-256 of the *decompressed* IDX
# data, computed from the Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1.  (The
# authors publish only MD5s of the .gz files: 8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd....)
DATASET = _files.DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files={
        "train_images": _files.RemoteFile(
            "train-images-idx3-ubyte.gz",
            content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        "train_labels": _files.RemoteFile(
            "train-labels-idx1-ubyte.gz",
            content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        "test_images": _files.RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        "test_labels": _files.RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    },
    mirrors=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    install_hint="on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
                 "(installs /usr/share/datasets/fashion-mnist/)",
)


def load_data(path=None):
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    ``x_train`` is uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``, the test split has
    10,000 images.  ``path`` is a directory holding the four IDX files (gzipped or not); they are
    downloaded into it when absent.  Without ``path`` the files are looked for in
    ``$MINICNN_DATA/fashion-mnist/``, ``~/.minicnn/datasets/fashion-mnist/`` and
    ``/usr/share/datasets/fashion-mnist/``, then downloaded into the user cache.

    >>> from minicnn.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    return load_idx_dataset(_files.locate(DATASET, path), name=DATASET.title)


def is_available(path=None):
    """True when a complete local copy of Fashion-MNIST exists (``path``, ``$MINICNN_DATA``, the user
    cache or a system copy); nothing is downloaded."""
    return _files.is_available(DATASET, path)
