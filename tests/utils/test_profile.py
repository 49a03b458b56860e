"""minicnn.utils.profile: rows add up to the step, every layer appears, time lands on the layer
that spent it (forward and backward), FLOP counts match hand counts, nothing stays installed."""

import doctest
import json
import time

import numpy as np
import pytest

import minicnn
from minicnn import _profiling, layers
from minicnn.autograd import Function
from minicnn.utils import flops, peak
from minicnn.utils import profiler as profile_module
from minicnn.utils.flops import layer_flops

profile = minicnn.utils.profile
PEAK = 50.0  # GFLOP/s per core given explicitly: no probe, no GEMM timing in most tests


def _batch(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + shape, dtype=np.float32), rng.integers(0, 10, n)


def _cnn():
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([
        minicnn.Input((12, 12, 2)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3), layers.Flatten(), layers.Dense(10)])
    model.compile(optimizer="adam", loss=minicnn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_rows_add_up_to_the_step_and_every_layer_appears_in_call_order():
    model = _cnn()
    x, y = _batch(8, (12, 12, 2))
    rows = profile(model, x, y, steps=3, verbose=False, peak_gflops=PEAK)
    total = rows[-1]
    assert total["kind"] == "total"
    assert sum(r["total_ms"] for r in rows[:-1]) == pytest.approx(total["total_ms"], rel=1e-9)
    assert sum(r["share"] for r in rows[:-1]) == pytest.approx(1.0)
    assert [r["name"] for r in rows if r["kind"] == "layer"] == [l.name for l in model.layers]
    kinds = [r["kind"] for r in rows if r["kind"] != "layer"]
    assert kinds == ["loss", "metrics", "optimizer", "overhead", "overhead", "total"]
    for r in rows[:-1]:
        assert r["total_ms"] >= 0, r
    for r in rows:
        if r["kind"] == "layer":
            assert r["calls"] == 1 and r["fwd_ms"] > 0 and r["bwd_ms"] > 0, r
    assert total["unprofiled_step_ms"] > 0 and total["threads"] == minicnn.get_num_threads()
    assert total["peak_gflops_per_core"] == PEAK


def test_conv_and_dense_flops_match_hand_counts():
    model = _cnn()
    n = 8
    x, y = _batch(n, (12, 12, 2))
    rows = {r["name"]: r for r in profile(model, x, y, steps=2, verbose=False, peak_gflops=PEAK)}
    conv1, _, conv2, _, dense = model.layers
    fwd1 = 2 * n * 10 * 10 * 4 * (3 * 3 * 2)
    fwd2 = 2 * n * 3 * 3 * 6 * (3 * 3 * 4)
    fwd3 = 2 * n * 54 * 10
    assert rows[conv1.name]["fwd_flops"] == fwd1
    assert rows[conv1.name]["bwd_flops"] == fwd1   # kernel gradient only: the data needs none
    assert rows[conv2.name]["fwd_flops"] == fwd2
    assert rows[conv2.name]["bwd_flops"] == 2 * fwd2  # kernel and input gradients
    assert rows[dense.name]["fwd_flops"] == fwd3 and rows[dense.name]["bwd_flops"] == 2 * fwd3
    assert rows["step"]["fwd_flops"] >= fwd1 + fwd2 + fwd3
    r = rows[conv2.name]
    assert r["gflops"] == pytest.approx(3 * fwd2 / (r["total_ms"] / 1e3) / 1e9)
    assert r["peak_fraction"] == pytest.approx(r["gflops"] / (PEAK * minicnn.get_num_threads()))
    assert rows[model.layers[3].name]["gflops"] is None  # Flatten: no FLOPs, no rate


@pytest.mark.parametrize("make, in_shape, expected", [
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (2, 8, 8, 3), 2 * 2 * 6 * 6 * 6 * 9),
    (lambda: layers.SeparableConv2D(5, 3), (2, 8, 8, 3), 2 * 2 * 6 * 6 * 3 * (9 + 5)),
    (lambda: layers.Conv2DTranspose(4, 3), (2, 5, 5, 3), 2 * 2 * 5 * 5 * 3 * 9 * 4),
    (lambda: layers.Conv2D(8, 3, strides=2, padding="same", groups=2), (1, 8, 8, 4), 2 * 4 * 4 * 8 * 9 * 2),
    (lambda: layers.Dense(7), (3, 5, 4), 2 * 3 * 5 * 4 * 7),
    (lambda: layers.MaxPooling2D(2), (2, 6, 6, 3), 2 * 3 * 3 * 3 * 4),
    (lambda: layers.BatchNormalization(), (2, 4, 4, 3), 2 * 96),  # inference: scale and shift
    (lambda: layers.Flatten(), (2, 4, 4, 3), 0),
])
def test_layer_flops_by_type(make, in_shape, expected):
    layer = make()
    y = layer(np.ones(in_shape, np.float32))
    fwd, bwd = layer_flops(layer, [in_shape], [tuple(y.shape)], input_grad=False, training=False)
    assert (fwd, bwd) == (expected, 0)


