"""Convolution and pooling Functions: thin autograd wrappers over ``minicnn._kernels``.

The kernels validate shapes/dtypes and own all geometry (padding, output sizes); this module
only decides which gradients to compute and never implements a convolution itself.
"""

from minicnn._kernels import conv as K
from minicnn._kernels import elementwise as E
from minicnn._kernels import pool as P
from minicnn.autograd import Function
from minicnn.ops._util import as_tensor, contiguous

__all__ = ["conv2d", "conv2d_transpose", "depthwise_conv2d", "max_pool2d", "avg_pool2d",
           "global_avg_pool2d", "global_max_pool2d", "Conv2dFunction",
           "Conv2dTransposeFunction", "MaxPool2dFunction", "AvgPool2dFunction",
           "GlobalAvgPool2dFunction", "GlobalMaxPool2dFunction"]


class Conv2dFunction(Function):
    """y = conv(x, kernel) + bias, optionally with a fused ReLU (applied in place to the
    kernel's output: no extra node, no extra pass)."""

    @staticmethod
    def forward(ctx, x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1,
                groups=1, relu=False):
        opts = dict(strides=strides, padding=padding, dilation_rate=dilation_rate, groups=groups)
        y = K.conv2d_forward(x, kernel, bias, relu=relu, **opts)
        ctx.save_for_backward(x, kernel, y if relu else None)
        ctx.opts, ctx.has_bias = opts, bias is not None
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, y = ctx.saved_tensors
        nx, nk, nb = ctx.needs_input_grad
        gx = gk = gb = None
        if y is not None and nk and not nx:
            # A first layer: the kernel gradient masks g by the ReLU and sums the bias gradient itself
            # (one pass over g where the direct few-channel loops apply).
            gk, gb = K.conv2d_backward_kernel(x, contiguous(g), kernel.shape, bias=bool(nb), relu_output=y,
                                              **ctx.opts)
            return None, gk, gb
        if y is not None:
            # ReLU mask and bias gradient in one pass over g (the kernel gradient then skips its own).
            g, gb = E.relu_mask_bias_grad(contiguous(g), y, bias=bool(nb))
        else:
            g = contiguous(g)
        if nx:
            gx = K.conv2d_backward_input(g, kernel, x.shape, **ctx.opts)
        if nk:
            gk, gb_k = K.conv2d_backward_kernel(x, g, kernel.shape, bias=bool(nb) and gb is None, **ctx.opts)
            gb = gb if gb is not None else gb_k
        elif nb and gb is None:
            gb = g.sum(axis=(0, 1, 2))
        return gx, gk, gb if nb else None


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           activation=None):
    """2-D convolution, channels-last: x (N, H, W, C), kernel (kh, kw, C // groups, F) ->
    (N, OH, OW, F).  ``padding``: "valid", "same" or ((top, bottom), (left, right));
    ``activation="relu"`` fuses a ReLU into the kernel's output.

    >>> import numpy as np, minicnn
    >>> x = np.ones((1, 4, 4, 2), np.float32)
    >>> k = np.ones((3, 3, 2, 5), np.float32)
    >>> minicnn.ops.conv2d(x, k, padding="same").shape
    (1, 4, 4, 5)
    """
    if activation not in (None, "linear", "relu"):
        raise ValueError(f"conv2d: activation must be None, 'linear' or 'relu' (fused), got {activation!r}")
    args = (as_tensor(x, "x"), as_tensor(kernel, "kernel"),
            None if bias is None else as_tensor(bias, "bias"))
    return Conv2dFunction.apply(*args, strides=strides, padding=padding,
                                dilation_rate=dilation_rate, groups=groups,
                                relu=activation == "relu")


