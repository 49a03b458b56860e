"""What an installed minicnn says about itself: show_config(), config(), the vendored OpenMP
runtime of a repaired wheel, and a light import.

Two environment variables turn on the checks that only hold for some builds:

* ``MINICNN_EXPECT_OPENMP=1``: the kernels must have been built with OpenMP (set by CI jobs
  where a silent fallback to serial kernels would be a bug).
* ``MINICNN_EXPECT_VENDORED_OPENMP=1``: this is a repaired wheel (auditwheel, delocate,
  delvewheel), so the OpenMP runtime must be the copy inside the installed package, and the
  package must carry no build leftovers.  Implies ``MINICNN_EXPECT_OPENMP``.
"""

import importlib.metadata
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn import _config

EXPECT_VENDORED = os.environ.get("MINICNN_EXPECT_VENDORED_OPENMP", "") == "1"
EXPECT_OPENMP = EXPECT_VENDORED or os.environ.get("MINICNN_EXPECT_OPENMP", "") == "1"
PACKAGE_DIR = os.path.dirname(os.path.abspath(minicnn.__file__))

CONFIG_KEYS = {
    "version": str,
    "python": str,
    "platform": str,
    "numpy": str,
    "compiler": str,
    "openmp": bool,
    "openmp_version": int,
    "openmp_runtimes": list,
    "gemm_kernel": str,
    "gemm_kernel_float64": str,
    "gemm_kernels_available": list,
    "num_threads": int,
}


def _run_python(code, **env):
    """Run ``code`` in a fresh interpreter that imports this very minicnn; return its stdout."""
    prelude = f"import sys; sys.path.insert(0, {os.path.dirname(PACKAGE_DIR)!r})\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"subprocess failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _vendor_dirs():
    """Where the wheel repair tools put shared libraries for package ``minicnn``."""
    return [
        PACKAGE_DIR + ".libs",  # auditwheel (Linux) and delvewheel (Windows): site-packages/minicnn.libs
        os.path.join(PACKAGE_DIR, ".dylibs"),  # delocate (macOS): site-packages/minicnn/.dylibs
    ]


def _inside(path, directory):
    path = os.path.normcase(os.path.realpath(path))
    directory = os.path.normcase(os.path.realpath(directory))
    return os.path.commonpath([path, directory]) == directory


# --------------------------------------------------------------------------- config() and show_config()


def test_config_has_every_key_with_its_type():
    c = _config.config()
    missing = set(CONFIG_KEYS) - set(c)
    assert not missing, f"config() lacks {sorted(missing)}"
    for key, typ in CONFIG_KEYS.items():
        assert isinstance(c[key], typ), f"config()[{key!r}] = {c[key]!r} is not a {typ.__name__}"


def test_config_values_are_consistent():
    c = _config.config()
    assert c["version"] == minicnn.__version__
    assert c["numpy"] == np.__version__
    assert c["python"] == sys.version.split()[0]
    assert c["compiler"] and c["compiler"] != "unknown"
    # the selected micro-kernel is one this CPU can run ("avx2_6x16" belongs to arch "avx2")
    kernel, available = c["gemm_kernel"], c["gemm_kernels_available"]
    assert kernel and available, c
    assert any(kernel == a or kernel.startswith(a + "_") for a in available), (kernel, available)
    assert c["num_threads"] == minicnn.get_num_threads() >= 1
    # the OpenMP flag and the _OPENMP date agree (0 means a serial build)
    assert c["openmp"] == (c["openmp_version"] > 0)
    if c["openmp"]:
        assert c["openmp_version"] >= 200203  # OpenMP 2.0 (MSVC) or later


def test_config_is_json_serialisable():
    json.dumps(_config.config())  # so bug reports can attach it


def test_show_config_prints_the_facts():
    c = _config.config()
    buf = io.StringIO()
    minicnn.show_config(file=buf)
    text = buf.getvalue()
    assert f"minicnn {minicnn.__version__}" in text
    assert c["compiler"] in text
    assert np.__version__ in text
    assert "openmp" in text.lower()
    assert ("yes" in text) if c["openmp"] else ("NO" in text)
    assert c["gemm_kernel"] in text
    for kernel in c["gemm_kernels_available"]:
        assert kernel in text
    thread_lines = [line for line in text.splitlines() if line.strip().startswith("threads")]
    assert thread_lines and thread_lines[0].split()[-1] == str(c["num_threads"])
    for runtime in c["openmp_runtimes"]:
        assert runtime in text


