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
import functools
import inspect
import math

import numpy as np

from minicnn import initializers as _initializers, regularizers as _regularizers
from minicnn import _profiling
from minicnn import debugging as _debugging
from minicnn.autograd import Tensor, no_grad
from minicnn.layers import _context
from minicnn.layers._context import call_state, standardize_dtype, to_snake_case, unique_name
from minicnn.layers.node import (KerasTensor, Node, flatten, is_symbolic, map_structure,
                                 standardize_shape)
from minicnn.layers._shapes import (_accepts, _flatten_shapes, _is_basic, _is_single_shape,
                                    _pack_shapes, _shape_str, _shape_tree, _to_lists, _training_default,
                                    _unique, flatten_shapes_list, map_shapes)
from minicnn.variables import Variable, current_path, name_scope

__all__ = ["Layer"]


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


def _wrap_build(build):
    """``build`` that marks the layer built, records its input shapes (``get_build_config``) and
    opens the layer's name scope (its variables' paths), as Keras 3 wraps every layer's build:
    after ``layer.build(shape)`` the first call does not build again, so weights set between the
    two are the ones used.  A ``super().build()`` inside a wrapped build runs unwrapped."""

    @functools.wraps(build)
    def build_wrapper(self, *args, **kwargs):
        if self.__dict__.get("_building"):
            return build(self, *args, **kwargs)
        shapes = inspect.signature(build).bind(self, *args, **kwargs).arguments
        shapes.pop(next(iter(shapes)))  # self
        s = object.__setattr__
        shapes = {k: _as_shapes(v) for k, v in shapes.items()}
        s(self, "_build_shapes_dict", shapes)
        s(self, "_build_input_shape", next(iter(shapes.values()), None))
        s(self, "_building", True)
        try:
            with name_scope(self.name, caller=self):
                s(self, "_path", current_path())
                out = build(self, *args, **kwargs)
        finally:
            s(self, "_building", False)
        s(self, "built", True)
        return out

    build_wrapper._minicnn_wrapped = True
    return build_wrapper


def _as_shapes(value):
    """A shape structure with tuples for shapes (a build() argument may be a list), or the value
    unchanged when it is not one."""
    try:
        return _shape_tree(value)
    except TypeError:
        return value


def _np_dtype(name):
    """np.dtype(name), parsed once per name (it runs on every layer call)."""
    d = _NP_DTYPES.get(name)
    if d is None:
        d = _NP_DTYPES[name] = np.dtype(name)
    return d


class Layer:
    """Base class of all layers (and, through ``Model``, of all models)."""

    _autocast = True  # cast floating inputs to the layer's dtype (Keras' autocast)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_minicnn_wrapped", False):
            cls.build = _wrap_build(build)

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
        s(self, "_path", None)
        s(self, "_build_input_shape", None)
        s(self, "_build_shapes_dict", None)
        s(self, "_input_shape_arg",
          None if input_shape is None else (batch_size,) + standardize_shape(input_shape))

    # -- attribute tracking: sub-layers and variables assigned as attributes are tracked ----
    def __setattr__(self, key, value):
        if "_layers" in self.__dict__ and not key.startswith("_"):
            for v in flatten(value) if isinstance(value, (list, tuple, dict)) else [value]:
                if isinstance(v, Layer) and v is not self and all(v is not x for x in self._layers):
                    self._layers.append(v)
                    _structure_changed()
                elif isinstance(v, Variable) and not self._owns(v):
                    self._track_variable(v)
        object.__setattr__(self, key, value)

    def _owns(self, variable):
        return any(variable is w for w in self._own_trainable + self._own_non_trainable)

    def _track_variable(self, variable):
        (self._own_trainable if variable.trainable else self._own_non_trainable).append(variable)
        if variable.regularizer is not None:
            self._regularized.append(variable)
        _structure_changed()

    @property
    def path(self):
        """The layer's name scope when it was built ("sequential/dense"), None before."""
        return self._path

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
            w.trainable = value
        for layer in self._layers:
            layer.trainable = value

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
        # Not while this layer's own build() is running (a build that calls the layer).
        if not self.built and not self.__dict__.get("_building"):
            self.build(input_shape)

    def __call__(self, inputs, *args, **kwargs):
        if type(inputs) is Tensor:  # the common case, without walking a structure
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
        # The first call builds this layer and the sub-layers its call() uses: inside the
        # layer's name scope, so their variables' paths nest ("model/dense/kernel").
        scope = None if self.built else name_scope(self.name, caller=self).__enter__()
        try:
            if scope is not None:
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
            if scope is not None:
                scope.__exit__()
        return outputs

    def _convert_input(self, x):
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
            with name_scope(self.name, caller=self):
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
        """``{"input_shape": ...}`` (or ``{"shapes_dict": {arg: shape}}`` for a build with
        several shape arguments) that ``build_from_config`` rebuilds the weights from."""
        shapes = self._build_shapes_dict
        if not self.built or not shapes or any(v is None for v in shapes.values()):
            return None
        if len(shapes) == 1:
            return {"input_shape": _to_lists(next(iter(shapes.values())))}
        return {"shapes_dict": {k: _to_lists(v) for k, v in shapes.items()}}

    def build_from_config(self, config):
        if not config or self.built:
            return
        if config.get("input_shape") is not None:
            self._maybe_build(_shape_tree(config["input_shape"]))
        elif config.get("shapes_dict"):
            self.build(**{k: _shape_tree(v) for k, v in config["shapes_dict"].items()})

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


Layer.build = _wrap_build(Layer.build)

clear_session = _context.clear_session
