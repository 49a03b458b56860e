from minicnn._kernels._conv_types cimport ConvCall

# Winograd F(2x2, 3x3) (plan WINOGRAD); returns 0, or -1 when out of memory.
cdef int forward(const ConvCall *c) noexcept nogil
