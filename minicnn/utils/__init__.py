"""Small user-facing utilities: ``to_categorical``, ``set_random_seed``, ``Progbar``."""

from minicnn.utils.numerical import normalize, to_categorical
from minicnn.utils.progbar import Progbar
from minicnn.utils.seed import set_random_seed

__all__ = ["Progbar", "normalize", "set_random_seed", "to_categorical"]
