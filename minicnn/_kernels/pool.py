"""2-D pooling kernels, channels-last: validation and allocation here, the loops in ``_pool``.

``x`` is (N, H, W, C), float32 or float64.  ``pool_size`` and ``strides`` take an int or a
2-tuple; ``strides=None`` means ``pool_size`` (Keras).  ``padding`` is ``"valid"`` or ``"same"``
(``OH = ceil(H / s)``, the odd padded cell at the bottom/right).  Padded cells never win a max,
and average pooling divides by the number of real (unpadded) cells in the window, as Keras does.

Max pooling returns, beside ``y``, ``argmax`` (int32, the shape of ``y``): the flat index
``h * W + w`` of the chosen input cell within its (sample, channel) plane, the first maximum in
row-major window order on ties.  The backward pass scatter-adds through it, so overlapping
windows are handled.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> y, arg = max_pool2d_forward(x)
>>> y[0, :, :, 0], arg[0, :, :, 0]
(array([[ 5.,  7.],
       [13., 15.]]), array([[ 5,  7],
       [13, 15]], dtype=int32))

``isa=`` (a name from ``minicnn._kernels._dispatch.available()``) runs that instruction set's
kernel table instead of the one chosen at import (tests compare them).
"""

import numpy as np

from minicnn._kernels import _pool
from minicnn._kernels._args import DTypeError, array as _array, pair as _pair, padding_arg as _padding_arg
from minicnn._kernels._args import same_pad as _same_pad, same_shape as _same_shape, shape4 as _shape4

__all__ = [
    "pool2d_output_shape", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
    "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward",
    "global_max_pool2d_forward", "global_max_pool2d_backward",
]

_INDEX = (np.dtype(np.int32), np.dtype(np.int64))


