"""Hostile model files cost bounded memory and fail with a SavedModelError naming file and member.

The bombs are small on disk (a deflate stream of a megabyte of zeros repeated, about 1 KB per MB
inflated, written as raw zip records so that the declared sizes can lie) and would each cost
gigabytes if loading trusted them.  A child process loads them all and reports its peak resident
memory after each one; the parent checks that no file raised the peak by more than ``RSS_SLACK``.
"""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.saving import SavedModelError

GIB = 1 << 30
#: What loading any of the hostile files below may add to the peak resident memory of a process
#: that already imported minicnn (the legitimate model is a few KB: this is read buffers and the
#: small model the config describes; before the checks the bombs cost 1-3 GB each).
RSS_SLACK = 48 << 20


def _model():
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"),
                                layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 6, 6, 1), np.float32), np.array([0, 1, 2, 0]), verbose=0)
    return model


@pytest.fixture(scope="module")
def legit(tmp_path_factory):
    path = tmp_path_factory.mktemp("legit") / "m.minicnn"
    _model().save(path)
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


# ------------------------------------------------------------------ raw zip records
class _Member:
    """A zip member as raw records: ``data`` compressed with ``method``; the header declares
    ``size`` bytes with checksum ``crc`` (both may lie)."""

    def __init__(self, data, method, size, crc):
        self.data, self.method, self.size, self.crc = data, method, size, crc


def _stored(payload):
    return _Member(payload, zipfile.ZIP_STORED, len(payload), zlib.crc32(payload))


def _deflated_zeros(prefix, n_zero_bytes, declared_size=None):
    """``prefix`` followed by ``n_zero_bytes`` zeros, deflated in about 1 KB per MiB of zeros."""
    mib = 1 << 20
    whole, rest = divmod(n_zero_bytes, mib)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    # After a full flush no block refers back, so one MiB's blocks can be repeated verbatim.
    block = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)
    crc, zeros = zlib.crc32(prefix), bytes(mib)
    for _ in range(whole):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    size = len(prefix) + n_zero_bytes
    return _Member(head + block * whole + tail, zipfile.ZIP_DEFLATED,
                   size if declared_size is None else declared_size, crc)


def _write_zip(path, members):
    """Local records, central directory, end record: the zip layout, without zipfile's checks."""
    out, central = bytearray(), bytearray()
    for name, m in members.items():
        m = m if isinstance(m, _Member) else _stored(m)
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.method, 0, 0x21, m.crc,
                           len(m.data), m.size, len(raw), 0) + raw + m.data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.method, 0, 0x21, m.crc,
                               len(m.data), m.size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    with open(path, "wb") as f:
        f.write(out + central + end)
    return path


def _npy_header(shape, dtype="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": tuple(shape)})
    return buf.getvalue()


def _config_with(legit, edit):
    config = json.loads(legit["config.json"])
    edit(config["model"]["config"]["layers"])
    return json.dumps(config).encode()


def _set_dense_units(units):
    def edit(layer_configs):
        layer_configs[3]["config"]["units"] = units
    return edit


