"""Reshaping layers: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, Permute, RepeatVector."""

import numpy as np

from minicnn import ops
from minicnn.layers import _args as A
from minicnn.layers._spatial import (from_2d, from_channels_last, join_shape, split_shape, to_2d,
                                     to_channels_last)
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D",
           "Permute", "RepeatVector"]
_MOD = "minicnn.layers"


class _Margins(Layer):
    """Add (padding) or remove (cropping) ``(before, after)`` cells along each spatial axis."""

    rank = 2
    _arg = "padding"
    _has_data_format = True  # Keras' Cropping1D takes no data_format

    def __init__(self, amounts, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._pairs = A.pad_pairs(amounts, self.rank, f"{type(self).__name__} {self._arg}")
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def _sign(self):
        return 1 if self._arg == "padding" else -1

    def compute_output_shape(self, input_shape):
        spatial, c = split_shape(self, input_shape)
        out = tuple(None if n is None else n + self._sign() * (a + b)
                    for n, (a, b) in zip(spatial, self._pairs))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"{self._arg} {self._pairs} leaves nothing of an input of size "
                             f"{spatial}: it must be smaller than the input along each axis")
        return join_shape(self, input_shape[0], out, c)

    def call(self, inputs):
        out = self.compute_output_shape(tuple(inputs.shape))
        x = to_channels_last(inputs, self.data_format)
        if self._arg == "padding":
            pads = ((0, 0),) + self._pairs if self.rank == 1 else self._pairs
            y = from_2d(ops.zero_padding2d(to_2d(x), pads), self.rank)
        else:
            spatial, _ = split_shape(self, out)
            y = x[(slice(None),) + tuple(slice(a, a + n) for (a, _), n in zip(self._pairs, spatial))]
        return from_channels_last(y, self.data_format)

    def get_config(self):
        config = super().get_config()
        config[self._arg] = self._pairs[0] if self.rank == 1 else self._pairs
        if self._has_data_format:
            config["data_format"] = self.data_format
        return config


@register_builtin(_MOD)
class ZeroPadding2D(_Margins):
    """Pad rows and columns with zeros: ``padding`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``.

    >>> import numpy as np
    >>> from minicnn.layers import ZeroPadding2D
    >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1))).shape
    (1, 4, 7, 1)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    @property
    def padding(self):
        return self._pairs


@register_builtin(_MOD)
class ZeroPadding1D(_Margins):
    """Pad steps with zeros: ``padding`` is an int or ``(left, right)``.

    >>> import numpy as np
    >>> from minicnn.layers import ZeroPadding1D
    >>> ZeroPadding1D((1, 2))(np.ones((1, 3, 2))).numpy()[0, :, 0]
    array([0., 1., 1., 1., 0., 0.], dtype=float32)
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    @property
    def padding(self):
        return self._pairs[0]


@register_builtin(_MOD)
class Cropping2D(_Margins):
    """Remove rows and columns at the edges: ``cropping`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``.

    >>> import numpy as np
    >>> from minicnn.layers import Cropping2D
    >>> Cropping2D(((2, 1), (0, 3)))(np.ones((1, 8, 8, 3))).shape
    (1, 5, 5, 3)
    """

    _arg = "cropping"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    @property
    def cropping(self):
        return self._pairs


@register_builtin(_MOD)
class Cropping1D(_Margins):
    """Remove steps at the start and end: ``cropping`` is an int or ``(start, end)``.

    >>> import numpy as np
    >>> from minicnn.layers import Cropping1D
    >>> Cropping1D((1, 2))(np.arange(6.0).reshape(1, 6, 1)).numpy().ravel()
    array([1., 2., 3.], dtype=float32)
    """

    rank = 1
    _arg = "cropping"
    _has_data_format = False

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)

    @property
    def cropping(self):
        return self._pairs[0]


class _UpSampling(Layer):
    """Repeat rows/columns (``"nearest"``) or interpolate (the other resize methods): an
    ``ops.image.resize`` to ``size`` times the input, which for "nearest" and whole factors is
    exactly a repeat."""

    rank = 2

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.size = A.int_tuple(size, self.rank, f"{who} size")
        self.data_format = A.data_format_arg(data_format)
        interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        ops.image.check_resize_options(who, interpolation)
        self.interpolation = interpolation
        self.built = True

    def compute_output_shape(self, input_shape):
        spatial, c = split_shape(self, input_shape)
        return join_shape(self, input_shape[0],
                          tuple(None if n is None else n * s for n, s in zip(spatial, self.size)), c)

    def call(self, inputs):
        x = to_2d(to_channels_last(inputs, self.data_format))
        if self.rank == 1:
            size = (1, x.shape[2] * self.size[0])
        else:
            size = (x.shape[1] * self.size[0], x.shape[2] * self.size[1])
        y = ops.image.resize(x, size, interpolation=self.interpolation)
        return from_channels_last(from_2d(y, self.rank), self.data_format)


@register_builtin(_MOD)
class UpSampling2D(_UpSampling):
    """Scale rows and columns by ``size``: repeat them (``interpolation="nearest"``) or
    interpolate ("bilinear", ...).

    >>> import numpy as np
    >>> from minicnn.layers import UpSampling2D
    >>> UpSampling2D()(np.array([[1.0, 2.0]]).reshape(1, 1, 2, 1)).numpy()[0, :, :, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]], dtype=float32)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config


@register_builtin(_MOD)
class UpSampling1D(_UpSampling):
    """Repeat each step ``size`` times: (N, steps, C) -> (N, steps * size, C).

    >>> import numpy as np
    >>> from minicnn.layers import UpSampling1D
    >>> UpSampling1D(3)(np.array([[[1.0], [2.0]]])).numpy().ravel()
    array([1., 1., 1., 2., 2., 2.], dtype=float32)
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"UpSampling1D: size must be an int, got {type(size).__name__}")
        super().__init__(size, None, "nearest", **kwargs)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size[0]
        return config


@register_builtin(_MOD)
class Permute(Layer):
    """Reorder the non-batch axes: ``dims`` is a permutation of 1..rank-1 (1-based, as Keras).

    >>> import numpy as np
    >>> from minicnn.layers import Permute
    >>> Permute((2, 1))(np.zeros((3, 10, 64))).shape
    (3, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise TypeError(f"Permute: dims must be a tuple of ints, got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Permute: dims must be a permutation of 1..n (the batch axis 0 is "
                             f"excluded), got dims={dims}")
        self.dims = dims
        self.built = True

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute(dims={self.dims}) expects inputs of rank {len(self.dims) + 1}, "
                             f"got shape {tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


@register_builtin(_MOD)
class RepeatVector(Layer):
    """Repeat a batch of vectors ``n`` times: (N, D) -> (N, n, D).

    >>> import numpy as np
    >>> from minicnn.layers import RepeatVector
    >>> RepeatVector(3)(np.array([[1.0, 2.0]])).numpy()
    array([[[1., 2.],
            [1., 2.],
            [1., 2.]]], dtype=float32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"RepeatVector: n must be an int, got {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive int, got n={n}")
        self.n = int(n)
        self.built = True

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector expects 2-D inputs (batch, features), got shape "
                             f"{tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))
        n, d = inputs.shape
        # Broadcasting against ones: the gradient sums the n copies back (Mul's backward).
        return inputs.reshape((n, 1, d)) * np.ones((1, self.n, 1), dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
