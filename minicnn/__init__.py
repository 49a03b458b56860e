"""minicnn: a CPU-first deep-learning framework for convolutional networks."""

from minicnn._version import __version__
from minicnn._threads import get_num_threads, num_threads, set_num_threads
from minicnn._config import show_config
from minicnn import linalg

__all__ = ["__version__", "linalg", "set_num_threads", "get_num_threads", "num_threads", "show_config"]
from minicnn.autograd import Tensor, enable_grad, gradcheck, is_grad_enabled, no_grad
__all__ += ["Tensor", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck"]
from minicnn import ops
__all__ += ["ops"]
from minicnn import datasets
__all__ += ["datasets"]
from minicnn import callbacks, losses, metrics, optimizers, saving, utils
__all__ += ["optimizers", "losses", "metrics", "callbacks", "utils", "saving"]
from minicnn import activations, initializers, regularizers, serialization, layers, models
from minicnn.layers import Input
from minicnn.models import Model, Sequential
__all__ += ["activations", "initializers", "regularizers", "serialization", "layers", "models",
            "Input", "Model", "Sequential"]
