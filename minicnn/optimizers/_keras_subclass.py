"""Optimizers written for Keras 3: a subclass that creates its variables in ``build`` with
``add_variable_from_reference`` and implements ``update_step(gradient, variable, learning_rate)``
with ``keras.ops`` and ``self.assign*`` (the form of Keras' ``BaseOptimizer`` docstring) runs
unchanged.  Built-in optimizers use the in-place form instead (``_slot_names`` and
``update_step(gradient, variable, learning_rate, slots, tmp)`` on ndarrays): same pipeline
around it (clipping, decay, accumulation, averages, constraints), fewer temporaries.
"""

import inspect

from minicnn.autograd import Tensor, no_grad

__all__ = ["KerasSubclassing"]

_STYLE = {}  # class -> whether its update_step has Keras' three arguments


class KerasSubclassing:
    """The Keras-subclass half of :class:`minicnn.optimizers.Optimizer`."""

    @property
    def _keras_style(self):
        cls = type(self)
        style = _STYLE.get(cls)
        if style is None:
            params = list(inspect.signature(cls.update_step).parameters)[1:]
            style = _STYLE[cls] = len(params) == 3
        return style

    def _build_for(self, var_list):
        """Make sure the optimizer knows ``var_list``: a built-in adds what it lacks; a Keras
        subclass, whose ``build`` creates its variables for the list it is given, is built once
        and then refuses variables it was not built with (as Keras)."""
        if not (self._keras_style and self.built):
            self.build(var_list)
            if not self.built:
                raise RuntimeError(f"{type(self).__name__}.build must call super().build(variables)")
            return
        for var in var_list:
            if id(var) not in self._index:
                raise ValueError(
                    f"Unknown variable: {var!r}. This optimizer can only be called for the variables "
                    "it was originally built with. When working with a new set of variables, you "
                    "should recreate a new optimizer instance.")

    def _keras_update_steps(self, pairs, learning_rate):
        with no_grad():
            for _, g, var, _ in pairs:
                if not isinstance(var, Tensor):
                    raise TypeError(f"{type(self).__name__}.update_step is written for Keras variables: "
                                    f"pass minicnn.Variables, got {type(var).__name__}")
                self.update_step(Tensor(g), var, learning_rate)

    # ------------------------------------------------------------------ what subclasses call
    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A variable shaped like ``reference_variable``, named ``{its path}_{name}`` (Keras)."""
        prefix = getattr(reference_variable, "path", None) or getattr(reference_variable, "name", None)
        prefix = str(prefix).replace("/", "_").replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype, name=f"{prefix}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """``add_variable_from_reference`` for each variable (None for those that take their
        gradient as value); with a list of names, one list per name (Keras' interleaved order)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = [initializer] * len(names) if isinstance(initializer, str) else list(initializer)
        if len(inits) != len(names):
            raise ValueError(f"The number of provided names must match the number of provided "
                             f"initializers.  Received name='{name}', initializer='{initializer}'")
        lists = tuple([] for _ in names)
        for var in trainable_variables:
            plain = not getattr(var, "overwrite_with_gradient", False)
            for out, n, init in zip(lists, names, inits):
                out.append(self.add_variable_from_reference(var, n, init) if plain else None)
        return lists[0] if isinstance(name, str) else lists

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)
