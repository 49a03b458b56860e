"""``LambdaCallback``: a callback from plain functions."""

from minicnn.callbacks.callback import _HOOKS, Callback


class LambdaCallback(Callback):
    """Build a callback from functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs:
    print(epoch, logs["loss"]))``.  Any hook name is accepted as a keyword.

    >>> seen = []
    >>> cb = LambdaCallback(on_train_begin=lambda logs: seen.append("begin"))
    >>> cb.on_train_begin({}); seen
    ['begin']
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin, on_train_batch_end=on_train_batch_end)
        for name, fn in kwargs.items():
            if name not in _HOOKS and name not in ("on_batch_begin", "on_batch_end"):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            hooks[name] = fn
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
