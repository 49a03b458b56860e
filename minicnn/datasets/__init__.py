"""Classic image-classification datasets with Keras' ``load_data()`` API.

>>> from minicnn.datasets import fashion_mnist
>>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP

Files are looked for in ``load_data(path=...)``, ``$MINICNN_DATA/<name>/``,
``~/.minicnn/datasets/<name>/`` and system copies, then downloaded (checksum-verified, resumable)
into the user cache.  See :mod:`minicnn.datasets._files` for the details.
"""

from minicnn.datasets import cifar10, fashion_mnist, mnist
from minicnn.datasets._download import ChecksumError
from minicnn.datasets._idx import read_idx

__all__ = ["fashion_mnist", "mnist", "cifar10", "read_idx", "ChecksumError"]
