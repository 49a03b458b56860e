"""Embedding: integer indices -> rows of a trainable ``(input_dim, output_dim)`` table."""

import numpy as np

from minicnn.layers import _args as A
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Embedding"]


def _positive_int(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Embedding: {name} must be a positive int, got {name}={value!r}")
    return int(value)


@register_builtin("minicnn.layers")
class Embedding(Layer):
    """Look up ``embeddings[indices]``: (batch, ...) integers -> (batch, ..., output_dim).

    The gradient of the table accumulates over repeated indices.  ``mask_zero=True`` is
    accepted and saved, but minicnn has no masks: index 0 is embedded like any other, and no
    mask reaches the next layers (minicnn has no sequence layers that would consume one).

    >>> import numpy as np
    >>> from minicnn.layers import Embedding
    >>> layer = Embedding(10, 4)
    >>> layer(np.array([[1, 2, 3], [4, 5, 6]])).shape, layer.embeddings.shape
    ((2, 3, 4), (10, 4))
    """

    _autocast = False  # indices stay integers

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, **kwargs):
        kwargs.pop("input_length", None)  # deprecated in Keras 3, ignored there too
        kwargs.pop("lora_alpha", None)
        kwargs.pop("quantization_config", None)
        super().__init__(**kwargs)
        if lora_rank is not None:
            raise ValueError("Embedding: lora_rank is not supported")
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        self.embeddings_initializer = A.get_initializer(embeddings_initializer)
        self.embeddings_regularizer = A.get_regularizer(embeddings_regularizer)
        self.embeddings_constraint = A.constraint_arg(embeddings_constraint, "embeddings_constraint")
        self.mask_zero = bool(mask_zero)
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), name="embeddings",
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def call(self, inputs):
        idx = np.asarray(inputs.data if hasattr(inputs, "data") else inputs)
        if idx.dtype.kind == "f":
            if not np.array_equal(idx, np.round(idx)):
                raise ValueError(f"Embedding: indices must be integers, got non-integral values "
                                 f"(dtype {idx.dtype})")
            idx = idx.astype(np.int64)
        elif idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            raise ValueError(f"Embedding: indices must be in [0, {self.input_dim}) (input_dim), got "
                             f"values from {idx.min()} to {idx.max()}")
        out = self.embeddings[idx]
        return out if out.dtype == np.dtype(self.dtype) else out.astype(self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": A.initializer_config(self.embeddings_initializer),
            "embeddings_regularizer": A.regularizer_config(self.embeddings_regularizer),
            "embeddings_constraint": A.regularizer_config(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        })
        return config
