"""The caching numpy allocator that fit/evaluate/predict run under (minicnn._kernels._mempool)."""

import threading

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn._kernels import _mempool, mempool

MIN = 1 << 16  # POOL_MIN: smaller blocks are never pooled


@pytest.fixture(autouse=True)
def _pool_closed():
    assert _mempool.stats()["depth"] == 0
    yield
    assert _mempool.stats()["depth"] == 0 and _mempool.stats()["held"] == 0


@pytest.mark.parametrize("n", [MIN, MIN + 1, 73728, 73729, 131071, 131072, 10**6, 3 * 2**27 + 5])
def test_size_class_capacity_is_within_an_eighth(n):
    cls, cap = _mempool._size_class_of(n)
    assert n <= cap <= n + n // 8 + 1
    e = cap.bit_length() - 1
    assert cls == 8 * e + (cap >> (e - 3)) - 8  # class -> capacity is one-to-one


def test_size_classes_are_monotone():
    sizes = np.unique(np.geomspace(MIN, 2**34, 2000).astype(np.int64))
    got = [_mempool._size_class_of(int(n)) for n in sizes]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(got, got[1:]))
    assert all(cap >= n for n, (_, cap) in zip(sizes, got))


def test_installed_only_inside_and_nesting():
    assert not _mempool.installed()
    with mempool.pooled():
        assert _mempool.installed()
        with mempool.pooled():
            assert _mempool.stats()["depth"] == 2
        assert _mempool.installed() and _mempool.stats()["depth"] == 1
    assert not _mempool.installed()


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("MINICNN_MEMORY_POOL", "0")
    with mempool.pooled():
        assert not _mempool.installed()


def test_freed_blocks_are_reused_and_released_on_exit():
    before = _mempool.stats()
    with mempool.pooled():
        for _ in range(5):
            a = np.ones(200_000, np.float32)
            del a
        inside = _mempool.stats()
        assert inside["held"] >= 800_000
    after = _mempool.stats()
    assert inside["hits"] - before["hits"] >= 4
    assert after["held"] == 0


def test_zeros_from_a_dirty_block_are_zero():
    with mempool.pooled():
        a = np.full(300_000, 7.0)
        del a
        hits = _mempool.stats()["hits"]
        z = np.zeros(300_000)
        assert _mempool.stats()["hits"] == hits + 1  # the dirty block came back ...
        assert not z.any()                          # ... cleared


def test_data_is_64_byte_aligned_and_correct():
    rng = np.random.default_rng(0)
    with mempool.pooled():
        for n in (1, 7, 1000, MIN // 8, MIN, 123_457):
            a = rng.standard_normal(n)
            b = a * 2 + 1
            assert b.ctypes.data % 64 == 0
            np.testing.assert_array_equal(b, a * 2 + 1)


def test_realloc_keeps_contents():
    with mempool.pooled():
        a = np.arange(20_000, dtype=np.float64)
        a.resize(400_000, refcheck=False)  # grows through the handler's realloc
        np.testing.assert_array_equal(a[:20_000], np.arange(20_000))
        assert not a[20_000:].any()
        a.resize(100, refcheck=False)
        np.testing.assert_array_equal(a, np.arange(100))
        it = np.fromiter((i * 0.5 for i in range(100_000)), np.float64)  # grown by realloc
        np.testing.assert_array_equal(it, np.arange(100_000) * 0.5)


def test_arrays_outlive_the_pool():
    with mempool.pooled():
        kept = np.full(250_000, 3.0)
    assert _mempool.stats()["held"] == 0
    assert kept.sum() == 750_000.0
    del kept  # freed after the pool closed: straight back to the system
    assert _mempool.stats()["held"] == 0


def test_limit_bounds_what_is_held():
    old = _mempool.set_limit(MIN * 2)
    try:
        with mempool.pooled():
            blocks = [np.ones(MIN // 8) for _ in range(6)]  # 6 x 64 KiB
            del blocks
            assert _mempool.stats()["held"] <= MIN * 2
    finally:
        _mempool.set_limit(old)


def test_threads_share_the_free_lists():
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            with mempool.pooled():  # each thread's context gets the handler itself
                for _ in range(200):
                    n = int(rng.integers(MIN // 8, 4 * MIN))
                    a = np.full(n, float(seed))
                    b = a + 1
                    if not (b == seed + 1).all():
                        errors.append(seed)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _train(monkeypatch, pool):
    monkeypatch.setenv("MINICNN_MEMORY_POOL", "1" if pool else "0")
    minicnn.utils.set_random_seed(3)
    model = minicnn.Sequential([minicnn.Input((12, 12, 1)), layers.Conv2D(8, 3, activation="relu"),
                                layers.MaxPooling2D(), layers.Flatten(), layers.Dense(4)])
    model.compile(optimizer="adam", loss=minicnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.random((96, 12, 12, 1), dtype=np.float32)
    y = rng.integers(0, 4, 96)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.25)
    return [w.numpy() for w in model.weights], model.predict(x, verbose=0)


def test_training_is_bitwise_the_same_with_and_without_the_pool(monkeypatch):
    hits = _mempool.stats()["hits"]
    w1, p1 = _train(monkeypatch, True)
    assert _mempool.stats()["hits"] > hits  # the pool did serve the run
    w0, p0 = _train(monkeypatch, False)
    for a, b in zip(w1, w0):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p1, p0)


def test_public_context_manager_for_custom_loops():
    assert minicnn.utils.memory_pool is mempool.pooled
    model = minicnn.Sequential([minicnn.Input((8, 8, 1)), layers.Conv2D(64, 3), layers.Flatten(), layers.Dense(2)])
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    hits = _mempool.stats()["hits"]
    with minicnn.utils.memory_pool():
        for _ in range(3):
            out = model(x, training=True)
            out.sum().backward()
    assert _mempool.stats()["hits"] > hits
