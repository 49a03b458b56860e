"""Saving and loading models and weights (one versioned zip file, no pickle).

>>> from minicnn.saving import SavedModelError
>>> issubclass(SavedModelError, ValueError)
True
"""

from minicnn.saving.file_format import FORMAT_VERSION, SavedModelError
from minicnn.saving.saving_api import load_model, load_weights, save_model, save_weights
# Keras' names for the serialization registry live here too (keras.saving.*).
from minicnn.serialization import (
    custom_object_scope,
    deserialize as deserialize_keras_object,
    get_custom_objects,
    register_serializable as register_keras_serializable,
    serialize as serialize_keras_object,
)

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "SavedModelError", "FORMAT_VERSION",
           "register_keras_serializable", "serialize_keras_object", "deserialize_keras_object",
           "get_custom_objects", "custom_object_scope"]
