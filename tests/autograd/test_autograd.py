"""Engine, Tensor and gradcheck tests (the per-op proofs live in test_ops.py)."""

import numpy as np
import pytest

import minicnn
from minicnn import Tensor
from minicnn.autograd import Function


def leaf(a, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


# -- Tensor basics ----------------------------------------------------------------------------
def test_constructor_dtypes():
    assert Tensor([1.0, 2.0]).dtype == np.float32  # Python floats: Keras' float32 default
    assert Tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert Tensor(np.zeros(2), dtype="float32").dtype == np.float32
    assert Tensor([1, 2]).dtype.kind == "i"
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([1, 2], requires_grad=True)


def test_properties_and_array_protocol():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a)
    assert t.data is a and t.numpy() is a
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2)
    assert np.asarray(t) is a
    assert t.T.shape == (3, 2)
    assert Tensor(np.array([4.0])).item() == 4.0
    assert t.is_leaf and t.grad is None and not t.requires_grad
    assert "Tensor(" in repr(t)


def test_comparisons_are_boolean_tensors_outside_the_graph():
    t = leaf([1.0, 2.0, 3.0])
    for res in (t == 2.0, t < 2.0, t >= Tensor(np.array([1.0, 5.0, 0.0])), ~(t > 2.0) & (t > 0)):
        assert type(res) is Tensor and res.dtype == bool and not res.requires_grad
    np.testing.assert_array_equal((t > 1.5).numpy(), [False, True, True])
    assert list(np.arange(3)[t > 1.5]) == [1, 2]  # usable as a NumPy mask
    np.testing.assert_array_equal(t[t > 1.5].data, [2.0, 3.0])
    assert bool(t.sum() == 6.0) and int(Tensor(np.array(7))) == 7
    assert [10, 20, 30][Tensor(np.array(1))] == 20  # an integer scalar Tensor is an index


def test_float32_stays_float32_with_python_scalars():
    x = leaf([1.0, 2.0], np.float32)
    y = (2.0 * x + 1) / 3.0 - x ** 2.0
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2.0 / 3.0 - 2 * x.data, rtol=1e-6)


def test_mixed_dtype_grads_come_back_in_each_inputs_dtype():
    a = leaf([1.0, 2.0], np.float32)
    b = leaf([3.0, 4.0], np.float64)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_ndarray_on_the_left_gives_a_tensor():
    x = leaf([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x - np.array([1.0, 1.0])
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# -- broadcasting ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_broadcast_grads_summed_to_input_shape(op):
    rng = np.random.default_rng(0)
    a = leaf(rng.uniform(1, 2, (4, 1, 3)))
    b = leaf(rng.uniform(1, 2, (5, 1)))
    f = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q,
         "mul": lambda p, q: p * q, "div": lambda p, q: p / q}[op]
    out = f(a, b)
    assert out.shape == (4, 5, 3)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert minicnn.gradcheck(f, [a.data, b.data])


# -- the engine --------------------------------------------------------------------------------
def test_diamond_graph():
    x = leaf([2.0])
    a = x * 3.0
    b = x * x
    y = a * b  # 3x * x^2 = 3x^3 -> dy/dx = 9x^2
    y.backward()
    np.testing.assert_allclose(x.grad, [36.0])


def test_tensor_used_twice_in_one_op():
    x = leaf([3.0, -1.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, -2.0])
    y = leaf([1.0, 2.0])
    (y + y + y).sum().backward()
    np.testing.assert_allclose(y.grad, [3.0, 3.0])


def test_intermediate_reused_by_several_consumers():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * 2.0).sum() + (h * h).sum() + h.mean()
    y.backward()
    e = np.exp(x.data)
    np.testing.assert_allclose(x.grad, 2 * e + 2 * e * e + e / 2)


def test_shared_weights():
    w = leaf(np.eye(2) * 2.0)
    x = np.array([[1.0, 2.0]])
    y = ((x @ w) @ w).sum()  # x W W
    y.backward()
    # d/dW sum(x W W) = x^T (1 W^T) + (x W)^T 1
    ones = np.ones((1, 2))
    expected = x.T @ (ones @ w.data.T) + (x @ w.data).T @ ones
    np.testing.assert_allclose(w.grad, expected)


def test_gradient_accumulates_across_backward_calls_until_cleared():
    x = leaf([1.0, 2.0])
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 5.0])
    x.grad = None
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])


