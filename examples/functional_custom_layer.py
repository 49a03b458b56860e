"""The functional API and a custom layer: a CNN with squeeze-and-excitation channel attention.

    python examples/functional_custom_layer.py
    python examples/functional_custom_layer.py --subset 2000 --epochs 1

``SqueezeExcite`` (Hu et al., 2018) is written the way any minicnn layer is: weights created in
``build(input_shape)`` with ``add_weight``, the computation in ``call`` with differentiable
``minicnn.ops`` (so backward comes for free), and ``get_config`` so the model can be saved and
loaded.  The network is wired with ``minicnn.Input`` and ``minicnn.Model(inputs, outputs)``,
including a skip connection that a ``Sequential`` model cannot express.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import minicnn as keras  # noqa: E402
from minicnn import layers, ops, serialization  # noqa: E402


@serialization.register_serializable(package="examples")
class SqueezeExcite(layers.Layer):
    """Rescale each channel by a gate computed from the whole feature map.

    squeeze: average each channel over H and W -> (N, C); excite: Dense(C / ratio, relu) ->
    Dense(C, sigmoid) -> per-channel gates in (0, 1) that multiply the input.
    """

    def __init__(self, ratio=4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(ratio, int) or ratio < 1:
            raise ValueError(f"ratio must be a positive int, got {ratio!r}")
        self.ratio = ratio

    def build(self, input_shape):
        channels = input_shape[-1]
        hidden = max(1, channels // self.ratio)
        self.w1 = self.add_weight(shape=(channels, hidden), initializer="glorot_uniform", name="squeeze_kernel")
        self.b1 = self.add_weight(shape=(hidden,), initializer="zeros", name="squeeze_bias")
        self.w2 = self.add_weight(shape=(hidden, channels), initializer="glorot_uniform", name="excite_kernel")
        self.b2 = self.add_weight(shape=(channels,), initializer="zeros", name="excite_bias")

    def call(self, x):
        squeezed = ops.mean(x, axis=(1, 2))                       # (N, C)
        hidden = ops.relu(ops.matmul(squeezed, self.w1) + self.b1)
        gates = ops.sigmoid(ops.matmul(hidden, self.w2) + self.b2)  # (N, C)
        return x * ops.reshape(gates, (-1, 1, 1, gates.shape[-1]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["ratio"] = self.ratio
        return config


def build_model():
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    attended = SqueezeExcite(ratio=4, name="attention")(x)
    x = layers.Add(name="skip")([x, attended])  # keep the un-gated features too
    x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="se_cnn")


def main(argv=None):
    args = _common.add_common_args(_common.parser(__doc__), epochs=2).parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = _common.load_images("fashion_mnist", args.subset)
    model = build_model()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()
    with _common.threads(args.threads):
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                  validation_split=args.validation_split, verbose=args.verbose)
        _, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"test accuracy: {test_acc:.4f}")

    # The custom layer survives a round trip through the config and through a file.
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "se_cnn.minicnn")
    model.save(path)
    restored = keras.saving.load_model(path)
    probe = x_test[:64]
    reference = model.predict(probe, verbose=0)
    same = all(np.allclose(m.predict(probe, verbose=0), reference, rtol=1e-5, atol=1e-5) for m in (clone, restored))
    print(f"config and file round trips reproduce the predictions: {same}")
    print(f"the attention layer's gates for test image 0: "
          f"{np.round(_gates(model.get_layer('attention'), model, probe[:1]), 2).tolist()[:8]} ...")
    return {"test_accuracy": float(test_acc), "round_trip": bool(same), "model_path": path}


def _gates(se, model, image):
    """The SqueezeExcite gates for one image, via a sub-model ending at the attention input."""
    features = keras.Model(model.inputs, se.input).predict(image, verbose=0)
    squeezed = features.mean(axis=(1, 2))
    w1, b1, w2, b2 = se.get_weights()
    hidden = np.maximum(squeezed @ w1 + b1, 0)
    return (1 / (1 + np.exp(-(hidden @ w2 + b2))))[0]


if __name__ == "__main__":
    main()
