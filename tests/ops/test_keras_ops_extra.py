"""The keras.ops functions that are not differentiable or that the op table cannot express:
comparisons, ``where`` with one argument, conversions, ``stop_gradient``, gradients at ties,
and the errors (each names the function and the argument)."""

import numpy as np
import pytest

import minicnn
from minicnn import ops


@pytest.mark.parametrize("name", ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal"])
def test_comparisons_match_numpy_and_broadcast(name):
    a, b = np.array([[1, 2, 3], [3, 2, 1]]), np.array([2, 2, 2])
    got = getattr(ops, name)(a, b)
    assert isinstance(got, minicnn.Tensor) and got.dtype == bool
    np.testing.assert_array_equal(got.numpy(), getattr(np, name)(a, b))
    with pytest.raises(ValueError, match=f"{name}: shapes"):
        getattr(ops, name)(np.ones(3), np.ones(4))


def test_where_with_the_condition_alone_gives_indices():
    rows, cols = ops.where(np.array([[0, 1], [1, 0]]))
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    np.testing.assert_array_equal(cols.numpy(), [1, 0])
    with pytest.raises(ValueError, match="both x1 and x2"):
        ops.where(np.ones(2), np.ones(2))


def test_maximum_minimum_ties_share_the_gradient():
    # as the JAX and torch backends do (TF sends it all to x1); the finite difference agrees
    a = minicnn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = minicnn.Tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    (ops.maximum(a, b).sum() + ops.minimum(a, b).sum()).backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


def test_conversions_and_stop_gradient():
    t = ops.convert_to_tensor([1, 2], dtype="float64")
    assert isinstance(t, minicnn.Tensor) and t.dtype == np.float64
    assert ops.convert_to_tensor(t) is t
    assert isinstance(ops.convert_to_numpy(t), np.ndarray)
    x = minicnn.Tensor(np.ones(3), requires_grad=True)
    y = (x * 2).sum() + (ops.stop_gradient(x) * 5).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1], sparse=True)


def test_einsum_and_dot_agree_with_numpy_on_more_forms():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5,))
    for spec, operands in (("ijk,kl->ijl", (a, b)), ("ijk", (a,)), ("ijk->kji", (a,)),
                           ("ijk,kl,l->ij", (a, b, c)), ("...k,kl->...l", (a, b))):
        np.testing.assert_allclose(ops.einsum(spec, *operands).numpy(), np.einsum(spec, *operands))
    np.testing.assert_allclose(ops.dot(b, c).numpy(), np.dot(b, c))
    np.testing.assert_allclose(ops.dot(2.0, b).numpy(), 2.0 * b)


@pytest.mark.parametrize("call,err,match", [
    (lambda: ops.einsum("ij,jk", np.ones((2, 2))), ValueError, "names 2 operands"),
    (lambda: ops.einsum("ij", np.ones(3)), ValueError, "does not fit"),
    (lambda: ops.einsum(3, np.ones(3)), TypeError, "subscripts"),
    (lambda: ops.dot(np.ones((2, 3)), np.ones((4, 2))), ValueError, "x2.shape=\(4, 2\) do not match"),
    (lambda: ops.squeeze(np.ones((2, 3)), axis=1), ValueError, "squeeze: axis"),
    (lambda: ops.split(np.ones((5, 2)), 2), ValueError, "split"),
    (lambda: ops.tile(np.ones(2), (-1,)), ValueError, "tile: repeats"),
    (lambda: ops.repeat(np.ones(3), [1, 2]), ValueError, "repeat"),
    (lambda: ops.repeat(np.ones(3), 1.5), ValueError, "repeat: repeats"),
    (lambda: ops.norm(np.ones((2, 2, 2)), ord=2), ValueError, "norm"),
    (lambda: ops.cumsum(np.ones(3), axis=2), ValueError, "axis 2 is out of bounds"),
    (lambda: ops.max_pool(np.ones((1, 2, 2, 2, 1)), 2), ValueError, "max_pool: inputs must be 3-D"),
    (lambda: ops.average_pool(np.ones((1, 4, 1)), (2, 2)), ValueError, "pool_size must be"),
    (lambda: ops.depthwise_conv(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), data_format="x"),
     ValueError, "data_format"),
])
def test_errors_name_the_function(call, err, match):
    with pytest.raises(err, match=match):
        call()
