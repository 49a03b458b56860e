"""minicnn.Variable (keras.Variable): value semantics, in-place assignment, paths, repr."""

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.variables import name_scope


def test_variable_from_value_and_from_initializer():
    v = minicnn.Variable(np.arange(3.0), name="v")
    assert v.dtype == "float64" and v.shape == (3,) and v.name == "v" and v.path == "v"
    assert minicnn.Variable(2.0).dtype == "float32"  # Python numbers take Keras' defaults
    assert minicnn.Variable(1).dtype == "int32"
    w = minicnn.Variable("ones", shape=(2, 2), dtype="float64")
    np.testing.assert_array_equal(w.numpy(), np.ones((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        minicnn.Variable("zeros")
    with pytest.raises(ValueError, match="shape"):
        minicnn.Variable(np.zeros(3), shape=(4,))


def test_variable_copies_its_initial_value():
    a = np.zeros(3, np.float32)
    v = minicnn.Variable(a)
    v.assign_add(1.0)
    assert a.sum() == 0


def test_default_names_are_unique():
    minicnn.layers.clear_session()
    names = [minicnn.Variable(0.0).name for _ in range(3)]
    assert names == ["variable", "variable_1", "variable_2"]


def test_assign_writes_in_place():
    v = minicnn.Variable(np.zeros((2, 3), np.float32))
    buffer = v.data
    view = buffer.reshape(-1)  # what the fused Adam keeps between steps
    assert v.assign(np.ones((2, 3))) is v
    v.assign_add(np.full((2, 3), 2.0))
    v.assign_sub(1.0)  # broadcasts
    assert v.data is buffer
    np.testing.assert_array_equal(view, np.full(6, 2.0, np.float32))
    v.assign(minicnn.Tensor(np.zeros((2, 3), np.float32)))
    assert v.data is buffer and view.sum() == 0


def test_assign_checks_shape_and_value():
    v = minicnn.Variable(np.zeros((3, 2), np.float32), name="k")
    with pytest.raises(ValueError, match=r"variable.shape=\(3, 2\).*value.shape=\(2, 2\)"):
        v.assign(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(4,\) does not broadcast"):
        v.assign_add(np.zeros(4))
    with pytest.raises(TypeError, match="cannot convert"):
        v.assign("abc")
    np.testing.assert_array_equal(v.numpy(), 0)


def test_numpy_is_a_copy_and_value_is_the_tensor():
    v = minicnn.Variable(np.ones(2, np.float32))
    snapshot = v.numpy()
    v.assign([5.0, 5.0])
    np.testing.assert_array_equal(snapshot, [1.0, 1.0])
    assert v.value is v and isinstance(v, minicnn.Tensor)


def test_gradient_reaches_v_value_grad():
    v = minicnn.Variable(np.array([1.0, 2.0], np.float32))
    assert v.requires_grad
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.value.grad, [2.0, 4.0])


def test_trainable_controls_requires_grad():
    v = minicnn.Variable(np.zeros(2, np.float32), trainable=False)
    assert not v.trainable and not v.requires_grad
    v.trainable = True
    assert v.requires_grad
    counter = minicnn.Variable(np.zeros((), np.int64))
    assert counter.trainable and not counter.requires_grad  # integers have no gradient


def test_repr_is_keras_like():
    v = minicnn.Variable(np.array([[1.0, 2.0]], np.float32), name="kernel")
    assert repr(v) == "<Variable path=kernel, shape=(1, 2), dtype=float32, value=[[1. 2.]]>"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="aggregation"):
        minicnn.Variable(0.0, aggregation="max")
    with pytest.raises(ValueError, match="name"):
        minicnn.Variable(0.0, name="a/b")
    with pytest.raises(TypeError, match="dtype"):
        minicnn.Variable(np.array(["x"]))


def test_name_scopes_nest_and_deduplicate_per_caller():
    owner = object()
    with name_scope("outer"):
        with name_scope("inner", caller=owner), name_scope("inner", caller=owner):
            v = minicnn.Variable(0.0, name="v")
    assert v.path == "outer/inner/v"
    assert minicnn.Variable(0.0, name="w").path == "w"


def test_paths_follow_keras():
    minicnn.layers.clear_session()
    seq = minicnn.Sequential([minicnn.Input((3,)), layers.Dense(2)])
    assert [v.path for v in seq.weights] == ["sequential/dense/kernel", "sequential/dense/bias"]
    lazy = minicnn.Sequential([layers.Dense(2, name="d")], name="lazy")
    lazy.build((None, 3))
    assert [v.path for v in lazy.weights] == ["lazy/d/kernel", "lazy/d/bias"]
    inp = minicnn.Input((3,))
    fn = minicnn.Model(inp, layers.Dense(2, name="top")(inp))
    assert [v.path for v in fn.weights] == ["top/kernel", "top/bias"]

    class Sub(minicnn.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = layers.Dense(2, name="inner")

        def call(self, x):
            return self.inner(x)

    sub = Sub(name="sub")
    sub(np.ones((1, 3)))
    assert [v.path for v in sub.weights] == ["sub/inner/kernel", "sub/inner/bias"]
    alone = layers.Conv2D(2, 3, name="c")
    assert alone.path is None
    alone.build((None, 5, 5, 1))
    assert alone.path == "c" and alone.kernel.path == "c/kernel"
