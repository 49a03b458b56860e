from minicnn._kernels._conv_types cimport ConvCall

# Direct loops for few input channels (plan DIRECT); each returns 0, or -1 when out of memory.
cdef int forward(const ConvCall *c) noexcept nogil
cdef int backward_kernel(const ConvCall *c) noexcept nogil
