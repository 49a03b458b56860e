"""Dense, Activation, Dropout, Flatten, Reshape and the activation layers."""

import math

from minicnn import activations as _activations
from minicnn import ops
from minicnn._random import make_rng
from minicnn.layers import _args as A
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "ReLU", "LeakyReLU", "ELU", "Identity",
           "Softmax"]
_MOD = "minicnn.layers"


def _apply_activation(fn, x):
    return x if fn is _activations.linear else fn(x)


@register_builtin(_MOD)
class Dense(Layer):
    """Densely connected layer: ``activation(inputs @ kernel + bias)`` over the last axis.

    >>> import numpy as np
    >>> from minicnn.layers import Dense
    >>> layer = Dense(4, activation="relu")
    >>> layer(np.ones((2, 3))).shape, layer.kernel.shape, layer.bias.shape
    ((2, 4), (3, 4), (4,))
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if lora_rank is not None:
            raise ValueError("Dense: lora_rank is not supported")
        self.units = units
        A.set_kernel_bias_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense needs inputs with a known last dimension, got shape {input_shape}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), name="bias",
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Dense needs inputs of rank >= 2, got shape {input_shape}")
        if self.built and input_shape[-1] is not None and input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"expected the last dimension to be {self.kernel.shape[0]} "
                             f"(kernel shape {self.kernel.shape}), got shape {input_shape}")
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, inputs):
        if self.activation is _activations.relu:
            return ops.dense(inputs, self.kernel, self.bias, activation="relu")
        return _apply_activation(self.activation, ops.dense(inputs, self.kernel, self.bias))

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
        })
        config.update(A.kernel_bias_config(self))
        return config


@register_builtin(_MOD)
class Activation(Layer):
    """Apply an activation function: ``Activation("relu")``.

    >>> import numpy as np
    >>> from minicnn.layers import Activation
    >>> Activation("relu")(np.array([[-1.0, 1.0]])).data
    array([[0., 1.]], dtype=float32)
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = A.get_activation(activation)
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = A.activation_config(self.activation)
        return config


@register_builtin(_MOD)
class Dropout(Layer):
    """Zero a ``rate`` fraction of the inputs during training (scaling the rest by 1/(1-rate)).

    >>> import numpy as np
    >>> from minicnn.layers import Dropout
    >>> d = Dropout(0.5, seed=0)
    >>> (d(np.ones((2, 4))).data == 1).all()        # inference: identity
    np.True_
    >>> sorted(set(d(np.ones((100,)), training=True).data.tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1], got {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported")
        self.rate = float(rate)
        self.noise_shape = None
        self.seed = seed
        # With a seed the layer owns its stream; without, the op draws from the global one so
        # that set_random_seed() at any point makes a run reproducible.
        self._rng = None if seed is None else make_rng(seed)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate >= 1.0:
            return inputs * 0.0
        return ops.dropout(inputs, self.rate, rng=self._rng, training=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": None, "seed": self.seed})
        return config


@register_builtin(_MOD)
class Flatten(Layer):
    """Flatten all but the batch axis: (N, 5, 5, 64) -> (N, 1600).

    >>> import numpy as np
    >>> from minicnn.layers import Flatten
    >>> Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = A.data_format_arg(data_format)
        self.built = True

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # Keras flattens in channels-last order so that weights transfer between formats.
            inputs = inputs.transpose((0,) + tuple(range(2, inputs.ndim)) + (1,))
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))  # -1 is ambiguous for N = 0

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], n)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


@register_builtin(_MOD)
class Reshape(Layer):
    """Reshape to ``target_shape`` (batch axis excluded; one entry may be -1).

    >>> import numpy as np
    >>> from minicnn.layers import Reshape
    >>> Reshape((3, -1))(np.zeros((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise TypeError(f"Reshape: target_shape must be a tuple of ints, got {target_shape!r}") from None
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(f"Reshape: target_shape may hold positive ints and at most one -1, "
                             f"got {target_shape}")
        self.target_shape = target_shape
        self.built = True

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        known = math.prod(d for d in self.target_shape if d != -1)
        if any(d is None for d in rest):
            out = tuple(None if d == -1 else d for d in self.target_shape)
        else:
            total = math.prod(rest)
            if -1 in self.target_shape:
                if total % known:
                    raise ValueError(f"cannot reshape {input_shape} to (batch,) + {self.target_shape}: "
                                     f"{total} elements are not divisible by {known}")
                out = tuple(total // known if d == -1 else d for d in self.target_shape)
            else:
                if total != known:
                    raise ValueError(f"cannot reshape {input_shape} ({total} elements per sample) to "
                                     f"{self.target_shape} ({known} elements)")
                out = self.target_shape
        return (input_shape[0],) + out

    def call(self, inputs):
        out = self.compute_output_shape(tuple(inputs.shape))
        return inputs.reshape((inputs.shape[0],) + out[1:])

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class _Elementwise(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register_builtin(_MOD)
class ReLU(_Elementwise):
    """``min(max(x, 0), max_value)`` with an optional ``negative_slope`` below ``threshold``.

    >>> import numpy as np
    >>> from minicnn.layers import ReLU
    >>> ReLU(max_value=1.0)(np.array([-1.0, 0.5, 3.0])).data
    array([0. , 0.5, 1. ], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0 or None, got {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        if threshold is None or threshold != 0.0:
            raise ValueError(f"ReLU: only threshold=0.0 is supported, got {threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        return _activations.relu(inputs, negative_slope=self.negative_slope,
                                 max_value=self.max_value)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


@register_builtin(_MOD)
class LeakyReLU(_Elementwise):
    """``x`` if ``x > 0`` else ``negative_slope * x`` (Keras 3 default slope 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2 name
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be >= 0, got {negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


@register_builtin(_MOD)
class ELU(_Elementwise):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


@register_builtin(_MOD)
class Softmax(_Elementwise):
    """Softmax along ``axis`` (default the last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise TypeError(f"Softmax: axis must be an int, got {axis!r}")
        self.axis = axis

    def call(self, inputs, mask=None):
        return ops.softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(f"Softmax axis={self.axis} is out of range for shape {input_shape}")
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@register_builtin(_MOD)
class Identity(_Elementwise):
    """Return the inputs unchanged (a placeholder, e.g. for an optional block).

    >>> import numpy as np
    >>> from minicnn.layers import Identity
    >>> Identity()(np.array([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
    """

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
