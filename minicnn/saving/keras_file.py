"""Reading real Keras 3 files: a ``.keras`` archive (a zip of ``config.json``, ``metadata.json``
and ``model.weights.h5``) and a ``.weights.h5`` file, so that a model trained in Keras runs here.

The config's Keras classes are mapped to minicnn's by name (``keras.layers.Conv2D`` is
``minicnn.layers.Conv2D``); keys that only Keras has are dropped when they hold Keras' default
and refused otherwise.  Weights are found where Keras' saving puts them: each layer's own
variables under ``layers/<snake_case class name, made unique>/vars/<i>``, nested models under
``.../layers/...``.  Anything that cannot be mapped is a ``SavedModelError`` naming the layer and
the file.

Reading is as careful as for minicnn's own files: nothing is unpickled or unmarshalled (Keras'
lambdas carry marshalled bytecode and are refused); only hard links are followed inside the
HDF5 file; a dataset is used only when it is a plain contiguous array whose bytes lie inside the
file (no external or virtual storage, no filters), and its shape and dtype are checked against
the model before anything is read; while the model is rebuilt from the config every weight it
creates must match the size of a dataset the file holds, so a config cannot make it allocate
more than the file backs.  The HDF5 parsing itself is h5py's (``pip install "minicnn[h5py]"``).
"""

import os
import stat
import zipfile

import numpy as np

from minicnn import serialization
from minicnn.layers._weights import weight_creation_check
from minicnn.saving._keras_config import Translator
from minicnn.saving._keras_h5 import H5Weights, assign
from minicnn.saving.file_format import ArchiveReader, SavedModelError

__all__ = ["kind_of", "load_model", "load_weights"]

H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
WEIGHTS_MEMBER = "model.weights.h5"


def kind_of(path):
    """"keras" for a Keras 3 ``.keras`` archive, "h5" for an HDF5 file, None for anything else
    (minicnn's own files, whatever their names, and files that are not regular)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as f:
            head = f.read(len(H5_SIGNATURE))
    except OSError:
        return None
    if head == H5_SIGNATURE:
        return "h5"
    if head[:4] != b"PK\x03\x04":
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return "keras" if WEIGHTS_MEMBER in archive.namelist() else None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _h5py(path):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{path} is a Keras file (HDF5 weights): reading it needs h5py; install "
                          f'it with pip install "minicnn[h5py]"') from None
    return h5py


# ---------------------------------------------------------------------------- the archive
class _KerasArchive(ArchiveReader):
    """A ``.keras`` zip read with minicnn's bounded member reading; metadata.json is Keras'."""

    def _check_metadata(self, expected_kind):
        self.metadata = self.read_json("metadata.json")
        if not isinstance(self.metadata, dict) or not isinstance(self.metadata.get("keras_version"), str):
            raise self.error("metadata.json does not describe a Keras file", "metadata.json")
        self.kind = "model"

    def open_member(self, member):
        # h5py reads the member in place (seeking), so it is never copied whole into memory.
        info = self._infos.get(member)
        if info is None:
            raise self.error("is missing", member)
        return self._zip.open(info), info.file_size


def load_weights(model, filepath, kind, skip_mismatch=False):
    """Load a Keras 3 ``.weights.h5`` file (``kind`` "h5") or a ``.keras`` archive's weights into
    a built minicnn ``model`` of the same architecture."""
    path = os.fspath(filepath)
    h5py = _h5py(path)
    if not model.built:
        raise ValueError(f"load_weights({path!r}): the model {model.name!r} is not built; call it "
                         "on data or build() it first")
    if kind == "keras":
        with _KerasArchive(path) as archive:
            fileobj, size = archive.open_member(WEIGHTS_MEMBER)
            with fileobj:
                _load_h5_weights(model, h5py, fileobj, size, f"{path}: member {WEIGHTS_MEMBER!r}:",
                                 skip_mismatch)
        return
    with open(path, "rb") as f:
        _load_h5_weights(model, h5py, f, os.fstat(f.fileno()).st_size, path, skip_mismatch)


def _load_h5_weights(model, h5py, fileobj, size, where, skip_mismatch):
    h5 = H5Weights(h5py, fileobj, size, where.rstrip(":"))
    try:
        assign(model, h5, skip_mismatch)
    finally:
        h5.close()


class _SizesInFile:
    """``Layer.add_weight``'s check while the config is rebuilt: each weight must take the size
    of a variable dataset of the file not yet taken (a config cannot allocate what the file
    does not back)."""

    def __init__(self, h5, datasets):
        self.h5, self.refusal = h5, None
        self.left = {}
        for ds in datasets:
            size = int(np.prod(ds.shape, dtype=np.int64))
            self.left[size] = self.left.get(size, 0) + 1

    def __call__(self, layer, shape, dtype):
        size = int(np.prod(shape, dtype=np.int64))
        if self.left.get(size, 0) <= 0:
            self.refusal = self.h5.error(
                f"holds no (further) variable of {size:,} elements for the weight of shape "
                f"{tuple(shape)} that layer {getattr(layer, 'name', '?')!r} creates: the config and "
                "the weights disagree")
            raise self.refusal
        self.left[size] -= 1


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A minicnn model from a Keras 3 ``.keras`` archive: its architecture, weights and (when
    ``compile``) compile settings; the optimizer starts afresh."""
    from minicnn.saving.saving_api import _rebuilding

    path = os.fspath(filepath)
    h5py = _h5py(path)
    with _KerasArchive(path, expected_kind="model") as archive:
        config = archive.read_json("config.json")
        if not isinstance(config, dict) or "class_name" not in config:
            raise archive.error("does not describe a model", "config.json")
        translate = Translator(archive, custom_objects)
        model_config = translate({k: v for k, v in config.items() if k != "compile_config"})
        fileobj, size = archive.open_member(WEIGHTS_MEMBER)
        with fileobj:
            h5 = H5Weights(h5py, fileobj, size, f"{path}: member {WEIGHTS_MEMBER!r}")
            try:
                check = _SizesInFile(h5, h5.all_variables())
                try:
                    with _rebuilding(archive, "config.json", "the model config"), \
                            serialization.SafeModeScope(safe_mode):
                        token = weight_creation_check.set(check)
                        try:
                            model = serialization.deserialize(model_config, custom_objects=custom_objects)
                        finally:
                            weight_creation_check.reset(token)
                except SavedModelError:
                    if check.refusal is not None:
                        raise check.refusal from None
                    raise
                assign(model, h5)
            finally:
                h5.close()
        compile_config = config.get("compile_config")
        if compile and isinstance(compile_config, dict) and compile_config:  # {} when never compiled
            compile_config = translate(compile_config, "the compile_config")
            with _rebuilding(archive, "config.json", "the compile_config"):
                model.compile_from_config(compile_config, custom_objects=custom_objects)
    return model
