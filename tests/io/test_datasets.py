"""minicnn.datasets: readers, lookup order, and downloads against a local HTTP server.

No test touches the network: the mirror is a ``http.server`` on 127.0.0.1 (ephemeral port, one
thread) serving small generated IDX / CIFAR files, and each dataset's own mirrors and system
directories are replaced for the duration of the test.
"""

import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import re
import socket
import struct
import tarfile
import threading
import time

import numpy as np
import pytest

from minicnn.datasets import ChecksumError, _download, _files, cifar10, fashion_mnist, mnist, read_idx

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
N_TRAIN, N_TEST = 12, 5


# ---------------------------------------------------------------- generated files

def idx_bytes(arr, type_code=0x08):
    arr = np.asarray(arr)
    head = struct.pack(">BBBB", 0, 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def make_mnist_like(seed, n_train=N_TRAIN, n_test=N_TEST):
    """{published file name: gzipped bytes} and the arrays they hold."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    names = {r: f.name for r, f in fashion_mnist.DATASET.files.items()}
    # mtime=0 makes the gzip bytes (and so their sha256) reproducible.
    blobs = {names[r]: gzip.compress(idx_bytes(a), mtime=0) for r, a in arrays.items()}
    return blobs, arrays


def spec_for(spec, blobs, *, by_content):
    """``spec`` with the generated files' checksums, no real mirrors and no system copies."""
    files = {}
    for role, remote in spec.files.items():
        data = blobs[remote.name]
        if by_content:
            digest = hashlib.sha256(gzip.decompress(data)).hexdigest()
            files[role] = dataclasses.replace(remote, sha256=None, content_sha256=digest)
        else:
            files[role] = dataclasses.replace(remote, sha256=hashlib.sha256(data).hexdigest(), content_sha256=None)
    return dataclasses.replace(spec, files=files, mirrors=(), system_dirs=())


def write_files(directory, blobs, gz=True):
    os.makedirs(directory, exist_ok=True)
    for name, data in blobs.items():
        if gz:
            path = os.path.join(directory, name)
        else:
            path, data = os.path.join(directory, name[:-3]), gzip.decompress(data)
        with open(path, "wb") as f:
            f.write(data)


def cifar_record_bytes(x, y):
    """Binary CIFAR records from channels-last images ``x`` (n, 32, 32, 3) and labels ``y``."""
    planes = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    return np.concatenate([y.reshape(-1, 1).astype(np.uint8), planes], axis=1).tobytes()


def make_cifar(per_batch, seed=0):
    rng = np.random.default_rng(seed)
    batches, xs, ys = {}, [], []
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        x = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, per_batch, dtype=np.uint8)
        batches[name] = cifar_record_bytes(x, y)
        xs.append(x)
        ys.append(y)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), batches, xs, ys


# ---------------------------------------------------------------- local mirror

