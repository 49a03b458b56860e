"""``keras.ops.core``: conversion, casting, gradients and control flow, also in the flat
``minicnn.ops`` namespace."""

from minicnn.ops._control_flow import cond, fori_loop, map, scan, slice, switch, while_loop
from minicnn.ops._conversion import (cast, convert_to_numpy, convert_to_tensor, dtype, is_tensor,
                                     shape, stop_gradient)
from minicnn.ops._shape import unstack

__all__ = ["cast", "cond", "convert_to_numpy", "convert_to_tensor", "dtype", "fori_loop",
           "is_tensor", "map", "scan", "shape", "slice", "stop_gradient", "switch", "unstack",
           "while_loop"]
