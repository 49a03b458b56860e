"""``ProgbarLogger``: draws ``minicnn.utils.Progbar`` during fit/evaluate/predict."""

from minicnn.callbacks.callback import Callback
from minicnn.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and a progress bar per epoch (``verbose`` 1: live bar, 2: one line).

    Added automatically by fit/evaluate/predict when ``verbose`` is not 0.  ``stream`` (a minicnn
    extension) redirects the output; default ``sys.stdout``.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _print(self, text):
        import sys

        stream = self.stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            self._print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def _reset(self):
        self.seen = 0
        # Made now, when the epoch (or evaluate/predict) starts, so that its clock includes the
        # first step: made at the first step's end, a 5.5 s step showed as "0s 18us/step".
        self.progbar = None
        if self.verbose:
            self._ensure_progbar()

    def _ensure_progbar(self):
        if self.progbar is None:
            # The logs already hold running means, so every value is shown as given.
            self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step",
                                   stream=self.stream, stateful_metrics=_AllKeys())

    def _update(self, batch, logs):
        self._ensure_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if not self.verbose:
            return
        self._ensure_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


class _AllKeys(frozenset):
    def __contains__(self, key):
        return True
