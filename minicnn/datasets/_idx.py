"""Readers for the two raw formats the classic datasets ship in: IDX (MNIST family) and the
CIFAR-10 binary batches.

Both formats are fixed-layout byte arrays, so a reader can check every size before it trusts a
byte: a wrong magic number, a dimension that disagrees with the file length, a truncated or
over-long file all raise ``ValueError`` naming the file.  Nothing is unpickled.
"""

import gzip
import os
import struct
import zlib

import numpy as np

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def open_maybe_gzip(path):
    """Open ``path`` for binary reading, transparently gunzipping it when it is gzip data.

    The decision is made from the first two bytes, not the file name, so ``foo.gz`` that was
    already decompressed (or an uncompressed file renamed ``.gz``) still reads correctly.
    """
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=f, mode="rb")
    return f


def _read_exact(f, n, path, what):
    try:
        data = f.read(n)
    except (EOFError, OSError, zlib.error) as exc:  # truncated or corrupt gzip stream
        raise ValueError(f"{path}: corrupt or truncated file while reading {what}: {exc}") from None
    if len(data) != n:
        raise ValueError(f"{path}: truncated file: expected {n} bytes of {what}, got {len(data)}")
    return data


def read_idx(path, *, expected_ndim=None, expected_shape=None, dtype=np.uint8):
    """Read an IDX file (optionally gzipped) into a NumPy array.

    Checks the magic number (two zero bytes, a known type code, the number of dimensions), the
    dimensions against ``expected_ndim`` / ``expected_shape`` (``None`` entries match anything),
    and that the payload is exactly ``prod(dims) * itemsize`` bytes long.

    >>> import numpy as np, tempfile, os, struct
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x-idx1-ubyte")
    >>> _ = open(p, "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 8, 9]))
    >>> read_idx(p, expected_ndim=1)
    array([7, 8, 9], dtype=uint8)
    """
    path = os.fspath(path)
    with open_maybe_gzip(path) as f:
        magic = _read_exact(f, 4, path, "the IDX magic number")
        zero0, zero1, type_code, ndim = magic
        if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
            raise ValueError(
                f"{path}: not an IDX file (magic number {magic.hex()}; expected 0000 + a type "
                f"code in {sorted(hex(c) for c in _IDX_DTYPES)} + the number of dimensions)"
            )
        if expected_ndim is not None and ndim != expected_ndim:
            raise ValueError(f"{path}: expected an IDX file with {expected_ndim} dimensions, got {ndim}")
        file_dtype = _IDX_DTYPES[type_code]
        if dtype is not None and (file_dtype.kind, file_dtype.itemsize) != (np.dtype(dtype).kind, np.dtype(dtype).itemsize):
            raise ValueError(f"{path}: expected IDX element type {np.dtype(dtype)}, got {file_dtype.newbyteorder('=')}")
        shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "the IDX dimensions"))
        if expected_shape is not None:
            if len(expected_shape) != ndim or any(
                e is not None and e != s for e, s in zip(expected_shape, shape)
            ):
                raise ValueError(f"{path}: expected IDX dimensions {tuple(expected_shape)}, got {shape}")
        # The header may claim anything: refuse before allocating what the file cannot hold
        # (deflate expands at most 1032:1, so a gzip file bounds its payload too).
        claimed = file_dtype.itemsize
        for d in shape:
            claimed *= d
        bound = os.path.getsize(path) * (1032 if isinstance(f, gzip.GzipFile) else 1)
        if claimed > bound:
            raise ValueError(
                f"{path}: truncated IDX file: dimensions {shape} need {claimed} bytes of data, "
                f"a file of this size holds at most {bound}"
            )
        out = np.empty(shape, dtype=file_dtype)
        nbytes = out.nbytes
        # readinto fills the result directly: no intermediate bytes object for 47 MB of images.
        view = memoryview(out.reshape(-1).view(np.uint8))
        got = 0
        try:
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
            trailing = f.read(1)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated file: {exc}") from None
        if got != nbytes:
            raise ValueError(
                f"{path}: truncated IDX file: dimensions {shape} need {nbytes} bytes of data, "
                f"the file has {got}"
            )
        if trailing:
            raise ValueError(f"{path}: IDX file is longer than its dimensions {shape} say")
    if file_dtype.byteorder == ">":
        out = out.astype(file_dtype.newbyteorder("="))
    return out


CIFAR_RECORD = 1 + 32 * 32 * 3


def parse_cifar_batch(data, name, *, expected_records=None, num_classes=10):
    """Decode CIFAR binary records (1 label byte + 1024 R + 1024 G + 1024 B bytes each).

    Returns ``(x, y)`` with ``x`` uint8 ``(n, 32, 32, 3)`` (channels last, like Keras) and ``y``
    uint8 ``(n, 1)``.
    """
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise ValueError(
            f"{name}: not a CIFAR-10 binary batch: {len(data)} bytes is not a positive multiple "
            f"of the {CIFAR_RECORD}-byte record (truncated file?)"
        )
    n = len(data) // CIFAR_RECORD
    if expected_records is not None and n != expected_records:
        raise ValueError(f"{name}: expected {expected_records} CIFAR records, got {n}")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(n, CIFAR_RECORD)
    y = rec[:, :1].copy()
    if y.max(initial=0) >= num_classes:
        raise ValueError(f"{name}: label {int(y.max())} out of range [0, {num_classes}); not a CIFAR-10 batch?")
    x = np.ascontiguousarray(rec[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, y


def check_labels(labels, num_classes, path):
    """Labels outside ``[0, num_classes)`` mean a wrong or corrupted file."""
    if labels.size and int(labels.max()) >= num_classes:
        raise ValueError(f"{path}: label {int(labels.max())} out of range [0, {num_classes})")
    return labels


def read_bytes(path):
    """All bytes of ``path`` (gunzipped when it is gzip data); truncation raises ValueError."""
    with open_maybe_gzip(path) as f:
        try:
            return f.read()
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated file: {exc}") from None




def load_idx_dataset(files, *, image_shape=(28, 28), num_classes=10, name="dataset"):
    """``((x_train, y_train), (x_test, y_test))`` from the four IDX files of an MNIST-like set.

    ``files`` maps ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` to paths.
    """
    out = []
    for split in ("train", "test"):
        img_path, lab_path = files[f"{split}_images"], files[f"{split}_labels"]
        x = read_idx(img_path, expected_shape=(None, *image_shape))
        y = check_labels(read_idx(lab_path, expected_ndim=1), num_classes, lab_path)
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"{name}: {img_path} holds {x.shape[0]} images but {lab_path} holds {y.shape[0]} labels"
            )
        out.append((x, y))
    return tuple(out)