class Mirror:
    """A tiny HTTP server: serves ``files`` ({url path: bytes}), logs every request, can break
    a transfer half-way (``break_once``) and can ignore Range headers (``ranges = False``)."""

    def __init__(self):
        self.files, self.log, self.break_once, self.ranges = {}, [], set(), True
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                mirror.log.append((self.path, rng))
                data = mirror.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and mirror.ranges:
                    start = int(m.group(1))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in mirror.break_once:
                    mirror.break_once.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def requests_for(self, name):
        return [r for r in self.log if r[0].endswith("/" + name)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror():
    m = Mirror()
    yield m
    m.close()


@pytest.fixture
def env(tmp_path, monkeypatch, mirror):
    """Isolated cache, no $MINICNN_DATA, the local mirror as override, instant retries."""
    monkeypatch.setenv("MINICNN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.delenv("MINICNN_PROGRESS", raising=False)
    monkeypatch.setenv("MINICNN_DATASETS_MIRROR", mirror.url)
    monkeypatch.setattr(_download, "RETRY_DELAY", 0.0)
    monkeypatch.setattr(_download, "READ_TIMEOUT", 10)
    return tmp_path


@pytest.fixture
def fashion(env, mirror, monkeypatch):
    """Generated Fashion-MNIST served at <mirror>/fashion-mnist/<file>."""
    blobs, arrays = make_mnist_like(seed=1)
    monkeypatch.setattr(fashion_mnist, "DATASET", spec_for(fashion_mnist.DATASET, blobs, by_content=True))
    for name, data in blobs.items():
        mirror.files[f"/fashion-mnist/{name}"] = data
    return blobs, arrays


def assert_same(loaded, arrays):
    (xt, yt), (xs, ys) = loaded
    np.testing.assert_array_equal(xt, arrays["train_images"])
    np.testing.assert_array_equal(yt, arrays["train_labels"])
    np.testing.assert_array_equal(xs, arrays["test_images"])
    np.testing.assert_array_equal(ys, arrays["test_labels"])
    for a in (xt, yt, xs, ys):
        assert a.dtype == np.uint8 and a.flags.writeable and a.flags.c_contiguous


def cache_dir(env, name="fashion-mnist"):
    return env / "home" / "datasets" / name


# ---------------------------------------------------------------- downloads

def test_download_into_cache_then_cache_hit_without_request(env, mirror, fashion):
    blobs, arrays = fashion
    assert_same(fashion_mnist.load_data(), arrays)
    assert len(mirror.log) == 4 and all(rng is None for _, rng in mirror.log)
    assert sorted(os.listdir(cache_dir(env))) == sorted(blobs)  # no .part left behind
    assert_same(fashion_mnist.load_data(), arrays)
    assert len(mirror.log) == 4  # second call: served from the cache, no request


def test_progress_bar_when_asked(env, mirror, fashion, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_PROGRESS", "1")
    fashion_mnist.load_data()
    err = capsys.readouterr().err
    assert "Downloading " + mirror.url in err and "MB/s" in err and "train-images-idx3-ubyte.gz [" in err


def test_checksum_failure_removes_file_and_says_so(env, mirror, fashion):
    name = "train-labels-idx1-ubyte.gz"
    good = mirror.files[f"/fashion-mnist/{name}"]
    mirror.files[f"/fashion-mnist/{name}"] = gzip.compress(gzip.decompress(good)[:-1] + b"\x09", mtime=0)
    with pytest.raises(ChecksumError, match=r"checksum mismatch") as info:
        fashion_mnist.load_data()
    assert isinstance(info.value, ValueError) and name in str(info.value)
    cached = os.listdir(cache_dir(env))
    assert name not in cached and name + ".part" not in cached
    # A mirror serving wrong bytes is not retried.
    assert len(mirror.requests_for(name)) == 1


def test_resume_after_failure_mid_transfer(env, mirror, fashion):
    blobs, arrays = fashion
    name = "train-images-idx3-ubyte.gz"
    mirror.break_once.add(f"/fashion-mnist/{name}")
    assert_same(fashion_mnist.load_data(), arrays)
    reqs = mirror.requests_for(name)
    assert len(reqs) == 2
    assert reqs[0][1] is None and reqs[1][1] == f"bytes={len(blobs[name]) // 2}-"


def test_resume_across_calls_keeps_partial_file(env, mirror, fashion, monkeypatch):
    blobs, arrays = fashion
    name = "train-images-idx3-ubyte.gz"
    monkeypatch.setattr(_download, "RETRIES", 1)
    mirror.break_once.add(f"/fashion-mnist/{name}")
    with pytest.raises(FileNotFoundError, match="Download from the mirrors failed"):
        fashion_mnist.load_data()
    part = cache_dir(env) / (name + ".part")
    assert part.stat().st_size == len(blobs[name]) // 2
    assert_same(fashion_mnist.load_data(), arrays)
    assert mirror.requests_for(name)[-1][1] == f"bytes={len(blobs[name]) // 2}-"
    assert not part.exists()


def test_server_without_range_support_restarts_cleanly(env, mirror, fashion):
    blobs, arrays = fashion
    mirror.ranges = False
    mirror.break_once.add("/fashion-mnist/train-images-idx3-ubyte.gz")
    assert_same(fashion_mnist.load_data(), arrays)


def test_download_into_path_argument(env, mirror, fashion, tmp_path):
    blobs, arrays = fashion
    target = tmp_path / "mine"
    assert_same(fashion_mnist.load_data(path=target), arrays)
    assert sorted(os.listdir(target)) == sorted(blobs)
    assert not cache_dir(env).exists()


def test_mnist_download_verified_by_file_sha256(env, mirror, monkeypatch):
    blobs, arrays = make_mnist_like(seed=2)
    monkeypatch.setattr(mnist, "DATASET", spec_for(mnist.DATASET, blobs, by_content=False))
    for name, data in blobs.items():
        mirror.files[f"/mnist/{name}"] = data
    assert_same(mnist.load_data(), arrays)
    assert sorted(os.listdir(cache_dir(env, "mnist"))) == sorted(blobs)
    # Same payload, different compression: the file digest no longer matches.
    name = "t10k-labels-idx1-ubyte.gz"
    os.remove(cache_dir(env, "mnist") / name)
    mirror.files[f"/mnist/{name}"] = gzip.compress(gzip.decompress(blobs[name]), compresslevel=1, mtime=1)
    with pytest.raises(ChecksumError, match="sha256"):
        mnist.load_data()


def test_offline_error_names_every_place_and_the_remedies(env, monkeypatch, tmp_path):
    blobs, _ = make_mnist_like(seed=3)
    spec = dataclasses.replace(
        spec_for(fashion_mnist.DATASET, blobs, by_content=True), system_dirs=(str(tmp_path / "sys"),),
        install_hint=fashion_mnist.DATASET.install_hint)
    monkeypatch.setattr(fashion_mnist, "DATASET", spec)
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "data"))
    # Nothing listens on a port we just closed: the download fails like an offline machine.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("MINICNN_DATASETS_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(FileNotFoundError) as info:
        fashion_mnist.load_data()
    msg = str(info.value)
    for place in (tmp_path / "data" / "fashion-mnist", cache_dir(env), tmp_path / "sys"):
        assert str(place) in msg
    assert f"127.0.0.1:{port}/fashion-mnist/train-images-idx3-ubyte.gz" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "MINICNN_DATA" in msg and "path=" in msg


# ---------------------------------------------------------------- lookup order

def test_lookup_order(env, mirror, monkeypatch, tmp_path):
    copies = {}
    dirs = {
        "path": tmp_path / "arg",
        "data": tmp_path / "data" / "fashion-mnist",
        "cache": cache_dir(env),
        "system": tmp_path / "system",
    }
    for seed, (where, d) in enumerate(dirs.items(), start=10):
        blobs, arrays = make_mnist_like(seed=seed)
        write_files(d, blobs, gz=(where != "data"))  # also: uncompressed copies are accepted
        copies[where] = arrays
    spec = dataclasses.replace(fashion_mnist.DATASET, mirrors=(), system_dirs=(str(dirs["system"]),))
    monkeypatch.setattr(fashion_mnist, "DATASET", spec)
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "data"))

    assert_same(fashion_mnist.load_data(path=dirs["path"]), copies["path"])
    assert_same(fashion_mnist.load_data(), copies["data"])
    monkeypatch.delenv("MINICNN_DATA")
    assert_same(fashion_mnist.load_data(), copies["cache"])
    # An incomplete directory is skipped as a whole, never mixed with another copy.
    os.remove(dirs["cache"] / "t10k-labels-idx1-ubyte.gz")
    assert_same(fashion_mnist.load_data(), copies["system"])
    assert fashion_mnist.is_available() and fashion_mnist.is_available(path=dirs["path"])
    assert not fashion_mnist.is_available(path=tmp_path / "nowhere")
    assert mirror.log == []  # neither loading local copies nor is_available() downloads


