"""Optimizers and learning-rate schedules against hand-written NumPy steps (Keras 3 formulas)."""

import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import optimizers
from minicnn.optimizers import schedules
from minicnn.reference import optimizers as ref


def run(opt, w0, grads):
    w = minicnn.Tensor(w0.copy(), requires_grad=True)
    for g in grads:
        w.grad = g.copy()
        opt.apply(None, [w])
    return w.data


def data(seed=0, steps=5, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), [rng.normal(size=shape) for _ in range(steps)]


# ------------------------------------------------------------------ update formulas
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True), (0.5, True)])
def test_sgd_matches_reference(momentum, nesterov):
    w0, grads = data()
    got = run(optimizers.SGD(0.05, momentum=momentum, nesterov=nesterov), w0, grads)
    np.testing.assert_allclose(got, ref.sgd(w0, grads, 0.05, momentum, nesterov), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_reference(amsgrad):
    w0, grads = data(1)
    got = run(optimizers.Adam(0.01, amsgrad=amsgrad), w0, grads)
    np.testing.assert_allclose(got, ref.adam(w0, grads, 0.01, amsgrad=amsgrad), rtol=1e-10, atol=1e-12)


def test_adamw_decays_weights_before_the_adam_step():
    w0, grads = data(2)
    got = run(optimizers.AdamW(0.01, weight_decay=0.1), w0, grads)
    np.testing.assert_allclose(got, ref.adam(w0, grads, 0.01, weight_decay=0.1), rtol=1e-10, atol=1e-12)
    assert optimizers.AdamW().weight_decay == 0.004


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.9, False), (0.0, True), (0.5, True)])
def test_rmsprop_matches_reference(momentum, centered):
    w0, grads = data(3)
    got = run(optimizers.RMSprop(0.01, momentum=momentum, centered=centered), w0, grads)
    np.testing.assert_allclose(got, ref.rmsprop(w0, grads, 0.01, momentum=momentum, centered=centered),
                               rtol=1e-10, atol=1e-12)


def test_adagrad_matches_reference():
    w0, grads = data(4)
    got = run(optimizers.Adagrad(0.1), w0, grads)
    np.testing.assert_allclose(got, ref.adagrad(w0, grads, 0.1), rtol=1e-10, atol=1e-12)


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    for name in ("adam", "adamw", "rmsprop", "adagrad"):
        assert optimizers.get(name).learning_rate == 0.001
    adam = optimizers.Adam()
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.9, 0.999, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.9, 0.0, 1e-7, False)
    assert optimizers.Adagrad().initial_accumulator_value == 0.1


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop, optimizers.Adagrad])
def test_weight_decay_is_decoupled_for_every_optimizer(cls):
    # One step with a zero gradient leaves only the decay: w * (1 - wd * lr) (Adam and RMSprop
    # move nothing on a zero gradient; Adagrad neither).
    w0 = np.array([1.0, -2.0, 3.0])
    got = run(cls(learning_rate=0.1, weight_decay=0.5), w0, [np.zeros(3)])
    np.testing.assert_allclose(got, w0 - w0 * 0.5 * 0.1, rtol=1e-12)


def test_float32_stays_float32_and_updates_in_place():
    w = minicnn.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    buffer = w.data
    w.grad = np.full((2, 2), 0.5, np.float32)
    optimizers.Adam(0.1).apply(None, [w])
    assert w.data is buffer and w.data.dtype == np.float32


# ------------------------------------------------------------------ clipping
def test_clipnorm_scales_each_gradient_separately():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])  # norms 5 and 0.5
    w1, w2 = np.zeros(2), np.zeros(2)
    optimizers.SGD(1.0, clipnorm=1.0).apply([g1, g2], [w1, w2])
    np.testing.assert_allclose(w1, -g1 / 5.0)
    np.testing.assert_allclose(w2, -g2)  # under the threshold: untouched
    np.testing.assert_array_equal(g1, [3.0, 4.0])  # the caller's gradient is not modified


def test_global_clipnorm_scales_all_gradients_together():
    g1, g2 = np.array([3.0, 0.0]), np.array([0.0, 4.0])  # joint norm 5
    w1, w2 = np.zeros(2), np.zeros(2)
    optimizers.SGD(1.0, global_clipnorm=2.5).apply([g1, g2], [w1, w2])
    np.testing.assert_allclose(w1, [-1.5, 0.0])
    np.testing.assert_allclose(w2, [0.0, -2.0])


def test_clipvalue_clips_elements():
    w = np.zeros(3)
    optimizers.SGD(1.0, clipvalue=0.5).apply([np.array([-2.0, 0.1, 9.0])], [w])
    np.testing.assert_allclose(w, [0.5, -0.1, -0.5])


def test_only_one_clipping_option():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


