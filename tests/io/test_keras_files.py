"""Real Keras 3 files (written by keras_files/make_keras_files.py with Keras 3.15.1 on
TensorFlow) load into minicnn and predict Keras' numbers; what cannot be mapped, and hostile
HDF5 content, raise SavedModelError naming the layer and the file.  Needs h5py, not Keras."""

import json
import os
import sys
import zipfile

import h5py  # the "h5py" extra, part of the test extra
import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.saving import SavedModelError

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_files")
with open(os.path.join(HERE, "keras_expected.json")) as _f:
    EXPECTED = json.load(_f)
NAMES = sorted(EXPECTED["models"])
WEIGHTS_FILES = sorted(n for n in NAMES if os.path.exists(os.path.join(HERE, n + ".weights.h5")))


def sample_input(shape):
    """make_keras_files.sample_input: the inputs Keras predicted on."""
    n = int(np.prod(shape))
    return np.sin(np.arange(n) * 0.7 + 0.3).reshape(shape).astype("float32")


def _check_predictions(model, name):
    expected = EXPECTED["models"][name]
    x = sample_input(tuple(expected["input_shape"]))
    np.testing.assert_allclose(model.predict(x, verbose=0), np.array(expected["y"], np.float32),
                               rtol=1e-5, atol=1e-5)


def _fixture(name, suffix):
    return os.path.join(HERE, name + suffix)


@pytest.mark.parametrize("name", NAMES)
def test_keras_archive_predicts_like_keras(name):
    model = minicnn.models.load_model(_fixture(name, ".keras"))
    _check_predictions(model, name)


@pytest.mark.parametrize("name", NAMES)
def test_keras_weights_load_into_the_same_architecture(name):
    model = minicnn.models.load_model(_fixture(name, ".keras"))
    # A .keras archive's weights (as Keras allows) and, where written, the .weights.h5 file.
    for suffix in [".keras"] + ([".weights.h5"] if name in WEIGHTS_FILES else []):
        for w in model.weights:
            w.assign(np.zeros(w.shape))
        model.load_weights(_fixture(name, suffix))
        _check_predictions(model, name)


def test_nested_model_weights_are_found_under_its_layers():
    model = minicnn.models.load_model(_fixture("nested", ".keras"))
    inner = model.get_layer("inner")
    assert isinstance(inner, minicnn.Sequential) and len(inner.weights) == 4


def _minicnn_sequential_cnn():
    """The sequential_cnn architecture built by minicnn with its own automatic layer names (and
    fresh weights)."""
    config = minicnn.models.load_model(_fixture("sequential_cnn", ".keras"), compile=False).get_config()
    minicnn.layers.clear_session()
    layers.Dense(1), layers.Conv2D(1, 1)  # shift the automatic names away from Keras'
    for entry in config["layers"]:
        del entry["config"]["name"]
    return minicnn.Sequential.from_config(config)


def test_weights_are_found_by_keras_paths_not_layer_names():
    model = _minicnn_sequential_cnn()
    assert model.layers[-1].name != "dense"
    model.load_weights(_fixture("sequential_cnn", ".weights.h5"))
    _check_predictions(model, "sequential_cnn")


def test_compile_config_is_mapped():
    model = minicnn.models.load_model(_fixture("sequential_cnn", ".keras"))
    assert getattr(model, "compiled", False) and type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(1e-3)
    x = sample_input((8, 10, 10, 1))
    history = model.fit(x, np.arange(8) % 5, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "accuracy" in history.history
    uncompiled = minicnn.models.load_model(_fixture("sequential_cnn", ".keras"), compile=False)
    assert not getattr(uncompiled, "compiled", False)


def test_missing_h5py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r'pip install "minicnn\[h5py\]"'):
        minicnn.models.load_model(_fixture("separable", ".keras"))
    with pytest.raises(ImportError, match=r"minicnn\[h5py\]"):
        _minicnn_sequential_cnn().load_weights(_fixture("sequential_cnn", ".weights.h5"))


def test_keras_and_h5_names_hold_minicnn_files(tmp_path):
    model = _minicnn_sequential_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:  # minicnn's own zip, whatever the name
        assert json.loads(z.read("metadata.json"))["format"] == "minicnn"
    loaded = minicnn.models.load_model(tmp_path / "m.keras")
    x = sample_input((2, 10, 10, 1))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    other = _minicnn_sequential_cnn()
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_to_json_and_model_from_json():
    model = _minicnn_sequential_cnn()
    text = model.to_json(indent=2)
    assert json.loads(text)["class_name"] == "Sequential" and "\n  " in text
    clone = minicnn.models.model_from_json(text)
    assert clone.get_config() == model.get_config() and clone.count_params() == model.count_params()
    with pytest.raises(ValueError, match="model_from_json"):
        minicnn.models.model_from_json("[1, 2]")
    with pytest.raises(ValueError, match="model_from_json"):
        minicnn.models.model_from_json("{not json")


