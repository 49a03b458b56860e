"""The benchmark models, written once against Keras 3's API and built by every Keras-like peer:
``build(keras, name)`` with ``keras`` being ``minicnn`` or Keras itself (``import minicnn as keras``
vs ``import keras``), so both frameworks train exactly the same layers.

  ref     reference CNN: Conv2D(32,3,relu) -> MaxPool2 -> Conv2D(64,3,relu) -> MaxPool2 -> Flatten
          -> Dense(128,relu) -> Dense(10); 28x28x1, valid padding (225,034 parameters)
  lenet   LeNet-5: Conv2D(6,5,relu) -> MaxPool2 -> Conv2D(16,5,relu) -> MaxPool2 -> Flatten
          -> Dense(120,relu) -> Dense(84,relu) -> Dense(10); 28x28x1 (44,426 parameters)
  resnet  CIFAR-shaped ResNet-20 (He et al. 2016, section 4.2): 32x32x3, a 3x3 stem, three stages of
          three residual blocks with 16, 32, 64 filters (the 2nd and 3rd stage start with stride 2,
          with a 1x1 convolution + batch norm on the shortcut there), BatchNormalization after every
          convolution, GlobalAveragePooling2D -> Dense(10) (about 0.27M parameters)

Nothing here imports a framework: this file is read by minicnn's and TensorFlow's processes alike.
"""

# name -> (input shape without the batch, default training batch sizes)
SPECS = {
    "ref": ((28, 28, 1), (64, 128)),
    "lenet": ((28, 28, 1), (64, 128)),
    "resnet": ((32, 32, 3), (128,)),
}


def reference_cnn(keras, input_shape=(28, 28, 1)):
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=input_shape),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)], name="reference_cnn")


def lenet5(keras, input_shape=(28, 28, 1)):
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=input_shape),
        L.Conv2D(6, 5, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(120, activation="relu"), L.Dense(84, activation="relu"),
        L.Dense(10)], name="lenet5")


def _conv_bn(keras, x, filters, kernel_size, strides=1):
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(x)
    return keras.layers.BatchNormalization()(x)


def _residual_block(keras, x, filters, strides):
    L = keras.layers
    y = L.Activation("relu")(_conv_bn(keras, x, filters, 3, strides))
    y = _conv_bn(keras, y, filters, 3)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(keras, x, filters, 1, strides)
    return L.Activation("relu")(L.Add()([y, shortcut]))


def resnet20(keras, input_shape=(32, 32, 3), blocks_per_stage=3):
    L = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = L.Activation("relu")(_conv_bn(keras, inputs, 16, 3))
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        for b in range(blocks_per_stage):
            x = _residual_block(keras, x, filters, strides if b == 0 else 1)
    outputs = L.Dense(10)(L.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="resnet20")


_BUILDERS = {"ref": reference_cnn, "lenet": lenet5, "resnet": resnet20}


def build(keras, name, input_shape=None):
    """The model ``name`` (a key of SPECS) built with the Keras-like module ``keras``."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}: choose from {sorted(_BUILDERS)}")
    return _BUILDERS[name](keras, input_shape or SPECS[name][0])


def compile_for_training(keras, model):
    """Adam(1e-3, epsilon=1e-7), softmax cross-entropy on logits, accuracy: the same on every side."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
