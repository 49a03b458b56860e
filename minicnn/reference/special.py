"""The error function and its complement: the exact oracles (``math.erf``/``math.erfc`` per
element) and the procedure that produced the polynomial coefficients of the vectorised ones in
``minicnn.ops._special``.

The fast erf splits |x| into ranges: near zero ``erf(a) = a * P(a*a - centre)``; further out
``erfc(a) = exp(-a*a) * Q(a - centre)`` (``exp(a*a) * erfc(a)`` is smooth and slowly varying
there, so a polynomial fits it well), and past that a continued fraction.  Each polynomial is a
Chebyshev least-squares fit weighted for relative error, on 60001 points, converted to the power
basis that Horner's rule evaluates; except float64's P, the Taylor series itself: the fit's
conversion to the power basis costs ~15 ulp there (measured), the series' 18 terms on [0, 1]
stay within 2.
:func:`fit_erf` reproduces the tables in ``minicnn/ops/_special.py``.
"""

import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def erf(x):
    """erf to float64 rounding, one ``math.erf`` call per element."""
    return _erf(np.asarray(x, dtype=np.float64))


def erfc(x):
    """erfc to float64 rounding, one ``math.erfc`` call per element."""
    return _erfc(np.asarray(x, dtype=np.float64))


def _fit_inner(degree, a_max):
    """(coefficients of P in u = a*a - centre, centre) with erf(a) = a * P(u) on [0, a_max].
    Centring keeps the terms small: Horner's rule then loses little to cancellation in float32."""
    a = np.linspace(0.0, a_max, 60001)[1:]
    t, y = a * a, _erf(a) / a
    centre = a_max * a_max / 2
    c = chebyshev.chebfit(t / centre - 1, y, degree, w=1 / y)
    return polynomial.Polynomial(chebyshev.cheb2poly(c))(polynomial.Polynomial([0, 1 / centre])).coef, centre


def _taylor_inner(terms):
    """(coefficients of P in u = a*a, centre 0): erf's Maclaurin series divided by a."""
    return np.array([2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1))
                     for k in range(terms)]), 0.0


def _fit_outer(degree, lo, hi):
    """(lo, hi, centre, coefficients of Q in s = a - centre) with erfc(a) = exp(-a*a) * Q(s)
    on [lo, hi]."""
    a = np.linspace(lo, hi, 60001)
    y = _erfc(a) * np.exp(a * a)
    centre, half = (hi + lo) / 2, (hi - lo) / 2
    c = chebyshev.chebfit((a - centre) / half, y, degree, w=1 / y)
    q = polynomial.Polynomial(chebyshev.cheb2poly(c))(polynomial.Polynomial([0, 1 / half])).coef
    return lo, hi, centre, q


def fit_erf():
    """The polynomials of ``minicnn.ops._special``: {dtype: ((P, centre), (lo, hi, centre, Q))}
    (float64's Q is fitted on [1, 2.5] and used on [1, 2): the continued fraction takes over
    at 2, where it converges within 64 terms)."""
    return {
        "float32": (_fit_inner(9, 2.0), _fit_outer(9, 0.5, 2.0)),
        "float64": (_taylor_inner(18), _fit_outer(16, 1.0, 2.5)),
    }
