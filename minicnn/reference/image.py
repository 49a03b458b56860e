"""Plain-NumPy reference of image resizing (Keras' ``ops.image.resize``, its NumPy backend's
formulas): the oracle of :func:`minicnn.ops.resize`, one output sample at a time.

Resizing is separable.  Along each axis whose size changes, output sample ``i`` sits at input
position ``(i + 0.5) * in / out - 0.5`` (half-pixel centres) and is the kernel-weighted mean of
the input samples, the weights normalised to sum to 1; a position outside ``[-0.5, in - 0.5]``
gives 0.  With ``antialias`` a downscale widens the kernel by ``in / out``.  "nearest" copies
input ``floor((i + 0.5) * in / out)``.  The kernels (functions of the distance) are shared
with the op.
"""

import numpy as np

__all__ = ["resize", "KERNELS"]

METHODS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x):
    """Keys' cubic convolution kernel with a = -0.5."""
    x = np.abs(x)
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius):
    def kernel(x):
        x = np.abs(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi ** 2 * x ** 2)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))
    return kernel


KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos3": _lanczos(3.0),
           "lanczos5": _lanczos(5.0)}


def _resize_axis(x, axis, new_size, method, antialias):
    """One axis, one output sample at a time: the textbook sum."""
    x = np.moveaxis(x, axis, 0)
    old = x.shape[0]
    out = np.zeros((new_size,) + x.shape[1:])
    for i in range(new_size):
        if method == "nearest":
            out[i] = x[int(np.floor(np.float32(i + 0.5) * np.float32(old) / np.float32(new_size)))]
            continue
        step = 1.0 / (new_size / old)  # input pixels per output pixel
        centre = (i + 0.5) * step - 0.5
        if not -0.5 <= centre <= old - 0.5:
            continue  # outside the image: zero, as Keras
        width = max(step, 1.0) if antialias else 1.0
        weights = [KERNELS[method](abs(centre - j) / width) for j in range(old)]
        total = sum(weights)
        if abs(total) > 1000.0 * np.finfo(np.float32).eps:
            out[i] = sum(wj * x[j] for j, wj in enumerate(weights)) / total
    return np.moveaxis(out, 0, axis)


def resize(images, size, interpolation="bilinear", antialias=False):
    """Resize NHWC ``images`` to ``size = (height, width)``, in float64."""
    out = np.asarray(images, dtype=np.float64)
    for axis, new in zip((1, 2), size):
        if out.shape[axis] != new:
            out = _resize_axis(out, axis, new, interpolation, antialias)
    return out
