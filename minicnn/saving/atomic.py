"""Atomic file writes that clean up after themselves.

``atomic_writer(path)`` yields a binary file open on a temporary sibling named
``.<name>.minicnn-tmp-<pid>-<random>``; on success the data is flushed to disk and the temporary
file is renamed over the target with ``os.replace`` (atomic on POSIX and Windows), so a reader
sees the old file or the new one, never half of one.  On an exception the temporary file is
removed.  A process killed mid-save cannot remove it, so every save first removes the leftovers
of earlier saves of the same path whose writer is gone (its process id no longer runs) or that
have not been written to for ``STALE_AFTER`` seconds; a concurrent save's file is never touched.

Like ``open(path, "wb")``: a symbolic link is written through (its target is replaced, the link
stays), a new file gets mode ``0o666 & ~umask`` and an existing file keeps its mode.
"""

import contextlib
import os
import re
import secrets
import stat
import sys
import time

__all__ = ["atomic_writer", "remove_stale_temporaries", "temporary_name"]

#: A temporary file untouched for this long is an abandoned one, whatever its process id says
#: (process ids are reused, and those of another machine sharing the directory mean nothing here).
STALE_AFTER = 24 * 3600
_TAG = ".minicnn-tmp-"


def temporary_name(target, pid=None):
    """The path of a fresh temporary sibling of ``target`` (not created)."""
    directory, name = os.path.split(target)
    pid = os.getpid() if pid is None else pid
    return os.path.join(directory, f".{name}{_TAG}{pid}-{secrets.token_hex(4)}")


def _pid_running(pid):
    if sys.platform == "win32":  # os.kill would terminate it: rely on the age rule there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else (EPERM)
        return True
    return True


def remove_stale_temporaries(target, now=None):
    """Remove the temporary files of interrupted saves of ``target``; returns their paths."""
    directory, name = os.path.split(target)
    pattern = re.compile(re.escape(f".{name}{_TAG}") + r"(\d+)-[0-9a-f]+\Z")
    now = time.time() if now is None else now
    removed = []
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry)
        if not match:
            continue
        path = os.path.join(directory, entry)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            if _pid_running(int(match.group(1))) and now - st.st_mtime < STALE_AFTER:
                continue  # possibly a save in progress
            os.remove(path)
            removed.append(path)
        except OSError:  # gone already (another cleaner), or not ours to remove
            continue
    return removed


def _resolve_target(path):
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if not path:
        raise ValueError("filepath is empty: pass the name of the file to write")
    # Write through symbolic links like open() does: the link's target is what gets replaced.
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise IsADirectoryError(f"{path!r} is a directory, not a file name")
    return target


def _creation_mode(target):
    """Permission bits for the new file: the existing file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    if sys.platform == "win32":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename itself is still atomic
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path):
    """Yield a binary file whose contents replace ``path`` atomically when the block succeeds."""
    target = _resolve_target(path)
    remove_stale_temporaries(target)
    mode = _creation_mode(target)
    tmp = temporary_name(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        # fchmod after creating: a mode passed to open() would be filtered by the umask again,
        # and an existing file's mode may have bits the umask would drop.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = None
            yield f
            f.flush()
            os.fsync(f.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_directory(os.path.dirname(target))
