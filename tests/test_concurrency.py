"""Concurrency: Python threads sharing a model, fork after OpenMP work, memory over a long run.

The kernels release the GIL, so two Python threads really do run kernels at the same time (each
with its own OpenMP team).  Nothing in a forward pass may be shared mutable state: predictions
from concurrent threads must be bitwise what a lone thread gets.
"""

import gc
import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc

import numpy as np
import pytest

import minicnn
from minicnn import layers


def _cnn(seed=0):
    minicnn.utils.set_random_seed(seed)
    return minicnn.Sequential([
        minicnn.Input((12, 12, 3)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(8, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(4, activation="softmax"),
    ])


def _batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(8 + i, 12, 12, 3)).astype(np.float32) for i in range(n)]


def test_two_threads_predicting_with_one_model_get_the_lone_thread_answers():
    model = _cnn()
    xs = _batches(6)
    expected = [model.predict(x, verbose=0) for x in xs]
    errors, results = [], {}
    start = threading.Barrier(2)

    def worker(tid):
        try:
            start.wait()
            for rep in range(8):
                for i in range(tid, len(xs), 2) if rep % 2 == 0 else range(len(xs)):
                    results.setdefault((tid, i), []).append(model.predict(xs[i], verbose=0))
        except BaseException as e:  # noqa: BLE001 - reported below, with the thread
            errors.append((tid, e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a predicting thread hung"
    assert not errors, errors
    assert len(results) == 2 * len(xs)
    for (tid, i), outs in results.items():
        for out in outs:
            assert out.tobytes() == expected[i].tobytes(), f"thread {tid} batch {i} differs"


def test_threads_training_one_model_and_predicting_with_another():
    """Autograd and layer call state are per thread: training in one thread does not leak
    `training=True` (dropout, batch statistics) into another thread's inference."""
    trained, frozen = _cnn(1), _cnn(2)
    trained.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = _batches(1, seed=3)[0]
    expected = frozen.predict(x, verbose=0)
    y = np.arange(len(x)) % 4
    stop = threading.Event()
    errors = []

    def train():
        try:
            while not stop.is_set():
                trained.fit(x, y, batch_size=4, epochs=1, verbose=0)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=train)
    t.start()
    try:
        for _ in range(15):
            assert frozen.predict(x, verbose=0).tobytes() == expected.tobytes()
            with minicnn.no_grad():
                assert frozen(x, training=False).data.tobytes() == expected.tobytes()
    finally:
        stop.set()
        t.join(timeout=120)
    assert not t.is_alive() and not errors, errors


_FORK = textwrap.dedent("""
    import os, sys
    import numpy as np
    import minicnn
    from minicnn.ops import conv2d
    x = np.random.default_rng(0).normal(size=(16, 24, 24, 8)).astype(np.float32)
    k = np.random.default_rng(1).normal(size=(3, 3, 8, 16)).astype(np.float32)
    with minicnn.num_threads(2):
        ref = conv2d(x, k).data   # the OpenMP pool now exists in the parent
    pid = os.fork()
    if pid == 0:
        y = conv2d(x, k).data  # kernels again, in the child, at the default thread count
        d = minicnn.linalg.gemm(x.reshape(-1, 8), k.reshape(-1, 16)[:8])
        os._exit(0 if np.array_equal(y, ref) and d.shape == (16 * 24 * 24, 16) else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_fork_after_parallel_work_does_not_hang(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), OMP_NUM_THREADS="2")
    try:
        # cwd: `python -c` puts the working directory first on sys.path; from a source checkout
        # that would import the uncompiled tree instead of the minicnn under test.
        out = subprocess.run([sys.executable, "-c", _FORK], env=env, capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("a child forked after OpenMP work hung")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "child 0", out.stdout + out.stderr


def _rss_mb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: fall back to the peak, which only grows
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def test_long_training_run_does_not_grow_memory():
    """~300 optimizer steps: after a warm-up, neither Python allocations (tracemalloc) nor the
    process RSS may keep growing (graph freed each step, kernel scratch returned)."""
    model = _cnn(4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(256, 12, 12, 3)).astype(np.float32)
    y = rng.integers(0, 4, size=256)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)  # warm-up: allocator pools, optimizer slots
    gc.collect()
    tracemalloc.start()
    try:
        rss0 = _rss_mb()
        snap0 = tracemalloc.take_snapshot()
        history = model.fit(x, y, batch_size=16, epochs=18, verbose=0)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        rss1 = _rss_mb()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    # the History object legitimately keeps 18 epochs of floats: a few kB
    assert grown < 2 * 2**20, f"Python allocations grew by {grown / 2**20:.1f} MiB over 288 steps"
    assert rss1 - rss0 < 40, f"RSS grew from {rss0:.0f} to {rss1:.0f} MiB over 288 steps"
    assert len(history.history["loss"]) == 18
