"""The weights half of reading Keras 3 files: the checked datasets of a weights HDF5 file, and
where Keras' saving puts each layer's variables (``layers/<snake_case class name, made
unique>/vars/<i>``, nested models under ``.../layers/...``, other sub-layers under their
attribute's name)."""

import numpy as np

from minicnn.layers import Layer
from minicnn.layers._context import to_snake_case
from minicnn.saving.file_format import SavedModelError

__all__ = ["H5Weights", "assign"]

MAX_H5_OBJECTS = 100_000  # groups and datasets visited in one file
MAX_H5_DEPTH = 64

class H5Weights:
    """The checked datasets of a Keras weights file (an open ``h5py.File`` of ``size`` bytes)."""

    def __init__(self, h5py, fileobj, size, where):
        self.h5py, self.size, self.where = h5py, size, where
        try:
            self.file = h5py.File(fileobj, "r")
        except Exception as exc:  # noqa: BLE001 - whatever HDF5 says about a damaged file
            raise self.error(f"is not a readable HDF5 file ({type(exc).__name__}: {exc})") from None
        attrs = set(self.file.attrs.keys())
        if attrs & {"layer_names", "model_config", "keras_version"}:
            raise self.error("is a Keras 2 (legacy HDF5) file; minicnn reads Keras 3 .keras and "
                             ".weights.h5 files only")

    def error(self, problem, member=None):
        where = f" dataset {member!r}" if member else ""
        return SavedModelError(f"{self.where}:{where} {problem}")

    def close(self):
        self.file.close()

    def _child(self, group, name, path):
        link = group.get(name, getlink=True)
        if link is None:
            return None
        if not isinstance(link, self.h5py.HardLink):
            raise self.error(f"is a {type(link).__name__}: only plain (hard-linked) groups and "
                             "datasets are read", path)
        return group[name]

    def group(self, path):
        """The group at ``path`` ("layers/conv2d/vars"), or None."""
        node = self.file
        for i, part in enumerate(p for p in path.split("/") if p):
            node = self._child(node, part, "/".join(path.split("/")[:i + 1]))
            if not isinstance(node, self.h5py.Group):
                return None
        return node

    def variables(self, path):
        """The checked datasets ``<path>/vars/0 .. n-1`` (Keras' store of one layer's variables)."""
        group = self.group(f"{path}/vars" if path else "vars")
        if group is None:
            return []
        names = list(group.keys())
        if sorted(names, key=lambda n: (len(n), n)) != [str(i) for i in range(len(names))]:
            raise self.error(f"group {path}/vars holds {sorted(names)[:8]}, not datasets 0..n-1")
        return [self.dataset(self._child(group, str(i), f"{path}/vars/{i}"), f"{path}/vars/{i}")
                for i in range(len(names))]

    def dataset(self, ds, path):
        """``ds`` after the checks that make reading it safe and bounded."""
        if not isinstance(ds, self.h5py.Dataset):
            raise self.error("is not a dataset", path)
        dtype = ds.dtype
        if dtype.kind not in "fiub" or dtype.itemsize > 8:
            raise self.error(f"has dtype {dtype}; weights are numbers", path)
        nbytes = int(np.prod(ds.shape, dtype=np.int64)) * dtype.itemsize if ds.shape else dtype.itemsize
        plist = ds.id.get_create_plist()
        if ds.is_virtual or plist.get_external_count() or plist.get_nfilters() or ds.chunks is not None:
            raise self.error("is stored externally, virtually, chunked or filtered; minicnn reads "
                             "contiguous datasets only (as Keras writes them)", path)
        offset = ds.id.get_offset()
        if nbytes and (offset is None or offset < 0 or offset + nbytes > self.size):
            raise self.error(f"declares {nbytes:,} bytes that the file ({self.size:,} bytes) does "
                             "not hold", path)
        return ds

    def all_variables(self):
        """Every variable dataset of the file (for the check while a config is rebuilt)."""
        out, stack, seen = [], [(self.file, "", 0)], 0
        while stack:
            group, path, depth = stack.pop()
            for name in group.keys():
                seen += 1
                if seen > MAX_H5_OBJECTS or depth > MAX_H5_DEPTH:
                    raise self.error(f"holds more than {MAX_H5_OBJECTS:,} objects or nests deeper "
                                     f"than {MAX_H5_DEPTH}: not a Keras weights file")
                child_path = f"{path}/{name}" if path else name
                child = self._child(group, name, child_path)
                if isinstance(child, self.h5py.Group):
                    stack.append((child, child_path, depth + 1))
                elif path.endswith("vars"):
                    out.append(self.dataset(child, child_path))
        return out

    def read(self, ds, path):
        out = np.empty(ds.shape, ds.dtype)
        try:
            if out.size:
                ds.read_direct(out)
        except Exception as exc:  # noqa: BLE001 - a damaged file: h5py raises OSError and others
            raise self.error(f"cannot be read ({type(exc).__name__}: {exc})", path) from None
        return out