def test_local_copies_are_not_checksummed_but_are_validated(env, monkeypatch, tmp_path):
    # A user's own IDX files load (no published checksum applies to them) ...
    blobs, arrays = make_mnist_like(seed=4, n_train=3, n_test=2)
    write_files(tmp_path / "own", blobs)
    assert_same(fashion_mnist.load_data(path=tmp_path / "own"), arrays)
    # ... but a broken one is refused with the file named.
    with open(tmp_path / "own" / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(gzip.compress(idx_bytes(np.zeros((2, 27, 28)))))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: expected IDX dimensions \(None, 28, 28\)"):
        fashion_mnist.load_data(path=tmp_path / "own")


# ---------------------------------------------------------------- IDX reader

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_read_idx_plain_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "a", idx_bytes(a))), a)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "a.gz", gzip.compress(idx_bytes(a)))), a)
    # The decision is made from the content: an uncompressed file named .gz still reads.
    np.testing.assert_array_equal(read_idx(write(tmp_path / "b.gz", idx_bytes(a))), a)


def test_read_idx_wider_types_are_big_endian(tmp_path):
    a = np.array([[1.5, -2.0], [3.25, 1e6]], dtype=">f4")
    head = struct.pack(">BBBBII", 0, 0, 0x0D, 2, 2, 2)
    out = read_idx(write(tmp_path / "f", head + a.tobytes()), dtype=np.float32)
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, a.astype(np.float32))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case, pattern", [
    ("magic", r"not an IDX file \(magic number 08030000"),
    ("type", r"not an IDX file"),
    ("truncated", r"truncated"),
    ("header", r"truncated"),
    ("long", r"longer than its dimensions"),
    ("ndim", r"expected an IDX file with 3 dimensions, got 1"),
    ("empty", r"truncated file: expected 4 bytes"),
])
def test_read_idx_bad_files(tmp_path, gz, case, pattern):
    good = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    data = {
        "magic": b"\x08\x03\x00\x00" + good[4:],  # the magic bytes in the wrong order
        "type": b"\x00\x00\x07\x03" + good[4:],
        "truncated": good[:-5],
        "header": good[:9],
        "long": good + b"\x00",
        "ndim": idx_bytes(np.zeros(4, np.uint8)),
        "empty": b"",
    }[case]
    if gz:
        data = gzip.compress(data)
    path = write(tmp_path / ("x.gz" if gz else "x"), data)
    with pytest.raises(ValueError, match=pattern) as info:
        read_idx(path, expected_ndim=3)
    assert str(path) in str(info.value)


