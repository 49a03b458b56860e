"""Layer state: the variables a layer owns (``add_weight``, or a ``Variable`` assigned as an
attribute), the cached weight lists, ``get_weights`` / ``set_weights``."""

import contextvars
import math

import numpy as np

from minicnn import initializers as _initializers, regularizers as _regularizers
from minicnn.layers.node import standardize_shape
from minicnn.layers._shapes import _unique
from minicnn.variables import Variable, name_scope

__all__ = ["LayerWeights", "weight_creation_check", "structure_changed"]

#: ``check(layer, shape, dtype)`` called by ``add_weight`` before anything is allocated; set by
#: ``minicnn.saving`` while it rebuilds a model from a file, to refuse weights the file lacks.
weight_creation_check = contextvars.ContextVar("weight_creation_check", default=None)

# The cached weight lists (``Layer.weights`` / ``trainable_weights``, read at every training step)
# are valid while this counter is unchanged.  Every change that can alter any layer's lists bumps
# it: a weight added, a sub-layer attached, a model's layer list replaced, ``trainable`` set.  It
# is one global counter because a change deep inside a sub-layer must invalidate every model that
# contains it, and such changes are rare.
_structure_version = 0


def structure_changed():
    """Invalidate every layer's cached weight lists (see ``_structure_version``)."""
    global _structure_version
    _structure_version += 1


def structure_version():
    """The counter ``structure_changed`` bumps (models key their own caches on it)."""
    return _structure_version



class LayerWeights:
    """The weight half of :class:`minicnn.layers.Layer` (which sets up ``_own_trainable``,
    ``_own_non_trainable``, ``_regularized`` and ``_layers``)."""

    def _owns(self, variable):
        return any(variable is w for w in self._own_trainable + self._own_non_trainable)

    def _track_variable(self, variable):
        (self._own_trainable if variable.trainable else self._own_non_trainable).append(variable)
        if variable.regularizer is not None:
            self._regularized.append(variable)
        structure_changed()

    # -- weights --------------------------------------------------------------------------
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None, **kwargs):
        """Create a :class:`minicnn.Variable` owned by this layer (Keras 3's signature:
        ``add_weight(shape, initializer, dtype)`` positionally, the rest by keyword).

        ``initializer`` is a name, an Initializer or a callable ``(shape, dtype) -> array``;
        it defaults to "glorot_uniform" for floating variables and "zeros" for others.
        """
        if args and isinstance(args[0], str):  # Keras 2's order: add_weight(name, shape, dtype, initializer)
            args = list(args) + [None] * 3
            name, shape = args[0], shape if args[1] is None else args[1]
            dtype, initializer = dtype if args[2] is None else args[2], initializer if args[3] is None else args[3]
        elif args:
            if len(args) > 3:
                raise TypeError(f"add_weight() takes at most 3 positional arguments (shape, "
                                f"initializer, dtype) but {len(args)} were given")
            given = dict(zip(("shape", "initializer", "dtype"), args))
            both = [k for k, v in (("shape", shape), ("initializer", initializer), ("dtype", dtype))
                    if k in given and v is not None]
            if both:
                raise TypeError(f"add_weight: {both} passed both positionally and by keyword")
            shape, initializer, dtype = (given.get("shape", shape), given.get("initializer", initializer),
                                         given.get("dtype", dtype))
        for legacy in ("synchronization", "use_resource", "partitioner", "caching_device"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"add_weight: unexpected keyword argument(s) {sorted(kwargs)}")
        shape = () if shape is None else standardize_shape(shape)
        if any(s is None for s in shape):
            raise ValueError(f"{self.name}.add_weight: shape must be fully defined, got {shape}")
        dtype = np.dtype(dtype if dtype is not None else self.variable_dtype)
        check = weight_creation_check.get()
        if check is not None:
            check(self, shape, dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        with name_scope(self.name, caller=self):
            w = Variable(_initializers.get(initializer), shape=shape, dtype=dtype,
                         trainable=trainable, autocast=autocast, aggregation=aggregation,
                         name=name)
        w.regularizer = _regularizers.get(regularizer)
        w.constraint = constraint
        w.overwrite_with_gradient = bool(overwrite_with_gradient)
        self._track_variable(w)
        if not self.trainable:  # as Layer.trainable = False left the layer's other variables
            w.trainable = False
        return w

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Alias of :meth:`add_weight` (Keras 3's ``Layer.add_variable``)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    @property
    def weights(self):
        """All weights: this layer's trainable, then non-trainable, then sub-layers'."""
        return self._cached_list("_weights_cache", self._collect_weights)

    def _collect_weights(self):
        return _unique(self._own_trainable + self._own_non_trainable
                       + [w for layer in self._layers for w in layer.weights])

    @property
    def trainable_weights(self):
        return self._cached_list("_trainable_weights_cache", self._collect_trainable_weights)

    def _collect_trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self.weights if w.trainable]

    def _cached_list(self, key, collect):
        """A new list equal to ``collect()``, which is recomputed only after a structure change
        (the walk through the sub-layers costs more than the rest of a small training step's
        bookkeeping)."""
        version = _structure_version  # read first: a change during collect() then forces a redo
        cached = self.__dict__.get(key)
        if cached is None or cached[0] != version:
            cached = (version, collect())
            object.__setattr__(self, key, cached)
        return list(cached[1])

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    variables, trainable_variables, non_trainable_variables = weights, trainable_weights, non_trainable_weights

    def get_weights(self):
        """Copies of the weights as ndarrays, in ``weights`` order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Overwrite the weights in place; count and shapes must match ``get_weights()``."""
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(
                f"layer {self.name!r} expects {len(mine)} weight arrays "
                f"{[tuple(w.shape) for w in mine]}, received {len(weights)}")
        for w, v in zip(mine, weights):
            v = np.asarray(v)
            if v.shape != w.shape:
                raise ValueError(
                    f"layer {self.name!r}: weight {w.path!r} has shape {w.shape}, "
                    f"received an array of shape {v.shape}")
        for w, v in zip(mine, weights):
            w.assign(v)

    def count_params(self):
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: call it or build() it first")
        return int(sum(math.prod(w.shape) for w in self.weights))
