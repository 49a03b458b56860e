"""Saving and loading models and weights (one versioned zip file, no pickle).

>>> from minicnn.saving import SavedModelError
>>> issubclass(SavedModelError, ValueError)
True
"""

from minicnn.saving.file_format import FORMAT_VERSION, SavedModelError
from minicnn.saving.saving_api import load_model, load_weights, save_model, save_weights

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "SavedModelError", "FORMAT_VERSION"]
