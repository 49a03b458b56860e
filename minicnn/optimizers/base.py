"""The ``Optimizer`` base class (Keras 3's ``BaseOptimizer``).

``apply(grads, variables)`` runs Keras' pipeline: gradients that are None are skipped (with
Keras' warning; all None is an error) and ``overwrite_with_gradient`` variables take theirs as
value; the others are divided by ``loss_scale_factor``; with ``gradient_accumulation_steps`` n,
n - 1 calls only accumulate and the n-th updates with the mean gradient; clipping, decoupled
weight decay (``w -= w * weight_decay * lr``), the subclass's update; with ``use_ema`` the
moving averages follow; each variable's ``constraint`` (a layer's ``kernel_constraint``...)
projects it; ``iterations`` counts the update.

Subclasses say which per-variable slots they need (``_slot_names``) and how one variable is
updated (``update_step``).  Updates run in place on the variables' arrays through numpy ``out=``
operations into buffers allocated once, so a step allocates nothing that grows with the steps.
A subclass written for Keras 3 (its own ``build``, ``update_step(gradient, variable,
learning_rate)``) runs too: ``_keras_subclass.py``.
"""

import numbers
import re
import warnings

import numpy as np

from minicnn import serialization
from minicnn.autograd import Tensor, no_grad
from minicnn.layers._context import to_snake_case, unique_name
from minicnn.optimizers import schedules as _schedules
from minicnn.optimizers._checks import hyperparameter
from minicnn.optimizers._gradients import GradientProcessing
from minicnn.optimizers._keras_subclass import KerasSubclassing
from minicnn.optimizers._variables import OptimizerVariables, data_of

__all__ = ["Optimizer"]


