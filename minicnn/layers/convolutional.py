"""Convolution layers: ``BaseConv`` and the thin Conv1D / Conv2D / Conv2DTranspose /
DepthwiseConv2D / SeparableConv2D on top of it.  Kernels are stored (k..., in, out) as in Keras,
whatever the ``data_format``; "channels_first" inputs are transposed to channels-last around the
op, and 1-D convolutions run the 2-D kernels on a unit row axis."""

from minicnn import activations as _activations
from minicnn import ops
from minicnn.layers import _args as A
from minicnn.layers._spatial import (from_2d, from_channels_last, join_shape, pairs_2d, split_shape,
                                     to_2d, to_channels_last)
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["BaseConv", "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
_MOD = "minicnn.layers"


class BaseConv(Layer):
    """Shared arguments, weight creation, shape inference and config of the convolutions.

    Subclasses set ``rank``, ``kernel_shape(in_channels)``, ``output_spatial(spatial)`` and
    ``conv(x, kernel, bias, fuse_relu)`` (channels-last ``x``).
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        name, rank = type(self).__name__, self.rank
        if filters is not None and (not isinstance(filters, int) or isinstance(filters, bool)
                                    or filters <= 0):
            raise ValueError(f"{name}: filters must be a positive int, got {filters!r}")
        self.filters = filters
        self.kernel_size = A.int_tuple(kernel_size, rank, f"{name} kernel_size")
        self.strides = A.int_tuple(strides, rank, f"{name} strides")
        # Keras allows "causal" (left padding only) for the 1-D convolution alone.
        self.padding = A.padding_arg(padding, ("valid", "same", "causal") if rank == 1 else ("valid", "same"))
        self.data_format = A.data_format_arg(data_format)
        self.dilation_rate = A.int_tuple(dilation_rate, rank, f"{name} dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 cannot be combined with dilation_rate > 1 "
                             f"(got strides={self.strides}, dilation_rate={self.dilation_rate})")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        if filters is not None and filters % groups:
            raise ValueError(f"{name}: filters ({filters}) must be divisible by groups ({groups})")
        self.groups = groups
        A.set_kernel_bias_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    # -- what differs between the convolutions --------------------------------------------
    def kernel_shape(self, in_channels):
        if in_channels % self.groups:
            raise ValueError(f"the number of input channels ({in_channels}) must be divisible "
                             f"by groups ({self.groups})")
        return self.kernel_size + (in_channels // self.groups, self.filters)

    def out_channels(self):
        return self.filters

    def output_spatial(self, spatial):
        # Causal padding keeps the length like "same" (it pads dilation * (k - 1) on the left).
        padding = "same" if self.padding == "causal" else self.padding
        return tuple(A.conv_output_length(L, k, padding, s, d) for L, k, s, d in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def conv(self, x, kernel, bias, fuse_relu):
        """The plain (grouped) convolution of channels-last ``x``, any rank, through the 2-D op."""
        rank = self.rank
        padding = self.padding
        if padding == "causal":
            padding = ((0, 0), (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0))
        if rank == 1:
            kernel = kernel.reshape((1,) + tuple(kernel.shape))
        y = ops.conv2d(to_2d(x), kernel, bias, strides=pairs_2d(self.strides, rank, 1),
                       padding=padding, dilation_rate=pairs_2d(self.dilation_rate, rank, 1),
                       groups=self.groups, activation="relu" if fuse_relu else None)
        return from_2d(y, rank)

    # -- shared machinery -----------------------------------------------------------------
    def build(self, input_shape):
        _, c = split_shape(self, input_shape)
        if c is None:
            raise ValueError(f"the channel dimension of the inputs must be known, got shape {input_shape}")
        self._in_channels = c
        self.kernel = self.add_weight(shape=self.kernel_shape(c), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.out_channels(),), name="bias",
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        spatial, c = split_shape(self, input_shape)
        if self.built and c is not None and c != self._in_channels:
            raise ValueError(f"expected {self._in_channels} input channels (kernel shape "
                             f"{tuple(self.kernel.shape)}), got shape {tuple(input_shape)}")
        out = self.output_spatial(spatial)
        if any(o is not None and o <= 0 for o in out):
            span = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            kernel = (f"the kernel {self.kernel_size}" if span == tuple(self.kernel_size) else
                      f"the dilated kernel {span} ({self.kernel_size} at dilation_rate "
                      f"{self.dilation_rate})")
            raise ValueError(f"the output would be empty: input size {spatial} is smaller than "
                             f"{kernel} with padding='{self.padding}'")
        return join_shape(self, input_shape[0], out, self.out_channels())

    def convolution_op(self, inputs, kernel):
        """The convolution of ``inputs`` (in the layer's data_format) with ``kernel``, without bias
        or activation: Keras' hook for subclasses that transform the kernel first (e.g. weight
        standardisation).  When a subclass overrides it, ``call`` runs it and then adds the bias
        and applies the activation, as Keras does.
        """
        y = self.conv(to_channels_last(inputs, self.data_format), kernel, None, False)
        return from_channels_last(y, self.data_format)

    def call(self, inputs):
        if type(self).convolution_op is not BaseConv.convolution_op:
            y = self.convolution_op(inputs, self.kernel)
            if self.bias is not None:
                shape = [1] * y.ndim
                shape[1 if self.data_format == "channels_first" else -1] = self.bias.shape[0]
                y = y + self.bias.reshape(tuple(shape))
            return self.activation(y)
        x = to_channels_last(inputs, self.data_format)
        fuse = self.activation is _activations.relu
        y = self.conv(x, self.kernel, self.bias, fuse)
        if not fuse and self.activation is not _activations.linear:
            y = self.activation(y)
        return from_channels_last(y, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
        })
        config.update(A.kernel_bias_config(self))
        return config


@register_builtin(_MOD)
class Conv1D(BaseConv):
    """1-D convolution over steps: kernel (kernel_size, in_channels // groups, filters).
    ``padding="causal"`` pads ``dilation_rate * (kernel_size - 1)`` steps on the left only, so
    output step t sees inputs up to t (WaveNet-style temporal models).

    >>> import numpy as np
    >>> from minicnn.layers import Conv1D
    >>> layer = Conv1D(8, 3, padding="causal", dilation_rate=2)
    >>> layer(np.zeros((2, 10, 4))).shape, layer.kernel.shape
    ((2, 10, 8), (3, 4, 8))
    """

    rank = 1  # BaseConv's arguments and defaults are Keras' Conv1D's


@register_builtin(_MOD)
class Conv2D(BaseConv):
    """2-D convolution: kernel (kh, kw, in_channels // groups, filters).

    >>> import numpy as np
    >>> from minicnn.layers import Conv2D
    >>> layer = Conv2D(8, 3, activation="relu")
    >>> layer(np.zeros((2, 28, 28, 1))).shape, layer.kernel.shape
    ((2, 26, 26, 8), (3, 3, 1, 8))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


@register_builtin(_MOD)
class Conv2DTranspose(BaseConv):
    """Transposed 2-D convolution: kernel (kh, kw, filters, in_channels).

    >>> import numpy as np
    >>> from minicnn.layers import Conv2DTranspose
    >>> Conv2DTranspose(4, 3, strides=2)(np.zeros((1, 5, 5, 2))).shape
    (1, 11, 11, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        if output_padding is not None:
            if isinstance(output_padding, int):
                output_padding = (output_padding,) * 2
            output_padding = tuple(output_padding)
            if len(output_padding) != 2 or not all(isinstance(p, int) and p >= 0
                                                   for p in output_padding):
                raise ValueError(f"Conv2DTranspose: output_padding must be None, an int or 2 "
                                 f"non-negative ints, got {output_padding!r}")
            for p, s in zip(output_padding, self.strides):
                if p >= s:
                    raise ValueError(f"Conv2DTranspose: output_padding {output_padding} must be "
                                     f"smaller than strides {self.strides}")
        self.output_padding = output_padding

    def kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def output_spatial(self, spatial):
        op = self.output_padding or (None, None)
        return tuple(A.deconv_output_length(L, k, self.padding, p, s, d) for L, k, p, s, d in
                     zip(spatial, self.kernel_size, op, self.strides, self.dilation_rate))

    def conv(self, x, kernel, bias, fuse_relu):
        y = ops.conv2d_transpose(x, kernel, bias, strides=self.strides,
                                 padding=self.padding, output_padding=self.output_padding,
                                 dilation_rate=self.dilation_rate)
        return ops.relu(y) if fuse_relu else y

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


@register_builtin(_MOD)
class DepthwiseConv2D(BaseConv):
    """Depthwise 2-D convolution: weight ``kernel`` of shape (kh, kw, in_channels, depth_multiplier).

    >>> import numpy as np
    >>> from minicnn.layers import DepthwiseConv2D
    >>> layer = DepthwiseConv2D(3, depth_multiplier=2)
    >>> layer(np.zeros((1, 8, 8, 3))).shape, layer.kernel.shape
    ((1, 6, 6, 6), (3, 3, 3, 2))
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"DepthwiseConv2D: depth_multiplier must be a positive int, "
                             f"got {depth_multiplier!r}")
        self.depth_multiplier = depth_multiplier

    def kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.depth_multiplier)

    def out_channels(self):
        return self._in_channels * self.depth_multiplier

    def compute_output_shape(self, input_shape):
        if not self.built:
            _, self._in_channels = split_shape(self, input_shape)
        return super().compute_output_shape(input_shape)

    def conv(self, x, kernel, bias, fuse_relu):
        y = ops.depthwise_conv2d(x, kernel, bias, strides=self.strides,
                                 padding=self.padding, dilation_rate=self.dilation_rate)
        return ops.relu(y) if fuse_relu else y

    def get_config(self):
        config = super().get_config()
        for k in ("filters", "groups"):
            del config[k]
        for k in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{k}"] = config.pop(f"kernel_{k}")
        config["depth_multiplier"] = self.depth_multiplier
        return config


@register_builtin(_MOD)
class SeparableConv2D(BaseConv):
    """Depthwise then pointwise (1x1) convolution; weights ``depthwise_kernel``
    (kh, kw, in, depth_multiplier), ``pointwise_kernel`` (1, 1, in * depth_multiplier, filters),
    ``bias`` (filters,).

    >>> import numpy as np
    >>> from minicnn.layers import SeparableConv2D
    >>> layer = SeparableConv2D(4, 3, padding="same")
    >>> layer(np.zeros((1, 8, 8, 3))).shape, layer.pointwise_kernel.shape
    ((1, 8, 8, 4), (1, 1, 3, 4))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"SeparableConv2D: depth_multiplier must be a positive int, "
                             f"got {depth_multiplier!r}")
        self.depth_multiplier = depth_multiplier
        self.pointwise_initializer = A.get_initializer(pointwise_initializer)
        self.pointwise_regularizer = A.get_regularizer(pointwise_regularizer)
        self.pointwise_constraint = A.constraint_arg(pointwise_constraint, "pointwise_constraint")

    def build(self, input_shape):
        _, c = split_shape(self, input_shape)
        if c is None:
            raise ValueError(f"the channel dimension of the inputs must be known, got shape {input_shape}")
        self._in_channels = c
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (c, self.depth_multiplier), name="depthwise_kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, c * self.depth_multiplier, self.filters), name="pointwise_kernel",
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), name="bias",
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.kernel = self.depthwise_kernel  # for BaseConv's shape checks

    def conv(self, x, kernel, bias, fuse_relu):
        # ``kernel`` is the depthwise kernel (what ``convolution_op`` is handed).
        y = ops.depthwise_conv2d(x, kernel, None, strides=self.strides,
                                 padding=self.padding, dilation_rate=self.dilation_rate)
        return ops.conv2d(y, self.pointwise_kernel, bias,
                          activation="relu" if fuse_relu else None)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        for k in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{k}"] = config.pop(f"kernel_{k}")
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "pointwise_initializer": A.initializer_config(self.pointwise_initializer),
            "pointwise_regularizer": A.regularizer_config(self.pointwise_regularizer),
            "pointwise_constraint": A.regularizer_config(self.pointwise_constraint),
        })
        return config
