"""``keras.ops.nn``: activations, convolution, pooling, normalisation and cross-entropies, plus
minicnn's functional forms of its layers (``conv2d``, ``max_pool2d``, ``dense``, ...).  All of
them are also in the flat ``minicnn.ops`` namespace."""

from minicnn.ops._activations import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid,
                                      softmax, softplus)
from minicnn.ops._arithmetic import flatten
from minicnn.ops._composite import average_pool, conv, depthwise_conv, max_pool, moments
from minicnn.ops._indexing import one_hot
from minicnn.ops._conv import (avg_pool2d, conv2d, conv2d_transpose, depthwise_conv2d,
                               global_avg_pool2d, global_max_pool2d, max_pool2d)
from minicnn.ops._layers import batch_normalization, dense, dropout, zero_padding2d
from minicnn.ops._losses import (binary_crossentropy, categorical_crossentropy,
                                 mean_absolute_error, mean_squared_error,
                                 sparse_categorical_crossentropy)
from minicnn.ops._normalization import group_normalization, layer_normalization

__all__ = [
    "relu", "leaky_relu", "elu", "gelu", "sigmoid", "softplus", "softmax", "log_softmax",
    "batch_normalization", "layer_normalization", "group_normalization",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "dense", "dropout", "flatten", "zero_padding2d", "conv2d", "conv2d_transpose",
    "depthwise_conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d",
    "mean_squared_error", "mean_absolute_error", "conv", "moments", "one_hot",
    "depthwise_conv", "max_pool", "average_pool",
]
