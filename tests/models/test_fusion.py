"""Inference-time fusion (minicnn/models/_fusion.py): Conv2D -> BatchNormalization [-> ReLU],
BatchNormalization -> ReLU and Add -> ReLU run as one step give bit for bit the numbers of the
layers run one by one, and fusion stays off wherever it could change anything."""

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.models import _fusion
from minicnn.ops import _inference

FLOATS = [np.float32, np.float64]


@pytest.fixture
def calls(monkeypatch):
    """Counts of the fused steps run, by name."""
    counts = {"conv2d_batch_norm": 0, "batch_norm_relu": 0, "add_relu": 0}
    for name in counts:
        fn = getattr(_inference, name)

        def counted(*args, _fn=fn, _name=name, **kwargs):
            counts[_name] += 1
            return _fn(*args, **kwargs)
        monkeypatch.setattr(_inference, name, counted)
    return counts


def _bits(a):
    a = np.asarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _randomize_bn(model, seed=0):
    """Batch-norm weights and statistics away from their initial 1s and 0s."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
        elif w.name in ("beta", "moving_mean"):
            w.assign(rng.normal(0, 0.3, w.shape).astype(w.dtype))


def _resnet20(dtype, input_shape=(32, 32, 3)):
    """The CIFAR ResNet-20 of the benchmarks (He et al. 2016, section 4.2), in ``dtype``."""
    def conv_bn(x, filters, k, strides=1):
        x = L.Conv2D(filters, k, strides=strides, padding="same", use_bias=False, dtype=dtype)(x)
        return L.BatchNormalization(dtype=dtype)(x)

    inputs = minicnn.Input(input_shape, dtype=dtype)
    x = L.Activation("relu", dtype=dtype)(conv_bn(inputs, 16, 3))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage > 0 and block == 0 else 1
            y = L.Activation("relu", dtype=dtype)(conv_bn(x, filters, 3, strides))
            y = conv_bn(y, filters, 3)
            shortcut = conv_bn(x, filters, 1, strides) if strides != 1 else x
            x = L.Activation("relu", dtype=dtype)(L.Add(dtype=dtype)([y, shortcut]))
    x = L.GlobalAveragePooling2D(dtype=dtype)(x)
    outputs = L.Dense(10, dtype=dtype)(x)
    model = minicnn.Model(inputs, outputs)
    _randomize_bn(model)
    return model


def _fused_and_not(model, x, **kwargs):
    def numpy(y):
        return [t.numpy() for t in y] if isinstance(y, list) else y.numpy()

    with minicnn.no_grad():
        model.fuse_inference = True
        fused = numpy(model(x, **kwargs))
        model.fuse_inference = False
        plain = numpy(model(x, **kwargs))
        model.fuse_inference = True
    return fused, plain


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", FLOATS)
def test_resnet20_fused_is_bitwise_unfused(dtype, threads, calls):
    model = _resnet20(dtype)
    x = np.random.default_rng(1).normal(0, 1, (3, 32, 32, 3)).astype(dtype)
    with minicnn.num_threads(threads):
        fused, plain = _fused_and_not(model, x)
        predicted = model.predict(x, verbose=0)
    assert np.array_equal(_bits(fused), _bits(plain))
    assert np.array_equal(_bits(predicted), _bits(plain))
    # 21 conv + batch-norm chains (19 with their ReLU), 9 Add -> ReLU, in each of the two fused runs
    assert calls == {"conv2d_batch_norm": 42, "batch_norm_relu": 0, "add_relu": 18}


def _graph(dtype, relu_layer, seed):
    """A small random graph with every pattern: conv (strided, grouped, 1x1, few channels) ->
    BN [-> ReLU], BN -> ReLU on its own, Add -> ReLU."""
    inputs = minicnn.Input((9, 7, 3), dtype=dtype)
    a = L.Conv2D(8, 3, padding="same", dtype=dtype)(inputs)                 # few channels: DIRECT
    a = relu_layer(dtype=dtype)(L.BatchNormalization(dtype=dtype)(a))
    b = L.Conv2D(8, 3, strides=2, padding="same", groups=2, dtype=dtype)(a)  # IM2COL, grouped
    b = L.BatchNormalization(dtype=dtype)(b)                                   # no ReLU
    c = L.Conv2D(8, 1, strides=2, use_bias=False, dtype=dtype)(a)            # 1x1
    c = L.BatchNormalization(dtype=dtype)(c)
    d = relu_layer(dtype=dtype)(L.Add(dtype=dtype)([b, c]))
    e = L.Conv2D(16, 3, padding="same", dtype=dtype)(d)                      # WINOGRAD when planned
    e = relu_layer(dtype=dtype)(L.BatchNormalization(dtype=dtype)(e))
    f = L.DepthwiseConv2D(3, padding="same", dtype=dtype)(e)
    f = relu_layer(dtype=dtype)(L.BatchNormalization(dtype=dtype)(f))                    # BN -> ReLU alone
    g = L.Dense(6, dtype=dtype)(L.Flatten(dtype=dtype)(f))
    g = relu_layer(dtype=dtype)(L.BatchNormalization(dtype=dtype)(g))                    # 2-D BN -> ReLU
    model = minicnn.Model(inputs, g)
    _randomize_bn(model, seed)
    return model


@pytest.mark.parametrize("relu_layer", [lambda **kw: L.Activation("relu", **kw), L.ReLU], ids=["Activation", "ReLU"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_graphs_fused_are_bitwise_unfused(seed, dtype, relu_layer, calls):
    model = _graph(dtype, relu_layer, seed)
    x = np.random.default_rng(seed).normal(0, 2, (5, 9, 7, 3)).astype(dtype)
    x[0, 0, 0, 0] = np.nan  # NaN goes through the fused ReLUs as through np.maximum
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            fused, plain = _fused_and_not(model, x)
        assert np.array_equal(_bits(fused), _bits(plain))
    assert np.isnan(plain).any()
    assert calls == {"conv2d_batch_norm": 8, "batch_norm_relu": 4, "add_relu": 2}


def test_sequential_fuses_its_chains(calls):
    model = minicnn.Sequential([
        minicnn.Input((8, 8, 2)), L.Conv2D(4, 3), L.BatchNormalization(), L.ReLU(),
        L.BatchNormalization(), L.Activation("relu"), L.Conv2D(4, 3), L.BatchNormalization()])
    _randomize_bn(model)
    x = np.random.default_rng(0).normal(0, 1, (3, 8, 8, 2)).astype(np.float32)
    fused, plain = _fused_and_not(model, x)
    assert np.array_equal(_bits(fused), _bits(plain))
    assert calls == {"conv2d_batch_norm": 2, "batch_norm_relu": 1, "add_relu": 0}


def test_negative_zero_beta_keeps_numpys_relu():
    """A -0.0 in beta (the only way batch norm outputs -0.0): the fused step's ReLU (batch norm's
    row kernel) gives np.maximum's +0.0, as the layers one by one do."""
    model = minicnn.Sequential([minicnn.Input((4, 4, 2)), L.Conv2D(2, 1, use_bias=False),
                                L.BatchNormalization(), L.ReLU()])
    conv, bn = model.layers[0], model.layers[1]
    conv.kernel.assign(np.zeros((1, 1, 2, 2), np.float32))
    bn.beta.assign(np.array([-0.0, 0.0], np.float32))
    bn.moving_mean.assign(np.zeros(2, np.float32))
    fused, plain = _fused_and_not(model, np.ones((1, 4, 4, 2), np.float32))
    assert not np.signbit(plain).any()
    assert np.array_equal(_bits(fused), _bits(plain))