def test_read_idx_corrupt_gzip_stream(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    with pytest.raises(ValueError, match="corrupt or truncated"):
        read_idx(write(tmp_path / "x.gz", data[: len(data) // 2]))


def test_mismatched_counts_and_bad_labels_are_refused(tmp_path):
    blobs, arrays = make_mnist_like(seed=5)
    write_files(tmp_path / "a", blobs)
    write(tmp_path / "a" / "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(arrays["train_labels"][:-1])))
    with pytest.raises(ValueError, match=rf"holds {N_TRAIN} images but .* holds {N_TRAIN - 1} labels"):
        fashion_mnist.load_data(path=tmp_path / "a")
    write(tmp_path / "a" / "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.full(N_TRAIN, 10))))
    with pytest.raises(ValueError, match=r"label 10 out of range \[0, 10\)"):
        fashion_mnist.load_data(path=tmp_path / "a")


# ---------------------------------------------------------------- CIFAR-10

@pytest.fixture
def small_cifar(monkeypatch):
    monkeypatch.setattr(cifar10, "_PER_BATCH", 3)
    return make_cifar(per_batch=3)


def check_cifar(loaded, xs, ys):
    (xt, yt), (xe, ye) = loaded
    assert xt.shape == (15, 32, 32, 3) and yt.shape == (15, 1) and xe.shape == (3, 32, 32, 3) and ye.shape == (3, 1)
    for a in (xt, yt, xe, ye):
        assert a.dtype == np.uint8
    np.testing.assert_array_equal(xt, np.concatenate(xs[:5]))
    np.testing.assert_array_equal(yt[:, 0], np.concatenate(ys[:5]))
    np.testing.assert_array_equal(xe, xs[5])
    np.testing.assert_array_equal(ye[:, 0], ys[5])


def test_cifar_download_archive(env, mirror, small_cifar, monkeypatch):
    archive, _, xs, ys = small_cifar
    remote = dataclasses.replace(cifar10.DATASET.files["archive"], sha256=hashlib.sha256(archive).hexdigest())
    monkeypatch.setattr(cifar10, "DATASET", dataclasses.replace(cifar10.DATASET, files={"archive": remote}, mirrors=()))
    mirror.files["/cifar-10/cifar-10-binary.tar.gz"] = archive
    check_cifar(cifar10.load_data(), xs, ys)
    assert os.listdir(cache_dir(env, "cifar-10")) == ["cifar-10-binary.tar.gz"]
    check_cifar(cifar10.load_data(), xs, ys)
    assert len(mirror.log) == 1


def test_cifar_extracted_copies(env, small_cifar, tmp_path):
    _, batches, xs, ys = small_cifar
    for d in (tmp_path / "a" / "cifar-10-batches-bin", tmp_path / "b"):
        d.mkdir(parents=True)
        for name, data in batches.items():
            write(d / name, data)
    check_cifar(cifar10.load_data(path=tmp_path / "a"), xs, ys)
    check_cifar(cifar10.load_data(path=tmp_path / "b"), xs, ys)
    write(tmp_path / "b" / "data_batch_3.bin", batches["data_batch_3.bin"][:-1])
    with pytest.raises(ValueError, match=r"b/data_batch_3.bin: not a CIFAR-10 binary batch: .*truncated"):
        cifar10.load_data(path=tmp_path / "b")
    os.remove(tmp_path / "b" / "data_batch_3.bin")
    with pytest.raises(ValueError, match="data_batch_3.bin is missing"):
        cifar10.load_data(path=tmp_path / "b")


def test_cifar_bad_archives(env, small_cifar, tmp_path):
    archive, batches, _, _ = small_cifar
    write(tmp_path / "cifar-10-binary.tar.gz", archive[: len(archive) // 2])
    with pytest.raises(ValueError, match="not a readable CIFAR-10 binary archive"):
        cifar10.load_data(path=tmp_path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in batches.items():
            if name != "test_batch.bin":
                info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    write(tmp_path / "cifar-10-binary.tar.gz", buf.getvalue())
    with pytest.raises(ValueError, match="archive lacks test_batch.bin"):
        cifar10.load_data(path=tmp_path)


def test_cifar_record_layout_is_planar_rgb():
    # One record: label 7, red plane all 1, green all 2, blue all 3.
    rec = bytes([7]) + bytes([1]) * 1024 + bytes([2]) * 1024 + bytes([3]) * 1024
    x, y = cifar10.parse_cifar_batch(rec, "one")
    assert x.shape == (1, 32, 32, 3) and y.tolist() == [[7]]
    assert x[0, 5, 9].tolist() == [1, 2, 3]


# ---------------------------------------------------------------- the real data

@pytest.mark.skipif(not os.path.isdir(DEBIAN_DIR),
                    reason=f"Debian package dataset-fashion-mnist not installed ({DEBIAN_DIR} absent)")
def test_real_fashion_mnist_from_debian_copy(env, monkeypatch):
    # The published checksums in the spec are those of the Debian copy's contents.
    for remote in fashion_mnist.DATASET.files.values():
        _download.verify(os.path.join(DEBIAN_DIR, remote.name), remote)
    # Found as the system copy: empty cache, no $MINICNN_DATA, mirror unreachable.
    monkeypatch.setenv("MINICNN_DATASETS_MIRROR", "http://127.0.0.1:9")
    monkeypatch.setattr(fashion_mnist, "DATASET", dataclasses.replace(fashion_mnist.DATASET, mirrors=()))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0


# ---------------------------------------------------------------- networks that stall

class StallingServer:
    """Accepts connections on 127.0.0.1 and then goes quiet: ``mode="silent"`` never answers,
    ``"trickle"`` sends headers and then one byte every 50 ms (as a link that drops packets)."""

    def __init__(self, mode):
        self.mode, self.connections = mode, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while not self.closed.wait(0.05):
                conn.sendall(b"x")
        except OSError:
            pass

    def close(self):
        self.closed.set()
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def fast_clock(monkeypatch):
    """Timeouts in fractions of a second; many retries, which the stall limit must cut short."""
    monkeypatch.setattr(_download, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(_download, "READ_TIMEOUT", 0.2)
    monkeypatch.setattr(_download, "STALL_TIMEOUT", 1.0)
    monkeypatch.setattr(_download, "DEADLINE", 1.5)
    monkeypatch.setattr(_download, "RETRIES", 20)
    monkeypatch.setattr(_download, "RETRY_DELAY", 0.0)


def test_defaults_bound_a_dead_network_to_minutes_not_ten():
    worst = (_download.STALL_TIMEOUT + max(_download.CONNECT_TIMEOUT, _download.READ_TIMEOUT)
             + _download.RETRY_DELAY * _download.RETRIES)
    assert worst <= 150 and _download.CONNECT_TIMEOUT <= 15 and _download.READ_TIMEOUT <= 60


@pytest.mark.parametrize("mode, reason", [("silent", "no data arrived"), ("trickle", "took more than")])
def test_stalling_server_gives_its_error_in_bounded_time(tmp_path, fast_clock, mode, reason):
    server = StallingServer(mode)
    try:
        remote = fashion_mnist.DATASET.files["train_images"]
        start = time.monotonic()
        with pytest.raises(OSError) as info:
            _download.download([f"{server.url}/a/{remote.name}", f"{server.url}/b/{remote.name}"],
                               str(tmp_path / remote.name), remote, quiet=True)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    # 2 mirrors x 20 attempts x 0.2 s would be 8 s (and minutes with the default timeouts)
    assert elapsed < 4.0, f"took {elapsed:.1f} s"
    message = str(info.value)
    assert "gave up" in message and reason in message and "partial file" in message, message
    assert "timed out" in message or "trickle" == mode, message


def test_load_data_over_a_silent_network_fails_fast_with_its_remedies(env, fast_clock, monkeypatch):
    server = StallingServer("silent")
    monkeypatch.setenv("MINICNN_DATASETS_MIRROR", server.url)
    monkeypatch.setattr(fashion_mnist, "DATASET", dataclasses.replace(
        fashion_mnist.DATASET, mirrors=(), system_dirs=(str(env / "no-system-copy"),)))
    try:
        start = time.monotonic()
        with pytest.raises(FileNotFoundError, match="(?s)gave up: no data arrived.*To get the files"):
            fashion_mnist.load_data()
        assert time.monotonic() - start < 4.0
    finally:
        server.close()
