"""Which instruction set's kernels run: one table per instruction set, chosen once, at import.

Every compiled kernel family -- GEMM micro-kernels, the direct conv loops, pooling rows, the
elementwise kernels, batch norm, Adam, the Winograd transforms -- comes from one kernel table
(src/kernels.h).  The
reference table (the target's baseline, always built) is registered first, then each
instruction set this build compiled a unit for (src/registry.c); at import the best one this CPU
and OS can run is chosen (one CPU check: src/cpu_features.c), unless the environment variable
``MINICNN_ARCH`` (reference|avx2|avx512|neon|auto) names another.  A value that is unknown, not
compiled in or not runnable here gives a RuntimeWarning and the automatic choice -- never an
illegal instruction.  This is the one place that reads ``MINICNN_ARCH``.

Tests and benchmarks run another table for one call through the ``isa=`` argument of the
``*_into`` entry points (``kernel=`` for ``gemm_into``).
"""

import os
import warnings

cdef extern from "kernels.h" nogil:
    int minicnn_table_count()
    const minicnn_kernel_table *minicnn_table_at(int i)

ISAS = ("reference", "avx2", "avx512", "neon")
FAMILIES = ("gemm", "conv_direct", "pool", "elementwise", "batch_norm", "adam", "winograd")

cdef const minicnn_kernel_table *_active = NULL


cdef const minicnn_kernel_table *active() noexcept nogil:
    return _active


def compiled():
    """The instruction sets whose tables are compiled into this build (reference first)."""
    return [minicnn_table_at(i).isa.decode() for i in range(minicnn_table_count())]


def available():
    """The instruction sets this CPU can run, in order of preference (reference first, best last):
    the values ``MINICNN_ARCH`` and ``isa=`` accept.

    >>> available()[0]
    'reference'
    """
    return [minicnn_table_at(i).isa.decode() for i in range(minicnn_table_count())
            if minicnn_table_at(i).runnable()]


cdef const minicnn_kernel_table *table(isa) except NULL:
    cdef int i
    cdef const minicnn_kernel_table *t
    if isa is None:
        return _active
    for i in range(minicnn_table_count()):
        t = minicnn_table_at(i)
        if isa == t.isa.decode():
            if not t.runnable():
                raise ValueError(f"isa {isa!r} is compiled in but this CPU/OS cannot run it; available: {available()}")
            return t
    raise ValueError(f"unknown isa {isa!r}; available on this CPU: {available()}")


def active_isa():
    """The instruction set whose kernels run (chosen at import)."""
    return _active.isa.decode()


def kernel_names(isa=None):
    """{family: the kernel that runs it} for instruction set ``isa`` (None: the chosen one)."""
    cdef const minicnn_kernel_table *t = table(isa)
    return {"gemm": f"{t.gemm.sname.decode()} (float32), {t.gemm.dname.decode()} (float64)",
            "conv_direct": t.conv_direct.name.decode(), "pool": t.pool.name.decode(),
            "elementwise": t.elementwise.name.decode(), "batch_norm": t.batch_norm.name.decode(),
            "adam": t.adam.name.decode(), "winograd": t.winograd.name.decode()}


def _choose():
    """The table for this process: the best runnable one, or MINICNN_ARCH's."""
    global _active
    cdef int i
    _active = minicnn_table_at(0)
    for i in range(1, minicnn_table_count()):
        if minicnn_table_at(i).runnable():
            _active = minicnn_table_at(i)
    wanted = os.environ.get("MINICNN_ARCH", "").strip().lower()
    if wanted in ("", "auto"):
        return
    fallback = _active.isa.decode()
    if wanted not in ISAS:
        warnings.warn(f"MINICNN_ARCH={wanted!r} is not one of {', '.join(ISAS + ('auto',))}; using {fallback!r}",
                      RuntimeWarning, stacklevel=3)
    elif wanted not in compiled():
        warnings.warn(f"MINICNN_ARCH={wanted!r}: that kernel table is not compiled into this build "
                      f"(compiled: {compiled()}); using {fallback!r}", RuntimeWarning, stacklevel=3)
    elif wanted not in available():
        warnings.warn(f"MINICNN_ARCH={wanted!r}: this CPU/OS cannot run it (available: {available()}); "
                      f"using {fallback!r}", RuntimeWarning, stacklevel=3)
    else:
        _active = table(wanted)


_choose()