def _bombs(legit, directory):
    """{name: (path, member the error must name)} for the memory bombs of issue 18."""
    n = GIB
    kernel = legit["weights/00000.npy"]
    cases = {
        # A 1 MB file whose first weight inflates to 1 GiB (the manifest says 18 floats).
        "npy_bomb": ({"weights/00000.npy": _deflated_zeros(_npy_header((n // 4,)), n)}, "weights/00000.npy"),
        # The same, with the manifest agreeing with the bomb: the config still says (3, 3, 1, 2).
        "npy_bomb_in_manifest": ({
            "weights/00000.npy": _deflated_zeros(_npy_header((n // 4,)), n),
            "weights/arrays.json": json.dumps([{"shape": [n // 4], "dtype": "<f4"}]
                                              + json.loads(legit["weights/arrays.json"])[1:]).encode(),
        }, "config.json"),
        # A member that declares its honest small size but whose stream inflates to 1 GiB.
        "npy_lying_size": ({"weights/00000.npy": _deflated_zeros(kernel[:128], n,
                                                                 declared_size=len(kernel))},
                           "weights/00000.npy"),
        "json_bomb": ({"config.json": _deflated_zeros(b"{}", n)}, "config.json"),
        "json_lying_size": ({"config.json": _deflated_zeros(b"{}", n, declared_size=100)}, "config.json"),
        # An 8 KB config asking for a 1 GiB Dense kernel over the 3-unit weights in the file.
        "dense_8_400_000": ({"config.json": _config_with(legit, _set_dense_units(8_400_000))}, "config.json"),
        "dense_10e15": ({"config.json": _config_with(legit, _set_dense_units(10 ** 15))}, "config.json"),
        "manifest_2e40": ({"weights/arrays.json": json.dumps(
            [{"shape": [2 ** 40], "dtype": "<f4"}] * 4).encode()}, "weights/00000.npy"),
    }
    out = {}
    for name, (replace, member) in cases.items():
        out[name] = (str(_write_zip(directory / f"{name}.minicnn", {**legit, **replace})), member)
    return out


_LOADER = textwrap.dedent("""
    import json, resource, sys
    import minicnn
    from minicnn.saving import SavedModelError

    def peak():  # bytes (ru_maxrss is KB on Linux, bytes on macOS)
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == "darwin" else r * 1024

    minicnn.saving.load_model(sys.argv[1])  # the legitimate file: warms every code path up
    print(json.dumps({"case": "baseline", "peak": peak()}), flush=True)
    for path in sys.argv[2:]:
        try:
            minicnn.saving.load_model(path)
            error = None
        except SavedModelError as exc:
            error = str(exc)
        print(json.dumps({"case": path, "peak": peak(), "error": error}), flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS from the resource module (POSIX)")
def test_hostile_files_cost_bounded_memory(tmp_path, legit):
    bombs = _bombs(legit, tmp_path)
    for path, _ in bombs.values():
        assert os.path.getsize(path) < 2 << 20, "the bombs themselves are small on disk"
    legit_path = _write_zip(tmp_path / "legit.minicnn", legit)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", _LOADER, str(legit_path)] + [p for p, _ in bombs.values()],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    baseline = rows[0]["peak"]
    by_path = {row["case"]: row for row in rows[1:]}
    for name, (path, member) in bombs.items():
        row = by_path[path]
        assert row["error"] is not None, f"{name}: loaded without an error"
        assert row["error"].startswith(f"{path}: member {member!r}"), (name, row["error"])
        grew = row["peak"] - baseline
        assert grew < RSS_SLACK, f"{name}: peak RSS grew by {grew / 2 ** 20:.0f} MiB ({row['error']})"


# ------------------------------------------------------------------ not regular files
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused():
    with pytest.raises(SavedModelError, match="/dev/zero: is a device"):
        minicnn.saving.load_model("/dev/zero")


def test_directory_is_refused(tmp_path):
    with pytest.raises(SavedModelError, match=f"{tmp_path}: is a directory"):
        minicnn.saving.load_model(tmp_path)
    with pytest.raises(SavedModelError, match="is a directory"):
        _model().load_weights(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.minicnn"
    os.mkfifo(fifo)
    # In a child with a timeout: a loader that opened the FIFO for reading would wait forever.
    code = ("import sys, minicnn\ntry:\n    minicnn.saving.load_model(sys.argv[1])\n"
            "except minicnn.saving.SavedModelError as e:\n    print(e)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert f"{fifo}: is a FIFO" in out.stdout, out.stderr[-2000:]


# ------------------------------------------------------------------ errors that escaped before
def _layers_nested(depth):
    """A config that parses (JSON nesting < 1000) but whose rebuilding recurses ~2 frames deep
    per level: Python's recursion limit is hit while the layers are deserialized."""
    config = {"model": {"module": "minicnn.models", "class_name": "Sequential", "registered_name": None,
                        "config": {"name": "s", "layers": "NEST"}}}
    return json.dumps(config).replace('"NEST"', "[" * depth + "]" * depth).encode()


def _manifest_dtype(dtype):
    def edit(members):
        listing = json.loads(members["weights/arrays.json"])
        listing[0]["dtype"] = dtype
        members["weights/arrays.json"] = json.dumps(listing).encode()
    return edit


def _compile_config(value):
    def edit(members):
        config = json.loads(members["config.json"])
        config["compile_config"] = value
        members["config.json"] = json.dumps(config).encode()
    return edit


def _replace(member, payload):
    def edit(members):
        members[member] = payload
    return edit


def _weights_as(dtype):
    """Every weight (and its manifest entry) stored as ``dtype``: the manifest matches."""
    def edit(members):
        listing = json.loads(members["weights/arrays.json"])
        for i, entry in enumerate(listing):
            buf = io.BytesIO()
            np.save(buf, np.ones(entry["shape"], dtype=dtype))
            members[f"weights/{i:05d}.npy"] = buf.getvalue()
            entry["dtype"] = np.dtype(dtype).str
        members["weights/arrays.json"] = json.dumps(listing).encode()
    return edit


def _optimizer_slot_as(dtype):
    def edit(members):
        listing = json.loads(members["optimizer/arrays.json"])
        buf = io.BytesIO()
        np.save(buf, np.ones(listing[1]["shape"], dtype=dtype))
        members["optimizer/00001.npy"] = buf.getvalue()
        listing[1]["dtype"] = np.dtype(dtype).str
        members["optimizer/arrays.json"] = json.dumps(listing).encode()
    return edit


ESCAPES = {
    # member the error must name, how to make the file
    "nested_json_100000": ("config.json", _replace("config.json", b"[" * 100000 + b"]" * 100000)),
    "nested_layers_600": ("config.json", _replace("config.json", _layers_nested(600))),
    "int_5000_digits_config": ("config.json", _replace("config.json", b'{"model": ' + b"9" * 5000 + b"}")),
    "int_5000_digits_metadata": ("metadata.json", _replace(
        "metadata.json", b'{"format": "minicnn", "kind": "model", "format_version": ' + b"1" * 5000 + b"}")),
    "dtype_i4_-1f4": ("weights/arrays.json", _manifest_dtype("i4,(-1)f4")),
    "dtype_subarray": ("weights/arrays.json", _manifest_dtype("(2,)<f4")),
    "dtype_object": ("weights/arrays.json", _manifest_dtype("|O")),
    "dtype_void": ("weights/arrays.json", _manifest_dtype("|V8")),
    "dtype_not_str": ("weights/arrays.json", _manifest_dtype(["<f4"])),
    "compile_config_string": ("config.json", _compile_config("garbage")),
    "compile_config_unknown_optimizer": ("config.json", _compile_config({"optimizer": "no-such-optimizer"})),
    "compile_config_bad_loss": ("config.json", _compile_config({"optimizer": "adam", "loss": 5})),
    "compile_config_nested_deeply": ("config.json", _compile_config(
        {"optimizer": json.loads("[" * 900 + "]" * 900)})),
    "weights_int64": ("weights/00000.npy", _weights_as(np.int64)),
    "weights_complex": ("weights/00000.npy", _weights_as(np.complex64)),
    "optimizer_slot_int64": ("optimizer/00001.npy", _optimizer_slot_as(np.int64)),
    "npy_header_too_long": ("weights/00000.npy", _replace(
        "weights/00000.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b" " * 64)),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_every_load_failure_is_a_saved_model_error(tmp_path, legit, case):
    member, edit = ESCAPES[case]
    members = dict(legit)
    edit(members)
    path = _write_zip(tmp_path / f"{case}.minicnn", members)
    with pytest.raises(SavedModelError) as info:
        minicnn.saving.load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and f"member {member!r}" in message, message
    if case.startswith("nested"):
        assert "nested too deeply" in message


@pytest.mark.parametrize("dtype", [np.int64, np.complex64])
def test_load_weights_refuses_other_kinds_and_leaves_the_model_alone(tmp_path, legit, dtype):
    members = dict(legit)
    _weights_as(dtype)(members)
    path = _write_zip(tmp_path / "w.minicnn", members)
    model = _model()
    before = model.get_weights()
    with pytest.raises(SavedModelError, match=r"weights/00000.npy.*refusing|in the file"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_float64_weights_load_into_a_float32_model(tmp_path, legit):
    """Another float precision is a legitimate cast (Keras does it); other kinds are not."""
    members = dict(legit)
    _weights_as(np.float64)(members)
    path = _write_zip(tmp_path / "w.minicnn", members)
    model = _model()
    model.load_weights(path)
    assert all(w.dtype == np.float32 and np.all(w == 1) for w in model.get_weights())


def test_legitimate_file_written_by_the_raw_writer_loads(tmp_path, legit):
    """The raw zip writer the bombs use makes loadable files: the failures above are the checks'."""
    model = minicnn.saving.load_model(_write_zip(tmp_path / "ok.minicnn", legit))
    np.testing.assert_array_equal(model.get_weights()[2], _model().get_weights()[2])
    members = dict(legit)
    members["weights/00002.npy"] = _deflated_zeros(_npy_header((32, 3)), 32 * 3 * 4)
    model = minicnn.saving.load_model(_write_zip(tmp_path / "zeros.minicnn", members))
    assert not model.get_weights()[2].any()
