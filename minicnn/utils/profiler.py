"""``profile(model, x, y)``: where the time of a training step goes, layer by layer.

Runs real training steps (``model.train_step``, as ``fit`` does, so the weights are updated) and
prints one row per layer with its forward and backward milliseconds, GFLOP/s, share of the FMA
peak and share of the step, then rows for the loss, the metrics, the optimizer and the framework's
own overhead, which add up to the measured step.  ``mode="predict"`` profiles inference instead.

How the time is attributed:

* forward: ``Layer.__call__`` hands the call to the profiler, which times it minus the layers
  nested in it (a model's own time is its graph walk and layer-call glue);
* backward: each autograd node is labelled with the innermost layer whose call created it, and
  the engine reports every node's backward time; nodes made by the loss count for the loss;
* the loss, the metrics update and ``optimizer.apply`` are timed around those calls;
* framework overhead is the rest of the step: the engine's sort and gradient bookkeeping, the
  step's own Python.  The profiler's own bookkeeping is timed and left out of every row, and the
  same number of unprofiled steps is timed as a check (``unprofiled_step_ms``).

FLOPs come from the shapes each layer saw (:mod:`minicnn.utils.flops`); the peak is, in order, the
``peak_gflops=`` argument, the FMA peak cached by ``benchmarks/peak.py`` for this CPU, or the
"GEMM peak" of :func:`minicnn.utils.measure_peak`; the printout says which.

>>> import numpy as np, minicnn
>>> from minicnn import layers
>>> model = minicnn.Sequential([minicnn.Input((8, 8, 1)), layers.Conv2D(4, 3), layers.Flatten(),
...                             layers.Dense(3)])
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
>>> rows = minicnn.utils.profile(model, np.ones((16, 8, 8, 1), np.float32), np.zeros(16, int),
...                              steps=2, verbose=False, peak_gflops=50.0)
>>> [r["kind"] for r in rows]
['layer', 'layer', 'layer', 'loss', 'metrics', 'optimizer', 'overhead', 'overhead', 'total']
>>> rows[0]["fwd_flops"] == 2 * 16 * 6 * 6 * 4 * 9
True
"""

import threading
import time

import numpy as np

from minicnn import _profiling
from minicnn._graph_labels import label_nodes, leaves, tensors
from minicnn._kernels.mempool import pooled as memory_pool
from minicnn._threads import get_num_threads
from minicnn.autograd import grad_mode, no_grad
from minicnn.utils import flops as _flops
from minicnn.utils import peak as _peak
from minicnn.utils.data_adapters import pack_x_y_sample_weight
from minicnn.utils.profile_table import profile_table

__all__ = ["profile"]

_perf = time.perf_counter


class _Row:
    __slots__ = ("name", "type", "kind", "fwd", "bwd", "fwd_flops", "bwd_flops", "calls")

    def __init__(self, name, type_, kind):
        self.name, self.type, self.kind = name, type_, kind
        self.fwd = self.bwd = 0.0
        self.fwd_flops = self.bwd_flops = self.calls = 0


def _shapes(structure):
    return [tuple(t.shape) for t in tensors(structure)]


class _Recorder:
    """Collects the times while installed as ``_profiling.state.recorder`` (one thread only)."""

    def __init__(self):
        from minicnn.models.model import Model  # (minicnn.models imports this package)

        self.model_cls = Model
        self.thread = threading.get_ident()
        self.rows = {}      # id(layer) or a fixed key -> _Row, in first-call order
        self.nested = []    # per open timed scope: time spent in scopes nested in it
        self.own = 0.0      # the recorder's bookkeeping inside the steps
        self._flop_cache = {}

    def row(self, key, name, type_, kind):
        r = self.rows.get(key)
        if r is None:
            r = self.rows[key] = _Row(name, type_, kind)
        return r

    def layer_row(self, layer):
        kind = "model" if isinstance(layer, self.model_cls) else "layer"
        return self.row(id(layer), layer.name, type(layer).__name__, kind)

    # -- timed scopes ------------------------------------------------------------------------
    def timed(self, row, fn, args, kwargs, after=None):
        """``fn(*args, **kwargs)`` with its time, less nested scopes, added to ``row.fwd``; then
        ``after(result)`` as bookkeeping, left out of every row."""
        self.nested.append(0.0)
        t0 = _perf()
        try:
            result = fn(*args, **kwargs)
        finally:
            t1 = _perf()
            inner = self.nested.pop()
            row.fwd += t1 - t0 - inner
            row.calls += 1
        if after is not None:
            after(result)
        t2 = _perf()
        self.own += t2 - t1
        if self.nested:
            self.nested[-1] += t2 - t0
        return result

    def layer_call(self, layer, inputs, args, kwargs):
        if threading.get_ident() != self.thread:
            return layer.call(inputs, *args, **kwargs)
        row = self.layer_row(layer)

        def after(outputs):
            label_nodes(inputs, outputs, "_profile_row", row)
            self.count_flops(row, layer, inputs, outputs)
        return self.timed(row, layer.call, (inputs,) + tuple(args), kwargs, after)

    def node_backward(self, ctx, seconds):
        if threading.get_ident() != self.thread:
            return
        row = getattr(ctx, "_profile_row", None)
        if row is not None:  # else an op outside any layer and the loss: framework overhead
            row.bwd += seconds

    # -- bookkeeping -------------------------------------------------------------------------
    def count_flops(self, row, layer, inputs, outputs):
        if row.kind != "layer":
            return
        ins = list(tensors(inputs))
        training = grad_mode.is_grad_enabled()
        input_grad = any(t.requires_grad for t in ins)
        key = (id(layer), tuple(tuple(t.shape) for t in ins), input_grad, training)
        counts = self._flop_cache.get(key)
        if counts is None:
            counts = self._flop_cache[key] = _flops.layer_flops(
                layer, [tuple(t.shape) for t in ins], _shapes(outputs), input_grad, training)
        row.fwd_flops += counts[0]
        row.bwd_flops += counts[1]


