"""Keras-like layers (``keras.layers``): build / call / get_config, weights named as in Keras 3.

>>> import minicnn
>>> x = minicnn.Input((28, 28, 1))
>>> y = minicnn.layers.Conv2D(32, 3, activation="relu")(x)
>>> y.shape
(None, 26, 26, 32)
"""

from minicnn.layers.base import Layer, clear_session
from minicnn.layers.node import KerasTensor
from minicnn.layers.input_layer import Input, InputLayer
from minicnn.layers.core import (Activation, Dense, Dropout, ELU, Flatten, LeakyReLU, ReLU,
                                 Reshape, Softmax)
from minicnn.layers.convolutional import (BaseConv, Conv2D, Conv2DTranspose, DepthwiseConv2D,
                                          SeparableConv2D)
from minicnn.layers.pooling import (AveragePooling2D, BasePooling, GlobalAveragePooling2D,
                                    GlobalMaxPooling2D, MaxPooling2D, ZeroPadding2D)
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.merging import Add, Concatenate, Merge, Multiply

# Keras aliases.
Convolution2D = Conv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D

__all__ = [
    "Layer", "KerasTensor", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten",
    "Reshape", "ReLU", "LeakyReLU", "ELU", "Softmax", "BaseConv", "Conv2D", "Conv2DTranspose",
    "DepthwiseConv2D", "SeparableConv2D", "BasePooling", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "BatchNormalization",
    "Merge", "Add", "Multiply", "Concatenate", "Convolution2D", "MaxPool2D", "AvgPool2D",
    "GlobalAvgPool2D", "GlobalMaxPool2D", "clear_session",
]

try:  # augmentation layers (another package's file); absent until it lands
    from minicnn.layers.preprocessing import RandomCrop, RandomFlip, RandomTranslation
    __all__ += ["RandomFlip", "RandomTranslation", "RandomCrop"]
except ImportError:
    pass


def add(inputs, **kwargs):
    """Functional form of :class:`Add`."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def serialize(layer):
    """Config dict of a layer."""
    from minicnn.serialization import serialize as _s
    return _s(layer)


def deserialize(config, custom_objects=None):
    """Rebuild a layer from :func:`serialize`'s dict."""
    from minicnn.serialization import deserialize as _d
    return _d(config, custom_objects=custom_objects, module="minicnn.layers")


__all__ += ["add", "concatenate", "multiply", "serialize", "deserialize"]
