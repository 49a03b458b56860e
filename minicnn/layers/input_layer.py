"""``InputLayer`` and ``Input``: the entry points of a graph."""

import numpy as np

from minicnn.layers._context import standardize_dtype
from minicnn.layers.base import Layer
from minicnn.layers.node import KerasTensor, Node, standardize_shape
from minicnn.serialization import register_builtin

__all__ = ["InputLayer", "Input"]


@register_builtin("minicnn.layers")
class InputLayer(Layer):
    """The layer behind ``Input``: produces one symbolic tensor of ``batch_shape``.

    >>> import minicnn
    >>> layer = minicnn.layers.InputLayer(shape=(4,))
    >>> layer.output.shape, layer.batch_shape
    ((None, 4), (None, 4))
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        if "input_shape" in kwargs:  # Keras 2 spelling
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("ragged", None)
        super().__init__(name=name, **kwargs)
        # Index inputs (Embedding's) may be integers; every other layer computes in floats.
        integer = dtype is not None and np.dtype(getattr(dtype, "name", dtype)).kind in "biu"
        object.__setattr__(self, "_dtype", str(np.dtype(dtype)) if integer else standardize_dtype(dtype))
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported")
        if input_tensor is not None:
            raise ValueError("InputLayer: input_tensor is not supported; use shape=")
        if shape is not None and batch_shape is not None:
            raise ValueError(f"InputLayer: pass shape= or batch_shape=, not both "
                             f"(got shape={shape}, batch_shape={batch_shape})")
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: shape= (without the batch dimension) is required")
            batch_shape = (batch_size,) + standardize_shape(shape)
        self.batch_shape = standardize_shape(batch_shape)
        self.optional = bool(optional)
        self.built = True
        self._build_input_shape = self.batch_shape
        out = KerasTensor(self.batch_shape, self.dtype, name=self.name, history=(self, 0, 0))
        self._inbound_nodes.append(Node(self, [], {}, out))

    @property
    def shape(self):
        return self.batch_shape

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": False,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("batch_shape") is not None:
            config["batch_shape"] = tuple(config["batch_shape"])
        config.pop("trainable", None)
        return cls(**config)

    def get_build_config(self):
        return None


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input: ``shape`` excludes the batch dimension (shown as None).

    >>> import minicnn
    >>> x = minicnn.Input(shape=(28, 28, 1), name="image")
    >>> x.shape
    (None, 28, 28, 1)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, input_tensor=tensor, optional=optional, name=name)
    return layer.output