def _chains(model):
    return sorted(e[0].kind for e in _fusion.functional_plan(model).values() if e is not None)


def test_no_fusion_in_training_or_while_recording(calls):
    model = _graph("float32", L.ReLU, 0)
    x = np.random.default_rng(0).normal(0, 1, (2, 9, 7, 3)).astype(np.float32)
    with minicnn.no_grad():
        model(x, training=True)
    model(x)  # inference, but recording a graph: the layers' gradients must exist
    assert calls == {"conv2d_batch_norm": 0, "batch_norm_relu": 0, "add_relu": 0}
    y = model(x)
    y.sum().backward()
    assert model.layers[1].kernel.grad is not None


def test_inner_output_with_two_consumers_or_a_model_output_is_not_fused():
    inputs = minicnn.Input((6, 6, 2))
    conv = L.Conv2D(4, 3)(inputs)
    bn = L.BatchNormalization()(conv)
    other = L.Flatten()(conv)                        # the conv's output has a second consumer
    act = L.ReLU()(L.BatchNormalization()(conv))
    # only the second batch norm's chain, with its ReLU: the conv's output feeds three layers
    assert _chains(minicnn.Model(inputs, [bn, other, act])) == ["bn_relu"]
    conv2 = L.Conv2D(4, 3)(inputs)
    bn2 = L.BatchNormalization()(conv2)
    relu2 = L.ReLU()(bn2)
    # the BN output is a model output: the conv + BN chain stops before the ReLU
    model = minicnn.Model(inputs, [bn2, relu2])
    assert [e[0].layers for e in _fusion.functional_plan(model).values() if e is not None] == [
        (model.layers[1], model.layers[2])]
    assert _chains(minicnn.Model(inputs, [conv2, relu2])) == ["bn_relu"]  # the conv's output is one


