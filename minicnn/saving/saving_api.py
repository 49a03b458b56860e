"""``save_model`` / ``load_model`` / weights I/O on top of the zip format in ``file_format``.

Loading checks before it allocates: the weights' manifest is read first, every weight a layer
creates while the config is rebuilt must be one the manifest holds (``_WeightsInFile``, consulted
by ``Layer.add_weight``), and each array is read only after its shape and dtype matched the
model's.  Every failure is a ``SavedModelError`` naming the file and the member.
"""

import collections
import contextlib
import math
import os


from minicnn import serialization
from minicnn.layers.base import weight_creation_check
from minicnn.saving import keras_file
from minicnn.saving.file_format import ArchiveReader, SavedModelError, write_archive

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]


def _check_path(filepath, overwrite):
    filepath = os.fspath(filepath)
    if not filepath:
        raise ValueError("filepath is empty: pass the name of the file to write")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath!r} exists and overwrite=False")
    return filepath


def _optimizer_state(model):
    """The optimizer's ``variables`` (iterations first) with ``model.trainable_weights``' order,
    as arrays, or None if it was never built."""
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(opt, "built", False):
        return None
    variables = list(model.trainable_weights)
    opt._build_for(variables)  # adds slots for weights it never saw, so the layout is complete
    return [v.data for v in opt.variables_for(variables)]


def save_model(model, filepath, overwrite=True):
    """Save architecture, weights, compile configuration and optimizer state in one file.

    >>> # model.save("model.minicnn"); minicnn.models.load_model("model.minicnn")
    """
    filepath = _check_path(filepath, overwrite)
    try:
        model_config = serialization.serialize(model)
    except NotImplementedError as exc:
        raise NotImplementedError(
            f"save_model: {type(model).__name__} cannot be saved whole because it has no get_config() "
            f"({exc}); implement get_config() or use save_weights()") from None
    config = {"model": model_config}
    compile_config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if compile_config is not None:
        config["compile_config"] = compile_config
    groups = {"weights": [w.data for w in model.weights]}
    json_members = {"config.json": config,
                    "weights/names.json": [getattr(w, "name", None) for w in model.weights]}
    state = _optimizer_state(model)
    if state is not None:
        groups["optimizer"] = state
    write_archive(filepath, "model", json_members, groups)


def save_weights(model, filepath, overwrite=True):
    """Save ``model.weights`` (trainable and not, in order) to one file."""
    filepath = _check_path(filepath, overwrite)
    write_archive(filepath, "weights",
                  {"weights/names.json": [getattr(w, "name", None) for w in model.weights]},
                  {"weights": [w.data for w in model.weights]})


class _WeightsInFile:
    """``Layer.add_weight``'s check while a model is rebuilt from a file: each new weight must
    take the size of one of the manifest's arrays not taken yet, so a config that disagrees with
    the weights (``Dense(8_400_000)`` over 3-unit arrays) fails before the kernel is allocated.
    Sizes, not shapes: a layer may store a weight in another shape than it asked for (a scalar
    as (1,)); the shapes are compared once the model is built."""

    def __init__(self, reader, specs):
        self.reader = reader
        self.left = collections.Counter(math.prod(spec.shape) for spec in specs)
        self.refusal = None  # the error raised, whatever the layers wrap it in on its way out

    def __call__(self, layer, shape, dtype):
        size = math.prod(shape)
        if self.left[size] <= 0:
            self.refusal = self.reader.error(
                f"makes layer {getattr(layer, 'name', '?')!r} create a weight of shape "
                f"{tuple(shape)} {dtype}, but weights/arrays.json holds no (further) array of "
                f"{size:,} elements: the config and the weights disagree", "config.json")
            raise self.refusal
        self.left[size] -= 1


@contextlib.contextmanager
def _rebuilding(reader, member, what, weights=None):
    """Turn any failure of rebuilding objects from ``member`` into a SavedModelError; with
    ``weights`` (the manifest), refuse every weight the file does not hold."""
    check = _WeightsInFile(reader, weights) if weights is not None else None
    token = weight_creation_check.set(check)
    try:
        yield
    except SavedModelError as exc:
        if check is not None and check.refusal is not None:
            raise check.refusal from None
        raise exc
    except RecursionError:
        raise reader.error(f"{what} is nested too deeply to be rebuilt", member) from None
    except Exception as exc:  # noqa: BLE001 - whatever a crafted config provokes, the file is to blame
        raise reader.error(f"{what} cannot be rebuilt ({type(exc).__name__}: {exc})", member) from exc
    finally:
        weight_creation_check.reset(token)


def _dtype_fits(saved, target):
    """Arrays are assigned without casting across kinds: a float weight takes float data only."""
    return saved == target or (saved.kind == "f" and target.kind == "f")


def _saved_names(reader):
    names = reader.read_json("weights/names.json") if reader.has("weights/names.json") else None
    return names if isinstance(names, list) else []


