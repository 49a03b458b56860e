"""Write a differentiable operation and prove its backward with ``minicnn.gradcheck``.

    python examples/gradcheck_example.py                 # --threads N, --seed S (it trains nothing)

``gradcheck`` compares the gradients that ``backward`` computes with float64 central finite
differences.  Every op in minicnn ships with such a check; this script shows the recipe on a new
op (Swish, ``x * sigmoid(beta * x)``, with a gradient for ``beta`` too), on minicnn's own conv2d
and max-pooling, and shows what a wrong backward looks like.
"""

import argparse
import contextlib

import numpy as np

import minicnn
from minicnn import ops
from minicnn.autograd import Function


class SwishFunction(Function):
    """y = x * sigmoid(beta * x); dy/dx = s + beta x s (1 - s); dy/dbeta = x^2 s (1 - s)."""

    @staticmethod
    def forward(ctx, x, beta):
        s = 1.0 / (1.0 + np.exp(-beta * x))
        ctx.save_for_backward(x, beta, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, beta, s = ctx.saved_tensors
        need_x, need_beta = ctx.needs_input_grad
        ds = s * (1.0 - s)
        gx = grad_out * (s + beta * x * ds) if need_x else None
        # beta has shape (1,): sum the per-element contributions back to it.
        gbeta = np.sum(grad_out * x * x * ds).reshape(beta.shape) if need_beta else None
        return gx, gbeta


class BrokenSwishFunction(SwishFunction):
    """The same forward with a classic mistake in backward: the sigmoid's derivative forgotten."""

    @staticmethod
    def backward(ctx, grad_out):
        x, beta, s = ctx.saved_tensors
        return grad_out * s, np.sum(grad_out * x * x * s).reshape(beta.shape)


def swish(x, beta):
    return SwishFunction.apply(x, beta)


def check(name, fn, inputs):
    try:
        minicnn.gradcheck(fn, inputs)
    except AssertionError as exc:
        first = str(exc).splitlines()[0]
        print(f"{name:<38} FAILED: {first}")
        return False
    print(f"{name:<38} ok")
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None,
                   help="OpenMP threads for the kernels (default: all cores, or $OMP_NUM_THREADS)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    args = p.parse_args(argv)
    with minicnn.num_threads(args.threads) if args.threads else contextlib.nullcontext():
        return _run_checks(np.random.default_rng(args.seed))


def _run_checks(rng):
    x = rng.standard_normal((3, 5))
    beta = np.array([1.3])
    results = {
        "swish": check("Swish (x and beta)", swish, [x, beta]),
        "broken_swish": check("BrokenSwish (wrong backward)", BrokenSwishFunction.apply, [x, beta]),
    }
    # minicnn's own ops pass the same test (the kernels compute in float64 here).
    image = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 4))
    bias = rng.standard_normal(4)
    results["conv2d"] = check("ops.conv2d (x, kernel, bias), stride 2",
                              lambda a, k, b: ops.conv2d(a, k, b, strides=2, padding="same"),
                              [image, kernel, bias])
    results["max_pool2d"] = check("ops.max_pool2d", lambda a: ops.max_pool2d(a, 2), [image])
    # And a composition: the gradient of a tiny network's loss with respect to its weights.
    labels = np.array([1, 3])
    w = rng.standard_normal((2 * 2 * 4, 5)) * 0.3

    def tiny_net(k, w):
        h = ops.relu(ops.conv2d(image, k, padding="valid", strides=2))  # (2, 2, 2, 4)
        logits = ops.matmul(ops.reshape(h, (2, -1)), w)                  # (2, 5)
        return ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    k2 = rng.standard_normal((3, 3, 3, 4)) * 0.5
    results["tiny_net"] = check("conv -> relu -> dense -> cross-entropy", tiny_net, [k2, w])
    ok = results["swish"] and not results["broken_swish"] and results["conv2d"] and results["max_pool2d"]
    print("all as expected" if ok and results["tiny_net"] else "UNEXPECTED RESULT")
    return results


if __name__ == "__main__":
    main()
