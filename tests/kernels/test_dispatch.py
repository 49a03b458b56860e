"""The kernel tables: one per instruction set compiled in, chosen once (MINICNN_ARCH honoured), and
every family of every table this CPU can run computes what the reference table computes -- bit for
bit where the family has no fused multiply-add (pooling, elementwise, batch norm, Adam), to
rounding where it fuses (the direct conv loops; the GEMM: test_gemm.py).  Since every table is
compiled from the same templates, the tables a CPU runs validate the code of the others (an
AVX-512 CPU runs the avx512 table here too: the tests take every table of ``available()``)."""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn._kernels import _dispatch, _optim, conv, elementwise, norm, pool

# Thread-count checks must reach the parallel paths on small shapes (see conftest.py).
pytestmark = pytest.mark.usefixtures("threads_from_any_size")

ISAS = _dispatch.available()
OTHERS = ISAS[1:] or ["reference"]  # compared with the reference table
DTYPES = [np.float32, np.float64]


def test_tables():
    compiled = _dispatch.compiled()
    assert compiled[0] == ISAS[0] == "reference" and set(ISAS) <= set(compiled)
    if not os.environ.get("MINICNN_ARCH"):
        assert _dispatch.active_isa() == ISAS[-1]  # the best this CPU runs
    if platform.machine().lower() in ("x86_64", "amd64"):
        # built whatever the build machine runs: wheels carry them to CPUs that have them
        assert {"avx2", "avx512"} <= set(compiled)
    for isa in ISAS:
        names = _dispatch.kernel_names(isa)
        assert set(names) == set(_dispatch.FAMILIES)
        assert all(name.startswith(isa) for name in names.values()), names


def test_a_table_this_cpu_cannot_run_is_refused():
    x = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="unknown isa 'sse9'"):
        conv.conv2d_forward(x, np.ones((2, 2, 1, 1), np.float32), isa="sse9")
    for isa in set(_dispatch.compiled()) - set(ISAS):
        with pytest.raises(ValueError, match="cannot run"):
            pool.max_pool2d_forward(x, isa=isa)


# ------------------------------------------------------------------ MINICNN_ARCH

def _in_subprocess(code, arch):
    env = dict(os.environ, MINICNN_ARCH=arch)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(minicnn.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    # cwd: `python -c` puts the working directory first on sys.path, and from a source checkout
    # that would import the uncompiled tree instead of this very (installed or built) minicnn.
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=pkg_parent)


PROBE = ("import numpy as np, minicnn; from minicnn._kernels import _dispatch\n"
         "a = np.arange(20.0, dtype=np.float32).reshape(4, 5)\n"
         "assert np.allclose(minicnn.linalg.gemm(a, a, trans_b=True), a @ a.T)\n"
         "print(_dispatch.active_isa(), sorted(set(n.split()[0].split('_')[0] for n in _dispatch.kernel_names().values())))")


@pytest.mark.parametrize("arch", ISAS)
def test_minicnn_arch_forces_every_family(arch):
    out = _in_subprocess(PROBE, arch)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{arch} {[arch]}"
    assert "RuntimeWarning" not in out.stderr


@pytest.mark.parametrize("arch", ["pentium4", "avx512", "neon", "AUTO"])
def test_minicnn_arch_bad_value_falls_back(arch):
    out = _in_subprocess(PROBE, arch)
    assert out.returncode == 0, out.stderr  # never an illegal instruction
    if arch.lower() in ISAS or arch.lower() == "auto":
        assert "RuntimeWarning" not in out.stderr
        return
    assert "RuntimeWarning" in out.stderr and "MINICNN_ARCH" in out.stderr
    assert out.stdout.split()[0] == ISAS[-1]


# ------------------------------------------------------------------ every table computes the reference's numbers

