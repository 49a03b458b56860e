"""Blocked, packed GEMM (the BLIS model) on per-ISA micro-kernels chosen at import.

The five loops around the micro-kernel live here; the register-blocked micro-kernels (one
MR x NR tile of C from packed panels) and the CPU detection live in ``src/*.c``::

    for jc in 0..n step NC:                      B block KC x NC packed into NR-column panels (L3)
      for pc in 0..k step KC:
        for ic in 0..m step MC:                  A block MC x KC packed into MR-row panels (L2)
          for jr in 0..NC step NR:               one B micro-panel stays in L1
            for ir in 0..MC step MR:  micro-kernel(C[ir:ir+MR, jr:jr+NR])

Threads (one parallel region per call): when C has at least two row panels per thread, the
threads share each packed KC x NC block of B -- they pack its panels together, then claim row
chunks of C from a shared counter, each packing its own A (see "Many threads, one packed B"
below; no barriers, so a worker that wakes late just takes less).  Otherwise C is cut into one
rectangle per thread along the MR x NR tile grid and each thread runs the five loops on its
rectangle with its own buffers.  Each element of C is summed in the same order (KC blocks in
order, the same micro-kernel arithmetic for full and edge tiles) whatever the thread count, so
results are bitwise identical for 1 or N threads.

Micro-kernels: those of a kernel table (_dispatch.pyx: one per instruction set, chosen once at
import, MINICNN_ARCH honoured there); ``gemm_into(kernel=)`` runs another table's for one call.
"""

from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy
cimport numpy as cnp
from minicnn._kernels._common cimport floating, minicnn_fp_enter, minicnn_fp_exit, minicnn_parallel_for
from minicnn._kernels._dispatch cimport (minicnn_aligned_alloc, minicnn_aligned_free, minicnn_gemm_kernel,
                                         minicnn_kernel_table, table)
from minicnn._kernels._openmp cimport clamp_threads, size_bars
from minicnn._kernels._tuning cimport Tuning, tuning

cdef extern from "atomics.h" nogil:
    long minicnn_atomic_fetch_add(long *p, long v)
    long minicnn_atomic_load(long *p)
    void minicnn_cpu_relax()
    void minicnn_wait_at_least(long *p, long target)

# The bars and sizes below (threads, A read in place, row chunks) are in the tuning table.
cdef const Tuning *T = tuning()

cnp.import_array()



cdef struct _Blocking:
    Py_ssize_t mr, nr, mc, kc, nc


cdef inline _Blocking _blocking(const minicnn_gemm_kernel *ker, const floating *typed) noexcept nogil:
    """The kernel's tile (MR x NR) and cache blocks (MC, KC, NC) for typed's dtype."""
    cdef _Blocking b
    if floating is float:
        b.mr = ker.smr; b.nr = ker.snr; b.mc = ker.smc; b.kc = ker.skc; b.nc = ker.snc
    else:
        b.mr = ker.dmr; b.nr = ker.dnr; b.mc = ker.dmc; b.kc = ker.dkc; b.nc = ker.dnc
    return b


# ----------------------------------------------------------------------------------------------
# Packing.  Both write zero-padded panels so the micro-kernel never sees a partial panel.

cdef inline void _copy_short(floating *d, const floating *s, Py_ssize_t count) noexcept nogil:
    """d[0:count] = s[0:count] for one panel row: the usual MR/NR widths get a constant-size
    memcpy (inlined as a few vector moves) instead of a scalar loop with a runtime bound."""
    if count == 16:
        memcpy(d, s, 16 * sizeof(floating))
    elif count == 8:
        memcpy(d, s, 8 * sizeof(floating))
    elif count == 6:
        memcpy(d, s, 6 * sizeof(floating))
    elif count == 12:
        memcpy(d, s, 12 * sizeof(floating))
    elif count == 32:
        memcpy(d, s, 32 * sizeof(floating))
    elif count == 4:
        memcpy(d, s, 4 * sizeof(floating))
    else:
        memcpy(d, s, count * sizeof(floating))


