"""``keras.ops.linalg``: norms, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._linalg import norm

__all__ = ["norm"]
