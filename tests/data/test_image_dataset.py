"""keras.utils.image_dataset_from_directory on a small folder of PNGs written with Pillow."""

import sys

import numpy as np
import pytest
from PIL import Image  # the "pillow" extra, part of the test extra

import minicnn
from minicnn.utils import image_dataset_from_directory

COLOURS = {"cats": (200, 30, 10), "dogs": (20, 40, 220)}


@pytest.fixture
def folder(tmp_path):
    """cats/ and dogs/, 5 solid-colour PNGs each (sizes vary, one in a sub-folder, one grey-scale),
    plus files and folders that must be ignored."""
    for name, colour in COLOURS.items():
        (tmp_path / name / "more").mkdir(parents=True)
        for i in range(5):
            size = (6 + 3 * i, 5 + 2 * i)
            where = tmp_path / name / ("more" if i == 4 else "") / f"{name}_{i}.png"
            Image.new("RGB", size, colour).save(where)
        (tmp_path / name / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / ".hidden" / "x.png")
    return tmp_path


def load(folder, **kwargs):
    kwargs = {"image_size": (8, 8), "batch_size": 4, "verbose": False, **kwargs}
    return image_dataset_from_directory(str(folder), **kwargs)


def test_labels_are_inferred_from_the_folders_and_the_pixels_survive_resizing(folder):
    ds = load(folder, shuffle=False)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3 and len(ds.file_paths) == 10
    images, labels = (np.concatenate(parts) for parts in zip(*ds))
    assert images.shape == (10, 8, 8, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.tolist() == [0] * 5 + [1] * 5
    for image, label in zip(images, labels):  # a solid image stays solid whatever its size was
        np.testing.assert_allclose(image, np.broadcast_to(COLOURS[ds.class_names[label]], (8, 8, 3)),
                                   atol=1e-3)
    assert sum("more" in p for p in ds.file_paths) == 2


def test_label_modes_colour_modes_and_channels_first(folder):
    images, labels = next(iter(load(folder, label_mode="categorical", shuffle=False)))
    assert labels.dtype == np.float32 and labels.tolist()[0] == [1.0, 0.0]
    images, labels = next(iter(load(folder, label_mode="binary", color_mode="grayscale",
                                    shuffle=False)))
    assert labels.shape == (4, 1) and images.shape == (4, 8, 8, 1)
    grey = np.dot(COLOURS["cats"], [0.299, 0.587, 0.114])  # Pillow's "L" conversion (ITU-R 601-2)
    assert abs(images[0, 0, 0, 0] - grey) < 1.0
    images = next(iter(load(folder, label_mode=None, color_mode="rgba", data_format="channels_first")))
    assert isinstance(images, np.ndarray) and images.shape == (4, 4, 8, 8)
    np.testing.assert_array_equal(images[:, 3], 255.0)
    explicit = load(folder, labels=list(range(11)), shuffle=False)  # every file under the folder
    assert next(iter(explicit))[1].tolist() == [0, 1, 2, 3] and explicit.class_names[-1] == "10"
    assert explicit.file_paths[0].endswith("x.png")  # sorted paths: .hidden/ first
    sample, label = next(iter(load(folder, batch_size=None, shuffle=False)))
    assert sample.shape == (8, 8, 3) and int(label) == 0


def test_validation_split_both_shuffle_and_reshuffling_every_pass(folder):
    train, val = load(folder, validation_split=0.3, subset="both", seed=4)
    assert len(train.file_paths) == 7 and len(val.file_paths) == 3
    assert set(train.file_paths).isdisjoint(val.file_paths)
    assert train.file_paths == load(folder, validation_split=0.3, subset="training", seed=4).file_paths
    orders = [_paths_in_order(train) for _ in range(3)]
    assert len({tuple(o) for o in orders}) > 1 and len({tuple(sorted(o)) for o in orders}) == 1
    assert len({tuple(_paths_in_order(val)) for _ in range(3)}) == 1  # validation keeps its order
    again, _ = load(folder, validation_split=0.3, subset="both", seed=4)
    assert [_paths_in_order(again) for _ in range(3)] == orders  # the same orders from the same seed


def _paths_in_order(ds):
    # Each image is one solid colour: its red value names its class, enough to see the order.
    return [float(img[0, 0, 0]) for images, _ in ds for img in images]


def test_crop_and_pad_to_aspect_ratio(tmp_path):
    (tmp_path / "a").mkdir()
    wide = np.zeros((8, 16, 3), np.uint8)
    wide[:, 4:12] = 255  # the centred 8x8 window is white
    Image.fromarray(wide).save(tmp_path / "a" / "wide.png")
    cropped, _ = next(iter(load(tmp_path, crop_to_aspect_ratio=True)))
    np.testing.assert_allclose(cropped, 255.0, atol=1e-3)
    squeezed, _ = next(iter(load(tmp_path)))
    assert squeezed[0, 0, 0, 0] < 100  # resized whole: the black edges are still there
    Image.new("RGB", (16, 8), (255, 255, 255)).save(tmp_path / "a" / "wide.png")
    padded, _ = next(iter(load(tmp_path, pad_to_aspect_ratio=True, interpolation="nearest")))
    assert padded[0, 0].max() == 0 and padded[0, 4].min() == 255  # zero rows above, image below


def test_fit_trains_on_the_dataset_and_map_take_work(folder):
    minicnn.utils.set_random_seed(0)
    ds = load(folder, seed=1).map(lambda images, labels: (images / 255.0, labels)).prefetch(2)
    model = minicnn.Sequential([minicnn.Input((8, 8, 3)), minicnn.layers.Conv2D(4, 3, activation="relu"),
                                minicnn.layers.GlobalAveragePooling2D(), minicnn.layers.Dense(2)])
    model.compile(optimizer=minicnn.optimizers.Adam(0.05),
                  loss=minicnn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(ds, epochs=8, verbose=0)
    assert model.optimizer.iterations == 8 * 3 and ds.class_names == ["cats", "dogs"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
    assert len(list(ds.take(2))) == 2 and len(ds.take(2)) == 2


def test_clear_errors(folder, monkeypatch):
    with pytest.raises(ValueError, match="interpolation"):
        load(folder, interpolation="gaussian")
    with pytest.raises(ValueError, match="class_names"):
        load(folder, class_names=["cats", "horses"])
    with pytest.raises(ValueError, match="exactly 2 classes"):
        (folder / "birds").mkdir()
        Image.new("RGB", (4, 4)).save(folder / "birds" / "b.png")
        load(folder, label_mode="binary")
    with pytest.raises(ValueError, match="seed"):
        load(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="match the number of files"):
        load(folder, labels=[0, 1])
    with pytest.raises(ValueError, match="not a directory"):
        load(folder / "nope")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "minicnn\[pillow\]"'):
        load(folder)
