"""Whether operations record a graph: ``no_grad`` / ``enable_grad`` / ``is_grad_enabled``.

The switch is thread-local so a data-loading thread under ``no_grad`` does not turn recording
off for the training thread.
"""

import contextlib
import threading

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled():
    """True when new operations record a graph for backward.

    >>> import minicnn
    >>> minicnn.is_grad_enabled()
    True
    >>> with minicnn.no_grad():
    ...     minicnn.is_grad_enabled()
    False
    """
    return _state.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Set recording on or off inside a ``with`` block or a decorated function."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = []

    def __enter__(self):
        self._prev.append(_state.enabled)
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev.pop()
        return False


class no_grad(set_grad_enabled):
    """Record nothing: results of operations inside have ``requires_grad=False``.

    Works as a context manager and as a decorator.

    >>> import minicnn
    >>> w = minicnn.Tensor([1.0, 2.0], requires_grad=True)
    >>> with minicnn.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    >>> @minicnn.no_grad()
    ... def predict(v):
    ...     return v * 3
    >>> predict(w).requires_grad
    False
    """

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None:  # used as a bare decorator: @no_grad
            self.__init__()
            return self(func)
        return self

    def __init__(self, func=None):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record again inside a ``no_grad`` region (context manager and decorator).

    >>> import minicnn
    >>> w = minicnn.Tensor([1.0], requires_grad=True)
    >>> with minicnn.no_grad():
    ...     with minicnn.enable_grad():
    ...         (w * 2).requires_grad
    True
    """

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None:  # used as a bare decorator: @enable_grad
            self.__init__()
            return self(func)
        return self

    def __init__(self, func=None):
        super().__init__(True)
