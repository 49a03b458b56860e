"""Floating-point operations of one layer call, counted from the shapes it saw.

Convolutions and ``Dense`` count 2 FLOPs per multiply-add of their product (bias and activation
epilogues are not counted); their backward repeats that product once for the weight gradient
(when the layer has trainable weights) and once for the input gradient (when the input needs
one: not for the first layer).  Those are the FLOPs a fused multiply-add unit executes, so they
can be read against the FMA peak.  The other layers are memory-bound; they count one operation per
element touched (pooling: per window element read; batch normalisation: 5 per element to
normalise a training batch, 2 with the moving statistics, 7 per element backward), which gives
an order of magnitude, not a figure to hold against the peak.  Layers not listed here count 0.

>>> import numpy as np, minicnn
>>> conv = minicnn.layers.Conv2D(8, 3)
>>> y = conv(np.zeros((2, 10, 10, 4), np.float32))
>>> layer_flops(conv, [(2, 10, 10, 4)], [tuple(y.shape)], input_grad=True, training=True)
(73728, 147456)
"""

import math

from minicnn import layers as L

__all__ = ["layer_flops"]


def _size(shape):
    return math.prod(d for d in shape)


def _conv_macs(layer, in_shape, out_shape):
    """Multiply-adds of one call of a convolution layer (Keras' kernel layouts)."""
    if isinstance(layer, L.SeparableConv2D):
        kh, kw, cin, mult = layer.depthwise_kernel.shape
        pixels = _size(out_shape[:-1])
        return pixels * cin * mult * (kh * kw + out_shape[-1])
    if isinstance(layer, L.DepthwiseConv2D):
        taps = _size(layer.kernel.shape[:-2])
        return _size(out_shape) * taps
    if isinstance(layer, L.Conv2DTranspose):
        *k, cout, _ = layer.kernel.shape  # (kh, kw, filters, in_channels)
        return _size(in_shape) * _size(k) * cout
    *k, cin_group, _ = layer.kernel.shape
    return _size(out_shape) * _size(k) * cin_group


def _elementwise(layer, in_shapes, out_shape, training):
    """(forward, backward per needed gradient) for the memory-bound layers."""
    if isinstance(layer, L.BatchNormalization):
        return (5 if training else 2) * _size(out_shape), 7 * _size(out_shape)
    if isinstance(layer, L.BasePooling):
        window = _size(layer.pool_size)
        return _size(out_shape) * window, _size(out_shape) * window
    if isinstance(layer, (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D)):
        return _size(in_shapes[0]), _size(in_shapes[0])
    if isinstance(layer, (L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.Softmax)):
        return _size(out_shape), _size(out_shape)
    if isinstance(layer, (L.Add, L.Multiply)):
        per_input = 1 if isinstance(layer, L.Multiply) else 0
        return (len(in_shapes) - 1) * _size(out_shape), per_input * len(in_shapes) * _size(out_shape)
    return 0, 0


def layer_flops(layer, in_shapes, out_shapes, input_grad, training):
    """``(forward, backward)`` FLOPs of one call of ``layer``.

    ``in_shapes`` / ``out_shapes``: the shapes of the call's input and output tensors (lists);
    ``input_grad``: whether the backward computes a gradient for the input; ``training``: whether
    the call records a graph (its backward runs) in training mode.
    """
    if not out_shapes:
        return 0, 0
    out_shape = out_shapes[0]
    weight_grad = bool(training and layer.trainable_weights)
    if isinstance(layer, (L.BaseConv, L.Dense)):
        if isinstance(layer, L.Dense):
            macs = _size(in_shapes[0]) * layer.kernel.shape[-1]
        else:
            macs = _conv_macs(layer, in_shapes[0], out_shape)
        fwd = 2 * macs
        return fwd, fwd * (int(weight_grad) + int(bool(training and input_grad)))
    fwd, bwd = _elementwise(layer, in_shapes, out_shape, training)
    return fwd, bwd if training and (input_grad or weight_grad) else 0
