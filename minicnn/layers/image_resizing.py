"""Resizing and CenterCrop (Keras' image preprocessing layers, active in training and inference
alike), on :func:`minicnn.ops.image.resize`."""

import numbers

from minicnn.layers import _args as A
from minicnn import ops
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Resizing", "CenterCrop"]
_MOD = "minicnn.layers"


class _ImageSizeLayer(Layer):
    """Target ``height``/``width``, data_format, 3-D or 4-D images."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        for arg, v in (("height", height), ("width", width)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{type(self).__name__}: {arg} must be a positive int, got {v!r}")
        self.height, self.width = int(height), int(width)
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def _hw_axes(self, rank):
        if rank not in (3, 4):
            raise ValueError(f"{type(self).__name__} expects images of rank 3 (one image) or 4 (a batch), "
                             f"got rank {rank}")
        first = 1 if rank == 4 else 0
        return (first + 1, first + 2) if self.data_format == "channels_first" else (first, first + 1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w = self._hw_axes(len(shape))
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "data_format": self.data_format})
        return config


@register_builtin(_MOD)
class Resizing(_ImageSizeLayer):
    """Resize images to ``height x width``.

    ``interpolation``: "bilinear" (default), "nearest", "bicubic", "lanczos3", "lanczos5";
    ``crop_to_aspect_ratio`` crops the largest central window with the target's aspect ratio
    first (no distortion), ``pad_to_aspect_ratio`` pads the short side with ``fill_value``
    instead; ``antialias`` smooths downscaling.  Integer images keep their dtype (rounded), as in
    Keras.

    >>> import numpy as np
    >>> from minicnn.layers import Resizing
    >>> Resizing(64, 48)(np.zeros((2, 32, 32, 3))).shape
    (2, 64, 48, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(height, width, data_format, **kwargs)
        ops.image.check_resize_options("Resizing", interpolation, fill_mode, crop_to_aspect_ratio,
                                       pad_to_aspect_ratio)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)
        self.antialias = bool(antialias)

    def call(self, inputs):
        self._hw_axes(A.image_tensor(inputs, "Resizing").ndim)
        return ops.image.resize(inputs, (self.height, self.width), interpolation=self.interpolation,
                                antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                                fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                       "fill_value": self.fill_value, "antialias": self.antialias})
        return config


@register_builtin(_MOD)
class CenterCrop(_ImageSizeLayer):
    """Crop the central ``height x width`` window; an image smaller than that along an axis is
    instead cropped to the target's aspect ratio and resized (bilinear), as Keras does.

    >>> import numpy as np
    >>> from minicnn.layers import CenterCrop
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> CenterCrop(2, 2)(x).numpy()[0, :, :, 0]
    array([[ 5.,  6.],
           [ 9., 10.]], dtype=float32)
    """

    def call(self, inputs):
        h_axis, w_axis = self._hw_axes(A.image_tensor(inputs, "CenterCrop").ndim)
        x = inputs if inputs.dtype == self.dtype else inputs.astype(self.dtype)
        dh, dw = x.shape[h_axis] - self.height, x.shape[w_axis] - self.width
        if dh >= 0 and dw >= 0:
            index = [slice(None)] * x.ndim
            index[h_axis] = slice(dh // 2, dh // 2 + self.height)
            index[w_axis] = slice(dw // 2, dw // 2 + self.width)
            return x[tuple(index)]
        return ops.image.resize(x, (self.height, self.width), crop_to_aspect_ratio=True,
                                data_format=self.data_format)
