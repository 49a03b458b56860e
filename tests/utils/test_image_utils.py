"""keras.utils.load_img / img_to_array / array_to_img / save_img (Pillow, the optional extra)."""

import os
import sys

import numpy as np
import pytest

from minicnn import utils

pytest.importorskip("PIL")  # the test extra installs it; test_missing_pillow simulates absence


def _image(h=6, w=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3)).astype(np.float32)


def test_save_and_load_round_trip_png(tmp_path):
    x = _image()
    path = tmp_path / "a.png"
    utils.save_img(path, x, scale=False)
    assert os.listdir(tmp_path) == ["a.png"]   # written atomically, nothing left behind
    img = utils.load_img(path)
    assert img.size == (8, 6) and img.mode == "RGB"
    np.testing.assert_array_equal(utils.img_to_array(img), x)
    assert utils.img_to_array(img).dtype == np.float32


def test_color_modes_and_target_size(tmp_path):
    path = tmp_path / "b.png"
    utils.save_img(path, _image(), scale=False)
    gray = utils.img_to_array(utils.load_img(path, color_mode="grayscale"))
    assert gray.shape == (6, 8, 1)
    assert utils.img_to_array(utils.load_img(path, color_mode="rgba")).shape == (6, 8, 4)
    assert utils.img_to_array(utils.load_img(path, target_size=(3, 5))).shape == (3, 5, 3)
    first = utils.img_to_array(utils.load_img(path), data_format="channels_first")
    assert first.shape == (3, 6, 8)


def test_keep_aspect_ratio_crops_the_centre(tmp_path):
    # a 4x8 image whose left and right quarters differ from the centre: a square target keeps
    # only the centre 4x4
    x = np.zeros((4, 8, 3), np.float32)
    x[:, 2:6] = 200
    path = tmp_path / "c.png"
    utils.save_img(path, x, scale=False)
    kept = utils.img_to_array(utils.load_img(path, target_size=(4, 4), keep_aspect_ratio=True))
    assert np.all(kept == 200)
    squashed = utils.img_to_array(utils.load_img(path, target_size=(4, 4)))
    assert np.any(squashed == 0)


def test_array_to_img_scales_like_keras():
    img = utils.array_to_img(np.array([[[-1.0], [1.0]]]))
    assert img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), [[0, 255]])
    assert utils.array_to_img(np.full((2, 2, 4), 3.0), scale=False).mode == "RGBA"


@pytest.mark.parametrize("call,err,match", [
    (lambda p: utils.load_img(p, color_mode="cmyk"), ValueError, "color_mode"),
    (lambda p: utils.load_img(p, target_size=(2, 2), interpolation="cubic"), ValueError, "interpolation"),
    (lambda p: utils.load_img(3), TypeError, "path"),
    (lambda p: utils.array_to_img(np.zeros((2, 2))), ValueError, "rank 3"),
    (lambda p: utils.array_to_img(np.zeros((2, 2, 2))), ValueError, "channels"),
    (lambda p: utils.img_to_array(np.zeros((2, 2, 2, 2))), ValueError, "image shape"),
    (lambda p: utils.save_img(str(p) + ".unknownext", np.zeros((2, 2, 3))), ValueError, "file_format"),
])
def test_errors_are_clear(tmp_path, call, err, match):
    path = tmp_path / "d.png"
    utils.save_img(path, _image())
    with pytest.raises(err, match=match):
        call(path)


def test_missing_pillow_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'minicnn\[pillow\]'):
        utils.load_img(tmp_path / "x.png")
    with pytest.raises(ImportError, match=r'minicnn\[pillow\]'):
        utils.save_img(tmp_path / "x.png", np.zeros((2, 2, 3)))
