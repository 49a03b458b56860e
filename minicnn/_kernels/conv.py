"""2-D convolution kernels, channels-last: validation and allocation here, the loops in ``_conv``.

Layout (as in Keras): ``x`` (N, H, W, C); conv kernel (kh, kw, C // groups, F); output
(N, OH, OW, F).  A transposed-conv kernel is (kh, kw, filters, C_in).  float32 or float64, and
all arrays of one call share the dtype.

``strides`` and ``dilation_rate`` take an int or a 2-tuple.  ``padding`` is ``"valid"``,
``"same"`` (Keras/TF: ``OH = ceil(H / s)``, total pad ``max((OH - 1) * s + (k - 1) * d + 1 - H, 0)``,
the odd cell at the bottom/right) or explicit ``((top, bottom), (left, right))``.

Every geometry question (padding amounts, output sizes, the transposed conv's crop offset and
``output_padding`` rule) is answered by the ``_geometry`` helpers below, in one place; the
transposed conv is the conv's input gradient and reuses the same three compiled kernels.

>>> import numpy as np
>>> x = np.ones((1, 5, 5, 2), np.float32)
>>> k = np.ones((3, 3, 2, 4), np.float32)
>>> conv2d_forward(x, k, padding="same").shape
(1, 5, 5, 4)
>>> float(conv2d_forward(x, k)[0, 0, 0, 0])
18.0
"""

import operator

import numpy as np

from minicnn._kernels import _conv
from minicnn._kernels._args import DTypeError, array as _array, pair as _pair, padding_arg as _padding_arg
from minicnn._kernels._args import same_pad as _same_pad, same_shape as _same_shape, shape4 as _shape4
from minicnn._kernels.elementwise import bias_grad as _bias_grad

__all__ = [
    "conv2d_output_shape", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel",
    "conv2d_transpose_output_shape", "conv2d_transpose_forward", "conv2d_transpose_backward_input",
    "conv2d_transpose_backward_kernel", "plan", "Algorithm", "DTypeError",
]

Algorithm = _conv.Algorithm


# ------------------------------------------------------------------ geometry (one place)

def _geometry(input_shape, kernel_shape, strides, padding, dilation_rate, groups, *, x_name="x", k_name="kernel"):
    """Validate a conv's options; return (N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups)."""
    N, H, W, C = _shape4(input_shape, f"{x_name} shape")
    kh, kw, Cg, F = _shape4(kernel_shape, f"{k_name} shape")
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation_rate, "dilation_rate")
    try:
        groups = operator.index(groups)
    except TypeError:
        raise TypeError(f"groups must be an int, got {groups!r}") from None
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if min(kh, kw, Cg, F) < 1:
        raise ValueError(f"{k_name} shape {kernel_shape} must have positive sizes")
    if C % groups or F % groups:
        raise ValueError(f"groups={groups} must divide the input channels ({x_name} shape {tuple(input_shape)}) "
                         f"and the filters ({k_name} shape {tuple(kernel_shape)})")
    if C // groups != Cg:
        raise ValueError(f"channel mismatch: {x_name} shape {tuple(input_shape)} has {C} channels, "
                         f"{k_name} shape {tuple(kernel_shape)} expects {Cg} * groups={groups} = {Cg * groups}")
    pad = _padding_arg(padding)
    dkh, dkw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if pad == "valid":
        (pt, pb), (pl, pr) = (0, 0), (0, 0)
    elif pad == "same":
        (pt, pb), (pl, pr) = _same_pad(H, dkh, sh), _same_pad(W, dkw, sw)
    else:
        (pt, pb), (pl, pr) = pad
    if H + pt + pb < dkh or W + pl + pr < dkw:
        raise ValueError(f"kernel larger than the padded input: {x_name} shape {tuple(input_shape)} padded to "
                         f"{H + pt + pb}x{W + pl + pr}, {k_name} shape {tuple(kernel_shape)} with dilation "
                         f"({dh}, {dw}) spans {dkh}x{dkw}")
    OH = (H + pt + pb - dkh) // sh + 1
    OW = (W + pl + pr - dkw) // sw + 1
    return N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups


