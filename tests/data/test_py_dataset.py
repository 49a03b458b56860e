"""keras.utils.PyDataset in fit/evaluate/predict: serial, thread and process workers give the same
batches in the same order (so the same training), epoch hooks, infinite datasets, errors, and no
worker left behind."""

import multiprocessing
import threading

import numpy as np
import pytest

import minicnn


class Batches(minicnn.utils.PyDataset):
    def __init__(self, x, y, size=16, noise=False, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size, self.noise = x, y, size, noise
        self.begins = self.ends = 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        sl = slice(i * self.size, (i + 1) * self.size)
        x = self.x[sl]
        if self.noise:  # augmentation drawn from the global generators
            x = x + np.random.normal(size=x.shape).astype(np.float32)
        return x, self.y[sl]

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


WORKERS = [dict(), dict(workers=3), dict(workers=2, use_multiprocessing=True, max_queue_size=2)]


@pytest.mark.parametrize("kwargs", WORKERS, ids=["serial", "threads", "processes"])
def test_every_worker_kind_trains_like_the_arrays_and_calls_the_epoch_hooks(
        kwargs, toy, mlp, same_weights):
    x, y = toy(72)
    reference = mlp()
    ref = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    data = Batches(x, y, **kwargs)
    model = mlp()
    history = model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert same_weights(model, reference) and history.history == ref.history
    assert data.begins == data.ends == 2


def test_shuffle_visits_the_batches_in_a_seeded_order_whatever_the_workers(toy, mlp, same_weights):
    x, y = toy(96)
    runs = []
    for kwargs in WORKERS:
        model = mlp()
        model.fit(Batches(x, y, **kwargs), epochs=2, verbose=0)
        runs.append(model)
    unshuffled = mlp()
    unshuffled.fit(Batches(x, y), epochs=2, shuffle=False, verbose=0)
    assert same_weights(runs[0], runs[1]) and same_weights(runs[0], runs[2])
    assert not same_weights(runs[0], unshuffled)


def test_random_augmentation_in_worker_processes_is_repeatable_and_new_every_epoch(toy):
    x, y = toy(64)
    seen = []
    for workers in (2, 3, 3):
        minicnn.utils.set_random_seed(5)
        adapter_data = Batches(x, y, noise=True, workers=workers, use_multiprocessing=True)
        from minicnn.utils.py_dataset import PyDatasetAdapter

        adapter = PyDatasetAdapter(adapter_data)
        seen.append([np.concatenate([xb for xb, _ in adapter.get_iterator()]) for _ in range(2)])
    for run in seen[1:]:  # the worker count and the scheduling do not matter
        np.testing.assert_array_equal(run[0], seen[0][0])
        np.testing.assert_array_equal(run[1], seen[0][1])
    assert not np.allclose(seen[0][0], seen[0][1])  # each pass draws new noise
    x0 = np.concatenate([xb for xb, _ in Batches(x, y)])  # and the batches are x + noise, not x
    assert not np.allclose(seen[0][0], x0)


class Endless(minicnn.utils.PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.asked = x, y, []

    @property
    def num_batches(self):
        return None

    def __getitem__(self, i):
        self.asked.append(i)
        i %= len(self.x) // 16
        return self.x[i * 16:(i + 1) * 16], self.y[i * 16:(i + 1) * 16]


@pytest.mark.parametrize("kwargs", WORKERS[:2], ids=["serial", "threads"])
def test_an_infinite_pydataset_goes_on_from_epoch_to_epoch(kwargs, toy, mlp, same_weights):
    x, y = toy(64)
    reference = mlp()
    reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    data = Endless(x, y, **kwargs)
    model = mlp()
    model.fit(data, steps_per_epoch=4, epochs=3, verbose=0)
    assert same_weights(model, reference)
    assert sorted(set(data.asked))[:12] == list(range(12))


def test_class_weight_validation_evaluate_and_predict_on_a_pydataset(toy, mlp, same_weights):
    x, y = toy(64)
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    reference = mlp()
    ref = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, class_weight=cw,
                        validation_data=(x[:32], y[:32]))
    model = mlp()
    history = model.fit(Batches(x, y, workers=2), epochs=2, shuffle=False, verbose=0,
                        class_weight=cw, validation_data=Batches(x[:32], y[:32]))
    assert same_weights(model, reference) and history.history == ref.history
    assert model.evaluate(Batches(x, y, workers=2), verbose=0) == \
        pytest.approx(model.evaluate(x, y, verbose=0))
    np.testing.assert_array_equal(model.predict(Batches(x, y, use_multiprocessing=True), verbose=0),
                                  model.predict(x, verbose=0))


class Broken(Batches):
    def __getitem__(self, i):
        if i == 2:
            raise KeyError("batch 2 is missing")
        return super().__getitem__(i)


@pytest.mark.parametrize("kwargs", WORKERS, ids=["serial", "threads", "processes"])
def test_an_error_in_getitem_reaches_the_caller_and_no_worker_is_left(kwargs, toy, mlp):
    x, y = toy(96)
    threads = threading.active_count()
    with pytest.raises(KeyError, match="batch 2 is missing"):
        mlp().fit(Broken(x, y, **kwargs), epochs=1, shuffle=False, verbose=0)
    assert threading.active_count() == threads
    assert multiprocessing.active_children() == []


def test_pydataset_errors_and_the_super_init_warning(toy, mlp):
    x, y = toy(32)
    with pytest.raises(ValueError, match="y must not be passed"):
        mlp().fit(Batches(x, y), y, verbose=0)

    class Bad(Batches):
        def __getitem__(self, i):
            return ("x", "y", "w", "z")

    with pytest.raises(ValueError, match=r"Bad\[\d\] must be a tuple"):
        mlp().fit(Bad(x, y), verbose=0)

    class NoSuper(minicnn.utils.PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, i):
            return x, y

    with pytest.warns(UserWarning, match="super"):
        mlp().fit(NoSuper(), verbose=0)
    assert minicnn.utils.Sequence is minicnn.utils.PyDataset
    assert [len(b[0]) for b in Batches(x, y, size=10)] == [10, 10, 10, 2]
