"""Every layer of issue 16 item 4 inside a Sequential and a functional model: predictions equal
the layer's own output, ``model.save`` / ``load_model`` round trips (config and weights), the
model config survives JSON, ``fit`` runs a step and training-only layers stay inactive in
``predict``."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn import models

# name -> (factory, per-sample input shape, input kind)
SINGLE = {
    "conv1d": (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="relu"), (8, 2)),
    "maxpool1d": (lambda: L.MaxPooling1D(2), (8, 2)),
    "avgpool1d": (lambda: L.AveragePooling1D(3, strides=1, padding="same"), (8, 2)),
    "gap1d": (lambda: L.GlobalAveragePooling1D(), (8, 2)),
    "gmp1d": (lambda: L.GlobalMaxPooling1D(keepdims=True), (8, 2)),
    "zero_padding1d": (lambda: L.ZeroPadding1D((1, 2)), (8, 2)),
    "cropping1d": (lambda: L.Cropping1D((1, 2)), (8, 2)),
    "cropping2d": (lambda: L.Cropping2D(((1, 0), (0, 2))), (6, 6, 2)),
    "permute": (lambda: L.Permute((2, 1)), (8, 2)),
    "repeat_vector": (lambda: L.RepeatVector(3), (4,)),
    "spatial_dropout1d": (lambda: L.SpatialDropout1D(0.5, seed=1), (8, 2)),
    "spatial_dropout2d": (lambda: L.SpatialDropout2D(0.5, seed=1), (6, 6, 2)),
    "gaussian_noise": (lambda: L.GaussianNoise(0.2, seed=1), (4,)),
    "gaussian_dropout": (lambda: L.GaussianDropout(0.2, seed=1), (4,)),
    "identity": (lambda: L.Identity(), (4,)),
    "rescaling": (lambda: L.Rescaling(1 / 255, offset=0.5), (6, 6, 2)),
    "normalization_fixed": (lambda: L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0]), (6, 6, 2)),
    "random_rotation": (lambda: L.RandomRotation(0.2, seed=1), (6, 6, 2)),
    "random_zoom": (lambda: L.RandomZoom(0.2, seed=1), (6, 6, 2)),
    "random_contrast": (lambda: L.RandomContrast(0.3, seed=1), (6, 6, 2)),
    "random_brightness": (lambda: L.RandomBrightness(0.3, seed=1), (6, 6, 2)),
    "layer_norm": (lambda: L.LayerNormalization(axis=[1, 2]), (6, 6, 2)),
    "group_norm": (lambda: L.GroupNormalization(groups=2), (6, 6, 4)),
    "resizing": (lambda: L.Resizing(4, 8, interpolation="bicubic"), (6, 6, 2)),
    "center_crop": (lambda: L.CenterCrop(4, 3), (6, 6, 2)),
    "upsampling2d": (lambda: L.UpSampling2D(2, interpolation="bilinear"), (3, 3, 2)),
    "upsampling1d": (lambda: L.UpSampling1D(2), (4, 2)),
}
MERGE = {
    "subtract": lambda: L.Subtract(),
    "average": lambda: L.Average(),
    "maximum": lambda: L.Maximum(),
    "minimum": lambda: L.Minimum(),
    "dot": lambda: L.Dot(axes=1, normalize=True),
}


@pytest.fixture(autouse=True)
def fresh_names():
    minicnn.layers.clear_session()


def _data(shape, n=5, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n,) + shape).astype("float32")


def _head():
    return [L.Flatten(), L.Dense(2)]


def _round_trip(model, x, tmp_path, name):
    """Save, reload, compare predictions and configs (through JSON)."""
    want = model.predict(x, verbose=0)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    again = models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    return want


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_in_sequential_and_functional_models(name, tmp_path):
    factory, shape = SINGLE[name]
    x = _data(shape)
    seq = minicnn.Sequential([minicnn.Input(shape), factory()] + _head())
    layer = seq.layers[0]
    # predict runs in inference mode: the model's output is the head applied to the layer's.
    inner = layer(x, training=False)
    np.testing.assert_allclose(seq.predict(x, verbose=0), seq.layers[2](seq.layers[1](inner)).numpy(),
                               rtol=1e-6, atol=1e-7)
    want = _round_trip(seq, x, tmp_path, "seq")

    inp = minicnn.Input(shape)
    out = _head()[1](L.Flatten()(factory()(inp)))
    fun = models.Model(inp, out)
    fun.set_weights(seq.get_weights())
    np.testing.assert_allclose(fun.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    _round_trip(fun, x, tmp_path, "fun")

    seq.compile(optimizer="sgd", loss="mse")
    history = seq.fit(x, np.zeros((len(x), 2), "float32"), epochs=1, batch_size=5, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("name", sorted(MERGE))
def test_merge_layers_in_a_two_input_model(name, tmp_path):
    a, b = minicnn.Input((4,)), minicnn.Input((4,))
    merged = MERGE[name]()([L.Dense(4)(a), L.Dense(4)(b)])
    model = models.Model([a, b], L.Dense(1)(merged))
    x = [_data((4,), seed=1), _data((4,), seed=2)]
    _round_trip(model, x, tmp_path, name)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((5, 1), "float32"), epochs=1, verbose=0)


def test_adapted_normalization_and_embedding_survive_save_and_load(tmp_path):
    data = _data((3,)) * 10 + 5
    norm = L.Normalization()
    norm.adapt(data)
    model = minicnn.Sequential([minicnn.Input((3,)), norm, L.Dense(1)])
    _round_trip(model, data, tmp_path, "norm")
    assert model.count_params() == 3 + 3 + 1 + 4  # mean, variance, count; Dense
    tokens = np.random.default_rng(0).integers(0, 20, (6, 5)).astype("float32")
    emb = minicnn.Sequential([minicnn.Input((5,)), L.Embedding(20, 3), L.Conv1D(2, 2),
                              L.GlobalMaxPooling1D(), L.Dense(1)])
    _round_trip(emb, tokens, tmp_path, "emb")
    emb.compile(optimizer="adam", loss="mse")
    emb.fit(tokens, np.ones((6, 1), "float32"), epochs=2, verbose=0)


def test_augmentation_is_active_in_fit_and_inactive_in_predict():
    x = _data((6, 6, 1))
    model = minicnn.Sequential([minicnn.Input((6, 6, 1)), L.RandomRotation(0.5, seed=0), L.Flatten()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(5, -1))
    assert not np.allclose(model(x, training=True).numpy(), x.reshape(5, -1))


def test_integer_input_feeds_an_embedding(tmp_path):
    inp = minicnn.Input((None,), dtype="int64")
    assert inp.dtype == "int64"
    x = L.GlobalAveragePooling1D()(L.Conv1D(4, 3, padding="causal")(L.Embedding(30, 8)(inp)))
    model = models.Model(inp, L.Dense(1)(x))
    tokens = np.random.default_rng(1).integers(0, 30, (6, 7))
    _round_trip(model, tokens, tmp_path, "int_input")
    assert models.Model.from_config(model.get_config()).inputs[0].dtype == "int64"
    model.compile(optimizer="adam", loss="mse")
    model.fit(tokens, np.ones((6, 1), "float32"), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="floating"):
        minicnn.Input((3,), dtype="complex64")
