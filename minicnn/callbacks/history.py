"""``History``: the per-epoch logs of ``fit``, returned by it and kept as ``model.history``."""

from minicnn.callbacks.callback import Callback


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is the list of epoch losses and
    ``history.epoch`` the epoch indices.

    >>> h = History(); h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.5})
    >>> h.history, h.epoch
    ({'loss': [1.5]}, [0])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
