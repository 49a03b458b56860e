"""keras.random: distributions, Keras' seed semantics, dropout's gradient, clear errors."""

import numpy as np
import pytest

import minicnn
from minicnn import random as krandom


def test_normal_and_uniform_moments_and_dtypes():
    n = krandom.normal((200_000,), mean=2.0, stddev=3.0, seed=0).numpy()
    assert n.dtype == np.float32
    assert abs(n.mean() - 2.0) < 0.03 and abs(n.std() - 3.0) < 0.03
    u = krandom.uniform((200_000,), minval=-1.0, maxval=3.0, dtype="float64", seed=0).numpy()
    assert u.dtype == np.float64 and u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.02


def test_truncated_normal_stays_within_two_stddevs():
    t = krandom.truncated_normal((50_000,), mean=1.0, stddev=0.5, seed=3).numpy()
    assert t.min() >= 0.0 and t.max() <= 2.0
    assert abs(t.mean() - 1.0) < 0.01


def test_randint_range_and_dtype():
    r = krandom.randint((10_000,), 2, 5, seed=0).numpy()
    assert r.dtype == np.int32 and set(np.unique(r)) == {2, 3, 4}


def test_seed_semantics_follow_keras():
    # an int seed: the same values every call
    np.testing.assert_array_equal(krandom.normal((5,), seed=4).numpy(), krandom.normal((5,), seed=4).numpy())
    # a SeedGenerator: new values each call, the same sequence for the same seed
    g1, g2 = krandom.SeedGenerator(1337), krandom.SeedGenerator(1337)
    a1, b1 = krandom.uniform((5,), seed=g1).numpy(), krandom.uniform((5,), seed=g1).numpy()
    a2, b2 = krandom.uniform((5,), seed=g2).numpy(), krandom.uniform((5,), seed=g2).numpy()
    assert not np.array_equal(a1, b1)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    # None: the global generator, which set_random_seed fixes
    minicnn.utils.set_random_seed(7)
    first = krandom.normal((5,)).numpy()
    minicnn.utils.set_random_seed(7)
    np.testing.assert_array_equal(first, krandom.normal((5,)).numpy())


def test_dropout_keeps_scales_and_differentiates():
    x = minicnn.Tensor(np.ones((400, 50), np.float32), requires_grad=True)
    y = krandom.dropout(x, rate=0.3, seed=0)
    values = y.numpy()
    assert set(np.unique(values)) == {0.0, np.float32(1 / 0.7)}
    assert abs((values == 0).mean() - 0.3) < 0.01
    (y * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, 2.0 * values)


def test_dropout_noise_shape_shares_the_mask():
    y = krandom.dropout(np.ones((6, 8), np.float32), 0.5, noise_shape=(None, 1), seed=1).numpy()
    assert all(len(np.unique(row)) == 1 for row in y)
    with pytest.raises(ValueError, match="noise_shape"):
        krandom.dropout(np.ones((6, 8), np.float32), 0.5, noise_shape=(3, 8))


def test_shuffle_is_a_permutation_along_the_axis():
    x = np.arange(20).reshape(10, 2)
    s = krandom.shuffle(x, seed=0).numpy()
    assert sorted(map(tuple, s)) == sorted(map(tuple, x))
    assert not np.array_equal(s, x)


@pytest.mark.parametrize("call,match", [
    (lambda: krandom.normal((2,), seed="a"), "normal: seed"),
    (lambda: krandom.normal((2,), dtype="int32"), "normal: dtype"),
    (lambda: krandom.uniform((2,), minval=1.0, maxval=1.0), "uniform: minval"),
    (lambda: krandom.randint((2,), 0, 3, dtype="float32"), "randint: dtype"),
    (lambda: krandom.dropout(np.ones(3, np.float32), 1.0), "dropout: rate"),
    (lambda: krandom.dropout(np.ones(3, np.int32), 0.5), "dropout: inputs"),
    (lambda: krandom.SeedGenerator(1.5), "SeedGenerator: seed"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
