"""show_config(): what this build of minicnn is and how it will run."""

import platform
import sys

import numpy as np

from minicnn._kernels import _gemm, _openmp
from minicnn._version import __version__


def _openmp_runtimes():
    """Paths of the OpenMP runtimes loaded in this process (threadpoolctl's view)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [info.get("filepath", "?") for info in threadpool_info() if info.get("user_api") == "openmp"]


def config():
    """The facts show_config() prints, as a dict."""
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "compiler": _openmp.compiler(),
        "openmp": _openmp.openmp_enabled(),
        "openmp_version": _openmp.openmp_version(),
        "openmp_runtimes": _openmp_runtimes(),
        "gemm_kernel": _gemm.kernel_name(np.float32),
        "gemm_kernel_float64": _gemm.kernel_name(np.float64),
        "gemm_kernels_available": list(_gemm.available_kernels()),
        "num_threads": _openmp.get_num_threads(),
    }


def show_config(file=None):
    """Print the version, compiler, OpenMP runtime, GEMM micro-kernels and thread count."""
    c = config()
    omp = f"yes (OpenMP {c['openmp_version']})" if c["openmp"] else "NO (serial build)"
    lines = [
        f"minicnn {c['version']}",
        f"  python        {c['python']} on {c['platform']}",
        f"  numpy         {c['numpy']}",
        f"  compiler      {c['compiler']}",
        f"  openmp        {omp}",
        f"  omp runtime   {', '.join(c['openmp_runtimes']) or 'not loaded / unknown'}",
        f"  gemm kernel   {c['gemm_kernel']} (float32), {c['gemm_kernel_float64']} (float64)",
        f"  available     {', '.join(c['gemm_kernels_available'])} (MINICNN_ARCH choices this CPU runs)",
        f"  threads       {c['num_threads']}",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
