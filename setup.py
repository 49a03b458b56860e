"""Build script for minicnn's compiled kernels.

Everything that decides how the kernels are compiled lives here, in one place:

* ``EXTENSIONS`` lists every extension module and its sources; ``ISA_UNITS`` the
  kernel-table units linked into ``_dispatch``: one per instruction set, compiled from
  the same sources with that set's flags (``ISA_FLAGS``) and chosen at run time, so
  wheels stay portable: never ``-march=native``.
* ``cython_directives()`` sets the Cython directives for the whole build;
  ``MINICNN_CYTHON_DEBUG=1`` turns bounds/wraparound/initialisation checks on.
* ``BuildExt`` picks optimisation and OpenMP flags per compiler and proves that
  OpenMP works by compiling *and running* a tiny program.  Where it does not (or
  with ``MINICNN_NO_OPENMP=1``) the kernels are built serial, and the build says so.

Environment switches:
  MINICNN_NO_OPENMP=1     build serial kernels
  MINICNN_CYTHON_DEBUG=1  Cython checks on, -O1 -g
  MINICNN_SANITIZE=address,undefined   compile and link with sanitizers (implies debug info)
  LIBOMP_PREFIX=/path     where libomp lives for Apple clang (default: brew --prefix libomp)
"""

import glob
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = "minicnn/_kernels"
SRC = f"{KERNELS}/src"

# name -> (pyx sources, C sources compiled with the extension's flags)
EXTENSIONS = {
    "_openmp": ([f"{KERNELS}/_openmp.pyx"], []),
    "_tuning": ([f"{KERNELS}/_tuning.pyx"], []),
    "_dispatch": ([f"{KERNELS}/_dispatch.pyx"], [f"{SRC}/cpu_features.c", f"{SRC}/registry.c"]),
    "_gemm": ([f"{KERNELS}/_gemm.pyx"], []),
    "_conv": ([f"{KERNELS}/_conv.pyx"], []),
    "_conv_im2col": ([f"{KERNELS}/_conv_im2col.pyx"], []),
    "_conv_direct": ([f"{KERNELS}/_conv_direct.pyx"], []),
    "_conv_winograd": ([f"{KERNELS}/_conv_winograd.pyx"], []),
    "_conv_depthwise": ([f"{KERNELS}/_conv_depthwise.pyx"], []),
    "_elementwise": ([f"{KERNELS}/_elementwise.pyx"], []),
    "_pool": ([f"{KERNELS}/_pool.pyx"], []),
    "_norm": ([f"{KERNELS}/_norm.pyx"], []),
    "_mempool": ([f"{KERNELS}/_mempool.pyx"], []),
    "_optim": ([f"{KERNELS}/_optim.pyx"], []),
}

HEADERS = sorted(glob.glob(f"{KERNELS}/*.h") + glob.glob(f"{SRC}/*.h"))

# The kernel tables (src/kernels.h), linked into _dispatch: one unit per instruction set, compiled
# from the same sources (table.c instantiates every family's template) with that set's flags,
# plus the set's GEMM micro-kernels.  The reference unit (the target's baseline) is always built;
# the others where the target architecture has them and the compiler takes their flags.
ISA_UNITS = {isa: [f"{SRC}/table.c", f"{SRC}/ukernel_{'ref' if isa == 'reference' else isa}.c"]
             for isa in ("reference", "avx2", "avx512", "neon")}

# Per-ISA compiler flags: (gcc/clang, MSVC).
ISA_FLAGS = {
    "reference": ([], []),
    "avx2": (["-mavx2", "-mfma"], ["/arch:AVX2"]),
    "avx512": (["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"], ["/arch:AVX512"]),
    "neon": ([], []),  # NEON is baseline on aarch64
}

# Every unit, (gcc/clang, MSVC): each product rounded before its sum unless a kernel asks for a
# fused multiply-add (src/simd.h's VFMA), so every instruction set computes a family's numbers the
# same way (Adam: bitwise the NumPy update); sqrt without an errno path (Adam's inputs are >= 0),
# so it vectorises.  MSVC contracts only under /fp:fast or /fp:contract and keeps no errno.
UNIT_FLAGS = (["-ffp-contract=off", "-fno-math-errno"], [])


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


