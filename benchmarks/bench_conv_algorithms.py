"""Two convolution algorithms of the plan, A/B on the same call: which one should the plan pick?

Times ``conv2d_forward`` / ``conv2d_backward_input`` / ``conv2d_backward_kernel`` with
``algorithm=`` forced to each of two ``Algorithm`` names, in one process, alternating which goes
first in each round; per round the median of a few calls, on the thread's CPU time
(``time.thread_time``: a thread waiting for a core on a shared host does not accumulate it), so
the ratio holds on a loaded machine.  Prints the medians and the ratio's median and range; GFLOP/s
count the direct convolution's 2 x N x OH x OW x kh x kw x C x F whatever the algorithm.

  OMP_NUM_THREADS=1 python benchmarks/bench_conv_algorithms.py --direction forward \\
      --base IM2COL --new WINOGRAD --shapes 128x32x16x16,128x8x64x64

A shape is NxHxCxF (square H x H maps, 3x3 kernel, "same" padding unless --padding valid).
"""

import argparse
import time

import numpy as np

from minicnn._kernels import conv


def _median_time(fn, calls):
    ts = []
    for _ in range(calls):
        t0 = time.thread_time()
        fn()
        ts.append(time.thread_time() - t0)
    return float(np.median(ts))


def _check_same(ya, yb, shape, args):
    """Timing an algorithm that computes something else would be meaningless: stop instead."""
    ya, yb = np.asarray(ya[0] if isinstance(ya, tuple) else ya), np.asarray(yb[0] if isinstance(yb, tuple) else yb)
    err = float(np.max(np.abs(ya - yb))) / max(float(np.max(np.abs(ya))), 1e-30)
    if err > (1e-4 if ya.dtype == np.float32 else 1e-10):
        raise SystemExit(f"{shape}: {args.base} and {args.new} disagree ({args.direction}, max error {err:.2e} "
                         "of max |y|)")


def _call(direction, algorithm, x, k, dy, padding):
    alg = conv.Algorithm[algorithm]
    if direction == "forward":
        return lambda: conv.conv2d_forward(x, k, padding=padding, algorithm=alg)
    if direction == "backward_input":
        return lambda: conv.conv2d_backward_input(dy, k, x.shape, padding=padding, algorithm=alg)
    return lambda: conv.conv2d_backward_kernel(x, dy, k.shape, padding=padding, bias=False, algorithm=alg)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--direction", choices=["forward", "backward_input", "backward_kernel"], default="forward")
    p.add_argument("--base", default="IM2COL")
    p.add_argument("--new", default="WINOGRAD")
    p.add_argument("--shapes", default="128x32x16x16,128x16x32x32,128x8x64x64")
    p.add_argument("--kernel", type=int, default=3)
    p.add_argument("--padding", default="same")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{args.direction}, {args.kernel}x{args.kernel}, padding {args.padding}, {args.dtype}: "
          f"{args.base} -> {args.new} (ms of thread CPU time, medians of {args.rounds} rounds)")
    for shape in args.shapes.split(","):
        n, h, c, f = (int(v) for v in shape.split("x"))
        x = rng.standard_normal((n, h, h, c)).astype(args.dtype)
        k = rng.standard_normal((args.kernel, args.kernel, c, f)).astype(args.dtype)
        y_shape = conv.conv2d_output_shape(x.shape, k.shape, padding=args.padding)
        dy = rng.standard_normal(y_shape).astype(args.dtype)
        flops = 2 * np.prod(y_shape) * args.kernel ** 2 * c
        calls = max(1, min(20, int(3e8 / flops)))
        fa, fb = (_call(args.direction, a, x, k, dy, args.padding) for a in (args.base, args.new))
        _check_same(fa(), fb(), shape, args)
        ta, tb = [], []
        for r in range(args.rounds):
            for fn, out in ((fa, ta), (fb, tb)) if r % 2 else ((fb, tb), (fa, ta)):
                out.append(_median_time(fn, calls))
        ratio = np.array(ta) / np.array(tb)
        a, b = np.median(ta), np.median(tb)
        print(f"  {n:4d} x {h:3d}x{h:<3d} {c:4d}->{f:<4d} {a * 1e3:8.2f} {b * 1e3:8.2f} ms  "
              f"{flops / b / 1e9:6.1f} GFLOP/s  speed-up {np.median(ratio):.2f} ({ratio.min():.2f}-{ratio.max():.2f})",
              flush=True)


if __name__ == "__main__":
    main()
