"""``save_model`` / ``load_model`` / weights I/O on top of the zip format in ``file_format``."""

import os

import numpy as np

from minicnn.saving.file_format import ArchiveReader, write_archive

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")


def _optimizer_state(model):
    """[iterations, slots...] ordered by ``model.trainable_weights``, or None if never built."""
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(opt, "built", False):
        return None
    variables = list(model.trainable_weights)
    opt.build(variables)  # adds slots for weights it never saw, so the layout is complete
    state = [np.asarray(opt.iterations, dtype=np.int64)]
    for var in variables:
        slots = opt._slots[opt._index[id(var)]]
        state.extend(slots[name] for name in slots)
    return state


def save_model(model, filepath, overwrite=True):
    """Save architecture, weights, compile configuration and optimizer state in one file.

    >>> # model.save("model.minicnn"); minicnn.models.load_model("model.minicnn")
    """
    from minicnn import serialization

    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
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
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    write_archive(filepath, "weights",
                  {"weights/names.json": [getattr(w, "name", None) for w in model.weights]},
                  {"weights": [w.data for w in model.weights]})


def _assign_weights(model, arrays, reader):
    weights = list(model.weights)
    if len(weights) != len(arrays):
        raise reader.error(f"holds {len(arrays)} weights but the model {getattr(model, 'name', '')!r} has "
                           f"{len(weights)} (is it the same architecture, and built?)")
    names = reader.read_json("weights/names.json") if reader.has("weights/names.json") else [None] * len(arrays)
    for i, (w, a) in enumerate(zip(weights, arrays)):
        if w.data.shape != a.shape:
            saved = f" (saved as {names[i]!r})" if i < len(names) and names[i] else ""
            raise reader.error(f"weight {i} {getattr(w, 'name', '')!r}{saved} has shape {w.data.shape} in "
                               f"the model but {a.shape} in the file")
    # Only assign once everything matched, so a failed load leaves the model untouched.
    for w, a in zip(weights, arrays):
        w.data[...] = a


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights saved by ``save_weights`` or ``save_model`` into a built model."""
    with ArchiveReader(filepath) as reader:
        arrays = reader.read_arrays("weights")
        if skip_mismatch:
            for w, a in zip(model.weights, arrays):
                if w.data.shape == a.shape:
                    w.data[...] = a
            return
        _assign_weights(model, arrays, reader)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved with ``model.save``: same architecture, weights, compile settings and
    optimizer state, so predictions are identical and ``fit`` continues as if never interrupted.

    ``custom_objects``: {name: class or function} for user-defined layers, losses, metrics.
    ``safe_mode=False`` lets code stored in the file run (a ``Lambda`` layer's Python lambda is
    saved as source text): only for files you trust.
    Raises ``SavedModelError`` (a ValueError) naming the file when it is truncated, corrupted, of
    an unsupported version, or does not match its own config.
    """
    from minicnn import serialization

    with ArchiveReader(filepath, expected_kind="model") as reader:
        config = reader.read_json("config.json")
        if not isinstance(config, dict) or "model" not in config:
            raise reader.error("config.json has no 'model' entry")
        try:
            with serialization.SafeModeScope(safe_mode):
                model = serialization.deserialize(config["model"], custom_objects=custom_objects)
        except (ValueError, TypeError, KeyError) as exc:
            raise reader.error(f"the model config cannot be rebuilt ({type(exc).__name__}: {exc})") from exc
        _assign_weights(model, reader.read_arrays("weights"), reader)
        compile_config = config.get("compile_config")
        if compile and compile_config is not None:
            model.compile_from_config(compile_config, custom_objects=custom_objects)
            if reader.has("optimizer/arrays.json"):
                state = reader.read_arrays("optimizer")
                optimizer = model.optimizer
                optimizer.build(list(model.trainable_weights))
                try:
                    optimizer.load_variables(state)
                except ValueError as exc:
                    raise reader.error(f"optimizer state does not match the model ({exc})") from None
    return model