class Optimizer(OptimizerVariables, GradientProcessing, KerasSubclassing):
    """Base optimizer, with Keras 3's arguments (every subclass takes them as keywords).

    Args:
        learning_rate: a float, a ``minicnn.optimizers.schedules.LearningRateSchedule`` (called
            with the number of calls so far), or a callable without arguments.
        weight_decay: decoupled weight decay: before each update ``w -= w * weight_decay * lr``.
        clipnorm / clipvalue / global_clipnorm: clip each gradient to this L2 norm / each element
            to ``[-clipvalue, clipvalue]`` / all gradients together to this joint norm.
        use_ema: keep an exponential moving average of the variables: ``average = ema_momentum *
            average + (1 - ema_momentum) * variable`` after each update (the first average is the
            variable); every ``ema_overwrite_frequency`` updates (if set) the variables take their
            averages, and ``finalize_variable_values`` (called at the end of ``fit``) does it too.
        loss_scale_factor: ``scale_loss`` multiplies the loss by it; gradients are divided by it.
        gradient_accumulation_steps: update every that many calls, with the mean gradient;
            ``iterations`` counts updates, a learning-rate schedule sees the calls.
        name: the optimizer's name (default: the class name in snake case, made unique).

    Usage: ``optimizer.apply(grads, variables)`` or ``optimizer.apply_gradients(zip(grads,
    variables))``; a variable is a ``minicnn.Variable`` (or any Tensor, or an ndarray), updated in
    place.  ``grads`` None means each variable's ``.grad``.
    """

    _slot_names = ()

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {kwargs}")
        set_clips = [n for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(
                f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm), ("weight_decay", weight_decay),
                           ("loss_scale_factor", loss_scale_factor)):
            hyperparameter(owner, arg, value, optional=True)
        if loss_scale_factor == 0:
            raise ValueError(f"{owner}: loss_scale_factor must be positive or None, got 0")
        if gradient_accumulation_steps and not _int_at_least(gradient_accumulation_steps, 2):
            raise ValueError(f"{owner}: gradient_accumulation_steps must be an integer >= 2 or None. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if use_ema:
            hyperparameter(owner, "ema_momentum", ema_momentum, 0, 1)
            if ema_overwrite_frequency and not _int_at_least(ema_overwrite_frequency, 1):
                raise ValueError(f"{owner}: ema_overwrite_frequency must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}")
        self.name = name or unique_name(to_snake_case(owner))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps or None
        self.exclude_from_weight_decay()
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._init_variables()

    # ------------------------------------------------------------------ learning rate, counters
    @property
    def learning_rate(self):
        """The learning rate of the next call (a schedule is evaluated at the calls so far)."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return float(lr(int(self._iterations.data)))
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if callable(value):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(
                f"{type(self).__name__} was created with a LearningRateSchedule as its learning_rate, "
                "hence its learning rate is not settable. Use a float learning rate to change it.")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a float, a "
                            f"LearningRateSchedule or a callable, got {type(value).__name__}")
        self._learning_rate = hyperparameter(type(self).__name__, "learning_rate", value)

    @property
    def schedule(self):
        """The LearningRateSchedule, or None for a constant learning rate."""
        lr = self._learning_rate
        return lr if isinstance(lr, _schedules.LearningRateSchedule) else None

    @property
    def iterations(self):
        """The number of updates so far: the ``iteration`` Variable, or with
        ``gradient_accumulation_steps`` the calls divided by it (a Tensor)."""
        if self.gradient_accumulation_steps:
            return Tensor(np.asarray(self._update_count, dtype=np.int64))
        return self._iterations

    @property
    def _update_count(self):
        calls = int(self._iterations.data)
        return calls // self.gradient_accumulation_steps if self.gradient_accumulation_steps else calls

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """No weight decay for the variables of ``var_list``, nor for those whose ``name``
        contains a match of one of the ``var_names`` patterns (this replaces an earlier call's)."""
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, var):
        if id(var) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return pattern is None or pattern.search(getattr(var, "name", None) or "") is None

    def _decay_weights(self, pairs, lr):
        for i, _, var, data in pairs:
            if self._use_weight_decay(var):
                tmp = self._tmp[i]
                np.multiply(data, self.weight_decay * lr, out=tmp)
                data -= tmp

    # ------------------------------------------------------------------ the update
    def scale_loss(self, loss):
        """The loss times ``loss_scale_factor`` (the loss itself when it is None)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """One call of the pipeline in the module docstring for every variable whose gradient
        is not None (``grads`` None: each variable's ``.grad``)."""
        owner = type(self).__name__
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{owner}.apply: pass trainable_variables on the first call, or "
                                 "call optimizer.build(trainable_variables) first")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        grads = [getattr(v, "grad", None) for v in trainable_variables] if grads is None else list(grads)
        if not grads and not trainable_variables:
            return
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{owner}.apply: got {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables")
        self._build_for(trainable_variables)
        pairs = self._checked_pairs(grads, trainable_variables)
        pairs = self._overwrite_with_gradients(pairs)
        if pairs:
            self._update(self._unscaled(pairs))
            self._apply_constraints(pairs)
        self._iterations.data += 1

    def _checked_pairs(self, grads, variables):
        pairs, missing = [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "path", None) or f"variable {self._index[id(v)]}")
                continue
            data = data_of(v)
            g = np.asarray(g.data if isinstance(g, Tensor) else g)
            if g.shape != data.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient shape {g.shape} does not "
                                 f"match variable shape {data.shape}")
            pairs.append((self._index[id(v)], g, v, data))
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. "
                          "If using `model.compile()`, did you forget to provide a `loss` argument?",
                          stacklevel=3)
        return pairs

    def _update(self, pairs):
        lr = self.learning_rate
        if self.gradient_accumulation_steps:
            pairs = self._accumulated(pairs)
        if pairs:
            pairs = self._clip(pairs)
            if self.weight_decay:
                self._decay_weights(pairs, lr)
            self._begin_update()
            if self._keras_style:
                self._keras_update_steps(pairs, lr)
            elif not self._update_all(pairs, lr):
                for i, g, _, data in pairs:
                    self.update_step(g, data, lr, self._slots[i], self._tmp[i])
        if self.use_ema:
            self._update_moving_averages()

    def _apply_constraints(self, pairs):
        for _, _, var, data in pairs:
            constraint = getattr(var, "constraint", None)
            if constraint is None:
                continue
            with no_grad():
                value = constraint(var)
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != data.shape:
                raise ValueError(f"the constraint {constraint!r} of {getattr(var, 'path', 'a variable')!r} "
                                 f"returned shape {value.shape}, the variable has shape {data.shape}")
            data[...] = value

    def _begin_update(self):
        """Called once per update, before the variables are updated (Nadam's running product)."""

    def _update_all(self, pairs, lr):
        """Optional fast path: update every ``(index, gradient, variable, data)`` of ``pairs`` at
        once and return True, with results identical to ``update_step`` on each; False (the
        default) runs ``update_step`` variable by variable."""
        return False

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        """Update ``variable`` (ndarray, in place) from ``gradient``; ``slots``: {name: Variable};
        ``tmp``: scratch like the variable."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    # ------------------------------------------------------------------ config
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif callable(lr):
            lr = serialization.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = (
                serialization.deserialize(lr, custom_objects) if lr.get("class_name") == "function"
                else _schedules.deserialize(lr, custom_objects))
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"


def _int_at_least(value, low):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