def test_subclassed_or_configured_layers_are_not_fused(calls):
    class MyBN(L.BatchNormalization):
        def call(self, inputs, training=False):
            return super().call(inputs, training) * 2.0

    inputs = minicnn.Input((6, 6, 2))
    y = L.ReLU()(MyBN()(L.Conv2D(4, 3)(inputs)))
    z = L.ReLU(max_value=6.0)(L.BatchNormalization()(L.Conv2D(4, 3)(inputs)))
    w = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(4, 3, activation="relu")(inputs)))
    model = minicnn.Model(inputs, [y, z, w])
    _randomize_bn(model)
    x = np.random.default_rng(0).normal(0, 1, (2, 6, 6, 2)).astype(np.float32)
    fused, plain = _fused_and_not(model, x)
    for a, b in zip(fused, plain):
        assert np.array_equal(_bits(a), _bits(b))
    # z's conv + BN runs fused, without its capped ReLU; w's conv has its own activation, so only
    # w's batch norm and ReLU do
    assert calls == {"conv2d_batch_norm": 1, "batch_norm_relu": 1, "add_relu": 0}


def test_switches_and_profiler_keep_it_off(monkeypatch, calls):
    model = _graph("float32", L.ReLU, 0)
    x = np.random.default_rng(0).normal(0, 1, (2, 9, 7, 3)).astype(np.float32)
    monkeypatch.setattr(_fusion, "ENABLED", False)
    model.predict(x, verbose=0)
    monkeypatch.setattr(_fusion, "ENABLED", True)
    model.fuse_inference = False
    model.predict(x, verbose=0)
    model.fuse_inference = True
    assert calls == {"conv2d_batch_norm": 0, "batch_norm_relu": 0, "add_relu": 0}
    model.predict(x, verbose=0)
    assert calls == {"conv2d_batch_norm": 4, "batch_norm_relu": 2, "add_relu": 1}
    # the profiler times every layer on its own (its unprofiled steps run the model as predict does)
    rows = minicnn.utils.profile(model, x, steps=1, warmup=0, mode="predict", verbose=False)
    timed = {r["type"] for r in rows if r["kind"] == "layer" and r["calls"] == 1}
    assert {"BatchNormalization", "ReLU", "Add"} <= timed
    assert calls == {"conv2d_batch_norm": 8, "batch_norm_relu": 4, "add_relu": 2}


def test_other_dtypes_run_the_layers(calls):
    """A float64 input to a float32 model: the first conv casts it, so that chain runs unfused."""
    model = minicnn.Sequential([minicnn.Input((6, 6, 2)), L.Conv2D(4, 3), L.BatchNormalization(),
                                L.ReLU(), L.Conv2D(4, 3), L.BatchNormalization()])
    _randomize_bn(model)
    x = np.random.default_rng(0).normal(0, 1, (2, 6, 6, 2))
    fused, plain = _fused_and_not(model, x)
    assert fused.dtype == np.float32 and np.array_equal(_bits(fused), _bits(plain))
    assert calls["conv2d_batch_norm"] == 1


def test_plan_follows_model_changes():
    model = minicnn.Sequential([minicnn.Input((6, 6, 2)), L.Conv2D(4, 3), L.BatchNormalization()])
    assert list(_fusion.sequential_plan(model)) == [0]
    model.add(L.ReLU())
    assert [len(c.layers) for c in _fusion.sequential_plan(model).values()] == [3]
    model.pop()
    model.pop()
    assert _fusion.sequential_plan(model) == {}
