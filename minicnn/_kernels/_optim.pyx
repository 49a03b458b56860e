"""Optimizer updates in one pass per variable: the kernel table's adam family (src/adam.h)."""

from minicnn._kernels._common cimport floating
from minicnn._kernels._dispatch cimport minicnn_kernel_table, table


def adam_update_into(floating[::1] w, const floating[::1] g, floating[::1] m, floating[::1] v,
                     double c1, double c2, double alpha, double eps, isa=None):
    """w, m, v (IN/OUT, flat, one length): one Adam step with gradient g (IN); c1 = 1 - beta_1,
    c2 = 1 - beta_2, alpha the bias-corrected step, each rounded to the variable's dtype first
    (as NumPy does with a Python float against a float32 array)."""
    cdef Py_ssize_t n = w.shape[0]
    cdef const minicnn_kernel_table *kt = table(isa)
    if g.shape[0] != n or m.shape[0] != n or v.shape[0] != n:
        raise ValueError(f"adam_update_into: lengths differ: w {n}, g {g.shape[0]}, m {m.shape[0]}, v {v.shape[0]}")
    if n == 0:
        return
    with nogil:
        if floating is float:
            kt.adam.update_f32(&w[0], &g[0], &m[0], &v[0], n, <float>c1, <float>c2, <float>alpha, <float>eps)
        else:
            kt.adam.update_f64(&w[0], &g[0], &m[0], &v[0], n, c1, c2, alpha, eps)
