from minicnn._kernels._conv_types cimport ConvCall

# Depthwise direct loops (plan DEPTHWISE); each returns 0.
cdef int forward(const ConvCall *c) noexcept nogil
cdef int backward_input(const ConvCall *c) noexcept nogil
cdef int backward_kernel(const ConvCall *c) noexcept nogil