DEBUG = _env_flag("MINICNN_CYTHON_DEBUG")
SANITIZE = [s for s in os.environ.get("MINICNN_SANITIZE", "").split(",") if s.strip()]


def cython_directives():
    """The Cython directives for every module, in one place."""
    checks = DEBUG
    return {
        "language_level": 3,
        "boundscheck": checks,
        "wraparound": checks,
        "initializedcheck": checks,
        "nonecheck": checks,
        "cdivision": not checks,
        "embedsignature": True,
    }


def _target_arch():
    machine = platform.machine().lower()
    # cibuildwheel cross-builds macOS x86_64 on arm64 via ARCHFLAGS; honour it.
    archflags = os.environ.get("ARCHFLAGS", "")
    if sys.platform == "darwin" and archflags:
        if "x86_64" in archflags and "arm64" not in archflags:
            return "x86_64"
        if "arm64" in archflags and "x86_64" not in archflags:
            return "arm64"
    if machine in ("x86_64", "amd64", "x64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return machine


def _isas_for_target():
    """The optional instruction sets of the target architecture (the reference unit is always built)."""
    arch = _target_arch()
    if arch == "x86_64":
        return ["avx2", "avx512"]
    if arch == "arm64":
        return ["neon"]
    return []


OPENMP_PROBE = textwrap.dedent(
    r"""
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel num_threads(2) reduction(+:n)
        n += 1;
        printf("%d %d\n", n, omp_get_max_threads());
        return n >= 1 ? 0 : 1;
    }
    """
)


class BuildExt(build_ext):
    """Chooses flags per compiler, probes OpenMP, compiles per-ISA translation units."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # build the extension modules side by side
            self.parallel = os.cpu_count() or 1

    def _flags(self):
        ctype = self.compiler.compiler_type
        if ctype == "msvc":
            opt = ["/Od", "/Zi"] if (DEBUG or SANITIZE) else ["/O2"]
            return {"cflags": opt, "ldflags": [], "omp_c": ["/openmp"], "omp_l": [], "kind": "msvc"}
        opt = ["-O1", "-g"] if (DEBUG or SANITIZE) else ["-O3", "-g0"]
        cflags = opt + ["-fno-strict-aliasing", "-fvisibility=hidden", "-Wno-unused-function"]
        ldflags = [] if (DEBUG or SANITIZE) else ["-g0"]
        if SANITIZE:
            san = "-fsanitize=" + ",".join(SANITIZE)
            cflags += [san, "-fno-omit-frame-pointer"]
            ldflags += [san]
        if sys.platform == "darwin":
            prefix = os.environ.get("LIBOMP_PREFIX") or self._brew_libomp()
            omp_c = ["-Xpreprocessor", "-fopenmp"]
            omp_l = ["-lomp"]
            if prefix:
                omp_c += [f"-I{prefix}/include"]
                omp_l = [f"-L{prefix}/lib", "-lomp", f"-Wl,-rpath,{prefix}/lib"]
            return {"cflags": cflags, "ldflags": ldflags, "omp_c": omp_c, "omp_l": omp_l, "kind": "apple-clang"}
        return {"cflags": cflags, "ldflags": ldflags, "omp_c": ["-fopenmp"], "omp_l": ["-fopenmp"], "kind": "gcc/clang"}

    @staticmethod
    def _brew_libomp():
        brew = shutil.which("brew")
        if not brew:
            return None
        try:
            return subprocess.check_output([brew, "--prefix", "libomp"], text=True).strip() or None
        except (OSError, subprocess.CalledProcessError):
            return None

    def _probe_openmp(self, flags):
        """Compile, link and run a tiny OpenMP program; return (ok, reason)."""
        tmp = tempfile.mkdtemp(prefix="minicnn-omp-")
        try:
            src = os.path.join(tmp, "omp_probe.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=flags["cflags"] + flags["omp_c"])
            exe = os.path.join(tmp, "omp_probe")
            self.compiler.link_executable(objs, exe, extra_postargs=flags["ldflags"] + flags["omp_l"])
            if self.compiler.compiler_type == "msvc":
                exe += ".exe"
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            if out.returncode != 0:
                return False, f"the probe program ran but failed (exit {out.returncode}): {out.stderr.strip()}"
            return True, f"probe ran with {out.stdout.strip().split()[0]} threads"
        except Exception as exc:  # any compile/link/run failure means "no OpenMP here"
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _probe_isa(self, flags, isa_flags):
        tmp = tempfile.mkdtemp(prefix="minicnn-isa-")
        try:
            src = os.path.join(tmp, "isa_probe.c")
            with open(src, "w") as f:
                f.write("int minicnn_isa_probe(int x) { return x + 1; }\n")
            self.compiler.compile([src], output_dir=tmp, extra_postargs=flags["cflags"] + isa_flags)
            return True
        except Exception:
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _build_isa_units(self, ext, flags, isas, msvc):
        """Compile each instruction set's unit (its own object directory: the same sources) and
        link them into ext; registry.c lists the tables of those built (MINICNN_HAVE_<SET>)."""
        for isa in isas:
            macros = ext.define_macros + [(f"MINICNN_ISA_{isa.upper()}", "1"), ("MINICNN_ISA_NAME", isa)]
            ext.extra_objects = list(ext.extra_objects or []) + self.compiler.compile(
                ISA_UNITS[isa],
                output_dir=os.path.join(self.build_temp, "isa", isa),
                macros=macros,
                include_dirs=ext.include_dirs,
                extra_postargs=flags["cflags"] + UNIT_FLAGS[msvc] + ISA_FLAGS[isa][msvc],
                depends=HEADERS,
            )
        ext.define_macros += [(f"MINICNN_HAVE_{isa.upper()}", "1") for isa in isas if isa != "reference"]

    def build_extensions(self):
        flags = self._flags()
        use_omp = not _env_flag("MINICNN_NO_OPENMP")
        if use_omp:
            use_omp, reason = self._probe_openmp(flags)
            if use_omp:
                print(f"minicnn: OpenMP enabled ({flags['kind']}: {' '.join(flags['omp_c'])}; {reason})")
            else:
                print("=" * 78)
                print("minicnn: WARNING: OpenMP does not work with this compiler; building SERIAL kernels.")
                print(f"minicnn: reason: {reason}")
                if sys.platform == "darwin":
                    print("minicnn: on macOS: `brew install libomp` (or set LIBOMP_PREFIX) and rebuild.")
                print("=" * 78)
        else:
            print("minicnn: MINICNN_NO_OPENMP is set: building serial kernels.")

        msvc = self.compiler.compiler_type == "msvc"
        isas = [isa for isa in _isas_for_target() if self._probe_isa(flags, ISA_FLAGS[isa][msvc])]
        print(f"minicnn: target {_target_arch()}, kernel tables built: reference{''.join(', ' + i for i in isas)}")

        for ext in self.extensions:
            ext.extra_compile_args = flags["cflags"] + (flags["omp_c"] if use_omp else [])
            ext.extra_link_args = flags["ldflags"] + (flags["omp_l"] if use_omp else [])
            ext.define_macros.append(("MINICNN_OPENMP_BUILD", "1" if use_omp else "0"))
            if DEBUG or SANITIZE:  # internal consistency checks (parallel.h)
                ext.define_macros.append(("MINICNN_DEBUG", "1"))
            if ext.name.endswith("._dispatch"):
                self._build_isa_units(ext, flags, ["reference"] + isas, msvc)
        super().build_extensions()


def make_extensions():
    only = {s.strip() for s in os.environ.get("MINICNN_ONLY", "").split(",") if s.strip()}
    exts = []
    for name, (pyx, csrc) in EXTENSIONS.items():
        if only and name not in only:
            continue
        ext = Extension(
            f"minicnn._kernels.{name}",
            sources=pyx + csrc,
            include_dirs=[np.get_include(), KERNELS, SRC],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # a changed header rebuilds the modules (setuptools compares times), a changed kernel
            # table unit (table.c, ukernel_*.c: not among _dispatch's own sources) rebuilds _dispatch
            depends=HEADERS + (sorted({s for units in ISA_UNITS.values() for s in units}) if name == "_dispatch" else []),
        )
        exts.append(ext)
    return cythonize(exts, compiler_directives=cython_directives(), include_path=[KERNELS], quiet=True)


setup(ext_modules=make_extensions(), cmdclass={"build_ext": BuildExt})
