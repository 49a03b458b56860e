"""``Layer``: the Keras 3 layer contract (build / call / get_config / weights / naming).

A subclass creates its weights in ``build(input_shape)`` with :meth:`Layer.add_weight` and
computes its output in ``call(inputs, training=None)`` using ``minicnn.ops``.  Calling a layer on
an ndarray or Tensor runs it eagerly; calling it on ``minicnn.Input(...)`` records a graph node.

>>> import numpy as np
>>> import minicnn
>>> class Scale(minicnn.layers.Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
...     def call(self, x):
...         return x * self.w
>>> layer = Scale(name="scale")
>>> layer(np.ones((2, 3))).shape
(2, 3)
>>> [w.path for w in layer.weights]
['scale/w']
"""

import contextvars
import inspect
import math

import numpy as np

from minicnn import initializers as _initializers, regularizers as _regularizers
from minicnn import _profiling
from minicnn import debugging as _debugging
from minicnn.layers import _context
from minicnn.layers._context import call_state, standardize_dtype, to_snake_case, unique_name
from minicnn.layers.node import (KerasTensor, Node, flatten, is_symbolic, map_structure,
                                 standardize_shape)
from minicnn.layers._shapes import (_accepts, _flatten_shapes, _is_basic, _is_single_shape,
                                    _pack_shapes, _shape_str, _shape_tree, _to_lists, _training_default,
                                    _unique, flatten_shapes_list, map_shapes)

__all__ = ["Layer"]


_TENSOR = []
_NP_DTYPES = {}

#: ``check(layer, shape, dtype)`` called by ``add_weight`` before anything is allocated; set by
#: ``minicnn.saving`` while it rebuilds a model from a file, to refuse weights the file lacks.
weight_creation_check = contextvars.ContextVar("weight_creation_check", default=None)

# The cached weight lists (``Layer.weights`` / ``trainable_weights``, read at every training step)
# are valid while this counter is unchanged.  Every change that can alter any layer's lists bumps
# it: a weight added, a sub-layer attached, a model's layer list replaced, ``trainable`` set.  It
# is one global counter because a change deep inside a sub-layer must invalidate every model that
# contains it, and such changes are rare.
_structure_version = 0


def _structure_changed():
    """Invalidate every layer's cached weight lists (see ``_structure_version``)."""
    global _structure_version
    _structure_version += 1


def _tensor_cls():
    if not _TENSOR:  # imported on first use: a module-level import would be circular
        from minicnn.autograd import Tensor
        _TENSOR.append(Tensor)
    return _TENSOR[0]


def _np_dtype(name):
    """np.dtype(name), parsed once per name (it runs on every layer call)."""
    d = _NP_DTYPES.get(name)
    if d is None:
        d = _NP_DTYPES[name] = np.dtype(name)
    return d


