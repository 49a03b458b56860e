"""The minicnn file format: one zip archive, JSON for structure and ``.npy`` members for arrays.

Layout (``format_version`` 1)::

    metadata.json             {"format": "minicnn", "kind": "model"|"weights", "format_version": 1,
                               "minicnn_version": ..., "date_saved": ...}
    config.json               model config (+ "compile_config"), kind "model" only
    weights/names.json        the weights' names, in model.weights order
    weights/arrays.json       manifest: [{"shape": [...], "dtype": "<f4"}, ...] in model.weights order
    weights/00000.npy ...     one array per weight
    optimizer/arrays.json     manifest of the optimizer state (kind "model" only, when compiled)
    optimizer/00000.npy ...   optimizer.variables: [iterations, (averages, accumulators,) slots...]

Nothing is unpickled and nothing is read blindly.  A file from a stranger can neither run code
nor make loading allocate more than the model it describes: JSON members are capped at
``MAX_JSON_BYTES``; a manifest holds plain numeric dtypes only, and each ``.npy`` member's
declared size must be what its manifest entry implies, checked before it is read; members are
read in bounded chunks, never past their declared size (a deflate bomb stops there), straight
into the array; the ``.npy`` header must repeat the manifest.  Only regular files are opened
(``/dev/zero``, FIFOs and directories are refused before a byte is read).  Files are written
through ``atomic.atomic_writer``, so readers never see a half-written file.
"""

import datetime
import io
import json
import math
import os
import re
import stat
import zipfile

import numpy as np

from minicnn._version import __version__
from minicnn.saving.atomic import atomic_writer, remove_stale_temporaries

FORMAT_NAME = "minicnn"
FORMAT_VERSION = 1
#: Largest JSON member read (a 2,000-layer model's config is about 1 MB).
MAX_JSON_BYTES = 16 << 20
#: Largest ``.npy`` header read; numpy's own reader refuses larger ones by default too.
MAX_NPY_HEADER = 10_000
_CHUNK = 1 << 20
# Plain numeric dtypes only: no structured ("i4,f4"), sub-array ("(2,)f4") or object dtypes.
_PLAIN_DTYPE = re.compile(r"[<>|=]?[biufc][0-9]{1,2}\Z")

