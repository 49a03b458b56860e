"""Plain-NumPy reference kernels: the oracle for the compiled ones, and their documentation.

Every function here has the same signature and result as its namesake in
``minicnn._kernels.conv`` / ``minicnn._kernels.pool``, but is written as the obvious loops over
output positions and kernel taps (vectorised over channels only), so that it can be read against
the definition.  They are slow: use them on small shapes.

Layout is channels-last: ``x`` is (N, H, W, C); a conv kernel is (kh, kw, C // groups, F); a
transposed-conv kernel is (kh, kw, filters, C_in), as in Keras.

Padding rules (Keras / TensorFlow):

* ``"valid"``: no padding; ``OH = (H - dk) // s + 1`` with ``dk = (k - 1) * d + 1``.
* ``"same"``: ``OH = ceil(H / s)``; total padding ``max((OH - 1) * s + dk - H, 0)``, the odd row
  goes to the bottom (``top = total // 2``).
* explicit ``((top, bottom), (left, right))``.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> k = np.ones((2, 2, 1, 1))
>>> conv2d_forward(x, k)[0, :, :, 0]
array([[10., 14., 18.],
       [26., 30., 34.],
       [42., 46., 50.]])
"""

import math

import numpy as np

__all__ = [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel",
    "conv2d_transpose_forward", "conv2d_transpose_backward_input", "conv2d_transpose_backward_kernel",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "global_avg_pool2d_forward", "global_avg_pool2d_backward",
    "global_max_pool2d_forward", "global_max_pool2d_backward",
    "same_padding", "deconv_output_length",
]


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def same_padding(size, k, s, d=1):
    """(before, after) padding of one axis under ``"same"``: the extra cell goes after."""
    dk = (k - 1) * d + 1
    total = max((math.ceil(size / s) - 1) * s + dk - size, 0)
    return total // 2, total - total // 2


def _pads(H, W, kh, kw, strides, padding, dilation):
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return same_padding(H, kh, strides[0], dilation[0]), same_padding(W, kw, strides[1], dilation[1])
    return tuple(padding[0]), tuple(padding[1])


def conv2d_forward(x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1, groups=1):
    """y[n, i, j, f] = bias[f] + sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * kernel[a, b, c, f],
    where g = f // (F // groups) is the group of filter f and Cg = C // groups."""
    sh, sw = _pair(strides)
    dh, dw = _pair(dilation_rate)
    N, H, W, C = x.shape
    kh, kw, Cg, F = kernel.shape
    (pt, pb), (pl, pr) = _pads(H, W, kh, kw, (sh, sw), padding, (dh, dw))
    xp = np.zeros((N, H + pt + pb, W + pl + pr, C), dtype=x.dtype)
    xp[:, pt:pt + H, pl:pl + W] = x
    OH = (H + pt + pb - (kh - 1) * dh - 1) // sh + 1
    OW = (W + pl + pr - (kw - 1) * dw - 1) // sw + 1
    Fg = F // groups
    y = np.zeros((N, OH, OW, F), dtype=x.dtype)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for f in range(F):
                    g = f // Fg
                    acc = 0.0
                    for a in range(kh):
                        for b in range(kw):
                            cells = xp[n, i * sh + a * dh, j * sw + b * dw, g * Cg:(g + 1) * Cg]
                            acc += np.dot(cells, kernel[a, b, :, f])
                    y[n, i, j, f] = acc + (bias[f] if bias is not None else 0)
    return y


def conv2d_backward_input(dy, kernel, input_shape, *, strides=1, padding="valid", dilation_rate=1, groups=1):
    """dx = d(sum(y * dy)) / dx: every output cell sends dy * kernel back to the inputs it read."""
    sh, sw = _pair(strides)
    dh, dw = _pair(dilation_rate)
    N, H, W, C = input_shape
    kh, kw, Cg, F = kernel.shape
    (pt, pb), (pl, pr) = _pads(H, W, kh, kw, (sh, sw), padding, (dh, dw))
    _, OH, OW, _ = dy.shape
    Fg = F // groups
    dxp = np.zeros((N, H + pt + pb, W + pl + pr, C), dtype=dy.dtype)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for f in range(F):
                    g = f // Fg
                    for a in range(kh):
                        for b in range(kw):
                            dxp[n, i * sh + a * dh, j * sw + b * dw, g * Cg:(g + 1) * Cg] += dy[n, i, j, f] * kernel[a, b, :, f]
    return np.ascontiguousarray(dxp[:, pt:pt + H, pl:pl + W])


