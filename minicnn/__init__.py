"""minicnn: a CPU-first deep-learning framework for convolutional networks."""

from minicnn._version import __version__
from minicnn._threads import get_num_threads, num_threads, set_num_threads
from minicnn._config import show_config
from minicnn import linalg

__all__ = ["__version__", "linalg", "set_num_threads", "get_num_threads", "num_threads", "show_config"]
