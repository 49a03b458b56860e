"""minicnn.distribute without mpiexec: the group of one, the missing-extra error, and the pieces
whose arithmetic can be checked in one process with a stand-in group (sharding, metric
reduction, learning-rate warm-up).  mpi4py is hidden from every test here, so MPI is never
initialised inside the test process."""

import sys
import warnings

import numpy as np
import pytest

import minicnn as keras
from minicnn import distribute as dist
from minicnn.distribute import _runtime, callbacks as dist_callbacks, sharding, state
from minicnn.utils.data_adapters import ArrayDataAdapter


@pytest.fixture(autouse=True)
def no_mpi(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    for name in _runtime._LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    dist.shutdown()
    yield
    dist.shutdown()


class FakeGroup:
    """Rank ``rank`` of ``size``: broadcasts keep the local value, gathers return ``others``."""

    def __init__(self, rank, size, others=None):
        self.rank, self.size, self.others = rank, size, others

    def broadcast_(self, array, root=0):
        return array

    def allgather_object(self, obj):
        return [obj] + list(self.others or [])

    def allreduce_(self, array, op="sum"):
        array *= self.size  # every rank holds the same value
        return array


def test_missing_extra_with_several_ranks_names_the_extra(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(dist.MissingExtraError, match=r'pip install "minicnn\[mpi\]"'):
        dist.init()
    assert not dist.is_initialized()
    monkeypatch.delenv("PMI_SIZE")
    with pytest.raises(ImportError, match="mpi4py"):
        dist.init(comm=object())


def test_without_mpi4py_init_is_a_group_of_one():
    with pytest.raises(ValueError, match=r"call minicnn.distribute.init\(\) first"):
        dist.rank()
    dist.init()
    dist.init()  # idempotent
    assert dist.is_initialized()
    assert (dist.rank(), dist.size(), dist.local_rank(), dist.local_size()) == (0, 1, 0, 1)
    assert dist.allreduce(3.0) == 3.0 and dist.allreduce(2, op=dist.Sum) == 2.0
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(dist.allgather(x), x)
    np.testing.assert_array_equal(dist.broadcast(x, root_rank=0), x)
    assert dist.broadcast_object({"a": 1}) == {"a": 1} and dist.allgather_object(5) == [5]
    dist.barrier()
    with pytest.raises(ValueError, match="root_rank"):
        dist.broadcast(x, root_rank=1)
    with pytest.raises(ValueError, match="op must be one of"):
        dist.allreduce(x, op="median")
    with pytest.raises(TypeError, match="allreduce: expected a number.*dtype <U1.*_object"):
        dist.allreduce(["a"])


def _model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(2)])


