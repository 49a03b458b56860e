"""``load_model`` for a group: rank 0 reads the file, every rank gets the model."""

import os
import tempfile

from minicnn.distribute._runtime import active_group
from minicnn.distribute.optimizer import DistributedOptimizer
from minicnn.distribute.rank_zero import on_root
from minicnn.saving import load_model as _load_model

__all__ = ["load_model"]


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """``minicnn.models.load_model`` with the file read on rank 0 only (the others need not see
    it: its bytes are broadcast), and the optimizer wrapped in ``DistributedOptimizer`` (Horovod's
    ``hvd.load_model``).  Weights, optimizer slots and the iteration count are rank 0's on every
    rank."""
    if active_group() is None:
        model = _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    else:
        def read():
            with open(filepath, "rb") as f:
                return f.read()

        payload = on_root(read, f"load_model({os.fspath(filepath)!r})")
        suffix = os.path.splitext(os.fspath(filepath))[1]
        handle, local = tempfile.mkstemp(suffix=suffix, prefix="minicnn-load-")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(payload)
            model = _load_model(local, custom_objects=custom_objects, compile=compile,
                                safe_mode=safe_mode)
        finally:
            os.unlink(local)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        model.optimizer = DistributedOptimizer(optimizer)
    return model
