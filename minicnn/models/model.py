"""``Model``: a Layer with the training API (``Trainer``) and model-level introspection.

``Model(inputs, outputs)`` builds a functional graph (returns a ``Functional``); subclass
``Model`` and define ``call()`` for imperative models.

>>> import numpy as np
>>> import minicnn
>>> minicnn.layers.clear_session()
>>> class TwoLayer(minicnn.Model):
...     def __init__(self, **kwargs):
...         super().__init__(**kwargs)
...         self.hidden = minicnn.layers.Dense(8, activation="relu")
...         self.out = minicnn.layers.Dense(2)
...     def call(self, x):
...         return self.out(self.hidden(x))
>>> model = TwoLayer()
>>> model(np.ones((3, 4))).shape
(3, 2)
>>> [l.name for l in model.layers], len(model.weights)
(['dense', 'dense_1'], 4)
"""

import numpy as np

from minicnn import serialization
from minicnn.autograd import no_grad
from minicnn.export import export_model
from minicnn.layers._shapes import _shape_tree, map_shapes
from minicnn.layers.base import Layer
from minicnn.layers.node import KerasTensor, flatten, is_symbolic
from minicnn.models.summary import print_summary
from minicnn.models.trainer import Trainer
from minicnn.serialization import register_builtin

__all__ = ["Model"]


def _is_functional_args(args, kwargs):
    return (len(args) >= 2 or ("inputs" in kwargs and "outputs" in kwargs)
            or (len(args) == 1 and "outputs" in kwargs))


@register_builtin("minicnn.models")
class Model(Trainer, Layer):
    """Base of all models (``Sequential``, functional, subclassed)."""

    _autocast = False  # each inner layer casts to its own dtype
    # Sequential and functional models run chains such as Conv2D -> BatchNormalization -> ReLU as
    # one step in inference, bitwise the same numbers (minicnn/models/_fusion.py says when); False
    # on a model runs every layer on its own (so does MINICNN_FUSION=0 for the whole process).
    fuse_inference = True

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_args(args, kwargs):
            from minicnn.models.functional import Functional
            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        from minicnn.models.functional import Functional
        if _is_functional_args(args, kwargs) and not isinstance(self, Functional):
            # A subclass that builds a graph in __init__ and hands it to super().__init__:
            # become a functional subclass of itself (what Keras 3 does).
            object.__setattr__(self, "__class__", _functional_subclass(type(self)))
            Functional.__init__(self, *args, **kwargs)
            return
        if args or set(kwargs) - {"name", "trainable", "dtype"}:
            raise TypeError(
                f"{type(self).__name__}(): a subclassed Model takes only name=, trainable=, dtype= "
                f"in super().__init__(); got positional {len(args)} and keywords {sorted(kwargs)}. "
                "For a graph use Model(inputs, outputs).")
        Layer.__init__(self, **kwargs)
        if "__init__" in Trainer.__dict__:
            Trainer.__init__(self)
        object.__setattr__(self, "_n_outputs", None)

    # -- calling --------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        symbolic = is_symbolic(inputs)
        out = Layer.__call__(self, inputs, *args, **kwargs)
        if not symbolic:
            object.__setattr__(self, "built", True)
            object.__setattr__(self, "_n_outputs", len(flatten(out)))
        return out

    def _maybe_build(self, input_shape):
        if self.built:
            return
        if type(self).build is Model.build:
            # A subclassed model is built by running call() (which builds its layers).
            object.__setattr__(self, "_build_input_shape", input_shape)
            return
        Layer._maybe_build(self, input_shape)

    def build(self, input_shape=None):
        """Build a subclassed model by running it once on zeros of ``input_shape``."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"{self.name}.build() needs input_shape")
        shapes = _shape_tree(input_shape)
        dummy = map_shapes(lambda s: np.zeros(tuple(1 if d is None else d for d in s),
                                              dtype=self.dtype), shapes)
        with no_grad():
            self(dummy, training=False)
        object.__setattr__(self, "_build_input_shape", shapes)

    # -- introspection --------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at position ``index`` in ``layers``)."""
        if index is not None and name is not None:
            raise ValueError("get_layer: pass name= or index=, not both")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has "
                                 f"{len(layers)} layers")
            return layers[index]
        if name is None:
            raise ValueError("get_layer: pass name= or index=")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no such layer: {name!r}; existing layers are {[l.name for l in layers]}")

    @property
    def inputs(self):
        return None

    @property
    def outputs(self):
        return None

    @property
    def output_names(self):
        return [f"output_{i}" for i in range(self._n_outputs or 1)]

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print Keras 3's summary table (see :func:`minicnn.models.summary.print_summary`)."""
        return print_summary(self, line_length=line_length, positions=positions,
                             print_fn=print_fn, show_trainable=show_trainable,
                             layer_range=layer_range)

    def _summary_output_shape(self, layer):
        """Output shape of ``layer`` inside this model, or None if unknown."""
        shape = layer._build_input_shape
        if not layer.built or shape is None:
            return None
        try:
            out = layer.compute_output_shape(shape)
        except Exception:
            return None
        return out

    def export(self, filepath, format="onnx", verbose=None, input_signature=None, *,
               opset_version=None, input_layout="NHWC"):
        """Write the model's inference pass as an ONNX file (Keras 3's ``export``; ``"onnx"`` is
        the one format, and needs ``pip install "minicnn[onnx]"``).

        ``opset_version``: 13 to 21 (default 17).  ``input_layout``: ``"NHWC"`` takes inputs as
        ``predict`` does; ``"NCHW"`` takes 4-D inputs channels-first.  ``input_signature``: the
        input shape(s) of a subclassed model never called.  ``verbose`` (default True) prints
        where the file went.  See :mod:`minicnn.export`.
        """
        export_model(self, filepath, format=format, verbose=verbose,
                     input_signature=input_signature, opset_version=opset_version,
                     input_layout=input_layout)

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (``serialize(model)``; ``kwargs`` go to
        ``json.dumps``); ``minicnn.models.model_from_json`` rebuilds it, without the weights."""
        import json
        return json.dumps(serialization.serialize(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if cls is Model and "layers" in config and "input_layers" in config:
            from minicnn.models.functional import Functional
            return Functional.from_config(config, custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls):
    if cls not in _FUNCTIONAL_SUBCLASSES:
        from minicnn.models.functional import Functional
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)
