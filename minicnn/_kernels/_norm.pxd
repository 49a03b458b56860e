# What _conv shares with _norm to run batch normalisation's inference step as a conv epilogue
# (the same row kernel over the same repeated per-channel vectors, under the same flushing rule).

from minicnn._kernels._common cimport floating

cdef Py_ssize_t run_len(Py_ssize_t C) noexcept nogil
cdef floating *repeat_to(const floating *v, Py_ssize_t C, Py_ssize_t L) noexcept nogil
cdef bint flushes(Py_ssize_t elements) noexcept nogil
