"""``minicnn.ops`` is Keras' ``keras.ops``: flat functions, and only Keras' namespaces as public
submodules (so no submodule shadows a function, as ``ops.conv`` once did)."""

import pkgutil
import types

import minicnn
from minicnn import ops

KERAS_NAMESPACES = {"core", "image", "linalg", "math", "nn", "numpy"}


def test_public_submodules_are_keras_namespaces_or_the_op_table():
    public = {m.name for m in pkgutil.iter_modules(ops.__path__) if not m.name.startswith("_")}
    assert public <= KERAS_NAMESPACES | {"registry"}, public - KERAS_NAMESPACES


def test_no_flat_name_is_a_module_except_the_namespaces():
    modules = {name for name in dir(ops) if isinstance(getattr(ops, name), types.ModuleType)
               and not name.startswith("_")}
    assert modules <= KERAS_NAMESPACES | {"registry"}, modules


def test_namespace_functions_are_the_flat_functions():
    for namespace in (ops.core, ops.nn, ops.numpy):  # ops.image.resize is only there, as in Keras
        for name in namespace.__all__:
            assert getattr(ops, name) is getattr(namespace, name), name
            assert callable(getattr(ops, name)), name
    assert set(ops.__all__) >= set(ops.nn.__all__) | set(ops.numpy.__all__) | set(ops.core.__all__)


def test_minicnn_functional_names_still_work():
    x = minicnn.Tensor([[[[1.0], [2.0]], [[3.0], [4.0]]]])
    assert float(ops.max_pool2d(x).numpy().ravel()[0]) == 4.0
    assert ops.conv2d(x, [[[[1.0]]]]).shape == (1, 2, 2, 1)
