"""Plain-NumPy reference implementations: the oracle the tests compare the fast code with."""

import importlib.util

from minicnn.reference.kernels import *  # noqa: F401,F403

# The differentiable-op references (ops.py) are added by another module's work; import them
# when present, without hiding errors raised inside them.
if importlib.util.find_spec("minicnn.reference.ops") is not None:
    from minicnn.reference import ops  # noqa: F401