class Layer:
    """Base class of all layers (and, through ``Model``, of all models)."""

    _autocast = True  # cast floating inputs to the layer's dtype (Keras' autocast)

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # Remembered so that get_config() works for user layers with simple __init__ args.
        object.__setattr__(obj, "_init_args", (args, dict(kwargs)))
        return obj

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_size = kwargs.pop("batch_size", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            batch_size, input_shape = batch_input_shape[0], batch_input_shape[1:]
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"name must be a non-empty string without '/', got {name!r}")
        s = object.__setattr__
        s(self, "_layers", [])
        s(self, "_own_trainable", [])
        s(self, "_own_non_trainable", [])
        s(self, "_regularized", [])
        s(self, "_call_losses", [])
        s(self, "_inbound_nodes", [])
        s(self, "_trainable", bool(trainable))
        s(self, "name", name or unique_name(to_snake_case(type(self).__name__)))
        s(self, "_dtype", standardize_dtype(dtype))
        s(self, "built", False)
        s(self, "_build_input_shape", None)
        s(self, "_input_shape_arg",
          None if input_shape is None else (batch_size,) + standardize_shape(input_shape))

    # -- attribute tracking: sub-layers assigned as attributes contribute weights ----------
    def __setattr__(self, key, value):
        if "_layers" in self.__dict__ and not key.startswith("_"):
            for v in flatten(value) if isinstance(value, (list, tuple, dict)) else [value]:
                if isinstance(v, Layer) and v is not self and all(v is not x for x in self._layers):
                    self._layers.append(v)
                    _structure_changed()
        object.__setattr__(self, key, value)

    # -- dtype / trainable ----------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    compute_dtype = variable_dtype = dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        object.__setattr__(self, "_trainable", bool(value))
        _structure_changed()
        for w in self._own_trainable:
            if w.is_leaf:
                w.requires_grad = bool(value)
        for layer in self._layers:
            layer.trainable = value

    # -- weights --------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, **kwargs):
        """Create a weight Tensor owned by this layer (``requires_grad`` follows ``trainable``).

        ``initializer`` is a name, an Initializer or a callable ``(shape, dtype) -> array``.
        """
        if isinstance(shape, str):  # Keras 2 order: add_weight(name, shape, ...)
            name, shape = shape, kwargs.pop("shape", initializer if isinstance(initializer, (tuple, list)) else None)
            if isinstance(initializer, (tuple, list)):
                initializer = kwargs.pop("initializer", None)
        for legacy in ("autocast", "aggregation", "synchronization", "use_resource"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"add_weight: unexpected keyword argument(s) {sorted(kwargs)}")
        shape = () if shape is None else standardize_shape(shape)
        if any(s is None for s in shape):
            raise ValueError(f"{self.name}.add_weight: shape must be fully defined, got {shape}")
        dtype = standardize_dtype(dtype or self.dtype, "add_weight dtype")
        check = weight_creation_check.get()
        if check is not None:
            check(self, shape, dtype)
        init = _initializers.get(initializer if initializer is not None else "glorot_uniform")
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        if value.shape != shape:
            raise ValueError(
                f"{self.name}.add_weight: initializer returned shape {value.shape}, expected {shape}")
        w = _tensor_cls()(np.ascontiguousarray(value), requires_grad=bool(trainable and self.trainable))
        w.name = name or f"variable_{len(self._own_trainable) + len(self._own_non_trainable)}"
        w.path = f"{self.name}/{w.name}"
        w.trainable = bool(trainable)
        w.constraint = constraint
        w.regularizer = _regularizers.get(regularizer)
        (self._own_trainable if trainable else self._own_non_trainable).append(w)
        _structure_changed()
        if w.regularizer is not None:
            self._regularized.append(w)
        return w

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
        return _unique(self._own_trainable + [w for l in self._layers for w in l.trainable_weights])

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
        return _unique(self._own_non_trainable
                       + [w for l in self._layers for w in l.non_trainable_weights])

    variables, trainable_variables, non_trainable_variables = weights, trainable_weights, non_trainable_weights

    def get_weights(self):
        """Copies of the weights as ndarrays, in ``weights`` order."""
        return [np.array(w.data, copy=True) for w in self.weights]

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
            w.data[...] = np.asarray(v, dtype=w.data.dtype)

    def count_params(self):
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: call it or build() it first")
        return int(sum(math.prod(w.shape) for w in self.weights))

    # -- losses ---------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar Tensor to ``losses`` for the current call (e.g. an activity penalty)."""
        self._call_losses.append(loss)

    @property
    def losses(self):
        """Losses of the last call plus the current regularization penalties, sub-layers included."""
        out = list(self._call_losses)
        out += [w.regularizer(w) for w in self._regularized]
        for layer in self._layers:
            out += layer.losses
        return out

    def _clear_losses(self):
        self._call_losses.clear()
        for layer in self._layers:
            layer._clear_losses()

    # -- build / call ---------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the weights for ``input_shape`` (batch dimension included, may be None)."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True
            self._build_input_shape = input_shape

    def __call__(self, inputs, *args, **kwargs):
        if type(inputs) is _tensor_cls():  # the common case, without walking a structure
            inputs = self._convert_input(inputs)
        elif is_symbolic(inputs):
            return self._symbolic_call(inputs, *args, **kwargs)
        else:
            inputs = map_structure(self._convert_input, inputs)
        training = kwargs.pop("training", None)
        if training is None and call_state.training:
            training = call_state.training[-1]
        if training is None:  # neither passed nor set by an enclosing call: call()'s default (Keras)
            training = _training_default(type(self).call)
        if call_state.depth == 0:
            self._clear_losses()
        call_state.depth += 1
        call_state.training.append(training)
        try:
            if not self.built:
                self._maybe_build(map_structure(lambda t: tuple(t.shape), inputs))
            if _accepts(type(self).call, "training"):
                kwargs["training"] = bool(training)
            if _profiling.state.recorder is None:
                outputs = self.call(inputs, *args, **kwargs)
            else:  # minicnn.utils.profile is timing this thread's layers
                outputs = _profiling.state.recorder.layer_call(self, inputs, args, kwargs)
            if _debugging._state.enabled:
                _debugging.after_forward(self, inputs, outputs)
            reg = getattr(self, "activity_regularizer", None)
            if reg is not None:
                for out in flatten(outputs):
                    self.add_loss(reg(out))
        finally:
            call_state.depth -= 1
            call_state.training.pop()
        return outputs

    def _convert_input(self, x):
        Tensor = _tensor_cls()
        if not isinstance(x, Tensor):
            if x is None or isinstance(x, (str, bool)):
                return x
            x = np.asarray(x)
            if x.dtype.kind == "c":  # a cast to float would silently drop the imaginary part
                raise TypeError(f'layer "{self.name}" ({type(self).__name__}): complex input '
                                f"(dtype {x.dtype}, shape {x.shape}) is not supported")
            if x.dtype.kind == "f" or x.dtype == object:
                x = x.astype(self.dtype if self._autocast else x.dtype, copy=False)
            return Tensor(x)
        if self._autocast and x.dtype.kind == "f" and x.dtype != _np_dtype(self.dtype):
            return x.astype(self.dtype)
        return x

    def _symbolic_call(self, inputs, *args, **kwargs):
        if args:
            raise TypeError(f"{self.name}: extra positional arguments are not supported in a graph")
        in_shapes = map_structure(lambda t: t.shape, inputs)
        try:
            self._maybe_build(in_shapes)
            out_shapes = self.compute_output_shape(in_shapes)
        except (ValueError, TypeError) as e:
            raise type(e)(
                f'layer "{self.name}" ({type(self).__name__}) cannot take input of shape '
                f"{_shape_str(in_shapes)}: {e}") from None
        node_index = len(self._inbound_nodes)
        flat_shapes = _flatten_shapes(out_shapes)
        outs = [KerasTensor(s, self.dtype, name=f"{self.name}_output_{i}" if i else self.name,
                            history=(self, node_index, i)) for i, s in enumerate(flat_shapes)]
        outputs = outs[0] if _is_single_shape(out_shapes) else _pack_shapes(out_shapes, outs)
        self._inbound_nodes.append(Node(self, inputs, kwargs, outputs))
        return outputs

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; the default runs ``call`` on zeros to find out."""
        from minicnn.autograd import no_grad
        dummy = map_shapes(lambda s: np.zeros(tuple(1 if d is None else d for d in s),
                                              dtype=self.dtype), _shape_tree(input_shape))
        with no_grad():
            out = self(dummy, training=False)
        batch_unknown = any(s[0] is None for s in flatten_shapes_list(input_shape) if s)
        return map_structure(
            lambda t: (None,) + tuple(t.shape[1:]) if batch_unknown else tuple(t.shape), out)

    @property
    def input(self):
        return self._node_attr("call_args", "input")

    @property
    def output(self):
        return self._node_attr("outputs", "output")

    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name!r} has never been called on a symbolic input, "
                                 f"so it has no {what}")
        return getattr(self._inbound_nodes[0], attr)

    # -- config ---------------------------------------------------------------------------
    def get_config(self):
        """Constructor arguments as a dict (``from_config(get_config())`` rebuilds the layer)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if type(self).get_config is not Layer.get_config or type(self).__init__ is Layer.__init__:
            return config
        args, kwargs = self._init_args
        params = [p for p in inspect.signature(type(self).__init__).parameters.values()][1:]
        extra = {}
        for p, a in zip([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)], args):
            extra[p.name] = a
        extra.update({k: v for k, v in kwargs.items() if k not in config})
        if not _is_basic(extra):
            raise NotImplementedError(
                f"{type(self).__name__} has constructor arguments that are not plain values; "
                "override get_config() to make it serialisable")
        config.update(extra)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        if self.built and self._build_input_shape is not None:
            return {"input_shape": _to_lists(self._build_input_shape)}
        return None

    def build_from_config(self, config):
        shape = config.get("input_shape") if config else None
        if shape is not None and not self.built:
            self._maybe_build(_shape_tree(shape))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


clear_session = _context.clear_session
