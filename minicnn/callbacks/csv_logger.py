"""``CSVLogger``: one CSV row per epoch."""

import collections.abc
import csv
import os

import numpy as np

from minicnn.callbacks.callback import Callback


class CSVLogger(Callback):
    """Streams epoch results to ``filename``: a header ``epoch,<sorted keys>`` then one row per
    epoch.  ``append=True`` continues an existing file (no second header).
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self._header_written = False

    def on_train_begin(self, logs=None):
        if self.append:
            self._header_written = os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
            mode = "a"
        else:
            self._header_written = False
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.keys = None
        self.writer = None

    @staticmethod
    def _format(value):
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
            return '"[%s]"' % ", ".join(str(v) for v in value)
        return str(float(value)) if isinstance(value, (float, np.floating)) else str(value)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            fields = ["epoch"] + self.keys
            self.writer = csv.DictWriter(self.csv_file, fieldnames=fields, delimiter=self.sep)
            if not self._header_written:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, self._format(logs[k]) if k in logs else "NA") for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None
