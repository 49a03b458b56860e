"""``Callback`` (Keras 3's hooks) and ``CallbackList`` (what fit/evaluate/predict call).

Order within ``fit`` (as Keras 3): ``on_train_begin``; per epoch ``on_epoch_begin``, then per batch
``on_train_batch_begin`` / ``on_train_batch_end``; then, with validation data, ``on_test_begin``,
``on_test_batch_begin`` / ``on_test_batch_end`` per batch, ``on_test_end``; then ``on_epoch_end``
with the epoch's logs (``val_`` keys included); finally ``on_train_end``.
"""

__all__ = ["Callback", "CallbackList"]

_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


class Callback:
    """Base class of callbacks: override the hooks you need; ``self.model`` and ``self.params``
    (``{"verbose", "epochs", "steps"}``) are set before training starts.

    >>> class Count(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print("epoch", epoch, "done")
    """

    def __init__(self):
        self.params = {}
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Alias of ``on_train_batch_begin`` kept for backward compatibility (as Keras)."""

    def on_batch_end(self, batch, logs=None):
        """Alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, adding ``History`` and ``ProgbarLogger``
    (after the user's callbacks, as Keras 3) when asked."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        from minicnn.callbacks.history import History
        from minicnn.callbacks.progbar_logger import ProgbarLogger

        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            callbacks = [callbacks]
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be minicnn.callbacks.Callback instances, got {type(cb).__name__}")
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    @property
    def history(self):
        return self._history

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model):
        self._model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def _dispatch(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


def _make_dispatcher(hook, takes_index):
    if takes_index:
        def method(self, index, logs=None):
            self._dispatch(hook, index, {} if logs is None else logs)
    else:
        def method(self, logs=None):
            self._dispatch(hook, {} if logs is None else logs)
    method.__name__ = hook
    return method


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _make_dispatcher(_hook, "batch" in _hook or "epoch" in _hook))
