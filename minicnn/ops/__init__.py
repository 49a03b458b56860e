"""Differentiable operations: ``keras.ops`` (flat, and its ``core``, ``image``, ``linalg``,
``math``, ``nn`` and ``numpy`` namespaces), minicnn's functional forms of its layers, and the
Function classes they run.

All functions take Tensors, arrays, lists or scalars and return Tensors, with Keras' dtype
rules (Python floats float32, ints int32; floats are never widened by ints); the table of the
differentiable ops is :data:`minicnn.ops.registry.OPS`.

Layout: a public submodule is one of Keras' namespaces (``minicnn.ops.numpy`` is
``keras.ops.numpy``) or the op table (``registry``); everything else is private (``_conv``,
``_losses``, ...: Functions and functional forms per topic).  So no submodule can shadow a
function of the flat namespace: ``minicnn.ops.conv`` is a function, as ``keras.ops.conv`` is.

>>> import numpy as np, minicnn
>>> w = minicnn.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
>>> y = minicnn.ops.relu(minicnn.ops.dense(np.ones((4, 3), np.float32), w))
>>> y.sum().backward()
>>> w.grad
array([[4., 4.],
       [4., 4.],
       [4., 4.]], dtype=float32)
"""

from minicnn.ops import core, image, linalg, math, nn, numpy
from minicnn.ops._activations import *  # noqa: F401,F403  (the Function classes)
from minicnn.ops._conv import *  # noqa: F401,F403
from minicnn.ops._elementary import *  # noqa: F401,F403
from minicnn.ops._layers import *  # noqa: F401,F403
from minicnn.ops._linalg import *  # noqa: F401,F403
from minicnn.ops._losses import *  # noqa: F401,F403
from minicnn.ops._normalization import *  # noqa: F401,F403
from minicnn.ops._reductions import *  # noqa: F401,F403
from minicnn.ops._select import *  # noqa: F401,F403
from minicnn.ops._shape import *  # noqa: F401,F403
from minicnn.ops._unary import *  # noqa: F401,F403
from minicnn.ops.core import *  # noqa: F401,F403
from minicnn.ops.linalg import *  # noqa: F401,F403
from minicnn.ops.math import *  # noqa: F401,F403
from minicnn.ops.nn import *  # noqa: F401,F403
from minicnn.ops.numpy import *  # noqa: F401,F403
from minicnn.ops.registry import OPS, OpInfo
from minicnn.ops import (_activations, _conv, _elementary, _layers, _linalg, _losses,
                         _normalization, _reductions, _select, _shape, _unary)

# ``resize`` is only ``ops.image.resize``, as in Keras.
__all__ = sorted({*core.__all__, *linalg.__all__, *math.__all__, *nn.__all__, *numpy.__all__,
                  *_activations.__all__, *_conv.__all__, *_elementary.__all__, *_layers.__all__,
                  *_linalg.__all__, *_losses.__all__, *_normalization.__all__,
                  *_reductions.__all__, *_select.__all__, *_shape.__all__, *_unary.__all__,
                  "OPS", "OpInfo", "core", "image", "linalg", "math", "nn", "numpy"})
