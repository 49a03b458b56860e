"""LayerNormalization and GroupNormalization: normalise each sample by its own statistics (no
batch statistics, so training and inference compute the same thing), then a learned per-feature
scale ``gamma`` and offset ``beta``."""

from minicnn.layers import _args as A
from minicnn import ops
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["LayerNormalization", "GroupNormalization"]
_MOD = "minicnn.layers"


class _SampleNorm(Layer):
    """The epsilon and gamma/beta arguments, weights and config the two layers share."""

    def __init__(self, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        if self.epsilon < 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be >= 0, got {epsilon}")
        A.set_gamma_beta_args(self, center, scale, beta_initializer, gamma_initializer,
                              beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon, **A.gamma_beta_config(self)})
        return config


def _axes(axis, rank, who):
    axes = [axis] if isinstance(axis, int) else list(axis)
    if any(not -rank <= a < rank for a in axes):
        raise ValueError(f"{who}: axis={axis} is out of range for inputs of rank {rank}")
    axes = sorted(a % rank for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{who}: duplicate axes are not allowed, got axis={axis}")
    return axes


@register_builtin(_MOD)
class LayerNormalization(_SampleNorm):
    """Normalise each sample over ``axis`` (default the last; an int or a list), then
    ``* gamma + beta`` with weights spanning those axes.

    >>> import numpy as np
    >>> from minicnn.layers import LayerNormalization
    >>> layer = LayerNormalization(epsilon=0.0)
    >>> layer(np.array([[1.0, 3.0], [10.0, 30.0]])).numpy()
    array([[-1.,  1.],
           [-1.,  1.]], dtype=float32)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        if kwargs.pop("rms_scaling", False):
            raise ValueError("LayerNormalization: rms_scaling=True (deprecated in Keras 3, which "
                             "points to RMSNormalization) is not supported")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization: axis must be an int or a list of ints, got {axis!r}")

    def build(self, input_shape):
        self.axis = _axes(self.axis, len(input_shape), "LayerNormalization")
        shape = tuple(input_shape[d] for d in self.axis)
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization: the normalised axes {self.axis} must have known "
                             f"sizes, got input shape {tuple(input_shape)}")
        A.add_gamma_beta(self, shape)

    def compute_output_shape(self, input_shape):
        _axes(self.axis, len(input_shape), "LayerNormalization")
        return input_shape

    def call(self, inputs):
        return ops.layer_normalization(inputs, self.gamma, self.beta, axis=self.axis,
                                       epsilon=self.epsilon)

    def get_config(self):
        config = super().get_config()
        config["rms_scaling"] = False
        return config


@register_builtin(_MOD)
class GroupNormalization(_SampleNorm):
    """Split the channels (``axis``, default the last) into ``groups`` and normalise each
    sample's groups over all their positions; per-channel ``gamma``/``beta``.  ``groups=-1``
    means one group per channel (instance normalisation).

    >>> import numpy as np
    >>> from minicnn.layers import GroupNormalization
    >>> layer = GroupNormalization(groups=2)
    >>> layer(np.zeros((2, 5, 5, 8))).shape, layer.gamma.shape
    ((2, 5, 5, 8), (8,))
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: groups must be a positive int (or -1 for instance "
                             f"normalization), got groups={groups!r}")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"GroupNormalization: axis must be an int, got {axis!r}")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.groups, self.axis = groups, axis

    def build(self, input_shape):
        _axes(self.axis, len(input_shape), "GroupNormalization")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"GroupNormalization: axis {self.axis} must have a known size, got input "
                             f"shape {tuple(input_shape)}")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups or dim % self.groups:
            raise ValueError(f"GroupNormalization: the {dim} channels must be a multiple of groups "
                             f"({self.groups}), got input shape {tuple(input_shape)}")
        A.add_gamma_beta(self, (dim,))

    def compute_output_shape(self, input_shape):
        _axes(self.axis, len(input_shape), "GroupNormalization")
        return input_shape

    def call(self, inputs):
        return ops.group_normalization(inputs, self.gamma, self.beta, groups=self.groups,
                                       axis=self.axis, epsilon=self.epsilon)

    def get_config(self):
        config = super().get_config()
        config["groups"] = self.groups
        return config