class _Patched:
    """Instance attributes that time some of an object's methods; removed again on exit."""

    def __init__(self, recorder):
        self.recorder, self.undo = recorder, []

    def wrap(self, obj, attr, row, label=False):
        method = getattr(obj, attr, None)
        if method is None:
            return
        rec = self.recorder

        def timed(*args, **kwargs):
            after = (lambda out: label_nodes((args, kwargs), out, "_profile_row", row)) if label else None
            return rec.timed(row, method, args, kwargs, after)
        had = attr in vars(obj)
        self.undo.append((obj, attr, had, vars(obj).get(attr)))
        object.__setattr__(obj, attr, timed)

    def restore(self):
        for obj, attr, had, old in reversed(self.undo):
            if had:
                object.__setattr__(obj, attr, old)
            else:
                object.__delattr__(obj, attr)


def _peak_per_core(peak_gflops):
    if peak_gflops is not None:
        peak_gflops = float(peak_gflops)
        if not peak_gflops > 0:
            raise ValueError(f"profile: peak_gflops must be a positive GFLOP/s per core, got {peak_gflops}")
        return peak_gflops, "given as peak_gflops="
    fma = _peak.cached_fma_peak()
    if fma is not None:
        return float(fma["gflops_per_core"]), f"FMA peak of {fma['cpu']} ({fma['isa']}), benchmarks/peak.py"
    gemm = _peak.measure_peak()
    return gemm["gflops_per_core"], (f"GEMM peak: minicnn's GEMM on an L2-resident product, "
                                     f"{gemm['isa']}; run benchmarks/peak.py for the FMA peak")