def test_layer_flops_backward_counts_the_gradients_it_computes():
    conv = layers.Conv2D(4, 3)
    conv(np.ones((1, 6, 6, 2), np.float32))
    args = ([(1, 6, 6, 2)], [(1, 4, 4, 4)])
    fwd = 2 * 16 * 4 * 18
    assert layer_flops(conv, *args, input_grad=True, training=True) == (fwd, 2 * fwd)
    assert layer_flops(conv, *args, input_grad=False, training=True) == (fwd, fwd)
    conv.trainable = False
    assert layer_flops(conv, *args, input_grad=True, training=True) == (fwd, fwd)
    assert layer_flops(conv, *args, input_grad=False, training=True) == (fwd, 0)
    pool = layers.MaxPooling2D(2)
    assert layer_flops(pool, [(1, 4, 4, 4)], [(1, 2, 2, 4)], input_grad=True, training=True) == (64, 64)


# ------------------------------------------------------------------ attribution
class _SlowBackward(Function):
    """Identity whose backward sleeps: a known amount of backward time in one place."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        time.sleep(0.06)
        return g


class _SlowLayer(layers.Layer):
    def call(self, x):
        time.sleep(0.03)
        return _SlowBackward.apply(x)


class _Outer(layers.Layer):
    """A layer around a slow one: the time belongs to the inner layer, not to this one."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = _SlowLayer(name="slow_inner")

    def call(self, x):
        return self.inner(x) * 2.0


def test_time_goes_to_the_innermost_layer_forward_and_backward():
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(4), _Outer(name="outer"),
                                layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32)
    rows = {r["name"]: r for r in profile(model, x, y, steps=2, warmup=1, verbose=False, peak_gflops=PEAK)}
    slow, outer = rows["slow_inner"], rows["outer"]
    # Generous bounds for a loaded machine: the sleeps are 30 ms forward and 60 ms backward.
    assert slow["fwd_ms"] >= 30 and slow["bwd_ms"] >= 60
    assert outer["fwd_ms"] < 25 and outer["bwd_ms"] < 25
    for name, r in rows.items():
        if name not in ("slow_inner", "step"):
            assert r["total_ms"] < 25, (name, r)
    assert rows["outer"]["bwd_ms"] > 0  # its own multiply's backward


def test_loss_backward_is_counted_in_the_loss_row():
    class SlowLoss(minicnn.losses.Loss):
        def call(self, y_true, y_pred):
            return _SlowBackward.apply(y_pred).mean(axis=-1) * 0.0 + ((y_pred - y_true) ** 2).mean(axis=-1)

    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss=SlowLoss())
    rows = profile(model, np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32), steps=2,
                   verbose=False, peak_gflops=PEAK)
    loss = next(r for r in rows if r["kind"] == "loss")
    assert loss["bwd_ms"] >= 60
    assert all(r["total_ms"] < 30 for r in rows if r["kind"] not in ("loss", "total"))


def test_functional_model_with_a_shared_layer():
    inp = minicnn.Input((5,))
    shared = layers.Dense(5, name="shared")
    out = layers.Dense(2, name="head")(layers.Add(name="add")([shared(inp), shared(shared(inp))]))
    model = minicnn.Model(inp, out)
    model.compile(optimizer="adam", loss="mse")
    rows = {r["name"]: r for r in profile(model, np.ones((4, 5), np.float32), np.zeros((4, 2), np.float32),
                                          steps=2, verbose=False, peak_gflops=PEAK)}
    assert rows["shared"]["calls"] == 3
    assert rows["shared"]["fwd_flops"] == 3 * 2 * 4 * 5 * 5
    assert {"shared", "add", "head"} <= set(rows)


