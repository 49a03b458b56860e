"""Epochs of steps over a data adapter, with Keras 3's ``steps_per_epoch`` semantics.

- Without ``steps_per_epoch`` an epoch is one whole pass: a finite generator ends the epoch when it
  is exhausted (an infinite one needs ``steps_per_epoch``).
- With ``steps_per_epoch`` an epoch takes that many batches and the next epoch goes on where it
  stopped; a new pass starts when the last one is used up (a pass of known length exactly at
  an epoch's end, or a re-iterable dataset that ran out).  Data that runs out inside an epoch
  ends that epoch early with a warning, as in Keras.

Every batch goes through ``prepare`` on its way out: the one place where a batch of the data set
becomes the batch a step runs on.
"""

import contextlib
import itertools
import warnings

import numpy as np

__all__ = ["EpochIterator"]


class EpochIterator:
    """``with it.epoch() as steps:`` gives ``(step, data)`` pairs for one epoch, or None when the
    data has nothing more to give (a one-shot stream used up)."""

    def __init__(self, adapter, steps_per_epoch=None, prepare=None):
        if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool) or steps_per_epoch <= 0
                                            or not isinstance(steps_per_epoch, (int, np.integer))):
            raise ValueError(f"steps must be a positive int or None, got {steps_per_epoch!r}")
        self.adapter = adapter
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.prepare = prepare
        self._pass = None  # the current pass's iterator, kept between epochs with steps_per_epoch
        self._taken = 0  # batches taken from the current pass

    @property
    def num_batches(self):
        """Steps in an epoch, when known beforehand (the progress bar's target)."""
        return self.steps_per_epoch or self.adapter.num_batches

    @contextlib.contextmanager
    def epoch(self):
        self.adapter.on_epoch_begin()
        steps = self._steps()
        try:
            first = next(steps, None)
            yield None if first is None else itertools.chain((first,), steps)
        finally:
            steps.close()
            if self.steps_per_epoch is None:
                self._end_pass()
            self.adapter.on_epoch_end()

    def close(self):
        """Release the pass kept between epochs (a PyDataset's worker pool)."""
        self._end_pass()
        self.adapter.close()

    def _new_pass(self):
        self._end_pass()
        self._pass = iter(self.adapter.get_iterator())
        return self._pass

    def _end_pass(self):
        if self._pass is not None:
            close = getattr(self._pass, "close", None)
            if close is not None:
                close()
        self._pass, self._taken = None, 0

    def _steps(self):
        prepare = self.prepare or (lambda data: data)
        if self.steps_per_epoch is None:
            for step, batch in enumerate(self._new_pass()):
                yield step, prepare(batch)
            return
        for step in range(self.steps_per_epoch):
            batch = self._next_batch(first_of_epoch=step == 0)
            if batch is None:
                if step:
                    warnings.warn(
                        "Your input ran out of data; interrupting the epoch after "
                        f"{step} of steps_per_epoch={self.steps_per_epoch} steps. Make sure that your "
                        "dataset or generator can generate at least `steps_per_epoch * epochs` "
                        "batches.", stacklevel=4)
                return
            yield step, prepare(batch)
        if self.adapter.num_batches is not None and self._taken >= self.adapter.num_batches:
            self._end_pass()

    def _next_batch(self, first_of_epoch):
        if self._pass is None:
            self._new_pass()
        for attempt in range(2):
            try:
                batch = next(self._pass)
            except StopIteration:
                # A re-iterable dataset that ran out just at an epoch's end starts over.
                retry = (attempt == 0 and first_of_epoch and self._taken > 0
                         and not getattr(self.adapter, "one_shot", False))
                self._end_pass()
                if not retry:
                    return None
                self._new_pass()
                continue
            self._taken += 1
            return batch
        return None
