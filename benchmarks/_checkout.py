"""Imported first by every benchmark: makes ``import minicnn`` work from a source checkout built
in place (``python setup.py build_ext --inplace``) as well as from an installed wheel."""

import os
import sys

try:
    import minicnn  # noqa: F401  (installed)
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
