"""Layout helpers shared by the spatial layers (convolution, pooling, padding, cropping, resampling)
of any rank: 1-D layers run the 2-D ops on a unit row axis, so that one set of compiled kernels
serves both.

A layer using these has ``rank`` (1 or 2) and ``data_format`` attributes.  Channels-last is the
native layout: ``(batch, *spatial, channels)``.
"""


def split_shape(layer, input_shape):
    """``(spatial, channels)`` of an input shape in the layer's data_format, with a clear error."""
    rank = layer.rank
    if len(input_shape) != rank + 2:
        names = ("steps",) if rank == 1 else ("rows", "cols")
        order = ("channels",) + names if layer.data_format == "channels_first" else names + ("channels",)
        raise ValueError(f"{type(layer).__name__} expects {rank + 2}-D inputs "
                         f"(batch, {', '.join(order)}), got shape {tuple(input_shape)}")
    if layer.data_format == "channels_first":
        return tuple(input_shape[2:]), input_shape[1]
    return tuple(input_shape[1:-1]), input_shape[-1]


def join_shape(layer, batch, spatial, channels):
    """The inverse of :func:`split_shape`."""
    if layer.data_format == "channels_first":
        return (batch, channels) + tuple(spatial)
    return (batch,) + tuple(spatial) + (channels,)


def to_channels_last(x, data_format):
    if data_format != "channels_first":
        return x
    return x.transpose((0,) + tuple(range(2, x.ndim)) + (1,))


def from_channels_last(x, data_format):
    if data_format != "channels_first":
        return x
    return x.transpose((0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))


def to_2d(x):
    """Channels-last ``(N, L, C)`` -> ``(N, 1, L, C)``; a 2-D input is returned as it is."""
    return x.reshape((x.shape[0], 1) + tuple(x.shape[1:])) if x.ndim == 3 else x


def from_2d(y, rank):
    """Undo :func:`to_2d` on an op's output: ``(N, 1, L, C)`` -> ``(N, L, C)`` for rank 1."""
    return y.reshape((y.shape[0],) + tuple(y.shape[2:])) if rank == 1 else y


def pairs_2d(values, rank, unit):
    """A per-spatial-axis tuple in the 2-D ops' terms: ``(v,)`` -> ``(unit, v)`` for rank 1."""
    return (unit,) + tuple(values) if rank == 1 else tuple(values)
