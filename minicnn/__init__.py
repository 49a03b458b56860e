"""minicnn: a CPU-first deep-learning framework for convolutional networks.

Keras' names where Keras has them, so ``import minicnn as keras`` runs Keras programs:

>>> import minicnn as keras
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
>>> model.count_params()
10
"""

try:  # the first compiled module: a clear message if the kernels are not built
    from minicnn._kernels import _openmp as _openmp  # noqa: F401
except ImportError as _exc:
    from minicnn._check_build import raise_build_error

    raise_build_error(_exc)

from minicnn._version import __version__
from minicnn._threads import get_num_threads, num_threads, set_num_threads
from minicnn._config import show_config
from minicnn import linalg
from minicnn.autograd import Tensor, enable_grad, gradcheck, is_grad_enabled, no_grad
from minicnn.variables import Variable
from minicnn import ops
from minicnn import activations, constraints, initializers, regularizers, serialization, layers, models
from minicnn import callbacks, losses, metrics, optimizers, saving, utils
from minicnn import datasets, debugging, random
from minicnn.layers import Input
from minicnn.models import Model, Sequential

__all__ = [
    "__version__", "show_config", "set_num_threads", "get_num_threads", "num_threads",
    "linalg", "Tensor", "Variable", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck", "ops",
    "activations", "constraints", "initializers", "regularizers", "serialization", "layers", "models",
    "callbacks", "losses", "metrics", "optimizers", "saving", "utils", "datasets", "debugging",
    "Input", "Model", "Sequential",
]
