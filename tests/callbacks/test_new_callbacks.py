"""BackupAndRestore, TensorBoard (event files read back), RemoteMonitor and TerminateOnNaN with
Keras 3's semantics."""

import http.server
import json
import os
import struct
import sys
import threading
import urllib.parse

import numpy as np
import pytest

import minicnn
from minicnn import callbacks as cb


def model_and_data(seed=0, n=48):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    minicnn.utils.set_random_seed(seed)
    model = minicnn.Sequential([minicnn.Input((4,)), minicnn.layers.Dense(8, activation="relu"),
                                minicnn.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=minicnn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, x, y


class Interrupt(cb.Callback):
    """Raises when ``epoch`` (or the batch ``batch`` of it) begins, as Keras' docstring example."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch and self.batch is None:
            raise RuntimeError("Interrupting!")

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise RuntimeError("Interrupting!")


# ------------------------------------------------------------------ BackupAndRestore
def test_backup_and_restore_resumes_at_the_right_epoch_with_the_optimizer_state(tmp_path):
    # the uninterrupted run
    model, x, y = model_and_data()
    model.fit(x, y, epochs=6, batch_size=8, shuffle=False, verbose=0)
    expected = model.get_weights()
    # Keras' docstring: interrupted at (zero-based) epoch 4, the second fit runs the last 2 epochs
    model, x, y = model_and_data()
    backup = cb.BackupAndRestore(backup_dir=tmp_path / "backup")
    with pytest.raises(RuntimeError, match="Interrupting"):
        model.fit(x, y, epochs=6, batch_size=8, shuffle=False, verbose=0, callbacks=[backup, Interrupt(4)])
    assert sorted(os.listdir(tmp_path / "backup")) == ["latest.minicnn"]  # one file, no temporaries
    model = model_and_data(seed=1)[0]  # a fresh model: the backup brings everything back
    history = model.fit(x, y, epochs=6, batch_size=8, shuffle=False, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations == 6 * 6
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)  # Adam's moments were restored too
    assert not (tmp_path / "backup").exists()  # delete_checkpoint=True removes it at the end


def test_backup_every_n_batches_restarts_the_unfinished_epoch(tmp_path):
    model, x, y = model_and_data()
    backup = cb.BackupAndRestore(tmp_path, save_freq=4, delete_checkpoint=False)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[backup, Interrupt(1, batch=5)])
    # saved after batches 4 of epoch 0 (6 batches: the count carries over) and 2 of epoch 1
    model2, _, _ = model_and_data(seed=3)
    history = model2.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 2  # epoch 1 (unfinished) again, then epoch 2
    assert (tmp_path / "latest.minicnn").exists()


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    model, x, y = model_and_data()
    backup = cb.BackupAndRestore(tmp_path, double_checkpoint=True, delete_checkpoint=False)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[backup, Interrupt(3)])
    assert sorted(os.listdir(tmp_path)) == ["latest.minicnn", "latest.minicnn.bkp"]
    (tmp_path / "latest.minicnn").write_bytes(b"corrupted")
    history = model_and_data()[0].fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 3  # the previous backup holds 2 finished epochs
    # without a previous one, a damaged backup is an error naming the file
    (tmp_path / "latest.minicnn.bkp").unlink()
    (tmp_path / "latest.minicnn").write_bytes(b"corrupted")
    with pytest.raises(ValueError, match="latest.minicnn"):
        model_and_data()[0].fit(x, y, epochs=5, verbose=0, callbacks=[backup])


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="backup_dir"):
        cb.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        cb.BackupAndRestore("x", save_freq="batch")


# ------------------------------------------------------------------ TensorBoard
def read_events(directory):
    """Every Event in the directory's event files, parsed from the TFRecord framing (length,
    masked CRC, payload, masked CRC) with tensorboardX's Event protobuf."""
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for name in sorted(os.listdir(directory)):
        assert name.startswith("events.out.tfevents."), name
        data = (directory / name).read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            events.append(Event.FromString(data[pos + 12:pos + 12 + length]))
            pos += 12 + length + 4
        assert pos == len(data)
    return events


def scalars(directory):
    out = {}
    for event in read_events(directory):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_tensorboard_writes_keras_tags_read_back_from_the_event_files(tmp_path):
    model, x, y = model_and_data()
    tb = cb.TensorBoard(log_dir=tmp_path, histogram_freq=1, update_freq=2, write_images=True)
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[tb])
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history.history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{name}"]], history.history[f"val_{name}"], rtol=1e-6)
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.01, 0.01])
    # 36 training samples / 8 = 5 batches per epoch, 10 in all; update_freq=2: steps 2, 4, ..., 10
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8, 10]
    # each validation pass is also logged against the optimizer's iterations
    assert [s for s, _ in val["evaluation_loss_vs_iterations"]] == [5, 10]
    tags = {v.tag for e in read_events(tmp_path / "train") for v in e.summary.value}
    kernel = model.layers[0].weights[0]
    name = str(getattr(kernel, "path", None) or kernel.name).replace(":", "_")
    assert f"{name}/histogram" in tags and f"{name}/image" in tags
    # the model's config for the graph dashboard, at step 0
    graph = [v for e in read_events(tmp_path / "train") for v in e.summary.value if v.tag == "keras"]
    assert graph[0].metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graph[0].tensor.string_val[0])["class_name"] == "Sequential"