def _geometry(input_shape, pool_size, strides, padding, name="x"):
    """(N, H, W, C, ph, pw, sh, sw, top, left, OH, OW) of a pooling."""
    N, H, W, C = _shape4(input_shape, f"{name} shape")
    ph, pw = _pair(pool_size, "pool_size")
    sh, sw = _pair(pool_size if strides is None else strides, "strides")
    pad = _padding_arg(padding)
    if not isinstance(pad, str):
        raise ValueError(f"padding of a pooling must be 'valid' or 'same', got {padding!r}")
    if pad == "same":
        top, left = _same_pad(H, ph, sh)[0], _same_pad(W, pw, sw)[0]
        OH, OW = -(-H // sh), -(-W // sw)
    else:
        if H < ph or W < pw:
            raise ValueError(f"pool_size ({ph}, {pw}) is larger than the input: {name} shape {tuple(input_shape)} "
                             f"under padding 'valid'")
        top = left = 0
        OH, OW = (H - ph) // sh + 1, (W - pw) // sw + 1
    if OH < 1 or OW < 1:
        raise ValueError(f"pooling of {name} shape {tuple(input_shape)} would be empty")
    return N, H, W, C, ph, pw, sh, sw, top, left, OH, OW


def pool2d_output_shape(input_shape, pool_size, strides=None, padding="valid"):
    """(N, OH, OW, C) of a 2-D pooling.

    >>> pool2d_output_shape((8, 26, 26, 32), 2)
    (8, 13, 13, 32)
    >>> pool2d_output_shape((8, 5, 5, 3), 2, padding="same")
    (8, 3, 3, 3)
    """
    N, H, W, C, ph, pw, sh, sw, top, left, OH, OW = _geometry(input_shape, pool_size, strides, padding,
                                                              name="input_shape")
    return (N, OH, OW, C)


def _check_dy(dy, shape, what, ndim=4):
    return _same_shape(_array(dy, "dy", ndim=ndim), shape, "dy", f" ({what})")


def _check_argmax(argmax, shape):
    if not isinstance(argmax, np.ndarray):
        raise TypeError(f"argmax must be a numpy array, got {type(argmax).__name__}")
    if argmax.dtype not in _INDEX:
        raise DTypeError(f"argmax must be int32 or int64, got {argmax.dtype}")
    if argmax.shape != tuple(shape):
        raise ValueError(f"argmax must have the shape of dy {tuple(shape)}, got {argmax.shape}")
    return np.ascontiguousarray(argmax)


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid", *, argmax=True, isa=None):
    """(y, argmax) of max pooling; see the module docstring for ``argmax``.  With
    ``argmax=False`` (inference: no backward pass) the indices are neither computed nor
    allocated and the second item is None.

    >>> import numpy as np
    >>> y, arg = max_pool2d_forward(np.ones((2, 5, 5, 3), np.float32), 2, padding="same")
    >>> y.shape, arg.dtype
    ((2, 3, 3, 3), dtype('int32'))
    >>> max_pool2d_forward(np.ones((1, 2, 2, 1)), argmax=False)[1] is None
    True
    """
    x = _array(x, "x")
    N, H, W, C, ph, pw, sh, sw, top, left, OH, OW = _geometry(x.shape, pool_size, strides, padding)
    if H * W >= 2**31:
        raise ValueError(f"x shape {x.shape}: H * W must be < 2**31 for int32 argmax indices")
    y = np.empty((N, OH, OW, C), x.dtype)
    arg = np.empty((N, OH, OW, C), np.int32) if argmax else None
    _pool.max_pool_forward_into(x, y, arg, ph, pw, sh, sw, top, left, isa)
    return y, arg


def max_pool2d_backward(dy, argmax, input_shape, isa=None):
    """dx: dy scatter-added to the cells named by ``argmax``.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> y, arg = max_pool2d_forward(x)
    >>> max_pool2d_backward(np.ones_like(y), arg, x.shape)[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """
    N, H, W, C = _shape4(input_shape, "input_shape")
    dy = _array(dy, "dy")
    if dy.shape[0] != N or dy.shape[3] != C:
        raise ValueError(f"dy shape {dy.shape} does not match input_shape {tuple(input_shape)} in batch and channels")
    argmax = _check_argmax(argmax, dy.shape)
    dx = np.empty((N, H, W, C), dy.dtype)  # zeroed image by image in the kernel
    if not _pool.max_pool_backward_into(dy, argmax, dx, isa):
        raise ValueError(f"argmax holds indices outside [0, {H * W}) for input_shape {tuple(input_shape)}")
    return dx


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling; under "same" the divisor is the number of real cells in the window.

    >>> import numpy as np
    >>> avg_pool2d_forward(np.arange(9.0).reshape(1, 3, 3, 1), 2, padding="same")[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]])
    """
    x = _array(x, "x")
    N, H, W, C, ph, pw, sh, sw, top, left, OH, OW = _geometry(x.shape, pool_size, strides, padding)
    y = np.empty((N, OH, OW, C), x.dtype)
    _pool.avg_pool_forward_into(x, y, ph, pw, sh, sw, top, left)
    return y


def avg_pool2d_backward(dy, input_shape, pool_size=2, strides=None, padding="valid"):
    """dx of average pooling: each dy cell is shared equally by its window's real cells.

    >>> import numpy as np
    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 2, 2, 1))[0, :, :, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    N, H, W, C, ph, pw, sh, sw, top, left, OH, OW = _geometry(input_shape, pool_size, strides, padding,
                                                              name="input_shape")
    dy = _check_dy(dy, (N, OH, OW, C), f"the pooling output for input_shape {tuple(input_shape)}")
    dx = np.zeros((N, H, W, C), dy.dtype)
    _pool.avg_pool_backward_into(dy, dx, ph, pw, sh, sw, top, left)
    return dx


def _global_input(x):
    """(x checked, its shape), or the error saying it has no cells to pool."""
    x = _array(x, "x")
    if x.shape[1] * x.shape[2] == 0:
        raise ValueError(f"x shape {x.shape} has no cells to pool")
    return x, x.shape


def global_avg_pool2d_forward(x):
    """(N, C): the mean over H and W.

    >>> import numpy as np
    >>> global_avg_pool2d_forward(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[3., 4.]])
    """
    x, (N, H, W, C) = _global_input(x)
    y = np.empty((N, C), x.dtype)
    _pool.global_avg_forward_into(x.reshape(N, H * W, C), y)
    return y


def global_avg_pool2d_backward(dy, input_shape):
    """dx (input_shape): dy / (H * W) broadcast over H and W."""
    N, H, W, C = _shape4(input_shape, "input_shape")
    dy = _check_dy(dy, (N, C), f"for input_shape {tuple(input_shape)}", ndim=2)
    dx = np.empty((N, H, W, C), dy.dtype)
    dx[...] = (dy / (H * W))[:, None, None, :]
    return dx


def global_max_pool2d_forward(x):
    """(y, argmax), both (N, C); argmax is the flat index h * W + w of the first maximum.

    >>> import numpy as np
    >>> y, arg = global_max_pool2d_forward(np.array([[[[1.0], [3.0]], [[3.0], [0.0]]]]))
    >>> y, arg
    (array([[3.]]), array([[1]], dtype=int32))
    """
    x, (N, H, W, C) = _global_input(x)
    y, arg = max_pool2d_forward(x, (H, W))
    return y.reshape(N, C), arg.reshape(N, C)


def global_max_pool2d_backward(dy, argmax, input_shape):
    """dx (input_shape): each dy[n, c] lands on the cell argmax[n, c]."""
    N, H, W, C = _shape4(input_shape, "input_shape")
    dy = _check_dy(dy, (N, C), f"for input_shape {tuple(input_shape)}", ndim=2)
    argmax = _check_argmax(argmax, (N, C))
    return max_pool2d_backward(dy.reshape(N, 1, 1, C), argmax.reshape(N, 1, 1, C), input_shape)
