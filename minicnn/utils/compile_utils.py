"""What ``Model.compile`` builds and ``fit``/``evaluate`` use: array plumbing for (possibly nested)
inputs and targets, the per-output losses and metrics, and the JSON form of the compile arguments.

Structures are an ndarray, a list/tuple of ndarrays, or a dict of them (several inputs/outputs).
"""

import numbers
import weakref

import numpy as np

from minicnn import losses, metrics as M, optimizers, serialization
from minicnn.losses import Loss, reduce_weighted
from minicnn.metrics import Mean, Metric

__all__ = ["CompileLoss", "CompileMetrics", "to_arrays", "check_lengths", "slice_structure",
           "map_structure", "flatten_outputs", "concatenate_structures", "class_weight_to_sample_weight"]


# ------------------------------------------------------------------ structures of arrays
def to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    data = getattr(value, "data", None)
    if isinstance(data, np.ndarray):  # a minicnn Tensor
        return data
    return np.asarray(value)


def _is_leaf_list(value):
    # [0, 1, 2] is one array of labels; [x1, x2] (arrays) is two inputs.
    return all(isinstance(v, (numbers.Number, np.generic)) or isinstance(v, (list, tuple)) and _is_leaf_list(v)
               for v in value)


def to_arrays(value, name):
    """ndarray / Tensor / list / tuple / dict -> the same structure of ndarrays (None stays None)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: to_arrays(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not (value and _is_leaf_list(value)):
        return [to_arrays(v, f"{name}[{i}]") for i, v in enumerate(value)]
    try:
        array = to_numpy(value)
    except (TypeError, ValueError) as e:  # ragged nesting, unconvertible objects
        raise TypeError(f"{name}: a {type(value).__module__}.{type(value).__qualname__} could not be "
                        f"converted to a numeric array ({e})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric arrays (or lists/dicts of them), got dtype "
                        f"{array.dtype} from a {type(value).__module__}.{type(value).__qualname__}"
                        + (" (strings, such as file names, must be loaded into arrays first)"
                           if array.dtype.kind in "USO" else ""))
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar")
    return array


def leaves(value):
    if value is None:
        return []
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def check_lengths(x, y, sample_weight):
    """Number of samples, after checking every array agrees on it."""
    sizes = {}
    for label, struct in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for leaf in leaves(struct):
            sizes.setdefault(label, []).append(leaf.shape[0])
    if "x" not in sizes:
        raise ValueError("x must hold at least one array")
    every = {n for ns in sizes.values() for n in ns}
    if len(every) != 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous: all arrays must have the same number of "
                         f"samples. Received sizes {detail}")
    return every.pop()


def slice_structure(value, index):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: slice_structure(v, index) for k, v in value.items()}
    if isinstance(value, list):
        return [slice_structure(v, index) for v in value]
    return value[index]


def map_structure(fn, value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: map_structure(fn, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_structure(fn, v) for v in value]
    return fn(value)


def batch_size_of(x):
    return leaves(x)[0].shape[0]


def concatenate_structures(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: concatenate_structures([b[k] for b in batches]) for k in first}
    if isinstance(first, list):
        return [concatenate_structures([b[i] for b in batches]) for i in range(len(first))]
    return np.concatenate(batches, axis=0)


def flatten_outputs(y_pred, names):
    """(list of outputs, list of their names) in the model's output order."""
    if isinstance(y_pred, dict):
        keys = [n for n in names if n in y_pred] if set(names) == set(y_pred) else sorted(y_pred)
        return [y_pred[k] for k in keys], keys
    if isinstance(y_pred, (list, tuple)):
        outs = list(y_pred)
        if len(names) != len(outs):
            names = [f"output_{i}" for i in range(len(outs))]
        return outs, list(names)
    return [y_pred], list(names[:1]) or ["output"]