# ---------------------------------------------------------------------------- weights
def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _is_graph_model(layer):
    from minicnn.models import Functional, Sequential
    return isinstance(layer, (Functional, Sequential))


def _base_attributes():
    return set(vars(Layer()))


def _layer_paths(layer, path, visited, skip):
    """(h5 path, layer) for ``layer`` and everything under it, named as Keras' saving walks them:
    a graph model's ``layers`` first, then the attributes holding layers, private ones last."""

    if id(layer) in visited:
        return
    visited.add(id(layer))
    yield path, layer
    children = [("layers", layer.layers)] if _is_graph_model(layer) else []
    attrs = sorted((k for k in vars(layer) if k not in skip and not k.startswith("__")),
                   key=lambda k: f"~{k}" if k.startswith("_") else k)
    children += [(k, vars(layer)[k]) for k in attrs]
    for attr, value in children:
        child_path = f"{path}/{attr}" if path else attr
        if isinstance(value, Layer):
            yield from _layer_paths(value, child_path, visited, skip)
        elif isinstance(value, (list, tuple, dict)):
            yield from _container_paths(value, child_path, visited, skip)


def _container_paths(container, path, visited, skip):
    used = {}
    for value in container.values() if isinstance(container, dict) else container:
        if isinstance(value, Layer):
            name = _unique(to_snake_case(type(value).__name__), used)
            yield from _layer_paths(value, f"{path}/{name}", visited, skip)
        elif isinstance(value, (list, tuple, dict)):
            yield from _container_paths(value, f"{path}/{_unique('container', used)}", visited, skip)


def _weight_plan(model, h5, skip_mismatch):
    """[(variable, dataset, h5 path)] for every weight of ``model``, all checked."""
    plan = []
    for path, layer in _layer_paths(model, "", set(), _base_attributes()):
        own = list(layer._own_trainable) + list(layer._own_non_trainable)
        datasets = h5.variables(path)
        if not own and not datasets:
            continue
        paths = [f"{path}/vars/{i}" for i in range(len(datasets))]
        fits = len(own) == len(datasets) and all(
            v.shape == ds.shape and (v.dtype.kind == "f") == (ds.dtype.kind == "f")
            for v, ds in zip(own, datasets))
        if fits:
            plan.extend(zip(own, datasets, paths))
        elif not skip_mismatch:
            raise h5.error(
                f"does not match layer {layer.name!r} ({type(layer).__name__}): the layer has "
                f"{len(own)} weights {[tuple(v.shape) for v in own]}, the file's group "
                f"{path or '/'}/vars holds {len(datasets)} {[tuple(d.shape) for d in datasets]}")
    return plan


def assign(model, h5, skip_mismatch=False):
    plan = _weight_plan(model, h5, skip_mismatch)
    arrays = [h5.read(ds, p) for _, ds, p in plan]
    for (variable, _, _), array in zip(plan, arrays):  # only once everything was read
        variable.assign(array)
