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

import inspect

import numpy as np

from minicnn import _profiling
from minicnn import debugging as _debugging
from minicnn.autograd import Tensor
from minicnn.layers import _context
from minicnn.layers._build import call_shapes, first_parameter, shape_arguments, wrap_build
from minicnn.layers._context import call_state, standardize_dtype, to_snake_case, unique_name
from minicnn.layers._graph import SymbolicCalls, has_tensors, is_tensor, shape_of
from minicnn.layers._shapes import _accepts, _is_basic, _shape_tree, _to_lists, _training_default
from minicnn.layers._weights import LayerWeights, structure_changed as _structure_changed
from minicnn.layers._weights import weight_creation_check  # noqa: F401 - minicnn.saving sets it
from minicnn.layers.node import flatten, is_symbolic, map_structure, standardize_shape
from minicnn.variables import Variable, name_scope

__all__ = ["Layer"]


_NP_DTYPES = {}

def _np_dtype(name):
    """np.dtype(name), parsed once per name (it runs on every layer call)."""
    d = _NP_DTYPES.get(name)
    if d is None:
        d = _NP_DTYPES[name] = np.dtype(name)
    return d


class Layer(LayerWeights, SymbolicCalls):
    """Base class of all layers (and, through ``Model``, of all models)."""

    _autocast = True  # cast floating inputs to the layer's dtype (Keras' autocast)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None:
            cls.build = wrap_build(build)

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

    def __call__(self, *args, **kwargs):
        if args:
            inputs, args = args[0], args[1:]
        else:  # layer(logits=x, targets=y): the first argument of call() by keyword
            inputs = kwargs.pop(self._first_argument_name(kwargs))
        if type(inputs) is Tensor:  # the common case, without walking a structure
            inputs = self._convert_input(inputs)
        elif is_symbolic(inputs) or ((args or kwargs) and is_symbolic((args, kwargs))):
            return self._symbolic_call(inputs, args, kwargs)
        else:
            inputs = map_structure(self._convert_input, inputs)
        if args:
            args = map_structure(self._convert_array, args)
        training = kwargs.pop("training", None)
        if kwargs:
            if "mask" in kwargs and not _accepts(type(self).call, "mask"):
                del kwargs["mask"]  # Keras passes a mask only to a call() that takes one
            kwargs = map_structure(self._convert_array, kwargs)
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
                self._build_for_call(inputs, args, kwargs)
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

    def _first_argument_name(self, kwargs):
        name = first_parameter(type(self).call)
        if name is None or name not in kwargs:
            raise TypeError(f'layer "{self.name}" ({type(self).__name__}) was called without '
                            f"inputs: pass them as the first argument"
                            + (f" or as {name}=" if name else ""))
        return name

    def _build_for_call(self, inputs, args, kwargs):
        """Build from the shapes of a first call's tensor arguments: ``build(input_shape)`` gets
        the first one's, a ``build(self, a_shape, b_shape)`` each by name (Keras' rule)."""
        if self.built or self.__dict__.get("_building"):
            return
        if args or has_tensors(kwargs):
            shapes = call_shapes(type(self).call, self, (inputs,) + tuple(args), kwargs,
                                 is_tensor, shape_of)
            named = shape_arguments(type(self).build, shapes, self)
            if len(named) > 1:
                self.build(**named)
                return
        self._maybe_build(map_structure(shape_of, inputs))

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
        if not self._autocast:
            return x
        # Runs on every layer call: the identity test settles the common case (numpy hands out
        # one dtype object per builtin type), and reading dtype.kind costs more than comparing.
        have, want = x.data.dtype, _np_dtype(self.dtype)
        if have is want or have == want or have.kind != "f":
            return x
        return x.astype(self.dtype)

    def _convert_array(self, x):
        # Arguments after the first: arrays become Tensors, plain Python values stay (Keras).
        return self._convert_input(x) if isinstance(x, np.ndarray) else x

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


Layer.build = wrap_build(Layer.build)

clear_session = _context.clear_session