def test_leaf_grad_does_not_alias_other_gradients():
    a, b = leaf([1.0]), leaf([1.0])
    (a + b).sum().backward()
    a.grad *= 10  # in-place clipping of one parameter must not touch the other
    np.testing.assert_array_equal(b.grad, [1.0])


def test_no_grad_records_nothing_and_is_a_decorator():
    x = leaf([1.0])
    with minicnn.no_grad():
        assert not minicnn.is_grad_enabled()
        y = x * 2.0
        with minicnn.enable_grad():
            z = x * 2.0
    assert minicnn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf

    @minicnn.no_grad()
    def f(t):
        return t * 3.0

    assert not f(x).requires_grad

    @minicnn.no_grad  # bare decorator too
    def g(t):
        return t * 3.0

    assert not g(x).requires_grad and g.__name__ == "g"
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_retain_graph_and_freed_graph_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_deep_chain_has_no_recursion_limit():
    x = leaf(np.ones(3))
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 1.0001 ** 10_000))


def test_non_scalar_backward_needs_grad():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match="grad has shape"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])


def test_backward_on_leaf():
    x = leaf([5.0])
    x.backward()
    np.testing.assert_array_equal(x.grad, [1.0])


def test_requires_grad_only_settable_on_leaves():
    x = leaf([1.0])
    y = x * 2.0
    with pytest.raises(ValueError, match="leaf"):
        y.requires_grad = False
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data
    d.requires_grad = True
    assert d.requires_grad


def test_leaf_without_requires_grad_gets_no_grad():
    x = leaf([1.0])
    c = Tensor(np.array([2.0]))
    (x * c).backward()
    assert c.grad is None and x.grad is not None


def test_wrong_gradient_shape_or_dtype_names_the_op():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class BadDtype(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.astype(np.float32)

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="BadShape.backward returned a gradient of shape"):
        BadShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="BadDtype.backward returned a gradient of dtype"):
        BadDtype.apply(x).sum().backward()


def test_function_contract_needs_input_grad_and_arrays():
    seen = {}

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, s, *, power=1):
            seen["types"] = (type(x), type(s))
            ctx.save_for_backward(x, s)
            ctx.power = power
            return x * s ** power

        @staticmethod
        def backward(ctx, g):
            x, s = ctx.saved_tensors
            seen["needs"] = ctx.needs_input_grad
            gs = (g * x * ctx.power * s ** (ctx.power - 1)).sum(keepdims=True).reshape(s.shape) \
                if ctx.needs_input_grad[1] else None
            return g * s ** ctx.power, gs

    x = leaf([1.0, 2.0])
    y = Scale.apply(x, np.array(3.0), power=2)
    assert seen["types"] == (np.ndarray, np.ndarray)
    y.sum().backward()
    assert seen["needs"] == (True, False)
    np.testing.assert_allclose(x.grad, [9.0, 9.0])


def test_multi_output_function():
    class SplitHalves(Function):
        @staticmethod
        def forward(ctx, x):
            n = x.shape[0] // 2
            return x[:n].copy(), x[n:].copy()

        @staticmethod
        def backward(ctx, ga, gb):
            return np.concatenate([ga, gb])

    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b = SplitHalves.apply(x)
    (a * 5.0).sum().backward()  # b takes no part: its gradient slot is zeros
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 0.0, 0.0])


# -- Tensor methods (gradchecked) --------------------------------------------------------------
RNG = np.random.default_rng(1)
X = RNG.uniform(0.5, 2.0, (3, 4))


@pytest.mark.parametrize("name,fn", [
    ("getitem_basic", lambda t: t[1:, ::2]),
    ("getitem_int_array_repeats", lambda t: t[np.array([0, 2, 0])]),
    ("getitem_mixed", lambda t: t[np.array([0, 1]), 1:3]),
    ("getitem_bool_mask", lambda t: t[t > 1.0] * 2.0),
    ("getitem_list_newaxis", lambda t: t[[0, 0, 2]][None, :, 1]),
    ("reshape", lambda t: t.reshape(2, -1) * t.reshape((2, 6))),
    ("transpose", lambda t: t.transpose(1, 0) @ t),
    ("sum_axis", lambda t: t.sum(axis=0) * t.sum(axis=1, keepdims=True)),
    ("mean_axes", lambda t: t.mean(axis=(0, 1), keepdims=True) * t),
    ("max", lambda t: t.max(axis=1) + t.max()),
    ("exp_log_sqrt_abs", lambda t: t.exp() + t.log() + t.sqrt() + (t - 1.2).abs()),
    ("clip", lambda t: t.clip(0.8, 1.5)),
    ("pow_tensor_exponent", lambda t: t ** (t * 0.5)),
    ("rpow", lambda t: 2.0 ** t),
    ("rsub_rdiv_neg", lambda t: 1.0 - t + 2.0 / t - (-t)),
    ("matmul_1d", lambda t: t[0] @ t.T + t @ t[1]),
])
def test_tensor_method_gradients(name, fn):
    assert minicnn.gradcheck(fn, [X])