cdef void _pack_a(bint trans, Py_ssize_t mb, Py_ssize_t kb, const floating *a, Py_ssize_t lda,
                  floating *dst, Py_ssize_t mr) noexcept nogil:
    """op(A)[0:mb, 0:kb] (IN; a points at its (0, 0) element) -> MR-row panels, k-major (OUT).

    Loops run so that the writes are contiguous (a store stream with a stride stalls)."""
    cdef Py_ssize_t ir, i, p, rows, panel, npanels = (mb + mr - 1) // mr
    cdef const floating *src
    cdef floating *d
    if trans:  # op(A)[i, p] = a[p*lda + i]: one contiguous source row per p, cut into panels
        for p in range(kb):
            src = a + p * lda
            for panel in range(npanels):
                ir = panel * mr
                rows = min(mr, mb - ir)
                d = dst + panel * mr * kb + p * mr
                if rows == mr:
                    _copy_short(d, src + ir, mr)
                else:
                    for i in range(rows):
                        d[i] = src[ir + i]
                    for i in range(rows, mr):
                        d[i] = 0
        return
    for panel in range(npanels):  # op(A)[i, p] = a[i*lda + p]: mr source rows read side by side
        ir = panel * mr
        rows = min(mr, mb - ir)
        src = a + ir * lda
        d = dst + panel * mr * kb
        if rows == mr == 6:  # the AVX2 panel height, unrolled
            for p in range(kb):
                d[0] = src[p]
                d[1] = src[lda + p]
                d[2] = src[2 * lda + p]
                d[3] = src[3 * lda + p]
                d[4] = src[4 * lda + p]
                d[5] = src[5 * lda + p]
                d += 6
            continue
        for p in range(kb):
            for i in range(rows):
                d[i] = src[i * lda + p]
            for i in range(rows, mr):
                d[i] = 0
            d += mr