def match_targets(y, names):
    """Targets as a list aligned with the outputs ``names``."""
    n = len(names)
    if y is None:
        return [None] * n
    if isinstance(y, dict):
        unknown = set(y) - set(names)
        if unknown:
            raise ValueError(f"y has keys {sorted(unknown)} that are not model outputs {names}")
        return [y.get(name) for name in names]
    if isinstance(y, list):
        if len(y) != n:
            raise ValueError(f"the model has {n} outputs {names} but y is a list of {len(y)} arrays")
        return y
    if n != 1:
        raise ValueError(f"the model has {n} outputs {names}: pass y as a list or a dict of {n} arrays")
    return [y]


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from ``{class index: weight}`` (integer or one-hot targets)."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}, got {type(class_weight).__name__}")
    if isinstance(y, (list, dict)):
        raise ValueError("class_weight is only supported for models with a single output")
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    else:
        labels = y.reshape(y.shape[0], -1)[:, 0]
        if y.ndim >= 2 and y.shape[-1] == 1 and y.dtype.kind == "f" and set(np.unique(y)) <= {0.0, 1.0}:
            labels = labels.astype(np.int64)
    labels = np.round(labels).astype(np.int64)
    missing = set(np.unique(labels).tolist()) - set(int(k) for k in class_weight)
    if missing:
        raise ValueError(f"class_weight has no entry for classes {sorted(missing)}")
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table[int(c)] for c in labels], dtype=np.float32)


# ------------------------------------------------------------------ per-output specs
def _per_output(spec, names, what, nested_lists):
    n = len(names)
    if spec is None:
        return [None] * n
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that are not outputs {names}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)):
        if nested_lists:
            if n > 1 and len(spec) == n and all(isinstance(s, (list, tuple)) or s is None for s in spec):
                return [list(s) if s is not None else None for s in spec]
            return [list(spec)] * n
        if len(spec) == n:
            return list(spec)
        raise ValueError(f"compile: {what} is a list of {len(spec)} but the model has {n} outputs {names}")
    return [spec] * n


def _spec_leaves(spec):
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [leaf for v in spec.values() for leaf in _spec_leaves(v)]
    if isinstance(spec, (list, tuple)):
        return [leaf for v in spec for leaf in _spec_leaves(v)]
    return [spec]


class CompileLoss:
    """The compiled loss: per-output losses, weights, and per-output loss trackers."""

    def __init__(self, loss, loss_weights=None):
        for leaf in _spec_leaves(loss):
            losses.get(leaf)  # an unknown name fails at compile(), not at the first batch
        self.loss = loss
        self.loss_weights = loss_weights
        self._built_for = None
        self.metrics = []  # the per-output loss trackers (several outputs only)

    def _build(self, names):
        fns = [losses.get(spec) for spec in _per_output(self.loss, names, "loss", False)]
        if isinstance(self.loss_weights, numbers.Number):
            weights = [float(self.loss_weights)] * len(names)
        else:
            weights = [1.0 if w is None else float(w)
                       for w in _per_output(self.loss_weights, names, "loss_weights", False)]
        self._fns, self._weights, self._built_for = fns, weights, list(names)
        self.metrics = [Mean(name=f"{name}_loss") for name, fn in zip(names, fns) if fn is not None] \
            if len(names) > 1 else []
        self._tracker_of = {}
        it = iter(self.metrics)
        for i, fn in enumerate(fns):
            if fn is not None and len(names) > 1:
                self._tracker_of[i] = next(it)

    def __call__(self, y, preds, names, sample_weight):
        if self._built_for != list(names):
            self._build(names)
        targets = match_targets(y, names)
        weights = match_targets(sample_weight, names) if isinstance(sample_weight, (list, dict)) \
            else [sample_weight] * len(names)
        total = None
        for i, (fn, w, yt, yp, sw) in enumerate(zip(self._fns, self._weights, targets, preds, weights)):
            if fn is None:
                continue
            if yt is None:
                raise ValueError(f"compile: output {names[i]!r} has a loss but no target was given in y")
            value = fn(yt, yp, sample_weight=sw) if isinstance(fn, Loss) else reduce_weighted(fn(yt, yp), sw)
            if i in self._tracker_of:
                self._tracker_of[i].update_state(float(value.data), sample_weight=len(yt))
            term = value * w if w != 1.0 else value
            total = term if total is None else total + term
        return total


