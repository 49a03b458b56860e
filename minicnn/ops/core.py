"""``keras.ops.core``: casting and conversion, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._arithmetic import cast
from minicnn.ops._creation import shape

__all__ = ["cast", "shape"]
