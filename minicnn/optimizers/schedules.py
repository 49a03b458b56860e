"""Learning-rate schedules: callables ``step -> learning rate`` with Keras 3's names and formulas.

The optimizer evaluates its schedule at ``optimizer.iterations`` (the number of updates already
applied), so the first update uses ``schedule(0)``.
"""

import math

from minicnn.optimizers._checks import hyperparameter
from minicnn.serialization import resolve_class, serialize as _serialize

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay",
           "serialize", "deserialize"]


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _positive(name, value, owner):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(f"{owner}: {name} must be a positive number, got {value!r}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored when ``staircase``).

    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(10)
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = hyperparameter("ExponentialDecay", "initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps, "ExponentialDecay")
        self.decay_rate = hyperparameter("ExponentialDecay", "decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` for ``boundaries[i-1] < step <=
    boundaries[i]``, ``values[-1]`` after the last boundary.

    >>> s = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    >>> s(100), s(101), s(201)
    (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay: values must have exactly one more entry than boundaries, "
                f"got {len(boundaries)} boundaries and {len(values)} values")
        if any(b2 < b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be increasing, got {boundaries}")
        self.boundaries = boundaries
        self.values = [hyperparameter("PiecewiseConstantDecay", f"values[{i}]", v)
                       for i, v in enumerate(values)]
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3 ``CosineDecay``).

    Without ``warmup_target``: ``lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha)``
    with ``t = min(step, decay_steps) / decay_steps``.  With ``warmup_target``: linear from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then the cosine decay of
    ``warmup_target`` over the next ``decay_steps``.

    >>> CosineDecay(1.0, decay_steps=10)(5)
    0.5
    >>> CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)(2)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = hyperparameter("CosineDecay", "initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps, "CosineDecay")
        self.alpha = hyperparameter("CosineDecay", "alpha", alpha)
        self.name = name
        self.warmup_target = hyperparameter("CosineDecay", "warmup_target", warmup_target, optional=True)
        if warmup_steps < 0:
            raise ValueError(f"CosineDecay: warmup_steps must be >= 0, got {warmup_steps}")
        self.warmup_steps = warmup_steps

    def _decay(self, step, start_lr):
        fraction = step / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return ((1.0 - self.alpha) * cosine + self.alpha) * start_lr

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + delta * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_BUILTIN = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    """``{"module", "class_name", "config", "registered_name"}`` of a schedule."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"serialize: expected a LearningRateSchedule, got {type(schedule).__name__}")
    return _serialize(schedule)


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from ``serialize``'s dict."""
    cls = resolve_class(config, _BUILTIN, custom_objects, "learning-rate schedule")
    return cls.from_config(dict(config.get("config", {})))
