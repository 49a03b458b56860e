"""The switch through which :func:`minicnn.utils.profile` sees layers and autograd nodes.

``state.recorder`` is None unless a profile is running; then ``Layer.__call__`` hands its
``call`` to ``recorder.layer_call(layer, inputs, args, kwargs)`` and the engine reports the time
of every node's backward with ``recorder.node_backward(ctx, seconds)``.  When it is None the hooks
cost one attribute read per layer call and one per ``backward()`` (not per node).  This module
imports nothing, so the autograd engine (below the layers) can read it.
"""


class _State:
    # A plain class attribute: reading it is the hooks' whole cost when no profile runs.
    recorder = None


state = _State()
