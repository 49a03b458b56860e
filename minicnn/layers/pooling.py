"""Pooling layers: ``BasePooling`` -> MaxPooling2D / AveragePooling2D, and the global poolings;
plus ZeroPadding2D (a spatial layer with the same data_format handling)."""

from minicnn import ops
from minicnn.layers import _args as A
from minicnn.layers.base import Layer
from minicnn.layers.convolutional import from_nhwc, make_shape, spatial_and_channels, to_nhwc
from minicnn.serialization import register_builtin

__all__ = ["BasePooling", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "ZeroPadding2D"]
_MOD = "minicnn.layers"


class BasePooling(Layer):
    """Window pooling: ``strides`` default to ``pool_size``."""

    _op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = A.int_tuple(pool_size, 2, f"{cls} pool_size")
        self.strides = self.pool_size if strides is None else A.int_tuple(strides, 2, f"{cls} strides")
        self.padding = A.padding_arg(padding)
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def compute_output_shape(self, input_shape):
        h, w, c = spatial_and_channels(self, input_shape)
        oh, ow = (A.conv_output_length(L, p, self.padding, s)
                  for L, p, s in zip((h, w), self.pool_size, self.strides))
        if (oh is not None and oh <= 0) or (ow is not None and ow <= 0):
            raise ValueError(f"the output would be empty: input rows/cols ({h}, {w}) are smaller "
                             f"than pool_size {self.pool_size} with padding='{self.padding}'")
        return make_shape(self, input_shape[0], oh, ow, c)

    def call(self, inputs):
        y = type(self)._op(to_nhwc(inputs, self.data_format), pool_size=self.pool_size,
                           strides=self.strides, padding=self.padding)
        return from_nhwc(y, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


@register_builtin(_MOD)
class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows.

    >>> import numpy as np
    >>> from minicnn.layers import MaxPooling2D
    >>> MaxPooling2D()(np.zeros((1, 26, 26, 32))).shape
    (1, 13, 13, 32)
    """

    _op = staticmethod(lambda x, **kw: ops.max_pool2d(x, **kw))


@register_builtin(_MOD)
class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows ("same" padding averages only real cells).

    >>> import numpy as np
    >>> from minicnn.layers import AveragePooling2D
    >>> AveragePooling2D(3, strides=1, padding="same")(np.zeros((1, 5, 5, 2))).shape
    (1, 5, 5, 2)
    """

    _op = staticmethod(lambda x, **kw: ops.avg_pool2d(x, **kw))


class _GlobalPooling(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = A.data_format_arg(data_format)
        self.keepdims = bool(keepdims)
        self.built = True

    def compute_output_shape(self, input_shape):
        _, _, c = spatial_and_channels(self, input_shape)
        if self.keepdims:
            return make_shape(self, input_shape[0], 1, 1, c)
        return (input_shape[0], c)

    def call(self, inputs):
        y = self._pool(to_nhwc(inputs, self.data_format), keepdims=self.keepdims)
        return from_nhwc(y, self.data_format) if self.keepdims else y

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


@register_builtin(_MOD)
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over rows and columns: (N, H, W, C) -> (N, C).

    >>> import numpy as np
    >>> from minicnn.layers import GlobalAveragePooling2D
    >>> GlobalAveragePooling2D()(np.ones((2, 4, 4, 3))).data
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    def _pool(self, x, keepdims):
        return ops.global_avg_pool2d(x, keepdims=keepdims)


@register_builtin(_MOD)
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over rows and columns: (N, H, W, C) -> (N, C)."""

    def _pool(self, x, keepdims):
        return ops.global_max_pool2d(x, keepdims=keepdims)


@register_builtin(_MOD)
class ZeroPadding2D(Layer):
    """Pad rows and columns with zeros: ``padding`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``.

    >>> import numpy as np
    >>> from minicnn.layers import ZeroPadding2D
    >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1))).shape
    (1, 4, 7, 1)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _padding_pairs(padding)
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def compute_output_shape(self, input_shape):
        h, w, c = spatial_and_channels(self, input_shape)
        (t, b), (l, r) = self.padding
        return make_shape(self, input_shape[0], None if h is None else h + t + b,
                          None if w is None else w + l + r, c)

    def call(self, inputs):
        y = ops.zero_padding2d(to_nhwc(inputs, self.data_format), self.padding)
        return from_nhwc(y, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


def _padding_pairs(padding):
    err = ("ZeroPadding2D: padding must be an int, (rows, cols) or ((top, bottom), (left, right)) "
           f"of non-negative ints, got {padding!r}")
    if isinstance(padding, int):
        pairs = ((padding, padding), (padding, padding))
    else:
        try:
            a, b = padding
            if isinstance(a, int) and isinstance(b, int):
                pairs = ((a, a), (b, b))
            else:
                pairs = (tuple(a), tuple(b))
        except (TypeError, ValueError):
            raise ValueError(err) from None
    if any(len(p) != 2 for p in pairs) or not all(isinstance(v, int) and v >= 0
                                                  for p in pairs for v in p):
        raise ValueError(err)
    return tuple(tuple(int(v) for v in p) for p in pairs)
