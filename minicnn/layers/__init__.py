"""Keras-like layers (``keras.layers``): build / call / get_config, weights named as in Keras 3.

>>> import minicnn
>>> x = minicnn.Input((28, 28, 1))
>>> y = minicnn.layers.Conv2D(32, 3, activation="relu")(x)
>>> y.shape
(None, 26, 26, 32)
"""

from minicnn.serialization import deserialize as _d, serialize as _s
from minicnn.layers.base import Layer, clear_session
from minicnn.layers.node import KerasTensor
from minicnn.layers.input_layer import Input, InputLayer
from minicnn.layers.core import (Activation, Dense, Dropout, ELU, Flatten, Identity, LeakyReLU,
                                 ReLU, Reshape, Softmax)
from minicnn.layers.convolutional import (BaseConv, Conv1D, Conv2D, Conv2DTranspose,
                                          DepthwiseConv2D, SeparableConv2D)
from minicnn.layers.pooling import (AveragePooling1D, AveragePooling2D, BasePooling,
                                    GlobalAveragePooling1D, GlobalAveragePooling2D,
                                    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
                                    MaxPooling2D)
from minicnn.layers.reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector,
                                      UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D)
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.layer_normalization import GroupNormalization, LayerNormalization
from minicnn.layers.image_resizing import CenterCrop, Resizing
from minicnn.layers.merging import (Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply,
                                    Subtract)
from minicnn.layers.dot import Dot
from minicnn.layers.embedding import Embedding
from minicnn.layers.lambda_layer import Lambda
from minicnn.layers.rescaling import Rescaling
from minicnn.layers.normalization_preprocessing import Normalization
from minicnn.layers.regularization import (GaussianDropout, GaussianNoise, SpatialDropout1D,
                                           SpatialDropout2D, SpatialDropout3D)

# Keras aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D

__all__ = [
    "Layer", "KerasTensor", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten",
    "Reshape", "ReLU", "LeakyReLU", "ELU", "Softmax", "BaseConv", "Conv2D", "Conv2DTranspose",
    "DepthwiseConv2D", "SeparableConv2D", "BasePooling", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "BatchNormalization",
    "Merge", "Add", "Multiply", "Concatenate", "Convolution2D", "MaxPool2D", "AvgPool2D",
    "GlobalAvgPool2D", "GlobalMaxPool2D", "clear_session",
    "Conv1D", "Convolution1D", "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D",
    "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
    "ZeroPadding1D", "Cropping1D", "Cropping2D", "Permute", "RepeatVector", "Subtract", "Average",
    "Maximum", "Minimum", "Dot", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "Identity", "Embedding", "Rescaling", "Normalization",
    "UpSampling1D", "UpSampling2D", "LayerNormalization", "GroupNormalization", "Resizing",
    "CenterCrop", "Lambda",
]

from minicnn.layers.preprocessing import RandomCrop, RandomFlip, RandomTranslation
from minicnn.layers.random_geometric import RandomRotation, RandomZoom
from minicnn.layers.random_color import RandomBrightness, RandomContrast

__all__ += ["RandomFlip", "RandomTranslation", "RandomCrop", "RandomRotation", "RandomZoom",
            "RandomContrast", "RandomBrightness"]


def add(inputs, **kwargs):
    """Functional form of :class:`Add`."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of :class:`Subtract`."""
    return Subtract(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of :class:`Dot` (``axes`` defaults to -1 here, as in Keras)."""
    return Dot(axes=axes, **kwargs)(inputs)


def serialize(layer):
    """Config dict of a layer."""
    return _s(layer)


def deserialize(config, custom_objects=None):
    """Rebuild a layer from :func:`serialize`'s dict."""
    return _d(config, custom_objects=custom_objects, module="minicnn.layers")


__all__ += ["add", "concatenate", "multiply", "subtract", "average", "maximum", "minimum", "dot",
            "serialize", "deserialize"]
