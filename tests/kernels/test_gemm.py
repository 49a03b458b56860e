"""The GEMM against numpy: every kernel this CPU can run, both dtypes, all transposes,
edge tiles around MR/NR and the block sizes, leading dimensions, alpha/beta, thread-count
independence, and the errors of minicnn.linalg.gemm.  (MINICNN_ARCH: test_dispatch.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn._kernels import _dispatch, _gemm

KERNELS = _dispatch.available()
DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (False, True), (True, False), (True, True)]


def _tol(dtype, k):
    # float32 accumulation in a different order than numpy's BLAS: error grows ~ sqrt(k)
    eps = np.finfo(dtype).eps
    return 8 * eps * max(1.0, np.sqrt(k))


def _operands(rng, m, n, k, dtype, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def _reference(a, b, c, alpha, beta, trans_a, trans_b):
    """Plain numpy in float64: the oracle."""
    oa = (a.T if trans_a else a).astype(np.float64)
    ob = (b.T if trans_b else b).astype(np.float64)
    out = alpha * (oa @ ob)
    if beta != 0:
        out += beta * c.astype(np.float64)
    return out


def _check(got, want, dtype, k):
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    err = float(np.abs(got.astype(np.float64) - want).max(initial=0.0)) / scale
    assert err <= _tol(dtype, k), f"max rel error {err:.3g} > {_tol(dtype, k):.3g}"


def _run(kernel, m, n, k, dtype, trans_a, trans_b, alpha=1.0, beta=0.0, threads=1, seed=0):
    rng = np.random.default_rng(seed)
    a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    _gemm.gemm_into(a, b, c, alpha, beta, trans_a, trans_b, kernel=kernel, num_threads=threads)
    _check(c, _reference(a, b, c0, alpha, beta, trans_a, trans_b), dtype, k)
    return c


def test_every_table_has_a_gemm_micro_kernel():
    assert KERNELS[0] == "reference"
    assert _gemm.kernel_name().split("_")[0] == _dispatch.active_isa()
    for kern in KERNELS:
        for dt in DTYPES:
            name = _gemm.kernel_name(dt, kernel=kern)
            blk = _gemm.kernel_blocking(dt, kernel=kern)
            assert name == f"{kern}_{blk['mr']}x{blk['nr']}"
            assert blk["mc"] % blk["mr"] == 0 and blk["nc"] % blk["nr"] == 0
    cfg = minicnn._config.config()
    assert cfg["gemm_kernel"] == _gemm.kernel_name()
    assert cfg["gemm_kernels_available"] == KERNELS


def test_unknown_kernel_raises():
    a = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="unknown isa"):
        _gemm.gemm_into(a, a, a.copy(), 1.0, 0.0, False, False, kernel="sse9")
    for name in set(_dispatch.compiled()) - set(KERNELS):  # compiled in, not runnable here
        with pytest.raises(ValueError, match="cannot run"):
            _gemm.gemm_into(a, a, a.copy(), 1.0, 0.0, False, False, kernel=name)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_edge_tiles(kernel, dtype, trans_a, trans_b):
    """Every m in 1..2*MR+1 and n in 1..2*NR+1 (partial tiles on both edges), small k."""
    blk = _gemm.kernel_blocking(dtype, kernel=kernel)
    mr, nr = blk["mr"], blk["nr"]
    rng = np.random.default_rng(1)
    for m in range(1, 2 * mr + 2):
        for n in list(range(1, nr + 2)) + [2 * nr - 1, 2 * nr, 2 * nr + 1]:
            k = int(rng.integers(1, 9))
            _run(kernel, m, n, k, dtype, trans_a, trans_b, alpha=1.0, beta=0.5, seed=m * 131 + n)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_block_boundaries(kernel, dtype):
    """m, n, k at MC/NC/KC - 1, exactly, + 1 (NC is large: covered with a thin m)."""
    blk = _gemm.kernel_blocking(dtype, kernel=kernel)
    mc, kc, nc, mr, nr = blk["mc"], blk["kc"], blk["nc"], blk["mr"], blk["nr"]
    for i, (ta, tb) in enumerate(TRANS):
        for d in (-1, 0, 1):
            _run(kernel, mc + d, nr + 3, kc + d, dtype, ta, tb, alpha=0.5, beta=-1.5, seed=10 + d)
            _run(kernel, mr + 1, nc + d, 5, dtype, ta, tb, alpha=2.0, beta=0.0, seed=20 + d)
        _run(kernel, 2 * mc + 7, 3 * nr + 1, 2 * kc + 3, dtype, ta, tb, alpha=1.0, beta=1.0, seed=30 + i)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_zero_and_one_dims(kernel, dtype, trans_a, trans_b):
    for m, n, k in [(1, 1, 1), (1, 7, 1), (7, 1, 1), (1, 1, 300), (0, 5, 3), (5, 0, 3), (0, 0, 0)]:
        _run(kernel, m, n, k, dtype, trans_a, trans_b, alpha=1.0, beta=0.25)
    # k == 0: C = beta * C (beta == 0: zeros, even over NaN)
    c = np.full((3, 4), np.nan, dtype)
    _gemm.gemm_into(np.empty((0, 3) if trans_a else (3, 0), dtype), np.empty((4, 0) if trans_b else (0, 4), dtype),
                    c, 1.0, 0.0, trans_a, trans_b, kernel=kernel)
    assert (c == 0).all()
    c = np.full((3, 4), 2.0, dtype)
    _gemm.gemm_into(np.empty((0, 3) if trans_a else (3, 0), dtype), np.empty((4, 0) if trans_b else (0, 4), dtype),
                    c, 1.0, 3.0, trans_a, trans_b, kernel=kernel)
    assert (c == 6).all()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_beta(kernel, dtype):
    for alpha, beta in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.5), (1.0, -1.0), (3.0, 2.0)]:
        _run(kernel, 37, 45, 29, dtype, False, True, alpha=alpha, beta=beta)
        _run(kernel, 300, 70, 600, dtype, True, False, alpha=alpha, beta=beta, threads=2)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_ignores_nan_in_c(kernel, dtype):
    rng = np.random.default_rng(3)
    for m, n, k in [(5, 7, 3), (70, 90, 300)]:
        a, b = _operands(rng, m, n, k, dtype, False, False)
        c = np.full((m, n), np.nan, dtype)
        _gemm.gemm_into(a, b, c, 1.0, 0.0, False, False, kernel=kernel, num_threads=2)
        assert np.isfinite(c).all()
        _check(c, a.astype(np.float64) @ b, dtype, k)


def test_alpha_zero_does_not_read_a_b():
    # BLAS convention: alpha == 0 scales C by beta and never touches A and B
    a = np.full((4, 5), np.nan, np.float64)
    c = np.ones((4, 6))
    _gemm.gemm_into(a, np.full((5, 6), np.nan), c, 0.0, 2.0, False, False)
    assert (c == 2).all()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_leading_dimensions(kernel, dtype, trans_a, trans_b):
    """Sub-matrix views: lda/ldb/ldc larger than the row length; C outside the view untouched."""
    rng = np.random.default_rng(4)
    m, n, k = 23, 37, 41
    a_big = rng.standard_normal((k + 5, m + 9) if trans_a else (m + 5, k + 9)).astype(dtype)
    b_big = rng.standard_normal((n + 3, k + 6) if trans_b else (k + 3, n + 6)).astype(dtype)
    c_big = rng.standard_normal((m + 4, n + 11)).astype(dtype)
    a = a_big[2:2 + (k if trans_a else m), 3:3 + (m if trans_a else k)]
    b = b_big[1:1 + (n if trans_b else k), 4:4 + (k if trans_b else n)]
    c_before = c_big.copy()
    c = c_big[1:1 + m, 5:5 + n]
    want = _reference(a, b, c.copy(), 1.5, 0.5, trans_a, trans_b)
    _gemm.gemm_into(a, b, c, 1.5, 0.5, trans_a, trans_b, kernel=kernel, num_threads=2)
    _check(c, want, dtype, k)
    mask = np.ones(c_big.shape, bool)
    mask[1:1 + m, 5:5 + n] = False
    assert np.array_equal(c_big[mask], c_before[mask])


@pytest.fixture
def parallel_always(threads_from_any_size):
    """Small products use threads too (the default bar depends on OMP_WAIT_POLICY)."""


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_does_not_change_results(kernel, dtype, parallel_always):
    """Bitwise identical for 1, 2 and 3 threads (results must not depend on the partition)."""
    rng = np.random.default_rng(5)
    for (m, n, k), (ta, tb) in zip([(301, 67, 530), (64, 700, 300), (129, 129, 257), (1000, 33, 100)], TRANS):
        a, b = _operands(rng, m, n, k, dtype, ta, tb)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        outs = []
        for threads in (1, 2, 3):
            c = c0.copy()
            _gemm.gemm_into(a, b, c, 0.75, 0.5, ta, tb, kernel=kernel, num_threads=threads)
            outs.append(c)
        assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
        _check(outs[0], _reference(a, b, c0, 0.75, 0.5, ta, tb), dtype, k)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_shared_b_path_is_exact_across_threads(kernel, dtype, parallel_always):
    """The parallel path that packs B once for all threads: deep K (the B block then holds
    fewer columns than n, so several column blocks), many K blocks, partial panels and row
    chunks, A read in place (n <= 256) and packed; identical bits for 1 to 4 threads."""
    rng = np.random.default_rng(6)
    for (m, n, k), (ta, tb) in zip([(200, 300, 4000), (131, 40, 3000), (97, 270, 513), (61, 19, 2100)], TRANS):
        a, b = _operands(rng, m, n, k, dtype, ta, tb)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        outs = []
        for threads in (1, 2, 3, 4):
            c = c0.copy()
            _gemm.gemm_into(a, b, c, -1.5, 0.25, ta, tb, kernel=kernel, num_threads=threads)
            outs.append(c)
        for other in outs[1:]:
            assert np.array_equal(outs[0], other)
        _check(outs[0], _reference(a, b, c0, -1.5, 0.25, ta, tb), dtype, k)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 80), n=st.integers(0, 80), k=st.integers(0, 300), trans=st.sampled_from(TRANS),
       dtype=st.sampled_from(DTYPES), kernel=st.sampled_from(KERNELS), threads=st.sampled_from([1, 2]),
       beta=st.sampled_from([0.0, 1.0, -0.5]), seed=st.integers(0, 2**16))
def test_random_shapes(m, n, k, trans, dtype, kernel, threads, beta, seed):
    _run(kernel, m, n, k, dtype, *trans, alpha=1.25, beta=beta, threads=threads, seed=seed)


# ------------------------------------------------------------------ minicnn.linalg.gemm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_linalg_gemm(dtype, trans_a, trans_b):
    rng = np.random.default_rng(6)
    a, b = _operands(rng, 65, 33, 130, dtype, trans_a, trans_b)
    got = minicnn.linalg.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    assert got.dtype == dtype and got.shape == (65, 33)
    _check(got, _reference(a, b, None, 1.0, 0.0, trans_a, trans_b), dtype, 130)
    c = rng.standard_normal((65, 33)).astype(dtype)
    want = _reference(a, b, c, -1.0, 2.0, trans_a, trans_b)
    out = minicnn.linalg.gemm(a, b, c, alpha=-1.0, beta=2.0, trans_a=trans_a, trans_b=trans_b)
    assert out is c
    _check(c, want, dtype, 130)


def test_linalg_gemm_views_and_copies():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((50, 60))
    y = rng.standard_normal((60, 40))
    for a in (x, x[::2, 1:31], np.asfortranarray(x), x[:, ::2], x[::-1]):  # strided, F-order, copies
        b = y[: a.shape[1]]
        _check(minicnn.linalg.gemm(a, b), a @ b, np.float64, a.shape[1])
        _check(minicnn.linalg.gemm(a.T, b.T, trans_a=True, trans_b=True), a @ b, np.float64, a.shape[1])
    # c aliasing an input is computed from the input's old values
    s = rng.standard_normal((30, 30))
    want = s @ s
    minicnn.linalg.gemm(s, s.copy(), s)
    _check(s, want, np.float64, 30)
    # ... also when c is a view of an input's base, or an input a view of c
    base = rng.standard_normal(1200)
    a, c = base[:900].reshape(30, 30), base[300:].reshape(30, 30)
    want = a @ a
    minicnn.linalg.gemm(a, a.copy(), c)
    _check(c, want, np.float64, 30)
    c = np.ascontiguousarray(rng.standard_normal((30, 30)))
    want = c[:, :20] @ np.ones((20, 30))
    minicnn.linalg.gemm(c[:, :20], np.ones((20, 30)), c)
    _check(c, want, np.float64, 20)


def test_linalg_gemm_errors():
    f32 = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="2-D"):
        minicnn.linalg.gemm(np.ones(3, np.float32), f32)
    with pytest.raises(ValueError, match="2-D"):
        minicnn.linalg.gemm(f32, np.ones((4, 2, 1), np.float32))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        minicnn.linalg.gemm([[1.0]], f32)
    with pytest.raises(TypeError, match="float32 or float64"):
        minicnn.linalg.gemm(np.ones((3, 4), np.int64), f32)
    with pytest.raises(TypeError, match="same dtype"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float64))
    with pytest.raises(ValueError, match="inner dimensions"):
        minicnn.linalg.gemm(f32, f32)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float32), np.empty((2, 3), np.float32))
    with pytest.raises(TypeError, match="dtype float32"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float32), np.empty((3, 2), np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float32), np.empty((2, 3), np.float32).T)
    with pytest.raises(TypeError, match="c must be"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float32), [[0.0, 0.0]] * 3)
    with pytest.raises(ValueError, match="finite"):
        minicnn.linalg.gemm(f32, np.ones((4, 2), np.float32), alpha=np.nan)


def test_gemm_into_rejects_bad_layouts():
    a = np.ones((4, 6))
    with pytest.raises(ValueError, match="unit stride"):
        _gemm.gemm_into(a[:, ::2], np.ones((3, 2)), np.empty((4, 2)), 1.0, 0.0, False, False)
    with pytest.raises(ValueError, match="shapes do not match"):
        _gemm.gemm_into(a, np.ones((5, 2)), np.empty((4, 2)), 1.0, 0.0, False, False)
    with pytest.raises(ValueError, match="2-D"):
        _gemm.gemm_into(a, np.ones(6), np.empty((4, 1)), 1.0, 0.0, False, False)
    with pytest.raises(TypeError, match="one dtype"):
        _gemm.gemm_into(a, np.ones((6, 2), np.float32), np.empty((4, 2)), 1.0, 0.0, False, False)
    with pytest.raises(TypeError, match="one dtype"):
        _gemm.gemm_into(a.astype(np.int64), np.ones((6, 2), np.int64), np.empty((4, 2), np.int64), 1.0, 0.0,
                        False, False)
    readonly = np.empty((4, 2))
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _gemm.gemm_into(a, np.ones((6, 2)), readonly, 1.0, 0.0, False, False)
    with pytest.raises(TypeError):
        _gemm.gemm_into(a.tolist(), np.ones((6, 2)), np.empty((4, 2)), 1.0, 0.0, False, False)
    # read-only inputs are fine (only c is written)
    a.flags.writeable = False
    c = np.empty((4, 2))
    _gemm.gemm_into(a, np.ones((6, 2)), c, 1.0, 0.0, False, False)
    assert (c == 6).all()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_packed_and_in_place_a_agree(kernel, dtype, trans_a, trans_b):
    """A read in place (small n) and A packed give the same bits: the same k order per element."""
    rng = np.random.default_rng(8)
    m, n, k = 2 * _gemm.kernel_blocking(dtype, kernel=kernel)["mc"] + 5, 40, 300
    a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    outs = []
    for in_place in (False, True):
        c = c0.copy()
        _gemm.gemm_into(a, b, c, 1.5, -0.5, trans_a, trans_b, kernel=kernel, num_threads=2, in_place_a=in_place)
        outs.append(c)
    assert np.array_equal(outs[0], outs[1])
    _check(outs[0], _reference(a, b, c0, 1.5, -0.5, trans_a, trans_b), dtype, k)
