"""Small user-facing utilities: data (``PyDataset``, ``image_dataset_from_directory``,
``split_dataset``, ``unpack_x_y_sample_weight``...), ``pad_sequences``, ``to_categorical``,
``set_random_seed``, ``Progbar``, ``memory_pool`` (the caching allocator ``fit`` uses, for
hand-written training loops), ``profile`` (where a training step's time goes, per layer) and
``measure_peak``."""

from minicnn._kernels.mempool import pooled as memory_pool
from minicnn.utils.data_adapters import pack_x_y_sample_weight, unpack_x_y_sample_weight
from minicnn.utils.dataset import split_dataset
from minicnn.utils.image_dataset import image_dataset_from_directory
from minicnn.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from minicnn.utils.numerical import normalize, pad_sequences, to_categorical
from minicnn.utils.peak import measure_peak
from minicnn.utils.profiler import profile
from minicnn.utils.progbar import Progbar
from minicnn.utils.py_dataset import PyDataset, Sequence
from minicnn.utils.seed import set_random_seed

__all__ = ["Progbar", "PyDataset", "Sequence", "array_to_img", "image_dataset_from_directory",
           "img_to_array", "load_img", "measure_peak", "save_img",
           "memory_pool", "normalize", "pack_x_y_sample_weight", "pad_sequences", "profile",
           "set_random_seed", "split_dataset", "to_categorical", "unpack_x_y_sample_weight"]