def test_batched_matmul_broadcast_gradcheck():
    a = RNG.normal(size=(2, 3, 4))
    b = RNG.normal(size=(4, 5))
    assert minicnn.gradcheck(lambda p, q: p @ q, [a, b])


def test_astype_casts_the_gradient_back():
    x = leaf([1.0, 2.0])
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and x.astype(np.float64) is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_max_ties_share_the_gradient():
    x = leaf([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.5, 0.5])


# -- gradcheck itself --------------------------------------------------------------------------
def test_gradcheck_catches_a_wrong_backward_and_names_the_element():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x  # should be 3 x^2

    with pytest.raises(AssertionError, match=r"input 0 \(shape \(2, 2\)\) element"):
        minicnn.gradcheck(Wrong.apply, [X[:2, :2] + 1.0])


def test_gradcheck_rejects_all_zero_comparisons():
    with pytest.raises(AssertionError, match="zero everywhere"):
        minicnn.gradcheck(lambda t: t * 0.0, [X])


def test_gradcheck_passes_non_float_inputs_through():
    labels = np.array([0, 2, 1])
    assert minicnn.gradcheck(lambda t, idx: t[np.arange(3), idx], [X, labels])


def test_no_grad_is_per_thread():
    import threading

    seen = []
    with minicnn.no_grad():
        t = threading.Thread(target=lambda: seen.append(minicnn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# -- property: broadcasting gradients ----------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def broadcast_pair(draw):
    out = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    def operand():
        keep = draw(st.integers(0, len(out)))
        dims = out[len(out) - keep:]
        return tuple(d if draw(st.booleans()) else 1 for d in dims)
    return operand(), operand()


@settings(max_examples=40, deadline=None)
@given(broadcast_pair(), st.sampled_from(["add", "sub", "mul", "div"]))
def test_broadcast_gradients_property(shapes, op):
    rng = np.random.default_rng(0)
    a_np = rng.uniform(1, 2, shapes[0])
    b_np = rng.uniform(1, 2, shapes[1])
    a, b = leaf(a_np), leaf(b_np)
    out = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]
    g = rng.uniform(-1, 1, out.shape)
    out.backward(g)
    # Expected: d/da = g * d(out)/da broadcast, summed over broadcast axes (numpy's rule).
    da = {"add": g, "sub": g, "mul": g * b_np, "div": g / b_np}[op]
    db = {"add": g, "sub": -g, "mul": g * a_np, "div": -g * a_np / b_np ** 2}[op]
    def reduce(d, shape):
        d = np.broadcast_to(d, out.shape)
        d = d.sum(axis=tuple(range(d.ndim - len(shape))))
        return d.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True).reshape(shape)
    np.testing.assert_allclose(a.grad, reduce(da, a_np.shape), rtol=1e-12)
    np.testing.assert_allclose(b.grad, reduce(db, b_np.shape), rtol=1e-12)
    assert a.grad.shape == a_np.shape and b.grad.shape == b_np.shape


def test_wrong_number_or_type_of_gradients_names_the_op():
    class TwoForOne(Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    class ReturnsList(Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return [1.0, 1.0]

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="TwoForOne.backward returned 2 gradients for 1 inputs"):
        TwoForOne.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="ReturnsList.backward returned a list"):
        ReturnsList.apply(x).sum().backward()


def test_python_scalar_and_numpy_scalar_inputs_do_not_upcast():
    x = leaf([1.0, 2.0], np.float32)
    assert (x * 2).dtype == np.float32 and (3.5 - x).dtype == np.float32
    assert (x ** 2).dtype == np.float32 and (x / 4).dtype == np.float32
    s = x.sum()
    assert s.shape == () and s.dtype == np.float32
    s.backward()
    assert x.grad.dtype == np.float32