cdef void _pack_b(bint trans, Py_ssize_t kb, Py_ssize_t nb, const floating *b, Py_ssize_t ldb,
                  floating *dst, Py_ssize_t nr) noexcept nogil:
    """op(B)[0:kb, 0:nb] (IN; b points at its (0, 0) element) -> NR-column panels, k-major (OUT)."""
    cdef Py_ssize_t jr, j, p, cols, panel
    cdef const floating *src
    cdef floating *d
    for panel in range((nb + nr - 1) // nr):
        jr = panel * nr
        cols = min(nr, nb - jr)
        d = dst + panel * nr * kb
        if not trans:  # op(B)[p, j] = b[p*ldb + j]: each panel row is a contiguous copy
            src = b + jr
            for p in range(kb):
                if cols == nr:
                    _copy_short(d, src + p * ldb, nr)
                else:
                    for j in range(cols):
                        d[j] = src[p * ldb + j]
                    for j in range(cols, nr):
                        d[j] = 0
                d += nr
        else:  # op(B)[p, j] = b[j*ldb + p]: nr source rows read side by side
            src = b + jr * ldb
            for p in range(kb):
                for j in range(cols):
                    d[j] = src[j * ldb + p]
                for j in range(cols, nr):
                    d[j] = 0
                d += nr


# ----------------------------------------------------------------------------------------------
# The five loops, serial, on one rectangle of C.

cdef void _macro(const minicnn_gemm_kernel *ker, bint ta, bint rowa,
                 Py_ssize_t mb, Py_ssize_t nb, Py_ssize_t kb,
                 floating alpha, const floating *a, Py_ssize_t lda, const floating *bpacked,
                 floating beta, floating *c, Py_ssize_t ldc, floating *abuf) noexcept nogil:
    """C[0:mb, 0:nb] (IN/OUT) = alpha * op(A)[0:mb, 0:kb] @ Bp + beta * C: one A block against
    one packed B block (Bp: nb columns in NR-wide panels, kb deep).

    a (IN) points at this block's op(A)[0, 0]; it is packed into abuf (mb x kb, OUT scratch),
    or with rowa read in place by the strided-A kernel (only a partial last row panel is packed).
    The micro-panel of B stays in L1 while the A panels stream past it (BLIS' jr/ir loops)."""
    cdef Py_ssize_t mr, nr, jr, ir, jt, it, tail
    cdef Py_ssize_t rs_a = 1 if ta else lda, cs_a = lda if ta else 1
    cdef floating *cij
    cdef const floating *arow
    cdef _Blocking blk = _blocking(ker, a)
    mr = blk.mr; nr = blk.nr
    tail = mb // mr * mr  # first row of a partial panel (== mb when there is none)
    if not rowa:
        _pack_a(ta, mb, kb, a, lda, abuf, mr)
    elif tail < mb:
        _pack_a(ta, mb - tail, kb, (a + tail) if ta else (a + tail * lda), lda, abuf + tail * kb, mr)
    for jt in range((nb + nr - 1) // nr):
        jr = jt * nr
        for it in range((mb + mr - 1) // mr):
            ir = it * mr
            cij = c + ir * ldc + jr
            if rowa and ir < tail:
                arow = (a + ir) if ta else (a + ir * lda)
                if floating is float:
                    ker.sukr_rowa(kb, alpha, arow, rs_a, cs_a, bpacked + jr * kb, beta, cij, ldc,
                                  min(nr, nb - jr))
                else:
                    ker.dukr_rowa(kb, alpha, arow, rs_a, cs_a, bpacked + jr * kb, beta, cij, ldc,
                                  min(nr, nb - jr))
            elif floating is float:
                ker.sukr(kb, alpha, abuf + ir * kb, bpacked + jr * kb, beta, cij, ldc,
                         min(mr, mb - ir), min(nr, nb - jr))
            else:
                ker.dukr(kb, alpha, abuf + ir * kb, bpacked + jr * kb, beta, cij, ldc,
                         min(mr, mb - ir), min(nr, nb - jr))


cdef int _gemm_rect(const minicnn_gemm_kernel *ker, bint ta, bint tb, bint rowa,
                    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                    floating alpha, const floating *a, Py_ssize_t lda,
                    const floating *b, Py_ssize_t ldb,
                    floating beta, floating *c, Py_ssize_t ldc) noexcept nogil:
    """C[0:m, 0:n] (IN/OUT) = alpha * op(A) @ op(B) + beta * C, serial, with its own packing
    buffers.  a, b (IN) point at op(A)[0, 0] and op(B)[0, 0].  rowa: see _macro.
    Returns 0, or 1 when out of memory.
    """
    cdef Py_ssize_t mr, nr, mc, kc, nc, jc, pc, ic, nb, kb, mb, jb, pb, ib
    cdef floating *abuf
    cdef floating *bbuf
    cdef _Blocking blk = _blocking(ker, a)
    mr = blk.mr; nr = blk.nr; mc = blk.mc; kc = blk.kc; nc = blk.nc
    # Buffers sized for this problem, not the maximal block, so small calls stay cheap.
    mc = min(mc, (m + mr - 1) // mr * mr)
    nc = min(nc, (n + nr - 1) // nr * nr)
    kc = min(kc, k)
    abuf = <floating *> minicnn_aligned_alloc(<size_t>(mc * kc) * sizeof(floating))
    bbuf = <floating *> minicnn_aligned_alloc(<size_t>(kc * nc) * sizeof(floating))
    if abuf == NULL or bbuf == NULL:
        minicnn_aligned_free(abuf)
        minicnn_aligned_free(bbuf)
        return 1
    for jb in range((n + nc - 1) // nc):
        jc = jb * nc
        nb = min(nc, n - jc)
        for pb in range((k + kc - 1) // kc):
            pc = pb * kc
            kb = min(kc, k - pc)
            _pack_b(tb, kb, nb, (b + jc * ldb + pc) if tb else (b + pc * ldb + jc), ldb, bbuf, nr)
            for ib in range((m + mc - 1) // mc):
                ic = ib * mc
                mb = min(mc, m - ic)
                # later K blocks accumulate onto the first
                _macro(ker, ta, rowa, mb, nb, kb, alpha,
                       (a + pc * lda + ic) if ta else (a + ic * lda + pc), lda, bbuf,
                       beta if pc == 0 else 1, c + ic * ldc + jc, ldc, abuf)
    minicnn_aligned_free(abuf)
    minicnn_aligned_free(bbuf)
    return 0


cdef struct _Call:
    # one call's arguments, for the parallel loop's units (alpha, beta as double: exact for float too)
    const minicnn_gemm_kernel *ker
    bint ta, tb, rowa, dbl
    Py_ssize_t m, n, k, lda, ldb, ldc
    double alpha, beta
    const void *a
    const void *b
    void *c
    Py_ssize_t kc, nc, chunk            # shared packed B
    void *bbuf
    long *ctr
    Py_ssize_t tm, tn, m_tiles, n_tiles, mr, nr  # grid of rectangles


cdef inline _Call _call(const minicnn_gemm_kernel *ker, bint ta, bint tb, bint rowa,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, floating alpha, const floating *a, Py_ssize_t lda,
                        const floating *b, Py_ssize_t ldb, floating beta, floating *c, Py_ssize_t ldc) noexcept nogil:
    cdef _Call w
    w.ker, w.ta, w.tb, w.rowa, w.dbl = ker, ta, tb, rowa, floating is double
    w.m, w.n, w.k, w.lda, w.ldb, w.ldc = m, n, k, lda, ldb, ldc
    w.alpha, w.beta, w.a, w.b, w.c = alpha, beta, a, b, c
    return w


# ----------------------------------------------------------------------------------------------
# Many threads, one packed B: threads claim work from shared counters (atomics.h).
#
# The serial loops over (column block jb, K block pb) become "phases" p = jb * nkb + pb.  In
# each phase the threads first pack that phase's KC x NC block of B together (claiming NR-wide
# panels), then compute C's row chunks against it (claiming chunks, each thread packing its
# own A).  B blocks alternate between two buffers, so packing phase p only waits until every
# chunk of phase p - 2 is done, and a chunk of phase p only waits for the same rows in phase
# p - 1 (which accumulated before it).  A thread that starts late -- a sleeping OpenMP worker
# takes 50-100 us to wake -- claims less work instead of holding the others up at a barrier.

# Counters per phase (in one zeroed array): panels claimed / packed, chunks claimed / done;
# then one counter per row chunk: the phases it has been through.
cdef enum:
    _PACK_CLAIM = 0
    _PACK_DONE = 1
    _CHUNK_CLAIM = 2
    _CHUNK_DONE = 3
    _PER_PHASE = 4


cdef int _shared_b_worker(const minicnn_gemm_kernel *ker, bint ta, bint tb, bint rowa,
                          Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, Py_ssize_t kc, Py_ssize_t nc,
                          Py_ssize_t chunk, floating alpha, const floating *a, Py_ssize_t lda,
                          const floating *b, Py_ssize_t ldb, floating beta, floating *c,
                          Py_ssize_t ldc, floating *bbuf, long *ctr) noexcept nogil:
    """One thread's part of C (IN/OUT) = alpha * op(A) @ op(B) + beta * C, as described above.

    bbuf: two KC x NC packed-B buffers (shared scratch); ctr: the counters (shared, zeroed).
    Returns 0, or 1 when out of memory (the other threads still finish)."""
    cdef Py_ssize_t mr, nr, nkb, nphases, nchunks, ph, jb, pb, jc, nb, pc, kb, npanels, item, jr, ic, mb
    cdef long *pctr
    cdef long *seq
    cdef floating *buf
    cdef floating *abuf = NULL
    cdef int failed = 0
    cdef _Blocking blk = _blocking(ker, a)
    mr = blk.mr; nr = blk.nr
    nkb = (k + kc - 1) // kc
    nphases = nkb * ((n + nc - 1) // nc)
    nchunks = (m + chunk - 1) // chunk
    seq = ctr + _PER_PHASE * nphases
    for ph in range(nphases):
        jb = ph // nkb
        pb = ph - jb * nkb
        jc = jb * nc
        nb = min(nc, n - jc)
        pc = pb * kc
        kb = min(kc, k - pc)
        npanels = (nb + nr - 1) // nr
        pctr = ctr + _PER_PHASE * ph
        buf = bbuf + (ph % 2) * kc * nc
        while True:  # pack this phase's B block, panel by panel
            item = minicnn_atomic_fetch_add(&pctr[_PACK_CLAIM], 1)
            if item >= npanels:
                break
            if ph >= 2:  # the buffer's last user, phase ph - 2, must be finished
                minicnn_wait_at_least(&ctr[_PER_PHASE * (ph - 2) + _CHUNK_DONE], <long>nchunks)
            jr = item * nr
            _pack_b(tb, kb, min(nr, nb - jr),
                    (b + (jc + jr) * ldb + pc) if tb else (b + pc * ldb + jc + jr), ldb, buf + jr * kb, nr)
            minicnn_atomic_fetch_add(&pctr[_PACK_DONE], 1)
        while True:  # row chunks against it
            item = minicnn_atomic_fetch_add(&pctr[_CHUNK_CLAIM], 1)
            if item >= nchunks:
                break
            minicnn_wait_at_least(&pctr[_PACK_DONE], <long>npanels)
            minicnn_wait_at_least(&seq[item], <long>ph)  # these rows' previous K block is added
            ic = item * chunk
            mb = min(chunk, m - ic)
            if abuf == NULL and not failed:
                abuf = <floating *> minicnn_aligned_alloc(<size_t>(chunk * kc) * sizeof(floating))
                failed = abuf == NULL
            if not failed:
                _macro(ker, ta, rowa, mb, nb, kb, alpha,
                       (a + pc * lda + ic) if ta else (a + ic * lda + pc), lda, buf,
                       beta if pb == 0 else 1, c + ic * ldc + jc, ldc, abuf)
            minicnn_atomic_fetch_add(&seq[item], 1)
            minicnn_atomic_fetch_add(&pctr[_CHUNK_DONE], 1)
    minicnn_aligned_free(abuf)
    return failed


cdef int _gemm_shared_b(const minicnn_gemm_kernel *ker, bint ta, bint tb, bint rowa,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        floating alpha, const floating *a, Py_ssize_t lda,
                        const floating *b, Py_ssize_t ldb,
                        floating beta, floating *c, Py_ssize_t ldc, int nt, bint flush) noexcept nogil:
    """C = alpha * op(A) @ op(B) + beta * C on nt threads that share each packed B block.

    The KC/NC blocking and the micro-kernel arithmetic are those of the serial path, so every
    element of C is the same bit for bit whatever the thread count."""
    cdef Py_ssize_t mr, nr, mc, kc, nc, chunk, nphases, nchunks
    cdef int failures
    cdef long *ctr
    cdef floating *bbuf
    cdef _Blocking blk = _blocking(ker, a)
    mr = blk.mr; nr = blk.nr; mc = blk.mc; kc = blk.kc; nc = blk.nc
    nc = min(nc, (n + nr - 1) // nr * nr)
    kc = min(kc, k)
    # About gemm_chunks_per_thread chunks per thread so that a late thread's share can be taken
    # over, but no taller than MC (a packed A block must stay in L2).
    chunk = (m + T.gemm_chunks_per_thread * nt - 1) // (T.gemm_chunks_per_thread * nt)
    chunk = min(mc, max(mr, (chunk + mr - 1) // mr * mr))
    nphases = ((k + kc - 1) // kc) * ((n + nc - 1) // nc)
    nchunks = (m + chunk - 1) // chunk
    ctr = <long *> calloc(_PER_PHASE * nphases + nchunks, sizeof(long))
    bbuf = <floating *> minicnn_aligned_alloc(<size_t>(2 * kc * nc) * sizeof(floating))
    if ctr == NULL or bbuf == NULL:
        free(ctr)
        minicnn_aligned_free(bbuf)
        return -1
    cdef _Call call = _call(ker, ta, tb, rowa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    call.kc, call.nc, call.chunk, call.bbuf, call.ctr = kc, nc, chunk, bbuf, ctr
    failures = minicnn_parallel_for(nt, nt, 0, flush, False, _shared_b_unit, &call)
    free(ctr)
    minicnn_aligned_free(bbuf)
    return -1 if failures else 0


cdef int _shared_b_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    cdef _Call *w = <_Call *>ctx
    if w.dbl:
        return _shared_b_worker(w.ker, w.ta, w.tb, w.rowa, w.m, w.n, w.k, w.kc, w.nc, w.chunk, w.alpha,
                                <const double *>w.a, w.lda, <const double *>w.b, w.ldb, w.beta,
                                <double *>w.c, w.ldc, <double *>w.bbuf, w.ctr)
    return _shared_b_worker(w.ker, w.ta, w.tb, w.rowa, w.m, w.n, w.k, w.kc, w.nc, w.chunk, <float>w.alpha,
                            <const float *>w.a, w.lda, <const float *>w.b, w.ldb, <float>w.beta,
                            <float *>w.c, w.ldc, <float *>w.bbuf, w.ctr)


cdef int _gemm_part(const minicnn_gemm_kernel *ker, bint ta, bint tb, bint rowa,
                    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                    floating alpha, const floating *a, Py_ssize_t lda,
                    const floating *b, Py_ssize_t ldb,
                    floating beta, floating *c, Py_ssize_t ldc,
                    Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0, Py_ssize_t c1) noexcept nogil:
    """The rectangle C[r0:r1, c0:c1] of the whole product (one thread's share)."""
    if r1 <= r0 or c1 <= c0:
        return 0
    return _gemm_rect(ker, ta, tb, rowa, r1 - r0, c1 - c0, k, alpha,
                      (a + r0) if ta else (a + r0 * lda), lda,
                      (b + c0 * ldb) if tb else (b + c0), ldb,
                      beta, c + r0 * ldc + c0, ldc)


cdef void _scale(Py_ssize_t m, Py_ssize_t n, floating beta, floating *c, Py_ssize_t ldc) noexcept nogil:
    """C = beta * C; beta == 0 writes zeros without reading C."""
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            if beta == 0:
                c[i * ldc + j] = 0
            else:
                c[i * ldc + j] = beta * c[i * ldc + j]


cdef int _gemm(const minicnn_gemm_kernel *ker, bint ta, bint tb,
               Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               floating alpha, const floating *a, Py_ssize_t lda,
               const floating *b, Py_ssize_t ldb,
               floating beta, floating *c, Py_ssize_t ldc, int num_threads, bint flush,
               int in_place_a=-1) noexcept nogil:
    """in_place_a: 1 reads A in place where the kernel can, 0 always packs it, -1 lets n decide."""
    cdef Py_ssize_t mr, nr, m_tiles, n_tiles, tm, tn, cand_m, cand_n, best_cost, cost, rows, cols
    cdef int nt, failures = 0
    cdef bint rowa
    cdef _Call call
    if m <= 0 or n <= 0:
        return 0
    if k <= 0 or alpha == 0:  # BLAS convention: A and B are not read
        _scale(m, n, beta, c, ldc)
        return 0
    cdef _Blocking blk = _blocking(ker, a)
    mr = blk.mr; nr = blk.nr
    # The choice depends on the whole problem only, never on the thread partition (and the
    # rowa and packed kernels do the same arithmetic per element anyway).
    if floating is float:
        rowa = ker.sukr_rowa != NULL
    else:
        rowa = ker.dukr_rowa != NULL
    if in_place_a < 0:
        rowa = rowa and n <= (T.gemm_cola_max_n if ta else T.gemm_rowa_max_n)
    else:
        rowa = rowa and in_place_a
    m_tiles = (m + mr - 1) // mr
    n_tiles = (n + nr - 1) // nr
    nt = num_threads
    if <double>m * <double>n * <double>k < T.gemm_par_min and size_bars():
        nt = 1
    if nt > m_tiles * n_tiles:
        nt = <int>(m_tiles * n_tiles)
    if nt <= 1:
        minicnn_fp_enter(flush)
        failures = _gemm_rect(ker, ta, tb, rowa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        minicnn_fp_exit(flush)
        return -1 if failures else 0
    if m_tiles >= 2 * nt:  # rows enough for every thread: share one packed B
        return _gemm_shared_b(ker, ta, tb, rowa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nt, flush)
    # Grid of tm x tn rectangles (tm * tn == nt): the least padded area per thread plus a
    # packing term (each thread packs its rows of A and its columns of B); ties cut rows.
    tm = nt
    tn = 1
    best_cost = -1
    for cand_m in range(nt, 0, -1):
        if nt % cand_m:
            continue
        cand_n = nt // cand_m
        if cand_m > m_tiles or cand_n > n_tiles:
            continue
        rows = (m_tiles + cand_m - 1) // cand_m * mr
        cols = (n_tiles + cand_n - 1) // cand_n * nr
        cost = rows * cols + 8 * (rows + cols)
        if best_cost < 0 or cost < best_cost:
            best_cost = cost
            tm = cand_m
            tn = cand_n
    if best_cost < 0:  # nt has no usable factorisation (e.g. prime > both tile counts)
        if m_tiles >= n_tiles:
            tm = min(<Py_ssize_t>nt, m_tiles); tn = 1
        else:
            tm = 1; tn = min(<Py_ssize_t>nt, n_tiles)
        nt = <int>(tm * tn)
    call = _call(ker, ta, tb, rowa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    call.tm, call.tn, call.m_tiles, call.n_tiles, call.mr, call.nr = tm, tn, m_tiles, n_tiles, mr, nr
    return minicnn_parallel_for(nt, nt, 0, flush, False, _grid_unit, &call)


cdef int _grid_unit(void *ctx, ptrdiff_t t, void *scratch) noexcept nogil:
    """Rectangle t of the tm x tn grid of C."""
    cdef _Call *w = <_Call *>ctx
    cdef Py_ssize_t r0 = (t // w.tn) * w.m_tiles // w.tm * w.mr
    cdef Py_ssize_t r1 = min(w.m, ((t // w.tn) + 1) * w.m_tiles // w.tm * w.mr)
    cdef Py_ssize_t c0 = (t % w.tn) * w.n_tiles // w.tn * w.nr
    cdef Py_ssize_t c1 = min(w.n, ((t % w.tn) + 1) * w.n_tiles // w.tn * w.nr)
    if w.dbl:
        return _gemm_part(w.ker, w.ta, w.tb, w.rowa, w.m, w.n, w.k, w.alpha, <const double *>w.a, w.lda,
                          <const double *>w.b, w.ldb, w.beta, <double *>w.c, w.ldc, r0, r1, c0, c1)
    return _gemm_part(w.ker, w.ta, w.tb, w.rowa, w.m, w.n, w.k, <float>w.alpha, <const float *>w.a, w.lda,
                      <const float *>w.b, w.ldb, <float>w.beta, <float *>w.c, w.ldc, r0, r1, c0, c1)


# ----------------------------------------------------------------------------------------------
# The contract (_gemm.pxd).

cdef int sgemm(const minicnn_kernel_table *kt, bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t k, float alpha, const float *a, Py_ssize_t lda,
               const float *b, Py_ssize_t ldb,
               float beta, float *c, Py_ssize_t ldc, int num_threads, bint flush) noexcept nogil:
    return _gemm(kt.gemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads, flush)


cdef int dgemm(const minicnn_kernel_table *kt, bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t k, double alpha, const double *a, Py_ssize_t lda,
               const double *b, Py_ssize_t ldb,
               double beta, double *c, Py_ssize_t ldc, int num_threads, bint flush) noexcept nogil:
    return _gemm(kt.gemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads, flush)


# ----------------------------------------------------------------------------------------------
# B packed once and multiplied many times (_gemm.pxd): serial, on kt's micro-kernel panels.

cdef Py_ssize_t packed_b_values(const minicnn_kernel_table *kt, bint dbl, Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t nr = kt.gemm.dnr if dbl else kt.gemm.snr
    return k * ((n + nr - 1) // nr * nr)


cdef Py_ssize_t packed_a_values(const minicnn_kernel_table *kt, bint dbl, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t mr = kt.gemm.dmr if dbl else kt.gemm.smr
    return k * ((m + mr - 1) // mr * mr)


cdef void spack_b(const minicnn_kernel_table *kt, Py_ssize_t k, Py_ssize_t n, const float *b, Py_ssize_t ldb,
                  float *bp) noexcept nogil:
    _pack_b(False, k, n, b, ldb, bp, kt.gemm.snr)


cdef void dpack_b(const minicnn_kernel_table *kt, Py_ssize_t k, Py_ssize_t n, const double *b, Py_ssize_t ldb,
                  double *bp) noexcept nogil:
    _pack_b(False, k, n, b, ldb, bp, kt.gemm.dnr)


cdef void sgemm_packed_b(const minicnn_kernel_table *kt, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                         Py_ssize_t lda, const float *bp, float *c, Py_ssize_t ldc, float *abuf) noexcept nogil:
    _macro(kt.gemm, False, kt.gemm.sukr_rowa != NULL, m, n, k, 1.0, a, lda, bp, 0.0, c, ldc, abuf)


cdef void dgemm_packed_b(const minicnn_kernel_table *kt, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const double *a,
                         Py_ssize_t lda, const double *bp, double *c, Py_ssize_t ldc, double *abuf) noexcept nogil:
    _macro(kt.gemm, False, kt.gemm.dukr_rowa != NULL, m, n, k, 1.0, a, lda, bp, 0.0, c, ldc, abuf)


# ----------------------------------------------------------------------------------------------
# Python entry points.

def kernel_name(dtype=None, kernel=None):
    """Name (isa_MRxNR) of the micro-kernel of instruction set ``kernel`` (None: the chosen one,
    _dispatch.py) for ``dtype`` (float32 when None).

    >>> kernel_name("float64", kernel="reference")
    'reference_4x4'
    """
    cdef const minicnn_gemm_kernel *ker = table(kernel).gemm
    import numpy as np
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt == np.float32:
        return ker.sname.decode()
    if dt == np.float64:
        return ker.dname.decode()
    raise TypeError(f"kernel_name: dtype must be float32 or float64, got {dt}")


def kernel_blocking(dtype=None, kernel=None):
    """``dict(mr, nr, mc, kc, nc)`` of a micro-kernel (as kernel_name), for tests/benchmarks."""
    cdef const minicnn_gemm_kernel *ker = table(kernel).gemm
    import numpy as np
    if np.dtype(np.float32 if dtype is None else dtype) == np.float32:
        return dict(mr=ker.smr, nr=ker.snr, mc=ker.smc, kc=ker.skc, nc=ker.snc)
    return dict(mr=ker.dmr, nr=ker.dnr, mc=ker.dmc, kc=ker.dkc, nc=ker.dnc)


cdef Py_ssize_t _ld(name, cnp.ndarray x) except -1:
    """Leading dimension (in elements) of a 2-D array with unit stride along its last axis."""
    cdef Py_ssize_t rows = x.shape[0], cols = x.shape[1], s0 = x.strides[0], s1 = x.strides[1]
    cdef Py_ssize_t itemsize = x.itemsize
    if rows == 0 or cols == 0:  # numpy gives empty arrays zero strides
        return max(cols, 1)
    if cols > 1 and s1 != itemsize:
        raise ValueError(f"gemm_into: {name} must have unit stride along its last axis, "
                         f"got strides {(s0, s1)} for shape {(rows, cols)}")
    if rows == 1:
        return max(cols, 1)
    if s0 % itemsize or s0 // itemsize < cols:
        raise ValueError(f"gemm_into: {name} has unusable row stride {s0} for shape {(rows, cols)}")
    return s0 // itemsize


def gemm_into(cnp.ndarray a not None, cnp.ndarray b not None, cnp.ndarray c not None,
              double alpha, double beta, bint trans_a, bint trans_b, kernel=None, num_threads=None,
              in_place_a=None):
    """Array-level entry (minicnn.linalg.gemm's, and the test twin of the cdef contract):
    c = alpha*op(a)@op(b) + beta*c.

    a, b (IN), c (IN/OUT, writeable): 2-D numpy arrays of one dtype (float32 or float64), unit
    stride along the last axis; any row stride (so sub-matrix views exercise lda/ldb/ldc).
    Shapes are checked here too.  ``kernel`` names an instruction set from
    ``_dispatch.available()`` for this call only; ``num_threads`` defaults to the library
    setting (``minicnn.get_num_threads()``).  ``in_place_a`` True reads A in place (unpacked)
    where the kernel can, False always packs it, None lets the tuning table decide.
    Typed ndarrays rather than fused memoryviews: the fused entry's signature dispatch and
    three buffer acquisitions cost about as much as a 64x128x10 product.
    """
    cdef const minicnn_gemm_kernel *ker = table(kernel).gemm
    cdef int typ = cnp.PyArray_TYPE(a)
    if a.ndim != 2 or b.ndim != 2 or c.ndim != 2:
        raise ValueError(f"gemm_into: a, b and c must be 2-D, got shapes {(<object>a).shape}, {(<object>b).shape}, {(<object>c).shape}")
    if (typ != cnp.NPY_FLOAT32 and typ != cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(b) != typ \
            or cnp.PyArray_TYPE(c) != typ:
        raise TypeError(f"gemm_into: a, b and c must share one dtype, float32 or float64, "
                        f"got {a.dtype}, {b.dtype}, {c.dtype}")
    if not cnp.PyArray_ISWRITEABLE(c):
        raise ValueError("gemm_into: c must be writeable")
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t lda, ldb, ldc
    cdef int rc, nt, mode = -1 if in_place_a is None else bool(in_place_a)
    if (a.shape[1] if trans_a else a.shape[0]) != m or (b.shape[1] if trans_b else b.shape[0]) != k \
            or (b.shape[0] if trans_b else b.shape[1]) != n:
        raise ValueError(f"gemm_into: shapes do not match: a {(<object>a).shape} (trans_a={trans_a}), "
                         f"b {(<object>b).shape} (trans_b={trans_b}), c {(<object>c).shape}")
    lda = _ld("a", a)
    ldb = _ld("b", b)
    ldc = _ld("c", c)
    if num_threads is None:
        nt = clamp_threads(m * n)
    else:
        nt = max(1, int(num_threads))
    if m == 0 or n == 0:
        return
    cdef void *pa = cnp.PyArray_DATA(a) if k else NULL
    cdef void *pb = cnp.PyArray_DATA(b) if k else NULL
    cdef void *pc = cnp.PyArray_DATA(c)
    with nogil:
        if typ == cnp.NPY_FLOAT32:
            rc = _gemm(ker, trans_a, trans_b, m, n, k, <float>alpha, <const float *>pa, lda,
                       <const float *>pb, ldb, <float>beta, <float *>pc, ldc, nt, False, mode)
        else:
            rc = _gemm(ker, trans_a, trans_b, m, n, k, alpha, <const double *>pa, lda,
                       <const double *>pb, ldb, beta, <double *>pc, ldc, nt, False, mode)
    if rc != 0:
        raise MemoryError("gemm: could not allocate packing buffers")
