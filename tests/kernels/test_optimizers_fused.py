"""Adam's all-variables-at-once update (flat buffers) gives the per-variable numbers exactly, and
falls back to them whenever its conditions do not hold."""

import numpy as np
import pytest

import minicnn
from minicnn import optimizers

SHAPES = [(5, 5, 1, 6), (6,), (3, 4), (1,), (7, 2)]


def _problem(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(6)]
    return ws, grads


def _run(make, ws, grads, fused=True, order=None, compiled=True):
    opt = make()
    if not fused:
        opt._update_all = lambda pairs, lr: False
    if not compiled:  # as when a variable is not a contiguous float32/float64 array
        opt._update_compiled = lambda pairs, lr: False
    ws = [minicnn.Tensor(w.copy()) for w in ws]
    order = order or list(range(len(ws)))
    for gs in grads:
        opt.apply([gs[i] for i in order], [ws[i] for i in order])
    return [w.data for w in ws], opt


MAKERS = [lambda: optimizers.Adam(0.01), lambda: optimizers.AdamW(0.01, weight_decay=0.1),
          lambda: optimizers.Adam(0.01, global_clipnorm=1.0), lambda: optimizers.Adam(0.01, clipvalue=0.5)]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "flat-numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", MAKERS)
def test_fused_equals_per_variable_bitwise(make, dtype, compiled):
    ws, grads = _problem(dtype)
    got, opt = _run(make, ws, grads, compiled=compiled)
    want, ref = _run(make, ws, grads, fused=False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(opt.variables, ref.variables):
        np.testing.assert_array_equal(a, b)
    if compiled:  # the fast path that was meant to run did run
        assert getattr(opt, "_compiled_steps", 0) == len(grads) and getattr(opt, "_flat", None) is None
    else:
        assert getattr(opt, "_flat", None) is not None


def test_state_round_trip_through_the_flat_buffers():
    ws, grads = _problem(np.float64, seed=1)
    straight, _ = _run(lambda: optimizers.Adam(0.01), ws, grads)
    first = optimizers.Adam(0.01)
    t = [minicnn.Tensor(w.copy()) for w in ws]
    for gs in grads[:3]:
        first.apply(gs, t)
    state = [np.array(a) for a in first.variables]
    second = optimizers.Adam(0.01)
    t2 = [minicnn.Tensor(w.data.copy()) for w in t]
    second.build(t2)
    second.load_variables(state)
    for gs in grads[3:]:
        second.apply(gs, t2)
    for a, b in zip(t2, straight):
        np.testing.assert_array_equal(a.data, b)


def test_fallbacks_give_the_same_numbers():
    ws, grads = _problem()
    want, _ = _run(lambda: optimizers.Adam(0.01), ws, grads, fused=False)
    # variables passed in another order than they were built in
    got, opt = _run(lambda: optimizers.Adam(0.01), ws, grads, order=[4, 3, 2, 1, 0])
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    # a missing gradient on some steps, then all of them again (the flat state picks up the slots)
    opt = optimizers.Adam(0.01)
    opt_ref = optimizers.Adam(0.01)
    opt_ref._update_all = lambda pairs, lr: False
    a = [minicnn.Tensor(w.copy()) for w in ws]
    b = [minicnn.Tensor(w.copy()) for w in ws]
    for step, gs in enumerate(grads):
        gs = [None if (step == 1 and i == 2) else g for i, g in enumerate(gs)]
        opt.apply(gs, a)
        opt_ref.apply(gs, b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)
    # mixed dtypes and amsgrad stay per variable
    mixed = [ws[0].astype(np.float64)] + ws[1:]
    opt = optimizers.Adam(0.01)
    opt.apply([grads[0][0].astype(np.float64)] + grads[0][1:], [minicnn.Tensor(w.copy()) for w in mixed])
    assert getattr(opt, "_flat", None) is None
    opt = optimizers.Adam(0.01, amsgrad=True)
    opt.apply(grads[0], [minicnn.Tensor(w.copy()) for w in ws])
    assert getattr(opt, "_flat", None) is None


def _adam_and_reference(ws):
    """Adam on its fused path and one forced onto the per-variable path, each with its own
    copies of the variables ws."""
    opt, ref = optimizers.Adam(0.01), optimizers.Adam(0.01)
    ref._update_all = lambda pairs, lr: False
    return opt, ref, [minicnn.Tensor(w.copy()) for w in ws], [minicnn.Tensor(w.copy()) for w in ws]


def test_a_variable_added_later_is_laid_out_again():
    ws, grads = _problem()
    opt, ref, a, b = _adam_and_reference(ws)
    for step, gs in enumerate(grads):
        k = 3 if step < 2 else 5
        opt.apply(gs[:k], a[:k])
        ref.apply(gs[:k], b[:k])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)


def test_compiled_update_follows_replaced_arrays_and_rechecks_every_step():
    # The compiled path keeps flat views of each variable and its slots between steps: they must
    # follow a variable whose array was replaced, and a read-only variable must still fail.
    ws, grads = _problem()
    opt, ref, a, b = _adam_and_reference(ws)
    for step, gs in enumerate(grads):
        if step == 2:
            old = a[0].data
            a[0].data, b[0].data = a[0].data.copy(), b[0].data.copy()
            kept = old.copy()
        opt.apply(gs, a)
        ref.apply(gs, b)
    assert opt._compiled_steps == len(grads)
    np.testing.assert_array_equal(old, kept)  # the replaced array is left alone
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)
    a[1].data.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        opt.apply(grads[0], a)