def _check_weights(model, reader, specs):
    weights = list(model.weights)
    if len(weights) != len(specs):
        raise reader.error(f"holds {len(specs)} weights but the model {getattr(model, 'name', '')!r} has "
                           f"{len(weights)} (is it the same architecture, and built?)", "weights/arrays.json")
    names = _saved_names(reader)
    for i, (w, spec) in enumerate(zip(weights, specs)):
        data = w.data
        if data.shape == spec.shape and _dtype_fits(spec.dtype, data.dtype):
            continue
        saved = f" (saved as {str(names[i])[:80]!r})" if i < len(names) and names[i] else ""
        raise reader.error(f"weight {i} {getattr(w, 'name', '')!r}{saved} is {data.shape} {data.dtype} "
                           f"in the model but {spec.shape} {spec.dtype} in the file", spec.member)
    return weights


def _assign_weights(model, reader, specs):
    weights = _check_weights(model, reader, specs)
    arrays = [reader.read_array(spec) for spec in specs]
    # Only assign once everything was read, so a failed load leaves the model untouched.
    for w, a in zip(weights, arrays):
        w.data[...] = a


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights saved by ``save_weights`` or ``save_model`` into a built model; a real Keras 3
    ``.weights.h5`` or ``.keras`` file is read too (see :mod:`minicnn.saving.keras_file`)."""

    kind = keras_file.kind_of(filepath)
    if kind is not None:
        return keras_file.load_weights(model, filepath, kind, skip_mismatch=skip_mismatch)
    with ArchiveReader(filepath) as reader:
        specs = reader.manifest("weights")
        if not skip_mismatch:
            _assign_weights(model, reader, specs)
            return
        for w, spec in zip(model.weights, specs):
            if w.data.shape == spec.shape and _dtype_fits(spec.dtype, w.data.dtype):
                w.data[...] = reader.read_array(spec)


def _load_optimizer_state(model, reader):
    specs = reader.manifest("optimizer")
    optimizer = model.optimizer
    with _rebuilding(reader, "optimizer/arrays.json", "the optimizer state"):
        optimizer._build_for(list(model.trainable_weights))
        expected = optimizer.variables
    if len(specs) != len(expected):
        raise reader.error(f"holds {len(specs)} arrays, the optimizer {type(optimizer).__name__} "
                           f"of this model has {len(expected)}", "optimizer/arrays.json")
    for spec, target in zip(specs, expected):
        target = target.data
        kind_ok = spec.dtype.kind in "iu" if target.dtype.kind in "iu" else _dtype_fits(spec.dtype, target.dtype)
        if spec.shape != target.shape or not kind_ok:
            raise reader.error(f"is {spec.shape} {spec.dtype} in the file, the optimizer's state is "
                               f"{target.shape} {target.dtype}", spec.member)
    state = [reader.read_array(spec) for spec in specs]
    with _rebuilding(reader, "optimizer/arrays.json", "the optimizer state"):
        optimizer.load_variables(state)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved with ``model.save``: same architecture, weights, compile settings and
    optimizer state, so predictions are identical and ``fit`` continues as if never interrupted.
    A real Keras 3 ``.keras`` file is read too (architecture, weights, compile settings; see
    :mod:`minicnn.saving.keras_file`).

    ``custom_objects``: {name: class or function} for user-defined layers, losses, metrics.
    ``safe_mode=False`` lets code stored in the file run (a ``Lambda`` layer's Python lambda is
    saved as source text): only for files you trust.
    Raises ``SavedModelError`` (a ValueError) naming the file and the member when it is not a
    regular file, truncated, corrupted, of an unsupported version, or does not match its own
    config.
    """
    kind = keras_file.kind_of(filepath)
    if kind == "keras":
        return keras_file.load_model(filepath, custom_objects, compile=compile, safe_mode=safe_mode)
    if kind == "h5":
        raise SavedModelError(f"{os.fspath(filepath)}: is an HDF5 weights file, not a whole model; "
                              "build the model and call model.load_weights() on it")
    with ArchiveReader(filepath, expected_kind="model") as reader:
        config = reader.read_json("config.json")
        if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
            raise reader.error("has no 'model' entry", "config.json")
        specs = reader.manifest("weights")
        with _rebuilding(reader, "config.json", "the model config", weights=specs), \
                serialization.SafeModeScope(safe_mode):
            model = serialization.deserialize(config["model"], custom_objects=custom_objects)
        _assign_weights(model, reader, specs)
        compile_config = config.get("compile_config")
        if compile and compile_config is not None:
            with _rebuilding(reader, "config.json", "the compile_config"):
                model.compile_from_config(compile_config, custom_objects=custom_objects)
            if reader.has("optimizer/arrays.json"):
                _load_optimizer_state(model, reader)
    return model
