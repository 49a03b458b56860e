from minicnn._kernels._conv_types cimport ConvCall, Geom

# Direct loops for few input channels (plan DIRECT); each returns 0, or -1 when out of memory.
cdef int forward(const ConvCall *c) noexcept nogil
cdef int backward_kernel(const ConvCall *c) noexcept nogil
# Bytes of the kernel gradient's per-thread scratch (the plan keeps it within direct_bwd_scratch).
cdef Py_ssize_t backward_scratch_bytes(const Geom *g, Py_ssize_t itemsize) noexcept nogil
cdef int small_isa() noexcept nogil