def test_tensorboard_epoch_only_by_default_and_arguments(tmp_path):
    model, x, y = model_and_data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb.TensorBoard(tmp_path, write_graph=False)])
    assert set(scalars(tmp_path / "train")) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert not (tmp_path / "validation").exists()
    with pytest.raises(ValueError, match="update_freq"):
        cb.TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="profil"):
        cb.TensorBoard(tmp_path, profile_batch=(2, 4))


def test_tensorboard_names_the_extra_when_tensorboardx_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r'pip install "minicnn\[tensorboard\]"'):
        cb.TensorBoard("logs")


# ------------------------------------------------------------------ RemoteMonitor
def test_remote_monitor_posts_each_epoch_as_form_or_json():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}"
        model, x, y = model_and_data()
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[
            cb.RemoteMonitor(root=root, headers={"X-Run": "7"}),
            cb.RemoteMonitor(root=root, path="/json", send_as_json=True)])
    finally:
        server.shutdown()
        server.server_close()
    form = [r for r in received if r[0] == "/publish/epoch/end/"]
    as_json = [r for r in received if r[0] == "/json"]
    assert len(form) == len(as_json) == 2
    assert form[0][1] == "application/x-www-form-urlencoded" and form[0][2] == "7"
    sent = json.loads(urllib.parse.parse_qs(form[1][3].decode())["data"][0])
    assert sent["epoch"] == 1 and sent["loss"] == pytest.approx(history.history["loss"][1])
    assert as_json[0][1] == "application/json" and json.loads(as_json[0][3])["epoch"] == 0


def test_remote_monitor_warns_when_the_server_is_unreachable():
    monitor = cb.RemoteMonitor(root="http://127.0.0.1:9", timeout=2)
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        monitor.on_epoch_end(0, {"loss": np.float32(1.0)})


# ------------------------------------------------------------------ TerminateOnNaN
class NaNAt(cb.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            logs["loss"] = float("nan")


class Ends(cb.Callback):
    def __init__(self):
        super().__init__()
        self.ended = False

    def on_train_end(self, logs=None):
        self.ended = True


def test_terminate_on_nan_stops_gracefully_or_raises():
    model, x, y = model_and_data()
    ends = Ends()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[NaNAt(), cb.TerminateOnNaN(), ends])
    assert len(history.history["loss"]) == 1 and ends.ended
    model, x, y = model_and_data()
    ends = Ends()
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                  callbacks=[NaNAt(), cb.TerminateOnNaN(raise_error=True), ends])
    assert not ends.ended  # raise_error: no cleanup hook runs (a backup would be kept)


# ------------------------------------------------------------------ "auto" mode from the metric
@pytest.mark.parametrize("make", [
    lambda: cb.EarlyStopping(monitor="val_prec", patience=0),
    lambda: cb.ReduceLROnPlateau(monitor="val_prec", patience=1),
])
def test_auto_mode_follows_the_metrics_direction(make):
    # "prec" ends in none of the names the fallback knows: Keras 3 asks the metric (Precision: up)
    model, x, y = model_and_data()
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[minicnn.metrics.Precision(name="prec", class_id=1)])
    callback = make()
    assert callback.mode == "min"
    model.fit(x, np.eye(2)[y], epochs=1, validation_split=0.25, verbose=0, callbacks=[callback])
    assert callback.mode == "max"


def test_tensorboard_embeddings_for_the_projector(tmp_path):
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((3,), dtype="int32"), minicnn.layers.Embedding(10, 4),
                                minicnn.layers.Flatten(), minicnn.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 10, size=(16, 3))
    model.fit(x, x[:, 0] % 2, epochs=1, verbose=0, callbacks=[cb.TensorBoard(tmp_path, embeddings_freq=1)])
    config = (tmp_path / "train" / "projector_config.pbtxt").read_text()
    assert model.layers[0].name in config
    tsv = next((tmp_path / "train").rglob("tensors.tsv"))
    table = np.loadtxt(tsv, delimiter="\t")
    np.testing.assert_allclose(table, np.asarray(model.layers[0].embeddings.data if hasattr(
        model.layers[0].embeddings, "data") else model.layers[0].embeddings), rtol=1e-5, atol=1e-6)
