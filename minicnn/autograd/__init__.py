"""Reverse-mode automatic differentiation: Tensor, Function, the engine, gradcheck."""

from minicnn.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from minicnn.autograd.function import Context, Function, sum_to_shape
from minicnn.autograd.tensor import Tensor
from minicnn.autograd.engine import backward
from minicnn.autograd.gradcheck import gradcheck

__all__ = [
    "Tensor", "Function", "Context", "no_grad", "enable_grad", "is_grad_enabled",
    "set_grad_enabled", "backward", "gradcheck", "sum_to_shape",
]
