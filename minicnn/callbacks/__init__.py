"""Training callbacks with Keras 3's names, arguments and call order."""

from minicnn.callbacks.backup_and_restore import BackupAndRestore
from minicnn.callbacks.callback import Callback, CallbackList
from minicnn.callbacks.csv_logger import CSVLogger
from minicnn.callbacks.history import History
from minicnn.callbacks.lambda_callback import LambdaCallback
from minicnn.callbacks.model_checkpoint import ModelCheckpoint
from minicnn.callbacks.monitoring import EarlyStopping, ReduceLROnPlateau, TerminateOnNaN
from minicnn.callbacks.progbar_logger import ProgbarLogger
from minicnn.callbacks.remote_monitor import RemoteMonitor
from minicnn.callbacks.schedulers import LearningRateScheduler
from minicnn.callbacks.swap_ema_weights import SwapEMAWeights
from minicnn.callbacks.tensorboard import TensorBoard

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
           "BackupAndRestore", "TensorBoard", "RemoteMonitor", "SwapEMAWeights"]