def conv2d_output_shape(input_shape, kernel_shape, strides=1, padding="valid", dilation_rate=1, groups=1):
    """(N, OH, OW, F) of a convolution.

    >>> conv2d_output_shape((8, 28, 28, 1), (3, 3, 1, 32))
    (8, 26, 26, 32)
    >>> conv2d_output_shape((8, 28, 28, 1), (3, 3, 1, 32), strides=2, padding="same")
    (8, 14, 14, 32)
    """
    g = _geometry(input_shape, kernel_shape, strides, padding, dilation_rate, groups)
    return (g[0], g[13], g[14], g[6])


def plan(direction, input_shape, kernel_shape, *, strides=1, padding="valid", dilation_rate=1, groups=1,
         dtype=np.float32, algorithm=None):
    """The plan a conv call runs (``_conv.ConvPlan``: its ``Algorithm``, block sizes, ...), decided
    from the sizes alone; ``direction`` is "forward", "backward_input" or "backward_kernel".
    ``algorithm`` asks for the plan of a forced algorithm (ValueError where it cannot run).

    >>> plan("forward", (64, 28, 28, 1), (5, 5, 1, 6)).algorithm.name
    'DIRECT'
    >>> plan("backward_input", (8, 16, 16, 64), (3, 3, 64, 64), padding="same").algorithm.name
    'FLIPPED'
    """
    N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups = _geometry(
        input_shape, kernel_shape, strides, padding, dilation_rate, groups)
    return _conv.plan(direction, (N, H, W, C), (kh, kw, C // groups, F), (N, OH, OW, F), (sh, sw), (dh, dw),
                      (pt, pl), groups, dtype, algorithm)


def _deconv_length(length, dk, padding, output_padding, stride):
    if output_padding is None:
        return length * stride + max(dk - stride, 0) if padding == "valid" else length * stride
    pad = dk // 2 if padding == "same" else 0
    return (length - 1) * stride + dk - 2 * pad + output_padding


def _deconv_offset(dk, padding, output_padding, stride):
    """Rows of the full scatter output (row i*s + a*d for input i, tap a) cropped at the top.

    Keras computes the transposed conv as a conv over the stride-dilated input padded with
    ``left_pad`` (common/backend_utils.py); its crop offset is ``dk - 1 - left_pad``.
    """
    if padding == "valid":
        return 0
    pad_len = stride + dk - 2 if output_padding is None else dk + dk % 2 - 2 + output_padding
    return dk - 1 - min(pad_len // 2 + pad_len % 2, dk - 1)


def _transpose_geometry(input_shape, kernel_shape, strides, padding, output_padding, dilation_rate,
                        *, x_name="x", k_name="kernel"):
    """Validate a transposed conv's options; return (N, H, W, Cin, kh, kw, F, sh, sw, dh, dw, top, left, OH, OW).

    (top, left) is where the output window starts in the full scatter output, i.e. the padding
    of the equivalent forward conv that maps (N, OH, OW, F) to (N, H, W, Cin).
    """
    N, H, W, Cin = _shape4(input_shape, f"{x_name} shape")
    kh, kw, F, Ck = _shape4(kernel_shape, f"{k_name} shape")
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation_rate, "dilation_rate")
    if min(kh, kw, F, Ck) < 1:
        raise ValueError(f"{k_name} shape {tuple(kernel_shape)} must have positive sizes")
    if Ck != Cin:
        raise ValueError(f"channel mismatch: {x_name} shape {tuple(input_shape)} has {Cin} channels, "
                         f"{k_name} shape {tuple(kernel_shape)} (kh, kw, filters, in_channels) expects {Ck}")
    pad = _padding_arg(padding)
    if not isinstance(pad, str):
        raise ValueError(f"padding of a transposed conv must be 'valid' or 'same', got {padding!r}")
    if output_padding is None:
        oph = opw = None
    else:
        oph, opw = _pair(output_padding, "output_padding", minimum=0)
        if oph >= max(sh, dh) or opw >= max(sw, dw):
            raise ValueError(f"output_padding {output_padding!r} must be smaller than the stride {(sh, sw)} "
                             f"or the dilation {(dh, dw)}")
    dkh, dkw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    OH, OW = _deconv_length(H, dkh, pad, oph, sh), _deconv_length(W, dkw, pad, opw, sw)
    if OH < 1 or OW < 1:
        raise ValueError(f"transposed conv output would be empty ({OH}x{OW}) for {x_name} shape "
                         f"{tuple(input_shape)}, {k_name} shape {tuple(kernel_shape)}, padding {padding!r}, "
                         f"output_padding {output_padding!r}")
    top, left = _deconv_offset(dkh, pad, oph, sh), _deconv_offset(dkw, pad, opw, sw)
    return N, H, W, Cin, kh, kw, F, sh, sw, dh, dw, top, left, OH, OW


def conv2d_transpose_output_shape(input_shape, kernel_shape, strides=1, padding="valid", output_padding=None,
                                  dilation_rate=1):
    """(N, OH, OW, filters) of Keras' Conv2DTranspose (its ``deconv_output_length`` rule).

    >>> conv2d_transpose_output_shape((2, 7, 7, 16), (3, 3, 8, 16), strides=2)
    (2, 15, 15, 8)
    >>> conv2d_transpose_output_shape((2, 7, 7, 16), (3, 3, 8, 16), strides=2, padding="same")
    (2, 14, 14, 8)
    """
    g = _transpose_geometry(input_shape, kernel_shape, strides, padding, output_padding, dilation_rate)
    return (g[0], g[13], g[14], g[6])


# ------------------------------------------------------------------ the three conv kernels

def _bias(bias, F, dtype):
    if bias is None:
        return None
    b = _array(bias, "bias", dtype, ndim=1)
    return _same_shape(b, (F,), "bias")


def conv2d_forward(x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1, groups=1, relu=False,
                   batch_norm=None, algorithm=None, isa=None):
    """Convolution (cross-correlation, as in Keras): y (N, OH, OW, F); ``relu=True`` returns
    max(y, 0), applied in the kernel's epilogue.  ``algorithm`` (an ``Algorithm``) forces one
    instead of the plan's choice (see ``plan``); ``isa`` runs another instruction set's kernels
    (``minicnn._kernels._dispatch.available()``), as the backward functions' do.

    ``batch_norm=(mean, scale, shift)`` (each (F,), x's dtype; see
    ``norm.batch_norm_coefficients``) applies batch normalisation's inference step in the same
    epilogue: y = (conv + bias - mean) * scale + shift, then the ReLU -- bitwise the result of
    ``norm.batch_norm_forward`` on the conv's output, without another pass over memory.

    >>> import numpy as np
    >>> x = np.arange(2 * 4 * 4 * 2, dtype=np.float64).reshape(2, 4, 4, 2)
    >>> k = np.ones((3, 3, 1, 4))            # groups=2: 2 filters per channel group
    >>> conv2d_forward(x, k, np.zeros(4), groups=2).shape
    (2, 2, 2, 4)
    >>> bn = (np.full(4, 95.0), np.full(4, 0.5), np.zeros(4))
    >>> conv2d_forward(x, k, groups=2, batch_norm=bn, relu=True)[0, 0, 0].tolist()
    [0.0, 0.0, 2.0, 2.0]
    """
    x = _array(x, "x")
    kernel = _array(kernel, "kernel", x.dtype)
    N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups = _geometry(
        x.shape, kernel.shape, strides, padding, dilation_rate, groups)
    bias = _bias(bias, F, x.dtype)
    if batch_norm is not None:
        if not isinstance(batch_norm, (tuple, list)) or len(batch_norm) != 3:
            raise ValueError(f"batch_norm must be a (mean, scale, shift) triple, got {type(batch_norm).__name__}")
        batch_norm = tuple(_array(v, f"batch_norm {name}", x.dtype, ndim=1)
                           for name, v in zip(("mean", "scale", "shift"), batch_norm))
    y = np.empty((N, OH, OW, F), x.dtype)
    _conv.conv2d_forward_into(x, kernel, bias, y, sh, sw, dh, dw, pt, pl, groups, relu, algorithm, isa, batch_norm)
    return y


def conv2d_backward_input(dy, kernel, input_shape, *, strides=1, padding="valid", dilation_rate=1, groups=1,
                          algorithm=None, isa=None):
    """Gradient of sum(conv2d_forward(x, kernel) * dy) with respect to x: dx of ``input_shape``.

    >>> import numpy as np
    >>> dy = np.ones((1, 3, 3, 1))
    >>> conv2d_backward_input(dy, np.ones((2, 2, 1, 1)), (1, 4, 4, 1))[0, :, :, 0]
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    """
    dy = _array(dy, "dy")
    kernel = _array(kernel, "kernel", dy.dtype)
    N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups = _geometry(
        input_shape, kernel.shape, strides, padding, dilation_rate, groups, x_name="input_shape")
    _same_shape(dy, (N, OH, OW, F), "dy", f" for input_shape {tuple(input_shape)} and kernel shape {kernel.shape}")
    dx = np.empty((N, H, W, C), dy.dtype)
    _conv.conv2d_backward_input_into(dy, kernel, dx, sh, sw, dh, dw, pt, pl, groups, algorithm, isa)
    return dx


def conv2d_backward_kernel(x, dy, kernel_shape, *, strides=1, padding="valid", dilation_rate=1, groups=1, bias=True,
                           relu_output=None, algorithm=None, isa=None):
    """Gradients of sum(conv2d_forward(x, kernel, b) * dy) w.r.t. kernel and b: (dkernel, dbias or None).

    ``relu_output``: the output y of a ``relu=True`` forward; dy is then the gradient of the
    ReLU's output and is multiplied by (y > 0) first (in the same pass where the direct loops for
    few input channels apply, else in an elementwise pass before the kernel gradient).

    >>> import numpy as np
    >>> x = np.ones((2, 3, 3, 1)); dy = np.ones((2, 2, 2, 5))
    >>> dk, db = conv2d_backward_kernel(x, dy, (2, 2, 1, 5))
    >>> float(dk[0, 0, 0, 0]), float(db[0])
    (8.0, 8.0)
    >>> dk, db = conv2d_backward_kernel(x, dy, (2, 2, 1, 5), relu_output=-np.ones((2, 2, 2, 5)))
    >>> float(dk.max()), float(db.max())
    (0.0, 0.0)
    """
    x = _array(x, "x")
    dy = _array(dy, "dy", x.dtype)
    N, H, W, C, kh, kw, F, sh, sw, dh, dw, pt, pl, OH, OW, groups = _geometry(
        x.shape, kernel_shape, strides, padding, dilation_rate, groups, k_name="kernel_shape")
    _same_shape(dy, (N, OH, OW, F), "dy", f" for x shape {x.shape} and kernel_shape {tuple(kernel_shape)}")
    dk = np.empty((kh, kw, C // groups, F), x.dtype)
    if relu_output is not None:
        relu_output = _array(relu_output, "relu_output", x.dtype)
        if relu_output.shape != dy.shape:
            raise ValueError(f"relu_output must have the shape of dy {dy.shape}, got {relu_output.shape}")
    db = np.empty(F, x.dtype) if bias else None
    _conv.conv2d_backward_kernel_into(x, dy, dk, sh, sw, dh, dw, pt, pl, groups, relu_output, db, algorithm, isa)
    return dk, db


# ------------------------------------------------------------------ transposed conv = the conv's adjoint

def conv2d_transpose_forward(x, kernel, bias=None, *, strides=1, padding="valid", output_padding=None,
                             dilation_rate=1):
    """Keras Conv2DTranspose: x (N, H, W, Cin), kernel (kh, kw, filters, Cin) -> (N, OH, OW, filters).

    >>> import numpy as np
    >>> y = conv2d_transpose_forward(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), strides=2)
    >>> y.shape, float(y[0, 2, 2, 0])
    ((1, 5, 5, 1), 4.0)
    """
    x = _array(x, "x")
    kernel = _array(kernel, "kernel", x.dtype)
    N, H, W, Cin, kh, kw, F, sh, sw, dh, dw, top, left, OH, OW = _transpose_geometry(
        x.shape, kernel.shape, strides, padding, output_padding, dilation_rate)
    bias = _bias(bias, F, x.dtype)
    y = np.empty((N, OH, OW, F), x.dtype)
    # The conv that maps (N, OH, OW, F) -> (N, H, W, Cin) with this kernel has x as its output.
    _conv.conv2d_backward_input_into(x, kernel, y, sh, sw, dh, dw, top, left, 1)
    if bias is not None:
        y += bias
    return y


def _transpose_input_hw(OH, OW, kernel_shape, strides, padding, output_padding, dilation_rate):
    """The (H, W) whose transposed-conv output is (OH, OW), or None: the output length is
    s * (H - 1) + (the length for H = 1) under every Keras rule."""
    pad = _padding_arg(padding)
    strides = _pair(strides, "strides")
    dilation = _pair(dilation_rate, "dilation_rate")
    ops = (None, None) if output_padding is None else _pair(output_padding, "output_padding", minimum=0)
    hw = []
    for out, k, s, d, op in zip((OH, OW), kernel_shape[:2], strides, dilation, ops):
        base = _deconv_length(1, (k - 1) * d + 1, pad, op, s)
        if out < base or (out - base) % s:
            return None
        hw.append((out - base) // s + 1)
    return tuple(hw)


def conv2d_transpose_backward_input(dy, kernel, *, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Gradient of sum(conv2d_transpose_forward(x, kernel) * dy) w.r.t. x (a plain conv of dy).

    >>> import numpy as np
    >>> conv2d_transpose_backward_input(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=2).shape
    (1, 2, 2, 1)
    """
    dy = _array(dy, "dy")
    kernel = _array(kernel, "kernel", dy.dtype)
    if min(kernel.shape) < 1:
        raise ValueError(f"kernel shape {kernel.shape} must have positive sizes")
    if dy.shape[3] != kernel.shape[2]:
        raise ValueError(f"channel mismatch: dy shape {dy.shape} has {dy.shape[3]} channels, kernel shape "
                         f"{kernel.shape} (kh, kw, filters, in_channels) has {kernel.shape[2]} filters")
    hw = _transpose_input_hw(dy.shape[1], dy.shape[2], kernel.shape, strides, padding, output_padding, dilation_rate)
    if hw is None:
        raise ValueError(f"dy shape {dy.shape} is not the output of a transposed conv with kernel shape "
                         f"{kernel.shape}, strides {strides!r}, padding {padding!r}, "
                         f"output_padding {output_padding!r}")
    N, H, W, Cin, kh, kw, F, sh, sw, dh, dw, top, left, OH, OW = _transpose_geometry(
        (dy.shape[0], hw[0], hw[1], kernel.shape[3]), kernel.shape, strides, padding, output_padding, dilation_rate)
    dx = np.empty((N, H, W, Cin), dy.dtype)
    _conv.conv2d_forward_into(dy, kernel, None, dx, sh, sw, dh, dw, top, left, 1)
    return dx


def conv2d_transpose_backward_kernel(x, dy, kernel_shape, *, strides=1, padding="valid", output_padding=None,
                                     dilation_rate=1, bias=True):
    """Gradients of sum(conv2d_transpose_forward(x, kernel, b) * dy) w.r.t. kernel and b.

    >>> import numpy as np
    >>> dk, db = conv2d_transpose_backward_kernel(np.ones((1, 2, 2, 3)), np.ones((1, 5, 5, 4)), (3, 3, 4, 3),
    ...                                           strides=2)
    >>> dk.shape, db.shape
    ((3, 3, 4, 3), (4,))
    """
    x = _array(x, "x")
    dy = _array(dy, "dy", x.dtype)
    N, H, W, Cin, kh, kw, F, sh, sw, dh, dw, top, left, OH, OW = _transpose_geometry(
        x.shape, kernel_shape, strides, padding, output_padding, dilation_rate, k_name="kernel_shape")
    _same_shape(dy, (N, OH, OW, F), "dy", f" for x shape {x.shape} and kernel_shape {tuple(kernel_shape)}")
    dk = np.empty((kh, kw, F, Cin), x.dtype)
    # Roles swapped: dy is the conv's input, x its output gradient.
    _conv.conv2d_backward_kernel_into(dy, x, dk, sh, sw, dh, dw, top, left, 1)
    return dk, (_bias_grad(dy) if bias else None)
