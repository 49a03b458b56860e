"""Finite-difference check of backward: the proof every op ships with."""

import numpy as np

from minicnn.autograd.grad_mode import enable_grad, no_grad
from minicnn.autograd.tensor import Tensor

__all__ = ["gradcheck"]


def _prepare(inputs):
    """float64 leaf copies of the inputs to check; other inputs pass through unchanged."""
    prepared, checked = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.requires_grad:
                t = Tensor(np.array(x.data, dtype=np.float64), requires_grad=True)
                prepared.append(t)
                checked.append(i)
            else:
                prepared.append(x)
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            prepared.append(Tensor(np.array(x, dtype=np.float64), requires_grad=True))
            checked.append(i)
        else:
            prepared.append(x)
    return prepared, checked


def _outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensor(s), got {type(o).__name__}")
    return outs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare backward with float64 central differences; return True or raise AssertionError.

    ``inputs`` is a sequence: float ndarrays and Tensors with ``requires_grad=True`` are checked
    (as float64 copies); everything else (labels, Tensors without requires_grad, options) is
    passed to ``fn`` unchanged.  The outputs are reduced with fixed random weights ``r``, so the
    check covers every output element: backward(r) must match
    ``(L(x + eps e_i) - L(x - eps e_i)) / (2 eps)`` with ``L = sum(fn(x) * r)`` within
    ``atol + rtol * |numeric|``.  The error names the worst element.  A check where both
    sides are zero everywhere fails, because it proves nothing.

    >>> import numpy as np, minicnn
    >>> x = np.random.default_rng(0).normal(size=(3, 4))
    >>> minicnn.gradcheck(lambda t: (t * t).sum(axis=1), [x])
    True
    """
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    prepared, checked = _prepare(inputs)
    if not checked:
        raise ValueError(
            "gradcheck: no input to check: pass float ndarrays or Tensors with requires_grad=True"
        )
    with enable_grad():
        outs = _outputs(fn(*prepared))
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, size=o.shape) * rng.choice([-1.0, 1.0], size=o.shape)
               for o in outs]
    if not any(o.requires_grad for o in outs):
        raise AssertionError("gradcheck: the output does not require grad (no graph was recorded)")
    for o, r in zip(outs, weights):
        if o.requires_grad:
            o.backward(r.astype(o.dtype), retain_graph=True)

    def loss():
        with no_grad():
            res = _outputs(fn(*prepared))
        return sum(float(np.sum(o.data.astype(np.float64) * r)) for o, r in zip(res, weights))

    worst = None  # (excess, input index, flat index, analytic, numeric)
    all_zero = True
    for i in checked:
        t = prepared[i]
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        flat = t.data.reshape(-1)
        numeric = np.empty(flat.size)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = loss()
            flat[j] = orig - eps
            minus = loss()
            flat[j] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        a = analytic.reshape(-1)
        if np.any(a != 0) or np.any(np.abs(numeric) > atol):
            all_zero = False
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        excess = np.where(np.isnan(excess), np.inf, excess)
        if excess.size:
            j = int(np.argmax(excess))
            if worst is None or excess[j] > worst[0]:
                worst = (excess[j], i, j, a[j], numeric[j])
    if all_zero:
        raise AssertionError(
            "gradcheck: analytic and numerical gradients are zero everywhere; the check proves "
            "nothing (choose inputs where the function is not flat)"
        )
    if worst is not None and worst[0] > 0:
        _, i, j, a, n = worst
        idx = np.unravel_index(j, prepared[i].shape)
        raise AssertionError(
            f"gradcheck: input {i} (shape {prepared[i].shape}) element {tuple(int(k) for k in idx)}: "
            f"backward gives {a!r}, central differences give {n!r} "
            f"(|diff| = {abs(a - n):.3g} > atol + rtol*|numeric| = {atol + rtol * abs(n):.3g})"
        )
    return True
