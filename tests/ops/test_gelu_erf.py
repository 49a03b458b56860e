"""The vectorised erf (minicnn.ops._special) and GELU on it, against math.erf in float64."""

import math

import numpy as np
import pytest

import minicnn
from minicnn import Tensor, ops
from minicnn.ops import _special
from minicnn.reference import ops as ref
from minicnn.reference import special

# Dense over the ranges and their joins, the tails, and tiny values (erf(a) ~ 2a/sqrt(pi)).
GRID = np.concatenate([np.linspace(-7.0, 7.0, 140001), np.geomspace(1e-30, 1e-2, 500),
                       -np.geomspace(1e-30, 1e-2, 500), [0.0, 1.0, 2.0, 2.5, 4.0, 6.0]])


def ulps(got, want, dtype):
    """|got - want| in units of the last place of want in ``dtype``."""
    spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


@pytest.mark.parametrize("dtype,max_ulps", [(np.float32, 3), (np.float64, 4)])
def test_erf_is_accurate_to_the_dtype(dtype, max_ulps):
    x = GRID.astype(dtype)
    got = _special.erf(x)
    assert got.dtype == dtype
    err = ulps(got, special.erf(x), dtype)
    assert err.max() <= max_ulps, (err.max(), x[err.argmax()])
    assert np.all(got[x > 0] > 0) and np.all(np.abs(got) <= 1)  # sign, and never beyond 1


def test_erf_special_values_and_other_dtypes():
    for dtype in (np.float32, np.float64):
        x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300 if dtype == np.float64 else 3e38], dtype)
        got = _special.erf(x)
        assert np.isnan(got[0]) and list(got[1:3]) == [1.0, -1.0] and list(got[5:]) == [1.0]
        assert np.signbit(got[4]) and not np.signbit(got[3])
    assert _special.erf(np.array([0.5], np.float16)).dtype == np.float64  # computed in float64
    np.testing.assert_allclose(_special.erf(np.array([1, 2])), [math.erf(1), math.erf(2)], rtol=1e-15)


def test_the_tables_come_from_the_documented_fit():
    """reference.special.fit_erf reproduces the coefficients in ops/_special.py."""
    for name, ((p, centre), (lo, hi, q_centre, q)) in special.fit_erf().items():
        table = _special._TABLES[np.dtype(name)]
        p_t, centre_t, _, q_t, lo_t, hi_t, q_centre_t, _ = table
        np.testing.assert_allclose(p_t, p.astype(p_t.dtype), rtol=1e-12)
        np.testing.assert_allclose(q_t, q.astype(q_t.dtype), rtol=1e-12)
        assert (centre_t, lo_t, q_centre_t) == (centre, lo, q_centre) and hi_t <= hi


def test_erfc_is_accurate_to_the_dtype_in_both_tails():
    """Relative to erfc, within a few ulp times (1 + x^2), erfc's condition number, down to
    the smallest normal number (x ~ 9.2 in float32, 26.5 in float64)."""
    for dtype, max_ulps in ((np.float32, 3), (np.float64, 9)):
        x = np.concatenate([GRID, np.linspace(7, 27, 20001)]).astype(dtype)
        want = special.erfc(x)
        got = _special.erfc(x)
        assert got.dtype == dtype
        normal = want > np.finfo(dtype).tiny
        err = ulps(got, want, dtype)[normal] / (1 + x[normal].astype(np.float64) ** 2)
        assert err.max() <= max_ulps, (err.max(), x[normal][err.argmax()])
        assert np.all(got[~normal] < 2 * np.finfo(dtype).tiny)
    np.testing.assert_array_equal(_special.erfc(np.array([np.inf, -np.inf, np.nan]))[:2], [0.0, 2.0])


def test_ops_erf_is_differentiable():
    x = np.linspace(-3, 3, 13)
    assert minicnn.gradcheck(ops.erf, [x])
    assert ops.erf([1, 2]).dtype == np.float32  # integers compute in floatx


def _gelu_derivative(x, approximate):
    """(d/dx x * Phi(x), the size of its two terms) in float64, by the forms that do not cancel
    for x << 0: the terms' size bounds what rounding can do where they cancel (d = 0 at -0.75)."""
    if approximate:  # x * s(2u), s the sigmoid
        s = 1 / (1 + np.exp(-2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        term = 2 * x * s * (1 - s) * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
    else:
        s = 0.5 * special.erfc(-x / math.sqrt(2))
        term = x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return s + term, np.abs(s) + np.abs(term)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_forward_and_backward_against_the_float64_reference(approximate):
    """Within 8 ulp of the dtype times (1 + x^2) (the function's condition number), relative
    to the value, in the whole left tail too, where ``1 + erf`` and
    ``1 + tanh`` would have lost every bit; the gradient likewise, relative to the size of its
    two terms."""
    x64 = np.concatenate([np.linspace(-12, 12, 24001), [0.0, -40.0, 40.0]])
    with np.errstate(over="ignore"):
        want = ref.gelu(x64, approximate=approximate)
        dwant, dsize = _gelu_derivative(x64, approximate)
    for dtype, eps in ((np.float64, 2.0 ** -53), (np.float32, 2.0 ** -24)):
        t = Tensor(x64.astype(dtype), requires_grad=True)
        y = ops.gelu(t, approximate=approximate)
        y.backward(np.ones_like(t.data))
        assert y.dtype == dtype and t.grad.dtype == dtype
        scale = (1 + x64 * x64) * eps
        tiny = np.finfo(dtype).tiny * np.maximum(np.abs(x64), 1)
        normal = np.abs(want) > tiny  # and so is Phi(x)
        with np.errstate(divide="ignore", invalid="ignore"):  # want = 0: not compared
            err = np.abs(y.numpy() - want) / np.abs(want) / scale
            derr = np.abs(t.grad - dwant) / dsize / scale
        assert err[normal].max() <= 8, (err[normal].max(), x64[normal][err[normal].argmax()])
        assert np.all(np.abs(y.numpy()[~normal]) <= 2 * tiny[~normal])  # underflows gracefully
        away = dsize > np.finfo(dtype).tiny * (1 + x64 * x64)
        assert derr[away].max() <= 8, (derr[away].max(), x64[away][derr[away].argmax()])


def test_gelu_defaults_follow_keras():
    """ops.gelu: tanh approximation by default; keras.activations.gelu and the "gelu" string: exact."""
    x = np.array([-1.5, 0.3, 2.0])
    np.testing.assert_allclose(ops.gelu(x).numpy(), ref.gelu(x, approximate=True), rtol=1e-14)
    exact = ref.gelu(x, approximate=False)
    np.testing.assert_allclose(minicnn.activations.gelu(x).numpy(), exact, rtol=1e-14)
    np.testing.assert_allclose(minicnn.activations.get("gelu")(x).numpy(), exact, rtol=1e-14)
    assert abs(exact - ref.gelu(x, approximate=True)).max() > 1e-5  # the two forms differ