class Conv2dTransposeFunction(Function):
    @staticmethod
    def forward(ctx, x, kernel, bias=None, *, strides=1, padding="valid", output_padding=None,
                dilation_rate=1):
        opts = dict(strides=strides, padding=padding, output_padding=output_padding,
                    dilation_rate=dilation_rate)
        ctx.save_for_backward(x, kernel)
        ctx.opts = opts
        return K.conv2d_transpose_forward(x, kernel, bias, **opts)

    @staticmethod
    def backward(ctx, g):
        x, kernel = ctx.saved_tensors
        nx, nk, nb = ctx.needs_input_grad
        g = contiguous(g)
        gx = gk = gb = None
        if nx:
            gx = K.conv2d_transpose_backward_input(g, kernel, **ctx.opts)
        if nk:
            gk, gb = K.conv2d_transpose_backward_kernel(x, g, kernel.shape, bias=bool(nb), **ctx.opts)
        elif nb:
            gb = g.sum(axis=(0, 1, 2))
        return gx, gk, gb if nb else None


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """Transposed convolution (Keras Conv2DTranspose): x (N, H, W, Cin), kernel
    (kh, kw, filters, Cin) -> (N, OH, OW, filters), output size by Keras' rule.

    >>> import numpy as np, minicnn
    >>> x = np.ones((1, 3, 3, 2), np.float32)
    >>> minicnn.ops.conv2d_transpose(x, np.ones((3, 3, 4, 2), np.float32), strides=2).shape
    (1, 7, 7, 4)
    """
    args = (as_tensor(x, "x"), as_tensor(kernel, "kernel"),
            None if bias is None else as_tensor(bias, "bias"))
    return Conv2dTransposeFunction.apply(*args, strides=strides, padding=padding,
                                         output_padding=output_padding, dilation_rate=dilation_rate)


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Depthwise convolution: kernel (kh, kw, C, multiplier), output channel c * multiplier + m,
    computed as a grouped convolution with groups = C.

    >>> import numpy as np, minicnn
    >>> x = np.ones((1, 4, 4, 3), np.float32)
    >>> minicnn.ops.depthwise_conv2d(x, np.ones((3, 3, 3, 2), np.float32)).shape
    (1, 2, 2, 6)
    """
    x, kernel = as_tensor(x, "x"), as_tensor(kernel, "kernel")
    if kernel.ndim != 4:
        raise ValueError(f"depthwise_conv2d: kernel must be 4-D (kh, kw, C, multiplier), got shape {kernel.shape}")
    if x.ndim != 4 or x.shape[3] != kernel.shape[2]:
        raise ValueError(f"depthwise_conv2d: x must be (N, H, W, C) with C == kernel.shape[2]; got "
                         f"x.shape={x.shape}, kernel.shape={kernel.shape}")
    kh, kw, c, mult = kernel.shape
    # (kh, kw, C, mult) -> (kh, kw, 1, C * mult): group c owns filters c*mult .. c*mult+mult-1.
    grouped = kernel.reshape(kh, kw, 1, c * mult)
    return conv2d(x, grouped, bias, strides=strides, padding=padding,
                  dilation_rate=dilation_rate, groups=c)


class MaxPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x, *, pool_size=2, strides=None, padding="valid"):
        # The indices are only needed by backward: none when no gradient is recorded (inference).
        need = ctx.needs_input_grad[0]
        y, argmax = P.max_pool2d_forward(x, pool_size, strides, padding, argmax=need)
        if need:
            ctx.argmax, ctx.shape = argmax, x.shape
        return y

    @staticmethod
    def backward(ctx, g):
        return P.max_pool2d_backward(contiguous(g), ctx.argmax, ctx.shape)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over NHWC windows (``strides=None``: = pool_size).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).numpy().ravel()
    array([ 5.,  7., 13., 15.])
    """
    return MaxPool2dFunction.apply(as_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


class AvgPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x, *, pool_size=2, strides=None, padding="valid"):
        ctx.args = (x.shape, pool_size, strides, padding)
        return P.avg_pool2d_forward(x, pool_size, strides, padding)

    @staticmethod
    def backward(ctx, g):
        return P.avg_pool2d_backward(contiguous(g), *ctx.args)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling over NHWC windows; under "same" only real cells are averaged."""
    return AvgPool2dFunction.apply(as_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


class GlobalAvgPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return P.global_avg_pool2d_forward(x)

    @staticmethod
    def backward(ctx, g):
        return P.global_avg_pool2d_backward(contiguous(g), ctx.shape)


class GlobalMaxPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x):
        y, argmax = P.global_max_pool2d_forward(x)
        ctx.argmax, ctx.shape = argmax, x.shape
        return y

    @staticmethod
    def backward(ctx, g):
        return P.global_max_pool2d_backward(contiguous(g), ctx.argmax, ctx.shape)


def _keep(y, keepdims):
    return y.reshape(y.shape[0], 1, 1, y.shape[1]) if keepdims else y


def global_avg_pool2d(x, keepdims=False):
    """Mean over H and W: (N, H, W, C) -> (N, C) (or (N, 1, 1, C) with keepdims)."""
    return _keep(GlobalAvgPool2dFunction.apply(as_tensor(x)), keepdims)


def global_max_pool2d(x, keepdims=False):
    """Max over H and W: (N, H, W, C) -> (N, C) (or (N, 1, 1, C) with keepdims)."""
    return _keep(GlobalMaxPool2dFunction.apply(as_tensor(x)), keepdims)
