"""Saving and loading: round trips, resumed training, atomic writes, and damaged files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.saving import SavedModelError


def cnn(seed=0):
    minicnn.utils.set_random_seed(seed)
    return minicnn.Sequential([
        minicnn.Input((6, 6, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])  # no Dropout: its random masks would make the resumed-training comparisons meaningless


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 6, 1)).astype(np.float32)
    y = (x[:, :3].mean(axis=(1, 2, 3)) > 0).astype(np.int64) + (x[:, 3:].mean(axis=(1, 2, 3)) > 0.2)
    return x, y


def compiled(seed=0, optimizer=None):
    model = cnn(seed)
    sched = minicnn.optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.9)
    model.compile(optimizer=optimizer or minicnn.optimizers.Adam(sched, clipnorm=1.0),
                  loss=minicnn.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        np.testing.assert_array_equal(u, v)


# ------------------------------------------------------------------ round trips
def test_save_load_round_trip_predictions_and_compile_state(tmp_path):
    x, y = data()
    model = compiled()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.minicnn"
    model.save(path)
    loaded = minicnn.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer) is minicnn.optimizers.Adam
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate
    assert loaded.optimizer.clipnorm == 1.0
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # one more step on both: identical weights (optimizer moments were restored)
    model.train_on_batch(x[:16], y[:16])
    loaded.train_on_batch(x[:16], y[:16])
    assert_same_weights(model, loaded)


def test_training_resumes_as_if_uninterrupted(tmp_path):
    x, y = data()
    straight = compiled(seed=1)
    straight.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    first = compiled(seed=1)
    first.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    first.save(tmp_path / "half.minicnn")
    resumed = minicnn.models.load_model(tmp_path / "half.minicnn")
    resumed.fit(x, y, batch_size=16, epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    assert_same_weights(straight, resumed)


def test_save_weights_load_weights(tmp_path):
    x, y = data()
    model = compiled()
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights")
    other = compiled(seed=5)
    other.load_weights(tmp_path / "w.weights")
    assert_same_weights(model, other)  # BatchNormalization moving stats included
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(SavedModelError, match="whole model"):
        minicnn.models.load_model(tmp_path / "w.weights")


def test_uncompiled_model_and_overwrite(tmp_path):
    model = cnn()
    path = tmp_path / "plain.minicnn"
    model.save(path)
    loaded = minicnn.models.load_model(path)
    assert not getattr(loaded, "compiled", False)
    x, _ = data(4)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def my_loss(y_true, y_pred):
    return minicnn.losses.sparse_categorical_crossentropy(y_true, y_pred) * 2.0


def test_custom_objects(tmp_path):
    x, y = data(16)
    model = cnn()
    model.compile(optimizer="sgd", loss=my_loss)
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "custom.minicnn")
    with pytest.raises(ValueError, match="my_loss"):
        minicnn.models.load_model(tmp_path / "custom.minicnn")
    loaded = minicnn.models.load_model(tmp_path / "custom.minicnn", custom_objects={"my_loss": my_loss})
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


# ------------------------------------------------------------------ atomic writes
def test_save_is_atomic(tmp_path, monkeypatch):
    model = compiled()
    path = tmp_path / "m.minicnn"
    model.save(path)
    good = path.read_bytes()
    assert os.listdir(tmp_path) == ["m.minicnn"]

    from minicnn.saving import file_format

    def broken(array):
        raise OSError("disk full")

    monkeypatch.setattr(file_format, "_npy_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == good  # the old file is untouched
    assert os.listdir(tmp_path) == ["m.minicnn"]  # and no temporary file is left behind


# ------------------------------------------------------------------ damaged files
@pytest.fixture
def saved(tmp_path):
    model = compiled()
    x, y = data(16)
    model.fit(x, y, verbose=0)
    path = tmp_path / "m.minicnn"
    model.save(path)
    return path


def rewrite(path, member, payload):
    """Copy the archive with ``member`` replaced by ``payload`` (bytes), or dropped if None."""
    with zipfile.ZipFile(path) as src:
        items = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for name, blob in items:
            if name == member:
                if payload is not None:
                    dst.writestr(name, payload)
            else:
                dst.writestr(name, blob)


def test_truncated_file(saved):
    blob = saved.read_bytes()
    saved.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SavedModelError, match=f"{saved}.*truncated"):
        minicnn.models.load_model(saved)


def test_corrupted_bytes_fail_the_crc(saved):
    blob = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("weights/00000.npy")
    start = info.header_offset + 30 + len(info.filename) + 140  # inside the array payload
    blob[start:start + 8] = b"\xff" * 8
    saved.write_bytes(bytes(blob))
    with pytest.raises(SavedModelError, match=r"weights/00000.npy.*corrupted"):
        minicnn.models.load_model(saved)


def test_not_a_model_file(tmp_path):
    junk = tmp_path / "junk.minicnn"
    junk.write_bytes(b"hello, this is not a zip file" * 10)
    with pytest.raises(SavedModelError, match="not a minicnn file"):
        minicnn.models.load_model(junk)
    with pytest.raises(FileNotFoundError):
        minicnn.models.load_model(tmp_path / "missing.minicnn")


def test_wrong_version(saved):
    with zipfile.ZipFile(saved) as zf:
        meta = json.loads(zf.read("metadata.json"))
    meta["format_version"] = 99
    rewrite(saved, "metadata.json", json.dumps(meta))
    with pytest.raises(SavedModelError, match="unsupported format_version 99"):
        minicnn.models.load_model(saved)


def test_missing_member_and_bad_json(saved, tmp_path):
    rewrite(saved, "weights/00001.npy", None)
    with pytest.raises(SavedModelError, match="'weights/00001.npy' is missing"):
        minicnn.models.load_model(saved)
    rewrite(saved, "config.json", b"{not json")
    with pytest.raises(SavedModelError, match="not valid JSON"):
        minicnn.models.load_model(saved)


def test_pickled_arrays_are_refused(saved):
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    rewrite(saved, "weights/00000.npy", buf.getvalue())
    with pytest.raises(SavedModelError, match="not a valid .npy"):
        minicnn.models.load_model(saved)


def test_manifest_and_architecture_mismatch(saved, tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 2), np.float32))
    rewrite(saved, "weights/00000.npy", buf.getvalue())
    with pytest.raises(SavedModelError, match="the manifest says"):
        minicnn.models.load_model(saved)

    model = compiled()
    model.save_weights(tmp_path / "w.weights")
    minicnn.utils.set_random_seed(0)
    other = minicnn.Sequential([minicnn.Input((6, 6, 1)), layers.Conv2D(5, 3), layers.Flatten(),
                                layers.Dense(3)])
    before = other.get_weights()
    with pytest.raises(SavedModelError, match=r"w.weights.*weights but the model|shape"):
        other.load_weights(tmp_path / "w.weights")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)  # a failed load changes nothing


def test_error_is_a_value_error():
    assert issubclass(SavedModelError, ValueError)
