"""keras.ops beyond the differentiable table of test_ops.py: Keras' dtype rules, creation,
comparisons, conversion, index reductions, control flow, and the names Keras programs call."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import minicnn
from minicnn import Tensor, ops

# The functions issue 16 lists as what Keras programs call (all of keras.ops is not here yet).
CALLED_BY_KERAS_PROGRAMS = """
ones zeros full arange eye ones_like zeros_like full_like shape reshape expand_dims squeeze
transpose concatenate stack split tile repeat add subtract multiply divide power square sqrt exp
log abs clip maximum minimum where sum mean max min prod argmax argmin cumsum matmul dot einsum
norm equal greater cast convert_to_tensor convert_to_numpy stop_gradient relu gelu sigmoid softmax
log_softmax one_hot moments conv depthwise_conv max_pool average_pool categorical_crossentropy
sparse_categorical_crossentropy binary_crossentropy
""".split()


def test_the_functions_keras_programs_call_are_there():
    missing = [n for n in CALLED_BY_KERAS_PROGRAMS if not callable(getattr(ops, n, None))]
    assert not missing
    assert ops.linalg.norm is ops.norm and ops.math.erf is ops.erf and ops.core.cast is ops.cast


def test_docstring_examples_run():
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"minicnn.ops.{info.name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, info.name


# -- Keras' dtype rules -----------------------------------------------------------------------
@pytest.mark.parametrize("value,dtype", [
    (1.5, "float32"), (2, "int32"), (True, "bool"), ([1, 2], "int32"), ([1.0, 2], "float32"),
    (np.zeros(2), "float64"), (np.zeros(2, np.int64), "int64"), (np.float64(1.0), "float64"),
])
def test_convert_to_tensor_dtypes(value, dtype):
    t = ops.convert_to_tensor(value)
    assert isinstance(t, Tensor) and ops.dtype(t) == dtype
    assert ops.convert_to_tensor(value, dtype="float16").dtype == np.float16


def test_convert_to_tensor_passes_tensors_through_and_stacks_lists_of_tensors():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert ops.convert_to_tensor(a) is a
    s = ops.convert_to_tensor([a, a * 2.0])
    assert s.shape == (2, 3)
    s.sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    with pytest.raises(TypeError, match="x must be"):
        ops.convert_to_tensor({"a": 1})
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)


@pytest.mark.parametrize("call,dtype", [
    (lambda: ops.add(np.ones(2, np.float32), 1.5), np.float32),  # Python scalars are weak
    (lambda: ops.add(np.ones(2, np.int32), 1.5), np.float32),
    (lambda: ops.multiply(np.ones(2, np.int32), 2), np.int32),
    (lambda: ops.add(np.ones(2, np.int64), np.ones(2, np.float32)), np.float32),  # NumPy: float64
    (lambda: ops.add(np.ones(2, np.float16), 1.0), np.float16),
    (lambda: ops.divide(np.ones(2, np.int32), 2), np.float32),
    (lambda: ops.mean(np.array([1, 2], np.int32)), np.float32),
    (lambda: ops.exp(np.array([0, 1])), np.float32),
    (lambda: ops.sin(np.array([0, 1])), np.float32),
    (lambda: ops.square(np.array([True])), np.int32),
    (lambda: ops.concatenate([np.ones(1, np.float32), [2]]), np.float32),
    (lambda: ops.maximum(np.ones(2, np.float32), 3), np.float32),
])
def test_promotion_follows_keras(call, dtype):
    assert call().dtype == dtype


# -- creation ---------------------------------------------------------------------------------
def test_creation_values_and_default_dtypes():
    assert ops.ones((2, 3)).dtype == np.float32 and ops.zeros(4).shape == (4,)
    np.testing.assert_array_equal(ops.full((2,), 7).numpy(), [7.0, 7.0])
    assert ops.full((2,), 7).dtype == np.float32
    np.testing.assert_array_equal(ops.eye(2, 3, k=1).numpy(), np.eye(2, 3, 1))
    np.testing.assert_array_equal(ops.identity(3, dtype="int32").numpy(), np.eye(3, dtype=np.int32))
    np.testing.assert_array_equal(ops.tri(3, k=-1).numpy(), np.tri(3, k=-1))
    assert ops.arange(3).dtype == np.int32 and ops.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ops.arange(2, 8, 3).numpy(), [2, 5])
    np.testing.assert_allclose(ops.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    values, step = ops.linspace(0, 1, 4, endpoint=False, retstep=True)
    assert step == 0.25 and values.shape == (4,)
    x = np.array([[1, 2]], np.int64)
    assert ops.zeros_like(x).dtype == np.int64 and ops.ones_like(x, dtype="float32").dtype == np.float32
    np.testing.assert_array_equal(ops.full_like(x, 5).numpy(), [[5, 5]])
    assert ops.empty((2, 0)).shape == (2, 0) and ops.empty_like(x).shape == (1, 2)
    with pytest.raises(ValueError, match="non-negative"):
        ops.zeros((2, -1))
    with pytest.raises(ValueError, match="step"):
        ops.arange(0, 3, 0)


# -- comparisons, logic, index reductions: boolean/int Tensors outside the graph ----------------
def test_comparisons_and_logic_match_numpy_and_are_not_recorded():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = np.array([1.0, 0.0, 5.0])
    for name in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
                 "logical_and", "logical_or", "logical_xor"):
        got = getattr(ops, name)(a, b)
        assert isinstance(got, Tensor) and got.dtype == bool and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), getattr(np, name)(a.data, b))
    np.testing.assert_array_equal(ops.logical_not([0, 2]).numpy(), [True, False])
    x = np.array([np.nan, np.inf, -1.0])
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(ops, name)(x).numpy(), getattr(np, name)(x))
    assert ops.allclose([1.0, 2.0], [1.0, 2.0 + 1e-9]) is True
    np.testing.assert_array_equal(ops.isclose([1.0, 2.0], [1.0, 2.1]).numpy(), [True, False])


def test_index_and_boolean_reductions():
    x = np.array([[1.0, 3.0, 3.0], [4.0, 2.0, 0.0]])
    assert ops.argmax(x, axis=1).dtype == np.int32
    np.testing.assert_array_equal(ops.argmax(x, axis=1).numpy(), [1, 0])  # ties: the first
    np.testing.assert_array_equal(ops.argmin(x, axis=0, keepdims=True).numpy(), [[0, 1, 1]])
    assert int(ops.argmax(x)) == 3
    assert bool(ops.all(x > -1)) and not bool(ops.any(x > 5))
    np.testing.assert_array_equal(ops.any(x == 0, axis=1).numpy(), [False, True])
    assert int(ops.count_nonzero(x)) == 5 and ops.count_nonzero(x, axis=0).dtype == np.int32
    with pytest.raises(ValueError, match="empty"):
        ops.argmax(np.zeros((0,)))


def test_top_k_and_in_top_k():
    values, indices = ops.top_k(np.array([5, 2, 7, 1, 9, 3]), k=3)
    np.testing.assert_array_equal(values.numpy(), [9, 7, 5])
    np.testing.assert_array_equal(indices.numpy(), [4, 2, 0])
    assert indices.dtype == np.int32
    _, unsorted = ops.top_k(np.array([5, 2, 7, 1, 9, 3]), k=3, sorted=False)
    np.testing.assert_array_equal(unsorted.numpy(), [0, 2, 4])
    hit = ops.in_top_k(np.array([0, 1, 2]), np.array([[0.9, 0.1, 0.0], [0.8, 0.15, 0.05],
                                                      [0.2, 0.3, 0.5]]), 2)
    np.testing.assert_array_equal(hit.numpy(), [True, True, True])
    assert not ops.in_top_k(np.array([2]), np.array([[0.9, 0.1, 0.0]]), 2).numpy()[0]
    with pytest.raises(ValueError, match="k=4"):
        ops.top_k(np.ones(3), 4)


def test_piecewise_constant_functions_have_values_and_no_graph():
    x = Tensor([-1.5, -0.5, 0.5, 2.5], requires_grad=True)
    for name in ("sign", "floor", "ceil", "trunc", "round"):
        y = getattr(ops, name)(x)
        assert not y.requires_grad
        np.testing.assert_array_equal(y.numpy(), getattr(np, name)(x.data))
    np.testing.assert_allclose(ops.round([1.234, 5.678], 1).numpy(), [1.2, 5.7])


def test_where_with_a_condition_only_gives_indices():
    rows, cols = ops.where([[True, False], [False, True]])
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    np.testing.assert_array_equal(cols.numpy(), [0, 1])
    with pytest.raises(ValueError, match="both x1 and x2"):
        ops.where([True], 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        ops.where(np.ones((2, 3), bool), np.ones(2), 0.0)


# -- conversion and introspection -------------------------------------------------------------
def test_conversion_and_introspection():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert ops.convert_to_numpy(a) is a.data and isinstance(ops.convert_to_numpy([1]), np.ndarray)
    assert ops.shape(a) == (2, 3) and ops.ndim(a) == 2 and ops.size(a) == 6
    assert ops.dtype(a) == "float64" and ops.is_tensor(a) and not ops.is_tensor(a.data)
    y = ops.cast(a, "float32")
    assert y.dtype == np.float32
    y.sum().backward()
    assert a.grad.dtype == np.float64 and np.all(a.grad == 1.0)
    np.testing.assert_array_equal(ops.cast([1.7, -1.7], "int32").numpy(), [1, -1])
    b = Tensor([2.0], requires_grad=True)
    (ops.stop_gradient(b) * b).sum().backward()
    np.testing.assert_array_equal(b.grad, [2.0])
    with pytest.raises(TypeError, match="dtype"):
        ops.cast(a, "no-such-dtype")


def test_unstack_and_array_split():
    parts = ops.unstack(np.arange(6.0).reshape(3, 2), axis=1)
    assert len(parts) == 2 and parts[1].shape == (3,)
    assert [p.shape for p in ops.array_split(np.zeros(7), 3)] == [(3,), (2,), (2,)]
    with pytest.raises(ValueError, match="cannot be split into 4"):
        ops.split(np.zeros(7), 4)
    with pytest.raises(ValueError, match="num=3"):
        ops.unstack(np.zeros((2, 2)), num=3)


# -- control flow: eager, and the gradient follows the path taken -------------------------------
def test_control_flow():
    assert ops.cond(ops.convert_to_tensor(False), lambda: 1, lambda: 2) == 2
    assert ops.switch(5, [lambda x: x, lambda x: -x], 3.0) == -3.0  # the index is clamped
    assert ops.switch(-1, [lambda x: x, lambda x: -x], 3.0) == 3.0
    assert ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0) == 6
    assert ops.while_loop(lambda i, j: i < 3, lambda i, j: (i + 1, j * 2), (0, 1)) == (3, 8)
    assert ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=4) == 4
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    assert float(carry) == 6.0
    np.testing.assert_array_equal(ys.numpy(), [0.0, 2.0, 9.0])
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, np.array([1.0, 2.0, 3.0]), reverse=True)
    np.testing.assert_array_equal(ys.numpy(), [5.0, 3.0, 0.0])
    np.testing.assert_array_equal(ops.map(lambda v: v * 2, np.arange(3.0)).numpy(), [0.0, 2.0, 4.0])
    w = Tensor([1.0, 2.0], requires_grad=True)
    ops.fori_loop(0, 3, lambda i, v: v * w, ops.ones(2)).sum().backward()  # w ** 3
    np.testing.assert_allclose(w.grad, 3 * w.data ** 2)


# -- one-hot encodings ------------------------------------------------------------------------
def test_one_hot_and_multi_hot():
    np.testing.assert_array_equal(ops.one_hot([0, 2, -1], 3).numpy(),
                                  [[1, 0, 0], [0, 0, 1], [0, 0, 0]])  # negative: all zeros
    assert ops.one_hot([0, 2], 3, axis=0).shape == (3, 2)
    assert ops.one_hot(np.array([1]), 2, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.multi_hot([[0, 2], [1, 1]], 3).numpy(), [[1, 0, 1], [0, 1, 0]])
    with pytest.raises(TypeError, match="integer labels"):
        ops.one_hot([0.5], 2)


@pytest.mark.parametrize("call,match", [
    (lambda: ops.take(np.ones(3), [3]), r"indices must be in \[-3, 3\)"),
    (lambda: ops.take(np.ones(3), [0.5]), "integers"),
    (lambda: ops.squeeze(np.ones((2, 1)), axis=0), "size 1"),
    (lambda: ops.broadcast_to(np.ones(3), (2, 2)), r"\(3,\) to \(2, 2\)"),
    (lambda: ops.tile(np.ones(2), -1), "non-negative"),
    (lambda: ops.repeat(np.ones(3), [1, 2]), "3 of them"),
    (lambda: ops.pad(np.ones(2), 1, mode="wat"), "mode"),
    (lambda: ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5))), None),
    (lambda: ops.einsum("ij->i", np.ones((2, 3)), np.ones(3)), "2 operands|1 operands"),
    (lambda: ops.tensordot(np.ones((2, 3)), np.ones((4, 2)), axes=1), "differ"),
    (lambda: ops.norm(np.ones((2, 2, 2)), ord=1), "1-D or 2-D"),
    (lambda: ops.norm(np.ones((2, 2)), ord="wat", axis=(0, 1)), "matrix ord"),
    (lambda: ops.conv(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 4))), "multiple of kernel"),
    (lambda: ops.conv(np.ones((1, 4, 4, 4, 3)), np.ones((3, 3, 3, 3, 4))), "1-D and 2-D"),
    (lambda: ops.max_pool(np.ones((1, 4, 4, 1)), 2, padding="full"), "padding"),
    (lambda: ops.batch_normalization(np.ones((2, 3)), np.zeros(2), np.ones(3), axis=-1), r"mean must have"),
    (lambda: ops.glu(np.ones((2, 3))), "even"),
    (lambda: ops.slice(np.ones((2, 3)), (1, 1), (2, 2)), "leaves shape"),
    (lambda: ops.concatenate([np.float32(1), np.float32(2)]), "zero-dimensional"),
])
def test_bad_arguments_raise_helpful_errors(call, match):
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()


def test_einsum_refuses_the_gradient_of_a_repeated_subscript_only_when_asked_for():
    x = np.arange(9.0).reshape(3, 3)
    assert float(ops.einsum("ii", x)) == 12.0  # a trace of a constant is fine
    with pytest.raises(ValueError, match="repeated subscript"):
        ops.einsum("ii", Tensor(x, requires_grad=True))


def test_tensor_behaves_like_a_backend_tensor():
    t = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), requires_grad=True)
    assert float(t[1, 0]) == 3.0 and int(t[0, 1]) == 2 and bool(t[0, 0])
    assert [r.shape for r in t] == [(2,), (2,)]  # iterates over the first axis
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert (t.min().item(), int(t.argmax()), bool((t > 0).all()), bool((t > 3).any())) == (1.0, 3, True, True)
    (t[:, 1] * t.T[0]).sum().backward()  # indexing and T are differentiable
    np.testing.assert_array_equal(t.grad, [[2.0, 1.0], [4.0, 3.0]])  # t01*t00 + t11*t10
    with pytest.raises(TypeError, match="integer scalar"):
        [1, 2][Tensor([0.0])]
    assert (Tensor(np.array([7, 8])) // 3).numpy().tolist() == [2, 2]
    assert (Tensor(np.array([7, 8])) % 3).numpy().tolist() == [1, 2]
