"""Subnormal flushing never leaks out of a kernel call, on any thread (fpenv.h, parallel.h).

Each case runs in a fresh process so that the flushing call is the one that makes OpenMP create
its worker threads (a worker copies its creator's control register: created by a flushed caller,
it would start flushed and stay so), then grows the team from 2 to 3 threads with a second call.
After every call a kernel that does not flush (the bias-gradient sum, one filter range per
thread) must still read subnormal inputs as numbers on every thread.
"""

import os
import platform
import subprocess
import sys

import pytest

import minicnn

FLUSHING_CPU = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86", "aarch64", "arm64")

PROBE = r"""
import numpy as np, minicnn
from minicnn._kernels import _elementwise, conv, norm, pool
TINY = np.float32(1e-39)  # a float32 subnormal

def clean_everywhere():
    dy = np.full((4096, 96), TINY, np.float32)  # 4096 * 1e-39 = 4.1e-36: a normal float
    db = np.empty(96, np.float32)
    _elementwise.bias_grad_into(dy, db)  # 96 // 16 ranges: one per thread of a team of up to 6
    return bool(np.all(db > 1e-36))

def x(*shape):
    return np.full(shape, TINY, np.float32)

CALLS = {
    "conv_im2col": lambda: conv.conv2d_forward(x(8, 16, 16, 64), np.ones((3, 3, 64, 64), np.float32)),
    "conv_direct": lambda: conv.conv2d_forward(x(64, 28, 28, 1), np.ones((5, 5, 1, 32), np.float32)),
    "conv_depthwise": lambda: conv.conv2d_forward(x(16, 32, 32, 64), np.ones((5, 5, 1, 64), np.float32),
                                                  groups=64),
    "conv_backward": lambda: (conv.conv2d_backward_input(x(16, 16, 16, 32), np.ones((3, 3, 32, 32), np.float32),
                                                         (16, 18, 18, 32)),
                              conv.conv2d_backward_kernel(x(16, 18, 18, 32), x(16, 16, 16, 32), (3, 3, 32, 32)),
                              conv.conv2d_backward_input(x(8, 16, 16, 64), np.ones((3, 3, 64, 64), np.float32),
                                                         (8, 16, 16, 64), padding="same"),
                              conv.conv2d_backward_kernel(x(64, 28, 28, 3), x(64, 26, 26, 16), (3, 3, 3, 16))),
    "pool": lambda: (pool.avg_pool2d_forward(x(16, 64, 64, 64)), pool.avg_pool2d_backward(x(16, 32, 32, 64),
                                                                                           (16, 64, 64, 64))),
    "norm": lambda: (norm.batch_norm_statistics(x(64, 32, 32, 64)),
                     norm.batch_norm_forward(x(64, 32, 32, 64), np.zeros(64, np.float32), np.ones(64, np.float32)),
                     norm.batch_norm_backward(x(64, 32, 32, 64), x(64, 32, 32, 64), np.zeros(64, np.float32),
                                              np.ones(64, np.float32))),
}

out = CALLS[CASE]()
first = np.asarray(out[0] if isinstance(out, tuple) else out, dtype=np.float64)
for threads in (2, 3):
    with minicnn.num_threads(threads):
        CALLS[CASE]()
        assert clean_everywhere(), f"{CASE}: a thread kept flushing after the call ({threads} threads)"
print("ok", float(np.abs(first).max()))
"""


def _run(case):
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(minicnn.__file__)))
    env = dict(os.environ, PYTHONPATH=pkg_parent + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_WAIT_POLICY="PASSIVE")
    env.pop("OMP_NUM_THREADS", None)
    # cwd: from a source checkout `python -c` would import the uncompiled tree first
    return subprocess.run([sys.executable, "-c", f"CASE = {case!r}\n" + PROBE], env=env, capture_output=True,
                          text=True, timeout=120, cwd=pkg_parent)


@pytest.mark.skipif(not FLUSHING_CPU, reason="flushing is implemented for x86 and AArch64 only")
@pytest.mark.parametrize("case", ["conv_im2col", "conv_direct", "conv_depthwise", "conv_backward", "pool", "norm"])
def test_no_thread_keeps_flushing_after_a_call(case):
    out = _run(case)
    assert out.returncode == 0, out.stderr[-3000:]
    status, value = out.stdout.split()
    assert status == "ok"
    # the calls did flush: subnormal inputs read as zeros inside them (1e-39 * 25 would be normal)
    assert float(value) == 0.0
