"""``Sequential``: a plain stack of layers, each with one input and one output.

The input shape comes from ``minicnn.Input(...)`` as the first entry, from ``input_shape=`` on
the first layer, or from the first call / ``build()``.

>>> import minicnn
>>> from minicnn import layers
>>> model = minicnn.Sequential([minicnn.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
...                             layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)])
>>> model.output_shape
(None, 10)
>>> model.count_params()
54410
"""

from minicnn.layers._shapes import _shape_tree
from minicnn.layers._weights import structure_changed as _structure_changed
from minicnn.layers.base import Layer
from minicnn.layers.input_layer import InputLayer
from minicnn.layers.node import KerasTensor
from minicnn.models import _fusion
from minicnn.models.functional import _training
from minicnn.models.model import Model
from minicnn.serialization import deserialize, register_builtin, serialize
from minicnn.variables import name_scope

__all__ = ["Sequential"]


@register_builtin("minicnn.models")
class Sequential(Model):
    """A linear stack of layers (``add()`` / ``pop()``)."""

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        s = object.__setattr__
        s(self, "_seq", [])            # the layers, possibly led by an InputLayer
        s(self, "_out_of", {})         # id(layer) -> its symbolic output in this model
        s(self, "_graph_out", None)
        if layers is not None:
            if isinstance(layers, (Layer, KerasTensor)):
                layers = [layers]
            for layer in layers:
                self.add(layer, rebuild=False)
            self._rebuild()

    # -- editing --------------------------------------------------------------------------
    def add(self, layer, rebuild=True):
        """Append ``layer`` (or ``minicnn.Input(...)`` as the first entry).

        With a known input shape the new layer is called at once, so a shape mismatch raises
        here, naming the layer and the shapes.
        """
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {layer!r} of type "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._seq:
                raise ValueError("Sequential.add: an InputLayer can only be the first layer "
                                 f"(the model already has {[l.name for l in self._seq]})")
        elif not self._seq and layer._input_shape_arg is not None:
            self._seq.append(InputLayer(batch_shape=layer._input_shape_arg))
        if any(l.name == layer.name for l in self._seq):
            raise ValueError(f"Sequential.add: all layers must have unique names; "
                             f"{layer.name!r} is already in the model")
        self._seq.append(layer)
        self._sync()
        if rebuild:
            try:
                if self._graph_out is not None and not isinstance(layer, InputLayer):
                    self._extend(layer)
                else:
                    self._rebuild()
            except (ValueError, TypeError):
                self._seq.pop()
                self._sync()
                raise

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        layers = self.layers
        if not layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = layers[-1]
        self._seq.remove(layer)
        self._sync()
        if rebuild:
            self._rebuild()
        return layer

    def _sync(self):
        object.__setattr__(self, "_layers", list(self._seq))
        _structure_changed()

    def _extend(self, layer):
        # Inside the model's name scope, as Keras builds a Sequential's layers: the weights'
        # paths are "sequential/dense/kernel".
        with name_scope(self.name, caller=self):
            out = layer(self._graph_out)
        self._out_of[id(layer)] = out
        object.__setattr__(self, "_graph_out", out)

    def _rebuild(self):
        object.__setattr__(self, "_graph_out", None)
        self._out_of.clear()
        if not self._seq or not isinstance(self._seq[0], InputLayer):
            object.__setattr__(self, "built", False)
            return
        object.__setattr__(self, "_graph_out", self._seq[0].output)
        for layer in self._seq[1:]:
            self._extend(layer)
        object.__setattr__(self, "built", True)
        object.__setattr__(self, "_build_input_shape", self._seq[0].batch_shape)

    # -- building and running -------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the weights for ``input_shape`` (batch dimension included, may be None)."""
        if self._graph_out is not None:
            return
        if input_shape is None:
            raise ValueError(f'Sequential "{self.name}".build() needs input_shape')
        input_shape = _shape_tree(input_shape)
        if not isinstance(input_shape, tuple):
            raise ValueError(f"Sequential models take one input; got input_shape={input_shape}")
        self._seq.insert(0, InputLayer(batch_shape=input_shape))
        self._sync()
        try:
            self._rebuild()
        except (ValueError, TypeError):
            self._seq.pop(0)
            self._sync()
            raise

    def _maybe_build(self, input_shape):
        if self._graph_out is None:
            if not isinstance(input_shape, tuple):
                raise ValueError(f'Sequential "{self.name}" takes one input, got shapes {input_shape}')
            self.build((None,) + tuple(input_shape[1:]))

    def call(self, inputs, training=None):
        expected = self._seq[0].batch_shape
        shape = tuple(getattr(inputs, "shape", ()))
        if len(shape) != len(expected) or any(e is not None and e != g
                                              for e, g in zip(expected, shape)):
            raise ValueError(f'Sequential "{self.name}" expects inputs of shape {expected}, '
                             f"got {shape}")
        layers, x, i = self.layers, inputs, 0
        plan = _fusion.sequential_plan(self) if _fusion.active(self, _training(training)) else {}
        while i < len(layers):
            chain = plan.get(i)
            y = chain.run(x) if chain is not None else None
            if y is not None:
                x, i = y, i + len(chain.layers)
            else:
                x, i = layers[i](x), i + 1
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # -- introspection --------------------------------------------------------------------
    @property
    def layers(self):
        return [l for l in self._seq if not isinstance(l, InputLayer)]

    @property
    def inputs(self):
        return [self._seq[0].output] if self._graph_out is not None else None

    @property
    def outputs(self):
        return [self._graph_out] if self._graph_out is not None else None

    @property
    def input(self):
        return self._seq[0].output if self._graph_out is not None else None

    @property
    def output(self):
        return self._graph_out

    @property
    def input_shape(self):
        return self._seq[0].batch_shape if self._graph_out is not None else None

    @property
    def output_shape(self):
        return self._graph_out.shape if self._graph_out is not None else None

    @property
    def output_names(self):
        layers = self.layers
        return [layers[-1].name] if layers else []

    def _summary_output_shape(self, layer):
        out = self._out_of.get(id(layer))
        return None if out is None else out.shape

    # -- config ---------------------------------------------------------------------------
    def get_config(self):
        layers = []
        for layer in self._seq:
            entry = serialize(layer)
            if self._graph_out is not None:
                entry.pop("build_config", None)
            layers.append(entry)
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True),
                    dtype=config.get("dtype"))
        for entry in config["layers"]:
            model.add(deserialize(entry, custom_objects=custom_objects), rebuild=False)
        model._rebuild()
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(shape)
        return model
