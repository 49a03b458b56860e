"""``keras.ops.core``: casting and conversion, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._arithmetic import cast

__all__ = ["cast"]
