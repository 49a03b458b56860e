"""The tuning table: read-only, filled once at import, overridable through MINICNN_TUNING for
benchmarks -- which also lets a test run the kernels with tiny scratch blocks (many blocks, blocks
smaller than an image) and check them against the reference at several thread counts."""

import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn._kernels import _tuning


def _python(code, tuning):
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(minicnn.__file__)))
    env = dict(os.environ, MINICNN_TUNING=tuning, OMP_WAIT_POLICY="PASSIVE",
               PYTHONPATH=pkg_parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # cwd: from a source checkout `python -c` would import the uncompiled tree first
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True,
                          timeout=300, cwd=pkg_parent)


def test_the_table_is_read_only_and_starts_from_the_defaults():
    table = _tuning.table()
    with pytest.raises(TypeError):
        table["cols_budget"] = 1
    if not os.environ.get("MINICNN_TUNING"):
        assert dict(table) == _tuning.DEFAULTS


def test_bad_overrides_warn_and_are_ignored():
    out = _python("from minicnn._kernels import _tuning; t = _tuning.table()\n"
                  "print(t['cols_budget'], t['parts_max'], t['relu_block_rows'])",
                  "cols_budget=4096, nosuch=3, parts_max=-2, relu_block_rows=0, units_per_thread=x")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4096", "16", "256"]
    for what in ("'nosuch'", "parts_max=-2", "relu_block_rows=0", "units_per_thread=x"):
        assert what in out.stderr and "RuntimeWarning" in out.stderr


SMALL_BLOCKS = r"""
import numpy as np, minicnn
from minicnn._kernels import _openmp, conv
from minicnn.reference import kernels as ref
_openmp.set_size_bars(False)
TOL = {np.float64: 1e-10, np.float32: 2e-4}
cases = [((4, 12, 12, 6), (5, 5, 6, 16), {}),  # LeNet's second conv
         ((7, 13, 11, 3), (3, 3, 3, 5), dict(padding="same", strides=(1, 2))),
         ((5, 6, 6, 2), (2, 2, 2, 3), dict(dilation_rate=2)),
         ((3, 9, 8, 64), (3, 3, 64, 8), dict(padding="same")),
         ((70, 6, 6, 2), (3, 3, 2, 3), {})]
rng = np.random.default_rng(12)
for x_shape, k_shape, opts in cases:
    x, k = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    y64 = ref.conv2d_forward(x, k, **opts)
    dy = rng.standard_normal(y64.shape)
    want = (y64, ref.conv2d_backward_input(dy, k, x_shape, **opts), ref.conv2d_backward_kernel(x, dy, k_shape, **opts)[0])
    for dtype in (np.float64, np.float32):
        xt, kt, dyt = x.astype(dtype), k.astype(dtype), dy.astype(dtype)
        for alg in (None, conv.Algorithm.IM2COL, conv.Algorithm.ROW_PARTS):
            runs = []
            for threads in (1, 2, 3):
                with minicnn.num_threads(threads):
                    runs.append((conv.conv2d_forward(xt, kt, **opts),
                                 conv.conv2d_backward_input(dyt, kt, x_shape, **opts),
                                 conv.conv2d_backward_kernel(xt, dyt, k_shape, algorithm=alg, **opts)[0]))
            for run in runs[1:]:
                for a, b in zip(runs[0], run):
                    assert np.array_equal(a, b), (x_shape, alg, dtype)
            for got, exp in zip(runs[0], want):
                np.testing.assert_allclose(got, exp, rtol=TOL[dtype], atol=TOL[dtype])
print("ok", conv.plan("backward_kernel", (4, 12, 12, 6), (5, 5, 6, 16)).rows)
"""


@pytest.mark.parametrize("budget", [4096, 1 << 14])
def test_small_scratch_blocks_match_reference_at_any_thread_count(budget):
    # A tiny scratch budget forces many row blocks: the kernel gradient then sums partial
    # gradients over row ranges, backward-input groups several images per GEMM (or splits one),
    # and the forward pass splits rows into many units.
    out = _python(SMALL_BLOCKS, f"cols_budget={budget}")
    assert out.returncode == 0, out.stderr[-3000:]
    status, rows = out.stdout.split()
    assert status == "ok" and int(rows) < 256  # the budget reached the plan