class CompileMetrics(Metric):
    """The compiled metrics as one metric named ``compile_metrics`` (as in Keras 3): it is in
    ``model.metrics`` from ``compile()`` on, so a custom ``train_step`` that updates every metric
    of ``self.metrics`` reaches them even before they are built (at the first batch: "accuracy"
    needs the shapes); ``result()`` is a dict of the metrics' results.

    ``flatten(y_pred) -> (list of outputs, their names)`` is the model's, held weakly."""

    def __init__(self, metrics=None, weighted_metrics=None, flatten=None):
        super().__init__(name="compile_metrics")
        for arg, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise TypeError(f"compile: {arg} must be a list or a dict, got {type(value).__name__}")
        for leaf in _spec_leaves(metrics) + _spec_leaves(weighted_metrics):
            if not (isinstance(leaf, str) and leaf.lower() in ("accuracy", "acc")):
                M.get(leaf)
        self._spec = metrics
        self._weighted_spec = weighted_metrics
        self._flatten = weakref.WeakMethod(flatten) if flatten is not None else None
        self._built_for = None
        self.metrics = []
        self._plan = []

    def _make(self, identifier, y_true, y_pred):
        if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
            return M.resolve_accuracy(identifier, y_true, y_pred)
        metric = M.get(identifier)
        if isinstance(identifier, str):
            metric.name = identifier
        return metric

    def _build(self, targets, preds, names):
        plan, metrics = [], []
        for spec, weighted in ((self._spec, False), (self._weighted_spec, True)):
            per_output = _per_output(spec, names, "weighted_metrics" if weighted else "metrics", True)
            for i, ids in enumerate(per_output):
                if not ids:
                    continue
                for ident in ids if isinstance(ids, (list, tuple)) else [ids]:
                    if ident is None:
                        continue
                    if targets[i] is None:
                        raise ValueError(f"compile: output {names[i]!r} has metrics but no target in y")
                    metric = self._make(ident, targets[i], preds[i])
                    if len(names) > 1:
                        metric.name = f"{names[i]}_{metric.name}"
                    plan.append((i, metric, weighted))
                    metrics.append(metric)
        seen = set()
        for m in metrics:
            if m.name in seen:
                raise ValueError(f"compile: two metrics are named {m.name!r}; give one a different name")
            seen.add(m.name)
        self._plan, self.metrics, self._built_for = plan, metrics, list(names)

    def update_state(self, y, y_pred, sample_weight=None):
        if self._spec is None and self._weighted_spec is None:
            return
        flatten = self._flatten() if self._flatten is not None else None
        preds, names = flatten(y_pred) if flatten is not None else flatten_outputs(y_pred, [])
        preds = [to_numpy(p) for p in preds]
        targets = match_targets(y, names)
        if self._built_for != list(names):
            self._build(targets, preds, names)
        weights = match_targets(sample_weight, names) if isinstance(sample_weight, (list, dict)) \
            else [sample_weight] * len(names)
        for i, metric, weighted in self._plan:
            metric.update_state(targets[i], preds[i], sample_weight=weights[i] if weighted else None)

    def result(self):
        return {m.name: m.result() for m in self.metrics}

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()


# ------------------------------------------------------------------ compile config (JSON)
def _serialize_loss(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)):
        return [_serialize_loss(s) for s in spec]
    if isinstance(spec, dict):
        return {"__per_output__": {k: _serialize_loss(v) for k, v in spec.items()}}
    if isinstance(spec, losses.Loss):
        return losses.serialize(spec)
    return serialization.serialize(spec)  # a function: saved by (registered) name


def _serialize_metric(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)):
        return [_serialize_metric(s) for s in spec]
    if isinstance(spec, dict):
        return {"__per_output__": {k: _serialize_metric(v) for k, v in spec.items()}}
    if isinstance(spec, Metric):
        return M.serialize(spec)
    return serialization.serialize(spec)


def compile_config(optimizer, loss, loss_weights, metrics, weighted_metrics):
    return {"optimizer": optimizers.serialize(optimizer), "loss": _serialize_loss(loss),
            "loss_weights": loss_weights, "metrics": _serialize_metric(metrics),
            "weighted_metrics": _serialize_metric(weighted_metrics)}


def _deserialize_spec(spec, deserialize_one):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_deserialize_spec(s, deserialize_one) for s in spec]
    if isinstance(spec, dict) and "__per_output__" in spec:
        return {k: _deserialize_spec(v, deserialize_one) for k, v in spec["__per_output__"].items()}
    return deserialize_one(spec)


def compile_args_from_config(config, custom_objects=None):
    def one_loss(cfg):
        if cfg.get("class_name") == "function":
            return serialization.deserialize(cfg, custom_objects=custom_objects)
        return losses.deserialize(cfg, custom_objects)

    def one_metric(cfg):
        if cfg.get("class_name") == "function":
            return serialization.deserialize(cfg, custom_objects=custom_objects)
        return M.deserialize(cfg, custom_objects)

    return {"optimizer": optimizers.deserialize(config["optimizer"], custom_objects),
            "loss": _deserialize_spec(config.get("loss"), one_loss),
            "loss_weights": config.get("loss_weights"),
            "metrics": _deserialize_spec(config.get("metrics"), one_metric),
            "weighted_metrics": _deserialize_spec(config.get("weighted_metrics"), one_metric)}
