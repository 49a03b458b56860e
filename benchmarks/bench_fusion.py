"""Inference fusion A/B: ``predict`` of a benchmark model with ``model.fuse_inference`` on and off.

Both in one process, alternating which goes first each round; each round times ``--calls``
predict calls of one batch on the thread's CPU time (a descheduled thread does not accumulate it,
so a shared host's load matters less than for wall-clock) and keeps the fastest.  Prints the
medians and the ratio (unfused / fused) with its range over the rounds, and checks the two
outputs are bitwise equal.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_fusion.py --model resnet --batch 256 --threads 1
"""

import argparse
import time

import numpy as np

import minicnn
import models


def _time(model, x, calls):
    best = float("inf")
    for _ in range(calls):
        t = time.thread_time()
        model.predict(x, batch_size=len(x), verbose=0)
        best = min(best, time.thread_time() - t)
    return best * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet", choices=sorted(models.SPECS))
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=3)
    args = p.parse_args(argv)
    minicnn.set_num_threads(args.threads)
    model = models.build(minicnn, args.model)
    x = np.random.default_rng(0).standard_normal((args.batch,) + models.SPECS[args.model][0]).astype("float32")
    outputs = {}
    for fused in (True, False):
        model.fuse_inference = fused
        outputs[fused] = model.predict(x, batch_size=args.batch, verbose=0)  # warm-up, and the check
    same = np.array_equal(outputs[True].view(np.uint32), outputs[False].view(np.uint32))
    times = {True: [], False: []}
    for r in range(args.rounds):
        for fused in ((True, False) if r % 2 == 0 else (False, True)):
            model.fuse_inference = fused
            times[fused].append(_time(model, x, args.calls))
    ratios = [u / f for u, f in zip(times[False], times[True])]
    print(f"{args.model} predict, batch {args.batch}, {args.threads} thread(s), CPU ms per call "
          f"(median of {args.rounds} rounds, best of {args.calls} calls each)")
    for fused in (False, True):
        print(f"  {'fused  ' if fused else 'unfused'} {np.median(times[fused]):8.1f}  "
              f"({min(times[fused]):.1f}-{max(times[fused]):.1f})")
    print(f"  unfused / fused {np.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}); "
          f"outputs bitwise equal: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
