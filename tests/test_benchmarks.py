"""The benchmark scripts still run against today's API (they are not imported by anything else,
so nothing else would notice them breaking).  They live in the source tree only: an installed
wheel tested from another directory has no benchmarks/ folder."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minicnn

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
pytestmark = pytest.mark.skipif(not os.path.isdir(BENCH), reason="no benchmarks/ beside tests/ (installed wheel)")


@pytest.fixture
def models_module(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import models
    return models


@pytest.mark.parametrize("name, params", [("ref", 225034), ("lenet", 44426), ("resnet", 274042)])
def test_benchmark_models_build_and_train_with_minicnn(models_module, name, params):
    model = models_module.compile_for_training(minicnn, models_module.build(minicnn, name))
    assert model.count_params() == params  # the same count Keras 3 gives for these layers
    shape = models_module.SPECS[name][0]
    history = model.fit(np.zeros((4,) + shape, np.float32), np.arange(4), batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def _run(args, **env):
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE", **env)
    return subprocess.run([sys.executable, *args], cwd=BENCH, env=env, capture_output=True, text=True,
                          timeout=300)


def test_worker_reports_a_speed_result():
    p = _run(["_worker.py", "minicnn", "lenet", "8", "1", "--steps", "4", "--warmup", "1",
              "--infer-batch", "8", "--infer-batches", "1"])
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, p.stderr[-2000:]
    res = json.loads(line[7:])
    assert res["framework"] == "minicnn" and res["timed_steps"] == 3
    assert res["train_img_s"] > 0 and res["infer_img_s"] > 0 and res["cpu_ms_per_step"] > 0


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler")
def test_peak_probe_measures_and_caches(tmp_path):
    _, simd = minicnn.utils.peak.cpu_info()
    if minicnn.utils.peak.isa_name(simd) not in ("AVX2+FMA", "AVX-512"):
        pytest.skip(f"peak.py measures x86 FMA units; this CPU lists {simd}")
    p = _run(["peak.py", "--seconds", "0.05", "--json"], XDG_CACHE_HOME=str(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["gflops_per_core"] > 1 and res["gflops_all_cores"] >= 0.5 * res["gflops_per_core"]
    cached = json.loads((tmp_path / "minicnn" / "peak.json").read_text())
    assert cached == res


def test_conv_algorithm_ab_runs_and_cross_checks():
    # 16 channels: the smallest conv the Winograd plan accepts; the script compares the two
    # algorithms' outputs before timing them.
    p = _run(["bench_conv_algorithms.py", "--shapes", "2x6x16x16", "--rounds", "2", "--base", "IM2COL",
              "--new", "WINOGRAD", "--direction", "forward"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert "speed-up" in p.stdout.splitlines()[-1]


def test_fusion_ab_runs_and_cross_checks():
    # the script checks that the fused and unfused outputs are bitwise equal (exit status 1 if not)
    p = _run(["bench_fusion.py", "--batch", "4", "--rounds", "2", "--calls", "1"])
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "outputs bitwise equal: True" in p.stdout


def test_compare_training_child_trains_from_the_given_weights(models_module, tmp_path):
    # The TensorFlow side is not installed here; minicnn's side must load the saved start and train.
    model = models_module.build(minicnn, "lenet")
    init = str(tmp_path / "init.npz")
    np.savez(init, *model.get_weights())
    p = _run(["compare_training.py", "--child", "minicnn", "--model", "lenet", "--init", init,
              "--steps", "2", "--epochs", "0", "--batch", "8"])
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, p.stderr[-2000:]
    losses = json.loads(line[7:])["losses"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    after = np.load(init + ".minicnn.npz")
    assert len(after.files) == len(model.get_weights())
    moved = [not np.array_equal(after[f"arr_{i}"], w) for i, w in enumerate(model.get_weights())]
    assert all(moved)  # every weight took the two Adam steps...
    for i, w in enumerate(model.get_weights()):  # ...from the saved start (an Adam step is at most ~lr)
        assert np.abs(after[f"arr_{i}"] - w).max() <= 2.5e-3
