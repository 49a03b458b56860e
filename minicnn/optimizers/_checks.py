"""One check for every optimizer and schedule hyperparameter: a finite real number in range.

``Adam(float("nan"))`` would otherwise train to NaN weights without a word, and a negative
learning rate or momentum would climb the loss.
"""

import math
import numbers

__all__ = ["hyperparameter"]


def hyperparameter(owner, name, value, low=0.0, high=math.inf, *, high_open=False, optional=False):
    """``value`` as a float, after checking it is a finite real in ``[low, high]`` (``[low, high)``
    with ``high_open``); None passes through when ``optional``.  Raises ValueError naming it."""
    if value is None and optional:
        return None
    upper = f"{high})" if high_open else f"{high}]"
    if math.isinf(high):
        expected = f"a finite number >= {low}"
    else:
        expected = f"a number in [{low}, {upper}"
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < low or value > high
            or (high_open and value == high)):
        raise ValueError(f"{owner}: {name} must be {expected}"
                         + (" or None" if optional else "") + f", got {value!r}")
    return float(value)
