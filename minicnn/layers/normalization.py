"""BatchNormalization."""

from minicnn import ops
from minicnn.layers import _args as A
from minicnn.layers.base import Layer
from minicnn.serialization import register_builtin

__all__ = ["BatchNormalization"]


@register_builtin("minicnn.layers")
class BatchNormalization(Layer):
    """Normalise over the batch (and spatial axes), per feature along ``axis``.

    Training: batch statistics, and ``moving_mean``/``moving_variance`` move towards them by
    ``1 - momentum``.  Inference (and ``trainable=False``, as in Keras 3): moving statistics.
    Weights, in order: ``gamma``, ``beta`` (trainable), ``moving_mean``, ``moving_variance``.

    >>> import numpy as np
    >>> from minicnn.layers import BatchNormalization
    >>> bn = BatchNormalization()
    >>> y = bn(np.random.default_rng(0).normal(3.0, 2.0, (64, 4)), training=True)
    >>> bool(abs(y.data.mean()) < 1e-5), [w.name for w in bn.weights]
    (True, ['gamma', 'beta', 'moving_mean', 'moving_variance'])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        kwargs.pop("renorm", None)
        kwargs.pop("fused", None)
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: axis must be an int, got {axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        A.set_gamma_beta_args(self, center, scale, beta_initializer, gamma_initializer,
                              beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = A.get_initializer(moving_mean_initializer)
        self.moving_variance_initializer = A.get_initializer(moving_variance_initializer)
        self.synchronized = bool(synchronized)

    def _channels(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or rank < 2:
            raise ValueError(f"axis={self.axis} is out of range for inputs of shape {tuple(input_shape)}")
        return input_shape[self.axis % rank]

    def build(self, input_shape):
        c = self._channels(input_shape)
        if c is None:
            raise ValueError(f"the normalised axis {self.axis} must have a known size, got shape "
                             f"{tuple(input_shape)}")
        A.add_gamma_beta(self, (c,))
        self.moving_mean = self.add_weight(shape=(c,), name="moving_mean", trainable=False,
                                           initializer=self.moving_mean_initializer)
        self.moving_variance = self.add_weight(shape=(c,), name="moving_variance", trainable=False,
                                               initializer=self.moving_variance_initializer)

    def compute_output_shape(self, input_shape):
        c = self._channels(input_shape)
        if self.built and c is not None and c != self.moving_mean.shape[0]:
            raise ValueError(f"expected {self.moving_mean.shape[0]} features along axis {self.axis}, "
                             f"got shape {tuple(input_shape)}")
        return tuple(input_shape)

    def call(self, inputs, training=False):
        return ops.fused_batch_normalization(
            inputs, self.gamma, self.beta, self.moving_mean, self.moving_variance,
            training=bool(training) and self.trainable, momentum=self.momentum,
            epsilon=self.epsilon, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            **A.gamma_beta_config(self),
            "moving_mean_initializer": A.initializer_config(self.moving_mean_initializer),
            "moving_variance_initializer": A.initializer_config(self.moving_variance_initializer),
            "synchronized": self.synchronized,
        })
        return config