def conv2d_backward_kernel(x, dy, kernel_shape, *, strides=1, padding="valid", dilation_rate=1, groups=1, bias=True):
    """(dkernel, dbias): dkernel[a, b, c, f] = sum over outputs of dy[n, i, j, f] * the input cell that tap read."""
    sh, sw = _pair(strides)
    dh, dw = _pair(dilation_rate)
    N, H, W, C = x.shape
    kh, kw, Cg, F = kernel_shape
    (pt, pb), (pl, pr) = _pads(H, W, kh, kw, (sh, sw), padding, (dh, dw))
    xp = np.zeros((N, H + pt + pb, W + pl + pr, C), dtype=x.dtype)
    xp[:, pt:pt + H, pl:pl + W] = x
    _, OH, OW, _ = dy.shape
    Fg = F // groups
    dk = np.zeros(kernel_shape, dtype=x.dtype)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for f in range(F):
                    g = f // Fg
                    for a in range(kh):
                        for b in range(kw):
                            dk[a, b, :, f] += dy[n, i, j, f] * xp[n, i * sh + a * dh, j * sw + b * dw, g * Cg:(g + 1) * Cg]
    db = dy.sum(axis=(0, 1, 2)) if bias else None
    return dk, db


def deconv_output_length(length, k, padding, output_padding, stride, dilation=1):
    """Keras' rule for the output length of a transposed convolution along one axis."""
    dk = (k - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(dk - stride, 0)
        return length * stride
    pad = dk // 2 if padding == "same" else 0
    return (length - 1) * stride + dk - 2 * pad + output_padding


def _transpose_offset(k, padding, output_padding, stride, dilation):
    """How many leading rows of the full (uncropped) transposed output are cut off.

    The full output of input cell i and tap a lands at row i*s + a*d; Keras keeps rows
    [offset, offset + out_length).  This is Keras' padding for its dilated-input formulation
    (left_pad), turned into a crop: offset = dk - 1 - left_pad.
    """
    dk = (k - 1) * dilation + 1
    if padding == "valid":
        return 0
    if output_padding is None:
        pad_len = stride + dk - 2
    else:
        pad_len = dk + dk % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, dk - 1)
    return dk - 1 - left


def _transpose_geometry(H, W, kernel_shape, strides, padding, output_padding, dilation):
    kh, kw = kernel_shape[:2]
    sh, sw = _pair(strides)
    dh, dw = _pair(dilation)
    oph, opw = (None, None) if output_padding is None else _pair(output_padding)
    OH = deconv_output_length(H, kh, padding, oph, sh, dh)
    OW = deconv_output_length(W, kw, padding, opw, sw, dw)
    return (OH, OW, _transpose_offset(kh, padding, oph, sh, dh), _transpose_offset(kw, padding, opw, sw, dw),
            sh, sw, dh, dw)


