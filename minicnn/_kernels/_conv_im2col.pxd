from minicnn._kernels._conv_types cimport ConvCall

# im2col + GEMM (plans IM2COL, POINTWISE, ROW_PARTS); each returns 0, or -1 when out of memory.
cdef int forward(const ConvCall *c) noexcept nogil
cdef int backward_input(const ConvCall *c) noexcept nogil
cdef int backward_kernel(const ConvCall *c) noexcept nogil
