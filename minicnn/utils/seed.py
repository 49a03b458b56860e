"""Global seeding: one call makes weight init, dropout, shuffling and augmentation repeatable."""

from minicnn import _random


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global RNG and minicnn's global generator.

    Two training runs that start with the same ``set_random_seed(s)`` produce bitwise-identical
    weights (on the same machine and thread count).

    >>> import numpy as np
    >>> from minicnn.utils import set_random_seed
    >>> set_random_seed(1); a = np.random.rand()
    >>> set_random_seed(1); b = np.random.rand()
    >>> a == b
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int,)) and not hasattr(seed, "__index__"):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    _random.set_global_seed(int(seed))