def _same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("isa", OTHERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pooling_rows_are_bitwise_the_reference(isa, dtype):
    rng = np.random.default_rng(0)
    for C in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24, 32, 33, 64):  # every vector width and its tails
        x = rng.integers(-3, 4, (2, 9, 8, C)).astype(dtype)  # ties
        x.flat[::13] = np.nan
        runs = []
        for which in ("reference", isa):
            y, arg = pool.max_pool2d_forward(x, isa=which)
            dy = np.cos(np.arange(y.size, dtype=dtype)).reshape(y.shape)
            runs.append((y, arg, pool.max_pool2d_forward(x, argmax=False, isa=which)[0],
                         pool.max_pool2d_backward(dy, arg, x.shape, isa=which)))
        for a, b in zip(*runs):
            assert _same(a, b), (C, isa)


@pytest.mark.parametrize("isa", OTHERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_and_batch_norm_are_bitwise_the_reference(isa, dtype):
    rng = np.random.default_rng(1)
    for shape in ((3, 7, 5, 6), (40, 70), (2, 9, 9, 32), (1000, 3)):
        C = shape[-1]
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
        gamma = rng.uniform(0.5, 1.5, C).astype(dtype)
        beta = rng.standard_normal(C).astype(dtype)
        runs = []
        for which in ("reference", isa):
            mean, var = norm.batch_norm_statistics(x, isa=which)
            m, inv = mean.astype(dtype), (1 / np.sqrt(var + 1e-3)).astype(dtype)
            runs.append((mean, var, *elementwise.relu_mask_bias_grad(g, y, isa=which), elementwise.bias_grad(g, isa=which),
                         norm.batch_norm_forward(x, m, inv, gamma, beta, relu=True, isa=which),
                         *norm.batch_norm_backward(g, x, m, inv, gamma, isa=which),
                         norm.batch_norm_backward(g, x, m, inv, gamma, training=False, isa=which)[0]))
        for a, b in zip(*runs):
            assert _same(a, b), (shape, isa)


@pytest.mark.parametrize("isa", OTHERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_is_bitwise_the_reference(isa, dtype):
    rng = np.random.default_rng(2)
    n = 1031  # vector bodies and tails
    start = [rng.standard_normal(n).astype(dtype) for _ in range(3)]
    start[2] = np.abs(start[2])  # v >= 0
    runs = []
    for which in ("reference", isa):
        w, m, v = (a.copy() for a in start)
        for step in range(3):
            g = np.sin(np.arange(n) + step).astype(dtype)
            _optim.adam_update_into(w, g, m, v, 0.1, 0.001, 0.01 * (step + 1), 1e-7, isa=which)
        runs.append((w, m, v))
    for a, b in zip(*runs):
        assert _same(a, b)


@pytest.mark.parametrize("isa", OTHERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_conv_loops_match_the_reference_table(isa, dtype):
    """The direct loops fuse their multiply-adds where the instruction set has FMA, so other tables
    match the reference table to rounding, and each table is the same at any thread count."""
    rng = np.random.default_rng(3)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for x_shape, k_shape, opts in [((3, 28, 28, 1), (5, 5, 1, 6), {}),
                                   ((2, 9, 30, 1), (3, 3, 1, 36), dict(padding="same")),
                                   ((2, 10, 12, 3), (3, 3, 3, 20), dict(padding="same", strides=(1, 2))),
                                   ((2, 6, 50, 1), (2, 3, 1, 64), {})]:
        x = rng.standard_normal(x_shape).astype(dtype)
        k = rng.standard_normal(k_shape).astype(dtype)
        b = rng.standard_normal(k_shape[3]).astype(dtype)
        runs = []
        for which in ("reference", isa, isa):
            with minicnn.num_threads(1 if len(runs) < 2 else 2):
                y = conv.conv2d_forward(x, k, b, relu=True, algorithm=conv.Algorithm.DIRECT, isa=which, **opts)
                dy = np.cos(np.arange(y.size)).reshape(y.shape).astype(dtype)
                runs.append((y, *conv.conv2d_backward_kernel(x, dy, k_shape, relu_output=y, isa=which,
                                                             algorithm=conv.Algorithm.DIRECT, **opts)))
        for a, b2, c in zip(*runs):
            np.testing.assert_allclose(b2, a, **tol)
            assert _same(b2, c)  # thread count
