"""The ``Optimizer`` base class: clipping, decoupled weight decay, slots, state, config.

Subclasses only say which per-variable slots they need (``_slot_names``) and how one variable is
updated (``update_step``).  Every update runs in place on ``variable.data`` through numpy ``out=``
operations into buffers allocated once in ``build``, so a training step allocates nothing that
grows with the number of steps.
"""

import re

import numpy as np

from minicnn.optimizers import schedules as _schedules
from minicnn.optimizers._checks import hyperparameter

__all__ = ["Optimizer"]


def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Optimizer:
    """Base optimizer.

    Args:
        learning_rate: a float or a ``minicnn.optimizers.schedules.LearningRateSchedule``.
        weight_decay: decoupled weight decay: before each update ``w -= w * weight_decay * lr``.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together so their joint L2 norm is at most this.
        name: the optimizer's name.

    Usage: ``optimizer.apply(grads, variables)`` or ``optimizer.apply_gradients(zip(grads,
    variables))``; a variable is anything with a ``.data`` ndarray (a ``minicnn.Tensor``), updated
    in place.  ``grads`` may be None to use each variable's ``.grad``.
    """

    _slot_names = ()

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        owner = type(self).__name__
        set_clips = [n for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(
                f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm), ("weight_decay", weight_decay)):
            hyperparameter(owner, arg, value, optional=True)
        self.name = name or _snake_case(owner)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.iterations = 0
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._variables = []
        self._index = {}
        self._slots = []
        self._tmp = []
        self._gbuf = []
        self._exclude_ids = set()
        self._exclude_names = ()
        self.built = False

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The learning rate used by the next update (the schedule evaluated at ``iterations``)."""
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(
                f"{type(self).__name__} was created with a LearningRateSchedule as its learning_rate, "
                "hence its learning rate is not settable. Use a float learning rate to change it.")
        if isinstance(value, _schedules.LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a float or a "
                            f"LearningRateSchedule, got {type(value).__name__}")
        self._learning_rate = hyperparameter(type(self).__name__, "learning_rate", value)

    @property
    def schedule(self):
        """The LearningRateSchedule, or None for a constant learning rate."""
        lr = self._learning_rate
        return lr if isinstance(lr, _schedules.LearningRateSchedule) else None

    # ------------------------------------------------------------------ building / state
    def build(self, var_list):
        """Allocate slots (zeros, or ``_initial_slot_value``) and scratch for each variable."""
        for var in var_list:
            if id(var) in self._index:
                continue
            data = _data_of(var)
            self._index[id(var)] = len(self._variables)
            self._variables.append(var)
            self._slots.append({name: np.full_like(data, self._initial_slot_value(name))
                                for name in self._slot_names_for(var)})
            self._tmp.append(np.empty_like(data))
            self._gbuf.append(None)
        self.built = True

    def _slot_names_for(self, var):
        return self._slot_names

    def _initial_slot_value(self, slot_name):
        return 0.0

    @property
    def variables(self):
        """The optimizer state as a list of ndarrays: ``[iterations, slots of var 0..., ...]``."""
        state = [np.asarray(self.iterations, dtype=np.int64)]
        for slots in self._slots:
            state.extend(slots[name] for name in slots)
        return state

    def load_variables(self, arrays):
        """Restore the state written by ``variables`` (the optimizer must be built)."""
        arrays = list(arrays)
        expected = 1 + sum(len(s) for s in self._slots)
        if len(arrays) != expected:
            raise ValueError(f"{type(self).__name__}.load_variables: expected {expected} arrays "
                             f"(iterations + slots of {len(self._slots)} variables), got {len(arrays)}")
        it = np.asarray(arrays[0])
        if it.shape != () or it.dtype.kind not in "iu":
            raise ValueError(f"{type(self).__name__}.load_variables: iterations must be an integer "
                             f"scalar, got shape {it.shape} dtype {it.dtype}")
        targets = [(i, name) for i, slots in enumerate(self._slots) for name in slots]
        for (i, name), value in zip(targets, arrays[1:]):
            slot = self._slots[i][name]
            value = np.asarray(value)
            if value.shape != slot.shape:
                raise ValueError(f"{type(self).__name__}.load_variables: slot {name!r} of variable {i} "
                                 f"has shape {slot.shape}, got {value.shape}")
        self.iterations = int(it)
        for (i, name), value in zip(targets, arrays[1:]):
            self._slots[i][name][...] = value

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these variables, or those whose ``name`` contains a given string."""
        self._exclude_ids |= {id(v) for v in var_list or ()}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, var):
        if id(var) in self._exclude_ids:
            return False
        name = getattr(var, "name", None) or ""
        return not any(s in name for s in self._exclude_names)

    # ------------------------------------------------------------------ the update
    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; returns the new iteration count."""
        pairs = list(grads_and_vars)
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None):
        """One update of every variable whose gradient is not None.

        ``grads`` None means "use each variable's ``.grad``".  Returns ``self.iterations``.
        """
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{type(self).__name__}.apply: pass trainable_variables on the first call")
            trainable_variables = self._variables
        trainable_variables = list(trainable_variables)
        if grads is None:
            grads = [getattr(v, "grad", None) for v in trainable_variables]
        grads = list(grads)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{type(self).__name__}.apply: got {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables")
        self.build(trainable_variables)
        pairs = []
        for g, v in zip(grads, trainable_variables):
            if g is None:
                continue
            data = _data_of(v)
            if not isinstance(g, np.ndarray):
                g = getattr(g, "data", g)
            if not isinstance(g, np.ndarray) or g.shape != data.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient shape "
                                 f"{getattr(g, 'shape', None)} does not match variable shape {data.shape}")
            pairs.append((self._index[id(v)], g, v, data))
        if not pairs:
            return self.iterations
        pairs = self._clip(pairs)
        lr = self.learning_rate
        if self.weight_decay:
            for i, _, var, data in pairs:
                if self._use_weight_decay(var):
                    tmp = self._tmp[i]
                    np.multiply(data, self.weight_decay * lr, out=tmp)
                    data -= tmp
        if not self._update_all(pairs, lr):
            for i, g, _, data in pairs:
                self.update_step(g, data, lr, self._slots[i], self._tmp[i])
        self.iterations += 1
        return self.iterations

    def _update_all(self, pairs, lr):
        """Optional fast path: update every ``(index, gradient, variable, data)`` of ``pairs`` at
        once and return True, with results identical to ``update_step`` on each; False (the
        default) runs ``update_step`` variable by variable."""
        return False

    def _grad_buffer(self, i, g):
        if self._gbuf[i] is None:
            self._gbuf[i] = np.empty_like(g)
        return self._gbuf[i]

    def _clip(self, pairs):
        # The variable's own .grad is never modified: clipped values go to a per-variable buffer.
        if self.clipnorm is not None:
            out = []
            for i, g, v, d in pairs:
                norm = float(np.sqrt(np.vdot(g, g)))
                if norm > self.clipnorm:
                    g = np.multiply(g, self.clipnorm / norm, out=self._grad_buffer(i, g))
                out.append((i, g, v, d))
            return out
        if self.global_clipnorm is not None:
            norm = float(np.sqrt(sum(float(np.vdot(g, g)) for _, g, _, _ in pairs)))
            if norm <= self.global_clipnorm:
                return pairs
            scale = self.global_clipnorm / norm
            return [(i, np.multiply(g, scale, out=self._grad_buffer(i, g)), v, d) for i, g, v, d in pairs]
        if self.clipvalue is not None:
            c = self.clipvalue
            return [(i, np.clip(g, -c, c, out=self._grad_buffer(i, g)), v, d) for i, g, v, d in pairs]
        return pairs

    def update_step(self, gradient, variable, learning_rate, slots, tmp):
        """Update ``variable`` (ndarray, in place) from ``gradient``; ``tmp``: scratch like it."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    # ------------------------------------------------------------------ config
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = _schedules.deserialize(lr, custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"


def _data_of(var):
    # ndarray also has a ``.data`` attribute (its buffer), so test for it first.
    data = var if isinstance(var, np.ndarray) else getattr(var, "data", var)
    if not isinstance(data, np.ndarray):
        raise TypeError(f"optimizer variables must be Tensors or ndarrays, got {type(var).__name__}")
    if data.dtype.kind != "f":
        raise TypeError(f"optimizer variables must be floating point, got dtype {data.dtype}")
    return data