def _check_args(model, x, steps, warmup, mode):
    if mode not in ("train", "predict"):
        raise ValueError(f"profile: mode must be 'train' or 'predict', got {mode!r}")
    for name, v, low in (("steps", steps, 1), ("warmup", warmup, 0)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ValueError(f"profile: {name} must be an int >= {low}, got {v!r}")
    if mode == "train" and not getattr(model, "compiled", False):
        raise RuntimeError("profile: compile() the model first: a training step needs its loss "
                           "and optimizer (or pass mode='predict')")
    if x is None:
        raise ValueError("profile: x (one batch of inputs) is required")


def _step_fn(model, x, y, sample_weight, mode):
    data = pack_x_y_sample_weight(x, y, sample_weight)
    prepare = getattr(model, "_prepare_batch", None)  # what fit does to every batch
    if prepare is not None:
        data = prepare(data)
    if mode == "predict":
        def predict():
            with no_grad():  # as predict() runs it
                return model.predict_step(data)
        return predict
    return lambda: model.train_step(data)


def _time_steps(step, n):
    times = []
    for _ in range(n):
        t0 = _perf()
        step()
        times.append(_perf() - t0)
    return times


def profile(model, x, y=None, steps=20, *, warmup=3, sample_weight=None, mode="train",
            peak_gflops=None, verbose=True, print_fn=None, line_length=None):
    """Profile ``steps`` steps of ``model`` on the batch ``(x, y)``; print a table, return its rows.

    Args:
        model: a built or unbuilt minicnn model; compiled for ``mode="train"``.
        x, y, sample_weight: one batch, as ``fit`` would slice it (``y`` unused when predicting).
        steps: profiled steps; the table shows means per step.  As many unprofiled steps are timed
            too, after ``warmup`` untimed ones (builds, first allocations).
        mode: ``"train"`` (``train_step``: forward, loss, backward, optimizer, metrics; it updates
            the weights like ``fit``) or ``"predict"`` (``predict_step``: forward only).
        peak_gflops: FP32 peak of one core in GFLOP/s for the "% peak" column (default: the FMA
            peak cached by ``benchmarks/peak.py``, else :func:`minicnn.utils.measure_peak`); the
            column compares against it times ``minicnn.get_num_threads()``.
        verbose, print_fn, line_length: print the table (with ``print_fn``, default ``print``).

    Profiled steps time every layer on its own: the inference fusion of chains such as Conv2D ->
    BatchNormalization -> ReLU (``minicnn/models/_fusion.py``) is off while the profiler records,
    so each layer keeps its row.  The unprofiled steps run the model as ``fit``/``predict`` do
    (fused where it applies), so in ``mode="predict"`` the unprofiled step can be shorter than
    the table's sum by more than the profiler's own overhead.

    Returns:
        A list of dicts, one per row: ``name``, ``type``, ``kind`` (``"layer"``, ``"loss"``,
        ``"metrics"``, ``"optimizer"``, ``"overhead"``, and a final ``"total"``), ``calls`` per
        step, ``fwd_ms``, ``bwd_ms``, ``total_ms``, ``share`` of the step, ``fwd_flops``,
        ``bwd_flops``, ``gflops`` and ``peak_fraction`` (None without FLOPs).  The ``total_ms``
        of all rows but the last add up to the last one's; the last also carries
        ``unprofiled_step_ms``, ``threads``, ``peak_gflops_per_core`` and ``peak_source``.
    """

    _check_args(model, x, steps, warmup, mode)
    peak, peak_source = _peak_per_core(peak_gflops)
    threads = get_num_threads()
    with memory_pool():
        step = _step_fn(model, x, y, sample_weight, mode)
        _time_steps(step, warmup)
        unprofiled = _time_steps(step, steps)
        rec = _Recorder()
        patched = _Patched(rec)
        if mode == "train":
            patched.wrap(model, "compute_loss", rec.row("loss", "loss", "", "loss"), label=True)
            metrics = rec.row("metrics", "metrics", "", "metrics")
            patched.wrap(model, "compute_metrics" if hasattr(model, "compute_metrics") else
                         "_update_metrics", metrics)
            patched.wrap(model.optimizer, "apply",
                         rec.row("optimizer", "optimizer", type(model.optimizer).__name__, "optimizer"))
        _profiling.state.recorder = rec
        try:
            wall = sum(_time_steps(step, steps))
        finally:
            _profiling.state.recorder = None
            patched.restore()
    rows = _rows(rec, (wall - rec.own) / steps, steps, peak * threads)
    rows[-1].update(unprofiled_step_ms=1e3 * float(np.mean(unprofiled)), threads=threads,
                    peak_gflops_per_core=peak, peak_source=peak_source)
    if verbose:
        title = (f'Profile of "{model.name}": {"training" if mode == "train" else "inference"} step, '
                 f"batch {_batch_size(x)}, {threads} thread{'s' if threads != 1 else ''}, "
                 f"mean of {steps} steps")
        (print_fn or print)(profile_table(rows, title, line_length))
    return rows


def _batch_size(x):
    first = next(leaves(x), None)
    return getattr(first, "shape", (None,))[0]


def _row_dict(name, type_, kind, fwd_s, bwd_s, step_s, peak, fwd_flops=0, bwd_flops=0, calls=0,
              split=True):
    """One row; ``split=False`` for rows where forward/backward does not apply (their time is
    in ``total_ms`` only, ``fwd_ms``/``bwd_ms`` are None)."""
    total = fwd_s + bwd_s
    flops = fwd_flops + bwd_flops
    gflops = flops / total / 1e9 if flops and total > 0 else None
    return dict(name=name, type=type_, kind=kind, calls=calls,
                fwd_ms=1e3 * fwd_s if split else None, bwd_ms=1e3 * bwd_s if split else None,
                total_ms=1e3 * total, share=total / step_s if step_s > 0 else 0.0,
                fwd_flops=fwd_flops, bwd_flops=bwd_flops, gflops=gflops,
                peak_fraction=None if gflops is None else gflops / peak)


def _rows(rec, step_s, steps, peak):
    """Per-step rows from the recorder's totals over ``steps`` steps; the framework-overhead row
    takes whatever of ``step_s`` no other row holds, so the rows add up to the step."""
    out, glue = [], 0.0
    for r in rec.rows.values():
        if r.kind == "model":
            glue += r.fwd / steps
            continue
        out.append(_row_dict(r.name, r.type, r.kind, r.fwd / steps, r.bwd / steps, step_s, peak,
                             r.fwd_flops // steps, r.bwd_flops // steps, r.calls // steps,
                             split=r.kind in ("layer", "loss")))
    # Layers first (in call order), then the loss, metrics and optimizer rows.
    out.sort(key=lambda d: d["kind"] != "layer")
    out.append(_row_dict("model call overhead", "", "overhead", glue, 0.0, step_s, peak))
    rest = step_s - sum(d["total_ms"] for d in out) / 1e3
    out.append(_row_dict("framework overhead", "", "overhead", rest, 0.0, step_s, peak, split=False))
    out.append(_row_dict("step", "", "total", step_s, 0.0, step_s, peak,
                         sum(d["fwd_flops"] for d in out), sum(d["bwd_flops"] for d in out), 1,
                         split=False))
    return out
