from minicnn._kernels._dispatch cimport minicnn_kernel_table

# Elementwise passes over an (M, F) view (float32 when not dbl, else float64); each returns 0, or
# -1 when out of memory.  dy, y IN; out, db OUT; kt: the instruction set's kernels (_dispatch.pxd).

# out = dy * (y > 0); db (or NULL) = out summed over rows in fixed blocks of relu_block_rows
cdef int relu_mask_sums(const minicnn_kernel_table *kt, const void *dy, const void *y, void *out, void *db,
                        Py_ssize_t M, Py_ssize_t F, bint dbl) noexcept nogil
# db = dy summed over rows, in double, row after row
cdef int column_sums(const minicnn_kernel_table *kt, const void *dy, void *db, Py_ssize_t M, Py_ssize_t F,
                     bint dbl) noexcept nogil