def test_show_config_writes_to_stdout_by_default(capsys):
    assert minicnn.show_config() is None
    assert f"minicnn {minicnn.__version__}" in capsys.readouterr().out


def test_show_config_follows_the_thread_setting():
    with minicnn.num_threads(3):
        buf = io.StringIO()
        minicnn.show_config(file=buf)
    line = [line for line in buf.getvalue().splitlines() if line.strip().startswith("threads")][0]
    assert line.split()[-1] == "3"


# --------------------------------------------------------------------------- build expectations


@pytest.mark.skipif(not EXPECT_OPENMP, reason="set MINICNN_EXPECT_OPENMP=1 where the build must have OpenMP")
def test_built_with_openmp():
    c = _config.config()
    assert c["openmp"], f"kernels were built without OpenMP: {c}"
    minicnn.linalg.gemm(np.ones((8, 8)), np.ones((8, 8)))
    assert _config.config()["openmp_runtimes"], "OpenMP build, but threadpoolctl finds no OpenMP runtime loaded"


@pytest.mark.skipif(not EXPECT_VENDORED, reason="only a repaired wheel vendors the OpenMP runtime")
def test_openmp_runtime_is_the_vendored_copy():
    # A fresh interpreter, so no OpenMP runtime that another test module loaded can interfere.
    out = _run_python(
        "import json, numpy as np, minicnn\n"
        "minicnn.linalg.gemm(np.ones((64, 64)), np.ones((64, 64)))\n"
        "print(json.dumps(minicnn._config.config()))\n"
    )
    c = json.loads(out.strip().splitlines()[-1])
    assert c["openmp"], "repaired wheel built without OpenMP"
    runtimes = c["openmp_runtimes"]
    assert runtimes, "no OpenMP runtime loaded"
    dirs = [d for d in _vendor_dirs() if os.path.isdir(d)]
    assert dirs, f"no vendored library directory next to {PACKAGE_DIR}: looked for {_vendor_dirs()}"
    outside = [r for r in runtimes if not any(_inside(r, d) for d in dirs)]
    assert not outside, f"OpenMP runtime(s) loaded from outside the wheel: {outside}; vendored dirs: {dirs}"


@pytest.mark.skipif(not EXPECT_VENDORED, reason="only checked against an installed wheel")
def test_installed_wheel_is_clean_and_matches_its_metadata():
    assert importlib.metadata.version("minicnn") == minicnn.__version__
    assert "site-packages" in PACKAGE_DIR.replace("\\", "/"), f"not an installed package: {PACKAGE_DIR}"
    junk = []
    for root, dirs, files in os.walk(PACKAGE_DIR):
        junk += [os.path.join(root, d) for d in dirs if d == "build"]
        junk += [os.path.join(root, f) for f in files if f.endswith((".c", ".o", ".obj", ".cpp"))]
    assert not junk, f"build leftovers in the installed package: {junk}"


# --------------------------------------------------------------------------- a light import

# Never imported, not even tried: frameworks and test tools.
FORBIDDEN = ("torch", "tensorflow", "jax", "keras", "matplotlib", "pandas", "sklearn",
             "pytest", "hypothesis", "IPython")
# Optional accelerators a module may try lazily, but never load as a side effect of `import minicnn`.
NOT_LOADED = FORBIDDEN + ("scipy", "numba")


def test_import_does_not_pull_in_heavy_packages():
    # A finder placed first refuses every forbidden package and records the attempt, so an import
    # (even one guarded by try/except ImportError) fails this test whether or not it is installed.
    code = (
        f"FORBIDDEN, NOT_LOADED = {FORBIDDEN!r}, {NOT_LOADED!r}\n"
        "tried = []\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in FORBIDDEN:\n"
        "            tried.append(name)\n"
        "            raise ImportError('refused by test: ' + name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import minicnn\n"
        "minicnn.set_num_threads(1)\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & set(NOT_LOADED)\n"
        "print(sorted(set(tried) | loaded))\n"
    )
    out = _run_python(code)
    assert out.strip().splitlines()[-1] == "[]", f"import minicnn imported (or tried to): {out.strip()}"
