"""Winograd F(2x2, 3x3) convolution in plain NumPy: the algorithm of the compiled WINOGRAD plan
(``minicnn/_kernels/_conv_winograd.pyx``, ``src/winograd.h``), written as matrices.

Every 2x2 block of the output of a 3x3, stride-1 convolution is computed from the 4x4 input patch
``d`` under it (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):

    Y = A^T [ sum over c of (G g_cf G^T) * (B^T d_c B) ] A        (*: elementwise, 4x4)

16 products per channel pair instead of 36.  The sum over channels is a matrix product for each
of the 16 positions.  ``conv2d_forward_winograd`` gives the same result as
``reference.conv2d_forward`` up to rounding; in float32 it rounds where the compiled kernel does
(transforms in the array's dtype, the kernel transform in float64 and rounded once).

>>> import numpy as np
>>> from minicnn.reference import conv2d_forward
>>> x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)); k = np.ones((3, 3, 3, 4))
>>> np.allclose(conv2d_forward_winograd(x, k, padding="same"), conv2d_forward(x, k, padding="same"))
True
"""

import numpy as np

from minicnn.reference.kernels import _pads

__all__ = ["BT", "G", "AT", "conv2d_forward_winograd"]

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def conv2d_forward_winograd(x, kernel, bias=None, *, padding="valid"):
    """``conv2d_forward(x, kernel, bias, padding=padding)`` for a 3x3 kernel at stride 1, no
    dilation, one group, by Winograd F(2x2, 3x3)."""
    N, H, W, C = x.shape
    kh, kw, Ck, F = kernel.shape
    if (kh, kw) != (3, 3) or Ck != C:
        raise ValueError(f"conv2d_forward_winograd: needs a (3, 3, {C}, F) kernel, got {kernel.shape}")
    dt = x.dtype
    (pt, pb), (pl, pr) = _pads(H, W, 3, 3, (1, 1), padding, (1, 1))
    OH, OW = H + pt + pb - 2, W + pl + pr - 2
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    # zero-padded so that every tile's 4x4 patch lies inside (cells past the output are dropped)
    xp = np.zeros((N, 2 * TH + 2, 2 * TW + 2, C), dtype=dt)
    xp[:, pt:pt + H, pl:pl + W] = x
    d = np.stack([np.stack([xp[:, 2 * i:2 * i + 4, 2 * j:2 * j + 4] for j in range(TW)], 1)
                  for i in range(TH)], 1)                                  # (N, TH, TW, 4, 4, C)
    U = np.einsum("ia,abcf,jb->ijcf", G, kernel.astype(np.float64), G).astype(dt)
    bt = BT.astype(dt)
    V = np.einsum("ir,ntsrqc,jq->ntsijc", bt, d, bt)                       # B^T d B
    M = np.einsum("ntsijc,ijcf->ntsijf", V, U)                              # 16 products over c
    at = AT.astype(dt)
    Y = np.einsum("pi,ntsijf,qj->ntspqf", at, M, at)                        # A^T M A
    y = Y.transpose(0, 1, 3, 2, 4, 5).reshape(N, 2 * TH, 2 * TW, F)[:, :OH, :OW]
    if bias is not None:
        y = y + bias.astype(dt)
    return np.ascontiguousarray(y)
