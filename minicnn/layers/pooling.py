"""Pooling layers: ``BasePooling`` -> Max/AveragePooling1D/2D, and the global poolings.  The 1-D
layers run the 2-D ops on a unit row axis."""

from minicnn import ops
from minicnn.layers import _args as A
from minicnn.layers._spatial import (from_2d, from_channels_last, join_shape, pairs_2d, split_shape,
                                     to_2d, to_channels_last)
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["BasePooling", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D"]
_MOD = "minicnn.layers"


class BasePooling(Layer):
    """Window pooling: ``strides`` default to ``pool_size``."""

    _op = None
    rank = 2

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = A.int_tuple(pool_size, self.rank, f"{cls} pool_size")
        self.strides = self.pool_size if strides is None else A.int_tuple(strides, self.rank, f"{cls} strides")
        self.padding = A.padding_arg(padding)
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def compute_output_shape(self, input_shape):
        spatial, c = split_shape(self, input_shape)
        out = tuple(A.conv_output_length(L, p, self.padding, s)
                    for L, p, s in zip(spatial, self.pool_size, self.strides))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"the output would be empty: input size {spatial} is smaller "
                             f"than pool_size {self.pool_size} with padding='{self.padding}'")
        return join_shape(self, input_shape[0], out, c)

    def call(self, inputs):
        x = to_2d(to_channels_last(inputs, self.data_format))
        y = type(self)._op(x, pool_size=pairs_2d(self.pool_size, self.rank, 1),
                           strides=pairs_2d(self.strides, self.rank, 1), padding=self.padding)
        return from_channels_last(from_2d(y, self.rank), self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


def _max_pool(x, **kw):
    return ops.max_pool2d(x, **kw)


def _avg_pool(x, **kw):
    return ops.avg_pool2d(x, **kw)


@register_builtin(_MOD)
class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows.

    >>> import numpy as np
    >>> from minicnn.layers import MaxPooling2D
    >>> MaxPooling2D()(np.zeros((1, 26, 26, 32))).shape
    (1, 13, 13, 32)
    """

    _op = staticmethod(_max_pool)


@register_builtin(_MOD)
class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows ("same" padding averages only real cells).

    >>> import numpy as np
    >>> from minicnn.layers import AveragePooling2D
    >>> AveragePooling2D(3, strides=1, padding="same")(np.zeros((1, 5, 5, 2))).shape
    (1, 5, 5, 2)
    """

    _op = staticmethod(_avg_pool)


@register_builtin(_MOD)
class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps: (N, steps, C) -> (N, steps', C).

    >>> import numpy as np
    >>> from minicnn.layers import MaxPooling1D
    >>> MaxPooling1D()(np.arange(6.0).reshape(1, 6, 1)).numpy().ravel()
    array([1., 3., 5.], dtype=float32)
    """

    _op = staticmethod(_max_pool)
    rank = 1


@register_builtin(_MOD)
class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps ("same" padding averages only real steps).

    >>> import numpy as np
    >>> from minicnn.layers import AveragePooling1D
    >>> AveragePooling1D(3, strides=1, padding="same")(np.zeros((1, 5, 2))).shape
    (1, 5, 2)
    """

    _op = staticmethod(_avg_pool)
    rank = 1


class _GlobalPooling(Layer):
    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = A.data_format_arg(data_format)
        self.keepdims = bool(keepdims)
        self.built = True

    def compute_output_shape(self, input_shape):
        _, c = split_shape(self, input_shape)
        if self.keepdims:
            return join_shape(self, input_shape[0], (1,) * self.rank, c)
        return (input_shape[0], c)

    def call(self, inputs):
        y = self._pool(to_2d(to_channels_last(inputs, self.data_format)))
        if not self.keepdims:
            return y
        return from_channels_last(y.reshape((y.shape[0],) + (1,) * self.rank + (y.shape[1],)),
                                  self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class _GlobalAverage(_GlobalPooling):
    def _pool(self, x):
        return ops.global_avg_pool2d(x)


class _GlobalMax(_GlobalPooling):
    def _pool(self, x):
        return ops.global_max_pool2d(x)


@register_builtin(_MOD)
class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and columns: (N, H, W, C) -> (N, C).

    >>> import numpy as np
    >>> from minicnn.layers import GlobalAveragePooling2D
    >>> GlobalAveragePooling2D()(np.ones((2, 4, 4, 3))).data
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """


@register_builtin(_MOD)
class GlobalMaxPooling2D(_GlobalMax):
    """Max over rows and columns: (N, H, W, C) -> (N, C)."""


@register_builtin(_MOD)
class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over steps: (N, steps, C) -> (N, C) (or (N, 1, C) with ``keepdims``).

    >>> import numpy as np
    >>> from minicnn.layers import GlobalAveragePooling1D
    >>> GlobalAveragePooling1D(keepdims=True)(np.ones((2, 5, 3))).shape
    (2, 1, 3)
    """

    rank = 1


@register_builtin(_MOD)
class GlobalMaxPooling1D(_GlobalMax):
    """Max over steps: (N, steps, C) -> (N, C)."""

    rank = 1
