"""Models (``keras.models``): ``Sequential``, ``Model`` (functional and subclassed),
``model_from_config``, and ``load_model``/``save_model`` from :mod:`minicnn.saving`.

>>> import minicnn
>>> from minicnn import layers
>>> model = minicnn.models.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
>>> clone = minicnn.models.model_from_config(minicnn.serialization.serialize(model))
>>> [l.__class__.__name__ for l in clone.layers], clone.count_params()
(['Dense', 'Dense'], 21)
"""

from minicnn import saving, serialization
from minicnn.models.model import Model
from minicnn.models.functional import Functional
from minicnn.models.sequential import Sequential

__all__ = ["Model", "Functional", "Sequential", "model_from_config", "model_from_json", "clone_model",
           "load_model", "save_model"]


def model_from_config(config, custom_objects=None):
    """Rebuild a model (new weights) from ``serialize(model)`` or ``model.get_config()``."""
    if "class_name" not in config:
        raise ValueError("model_from_config expects serialize(model)'s dict (with 'class_name'); "
                         "for get_config() output use Model.from_config / Sequential.from_config")
    return serialization.deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (new weights) from ``model.to_json()``.

    >>> import minicnn
    >>> model = minicnn.Sequential([minicnn.Input((3,)), minicnn.layers.Dense(2)])
    >>> minicnn.models.model_from_json(model.to_json()).count_params()
    8
    """
    import json
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json: not a JSON model description ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"model_from_json: expected a JSON object (from model.to_json()), "
                         f"got {type(config).__name__}")
    return model_from_config(config, custom_objects=custom_objects)


def clone_model(model, custom_objects=None):
    """A new model with the same architecture and freshly initialised weights."""
    return serialization.deserialize(serialization.serialize(model), custom_objects=custom_objects)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """See :func:`minicnn.saving.load_model`."""
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """See :func:`minicnn.saving.save_model`."""
    return saving.save_model(model, filepath, overwrite=overwrite, **kwargs)