def conv2d_transpose_forward(x, kernel, bias=None, *, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Keras Conv2DTranspose: each input cell x[n, i, j, :] scatters x . kernel[a, b, f, :] to
    output row i*sh + a*dh - top, column j*sw + b*dw - left (cells outside the output are dropped)."""
    N, H, W, Cin = x.shape
    kh, kw, F, _ = kernel.shape
    OH, OW, top, left, sh, sw, dh, dw = _transpose_geometry(H, W, kernel.shape, strides, padding,
                                                           output_padding, dilation_rate)
    y = np.zeros((N, OH, OW, F), dtype=x.dtype)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for a in range(kh):
                    for b in range(kw):
                        r, c = i * sh + a * dh - top, j * sw + b * dw - left
                        if 0 <= r < OH and 0 <= c < OW:
                            y[n, r, c] += kernel[a, b] @ x[n, i, j]
    if bias is not None:
        y += bias
    return y


def conv2d_transpose_backward_input(dy, kernel, *, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                                    input_shape=None):
    """dx[n, i, j, :] = sum over taps of kernel[a, b]^T . dy[n, the output cell (i, j) wrote to].

    The input height/width follow from dy only up to the output_padding ambiguity, so they are
    solved from Keras' rule (smallest H with deconv_output_length(H) == OH) unless given.
    """
    N, OH, OW, F = dy.shape
    kh, kw, _, Cin = kernel.shape
    if input_shape is None:
        H = next(h for h in range(1, OH + 2) if _transpose_geometry(h, 1, kernel.shape, strides, padding,
                                                                     output_padding, dilation_rate)[0] == OH)
        W = next(w for w in range(1, OW + 2) if _transpose_geometry(1, w, kernel.shape, strides, padding,
                                                                     output_padding, dilation_rate)[1] == OW)
    else:
        H, W = input_shape[1], input_shape[2]
    _, _, top, left, sh, sw, dh, dw = _transpose_geometry(H, W, kernel.shape, strides, padding,
                                                         output_padding, dilation_rate)
    dx = np.zeros((N, H, W, Cin), dtype=dy.dtype)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for a in range(kh):
                    for b in range(kw):
                        r, c = i * sh + a * dh - top, j * sw + b * dw - left
                        if 0 <= r < OH and 0 <= c < OW:
                            dx[n, i, j] += dy[n, r, c] @ kernel[a, b]
    return dx


def conv2d_transpose_backward_kernel(x, dy, kernel_shape, *, strides=1, padding="valid", output_padding=None,
                                     dilation_rate=1, bias=True):
    """(dkernel, dbias) of the transposed convolution: dkernel[a, b] += outer(dy[cell written], x[cell])."""
    N, H, W, Cin = x.shape
    kh, kw = kernel_shape[:2]
    _, OH, OW, _ = dy.shape
    _, _, top, left, sh, sw, dh, dw = _transpose_geometry(H, W, kernel_shape, strides, padding,
                                                         output_padding, dilation_rate)
    dk = np.zeros(kernel_shape, dtype=x.dtype)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for a in range(kh):
                    for b in range(kw):
                        r, c = i * sh + a * dh - top, j * sw + b * dw - left
                        if 0 <= r < OH and 0 <= c < OW:
                            dk[a, b] += np.outer(dy[n, r, c], x[n, i, j])
    return dk, (dy.sum(axis=(0, 1, 2)) if bias else None)


# ---------------------------------------------------------------- pooling

def _pool_geometry(H, W, pool_size, strides, padding):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides if strides is not None else pool_size)
    if padding == "valid":
        return ph, pw, sh, sw, 0, 0, (H - ph) // sh + 1, (W - pw) // sw + 1
    top, left = same_padding(H, ph, sh)[0], same_padding(W, pw, sw)[0]
    return ph, pw, sh, sw, top, left, math.ceil(H / sh), math.ceil(W / sw)


def _window(i, j, ph, pw, sh, sw, top, left, H, W):
    """The real (unpadded) input cells of output cell (i, j), in row-major order."""
    return [(r, c) for r in range(i * sh - top, i * sh - top + ph) for c in range(j * sw - left, j * sw - left + pw)
            if 0 <= r < H and 0 <= c < W]


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """(y, argmax): y = max over the window's real cells; argmax = r*W + c of the first maximum."""
    N, H, W, C = x.shape
    ph, pw, sh, sw, top, left, OH, OW = _pool_geometry(H, W, pool_size, strides, padding)
    y = np.zeros((N, OH, OW, C), dtype=x.dtype)
    arg = np.zeros((N, OH, OW, C), dtype=np.int64)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for ch in range(C):
                    best, where = -np.inf, -1
                    for r, c in _window(i, j, ph, pw, sh, sw, top, left, H, W):
                        if x[n, r, c, ch] > best or where < 0:
                            best, where = x[n, r, c, ch], r * W + c
                    y[n, i, j, ch], arg[n, i, j, ch] = best, where
    return y, arg


def max_pool2d_backward(dy, argmax, input_shape):
    """dx: each dy cell is added to the input cell its argmax names."""
    N, H, W, C = input_shape
    dx = np.zeros(input_shape, dtype=dy.dtype)
    for n in range(N):
        for i in range(dy.shape[1]):
            for j in range(dy.shape[2]):
                for ch in range(C):
                    r, c = divmod(int(argmax[n, i, j, ch]), W)
                    dx[n, r, c, ch] += dy[n, i, j, ch]
    return dx


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = mean over the window's real cells (padding is not counted, as in Keras)."""
    N, H, W, C = x.shape
    ph, pw, sh, sw, top, left, OH, OW = _pool_geometry(H, W, pool_size, strides, padding)
    y = np.zeros((N, OH, OW, C), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            cells = _window(i, j, ph, pw, sh, sw, top, left, H, W)
            y[:, i, j, :] = sum(x[:, r, c, :] for r, c in cells) / len(cells)
    return y


def avg_pool2d_backward(dy, input_shape, pool_size=2, strides=None, padding="valid"):
    """dx: each dy cell is shared equally by the window's real cells."""
    N, H, W, C = input_shape
    ph, pw, sh, sw, top, left, OH, OW = _pool_geometry(H, W, pool_size, strides, padding)
    dx = np.zeros(input_shape, dtype=dy.dtype)
    for i in range(OH):
        for j in range(OW):
            cells = _window(i, j, ph, pw, sh, sw, top, left, H, W)
            for r, c in cells:
                dx[:, r, c, :] += dy[:, i, j, :] / len(cells)
    return dx


def global_avg_pool2d_forward(x):
    """(N, C): the mean over all H*W cells."""
    return x.sum(axis=(1, 2)) / (x.shape[1] * x.shape[2])


def global_avg_pool2d_backward(dy, input_shape):
    N, H, W, C = input_shape
    return np.broadcast_to((dy / (H * W))[:, None, None, :], input_shape).copy()


def global_max_pool2d_forward(x):
    """(y, argmax), both (N, C); argmax = r*W + c of the first maximum."""
    N, H, W, C = x.shape
    flat = x.reshape(N, H * W, C)
    arg = flat.argmax(axis=1)  # numpy returns the first maximum
    return np.take_along_axis(flat, arg[:, None, :], axis=1)[:, 0, :], arg.astype(np.int64)


def global_max_pool2d_backward(dy, argmax, input_shape):
    N, H, W, C = input_shape
    dx = np.zeros((N, H * W, C), dtype=dy.dtype)
    for n in range(N):
        for ch in range(C):
            dx[n, argmax[n, ch], ch] += dy[n, ch]
    return dx.reshape(input_shape)
