"""GELU without SciPy: float32 uses a vectorised erfc fit (not math.erf per element) that stays
within float32 rounding in both tails; float64 stays exact."""

import math

import numpy as np
import pytest

from minicnn import ops
from minicnn.ops import _activations


def _exact_gelu(x):
    return np.array([0.5 * v * math.erfc(-v / math.sqrt(2.0)) for v in np.asarray(x, np.float64)])


X = np.concatenate([np.linspace(-13.0, 13.0, 20001),
                    np.random.default_rng(0).normal(0.0, 3.0, 5000)])


@pytest.fixture
def no_scipy(monkeypatch):
    """The erf minicnn falls back to without SciPy, made to fail if float32 GELU calls it."""
    def scalar_erf(v):
        raise AssertionError("float32 GELU called the per-element erf")
    monkeypatch.setattr(_activations, "_ERF", (scalar_erf, False))


def test_float32_gelu_is_within_a_few_ulps_of_the_exact_one(no_scipy):
    x = X.astype(np.float32)
    got = ops.gelu(x).numpy()
    assert got.dtype == np.float32
    exact = _exact_gelu(x)
    nonzero = exact != 0
    ulps = np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps[nonzero].max() <= 4, ulps[nonzero].max()
    assert np.all(got[exact == 0] == 0)


def test_float32_gelu_gradient_matches_the_exact_derivative(no_scipy):
    x = X.astype(np.float32)
    xt = __import__("minicnn").Tensor(x, requires_grad=True)
    ops.gelu(xt).sum().backward()
    x64 = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x64])
    exact = cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    np.testing.assert_allclose(xt.grad, exact, rtol=2e-6, atol=1e-7)


def test_float64_gelu_stays_exact():
    got = ops.gelu(X).numpy()
    # erf-based, as Keras computes it: exact to rounding of 1 + erf (absolute, in the far tail)
    np.testing.assert_allclose(got, _exact_gelu(X), rtol=1e-13, atol=1e-15)
