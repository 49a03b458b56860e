# keras-io guides/making_new_layers_and_models_via_subclassing.py (Keras 3), "Privileged training
# argument in the call() method" (the layer, used in a model).
# Copyright the Keras authors, Apache License 2.0: a test input of minicnn's conformance corpus
# (tests/keras_io/README.md), not product code.
# Changed: imports; the guide only defines CustomDropout: two calls use it.
import numpy as np
import minicnn as keras
from minicnn import ops
from minicnn import layers


class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate)
        return inputs


layer = CustomDropout(0.5)
x = ops.ones((4, 8))
print(layer(x, training=True))
print(layer(x, training=False))
