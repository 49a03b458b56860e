"""``keras.utils.image_dataset_from_directory``: batches of images read from class sub-folders.

Files are decoded with Pillow (the optional extra ``minicnn[pillow]``) when a batch is asked for
and resized as Keras does it, with ``minicnn.ops.image.resize`` (``tf.image.resize``'s rules:
float32 pixels, half-pixel centres, no antialiasing); the result is a ``minicnn.utils.Dataset``
that ``fit`` takes as it is.
"""

import os

import numpy as np

from minicnn._random import global_rng
from minicnn.autograd import no_grad
from minicnn.ops.image import RESIZE_INTERPOLATIONS, resize
from minicnn.utils.dataset import Dataset

__all__ = ["image_dataset_from_directory"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _pil_image():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('image_dataset_from_directory reads images with Pillow, which is not '
                          'installed: pip install "minicnn[pillow]"') from None
    return Image


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """A dataset of ``(images, labels)`` batches from ``directory/<class name>/<image files>``.

    Keras' arguments and semantics: ``labels`` "inferred" (from the sub-folders, in sorted order or
    the order of ``class_names``), None, or a list of integer labels for the sorted file paths;
    ``label_mode`` "int" (int32, shape (batch,)), "categorical" (float32 one-hot), "binary"
    (float32, shape (batch, 1), two classes) or None (images only); ``color_mode`` "grayscale",
    "rgb" or "rgba"; images float32 in [0, 255] of shape (batch, height, width, channels)
    (channels first with ``data_format="channels_first"``); ``shuffle`` mixes the files once
    and every pass again (``seed``, else a seed drawn from minicnn's global generator);
    ``validation_split`` with ``subset`` "training", "validation" or "both" (a pair of datasets)
    holds out the last fraction of the shuffled files.  The dataset has ``class_names`` and
    ``file_paths``.  Supported files: .bmp, .gif (first frame), .jpeg, .jpg, .png.

    >>> # train_ds, val_ds = image_dataset_from_directory("PetImages", validation_split=0.2,
    >>> #     subset="both", seed=1337, image_size=(180, 180), batch_size=128)
    """
    Image = _pil_image()
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("image_dataset_from_directory: labels must be 'inferred', None or a "
                             f"list/tuple of integer labels, got {labels!r}")
        if class_names:
            raise ValueError("image_dataset_from_directory: class_names can only be passed with "
                             f"labels='inferred', got labels={labels!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError("image_dataset_from_directory: label_mode must be 'int', 'categorical', "
                         f"'binary' or None, got {label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError("image_dataset_from_directory: color_mode must be 'grayscale', 'rgb' or "
                         f"'rgba', got {color_mode!r}")
    image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(image_size) != 2 or not all(isinstance(s, int) and s > 0 for s in image_size):
        raise ValueError("image_dataset_from_directory: image_size must be (height, width), got "
                         f"{image_size!r}")
    interpolation = interpolation.lower()
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"image_dataset_from_directory: interpolation must be one of "
                         f"{RESIZE_INTERPOLATIONS} (minicnn has no 'area', 'gaussian' or "
                         f"'mitchellcubic' resizing), got {interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("image_dataset_from_directory: only one of pad_to_aspect_ratio and "
                         "crop_to_aspect_ratio can be True")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError("image_dataset_from_directory: data_format must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}")
    _check_validation_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(global_rng().integers(1_000_000))

    paths, labels, class_names = _index_directory(directory, labels, class_names, shuffle, seed,
                                                  follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('image_dataset_from_directory: label_mode="binary" needs exactly 2 classes, '
                         f"found {class_names}")
    load = _ImageLoader(Image, image_size, _CHANNELS[color_mode], interpolation, crop_to_aspect_ratio,
                        pad_to_aspect_ratio, data_format == "channels_first")
    subsets = ["training", "validation"] if subset == "both" else [subset]
    datasets = []
    for name in subsets:
        sub_paths, sub_labels = _take_subset(paths, labels, validation_split, name, verbose)
        if not sub_paths:
            raise ValueError(f"No {name + ' ' if name else ''}images found in directory {directory}. "
                             f"Allowed formats: {ALLOWLIST_FORMATS}")
        targets = _encode_labels(sub_labels, label_mode, len(class_names or ()))
        reshuffle = shuffle and not (subset == "both" and name == "validation")  # as Keras
        dataset = _image_batches(load, sub_paths, targets, batch_size, seed if reshuffle else None)
        dataset.class_names, dataset.file_paths = class_names, sub_paths
        datasets.append(dataset)
    return datasets if subset == "both" else datasets[0]


def _check_validation_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'subset must be "training", "validation" or "both", got {subset!r}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def _index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, integer labels or None, class names), shuffled with ``seed`` when asked."""
    if not os.path.isdir(directory):
        raise ValueError(f"image_dataset_from_directory: {directory!r} is not a directory")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: {subdirs} (or a "
                                 f"subset of it), but received: class_names={class_names}")
            subdirs = list(class_names)
        class_names = subdirs
    elif class_names is not None:
        raise ValueError("image_dataset_from_directory: class_names needs labels='inferred'")
    else:
        subdirs = [""]
    paths, found = [], []
    for index, sub in enumerate(subdirs):
        top = os.path.join(directory, sub)
        for root, _, files in sorted(os.walk(top, followlinks=follow_links), key=lambda w: w[0]):
            for name in sorted(files):
                if name.lower().endswith(ALLOWLIST_FORMATS):
                    paths.append(os.path.join(root, name))
                    found.append(index)
    if labels == "inferred":
        labels = np.asarray(found, dtype=np.int32)
    elif labels is not None:
        if len(labels) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the "
                             f"target directory. len(labels) is {len(labels)} while we found "
                             f"{len(paths)} files in directory {directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels, dtype=np.int32)
    if verbose:
        print(f"Found {len(paths)} files" + (f" belonging to {len(class_names)} classes."
                                              if labels is not None else "."))
    if shuffle:
        order = np.random.RandomState(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        labels = labels[order] if labels is not None else None
    return paths, labels, class_names


def _take_subset(paths, labels, validation_split, subset, verbose):
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    n_train = len(paths) - n_val
    part = slice(0, n_train) if subset == "training" else slice(n_train, None)
    if verbose:
        print(f"Using {n_train if subset == 'training' else n_val} files for {subset}.")
    return paths[part], None if labels is None else labels[part]


def _encode_labels(labels, label_mode, num_classes):
    if label_mode is None:
        return None
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    return labels


def _image_batches(load, paths, targets, batch_size, shuffle_seed):
    """A Dataset of batches (of samples when ``batch_size`` is None), reshuffled every pass."""
    passes = [0]

    def elements():
        order = np.arange(len(paths))
        if shuffle_seed is not None:
            order = np.random.default_rng([shuffle_seed, passes[0]]).permutation(len(paths))
        passes[0] += 1
        step = batch_size or 1
        for start in range(0, len(paths), step):
            index = order[start:start + step]
            images = np.stack([load(paths[i]) for i in index])
            batch = images if targets is None else (images, targets[index])
            yield batch if batch_size else _first(batch)

    length = -(-len(paths) // batch_size) if batch_size else len(paths)
    return Dataset(elements, length, batch_size)


def _first(batch):
    return tuple(b[0] for b in batch) if isinstance(batch, tuple) else batch[0]


class _ImageLoader:
    """One file -> a float32 array (height, width, channels) of the target size."""

    def __init__(self, Image, image_size, channels, interpolation, crop, pad, channels_first):
        self.Image, self.size, self.channels = Image, image_size, channels
        self.resize_args = {"interpolation": interpolation, "crop_to_aspect_ratio": crop,
                            "pad_to_aspect_ratio": pad}
        self.channels_first = channels_first

    def __call__(self, path):
        with self.Image.open(path) as img:
            pixels = np.asarray(img.convert(_PIL_MODES[self.channels]), dtype=np.float32)
        pixels = pixels.reshape(pixels.shape[:2] + (self.channels,))
        if pixels.shape[:2] != self.size:
            with no_grad():
                pixels = resize(pixels, self.size, **self.resize_args).numpy()
        return np.transpose(pixels, (2, 0, 1)) if self.channels_first else pixels
