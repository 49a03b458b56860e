#!/usr/bin/env python3
"""Autograd overhead: forward+backward of relu(x @ W + b) vs the same arithmetic in NumPy.

x (64, 128), W (128, 128), b (128,), float32; the gradient flowing in is a fixed array, and the
NumPy peer computes exactly what backward computes (dW, db, and dx when x requires grad).
Also: numpy ``@`` vs minicnn.linalg.gemm on the three GEMMs involved (to decide which the dense
op uses), and the fixed cost of one tiny op (forward + backward) in microseconds.

Samples of minicnn and of its peer alternate (so both see the same load on a shared machine);
a sample times enough iterations to last >= --min-time seconds; the ratio printed is the median
of the per-pair ratios over --repeats pairs.  Run with OMP_WAIT_POLICY=PASSIVE on a shared
machine, and OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 for the single-thread figures:

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_autograd.py
"""

import argparse
import cProfile
import pstats
import statistics
import time

import numpy as np

import _checkout  # noqa: F401  (minicnn from an installed wheel or this checkout)
import minicnn
from minicnn import Tensor, ops


def _loops(fn, min_time):
    """How many calls make one sample last >= min_time."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 >= min_time:
            return n
        n *= 2


def _sample(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def compare(fn, peer, min_time, repeats):
    """Median seconds per call of fn and of peer, and the median of the per-pair ratios.

    Samples alternate fn / peer so both see the same load on a shared machine; the ratio of
    each pair is what is reported, the medians of the absolute times are for orientation.
    """
    n_fn, n_peer = _loops(fn, min_time), _loops(peer, min_time)
    t_fn, t_peer, ratios = [], [], []
    for _ in range(repeats):
        a = _sample(fn, n_fn)
        b = _sample(peer, n_peer)
        t_fn.append(a)
        t_peer.append(b)
        ratios.append(a / b)
    return statistics.median(t_fn), statistics.median(t_peer), statistics.median(ratios)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--min-time", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=None, help="minicnn.set_num_threads (default: as is)")
    p.add_argument("--no-cnn", action="store_true", help="skip the reference-CNN step breakdown")
    args = p.parse_args()
    if args.threads:
        minicnn.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n, f = args.batch, args.features
    x = rng.standard_normal((n, f), dtype=np.float32)
    w = rng.standard_normal((f, f), dtype=np.float32) * 0.1
    b = rng.standard_normal(f, dtype=np.float32)
    gy = rng.standard_normal((n, f), dtype=np.float32)

    def numpy_step(need_dx):
        h = x @ w
        h += b
        y = np.maximum(h, 0)
        gh = gy * (h > 0)
        gw = x.T @ gh
        gb = gh.sum(axis=0)
        gx = gh @ w.T if need_dx else None
        return y, gw, gb, gx

    W = Tensor(w, requires_grad=True)
    B = Tensor(b, requires_grad=True)

    def make_autograd(need_dx, fused):
        X = Tensor(x, requires_grad=need_dx)

        def step():
            W.grad = B.grad = X.grad = None
            y = ops.dense(X, W, B, activation="relu") if fused else ops.relu(X @ W + B)
            y.backward(gy)
        return step

    # Correctness of what is being timed.
    X = Tensor(x, requires_grad=True)
    ops.relu(X @ W + B).backward(gy)
    _, gw, gb, gx = numpy_step(True)
    np.testing.assert_allclose(W.grad, gw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(B.grad, gb, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(X.grad, gx, rtol=1e-4, atol=1e-4)

    print(f"relu(x @ W + b), x {n}x{f}, W {f}x{f}, float32, fwd+bwd; threads={minicnn.get_num_threads()}")
    print(f"{'variant':48s} {'minicnn us':>11s} {'numpy us':>9s} {'ratio':>6s}")
    for need_dx in (False, True):
        for fused in (False, True):
            t_ag, t_np, ratio = compare(make_autograd(need_dx, fused), lambda: numpy_step(need_dx),
                                        args.min_time, args.repeats)
            name = ("ops.dense(..., activation='relu') (1 node)" if fused
                    else "ops.relu(X @ W + B) (3 nodes)") + (", dx too" if need_dx else "")
            print(f"{name:48s} {t_ag * 1e6:11.1f} {t_np * 1e6:9.1f} {ratio:6.2f}x")

    print("\nGEMMs of this layer: numpy @ vs minicnn.linalg.gemm (us)")
    gemm = minicnn.linalg.gemm
    for name, f_np, f_mc in [
        ("x @ W      (64x128 @ 128x128)", lambda: x @ w, lambda: gemm(x, w)),
        ("x.T @ gh   (128x64 @ 64x128)", lambda: x.T @ gy, lambda: gemm(x, gy, trans_a=True)),
        ("gh @ W.T   (64x128 @ 128x128^T)", lambda: gy @ w.T, lambda: gemm(gy, w, trans_b=True)),
    ]:
        t2, t1, ratio = compare(f_mc, f_np, args.min_time, args.repeats)
        print(f"{name:34s} numpy {t1 * 1e6:7.1f}  minicnn {t2 * 1e6:7.1f}  ratio {ratio:5.2f}x")

    a = Tensor(np.ones(1, np.float32), requires_grad=True)
    one = np.ones(1, np.float32)

    def tiny():
        a.grad = None
        (a * 2.0).backward(one)

    t_tiny, t_np_tiny, _ = compare(tiny, lambda: (one * 2.0, one * 2.0), args.min_time, args.repeats)
    print(f"\nfixed cost of one op, fwd+bwd on 1 element: {t_tiny * 1e6:.1f} us "
          f"(numpy arithmetic alone {t_np_tiny * 1e6:.1f} us)")
    if not args.no_cnn:
        cnn_step_breakdown()


def cnn_step_breakdown(steps=10):
    """Where a training step of the reference CNN goes: autograd bookkeeping vs ops vs kernels."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)

    def param(*shape):
        return Tensor((rng.standard_normal(shape) * 0.1).astype(np.float32), requires_grad=True)

    k1, b1, k2, b2 = param(3, 3, 1, 32), param(32), param(3, 3, 32, 64), param(64)
    w1, c1, w2, c2 = param(1600, 128), param(128), param(128, 10), param(10)
    params = [k1, b1, k2, b2, w1, c1, w2, c2]

    def step():
        for p in params:
            p.grad = None
        h = ops.max_pool2d(ops.conv2d(x, k1, b1, activation="relu"))
        h = ops.max_pool2d(ops.conv2d(h, k2, b2, activation="relu"))
        h = ops.dense(ops.flatten(h), w1, c1, activation="relu")
        out = ops.softmax(ops.dense(h, w2, c2))
        ops.sparse_categorical_crossentropy(y, out).mean().backward()

    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    st = pstats.Stats(prof)

    def share(*parts, exclude=("matmul2d",), include=()):
        return sum(v[2] for k, v in st.stats.items()
                   if (any(p in k[0] for p in parts) and k[2] not in exclude) or k[2] in include) / st.total_tt

    print(f"\nreference CNN training step (batch 64, 28x28x1, conv32-pool-conv64-pool-dense128-dense10): "
          f"{statistics.median(times) * 1e3:.1f} ms; self time (cProfile): autograd bookkeeping "
          f"{share('minicnn/autograd'):.1%}, ops layer (incl. its numpy work) {share('minicnn/ops'):.1%}, "
          f"kernels + GEMM {share('minicnn/_kernels', 'minicnn/linalg', include=('matmul2d',)):.1%}")


if __name__ == "__main__":
    main()