def test_distributed_optimizer_alone_is_the_wrapped_optimizer(tmp_path):
    dist.init()
    x = np.random.default_rng(0).standard_normal((40, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    runs = []
    for wrap in (False, True):
        model = _model(0)
        opt = keras.optimizers.Adam(0.01)
        model.compile(optimizer=dist.DistributedOptimizer(opt) if wrap else opt,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append(model)
    for a, b in zip(runs[0].weights, runs[1].weights):
        np.testing.assert_array_equal(a.data, b.data)
    wrapped = runs[1].optimizer
    assert type(wrapped).__name__ == "Adam" and isinstance(wrapped, keras.optimizers.Adam)
    assert keras.optimizers.serialize(wrapped)["class_name"] == "Adam"
    runs[1].save(tmp_path / "m.minicnn")
    loaded = dist.load_model(tmp_path / "m.minicnn")
    assert type(loaded.optimizer).__mro__[1].__name__ == "_DistributedMixin"
    assert loaded.optimizer.iterations == wrapped.iterations == 10
    with pytest.raises(ValueError, match="already distributed"):
        dist.DistributedOptimizer(wrapped)
    with pytest.raises(ValueError, match="op must be"):
        dist.DistributedOptimizer("adam", op=dist.Max)


@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("training", [True, False])
def test_slices_cover_each_global_batch_once(size, training):
    x = np.arange(23, dtype=np.float32)[:, None]
    inner = ArrayDataAdapter(x, x[:, 0], batch_size=4 * size, shuffle=False)
    per_rank = []
    for rank in range(size):
        shard = sharding.ShardedArrays(inner, FakeGroup(rank, size), training)
        batches = []
        for data in shard.get_iterator():
            batches.append((data[0][:, 0].tolist(), sharding.gradient_scale()))
        assert sharding.gradient_scale() == 1.0  # reset once the pass is over
        assert len(batches) == shard.num_batches
        per_rank.append(dict(zip(shard.batch_indices, batches)))
    for j in range(inner.num_batches):
        start, stop = j * 4 * size, min((j + 1) * 4 * size, 23)
        parts = [per_rank[r][j] for r in range(size) if j in per_rank[r]]
        if not training or stop - start >= size:
            # evaluate/predict, or a batch with a sample for every rank: a partition in rank order
            assert sum((p[0] for p in parts), []) == list(range(start, stop))
        if training:
            assert len(parts) == size  # every rank takes a step
            # each sample's weight, summed over the ranks holding it, is 1 (mean of the batch)
            weight = {}
            for samples, scale in parts:
                for s in samples:
                    weight[s] = weight.get(s, 0.0) + scale / len(samples) / size * (stop - start)
            assert sorted(weight) == list(range(start, stop))
            np.testing.assert_allclose(list(weight.values()), 1.0)


def test_metric_states_are_summed_over_ranks(monkeypatch):
    y = np.array([0, 1, 1, 0, 1, 1, 1, 0])
    p = np.array([0.2, 0.8, 0.4, 0.1, 0.9, 0.3, 0.7, 0.6])
    metrics = lambda: [keras.metrics.Mean(), keras.metrics.BinaryAccuracy(), keras.metrics.AUC(),
                       keras.metrics.R2Score()]
    whole, mine, theirs = metrics(), metrics(), metrics()
    for ms, part in ((whole, slice(None)), (mine, slice(0, 3)), (theirs, slice(3, None))):
        ms[0].update_state(p[part])
        for m in ms[1:3]:
            m.update_state(y[part], p[part])
        ms[3].update_state(y[part, None].astype(float), p[part, None])
    other = [v for m in theirs for _, _, v in state._metric_state(m)]
    monkeypatch.setattr(state, "active_group", lambda: FakeGroup(0, 2, [other]))
    state.reduce_metric_states(mine)
    for a, b in zip(mine, whole):
        np.testing.assert_allclose(a.result(), b.result(), rtol=1e-12, err_msg=a.name)


def test_learning_rate_warmup_goes_from_lr_over_size_to_lr(monkeypatch):
    monkeypatch.setattr(dist_callbacks, "active_group", lambda: FakeGroup(0, 4))
    model = _model(0)
    model.compile(optimizer=keras.optimizers.SGD(0.4, momentum=0.5), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(float(model.optimizer.learning_rate)))
    x = np.zeros((40, 5), np.float32)
    model.fit(x, np.zeros((40, 2), np.float32), batch_size=10, epochs=3, verbose=0,
              callbacks=[dist.LearningRateWarmupCallback(warmup_epochs=2), record])
    steps = np.arange(12) / 4.0  # fractional epochs at each batch
    expected = 0.4 * (np.minimum(steps, 2) * 3 / 2 + 1) / 4
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    assert model.optimizer.momentum == 0.5  # the momentum correction is undone after each step


def test_sync_batch_norm_alone_is_batch_norm():
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, (6, 3, 2, 4))
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        plain = keras.layers.BatchNormalization(momentum=0.8, dtype=name)
        sync = dist.SyncBatchNormalization(momentum=0.8, dtype=name)
        outs = []
        for layer in (plain, sync):
            layer.build(x.shape)
            layer.gamma.data[...] = [0.5, 1.5, -1.0, 2.0]
            t = keras.Tensor(x.astype(dtype), requires_grad=True)
            y = layer(t, training=True)
            (y * keras.Tensor(np.arange(y.size, dtype=dtype).reshape(y.shape) % 7)).sum().backward()
            outs.append((y.numpy(), t.grad, layer.gamma.grad, layer.beta.grad,
                         layer.moving_mean.numpy(), layer.moving_variance.numpy()))
        tol = 1e-4 if dtype == np.float32 else 1e-10
        for a, b in zip(*outs):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
        np.testing.assert_allclose(sync(x.astype(dtype), training=False).numpy(),
                                   plain(x.astype(dtype), training=False).numpy(), rtol=tol, atol=tol)
    config = sync.get_config()
    assert config["synchronized"] is True
    assert type(keras.serialization.deserialize(keras.serialization.serialize(sync))) is dist.SyncBatchNormalization


def test_sync_batch_norm_gradcheck():
    from minicnn.distribute.sync_batch_norm import SyncBatchNormFunction

    rng = np.random.default_rng(4)
    x, gamma, beta = rng.normal(size=(5, 3, 4)), rng.normal(size=3), rng.normal(size=3)
    for axis in (1, 2):
        c = x.shape[axis]
        fn = lambda x_, g_, b_: SyncBatchNormFunction.apply(
            x_, g_, b_, np.zeros(c), np.ones(c), momentum=0.9, epsilon=1e-3, axis=axis, group=None)
        args = [x, rng.normal(size=c), rng.normal(size=c)]
        assert keras.gradcheck(fn, args)


def test_fit_on_several_ranks_warns_without_a_distributed_optimizer(monkeypatch):
    monkeypatch.setattr(sharding, "active_group", lambda: FakeGroup(0, 2))
    model = _model(0)
    model.compile(optimizer="adam", loss="mse")
    x = np.zeros((8, 5), np.float32)
    with pytest.warns(UserWarning, match="DistributedOptimizer"):
        sharding.shard(ArrayDataAdapter(x, x[:, :2], batch_size=4), "fit", model=model)
    model.compile(optimizer=dist.DistributedOptimizer("adam"), loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sharding.shard(ArrayDataAdapter(x, x[:, :2], batch_size=4), "fit", model=model)
