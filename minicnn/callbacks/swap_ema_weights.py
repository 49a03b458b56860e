"""``SwapEMAWeights``: evaluate and predict with the optimizer's moving averages of the weights."""

import numpy as np

from minicnn.callbacks.callback import Callback

__all__ = ["SwapEMAWeights"]


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's exponential moving averages of them
    (``use_ema=True``) before evaluation and prediction, and back after, in place (Keras 3).

    Args:
        swap_on_epoch: also swap at the end of every epoch and back at the start of the next, so
            that callbacks after this one (``ModelCheckpoint``) see the averages.

    >>> # model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
    >>> # model.fit(x, y, validation_data=(xv, yv), callbacks=[SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        optimizer = self.model.optimizer
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                             f"optimizer. Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return optimizer

    def _pairs(self):
        optimizer = self._optimizer()
        return [(var if isinstance(var, np.ndarray) else var.data, average.data)
                for var, average in zip(optimizer._trainable_variables,
                                        optimizer._model_variables_moving_average)
                if average is not None]

    def _swap(self, to_averages):
        if self._ema_weights_in_model == to_averages:
            return
        for weight, average in self._pairs():
            kept = weight.copy()
            weight[...] = average
            average[...] = kept
        self._ema_weights_in_model = to_averages

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap(False)

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap(True)
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends by giving the weights their averages (finalize_variable_values): the
                # averages, now in the weights, must also be what the optimizer holds.
                for weight, average in self._pairs():
                    average[...] = weight

    def on_test_begin(self, logs=None):
        self._swap(True)

    def on_test_end(self, logs=None):
        self._swap(False)

    def on_predict_begin(self, logs=None):
        self._swap(True)

    def on_predict_end(self, logs=None):
        self._swap(False)
