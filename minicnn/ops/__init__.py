"""Differentiable operations: Function classes and their lowercase functional forms.

All functions take Tensors or arrays and return Tensors; the table of every op is
:data:`minicnn.ops.registry.OPS`.

>>> import numpy as np, minicnn
>>> w = minicnn.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
>>> y = minicnn.ops.relu(minicnn.ops.dense(np.ones((4, 3), np.float32), w))
>>> y.sum().backward()
>>> w.grad
array([[4., 4.],
       [4., 4.],
       [4., 4.]], dtype=float32)
"""

from minicnn.ops.arithmetic import *  # noqa: F401,F403
from minicnn.ops.arithmetic import __all__ as _arith_all
from minicnn.ops.activations import *  # noqa: F401,F403
from minicnn.ops.activations import __all__ as _act_all
from minicnn.ops.nn import *  # noqa: F401,F403
from minicnn.ops.nn import __all__ as _nn_all
from minicnn.ops.conv import *  # noqa: F401,F403
from minicnn.ops.conv import __all__ as _conv_all
from minicnn.ops.losses import *  # noqa: F401,F403
from minicnn.ops.losses import __all__ as _loss_all
from minicnn.ops._normalization import *  # noqa: F401,F403
from minicnn.ops._normalization import __all__ as _norm_all
from minicnn.ops import image  # noqa: F401  (keras.ops.image.resize)
from minicnn.ops.registry import OPS, OpInfo
from minicnn.autograd.basic_ops import *  # noqa: F401,F403  (the elementary Functions)
from minicnn.autograd.basic_ops import __all__ as _basic_all

__all__ = [*_arith_all, *_act_all, *_nn_all, *_conv_all, *_loss_all, *_norm_all, *_basic_all, "OPS",
           "OpInfo", "image"]
