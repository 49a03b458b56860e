# The kernels' tuning constants: one read-only table, filled once at import (see _tuning.pyx).
# Every module reads it through the pointer `tuning()` returns, e.g. `cdef const Tuning *T = tuning()`.

cdef struct Tuning:
    # conv (see _conv.pyx's plan)
    Py_ssize_t cols_budget
    Py_ssize_t conv_par_min
    Py_ssize_t units_per_thread
    Py_ssize_t min_unit_rows
    Py_ssize_t transposed_max_f
    Py_ssize_t flipped_min_c
    Py_ssize_t winograd_min_c
    Py_ssize_t winograd_block_bytes
    Py_ssize_t winograd_group_min_c
    Py_ssize_t winograd_group_max_c
    Py_ssize_t winograd_group_min_f
    Py_ssize_t winograd_group_tiles
    Py_ssize_t parts_max
    Py_ssize_t parts_max_elems
    Py_ssize_t direct_max_c
    Py_ssize_t direct_bwd_max_c
    Py_ssize_t direct_max_f
    Py_ssize_t direct_bwd_scratch
    Py_ssize_t direct_bwd_blocks
    # elementwise
    Py_ssize_t relu_block_rows
    Py_ssize_t elementwise_par_min
    Py_ssize_t add_relu_block
    # gemm
    Py_ssize_t gemm_par_min
    Py_ssize_t gemm_rowa_max_n
    Py_ssize_t gemm_cola_max_n
    Py_ssize_t gemm_chunks_per_thread
    # pooling
    Py_ssize_t pool_par_min
    # batch norm
    Py_ssize_t bn_block_elems
    Py_ssize_t bn_min_block_rows
    Py_ssize_t bn_group_min
    Py_ssize_t bn_par_min
    # subnormal flushing
    Py_ssize_t flush_min_work

cdef const Tuning *tuning() noexcept nogil
