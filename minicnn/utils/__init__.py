"""Small user-facing utilities: ``to_categorical``, ``set_random_seed``, ``Progbar``,
``memory_pool`` (the caching allocator ``fit`` uses, for hand-written training loops),
``profile`` (where a training step's time goes, per layer) and ``measure_peak``."""

from minicnn._kernels.mempool import pooled as memory_pool
from minicnn.utils.numerical import normalize, to_categorical
from minicnn.utils.peak import measure_peak
from minicnn.utils.profiler import profile
from minicnn.utils.progbar import Progbar
from minicnn.utils.seed import set_random_seed

__all__ = ["Progbar", "measure_peak", "memory_pool", "normalize", "profile", "set_random_seed",
           "to_categorical"]
