"""show_config(): what this build of minicnn is and how it will run."""

import platform
import sys

import numpy as np

from minicnn._kernels import _dispatch, _gemm, _openmp
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
        "isa": _dispatch.active_isa(),
        "isas_compiled": list(_dispatch.compiled()),
        "kernels": _dispatch.kernel_names(),
        "gemm_kernel": _gemm.kernel_name(np.float32),
        "gemm_kernel_float64": _gemm.kernel_name(np.float64),
        "gemm_kernels_available": list(_dispatch.available()),
        "num_threads": _openmp.get_num_threads(),
    }


def show_config(file=None):
    """Print the version, compiler, OpenMP runtime, the kernel that runs each family of compiled
    kernels on this CPU, and the thread count."""
    c = config()
    omp = f"yes (OpenMP {c['openmp_version']})" if c["openmp"] else "NO (serial build)"
    lines = [
        f"minicnn {c['version']}",
        f"  python        {c['python']} on {c['platform']}",
        f"  numpy         {c['numpy']}",
        f"  compiler      {c['compiler']}",
        f"  openmp        {omp}",
        f"  omp runtime   {', '.join(c['openmp_runtimes']) or 'not loaded / unknown'}",
        f"  kernels       {c['isa']} (this CPU runs {', '.join(c['gemm_kernels_available'])}: the MINICNN_ARCH "
        f"choices; compiled: {', '.join(c['isas_compiled'])})",
    ]
    lines += [f"    {family:<13} {name}" for family, name in c["kernels"].items()]
    lines.append(f"  threads       {c['num_threads']}")
    print("\n".join(lines), file=file if file is not None else sys.stdout)
