"""The optimizer's own variables, as Keras 3 keeps them: the step counter, each model variable's
slots (momentum, velocity, ...), its moving average (``use_ema``) and its gradient accumulator
(``gradient_accumulation_steps``).

Every one is a :class:`minicnn.Variable` named after the model variable it serves
(``adam/dense_kernel_momentum``, Keras' names).  The updates write into their arrays in place;
Adam may re-seat its slots onto one flat buffer (``Variable.data`` becomes a view), so code
reads ``slot.data`` at each step rather than keeping the array.

``variables`` lists them in a fixed order, ``[iteration, averages..., accumulators..., slots of
each variable..., optimizer-wide state...]``, which is the layout of minicnn's model files.
"""

import numpy as np

from minicnn.variables import Variable, name_scope

__all__ = ["OptimizerVariables", "data_of"]


def data_of(var):
    """The ndarray an optimizer updates for ``var`` (a Variable, a Tensor or an ndarray)."""
    # ndarray also has a ``.data`` attribute (its buffer), so test for it first.
    data = var if isinstance(var, np.ndarray) else getattr(var, "data", var)
    if not isinstance(data, np.ndarray):
        raise TypeError(f"optimizer variables must be Tensors or ndarrays, got {type(var).__name__}")
    if data.dtype.kind != "f":
        raise TypeError(f"optimizer variables must be floating point, got dtype {data.dtype}")
    return data


def _reference_name(var, index):
    # Keras: the model variable's path with "/" turned into "_" (a bare array has none).
    name = getattr(var, "path", None) or getattr(var, "name", None) or f"variable_{index}"
    return str(name).replace("/", "_").replace(":", "_")


class OptimizerVariables:
    """The variable half of :class:`minicnn.optimizers.Optimizer` (which calls ``_init_variables``
    and sets ``use_ema`` and ``gradient_accumulation_steps`` before it)."""

    def _init_variables(self):
        with name_scope(self.name, caller=self):
            self._iterations = Variable(0, dtype="int64", name="iteration", trainable=False,
                                        aggregation="only_first_replica")
        self._trainable_variables = []
        self._index = {}  # id(model variable) -> its position in _trainable_variables
        self._slots = []  # per model variable: {slot name: Variable}
        self._model_variables_moving_average = []  # per model variable, with use_ema
        self._accumulated_gradients = []  # per model variable, with gradient_accumulation_steps
        self._global_variables = []  # optimizer-wide state (Nadam's running product)
        self._tmp = []  # per model variable: scratch of its shape, for the update
        self._gbuf = []  # per model variable: where processed gradients go (allocated on demand)
        self.built = False

    # ------------------------------------------------------------------ building
    def build(self, var_list):
        """Create the optimizer's variables for every variable of ``var_list`` it does not know
        yet (a later call may add variables)."""
        with name_scope(self.name, caller=self):
            for var in var_list:
                if id(var) not in self._index:
                    self._add(var)
        self.built = True

    def _add(self, var):
        data = data_of(var)
        index = len(self._trainable_variables)
        self._index[id(var)] = index
        self._trainable_variables.append(var)
        prefix = _reference_name(var, index)

        def new(name, value=0.0):
            return Variable(np.full(data.shape, value, data.dtype), name=f"{prefix}_{name}",
                            trainable=False)

        # A variable that takes its gradient as its value (Keras' overwrite_with_gradient) needs
        # neither slots nor an average.
        plain = not getattr(var, "overwrite_with_gradient", False)
        self._slots.append({name: new(name, self._initial_slot_value(name))
                            for name in self._slot_names_for(var)} if plain else {})
        if self.use_ema:
            self._model_variables_moving_average.append(new("average") if plain else None)
        if self.gradient_accumulation_steps:
            self._accumulated_gradients.append(new("gradient_accumulator"))
        self._tmp.append(np.empty_like(data))
        self._gbuf.append(None)

    def _slot_names_for(self, var):
        return self._slot_names

    def _initial_slot_value(self, slot_name):
        return 0.0

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        """An optimizer-wide variable (kept in ``variables`` after the per-variable slots)."""
        with name_scope(self.name, caller=self):
            var = Variable(initializer, shape=shape, dtype=dtype or "float32", trainable=False,
                           name=name)
        self._global_variables.append(var)
        return var

    # ------------------------------------------------------------------ state
    @property
    def variables(self):
        """The optimizer's state as Variables: ``[iteration, averages..., accumulators...,
        slots of each variable..., optimizer-wide...]``, model variables in build order."""
        return self.variables_for(self._trainable_variables)

    def variables_for(self, var_list):
        """``variables`` with the per-variable entries in the order of ``var_list`` (all built),
        the layout minicnn's model files use with ``model.trainable_weights``."""
        indices = [self._index[id(v)] for v in var_list]
        out = [self._iterations]
        out += [self._model_variables_moving_average[i] for i in indices if self.use_ema]
        out += [self._accumulated_gradients[i] for i in indices if self.gradient_accumulation_steps]
        for i in indices:
            out.extend(self._slots[i].values())
        return [v for v in out if v is not None] + self._global_variables

    def load_variables(self, arrays):
        """Restore the state ``variables`` held (the optimizer must be built for the same
        variables); nothing changes unless every array fits."""
        owner = type(self).__name__
        targets = self.variables
        arrays = [np.asarray(a) for a in arrays]
        if len(arrays) != len(targets):
            raise ValueError(
                f"{owner}.load_variables: expected {len(targets)} arrays (iterations, then the state "
                f"of {len(self._trainable_variables)} variables), got {len(arrays)}")
        if arrays[0].shape != () or arrays[0].dtype.kind not in "iu":
            raise ValueError(f"{owner}.load_variables: iterations must be an integer scalar, got "
                             f"shape {arrays[0].shape} dtype {arrays[0].dtype}")
        for target, value in zip(targets, arrays):
            if value.shape != target.shape:
                raise ValueError(f"{owner}.load_variables: {target.path!r} has shape {target.shape}, "
                                 f"got {value.shape}")
        for target, value in zip(targets, arrays):
            target.data[...] = value

    def set_weights(self, weights):
        """Keras' name for ``load_variables``."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been "
                             "built. Please call `optimizer.build(trainable_variables)` to create the "
                             "optimizer weights before calling `set_weights()`.")
        self.load_variables(weights)

    # ------------------------------------------------------------------ moving averages
    def _update_moving_averages(self):
        # Keras: the first average is the variable itself, then avg = m * avg + (1 - m) * var.
        momentum = self.ema_momentum if self._update_count else 0.0
        for i, (var, average) in enumerate(zip(self._trainable_variables,
                                               self._model_variables_moving_average)):
            if average is not None:
                avg, tmp = average.data, self._tmp[i]
                avg *= momentum
                np.multiply(data_of(var), 1.0 - momentum, out=tmp)
                avg += tmp
        if self.ema_overwrite_frequency and (self._update_count + 1) % self.ema_overwrite_frequency == 0:
            self._overwrite_with_averages(self._trainable_variables)

    def _overwrite_with_averages(self, var_list):
        for var in var_list:
            i = self._index.get(id(var))
            average = None if i is None else self._model_variables_moving_average[i]
            if average is not None:
                data_of(var)[...] = average.data

    def finalize_variable_values(self, var_list):
        """End of training: with ``use_ema``, the variables of ``var_list`` take their moving
        averages (``fit`` calls this after its last epoch); variables the optimizer never
        updated are left alone."""
        if self.use_ema:
            self._overwrite_with_averages(var_list)