def test_predict_mode_times_the_forward_only():
    model = _cnn()
    x, _ = _batch(8, (12, 12, 2))
    rows = profile(model, x, steps=2, mode="predict", verbose=False, peak_gflops=PEAK)
    assert [r["kind"] for r in rows if r["kind"] != "layer"] == ["overhead", "overhead", "total"]
    assert all(r["bwd_ms"] == 0 and r["bwd_flops"] == 0 for r in rows if r["kind"] == "layer")
    assert sum(r["total_ms"] for r in rows[:-1]) == pytest.approx(rows[-1]["total_ms"])


def test_nothing_stays_installed_even_after_an_error():
    model = _cnn()
    x, y = _batch(4, (12, 12, 2))
    profile(model, x, y, steps=1, verbose=False, peak_gflops=PEAK)
    assert _profiling.state.recorder is None
    assert "compute_loss" not in vars(model) and "apply" not in vars(model.optimizer)

    def broken(*args, **kwargs):
        raise ArithmeticError("boom")
    model.optimizer.apply = broken  # a user's own instance attribute: put back as it was
    with pytest.raises(ArithmeticError, match="boom"):
        profile(model, x, y, steps=1, warmup=0, verbose=False, peak_gflops=PEAK)
    assert _profiling.state.recorder is None
    assert model.optimizer.apply is broken and "compute_loss" not in vars(model)


def test_bad_arguments_raise_clear_errors():
    model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(2)])
    x = np.ones((2, 4), np.float32)
    with pytest.raises(RuntimeError, match="compile"):
        profile(model, x, np.zeros(2), verbose=False)
    model.compile(optimizer="sgd", loss="mse")
    for kwargs, match in (({"steps": 0}, "steps"), ({"warmup": -1}, "warmup"), ({"mode": "eval"}, "mode"),
                          ({"peak_gflops": -3.0}, "peak_gflops"), ({"steps": 2.5}, "steps")):
        with pytest.raises(ValueError, match=match):
            profile(model, x, np.zeros((2, 2)), verbose=False, **kwargs)
    with pytest.raises(ValueError, match="x"):
        profile(model, None, verbose=False)


def test_prints_a_table_naming_every_row():
    model = _cnn()
    x, y = _batch(4, (12, 12, 2))
    lines = []
    rows = profile(model, x, y, steps=1, print_fn=lines.append, peak_gflops=PEAK)
    text = "\n".join(lines)
    for layer in model.layers:
        assert f"{layer.name} ({type(layer).__name__})" in text
    for word in ("loss", "metrics", "optimizer (Adam)", "framework overhead", "unprofiled step",
                 "given as peak_gflops="):
        assert word in text
    assert f"{rows[-1]['total_ms']:.3f}" in text


def test_layers_called_from_another_thread_are_not_recorded():
    import threading

    model = _cnn()
    x, y = _batch(4, (12, 12, 2))
    other = layers.Dense(3, name="other_thread")
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            other(np.ones((2, 2), np.float32))
    t = threading.Thread(target=busy)
    t.start()
    try:
        rows = profile(model, x, y, steps=2, verbose=False, peak_gflops=PEAK)
    finally:
        stop.set()
        t.join()
    assert "other_thread" not in {r["name"] for r in rows}


# ------------------------------------------------------------------ peak
def test_measure_peak_is_labelled_as_the_gemm_peak():
    res = minicnn.utils.measure_peak()
    assert res["kind"] == "GEMM peak" and res["gflops_per_core"] > 0


def test_cached_fma_peak_only_for_the_cpu_it_was_measured_on(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert peak.cached_fma_peak() is None
    model, simd = peak.cpu_info()
    path = tmp_path / "minicnn" / "peak.json"
    path.parent.mkdir()
    path.write_text(json.dumps(dict(cpu=model, simd=simd, gflops_per_core=123.0, isa="x")))
    assert peak.cached_fma_peak()["gflops_per_core"] == 123.0
    rows = profile(_cnn(), *_batch(4, (12, 12, 2)), steps=1, verbose=False)
    assert rows[-1]["peak_gflops_per_core"] == 123.0 and "FMA peak" in rows[-1]["peak_source"]
    path.write_text(json.dumps(dict(cpu=model + " (another)", simd=simd, gflops_per_core=1.0)))
    assert peak.cached_fma_peak() is None
    path.write_text("{not json")
    assert peak.cached_fma_peak() is None
    rows = profile(_cnn(), *_batch(4, (12, 12, 2)), steps=1, verbose=False)
    assert "GEMM peak" in rows[-1]["peak_source"]


def test_docstring_examples():
    for mod in (profile_module, flops):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.attempted > 0 and res.failed == 0, mod.__name__
