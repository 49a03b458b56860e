"""Argument normalisation shared by the layers (Keras' rules and error messages)."""

import numpy as np

from minicnn import activations, initializers, regularizers
from minicnn.serialization import serialize as _serialize, deserialize as _deserialize


def int_tuple(value, n, name):
    """An int or a length-``n`` sequence of positive ints -> tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(value) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  and v > 0 for v in value):
        raise ValueError(f"{name} must be a positive int or a tuple of {n} positive ints, got {value!r}")
    return tuple(int(v) for v in value)


def padding_arg(padding, allowed=("valid", "same")):
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"padding must be one of {allowed}, got {padding!r}")
    return padding.lower()


def data_format_arg(data_format):
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def conv_output_length(length, kernel, padding, stride, dilation=1):
    """Keras' output length of a convolution/pooling window along one axis (None stays None)."""
    if length is None:
        return None
    dk = kernel + (kernel - 1) * (dilation - 1)
    if padding == "same":
        return (length + stride - 1) // stride
    return (length - dk) // stride + 1 if length >= dk else -1


def deconv_output_length(length, kernel, padding, output_padding, stride, dilation=1):
    """Keras' output length of a transposed convolution along one axis."""
    if length is None:
        return None
    dk = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(dk - stride, 0)
        return length * stride
    pad = dk // 2 if padding == "same" else 0
    return (length - 1) * stride + dk - 2 * pad + output_padding


def activation_config(fn):
    return activations.serialize(fn)


def initializer_config(init):
    return _serialize(init)


def regularizer_config(reg):
    return _serialize(reg)


def constraint_arg(value, name):
    if value is None:
        return None
    if isinstance(value, (str, dict)):
        value = _deserialize(value, module="minicnn.constraints")
    if not callable(value):
        raise TypeError(f"{name} must be a callable (weight -> weight) or None, got {value!r}")
    return value


get_activation = activations.get
get_initializer = initializers.get
get_regularizer = regularizers.get


def set_kernel_bias_args(layer, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint):
    """Parse and store the arguments every kernel-and-bias layer (Dense, BaseConv) shares."""
    layer.activation = get_activation(activation)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = get_initializer(kernel_initializer)
    layer.bias_initializer = get_initializer(bias_initializer)
    layer.kernel_regularizer = get_regularizer(kernel_regularizer)
    layer.bias_regularizer = get_regularizer(bias_regularizer)
    layer.activity_regularizer = get_regularizer(activity_regularizer)
    layer.kernel_constraint = constraint_arg(kernel_constraint, "kernel_constraint")
    layer.bias_constraint = constraint_arg(bias_constraint, "bias_constraint")


def kernel_bias_config(layer):
    """The config entries every kernel-and-bias layer (Dense, BaseConv) shares, in Keras' order."""
    return {
        "activation": activation_config(layer.activation),
        "use_bias": layer.use_bias,
        "kernel_initializer": initializer_config(layer.kernel_initializer),
        "bias_initializer": initializer_config(layer.bias_initializer),
        "kernel_regularizer": regularizer_config(layer.kernel_regularizer),
        "bias_regularizer": regularizer_config(layer.bias_regularizer),
        "activity_regularizer": regularizer_config(layer.activity_regularizer),
        "kernel_constraint": regularizer_config(layer.kernel_constraint),
        "bias_constraint": regularizer_config(layer.bias_constraint),
    }


def pad_pairs(value, rank, name):
    """Keras' padding/cropping amounts -> one ``(before, after)`` pair per spatial axis.

    Rank 1: an int or ``(before, after)``.  Rank 2: an int, ``(rows, cols)`` (symmetric) or
    ``((top, bottom), (left, right))``.  All non-negative ints.
    """
    forms = ("an int or (before, after)" if rank == 1 else
             "an int, (rows, cols) or ((top, bottom), (left, right))")
    err = f"{name} must be {forms} of non-negative ints, got {value!r}"

    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value):
        pairs = ((value, value),) * rank
    else:
        try:
            items = tuple(value)
            if rank == 1:
                pairs = (items,)
            elif all(is_int(v) for v in items):
                pairs = tuple((v, v) for v in items)
            else:
                pairs = tuple(tuple(v) for v in items)
        except TypeError:
            raise ValueError(err) from None
    if len(pairs) != rank or any(len(p) != 2 for p in pairs) or not all(
            is_int(v) and v >= 0 for p in pairs for v in p):
        raise ValueError(err)
    return tuple(tuple(int(v) for v in p) for p in pairs)


def image_tensor(inputs, who):
    """``inputs`` unchanged, unless it is Keras' preprocessing dict (images with bounding boxes,
    segmentation masks or labels), which minicnn's image layers do not take."""
    if isinstance(inputs, dict):
        raise ValueError(f"{who}: dict inputs (Keras' 'images' with 'bounding_boxes', "
                         "'segmentation_masks' or 'labels') are not supported; pass the images alone")
    return inputs


def set_gamma_beta_args(layer, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                        gamma_regularizer, beta_constraint, gamma_constraint):
    """Parse and store the scale/offset arguments every normalization layer shares."""
    layer.center, layer.scale = bool(center), bool(scale)
    layer.beta_initializer = get_initializer(beta_initializer)
    layer.gamma_initializer = get_initializer(gamma_initializer)
    layer.beta_regularizer = get_regularizer(beta_regularizer)
    layer.gamma_regularizer = get_regularizer(gamma_regularizer)
    layer.beta_constraint = constraint_arg(beta_constraint, "beta_constraint")
    layer.gamma_constraint = constraint_arg(gamma_constraint, "gamma_constraint")


def add_gamma_beta(layer, shape):
    """Create ``layer.gamma`` (if ``scale``) and ``layer.beta`` (if ``center``), else None."""
    layer.gamma = layer.beta = None
    if layer.scale:
        layer.gamma = layer.add_weight(shape=shape, name="gamma", initializer=layer.gamma_initializer,
                                       regularizer=layer.gamma_regularizer, constraint=layer.gamma_constraint)
    if layer.center:
        layer.beta = layer.add_weight(shape=shape, name="beta", initializer=layer.beta_initializer,
                                      regularizer=layer.beta_regularizer, constraint=layer.beta_constraint)


def gamma_beta_config(layer):
    return {
        "center": layer.center, "scale": layer.scale,
        "beta_initializer": initializer_config(layer.beta_initializer),
        "gamma_initializer": initializer_config(layer.gamma_initializer),
        "beta_regularizer": regularizer_config(layer.beta_regularizer),
        "gamma_regularizer": regularizer_config(layer.gamma_regularizer),
        "beta_constraint": regularizer_config(layer.beta_constraint),
        "gamma_constraint": regularizer_config(layer.gamma_constraint),
    }
