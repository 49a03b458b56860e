"""benchmarks/bench_onnx.py still runs (nothing else imports it): one tiny case, one round."""

import os
import re
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "benchmarks")


@pytest.mark.skipif(not os.path.isdir(BENCH), reason="no benchmarks/ beside tests/ (installed wheel)")
def test_bench_onnx_prints_a_row(onnx, ort):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    p = subprocess.run([sys.executable, "bench_onnx.py", "--models", "lenet", "--threads", "1",
                        "--batch-sizes", "1,3", "--repeats", "1", "--seconds", "0.01"],
                       cwd=BENCH, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "CPU: " in p.stdout
    rows = [line for line in p.stdout.splitlines() if line.startswith("| lenet |")]
    assert len(rows) == 2 and all(re.search(r"\| \d+\.\d\d \|$", r) for r in rows), p.stdout
