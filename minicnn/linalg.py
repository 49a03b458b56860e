"""Dense linear algebra on minicnn's own compiled GEMM."""

import math

import numpy as np

from minicnn._kernels import _gemm

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

__all__ = ["gemm"]


def _as_matrix(name, x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"gemm: {name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"gemm: {name} must be 2-D, got shape {x.shape}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"gemm: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _may_share(x, c):
    """np.may_share_memory(x, c), cheaper when x is the base array of neither (the usual case
    of fresh operands): distinct arrays that own their data never overlap."""
    if x.base is None and c.base is None:
        return x is c
    return np.may_share_memory(x, c)


def _rows_usable(x):
    """True when x can be handed to the kernel as is: aligned, unit stride along rows, and a
    row stride (leading dimension) of at least one row."""
    if not x.flags.aligned:
        return False
    rows, cols = x.shape
    item = x.itemsize
    s0, s1 = x.strides
    if cols > 1 and s1 != item:
        return False
    return rows <= 1 or (s0 > 0 and s0 % item == 0 and s0 >= cols * item)


def _operand(x, trans):
    """(array, trans) for the kernel without copying when a view will do: a transposed view
    (Fortran order) is the same matrix stored the other way, so flip the flag instead."""
    if x.flags.c_contiguous or _rows_usable(x):
        return x, trans
    if _rows_usable(x.T):
        return x.T, not trans
    return np.ascontiguousarray(x), trans


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """General matrix multiply: ``alpha * op(a) @ op(b) + beta * c``.

    ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is set.  ``a`` and ``b`` must be
    2-D float32 or float64 arrays of the same dtype.  Views with unit stride along rows or
    along columns (slices of a bigger matrix, transposes) are used in place; other layouts
    are copied first.  With
    ``c=None`` a new array is returned (and ``beta`` is ignored); otherwise the result is
    written into ``c`` (which must be C-contiguous, of the same dtype and shape ``(m, n)``)
    and ``c`` is returned.

    >>> import numpy as np, minicnn
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> minicnn.linalg.gemm(a, a, trans_b=True)
    array([[ 5., 14.],
           [14., 50.]], dtype=float32)
    """
    a = _as_matrix("a", a)
    b = _as_matrix("b", b)
    dtype = a.dtype
    if b.dtype != dtype:
        raise TypeError(f"gemm: a and b must have the same dtype, got a {dtype} and b {b.dtype}")
    m, ka = a.shape
    if trans_a:
        m, ka = ka, m
    kb, n = b.shape
    if trans_b:
        kb, n = n, kb
    if ka != kb:
        raise ValueError(
            f"gemm: inner dimensions differ: op(a) is {m}x{ka} (a.shape={a.shape}, trans_a={bool(trans_a)}) "
            f"but op(b) is {kb}x{n} (b.shape={b.shape}, trans_b={bool(trans_b)})"
        )
    fresh = c is None
    if fresh:
        c = np.empty((m, n), dtype=dtype)
        beta = 0.0
    else:
        if not isinstance(c, np.ndarray):
            raise TypeError(f"gemm: c must be a numpy.ndarray or None, got {type(c).__name__}")
        if c.shape != (m, n):
            raise ValueError(f"gemm: c must have shape {(m, n)} for a.shape={a.shape}, b.shape={b.shape}, got {c.shape}")
        if c.dtype != dtype:
            raise TypeError(f"gemm: c must have dtype {dtype} like a and b, got {c.dtype}")
        flags = c.flags
        if not (flags.c_contiguous and flags.writeable):
            raise ValueError("gemm: c must be a writeable, C-contiguous array (it is written in place)")
    alpha = float(alpha)
    beta = float(beta)
    if not (math.isfinite(alpha) and math.isfinite(beta)):
        raise ValueError(f"gemm: alpha and beta must be finite, got alpha={alpha}, beta={beta}")
    if m == 0 or n == 0:
        return c
    if ka == 0:  # empty sum: C = beta * C
        if beta == 0.0:
            c[...] = 0
        else:
            c *= beta
        return c
    if not fresh:  # c is written while a and b are still being read
        if _may_share(a, c) and np.shares_memory(a, c):
            a = a.copy()
        if _may_share(b, c) and np.shares_memory(b, c):
            b = b.copy()
    a, trans_a = _operand(a, bool(trans_a))
    b, trans_b = _operand(b, bool(trans_b))
    _gemm.gemm_into(a, b, c, alpha, beta, trans_a, trans_b)
    return c
