"""``keras.ops`` functions that return indices or one-hot codes (not differentiable)."""

import numpy as np

from minicnn.autograd import Tensor
from minicnn.ops._util import norm_axis, raw

__all__ = ["argmax", "argmin", "one_hot"]


def _arg(fn, name, x, axis, keepdims):
    arr = np.asarray(raw(x))
    if arr.size == 0:
        raise ValueError(f"{name}: x is empty (shape {arr.shape})")
    if axis is not None:
        axis = norm_axis(axis, arr.ndim, f"{name}: axis")
    out = fn(arr, axis=axis, keepdims=keepdims)
    return Tensor._wrap(np.asarray(out, dtype=np.int32))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along ``axis`` (of the flattened ``x`` if None), as int32."""
    return _arg(np.argmax, "argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along ``axis`` (of the flattened ``x`` if None), as int32."""
    return _arg(np.argmin, "argmin", x, axis, keepdims)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot codes of the integer class ids ``x``: a new axis of size ``num_classes`` at
    ``axis``; as in Keras, an id outside ``[0, num_classes)`` gives a row of zeros. Float ids must
    be whole numbers (labels often arrive as float32).

    >>> import minicnn
    >>> minicnn.ops.one_hot([0, 2], 3)
    Tensor([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported (minicnn has no sparse tensors)")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    ids = np.asarray(raw(x))
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise ValueError("one_hot: x must hold whole class ids, got non-integer values "
                             f"(dtype {ids.dtype})")
    elif ids.dtype.kind not in "iub":
        raise TypeError(f"one_hot: x must hold integer class ids, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    codes = (ids[..., None] == np.arange(num_classes)).astype(dtype or "float32")
    out_axis = norm_axis(axis, ids.ndim + 1, "one_hot: axis")
    return Tensor._wrap(np.moveaxis(codes, -1, out_axis))
