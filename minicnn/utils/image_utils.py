"""Keras' image file helpers: ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``.

They work on Pillow images, as Keras' do: Pillow is the optional extra ``minicnn[pillow]``,
imported on first use (a clear ImportError names the extra when it is missing).
"""

import io
import os
import pathlib
import warnings

import numpy as np

from minicnn.saving.atomic import atomic_writer

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img"]

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_COLOR_MODES = {"grayscale": ("L", "I;16", "I"), "rgb": ("RGB",), "rgba": ("RGBA",)}


def _pil_image(caller):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f'{caller} works on images with Pillow, which is not installed: '
                          'pip install "minicnn[pillow]"') from None
    return Image


def _data_format(data_format):
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """A Pillow image read from ``path`` (a path or an ``io.BytesIO``), converted to
    ``color_mode`` and resized to ``target_size`` ``(height, width)`` with ``interpolation``;
    ``keep_aspect_ratio=True`` first crops the centre to the target's aspect ratio."""
    Image = _pil_image("load_img")
    if color_mode not in _COLOR_MODES:
        raise ValueError(f'load_img: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}')
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: path must be path-like or io.BytesIO, got {type(path).__name__}")
    if img.mode not in _COLOR_MODES[color_mode]:
        img = img.convert(_COLOR_MODES[color_mode][0])
    if target_size is None:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"load_img: interpolation must be one of {', '.join(_RESAMPLING)}, "
                         f"got {interpolation!r}")
    height, width = (int(d) for d in target_size)
    if img.size == (width, height):
        return img
    resample = getattr(Image.Resampling, interpolation.upper())
    box = None
    if keep_aspect_ratio:   # the largest centred crop with the target's aspect ratio
        w, h = img.size
        crop_w, crop_h = min(w, h * width // height), min(h, w * height // width)
        left, top = (w - crop_w) // 2, (h - crop_h) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """The image as an array (height, width, channels) (channels first with
    ``data_format="channels_first"``), float32 unless ``dtype`` says otherwise."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[..., None]
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A Pillow image from a (height, width, channels) array with 1, 3 or 4 channels;
    ``scale=True`` stretches the values to [0, 255] first, as Keras does."""
    Image = _pil_image("array_to_img")
    data_format = _data_format(data_format)
    x = np.array(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected a single image of rank 3, got shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x = x / np.max(x)
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:   # 32-bit integer grayscale
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported number of channels {channels} (shape {x.shape})")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Writes the array ``x`` as an image file (atomically: a reader sees the old file or the
    new one); the format comes from ``file_format`` or the file name."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if file_format is None:
        extension = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
        file_format = _pil_image("save_img").registered_extensions().get("." + extension)
        if file_format is None:
            raise ValueError(f"save_img: cannot tell the image format from {os.fspath(path)!r}: "
                             "give file_format=")
    if img.mode == "RGBA" and str(file_format).lower() in ("jpg", "jpeg"):
        warnings.warn("save_img: JPEG has no alpha channel; the image is saved as RGB",
                      stacklevel=2)
        img = img.convert("RGB")
    with atomic_writer(path) as f:
        img.save(f, format=file_format, **kwargs)
