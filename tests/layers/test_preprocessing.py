"""Augmentation layers: RandomFlip, RandomTranslation, RandomCrop (Keras 3 semantics).

The oracle for every resampling is plain NumPy: ``np.pad`` with the matching mode and slicing
for whole-pixel shifts and crops, a blend of two whole-pixel shifts for fractional ones, and a
loop-based half-pixel bilinear resize.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn._random import set_global_seed
from minicnn.autograd import Tensor, gradcheck
from minicnn.layers.preprocessing import RandomCrop, RandomFlip, RandomTranslation, sample_separable

NP_PAD_MODE = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def images(n=6, h=7, w=5, c=2, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(dtype)


def arr(t):
    return t.numpy() if isinstance(t, Tensor) else np.asarray(t)


def shift_oracle(x, dy, dx, fill_mode, fill_value=0.0):
    """Whole-pixel shift of NHWC ``x``: output (i, j) = input (i - dy, j - dx), padded by mode."""
    n, h, w, c = x.shape
    ph, pw = h + abs(dy), w + abs(dx)
    kw = {"constant_values": fill_value} if fill_mode == "constant" else {}
    p = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), mode=NP_PAD_MODE[fill_mode], **kw)
    return p[:, ph - dy: ph - dy + h, pw - dx: pw - dx + w]


def bilinear_resize_oracle(img, out_h, out_w):
    """Half-pixel-centred bilinear resize of one HWC image, edge-clamped (loops on purpose)."""
    h, w, c = img.shape
    out = np.zeros((out_h, out_w, c))
    for i in range(out_h):
        y = min(max((i + 0.5) * h / out_h - 0.5, 0), h - 1)
        y0 = int(np.floor(y))
        y1, fy = min(y0 + 1, h - 1), y - y0
        for j in range(out_w):
            x = min(max((j + 0.5) * w / out_w - 0.5, 0), w - 1)
            x0 = int(np.floor(x))
            x1, fx = min(x0 + 1, w - 1), x - x0
            out[i, j] = ((1 - fy) * (1 - fx) * img[y0, x0] + (1 - fy) * fx * img[y0, x1]
                         + fy * (1 - fx) * img[y1, x0] + fy * fx * img[y1, x1])
    return out


# ------------------------------------------------------------------------------ inference

@pytest.mark.parametrize("layer", [
    RandomFlip(seed=1), RandomTranslation(0.3, 0.3, seed=1), RandomFlip("vertical"),
])
def test_inactive_in_inference_active_on_its_own(layer):
    x = Tensor(images())
    np.testing.assert_array_equal(arr(layer(x, training=False)), x.numpy())
    model = minicnn.Sequential([minicnn.Input(x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x.numpy(), verbose=0), x.numpy())
    # Keras: a call that sets no training (nor an enclosing one) uses call()'s default, True.
    assert any(not np.array_equal(arr(layer(x, **kw)), x.numpy()) for kw in ({}, {"training": None})
               for _ in range(5))


def test_random_crop_inference_same_size_is_identity():
    x = images(h=8, w=8)
    np.testing.assert_allclose(arr(RandomCrop(8, 8)(x, training=False)), x, rtol=0, atol=0)


@pytest.mark.parametrize("in_hw, out_hw", [((6, 4), (3, 3)), ((4, 6), (2, 5)), ((5, 5), (7, 3)), ((8, 8), (4, 4))])
def test_random_crop_inference_is_keras_smart_resize(in_hw, out_hw):
    x = images(n=2, h=in_hw[0], w=in_hw[1], c=1, dtype=np.float64)
    h, w = in_hw
    th, tw = out_hw
    # Largest central window with the target aspect ratio, then bilinear.
    ch, cw = min(h, round(w * th / tw)), min(w, round(h * tw / th))
    top, left = (h - ch) // 2, (w - cw) // 2
    want = np.stack([bilinear_resize_oracle(im[top:top + ch, left:left + cw], th, tw) for im in x])
    got = arr(RandomCrop(th, tw)(x, training=False))
    assert got.shape == (2, th, tw, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 layers


# ------------------------------------------------------------------------------ RandomFlip

@pytest.mark.parametrize("mode, allowed", [
    ("horizontal", [(False, False), (False, True)]),
    ("vertical", [(False, False), (True, False)]),
    ("horizontal_and_vertical", [(False, False), (False, True), (True, False), (True, True)]),
])
def test_random_flip_modes(mode, allowed):
    x = images(n=64, h=4, w=5, c=1, seed=3)
    out = arr(RandomFlip(mode, seed=7)(x, training=True))
    seen = set()
    for o, im in zip(out, x):
        for fv, fh in allowed:
            want = im[::-1] if fv else im
            want = want[:, ::-1] if fh else want
            if np.array_equal(o, want):
                seen.add((fv, fh))
                break
        else:
            pytest.fail(f"{mode}: an output is not one of the allowed flips")
    assert seen == set(allowed)  # 64 images: every combination occurs


def test_seeded_layers_repeat_and_differ():
    x = images(n=32)
    a = arr(RandomFlip(seed=5)(x, training=True))
    b = arr(RandomFlip(seed=5)(x, training=True))
    c = arr(RandomFlip(seed=6)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    t = RandomTranslation(0.2, 0.2, seed=5)
    first, second = arr(t(x, training=True)), arr(t(x, training=True))
    assert not np.array_equal(first, second)  # the stream advances between calls
    np.testing.assert_array_equal(first, arr(RandomTranslation(0.2, 0.2, seed=5)(x, training=True)))


def test_unseeded_layers_follow_the_global_seed():
    x = images(n=16)
    outs = []
    for _ in range(2):
        set_global_seed(123)
        outs.append(arr(RandomTranslation(0.3, 0.3)(x, training=True)))
    np.testing.assert_array_equal(*outs)


# ------------------------------------------------------------------------------ RandomTranslation

@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(2, 7), w=st.integers(2, 7),
    fy=st.floats(-1, 1), fx=st.floats(-1, 1),
    fill_mode=st.sampled_from(["reflect", "wrap", "nearest", "constant"]),
    fill_value=st.sampled_from([0.0, -1.5]),
)
def test_translation_matches_padding_oracle(h, w, fy, fx, fill_mode, fill_value):
    x = images(n=2, h=h, w=w, c=2, seed=h * 10 + w, dtype=np.float64)
    layer = RandomTranslation((fy, fy), (fx, fx), fill_mode=fill_mode, interpolation="bilinear",
                              fill_value=fill_value, seed=0)
    got = arr(layer(x, training=True))
    dy, dx = fy * h, fx * w
    y0, x0 = int(np.floor(dy)), int(np.floor(dx))
    ay, ax = dy - y0, dx - x0
    # Output i samples input i - dy = (i - y0 - 1) + (1 - ay): a blend of two whole shifts.
    s = lambda a, b: shift_oracle(x, a, b, fill_mode, fill_value)
    want = ((1 - ay) * (1 - ax) * s(y0, x0) + (1 - ay) * ax * s(y0, x0 + 1)
            + ay * (1 - ax) * s(y0 + 1, x0) + ay * ax * s(y0 + 1, x0 + 1))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 layers


def test_translation_nearest_interpolation_whole_pixels():
    x = images(n=3, h=6, w=6, c=1)
    got = arr(RandomTranslation((-0.5, -0.5), (1 / 3, 1 / 3), fill_mode="constant",
                                interpolation="nearest", fill_value=9.0)(x, training=True))
    np.testing.assert_array_equal(got, shift_oracle(x, -3, 2, "constant", 9.0))


def test_translation_shifts_are_random_within_the_factor():
    # One bright pixel in the middle of a 21-wide row: its new column is the shift.
    x = np.zeros((400, 1, 21, 1), np.float32)
    x[:, 0, 10, 0] = 1
    out = arr(RandomTranslation(0.0, 0.2, fill_mode="constant", interpolation="nearest", seed=3)(x, training=True))
    shifts = out[:, 0, :, 0].argmax(axis=1) - 10
    assert shifts.min() >= -5 and shifts.max() <= 5  # |shift| <= 0.2 * 21 = 4.2 -> rounds to <= 4 (+edge)
    assert len(set(shifts.tolist())) >= 7  # uniformly spread, not a constant shift
    assert abs(shifts.mean()) < 0.5


def test_translation_upper_lower_bounds_direction():
    x = np.zeros((50, 9, 1, 1), np.float32)
    x[:, 4] = 1
    out = arr(RandomTranslation((0.1, 0.4), 0.0, fill_mode="constant", interpolation="nearest", seed=0)(
        x, training=True))
    rows = out[:, :, 0, 0].argmax(axis=1)
    assert rows.min() >= 4 + 0 and rows.max() <= 4 + 4  # positive factors move the image down
    assert rows.max() > 4


# ------------------------------------------------------------------------------ RandomCrop

def test_random_crop_training_takes_windows_of_the_input():
    x = images(n=40, h=9, w=8, c=1, seed=2)
    out = arr(RandomCrop(5, 4, seed=1)(x, training=True))
    assert out.shape == (40, 5, 4, 1)
    offsets = set()
    for o, im in zip(out, x):
        hits = [(t, l) for t in range(5) for l in range(5) if np.array_equal(im[t:t + 5, l:l + 4], o)]
        assert hits, "a crop is not a window of its image"
        offsets.add(hits[0])
    assert len(offsets) > 10  # one random position per image


def test_random_crop_training_smaller_input_is_resized():
    x = images(n=2, h=4, w=4, c=3)
    out = arr(RandomCrop(6, 6, seed=0)(x, training=True))
    np.testing.assert_allclose(out, arr(RandomCrop(6, 6)(x)), rtol=0, atol=0)
    assert out.shape == (2, 6, 6, 3)
    assert RandomCrop(6, 5).compute_output_shape((None, 4, 4, 3)) == (None, 6, 5, 3)
    assert RandomCrop(6, 5, data_format="channels_first").compute_output_shape((None, 3, 4, 4)) == (None, 3, 6, 5)


# ------------------------------------------------------------------------------ shapes, dtypes, formats

@pytest.mark.parametrize("make", [
    lambda: RandomFlip(seed=4), lambda: RandomTranslation(0.2, 0.3, seed=4), lambda: RandomCrop(4, 3, seed=4),
])
def test_channels_first_and_single_images(make):
    x = images(n=5, h=6, w=5, c=3)
    last = arr(make()(x, training=True))
    first = arr(_with(make, data_format="channels_first")(x.transpose(0, 3, 1, 2), training=True))
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-6, atol=1e-6)
    # An unbatched (H, W, C) image is transformed like a batch of one.
    single = arr(make()(x[0], training=True))
    assert single.shape == last.shape[1:]
    np.testing.assert_allclose(single, arr(make()(x[:1], training=True))[0], rtol=1e-6, atol=1e-6)


def _with(make, **kwargs):
    layer = make()
    config = layer.get_config()
    config.update(kwargs)
    return type(layer).from_config(config)


def test_integer_images_come_out_float32():
    x = (images(n=4) * 50 + 100).clip(0, 255).astype(np.uint8)
    for layer in (RandomFlip(seed=0), RandomTranslation(0.2, 0.2, seed=0), RandomCrop(5, 5, seed=0)):
        out = arr(layer(x, training=True))
        assert out.dtype == np.float32
    out = arr(RandomFlip("horizontal", seed=0)(x, training=True))
    assert set(np.unique(out)) <= set(np.unique(x).astype(np.float32))


# ------------------------------------------------------------------------------ gradients

@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_sampler_gradcheck(fill_mode, interpolation):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 4, 5, 2)), requires_grad=True)
    ys = np.array([[-1.3, 0.2, 2.5, 4.7], [0.0, 1.0, 2.0, 3.0]])
    xs = np.array([[-2.2, 0.6, 1.5, 3.9, 5.1], [4.0, 3.0, 2.0, 1.0, 0.0]])
    fn = lambda t: sample_separable(t, ys, xs, interpolation=interpolation, fill_mode=fill_mode, fill_value=0.7)
    assert gradcheck(fn, [x])


def test_flip_backward_routes_gradients_back():
    x = Tensor(images(n=8, dtype=np.float64), requires_grad=True)
    out = RandomFlip(seed=0)(x, training=True)
    g = np.random.default_rng(1).standard_normal(out.shape)
    (out * g).sum().backward()
    # Flips are permutations: the gradient is the upstream gradient flipped back.
    for gi, xi, oi, gx in zip(g, x.numpy(), out.numpy(), x.grad):
        for fv in (False, True):
            for fh in (False, True):
                f = lambda a: (a[::-1] if fv else a)[:, ::-1] if fh else (a[::-1] if fv else a)
                if np.array_equal(f(xi), oi):
                    np.testing.assert_allclose(gx, f(gi))


# ------------------------------------------------------------------------------ config and errors

@pytest.mark.parametrize("layer", [
    RandomFlip("vertical", seed=3, name="flip"),
    RandomTranslation((-0.1, 0.2), 0.3, fill_mode="constant", interpolation="nearest", seed=1, fill_value=2.0),
    RandomCrop(24, 20, seed=9, data_format="channels_first"),
])
def test_get_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert config["seed"] == layer.seed and "name" in config


def test_keras_defaults():
    f = RandomFlip()
    assert f.mode == "horizontal_and_vertical" and f.seed is None and f.data_format == "channels_last"
    t = RandomTranslation(0.1, 0.2)
    assert (t.fill_mode, t.interpolation, t.fill_value, t.seed) == ("reflect", "bilinear", 0.0, None)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: RandomFlip("diagonal"), ValueError, "mode"),
    (lambda: RandomFlip(seed=-1), ValueError, "seed"),
    (lambda: RandomFlip(data_format="nhwc"), ValueError, "data_format"),
    (lambda: RandomTranslation(1.5, 0.1), ValueError, r"height_factor must lie in \[-1, 1\]"),
    (lambda: RandomTranslation(0.1, (0.3, 0.1)), ValueError, "width_factor: lower bound"),
    (lambda: RandomTranslation(0.1, (0.1, 0.2, 0.3)), ValueError, "width_factor"),
    (lambda: RandomTranslation("a", 0.1), TypeError, "height_factor"),
    (lambda: RandomTranslation(0.1, 0.1, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda: RandomTranslation(0.1, 0.1, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: RandomCrop(0, 3), ValueError, "height"),
    (lambda: RandomCrop(3, 2.5), ValueError, "width"),
])
def test_bad_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_input_rank_names_the_shape():
    with pytest.raises(ValueError, match=r"RandomFlip expects images of rank 3 .* got shape \(4, 5\)"):
        RandomFlip(seed=0)(np.zeros((4, 5), np.float32), training=True)


def test_serialize_through_json_by_name():
    import json

    from minicnn import serialization
    for layer in (RandomFlip("horizontal", seed=2), RandomTranslation(0.1, (0.0, 0.2), seed=3),
                  RandomCrop(5, 4, seed=1)):
        cfg = json.loads(json.dumps(serialization.serialize(layer)))
        assert cfg["module"] == "minicnn.layers" and cfg["class_name"] == type(layer).__name__
        clone = serialization.deserialize(cfg)
        x = images(n=4, h=8, w=8)
        np.testing.assert_array_equal(arr(clone(x, training=True)), arr(type(layer)(**layer.get_config())(x, training=True)))
