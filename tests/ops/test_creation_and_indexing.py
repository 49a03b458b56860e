"""keras.ops' creation functions, shape, argmax/argmin and one_hot (not differentiable: compared
with NumPy and with Keras' documented dtypes), and the errors they give."""

import numpy as np
import pytest

import minicnn
from minicnn import ops


@pytest.mark.parametrize("fn,np_fn", [(ops.ones, np.ones), (ops.zeros, np.zeros)])
def test_ones_zeros_are_float32_by_default(fn, np_fn):
    t = fn((2, 3))
    assert isinstance(t, minicnn.Tensor) and t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np_fn((2, 3)))
    assert fn(4).shape == (4,)
    assert fn((2,), dtype="int32").dtype == np.int32


def test_full_and_like_forms():
    np.testing.assert_array_equal(ops.full((2, 2), 7).numpy(), np.full((2, 2), 7.0))
    assert ops.full((2, 2), 7).dtype == np.float32
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    assert ops.ones_like(x).dtype == np.int64 and ops.ones_like(x).shape == (2, 3)
    assert ops.zeros_like(minicnn.Tensor(np.ones((3,), np.float64))).dtype == np.float64
    np.testing.assert_array_equal(ops.full_like(x, 5, dtype="float32").numpy(), np.full((2, 3), 5.0))


def test_arange_dtypes_follow_keras():
    assert ops.arange(4).dtype == np.int32
    np.testing.assert_array_equal(ops.arange(4).numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(ops.arange(1, 7, 2).numpy(), [1, 3, 5])
    assert ops.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert ops.arange(3, dtype="float64").dtype == np.float64


def test_eye():
    np.testing.assert_array_equal(ops.eye(3, 4, k=1).numpy(), np.eye(3, 4, 1))
    assert ops.eye(2).dtype == np.float32


def test_shape_of_arrays_tensors_and_symbolic_inputs():
    assert ops.shape(np.ones((2, 5))) == (2, 5)
    assert ops.shape(minicnn.Tensor(np.ones((3,)))) == (3,)
    assert ops.shape(minicnn.Input((4, 2))) == (None, 4, 2)


@pytest.mark.parametrize("bad,err", [((-1, 2), ValueError), ("ab", TypeError), ((2.5, None), TypeError)])
def test_bad_shapes_are_named(bad, err):
    with pytest.raises(err, match="ones: shape"):
        ops.ones(bad)


def test_argmax_argmin_match_numpy_and_are_int32():
    x = np.random.default_rng(0).normal(size=(4, 5, 3))
    for fn, np_fn in ((ops.argmax, np.argmax), (ops.argmin, np.argmin)):
        for axis in (None, 0, 1, -1):
            got = fn(x, axis=axis)
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got.numpy(), np_fn(x, axis=axis))
        assert fn(x, axis=1, keepdims=True).shape == (4, 1, 3)
    with pytest.raises(ValueError, match="argmax: axis"):
        ops.argmax(x, axis=3)
    with pytest.raises(ValueError, match="argmax: the input is empty"):
        ops.argmax(np.zeros((0,)))


def test_one_hot_matches_identity_rows_and_keras_rules():
    ids = np.array([[0, 2], [1, 3]])
    np.testing.assert_array_equal(ops.one_hot(ids, 4).numpy(), np.eye(4)[ids])
    assert ops.one_hot(ids, 4).dtype == np.float32
    # float labels that are whole numbers (how the training guide passes them)
    np.testing.assert_array_equal(ops.one_hot(np.array([2.0, 0.0], np.float32), 3).numpy(),
                                  np.eye(3)[[2, 0]])
    # out of range ids give zero rows, as in Keras
    np.testing.assert_array_equal(ops.one_hot([-1, 5], 3).numpy(), np.zeros((2, 3)))
    assert ops.one_hot(ids, 4, axis=0).shape == (4, 2, 2)
    np.testing.assert_array_equal(ops.one_hot(ids, 4, axis=0).numpy(),
                                  np.moveaxis(np.eye(4)[ids], -1, 0))
    assert ops.one_hot([1], 2, dtype="int32").dtype == np.int32


def test_one_hot_errors_name_the_argument():
    with pytest.raises(TypeError, match="integer labels"):
        ops.one_hot(np.array([0.5]), 3)
    with pytest.raises(TypeError, match="integer labels"):
        ops.one_hot(np.array(["a"]), 3)
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot([0], 2, sparse=True)


def test_conv_errors_name_the_shapes():
    with pytest.raises(ValueError, match="must be a multiple of kernel"):
        ops.conv(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="conv: inputs must be 3-D"):
        ops.conv(np.ones((1, 4, 4, 4, 3)), np.ones((3, 3, 3, 3, 4)))
    with pytest.raises(ValueError, match="data_format"):
        ops.conv(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3, 4)), data_format="NHWC")


def test_conv_at_one_and_two_threads_is_the_same():
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(2, 9, 9, 4)).astype(np.float32), rng.normal(size=(3, 3, 2, 6)).astype(np.float32)
    with minicnn.num_threads(1):
        one = ops.conv(x, k, padding="same").numpy()
    with minicnn.num_threads(2):
        two = ops.conv(x, k, padding="same").numpy()
    np.testing.assert_array_equal(one, two)
