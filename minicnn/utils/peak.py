"""How fast this CPU can multiply-add, so that measured GFLOP/s can be read as a share of it.

Two figures, labelled for what they are:

* **FMA peak**: measured by ``benchmarks/peak.py`` (a compiled loop of independent fused
  multiply-adds on the widest vectors the CPU has), cached in
  ``$XDG_CACHE_HOME/minicnn/peak.json`` with the CPU model and flags; :func:`cached_fma_peak`
  returns it when it was measured on this kind of CPU.
* **GEMM peak**: :func:`measure_peak` times minicnn's own float32 GEMM on a 256x256x256 product,
  which stays in the L2 cache, on one thread: what minicnn's best kernel reaches, a lower bound of
  the FMA peak (about 0.85 of it on a Zen 3 core).  No compiler needed.
"""

import json
import os
import platform
import time

import numpy as np

from minicnn import linalg
from minicnn._threads import num_threads

__all__ = ["cpu_info", "cached_fma_peak", "measure_peak", "fma_peak_cache_path"]

_SIMD_FLAGS = {"sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "amx_tile"}


def cpu_info():
    """``(model name, sorted SIMD flags)`` from /proc/cpuinfo (Linux), else from ``platform``."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), sorted(flags & _SIMD_FLAGS)


def isa_name(simd):
    """The widest FMA vectors among ``simd`` flags, in words."""
    if "avx512f" in simd:
        return "AVX-512"
    if "avx2" in simd and "fma" in simd:
        return "AVX2+FMA"
    return "no x86 FMA vectors"


def fma_peak_cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minicnn", "peak.json")


def cached_fma_peak():
    """The FMA peak cached by ``benchmarks/peak.py`` (a dict with ``gflops_per_core``), or None
    when there is none or it was measured on another CPU model or flag set."""
    try:
        with open(fma_peak_cache_path()) as f:
            res = json.load(f)
    except (OSError, ValueError):
        return None
    model, simd = cpu_info()
    if not isinstance(res, dict) or res.get("cpu") != model or res.get("simd") != simd:
        return None
    return res


_measured = {}


def measure_peak(seconds=0.3):
    """The "GEMM peak" of one core: best GFLOP/s of minicnn's float32 GEMM on an L2-resident
    256x256x256 product over ``seconds`` of repeated calls (measured once per process).

    >>> import minicnn
    >>> minicnn.utils.measure_peak()["kind"]
    'GEMM peak'
    """
    if "gemm" not in _measured:
        rng = np.random.default_rng(0)
        a, b = (rng.random((256, 256), dtype=np.float32) for _ in range(2))
        c = np.empty((256, 256), np.float32)
        best, stop = 0.0, time.perf_counter() + seconds
        with num_threads(1):
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                linalg.gemm(a, b, c)
                best = max(best, 2 * 256 ** 3 / (time.perf_counter() - t0))
        model, simd = cpu_info()
        _measured["gemm"] = dict(kind="GEMM peak", gflops_per_core=round(best / 1e9, 1), cpu=model,
                                 isa=isa_name(simd))
    return dict(_measured["gemm"])
