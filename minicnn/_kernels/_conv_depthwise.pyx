"""Depthwise convolution (one input channel per group; the DEPTHWISE plan of _conv.pyx).

im2col would build blocks one column wide per group; these direct loops run over the filters
f = c * mult + m instead, contiguous in memory, so they vectorise over channels.  Forward rows
and input-gradient rows across threads; the kernel gradient in contiguous filter ranges, each
summing every pixel in the same order.  Nothing depends on the thread count.
"""

from libc.stddef cimport ptrdiff_t

from minicnn._kernels._common cimport floating, minicnn_parallel_for
from minicnn._kernels._conv_types cimport ConvCall, Geom, bn_epilogue
from minicnn._kernels._openmp cimport clamp_threads


cdef int forward(const ConvCall *c) noexcept nogil:
    """y (OUT) = depthwise conv of x with k ((kh, kw, 1, F)) + bias (or NULL), then max(., 0) with
    c.relu; (n, oh) rows across threads."""
    return minicnn_parallel_for(c.g.N * c.g.OH, clamp_threads(c.g.N * c.g.OH), 0, c.g.flush, False,
                                _forward_unit, <void *>c)


cdef int _forward_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef const ConvCall *c = <const ConvCall *>ctx
    if c.dbl:
        _depthwise_forward_row(<const double *>c.x, <const double *>c.k, <const double *>c.aux, <double *>c.out,
                               &c.g, t, c.relu)
    else:
        _depthwise_forward_row(<const float *>c.x, <const float *>c.k, <const float *>c.aux, <float *>c.out,
                               &c.g, t, c.relu)
    bn_epilogue(c, t * c.g.OW, (t + 1) * c.g.OW)
    return 0


cdef void _depthwise_forward_row(const floating *x, const floating *k, const floating *bias, floating *y,
                                 const Geom *g, Py_ssize_t t, bint relu) noexcept nogil:
    """Output row t = (n, oh) of the depthwise forward."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n = t // g.OH, oh = t % g.OH, ow, a, b, ih, iw, c, m, f
    cdef floating *yr
    cdef const floating *xr
    cdef const floating *kr
    for ow in range(g.OW):
        yr = y + ((n * g.OH + oh) * g.OW + ow) * F
        for f in range(F):
            yr[f] = bias[f] if bias != NULL else 0
        for a in range(g.kh):
            ih = oh * g.sh + a * g.dh - g.pt
            if ih < 0 or ih >= g.H:
                continue
            for b in range(g.kw):
                iw = ow * g.sw + b * g.dw - g.pl
                if iw < 0 or iw >= g.W:
                    continue
                xr = x + ((n * g.H + ih) * g.W + iw) * C
                kr = k + (a * g.kw + b) * F
                if mult == 1:
                    for f in range(F):
                        yr[f] = yr[f] + xr[f] * kr[f]
                else:
                    for c in range(C):
                        for m in range(mult):
                            yr[c * mult + m] = yr[c * mult + m] + xr[c] * kr[c * mult + m]
    if relu:
        yr = y + (n * g.OH + oh) * g.OW * F
        for f in range(g.OW * F):
            yr[f] = 0 if yr[f] < 0 else yr[f]


cdef int backward_input(const ConvCall *c) noexcept nogil:
    """dx (OUT) gathered per input cell from the output cells that read it; (n, ih) rows across threads."""
    return minicnn_parallel_for(c.g.N * c.g.H, clamp_threads(c.g.N * c.g.H), 0, c.g.flush, False,
                                _backward_input_unit, <void *>c)


cdef int _backward_input_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef const ConvCall *c = <const ConvCall *>ctx
    if c.dbl:
        _depthwise_backward_input_row(<const double *>c.x, <const double *>c.k, <double *>c.out, &c.g, t)
    else:
        _depthwise_backward_input_row(<const float *>c.x, <const float *>c.k, <float *>c.out, &c.g, t)
    return 0


cdef void _depthwise_backward_input_row(const floating *dy, const floating *k, floating *dx, const Geom *g,
                                        Py_ssize_t t) noexcept nogil:
    """Input row t = (n, ih) of dx."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n = t // g.H, ih = t % g.H, iw, a, b, oh, ow, th, tw, c, m
    cdef floating *dxr
    cdef const floating *gr
    cdef const floating *kr
    cdef floating acc
    for iw in range(g.W):
        dxr = dx + ((n * g.H + ih) * g.W + iw) * C
        for c in range(C):
            dxr[c] = 0
        for a in range(g.kh):
            th = ih + g.pt - a * g.dh  # = oh * sh for the output row that read (ih) with tap a
            if th < 0 or th % g.sh != 0 or th // g.sh >= g.OH:
                continue
            oh = th // g.sh
            for b in range(g.kw):
                tw = iw + g.pl - b * g.dw
                if tw < 0 or tw % g.sw != 0 or tw // g.sw >= g.OW:
                    continue
                ow = tw // g.sw
                gr = dy + ((n * g.OH + oh) * g.OW + ow) * F
                kr = k + (a * g.kw + b) * F
                if mult == 1:
                    for c in range(C):
                        dxr[c] = dxr[c] + gr[c] * kr[c]
                else:
                    for c in range(C):
                        acc = 0
                        for m in range(mult):
                            acc = acc + gr[c * mult + m] * kr[c * mult + m]
                        dxr[c] = dxr[c] + acc


