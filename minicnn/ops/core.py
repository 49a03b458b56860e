"""``keras.ops.core``: casting and conversion, also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._arithmetic import cast
from minicnn.ops._convert import convert_to_numpy, convert_to_tensor, stop_gradient
from minicnn.ops._creation import shape

__all__ = ["cast", "shape", "convert_to_tensor", "convert_to_numpy", "stop_gradient"]
