"""``import minicnn`` without the compiled kernels (the root of an unbuilt clone) says what
happened and what to do, instead of "cannot import name '_openmp'"."""

import os
import shutil
import subprocess
import sys

import pytest

import minicnn

PACKAGE = os.path.dirname(os.path.abspath(minicnn.__file__))


def _unbuilt_copy(root, with_setup_py):
    """A copy of the package without its compiled modules, as a fresh clone has it."""
    shutil.copytree(PACKAGE, root / "minicnn",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.dylib", "__pycache__", ".dylibs"))
    if with_setup_py:
        (root / "setup.py").write_text("# the clone's build script\n")
    return root


def _import_in(cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", "import minicnn"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_from_an_unbuilt_source_tree_says_what_to_do(tmp_path):
    out = _import_in(_unbuilt_copy(tmp_path, with_setup_py=True))
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()
    message = "\n".join(last[-3:])
    assert "ImportError: minicnn's compiled kernels could not be imported" in out.stderr, out.stderr
    assert "from its source tree" in message and "without built extensions" in message, message
    assert "pip install ." in message and "build_ext --inplace" in message, message
    assert "Leave the source directory" in message and "pip install -e ." in message, message


def test_import_of_an_installation_without_kernels_says_reinstall(tmp_path):
    out = _import_in(_unbuilt_copy(tmp_path, with_setup_py=False))
    assert "has no compiled kernels" in out.stderr and "--force-reinstall" in out.stderr, out.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="an unloadable shared object, POSIX names")
def test_import_with_a_broken_compiled_module_names_the_load_failure(tmp_path):
    _unbuilt_copy(tmp_path, with_setup_py=True)
    suffix = next(n for n in os.listdir(os.path.join(PACKAGE, "_kernels")) if n.startswith("_openmp.")
                  and not n.endswith((".pyx", ".pxd", ".c")))
    (tmp_path / "minicnn" / "_kernels" / suffix).write_bytes(b"not an ELF file")
    out = _import_in(tmp_path)
    assert "could not be loaded" in out.stderr and "OpenMP runtime" in out.stderr, out.stderr
