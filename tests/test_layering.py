"""Knowledge flows one way (STYLE.md, "Layers of the house"), read from the sources' imports."""

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


# A function-local import hides a dependency from the reader; it stays only where a top-level
# import would be a cycle that fails at import time.  Each entry: (file, module) -> the cycle.
TRUE_CYCLES = {
    ("layers/node.py", "minicnn.layers.merging"): "merging -> base -> node",
    ("callbacks/callback.py", "minicnn.callbacks.history"): "History subclasses Callback",
    ("callbacks/callback.py", "minicnn.callbacks.progbar_logger"): "ProgbarLogger subclasses Callback",
    ("export/__init__.py", "minicnn.export.onnx_export"): "models.model -> export -> onnx_export -> graph -> models",
    ("models/model.py", "minicnn.models.functional"): "Functional subclasses Model",
    ("models/summary.py", "minicnn.models.functional"): "functional -> model -> summary",
    ("saving/_keras_config.py", "minicnn.models"): "models -> trainer -> saving",
    ("saving/_keras_h5.py", "minicnn.models"): "models -> trainer -> saving",
    ("saving/keras_file.py", "minicnn.saving.saving_api"): "saving_api -> keras_file",
    ("utils/profiler.py", "minicnn.models.model"): "models -> trainer -> utils -> profiler",
    ("variables.py", "minicnn.layers._context"): "layers/__init__ -> base -> variables",
    ("variables.py", "minicnn.layers._weights"): "layers/__init__ -> base -> variables",
}


SUBMODULES = {str(p.relative_to(PACKAGE.parent).with_suffix("")) for p in PACKAGE.rglob("*.py")}


def function_local_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("minicnn"):
                    for alias in node.names:  # "from minicnn.layers import merging" names a module
                        sub = f"{node.module}.{alias.name}"
                        yield (str(path.relative_to(PACKAGE)),
                               sub if sub.replace(".", "/") in SUBMODULES else node.module, node.lineno)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("minicnn"):
                            yield str(path.relative_to(PACKAGE)), alias.name, node.lineno


def test_function_local_imports_only_break_true_cycles():
    found = list(function_local_imports())
    extra = [f"{f}:{line} imports {m}" for f, m, line in found if (f, m) not in TRUE_CYCLES]
    assert not extra, ("import these at the top of the module (a function-local import is only for "
                       "a true import cycle, listed in TRUE_CYCLES with the cycle): " + "; ".join(extra))
    assert {(f, m) for f, m, _ in found} == set(TRUE_CYCLES)  # no stale entry
