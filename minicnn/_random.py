"""The one source of randomness for initializers, dropout, shuffling and augmentation.

``minicnn.utils.set_random_seed(s)`` reseeds it (with Python's and NumPy's global generators),
so two runs with the same seed produce bitwise-identical results.  Objects given an explicit
``seed=`` get their own generator and do not consume the global stream.
"""

import random

import numpy as np

_global_rng = np.random.default_rng()


def set_global_seed(seed):
    """Reseed Python's ``random``, NumPy's legacy global RNG and minicnn's global generator."""
    global _global_rng
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _global_rng = np.random.default_rng(seed)


def global_rng():
    """minicnn's global generator (replaced by set_global_seed)."""
    return _global_rng


def make_rng(seed=None):
    """A Generator: from ``seed`` when given, else a fresh stream drawn from the global one."""
    if seed is None:
        return np.random.default_rng(_global_rng.integers(0, 2**63 - 1))
    return np.random.default_rng(seed)
