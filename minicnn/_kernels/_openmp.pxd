# Thread-count decisions for every kernel, in one place.

cdef extern from "omp_compat.h":
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil

cdef int max_threads() noexcept nogil
cdef int clamp_threads(Py_ssize_t work_chunks) noexcept nogil
cdef bint size_bars() noexcept nogil
cdef int threads_for(double work, double bar, Py_ssize_t work_chunks) noexcept nogil
cdef bint passive_wait() noexcept nogil
