"""Debug mode for numerics: the first NaN or inf names the layer and the pass that made it.

Off by default (it costs one ``isfinite`` sweep per layer output and per gradient).  When on:

* forward: every layer call checks its outputs; a non-finite value in an output whose inputs
  were all finite raises ``FloatingPointError`` naming that layer.  Because inner layers return
  before their parents, the first layer reported is the innermost one that made the value.
* backward: every op's input gradients are checked as the engine computes them; the error names
  the op and the layer whose forward recorded it (ops are tagged with the innermost layer that
  ran them), or says the op ran outside any layer (e.g. the loss).

>>> import numpy as np, minicnn
>>> from minicnn import layers, debugging
>>> d = layers.Dense(2, kernel_initializer="ones")
>>> with debugging.check_numerics():
...     d(np.array([[np.float32(3e38), 3e38]], dtype=np.float32))
Traceback (most recent call last):
...
FloatingPointError: check_numerics: layer "dense..." (Dense) produced inf in its output in the forward pass...
"""

import contextlib

import numpy as np

from minicnn._graph_labels import label_nodes, leaves

__all__ = ["enable_check_numerics", "disable_check_numerics", "check_numerics",
           "is_check_numerics_enabled"]


class _State:
    # A plain attribute read is the whole cost of the hooks when the mode is off.
    enabled = False


_state = _State()


def enable_check_numerics():
    """Turn the NaN/inf checks on for the whole process (all threads).

    >>> import minicnn
    >>> minicnn.debugging.enable_check_numerics()
    >>> minicnn.debugging.is_check_numerics_enabled()
    True
    >>> minicnn.debugging.disable_check_numerics()
    """
    _state.enabled = True


def disable_check_numerics():
    """Turn the checks off again."""
    _state.enabled = False


def is_check_numerics_enabled():
    """Whether the NaN/inf checks are on."""
    return _state.enabled


@contextlib.contextmanager
def check_numerics():
    """Context manager: checks on inside the block, previous setting restored after it.

    >>> import minicnn
    >>> with minicnn.debugging.check_numerics():
    ...     minicnn.debugging.is_check_numerics_enabled()
    True
    """
    previous = _state.enabled
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = previous


# ------------------------------------------------------------------ hooks (called by the stack)
def _arrays(structure):
    """Numpy arrays (Tensor data) in a nested structure of Tensors/arrays."""
    for x in leaves(structure):
        data = getattr(x, "data", x)
        if isinstance(data, np.ndarray) and data.dtype.kind in "fc":
            yield data


def _what(a):
    nan = bool(np.isnan(a).any())
    inf = bool(np.isinf(a).any())
    return "NaN and inf" if nan and inf else ("NaN" if nan else "inf")


def _all_finite(arrays):
    return all(np.isfinite(a).all() for a in arrays)


def after_forward(layer, inputs, outputs):
    """Layer.__call__ hook: raise if ``layer`` turned finite inputs into NaN/inf."""
    # Backward can then say which layer an op belongs to.
    label_nodes(inputs, outputs, "_debug_layer", f'"{layer.name}" ({type(layer).__name__})')
    outs = list(_arrays(outputs))
    if _all_finite(outs):
        return
    bad = next(a for a in outs if not np.isfinite(a).all())
    ins = list(_arrays(inputs))
    where = f'layer "{layer.name}" ({type(layer).__name__})'
    if _all_finite(ins) and _all_finite(_weights(layer)):
        raise FloatingPointError(
            f"check_numerics: {where} produced {_what(bad)} in its output in the forward pass "
            f"(output shape {bad.shape}; its inputs and weights were finite)")
    if not _all_finite(ins):
        raise FloatingPointError(
            f"check_numerics: the input of {where} already contains {_what(next(a for a in ins if not np.isfinite(a).all()))} "
            "in the forward pass: it came from the data or from ops outside any layer")
    raise FloatingPointError(
        f"check_numerics: the weights of {where} contain NaN/inf (forward pass): "
        "a previous update diverged")


def _weights(layer):
    for w in getattr(layer, "weights", ()) or ():
        data = w if isinstance(w, np.ndarray) else getattr(w, "data", None)  # Tensor -> array
        if isinstance(data, np.ndarray) and data.dtype.kind in "fc":
            yield data


def check_root_grad(grad):
    """engine.backward hook: the gradient handed to backward() itself."""
    if grad.dtype.kind in "fc" and not np.isfinite(grad).all():
        raise FloatingPointError(
            f"check_numerics: the gradient passed to backward() contains {_what(grad)}")


def after_backward(ctx, in_grads):
    """engine.backward hook: raise at the first op whose backward made a NaN/inf gradient."""
    for i, g in enumerate(in_grads):
        if g is None or not isinstance(g, (np.ndarray, np.generic)) or g.dtype.kind not in "fc":
            continue
        if not np.isfinite(g).all():
            layer = getattr(ctx, "_debug_layer", None)
            where = f"layer {layer}" if layer else "an op outside any layer (e.g. the loss)"
            raise FloatingPointError(
                f"check_numerics: {ctx.fn.__name__}.backward in {where} produced {_what(np.asarray(g))} "
                f"in the gradient of its input {i} in the backward pass "
                f"(shape {np.shape(g)}; the gradient flowing into it was finite)")
