"""The minicnn file format: one zip archive, JSON for structure and ``.npy`` members for arrays.

Layout (``format_version`` 1)::

    metadata.json             {"format": "minicnn", "kind": "model"|"weights", "format_version": 1,
                               "minicnn_version": ..., "date_saved": ...}
    config.json               model config (+ "compile_config"), kind "model" only
    weights/manifest.json     [{"name", "shape", "dtype"}, ...] in model.weights order
    weights/00000.npy ...     one array per weight
    optimizer/manifest.json   {"config": ..., "built": bool, "shapes": [...], "dtypes": [...]}
    optimizer/00000.npy ...   [iterations, slots...] (kind "model" only, when compiled)

Nothing is unpickled: arrays are read with ``np.load(..., allow_pickle=False)`` and their
header (dtype, shape) is checked against the manifest, so a file from a stranger cannot run code.
Files are written to a temporary sibling and moved into place with ``os.replace`` (atomic on
POSIX and Windows), so readers never see a half-written file.
"""

import datetime
import io
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT_NAME = "minicnn"
FORMAT_VERSION = 1

__all__ = ["SavedModelError", "FORMAT_VERSION", "write_archive", "ArchiveReader"]


class SavedModelError(ValueError):
    """A model/weights file is truncated, corrupted, of an unknown version or does not match
    the model.  The message names the file and the problem."""


def _npy_bytes(array):
    buf = io.BytesIO()
    # ascontiguousarray would turn a 0-d array into shape (1,)
    array = array if array.flags.c_contiguous else np.array(array, order="C")
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def write_archive(path, kind, json_members, array_groups):
    """Write ``json_members`` ({member: obj}) and ``array_groups`` ({prefix: [arrays]}) atomically.

    Each array group also gets ``<prefix>/arrays.json`` listing shapes and dtypes.
    """
    from minicnn._version import __version__

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    metadata = {"format": FORMAT_NAME, "kind": kind, "format_version": FORMAT_VERSION,
                "minicnn_version": __version__,
                "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
                zf.writestr("metadata.json", json.dumps(metadata, indent=1))
                for member, obj in json_members.items():
                    zf.writestr(member, json.dumps(obj, indent=1, default=_json_default))
                for prefix, arrays in array_groups.items():
                    arrays = [np.asarray(a) for a in arrays]
                    for a in arrays:
                        if a.dtype.hasobject:
                            raise TypeError(f"cannot save an object array under {prefix!r}")
                    listing = [{"shape": list(a.shape), "dtype": a.dtype.str} for a in arrays]
                    zf.writestr(f"{prefix}/arrays.json", json.dumps(listing))
                    for i, a in enumerate(arrays):
                        zf.writestr(f"{prefix}/{i:05d}.npy", _npy_bytes(a))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


class ArchiveReader:
    """Validated read access to a file written by ``write_archive``.

    Every failure (missing file aside) is a ``SavedModelError`` naming the file.
    """

    def __init__(self, path, expected_kind=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No such minicnn file: {self.path!r}")
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except zipfile.BadZipFile as exc:
            raise self.error(f"not a minicnn file or truncated/corrupted ({exc})") from None
        except OSError as exc:
            raise self.error(f"cannot be read ({exc})") from None
        self._names = set(self._zip.namelist())
        self.metadata = self.read_json("metadata.json")
        if not isinstance(self.metadata, dict) or self.metadata.get("format") != FORMAT_NAME:
            raise self.error("metadata.json does not describe a minicnn file")
        version = self.metadata.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.error(f"format_version {version!r} is not an integer")
        if version > FORMAT_VERSION or version < 1:
            raise self.error(f"unsupported format_version {version} (this minicnn reads version "
                             f"{FORMAT_VERSION}; the file was written by minicnn "
                             f"{self.metadata.get('minicnn_version')!r})")
        self.kind = self.metadata.get("kind")
        if expected_kind == "model" and self.kind != "model":
            raise self.error(f"holds {self.kind!r}, not a whole model; use model.load_weights() for a "
                             "weights file")
        if self.kind not in ("model", "weights"):
            raise self.error(f"unknown kind {self.kind!r}")

    def error(self, problem):
        return SavedModelError(f"{self.path}: {problem}")

    def close(self):
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def has(self, member):
        return member in self._names

    def _read(self, member):
        if member not in self._names:
            raise self.error(f"member {member!r} is missing")
        try:
            return self._zip.read(member)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            # A CRC mismatch or a short read: the bytes on disk are not what was written.
            raise self.error(f"member {member!r} is corrupted ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zlib errors and friends: still a corrupt file
            raise self.error(f"member {member!r} is corrupted ({type(exc).__name__}: {exc})") from None

    def read_json(self, member):
        try:
            return json.loads(self._read(member).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.error(f"member {member!r} is not valid JSON ({exc})") from None
        except RecursionError:  # a crafted member nested deeper than the parser can go
            raise self.error(f"member {member!r} is nested too deeply to be a minicnn file") from None

    def read_arrays(self, prefix):
        """The arrays of group ``prefix``, each checked against ``<prefix>/arrays.json``."""
        listing = self.read_json(f"{prefix}/arrays.json")
        if not isinstance(listing, list):
            raise self.error(f"{prefix}/arrays.json is not a list")
        arrays = []
        for i, entry in enumerate(listing):
            member = f"{prefix}/{i:05d}.npy"
            raw = self._read(member)
            try:
                array = np.load(io.BytesIO(raw), allow_pickle=False)
            except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged member
                raise self.error(f"member {member!r} is not a valid .npy array ({exc})") from None
            try:
                shape, dtype = tuple(entry["shape"]), np.dtype(entry["dtype"])
            except (KeyError, TypeError) as exc:
                raise self.error(f"{prefix}/arrays.json entry {i} is malformed ({exc})") from None
            if array.shape != shape or array.dtype != dtype:
                raise self.error(f"member {member!r} holds shape {array.shape} dtype {array.dtype}, "
                                 f"the manifest says shape {shape} dtype {dtype}")
            arrays.append(array)
        return arrays
