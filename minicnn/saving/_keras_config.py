"""The config half of reading Keras 3 files: Keras' config dicts translated to minicnn's
(``keras.layers.Conv2D`` is ``minicnn.layers.Conv2D``), refusing what cannot be mapped."""

import inspect

from minicnn import serialization
from minicnn.layers import Layer

__all__ = ["Translator"]


# Keys of Keras 3 configs that minicnn's classes do not take, with the value under which the
# key changes nothing (dropped then; any other value is refused, naming the layer).
_KERAS_ONLY = {
    "lora_rank": None, "lora_alpha": None, "quantization_config": None, "sparse": False,
    "ragged": False, "optional": False, "renorm": False, "renorm_clipping": None,
    "renorm_momentum": 0.99, "input_axes": None, "output_axes": None, "synchronized": False,
    "autocast": True, "rms_scaling": False, "activity_regularizer": None,
}
# Every Layer takes these (Layer.__init__ reads them from **kwargs).
_LAYER_KWARGS = {"input_shape", "input_dim", "batch_size", "batch_input_shape", "name", "trainable",
                 "dtype"}


def _module(module):
    """minicnn's module for a Keras one: keras.layers -> minicnn.layers, keras (models) ->
    minicnn.models."""
    if module == "keras" or module.startswith(("keras.src.models", "keras.models")):
        return "minicnn.models"
    if module.startswith("keras.src."):
        module = "keras." + module[len("keras.src."):].split(".")[0]
    return "minicnn" + module[len("keras"):]


def _init_parameters(cls):
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names |= {p.name for p in inspect.signature(init).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return names


class Translator:
    """Keras 3 config dicts -> minicnn's, refusing what cannot be mapped."""

    def __init__(self, archive, custom_objects):
        self.archive = archive
        self.custom_objects = custom_objects or {}

    def refuse(self, what, problem):
        return self.archive.error(f"{what} {problem}", "config.json")

    def __call__(self, obj, owner=None):
        """``obj`` translated; ``owner`` names the enclosing layer in error messages."""
        if isinstance(obj, list):
            return [self(v, owner) for v in obj]
        if not isinstance(obj, dict):
            return obj
        obj = {k: v for k, v in obj.items() if k != "shared_object_id"}
        class_name, module, config = obj.get("class_name"), obj.get("module"), obj.get("config")
        if class_name in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config, dict):
            return config.get("name")
        if class_name == "__lambda__":
            raise self.refuse(owner or "the model", "holds a Python lambda as marshalled bytecode "
                              "(Keras' format), which minicnn never loads; use a named function")
        if not isinstance(class_name, str) or not isinstance(module, str):
            return {k: self(v, owner) for k, v in obj.items()}
        if class_name == "function":
            return self._function(obj, owner)
        if isinstance(config, dict) and isinstance(config.get("name"), str) and module.endswith("layers"):
            owner = label = f"layer {config['name']!r} ({class_name})"
        else:
            label = f"{owner}: its {class_name}" if owner else class_name
        out = dict(obj)
        if module.startswith("keras"):
            out["module"] = _module(module)
        cls = self._class(out, label)  # the object itself first, then what its config holds
        out = {k: self(v, owner) for k, v in out.items()}
        if isinstance(out.get("config"), dict) and not _is_model_class(cls):
            out["config"] = self._keys(cls, out["config"], label)
        return out

    def _function(self, obj, owner):
        out = dict(obj, module=_module(obj["module"])) if obj["module"].startswith("keras") else obj
        try:
            serialization.deserialize(out, custom_objects=self.custom_objects)
        except (ValueError, TypeError, KeyError):
            raise self.refuse(owner or "the model", f"uses the function {obj.get('config')!r} "
                              f"({obj.get('module')}), which minicnn cannot map") from None
        return out

    def _class(self, obj, what):
        reg = obj.get("registered_name")
        cls = None
        if reg:
            cls = serialization.get_registered_object(reg, self.custom_objects)
        if cls is None:
            cls = serialization.get_registered_object(obj["class_name"], self.custom_objects,
                                                      obj.get("module"))
        if cls is None:
            raise self.refuse(what, f"cannot be mapped: minicnn has no {obj['class_name']} "
                                    f"(pass custom_objects for a class of your own)")
        return cls

    def _keys(self, cls, config, what):
        if not inspect.isclass(cls):
            return config
        accepted = _init_parameters(cls) | (_LAYER_KWARGS if _is_layer_class(cls) else set())
        out = {}
        for key, value in config.items():
            if key in accepted:
                out[key] = value
            elif key in _KERAS_ONLY and value == _KERAS_ONLY[key]:
                continue
            elif key in _KERAS_ONLY:
                raise self.refuse(what, f"uses {key}={value!r}, which minicnn does not support")
            else:
                raise self.refuse(what, f"has the setting {key!r}, which minicnn's "
                                        f"{cls.__name__} does not take")
        return out


def _is_layer_class(cls):
    return inspect.isclass(cls) and issubclass(cls, Layer)


def _is_model_class(cls):
    from minicnn.models import Model
    return inspect.isclass(cls) and issubclass(cls, Model)
