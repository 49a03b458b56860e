"""The kernels' tuning constants, in one read-only table.

Each constant was measured (where and how: the comment beside it).  None of them changes which
numbers a call produces at different thread counts: the block sizes and algorithm bars are
functions of a call's sizes only, and the ``*_par_min`` bars (work below which a call stays on one
thread) decide thread counts only.

The table is filled once, when this module is imported.  For benchmarking, the environment
variable ``MINICNN_TUNING`` overrides entries at that moment, e.g.::

    MINICNN_TUNING="cols_budget=524288,transposed_max_f=4" python benchmarks/bench_layers.py

An unknown name or a value that is not an integer (>= 1 for the entries that count or divide,
>= 0 for the others) gives a RuntimeWarning and is ignored.  Nothing changes the table afterwards; ``table()`` shows it.
"""

import os
import types
import warnings

from minicnn._kernels._openmp cimport passive_wait

# Under OMP_WAIT_POLICY=PASSIVE idle OpenMP workers sleep, and one joins a parallel region
# 0.05-0.3 ms late on the shared 2-core VM we measure on, so every bar for going parallel is higher.
cdef bint _passive = passive_wait()

DEFAULTS = {
    # --- conv (_conv.pyx's plan, _conv_im2col.pyx)
    # Bytes of im2col scratch per thread: a block of at most this many bytes of im2col rows plus
    # the matching output rows (at least 8 rows), so the batch is never materialised.
    "cols_budget": 1 << 20,
    # Multiply-adds below which a conv call stays on one thread.  Measured (1 vs 2 threads, min of
    # 21, each call one parallel region): LeNet's convs at batch 64 (5.5M and 9.8M multiply-adds)
    # ran 1.1-1.5x faster on two threads even under PASSIVE; with spinning workers threads pay
    # from about 1M.
    "conv_par_min": 2_000_000 if _passive else 1_000_000,
    # Parallel loops hand out at least this many units per thread (a thread that starts late then
    # still finds units left), but no unit of fewer output rows than min_unit_rows.
    "units_per_thread": 8,
    "min_unit_rows": 64,
    # Up to this many filters per group the kernel gradient's GEMM is formed transposed (filters
    # along the micro-tile's short side): on N=64 first layers (C = 1..6, F = 6..16) 0.76-0.87x the
    # time for F <= 8.  (The forward pass never gained: 0.5-0.9x the transposed time unformed.)
    "transposed_max_f": 8,
    # Stride-1 input gradients with at least this many input channels run as a conv of dy with the
    # flipped kernel: on the bench_layers shapes 0.90-0.96x the col2im time for C = 64 and 128,
    # but 1.2x for C = 32 and 4-8x for C <= 6.
    "flipped_min_c": 64,
    # 3x3 stride-1 convs with at least this many input channels and filters run their forward by
    # Winograd F(2x2, 3x3), and their input gradient as the flipped (Winograd) forward.  Measured
    # (1 thread, median of 5 alternating rounds, time vs IM2COL): forward 16->16 on 16x16 to
    # 64->64 and 256->256 on 8x8 at batch 32-128: 0.66-0.83x; 8->8 1.06x, 4->16 1.4x; the input
    # gradient 16->16 on 32x32 to 128->128 on 16x16: 0.52-0.76x, 8->16 1.35x.  Units are blocks
    # of tiles whose transformed blocks (16 x tiles x (C + F) values) fill winograd_block_bytes.
    "winograd_min_c": 16,
    "winograd_block_bytes": 1 << 18,
    # Up to winograd_group_max_c input channels the 16 products run as the winograd family's own
    # kernel over groups of winograd_group_tiles tiles (V and M of a group stay in L1), not as 16
    # GEMM calls per unit; and the forward runs by Winograd from winograd_group_min_c input channels
    # and winograd_group_min_f filters.  Measured (1 thread, AMD EPYC Zen 3, AVX2, benchmarks/
    # README.md): 256 x 32x32 16->16 1.04x (1.02-1.05) the GEMM form's time (groups of 6: 1.04, 24
    # and 48: 0.99-1.02); 32->32 and 64->64 level (1.00-1.01); forward vs IM2COL: 3->16 1.20x,
    # 2->16 and 4->16 1.3x, 3->8 1.6x, 3->32 and 3->64 1.14x.
    "winograd_group_min_c": 2,
    "winograd_group_max_c": 16,
    "winograd_group_min_f": 8,
    "winograd_group_tiles": 12,
    # The kernel gradient of a small kernel over many rows (LeNet's second conv: 150 x 16 over
    # 8,192 rows) is summed in up to parts_max fixed partial sums over row ranges, while the
    # kernel has at most parts_max_elems elements.
    "parts_max": 16,
    "parts_max_elems": 1 << 16,
    # Direct loops (conv_direct.h) for up to direct_max_c input channels (forward) and
    # direct_bwd_max_c (kernel gradient), up to direct_max_f filters, one group.  Measured at batch
    # 64: LeNet's and the reference CNN's first layers; RGB first layers (3 channels, 3x3, 16-64
    # filters) took 1.5-1.9x less time in the kernel gradient on 1 and 2 threads, their forward
    # did not gain (benchmarks/README.md, step 4).
    "direct_max_c": 1,
    "direct_bwd_max_c": 3,
    "direct_max_f": 64,
    # ... while the kernel gradient's per-thread scratch stays within this many bytes, and its sum
    # over images runs in at most direct_bwd_blocks fixed blocks (partial sums added in order).
    "direct_bwd_scratch": 1 << 18,
    "direct_bwd_blocks": 16,
    # --- elementwise (_elementwise.pyx)
    # Rows per partial bias sum of the ReLU mask pass (fixed: the sum order never depends on threads).
    "relu_block_rows": 256,
    # Elements below which a mask or column-sum pass stays on one thread.
    "elementwise_par_min": 65536,
    # Elements per unit of the Add+ReLU pass (inference): 64 KiB of float32 per array.
    "add_relu_block": 1 << 14,
    # --- gemm (_gemm.pyx)
    # Multiply-adds (m*n*k) below which a GEMM stays on one thread: with sleeping workers 2
    # threads lost to 1 up to about 20M multiply-adds (256^3 and 64x1600x128 measured).
    "gemm_par_min": 320 ** 3 if _passive else 96 ** 3,
    # A is read in place (not packed) when n is at most this (row-major A, transposed A): each A
    # element then feeds only 2n flops, and packing it would cost as much as the arithmetic.
    "gemm_rowa_max_n": 256,
    "gemm_cola_max_n": 256,
    # Row chunks per thread of the shared-B parallel path.  In-process A/B at 2 threads, 7
    # interleaved rounds, median GFLOP/s: sq512 4 -> 62-88, 8 -> 120-131, 16 -> 98-137; sq1024
    # 4 -> 86-98, 8 -> 118-141, 16 -> 106-141 (both wait policies).
    "gemm_chunks_per_thread": 8,
    # --- pooling (_pool.pyx)
    # Output elements below which pooling stays on one thread: the 2x2 kernels move 20-30 GB/s on
    # one core, and under PASSIVE two threads lost to one on every network shape measured, up to
    # (64, 26, 26, 32) -> 346K outputs.
    "pool_par_min": 1 << 20 if _passive else 1 << 16,
    # --- batch norm (_norm.pyx)
    # Elements per row block (8 KiB of float32: the two arrays of the gradient sums stay in L1;
    # 2048, 4096 and 8192 measured within noise on the ResNet shapes), at least bn_min_block_rows
    # rows; the serial cores walk flat runs of at least bn_group_min elements (on 128x28x28x16
    # float32 per-row loops over the 16 channels ran the normalisation in 1.19 ms, runs of 128 in
    # 0.37 ms); below bn_par_min elements a call stays on one thread.
    "bn_block_elems": 2048,
    "bn_min_block_rows": 16,
    "bn_group_min": 128,
    "bn_par_min": 65536,
    # --- subnormal flushing (fpenv.h)
    # Calls of fewer multiply-adds (or element operations) do not flush: setting the control
    # register on a team costs more than subnormals can cost such a call (measured 1.6-1.9x on an
    # 8x8 conv under PASSIVE).
    "flush_min_work": 1 << 22,
}

