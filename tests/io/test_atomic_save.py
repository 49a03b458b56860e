"""Saves clean up after themselves: recognisable temporary files, removed by the next save once
their writer is gone (real SIGKILLs), never while a save is live; symlinks written through; file
modes like open(); an empty file name is a clear error."""

import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.saving import atomic, file_format

TEMP_NAME = re.compile(r"\.m\.minicnn\.minicnn-tmp-(\d+)-[0-9a-f]+\Z")


def _model():
    minicnn.utils.set_random_seed(0)
    return minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3)])


def test_temporary_file_is_a_hidden_sibling_with_pid(tmp_path, monkeypatch):
    seen = []
    real = file_format._npy_bytes

    def spy(array):
        seen.extend(os.listdir(tmp_path))
        return real(array)

    monkeypatch.setattr(file_format, "_npy_bytes", spy)
    _model().save(tmp_path / "m.minicnn")
    temps = {name for name in seen if name != "m.minicnn"}
    assert len(temps) == 1
    assert int(TEMP_NAME.match(temps.pop()).group(1)) == os.getpid()
    assert os.listdir(tmp_path) == ["m.minicnn"]


_KILLED_SAVER = textwrap.dedent("""
    import sys, time
    import minicnn
    from minicnn import layers
    from minicnn.saving import file_format
    m = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3)])
    def stall(array):  # the temporary file exists now: tell the parent, and wait to be killed
        print("writing", flush=True)
        time.sleep(60)
    file_format._npy_bytes = stall
    m.save(sys.argv[1])
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_next_save_removes_what_killed_saves_left(tmp_path):
    path = tmp_path / "m.minicnn"
    _model().save(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_SAVER, str(path)], stdout=subprocess.PIPE,
                                env=env, cwd=tmp_path)
        try:
            assert proc.stdout.readline().strip() == b"writing"
        finally:
            proc.kill()
            proc.wait(timeout=60)
            proc.stdout.close()
        # Each killed save leaves its temporary file; the next one removed the previous one's.
        leftovers = [TEMP_NAME.match(n) for n in os.listdir(tmp_path) if n != "m.minicnn"]
        assert [int(m.group(1)) for m in leftovers] == [proc.pid], os.listdir(tmp_path)
        minicnn.saving.load_model(path)  # the previous file is intact
    _model().save(path)
    assert os.listdir(tmp_path) == ["m.minicnn"]


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id (until the system reuses it)


def test_live_saves_and_other_files_are_left_alone(tmp_path):
    target = tmp_path / "m.minicnn"
    live = tmp_path / f".m.minicnn.minicnn-tmp-{os.getpid()}-0a1b2c3d"
    dead = tmp_path / f".m.minicnn.minicnn-tmp-{_dead_pid()}-0a1b2c3d"
    abandoned = tmp_path / f".m.minicnn.minicnn-tmp-{os.getpid()}-ffff0000"
    other_file = tmp_path / f".other.minicnn-tmp-{_dead_pid()}-0a1b2c3d"
    look_alike = tmp_path / ".m.minicnn.minicnn-tmp-1-notahexname"
    for p in (live, dead, abandoned, other_file, look_alike):
        p.write_bytes(b"partial")
    old = time.time() - atomic.STALE_AFTER - 60
    os.utime(abandoned, (old, old))
    _model().save(target)
    assert not dead.exists() and not abandoned.exists()
    assert live.exists() and other_file.exists() and look_alike.exists()


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX symlinks")
def test_saving_onto_a_symlink_replaces_its_target(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "model.minicnn"
    link = tmp_path / "latest.minicnn"
    link.symlink_to(target)  # dangling: the first save creates the target, like open() would
    model = _model()
    model.save(link)
    assert link.is_symlink() and target.is_file()
    model.layers[0].kernel.data[...] = 7.0
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(minicnn.saving.load_model(target).layers[0].kernel.data, 7.0)
    assert sorted(os.listdir(real_dir)) == ["model.minicnn"] and sorted(os.listdir(tmp_path)) == [
        "latest.minicnn", "store"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_file_mode_follows_the_umask_like_open(tmp_path):
    previous = os.umask(0o027)
    try:
        _model().save(tmp_path / "new.minicnn")
        with open(tmp_path / "plain", "wb"):
            pass
        assert stat.S_IMODE(os.stat(tmp_path / "new.minicnn").st_mode) == 0o640
        assert stat.S_IMODE(os.stat(tmp_path / "plain").st_mode) == 0o640
        os.chmod(tmp_path / "new.minicnn", 0o604)  # an existing file keeps its mode, as with open()
        _model().save(tmp_path / "new.minicnn")
        assert stat.S_IMODE(os.stat(tmp_path / "new.minicnn").st_mode) == 0o604
    finally:
        os.umask(previous)


@pytest.mark.parametrize("save", ["save", "save_weights"])
def test_empty_file_name_is_a_clear_error(tmp_path, monkeypatch, save):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="filepath is empty"):
        getattr(_model(), save)("")
    assert os.listdir(tmp_path) == []


def test_directory_as_target_is_a_clear_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        _model().save(tmp_path)
    assert os.listdir(tmp_path) == []


def test_loading_removes_what_killed_saves_left(tmp_path):
    path = tmp_path / "m.minicnn"
    _model().save(path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    # One temporary file from a writer that is gone, one from a live save (this process): only
    # the first is abandoned; a preempted job's next step is a load, not a save.
    abandoned = atomic.temporary_name(str(path), pid=dead.pid)
    live = atomic.temporary_name(str(path))
    for name in (abandoned, live):
        with open(name, "wb") as f:
            f.write(b"partial")
    minicnn.saving.load_model(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.minicnn", os.path.basename(live)])
