"""Hostile files: model archives and dataset files that are truncated, bit-flipped or crafted.

Loading must either give back exactly what was saved or raise a clear ValueError naming the
file -- never crash, hang, allocate what the file cannot hold, write outside its own path or run
code (pickles, imports named by a config).  A save interrupted at any point, even by SIGKILL,
leaves the previous file intact.
"""

import gzip
import io
import json
import os
import signal
import struct
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers
from minicnn.datasets import cifar10
from minicnn.datasets._idx import parse_cifar_batch, read_idx

FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _model(seed=0):
    minicnn.utils.set_random_seed(seed)
    model = minicnn.Sequential([
        minicnn.Input((6, 6, 1)),
        layers.Conv2D(2, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


X = np.random.default_rng(0).normal(size=(4, 6, 6, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = _model()
    model.fit(X, np.array([0, 1, 2, 0]), verbose=0)
    path = tmp_path_factory.mktemp("saved") / "m.minicnn"
    model.save(path)
    return path.read_bytes(), model.predict(X, verbose=0)


def _load_or_clear_error(path):
    """The loaded model, or None after a clear ValueError that names the file."""
    try:
        return minicnn.saving.load_model(path)
    except ValueError as e:
        assert os.fspath(path) in str(e), f"error does not name the file: {e}"
        return None


# ------------------------------------------------------------------ damaged model files
@FUZZ
@given(st.data(), st.sampled_from(["truncate", "flip", "splat", "append"]))
def test_damaged_model_file(tmp_path, saved, data, how):
    blob, expected = saved
    raw = bytearray(blob)
    if how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "splat":
        i = data.draw(st.integers(0, len(raw) - 1))
        n = data.draw(st.integers(1, 64))
        raw[i:i + n] = data.draw(st.binary(min_size=n, max_size=n))
    else:
        raw += data.draw(st.binary(min_size=1, max_size=64))
    path = tmp_path / f"damaged-{how}.minicnn"
    path.write_bytes(bytes(raw))
    model = _load_or_clear_error(path)
    if model is not None:
        # only bytes no reader depends on changed (timestamps, padding): same model
        np.testing.assert_array_equal(model.predict(X, verbose=0), expected)


def _archive(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in members:
            zf.writestr(name, payload)


def _members(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        return [(i.filename, zf.read(i.filename)) for i in zf.infolist()]


def test_pickled_payload_never_runs(tmp_path, saved):
    sentinel = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Touch(str(sentinel))
    buf = io.BytesIO()
    np.save(buf, evil, allow_pickle=True)
    members = [(n, buf.getvalue() if n == "weights/00000.npy" else p) for n, p in _members(saved[0])]
    _archive(tmp_path / "evil.minicnn", members)
    with pytest.raises(ValueError, match="evil.minicnn"):
        minicnn.saving.load_model(tmp_path / "evil.minicnn")
    model = _model()
    with pytest.raises(ValueError, match="evil.minicnn"):
        model.load_weights(tmp_path / "evil.minicnn")
    assert not sentinel.exists()


class _Touch:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_config_naming_an_importable_module_never_imports_it(tmp_path, saved, monkeypatch):
    sentinel = tmp_path / "imported"
    (tmp_path / "evil_minicnn_mod.py").write_text(
        f"open({str(sentinel)!r}, 'w').close()\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    members = _members(saved[0])
    config = json.loads(dict(members)["config.json"])
    config["model"]["config"]["layers"][1]["module"] = "evil_minicnn_mod"
    config["model"]["config"]["layers"][1]["class_name"] = "Evil"
    config["model"]["config"]["layers"][1]["registered_name"] = "evil_minicnn_mod>Evil"
    members = [(n, json.dumps(config) if n == "config.json" else p) for n, p in members]
    _archive(tmp_path / "cfg.minicnn", members)
    with pytest.raises(ValueError, match="cfg.minicnn"):
        minicnn.saving.load_model(tmp_path / "cfg.minicnn")
    assert not sentinel.exists() and "evil_minicnn_mod" not in sys.modules


@pytest.mark.parametrize("extra", ["../../escaped.txt", "/tmp/minicnn-absolute-escape.txt",
                                   "weights/../../escaped2.txt"])
def test_path_traversal_members_are_never_extracted(tmp_path, saved, extra):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    _archive(work / "m.minicnn", _members(saved[0]) + [(extra, b"payload")])
    model = _load_or_clear_error(work / "m.minicnn")
    if model is not None:
        np.testing.assert_array_equal(model.predict(X, verbose=0), saved[1])
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "escaped2.txt").exists()
    assert not os.path.exists("/tmp/minicnn-absolute-escape.txt")


@pytest.mark.parametrize("member, payload", ids=lambda v: str(v)[:24], argvalues=[
    ("metadata.json", json.dumps({"format": "minicnn", "kind": "model", "format_version": 10**30})),
    ("metadata.json", json.dumps({"format": "minicnn", "kind": "model", "format_version": "1"})),
    ("metadata.json", json.dumps([1, 2, 3])),
    ("metadata.json", b"\xff\xfe\x00"),
    ("config.json", json.dumps({"model": {"class_name": "Sequential", "config": {"layers": "x"}}})),
    ("config.json", "[" * 100000 + "]" * 100000),  # deep nesting: RecursionError territory
    ("weights/arrays.json", json.dumps([{"shape": [2**40], "dtype": "<f4"}])),
    ("weights/arrays.json", json.dumps([{"shape": "x", "dtype": "not-a-dtype"}])),
    ("weights/arrays.json", json.dumps({"a": 1})),
    ("weights/00000.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
                          + b" " * 50 + b"\n"),
    ("weights/00000.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '|O'}\n"),
    ("optimizer/arrays.json", json.dumps([{"shape": [], "dtype": "<i8"}] * 1000)),
])
def test_hostile_member_contents(tmp_path, saved, member, payload):
    members = [(n, payload if n == member else p) for n, p in _members(saved[0])]
    path = tmp_path / "hostile.minicnn"
    _archive(path, members)
    t0 = time.perf_counter()
    model = _load_or_clear_error(path)
    assert time.perf_counter() - t0 < 30, "hostile member made loading crawl"
    if model is not None:
        np.testing.assert_array_equal(model.predict(X, verbose=0), saved[1])


def test_duplicate_and_odd_member_names(tmp_path, saved):
    members = _members(saved[0])
    with pytest.warns(UserWarning):  # zipfile warns about the duplicate name it is asked to write
        _archive(tmp_path / "dup.minicnn", members + [("config.json", "{}"), ("weird\x01name", b"")])
    model = _load_or_clear_error(tmp_path / "dup.minicnn")
    if model is not None:
        np.testing.assert_array_equal(model.predict(X, verbose=0), saved[1])


# ------------------------------------------------------------------ interrupted saves
_SAVER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import minicnn
    from minicnn import layers
    from minicnn.saving import file_format
    minicnn.utils.set_random_seed(1)
    m = minicnn.Sequential([minicnn.Input((6, 6, 1)), layers.Conv2D(64, 3), layers.Flatten(),
                            layers.Dense(3)])
    real = file_format._npy_bytes
    def slow(a):  # a save that takes a while, so the parent can kill it midway
        time.sleep(0.02)
        return real(a)
    file_format._npy_bytes = slow
    print("ready", flush=True)
    while True:
        for w in m.weights:
            w.data[...] += 1
        m.save(sys.argv[1])
""")


def test_sigkill_during_save_leaves_previous_file_loadable(tmp_path, saved):
    path = tmp_path / "m.minicnn"
    path.write_bytes(saved[0])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    for delay in (0.15, 0.4):
        # cwd outside the source tree, which `python -c` would otherwise import first
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, env=env,
                                cwd=tmp_path)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        model = minicnn.saving.load_model(path)  # the old file or a complete new one
        assert model.predict(X[:1], verbose=0).shape == (1, 3)
    # the killed writer may leave its hidden temporary sibling behind, never a partial m.minicnn
    assert all(n == "m.minicnn" or n.startswith(".m.minicnn.") for n in os.listdir(tmp_path))


def test_exception_midway_leaves_previous_file_identical(tmp_path, monkeypatch, saved):
    path = tmp_path / "m.minicnn"
    path.write_bytes(saved[0])
    from minicnn.saving import file_format
    calls = []
    real = file_format._npy_bytes

    def interrupted(a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing the weights
        return real(a)

    monkeypatch.setattr(file_format, "_npy_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _model(5).save(path)
    assert path.read_bytes() == saved[0]
    assert os.listdir(tmp_path) == ["m.minicnn"]


# ------------------------------------------------------------------ dataset files
def _idx_bytes(array, code=0x08):
    return struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.astype(array.dtype.newbyteorder(">")).tobytes()


IMAGES = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


@FUZZ
@given(st.data(), st.sampled_from(["truncate", "flip", "append"]), st.booleans())
def test_damaged_idx_file(tmp_path, data, how, gz):
    raw = bytearray(_idx_bytes(IMAGES))
    if gz:
        raw = bytearray(gzip.compress(bytes(raw)))
    if how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    else:
        raw += data.draw(st.binary(min_size=1, max_size=16))
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes(raw))
    try:
        out = read_idx(path, expected_shape=(None, 4, 5))
    except ValueError as e:
        assert str(path) in str(e)
        return
    # IDX has no checksum: a flipped payload byte reads as a different pixel, nothing worse
    assert out.shape == IMAGES.shape and out.dtype == np.uint8
    assert how == "flip" or (gz and how == "append")
    assert np.count_nonzero(out != IMAGES) <= 1


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (60000, 100000), (2**31, 4)])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_header_claiming_more_than_the_file_holds(tmp_path, dims, gz):
    raw = struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + b"abc"
    path = tmp_path / "claims-idx-ubyte"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=str(path)):
        read_idx(path)


@FUZZ
@given(st.binary(max_size=2 * 3073 + 5))
def test_cifar_batch_random_bytes(blob):
    try:
        x, y = parse_cifar_batch(blob, "batch")
    except ValueError as e:
        assert "batch" in str(e)
        return
    assert x.shape == (len(blob) // 3073, 32, 32, 3) and y.max(initial=0) < 10


def test_cifar_archive_with_traversal_and_links(tmp_path):
    """Members are read as bytes, never extracted: '../' names and links cannot write anything."""
    record = bytes([3]) + bytes(3072)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("../../data_batch_1.bin", "/abs/test_batch.bin"):
            info = tarfile.TarInfo(name)
            info.size = len(record)
            tar.addfile(info, io.BytesIO(record))
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_2.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    work = tmp_path / "d"
    work.mkdir()
    (work / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="cifar-10-binary.tar.gz"):
        cifar10.load_data(path=work)
    assert sorted(os.listdir(work)) == ["cifar-10-binary.tar.gz"]
    assert not (tmp_path / "data_batch_1.bin").exists()