# Entries that divide or count blocks: at least 1 (the others may be 0, e.g. a bar turned off).
POSITIVE = {"cols_budget", "winograd_block_bytes", "winograd_group_tiles", "units_per_thread", "min_unit_rows", "parts_max",
            "direct_bwd_blocks", "relu_block_rows", "add_relu_block", "gemm_chunks_per_thread", "bn_block_elems", "bn_min_block_rows", "bn_group_min"}

cdef Tuning _table


cdef const Tuning *tuning() noexcept nogil:
    return &_table


def _overrides(text):
    """{name: value} from MINICNN_TUNING's "name=value,..." (bad entries warned about and dropped)."""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = item.partition("=")
        name = name.strip()
        try:
            number = int(value.strip(), 0)
        except ValueError:
            number = -1
        if name not in DEFAULTS:
            warnings.warn(f"MINICNN_TUNING: unknown entry {name!r} ignored (known: {', '.join(DEFAULTS)})",
                          RuntimeWarning, stacklevel=3)
        elif number < (1 if name in POSITIVE else 0):
            warnings.warn(f"MINICNN_TUNING: {item!r} ignored: the value must be an integer >= "
                          f"{1 if name in POSITIVE else 0}", RuntimeWarning, stacklevel=3)
        else:
            out[name] = number
    return out


def table():
    """The table in use, read-only: {name: value}."""
    return types.MappingProxyType(dict(_table))


_table = dict(DEFAULTS, **_overrides(os.environ.get("MINICNN_TUNING", "")))
