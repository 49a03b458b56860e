"""Knowledge flows one way (docs: STYLE.md, "Layers of the house"): read from the sources' imports."""

import ast
import pathlib

import minicnn

PACKAGE = pathlib.Path(minicnn.__file__).parent


def imported_modules(subpackage):
    """(file, module) for every import statement, at any depth, in a subpackage's files."""
    for path in sorted((PACKAGE / subpackage).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path.name, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield path.name, node.module
                yield from ((path.name, f"{node.module}.{alias.name}") for alias in node.names)


def test_autograd_imports_no_kernel_and_no_layer_above_it():
    above = ("minicnn._kernels", "minicnn.linalg", "minicnn.ops", "minicnn.layers", "minicnn.models")
    bad = [(f, m) for f, m in imported_modules("autograd") if m.startswith(above)]
    assert not bad, bad


def test_layers_reach_ops_by_a_plain_import_and_never_the_kernels():
    seen = list(imported_modules("layers"))
    assert not [(f, m) for f, m in seen if m.startswith(("minicnn._kernels", "minicnn.linalg"))]
    # Only the public namespace, imported plainly: no private op module, no lazy proxy by name.
    assert not [(f, m) for f, m in seen if m.startswith("minicnn.ops") and m != "minicnn.ops"]
    assert ("core.py", "minicnn.ops") in seen
    assert not [p.name for p in (PACKAGE / "layers").rglob("*.py") if '"minicnn.ops"' in p.read_text()]


def test_tensor_operators_run_the_elementary_functions_of_ops():
    from minicnn.autograd import tensor
    from minicnn.ops import _elementary

    assert tensor._ops is _elementary
    y = minicnn.Tensor([2.0], requires_grad=True) * 3.0
    assert y._ctx.fn is _elementary.Mul