cdef void _depthwise_backward_kernel_range(const floating *x, const floating *dy, floating *dk, const Geom *g,
                                           Py_ssize_t f0, Py_ssize_t f1) noexcept nogil:
    """Filters [f0, f1) of dk."""
    cdef Py_ssize_t F = g.F, mult = g.Fg, C = g.C, n, oh, ow, a, b, ih, iw, f
    cdef floating *kr
    cdef const floating *xr
    cdef const floating *gr
    for a in range(g.kh * g.kw):
        for f in range(f0, f1):
            dk[a * F + f] = 0
    for n in range(g.N):
        for oh in range(g.OH):
            for ow in range(g.OW):
                gr = dy + ((n * g.OH + oh) * g.OW + ow) * F
                for a in range(g.kh):
                    ih = oh * g.sh + a * g.dh - g.pt
                    if ih < 0 or ih >= g.H:
                        continue
                    for b in range(g.kw):
                        iw = ow * g.sw + b * g.dw - g.pl
                        if iw < 0 or iw >= g.W:
                            continue
                        xr = x + ((n * g.H + ih) * g.W + iw) * C
                        kr = dk + (a * g.kw + b) * F
                        if mult == 1:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[f] * gr[f]
                        elif C == 1:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[0] * gr[f]
                        else:
                            for f in range(f0, f1):
                                kr[f] = kr[f] + xr[f // mult] * gr[f]


cdef struct Ranges:
    const ConvCall *c
    Py_ssize_t parts


cdef int backward_kernel(const ConvCall *c) noexcept nogil:
    """dk (OUT, (kh, kw, 1, F)) = the sum over output cells; threads own contiguous filter ranges."""
    cdef Ranges w
    w.c, w.parts = c, clamp_threads(c.g.F // 16 if c.g.F >= 32 else 1)
    return minicnn_parallel_for(w.parts, <int>w.parts, 0, c.g.flush, False, _backward_kernel_unit, &w)


cdef int _backward_kernel_unit(void *ctx, ptrdiff_t part, void *scratch) noexcept nogil:
    """Filter range part (of w.parts)."""
    cdef Ranges *w = <Ranges *>ctx
    cdef const ConvCall *c = w.c
    cdef Py_ssize_t f0 = c.g.F * part // w.parts, f1 = c.g.F * (part + 1) // w.parts
    if c.dbl:
        _depthwise_backward_kernel_range(<const double *>c.x, <const double *>c.k, <double *>c.out, &c.g, f0, f1)
    else:
        _depthwise_backward_kernel_range(<const float *>c.x, <const float *>c.k, <float *>c.out, &c.g, f0, f1)
    return 0