__all__ = ["SavedModelError", "FORMAT_VERSION", "write_archive", "ArchiveReader", "ArraySpec"]


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
    metadata = {"format": FORMAT_NAME, "kind": kind, "format_version": FORMAT_VERSION,
                "minicnn_version": __version__,
                "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    with atomic_writer(path) as f:
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


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


class ArraySpec:
    """One manifest entry: the ``member`` holding an array of ``shape`` and ``dtype``."""

    __slots__ = ("member", "shape", "dtype")

    def __init__(self, member, shape, dtype):
        self.member, self.shape, self.dtype = member, shape, dtype

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def max_member_bytes(self):
        """The largest ``.npy`` member that can hold this array: its bytes and a header."""
        return self.nbytes + 16 + MAX_NPY_HEADER

    def limit_text(self, source):
        return f"that an array of shape {self.shape} {self.dtype} (as {source} says) can need"

    def __repr__(self):
        return f"ArraySpec({self.member!r}, {self.shape}, {self.dtype})"


def _open_regular_file(path):
    """A binary file object on ``path``, which must be a regular file (checked on the open
    descriptor, so a swapped path cannot slip a device in; O_NONBLOCK keeps a FIFO from
    blocking the open)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
            raise SavedModelError(f"{path}: is {kind}, not a minicnn file; refusing to read it")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class ArchiveReader:
    """Validated, bounded read access to a file written by ``write_archive``.

    Every failure (missing file aside) is a ``SavedModelError`` naming the file and the member.
    """

    def __init__(self, path, expected_kind=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No such minicnn file: {self.path!r}")
        # Loading a checkpoint is what a preempted job does next: the temporary files its killed
        # saves left beside this path go now (only those whose writer is gone; failures ignored).
        remove_stale_temporaries(os.path.realpath(self.path))
        try:
            self._file = _open_regular_file(self.path)
        except OSError as exc:
            raise self.error(f"cannot be read ({exc})") from None
        try:
            self._zip = zipfile.ZipFile(self._file, "r")
            self._infos = {info.filename: info for info in self._zip.infolist()}
            self._check_metadata(expected_kind)
        except BaseException as exc:
            self.close()
            if isinstance(exc, (zipfile.BadZipFile, OSError, EOFError, ValueError)) \
                    and not isinstance(exc, SavedModelError):
                raise self.error(f"not a minicnn file or truncated/corrupted ({exc})") from None
            raise

    def _check_metadata(self, expected_kind):
        self.metadata = self.read_json("metadata.json")
        if not isinstance(self.metadata, dict) or self.metadata.get("format") != FORMAT_NAME:
            raise self.error("metadata.json does not describe a minicnn file")
        version = self.metadata.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.error(f"format_version {version!r} is not an integer")
        if version > FORMAT_VERSION or version < 1:
            raise self.error(f"unsupported format_version {version} (this minicnn reads version "
                             f"{FORMAT_VERSION}; the file was written by minicnn "
                             f"{str(self.metadata.get('minicnn_version'))[:40]!r})")
        self.kind = self.metadata.get("kind")
        if expected_kind == "model" and self.kind != "model":
            raise self.error(f"holds {str(self.kind)[:40]!r}, not a whole model; use "
                             "model.load_weights() for a weights file")
        if self.kind not in ("model", "weights"):
            raise self.error(f"unknown kind {str(self.kind)[:40]!r}")

    def error(self, problem, member=None):
        where = f" member {member!r}" if member is not None else ""
        return SavedModelError(f"{self.path}:{where} {problem}")

    def close(self):
        if getattr(self, "_zip", None) is not None:
            self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def has(self, member):
        return member in self._infos

    # ------------------------------------------------------------------ bounded reads
    def _info(self, member, max_bytes, limit):
        info = self._infos.get(member)
        if info is None:
            raise self.error("is missing", member)
        if info.file_size > max_bytes:
            raise self.error(f"declares {info.file_size:,} bytes, more than the {max_bytes:,} "
                             f"{limit}", member)
        return info

    def _stream(self, member, max_bytes, limit):
        info = self._info(member, max_bytes, limit)
        try:
            return info, self._zip.open(info)
        except Exception as exc:  # noqa: BLE001 - a bad local header, an unsupported method...
            raise self._corrupt(member, exc) from None

    def _corrupt(self, member, exc):
        return self.error(f"is corrupted ({type(exc).__name__}: {exc})", member)

    def _read_exactly(self, stream, member, out):
        """Fill the writable byte buffer ``out`` from ``stream`` in bounded chunks."""
        view = memoryview(out).cast("B")
        done = 0
        try:
            while done < len(view):
                chunk = stream.read(min(_CHUNK, len(view) - done))
                if not chunk:
                    raise self.error(f"is truncated: {done:,} of {len(view):,} bytes", member)
                view[done:done + len(chunk)] = chunk
                done += len(chunk)
            # Reading up to the declared end makes zipfile check the CRC; bytes past what the
            # contents need mean the member is not what its header says.
            if stream.read(1):
                raise self.error("holds more bytes than its contents need", member)
        except SavedModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - CRC mismatch, zlib errors, short reads
            raise self._corrupt(member, exc) from None

    def read_bytes(self, member, max_bytes, limit):
        info, stream = self._stream(member, max_bytes, limit)
        with stream:
            out = bytearray(info.file_size)
            self._read_exactly(stream, member, out)
        return bytes(out)

    def read_json(self, member):
        raw = self.read_bytes(member, MAX_JSON_BYTES, "a JSON member may have")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: also 5000-digit integers
            raise self.error(f"is not valid JSON ({exc})", member) from None
        except RecursionError:  # a crafted member nested deeper than the parser can go
            raise self.error("is nested too deeply to be a minicnn file", member) from None

    # ------------------------------------------------------------------ arrays
    def manifest(self, prefix):
        """The validated ``<prefix>/arrays.json``: one ``ArraySpec`` per array, each member's
        declared size checked against what the entry implies (nothing read but the manifest)."""
        listing_member = f"{prefix}/arrays.json"
        listing = self.read_json(listing_member)
        if not isinstance(listing, list):
            raise self.error("is not a list", listing_member)
        specs = []
        for i, entry in enumerate(listing):
            spec = self._spec(listing_member, i, entry, f"{prefix}/{i:05d}.npy")
            info = self._info(spec.member, spec.max_member_bytes, spec.limit_text(listing_member))
            if info.file_size < spec.nbytes:
                raise self.error(f"declares {info.file_size:,} bytes, too few for the shape "
                                 f"{spec.shape} {spec.dtype} that {listing_member} gives it", spec.member)
            specs.append(spec)
        return specs

    def _spec(self, listing_member, i, entry, member):
        def bad(why):
            return self.error(f"entry {i} {why}", listing_member)

        if not isinstance(entry, dict):
            raise bad("is not an object")
        shape, dtype = entry.get("shape"), entry.get("dtype")
        if (not isinstance(shape, list) or len(shape) > 32
                or not all(type(d) is int and 0 <= d < 2 ** 63 for d in shape)):
            raise bad(f"has shape {str(shape)[:80]}, not a list of at most 32 non-negative ints")
        if not isinstance(dtype, str) or not _PLAIN_DTYPE.match(dtype):
            raise bad(f"has dtype {str(dtype)[:80]!r}, not a plain numeric dtype like '<f4'")
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise bad(f"has dtype {dtype!r}, which numpy does not know ({exc})") from None
        return ArraySpec(member, tuple(shape), dtype)

    def read_array(self, spec):
        """The array ``spec`` describes, read from its member straight into a new array."""
        member = spec.member
        info, stream = self._stream(member, spec.max_member_bytes, spec.limit_text("the manifest"))
        with stream:
            shape, fortran, dtype = self._npy_header(stream, member)
            if shape != spec.shape or dtype != spec.dtype:
                raise self.error(f"holds shape {shape} dtype {dtype}, the manifest says shape "
                                 f"{spec.shape} dtype {spec.dtype}", member)
            flat = np.empty(spec.nbytes, dtype=np.uint8)
            self._read_exactly(stream, member, flat)
        return flat.view(dtype).reshape(shape, order="F" if fortran else "C")

    def _npy_header(self, stream, member):
        """(shape, fortran_order, dtype) from a ``.npy`` header of bounded length."""
        def read(n):
            try:
                return stream.read(n)
            except Exception as exc:  # noqa: BLE001 - CRC mismatch, zlib errors, short reads
                raise self._corrupt(member, exc) from None

        def invalid(why):
            return self.error(f"is not a valid .npy array ({why})", member)

        prefix = read(8)
        if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY" or prefix[6] not in (1, 2):
            raise invalid("not a .npy array of format version 1 or 2")
        size_bytes = 2 if prefix[6] == 1 else 4
        size_raw = read(size_bytes)
        size = int.from_bytes(size_raw, "little")
        if len(size_raw) < size_bytes or size > MAX_NPY_HEADER:
            raise invalid(f"a header of {size:,} bytes; at most {MAX_NPY_HEADER:,} are read")
        header = io.BytesIO(prefix + size_raw + read(size))
        try:
            version = np.lib.format.read_magic(header)
            parse = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                     else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = parse(header)
        except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged member
            raise invalid(exc) from None
        if dtype.hasobject:
            raise invalid("object arrays are never loaded")
        return tuple(shape), bool(fortran), dtype
