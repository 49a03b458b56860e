"""``keras.ops.nn``: activations, convolution, pooling, normalisation and cross-entropies, plus
minicnn's functional forms of its layers (``conv2d``, ``max_pool2d``, ``dense``,
``fused_batch_normalization``, ...).  All of them are also in the flat ``minicnn.ops``
namespace."""

from minicnn.ops._activations import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid,
                                      softmax, softplus)
from minicnn.ops._arithmetic import flatten
from minicnn.ops._conv import (avg_pool2d, conv2d, conv2d_transpose, depthwise_conv2d,
                               global_avg_pool2d, global_max_pool2d, max_pool2d)
from minicnn.ops._keras_nn import (average_pool, batch_normalization, celu, conv, conv_transpose,
                                   depthwise_conv, glu, hard_sigmoid, hard_silu, hard_swish,
                                   hard_tanh, log_sigmoid, max_pool, moments, multi_hot,
                                   normalize, one_hot, relu6, selu, separable_conv, silu,
                                   softsign, swish)
from minicnn.ops._layers import dense, dropout, fused_batch_normalization, zero_padding2d
from minicnn.ops._losses import (binary_crossentropy, categorical_crossentropy,
                                 mean_absolute_error, mean_squared_error,
                                 sparse_categorical_crossentropy)
from minicnn.ops._normalization import group_normalization, layer_normalization

__all__ = [
    # Keras' names
    "average_pool", "batch_normalization", "binary_crossentropy", "categorical_crossentropy",
    "celu", "conv", "conv_transpose", "depthwise_conv", "elu", "gelu", "glu", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid",
    "log_softmax", "max_pool", "moments", "multi_hot", "normalize", "one_hot", "relu", "relu6",
    "selu", "separable_conv", "sigmoid", "silu", "softmax", "softplus", "softsign",
    "sparse_categorical_crossentropy", "swish",
    # minicnn's layer maths
    "avg_pool2d", "conv2d", "conv2d_transpose", "dense", "depthwise_conv2d", "dropout",
    "flatten", "fused_batch_normalization", "global_avg_pool2d", "global_max_pool2d",
    "group_normalization", "max_pool2d", "mean_absolute_error", "mean_squared_error",
    "zero_padding2d",
]