def test_unbuilt_model_is_refused():
    model = minicnn.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.load_weights(_fixture("sequential_cnn", ".weights.h5"))


def test_a_weights_file_is_not_a_model():
    with pytest.raises(SavedModelError, match="not a whole model"):
        minicnn.models.load_model(_fixture("sequential_cnn", ".weights.h5"))


# ------------------------------------------------------------------ what cannot be mapped
def _rewrite_archive(src, dst, config_edit=None, weights=None):
    """Copy the .keras archive ``src`` to ``dst`` with its config edited / weights replaced."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json" and config_edit is not None:
                config = json.loads(data)
                config_edit(config)
                data = json.dumps(config).encode()
            if info.filename == "model.weights.h5" and weights is not None:
                data = weights
            zout.writestr(info.filename, data)
    return dst


def _layer_config(config, class_name):
    return [l for l in config["config"]["layers"] if l["class_name"] == class_name][0]


def test_unknown_layer_names_the_layer_and_the_file(tmp_path):
    def edit(config):
        _layer_config(config, "Dense")["class_name"] = "LSTM"

    path = _rewrite_archive(_fixture("sequential_cnn", ".keras"), tmp_path / "lstm.keras", edit)
    with pytest.raises(SavedModelError, match=r"lstm\.keras.*layer 'dense' \(LSTM\).*minicnn has no LSTM"):
        minicnn.models.load_model(path)


def test_keras_only_setting_is_refused_unless_default(tmp_path):
    def lora(config):
        _layer_config(config, "Dense")["config"]["lora_rank"] = 4

    def unknown(config):
        _layer_config(config, "Conv2D")["config"]["mystery"] = 1

    def default(config):
        _layer_config(config, "Dense")["config"]["lora_rank"] = None

    src = _fixture("sequential_cnn", ".keras")
    with pytest.raises(SavedModelError, match=r"a\.keras.*lora_rank is not supported"):
        minicnn.models.load_model(_rewrite_archive(src, tmp_path / "a.keras", lora))
    with pytest.raises(SavedModelError, match=r"layer 'conv2d' \(Conv2D\) has the setting 'mystery'"):
        minicnn.models.load_model(_rewrite_archive(src, tmp_path / "b.keras", unknown))
    _check_predictions(minicnn.models.load_model(_rewrite_archive(src, tmp_path / "c.keras", default)),
                       "sequential_cnn")


def test_marshalled_lambda_is_refused(tmp_path):
    def edit(config):
        layer = _layer_config(config, "Activation")
        layer["class_name"] = "Lambda"
        layer["config"] = {"name": layer["config"]["name"], "function": {
            "class_name": "__lambda__", "config": {"value": ["4wEAAAAAAAAA", None, None]}}}

    path = _rewrite_archive(_fixture("functional_merge", ".keras"), tmp_path / "lam.keras", edit)
    with pytest.raises(SavedModelError, match="marshalled bytecode"):
        minicnn.models.load_model(path, safe_mode=False)


def test_config_asking_for_more_weights_than_the_file_holds_is_refused(tmp_path):
    def edit(config):
        _layer_config(config, "Dense")["config"]["units"] = 50_000_000

    path = _rewrite_archive(_fixture("sequential_cnn", ".keras"), tmp_path / "big.keras", edit)
    with pytest.raises(SavedModelError, match="holds no .further. variable"):
        minicnn.models.load_model(path)


def test_legacy_keras2_file_is_named(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
    with pytest.raises(SavedModelError, match="Keras 2"):
        _minicnn_sequential_cnn().load_weights(path)


# ------------------------------------------------------------------ hostile HDF5 content
def _weights_file(path, tweak):
    """A copy of sequential_cnn.weights.h5 rebuilt with h5py, ``tweak(file)`` applied."""
    def copy(name, obj):  # returns None: visititems stops at the first other value
        if isinstance(obj, h5py.Dataset):
            dst.create_dataset(name, data=obj[()])
        else:
            dst.require_group(name)

    with h5py.File(_fixture("sequential_cnn", ".weights.h5"), "r") as src, h5py.File(path, "w") as dst:
        src.visititems(copy)
        tweak(dst)
    return path


def _replace(f, name, **kwargs):
    data = f[name][()]
    del f[name]
    f.create_dataset(name, **{"data": data, **kwargs})


def _refused(path, match):
    model = _minicnn_sequential_cnn()
    before = [w.numpy() for w in model.weights]
    with pytest.raises(SavedModelError, match=match):
        model.load_weights(path)
    for w, b in zip(model.weights, before):  # a refused file leaves the model untouched
        np.testing.assert_array_equal(w.numpy(), b)


def test_rebuilt_weights_file_loads(tmp_path):
    model = _minicnn_sequential_cnn()
    model.load_weights(_weights_file(tmp_path / "ok.weights.h5", lambda f: None))
    _check_predictions(model, "sequential_cnn")


def test_wrong_shape_is_refused_before_reading(tmp_path):
    def tweak(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", data=np.zeros((25, 5), np.float32))

    _refused(_weights_file(tmp_path / "shape.weights.h5", tweak),
             r"layer '.*' \(Dense\).*\(24, 5\).*\(25, 5\)")


def test_skip_mismatch_loads_the_layers_that_fit(tmp_path):
    def tweak(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", data=np.zeros((25, 5), np.float32))

    model = _minicnn_sequential_cnn()
    dense_before = model.layers[-1].kernel.numpy()
    model.load_weights(_weights_file(tmp_path / "skip.weights.h5", tweak), skip_mismatch=True)
    np.testing.assert_array_equal(model.layers[-1].kernel.numpy(), dense_before)
    with h5py.File(_fixture("sequential_cnn", ".weights.h5"), "r") as f:
        np.testing.assert_array_equal(model.layers[0].kernel.numpy(), f["layers/conv2d/vars/0"][()])


def test_wrong_count_is_refused(tmp_path):
    _refused(_weights_file(tmp_path / "count.weights.h5", lambda f: f.__delitem__("layers/conv2d/vars/1")),
             r"\(Conv2D\): the layer has 2 weights")


def test_non_numeric_dataset_is_refused(tmp_path):
    def tweak(f):
        del f["layers/dense/vars/1"]
        f.create_dataset("layers/dense/vars/1", data=np.array([b"abcde"] * 5))

    _refused(_weights_file(tmp_path / "str.weights.h5", tweak), "dtype")


def test_compressed_dataset_is_refused(tmp_path):
    _refused(_weights_file(tmp_path / "gz.weights.h5",
                           lambda f: _replace(f, "layers/dense/vars/0", compression="gzip")),
             "chunked or filtered")


def test_external_storage_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(120, dtype=np.float32).tobytes())

    def tweak(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=(24, 5), dtype=np.float32,
                         external=[(str(secret), 0, 480)])

    _refused(_weights_file(tmp_path / "ext.weights.h5", tweak), "stored externally")


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_are_not_followed(tmp_path, link):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=np.zeros((24, 5), np.float32))

    def tweak(f):
        f.create_dataset("elsewhere", data=np.zeros((24, 5), np.float32))
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = (h5py.SoftLink("/elsewhere") if link == "soft"
                                    else h5py.ExternalLink(str(other), "x"))

    _refused(_weights_file(tmp_path / f"{link}.weights.h5", tweak), "Link")


def test_truncated_file_is_refused(tmp_path):
    data = open(_fixture("sequential_cnn", ".weights.h5"), "rb").read()
    for cut in (len(data) // 2, len(data) - 300, 100):
        path = tmp_path / f"cut{cut}.weights.h5"
        path.write_bytes(data[:cut])
        _refused(path, "weights.h5")


def test_garbage_after_the_signature_is_refused(tmp_path):
    path = tmp_path / "junk.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(2000))
    _refused(path, "not a readable HDF5 file")


def test_truncated_archive_is_refused(tmp_path):
    data = open(_fixture("functional_merge", ".keras"), "rb").read()
    path = tmp_path / "cut.keras"
    path.write_bytes(data[: len(data) - 2000])
    with pytest.raises(SavedModelError):
        minicnn.models.load_model(path)


def test_archive_with_damaged_weights_member_is_refused(tmp_path):
    weights = open(_fixture("functional_merge", ".weights.h5"), "rb").read()
    path = _rewrite_archive(_fixture("functional_merge", ".keras"), tmp_path / "bad.keras",
                            weights=weights[:3000])
    with pytest.raises(SavedModelError, match="model.weights.h5"):
        minicnn.models.load_model(path)