# ------------------------------------------------------------------ schedules
def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(5) == pytest.approx(0.1 * 0.5**0.5)
    stair = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stair(19) == pytest.approx(0.05) and stair(20) == pytest.approx(0.025)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [s(0), s(10), s(11), s(20), s(21), s(1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="one more entry"):
        schedules.PiecewiseConstantDecay([10], [1.0])


def test_cosine_decay_with_and_without_warmup():
    s = schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.1 + 0.9 * 0.5)
    assert s(100) == pytest.approx(0.1) and s(500) == pytest.approx(0.1)
    w = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=0.2, warmup_steps=5)
    assert w(0) == 0.0 and w(1) == pytest.approx(0.04) and w(5) == pytest.approx(0.2)
    assert w(10) == pytest.approx(0.1) and w(15) == pytest.approx(0.0, abs=1e-12)


def test_optimizer_evaluates_schedule_at_iterations():
    s = schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25])  # steps 0, 1, >=2
    opt = optimizers.SGD(s)
    w = np.zeros(1)
    lrs = []
    for _ in range(4):
        lrs.append(opt.learning_rate)
        opt.apply([np.ones(1)], [w])
    assert lrs == [1.0, 0.5, 0.25, 0.25]
    np.testing.assert_allclose(w, [-2.0])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


@settings(max_examples=40, deadline=None)
@given(step=st.integers(0, 10_000), lr=st.floats(1e-4, 1.0), rate=st.floats(0.1, 0.99))
def test_schedules_stay_within_their_bounds(step, lr, rate):
    assert 0 < schedules.ExponentialDecay(lr, 100, rate)(step) <= lr
    c = schedules.CosineDecay(lr, 100, alpha=0.2)(step)
    assert 0.2 * lr - 1e-12 <= c <= lr + 1e-12


# ------------------------------------------------------------------ config and state
@pytest.mark.parametrize("opt", [
    optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
    optimizers.Adam(schedules.CosineDecay(0.01, 100, warmup_target=0.1, warmup_steps=10), amsgrad=True),
    optimizers.AdamW(0.002, weight_decay=0.01, global_clipnorm=2.0),
    optimizers.RMSprop(0.01, rho=0.8, momentum=0.1, centered=True, clipvalue=0.5),
    optimizers.Adagrad(0.05, initial_accumulator_value=0.2),
])
def test_config_round_trip_through_json(opt):
    blob = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.deserialize(blob)
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()
    w0, grads = data(5, steps=3)
    np.testing.assert_array_equal(run(again, w0, grads), run(opt.__class__.from_config(opt.get_config()), w0, grads))


@pytest.mark.parametrize("make", [lambda: optimizers.SGD(0.1, momentum=0.9),
                                  lambda: optimizers.Adam(0.01, amsgrad=True),
                                  lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                                  lambda: optimizers.Adagrad(0.1)])
def test_state_export_import_resumes_exactly(make):
    w0, grads = data(6, steps=6)
    straight = run(make(), w0, grads)
    first = make()
    w = minicnn.Tensor(w0.copy(), requires_grad=True)
    for g in grads[:3]:
        first.apply([g], [w])
    state = [np.array(a) for a in first.variables]
    second = make()
    w2 = minicnn.Tensor(w.data.copy(), requires_grad=True)
    second.build([w2])
    second.load_variables(state)
    assert second.iterations == 3
    for g in grads[3:]:
        second.apply([g], [w2])
    np.testing.assert_array_equal(w2.data, straight)


def test_load_variables_rejects_mismatched_state():
    opt = optimizers.Adam()
    opt.build([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="expected 3 arrays"):
        opt.load_variables([np.array(0)])
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(3, 2\)"):
        opt.load_variables([np.array(1), np.zeros((3, 2)), np.zeros((2, 3))])


def test_no_memory_growth_per_step():
    rng = np.random.default_rng(0)
    ws = [minicnn.Tensor(rng.normal(size=(64, 64)).astype(np.float32), requires_grad=True) for _ in range(4)]
    for w in ws:
        w.grad = rng.normal(size=(64, 64)).astype(np.float32)
    opt = optimizers.Adam(1e-3, clipnorm=1.0, weight_decay=0.01)
    for _ in range(5):
        opt.apply(None, ws)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            opt.apply(None, ws)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4096, f"optimizer state grew by {grown} bytes over 200 steps"


def test_none_gradients_are_skipped_and_errors_are_clear():
    opt = optimizers.SGD(0.1)
    a, b = np.ones(2), np.ones(2)
    with pytest.warns(UserWarning, match="Gradients do not exist for variables"):
        opt.apply([None, np.ones(2)], [a, b])
    np.testing.assert_array_equal(a, [1.0, 1.0])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply([None, None], [a, b])
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) does not match variable shape \(2,\)"):
        opt.apply([np.ones(3)], [a])
    with pytest.raises(ValueError, match="got 1 gradients for 2 variables"):
        opt.apply([np.ones(2)], [a, b])
    with pytest.raises(TypeError, match="learning_rate must be a float"):
        optimizers.SGD("fast")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("adamax2")
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
