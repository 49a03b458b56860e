#!/usr/bin/env python3
"""A bitwise fingerprint of minicnn's numbers on this CPU: hashes of what every kernel path and
three short training runs produce, to prove that a change to the compiled code moved no bit.

  python benchmarks/fingerprint.py --out before.json        # on the old code
  python benchmarks/fingerprint.py --compare before.json    # on the new code: exit 1 on any difference

Covered, each at 1, 2 and 3 threads (the results must also agree across thread counts):
  * fixed-seed fits (2 epochs, Adam) of the examples' models on 256 synthetic images: the
    reference CNN, LeNet-5 (average and max pooling) and the small ResNet with batch norm;
    the weights after training and the predictions;
  * every convolution algorithm (im2col + GEMM, pointwise, direct few-channel loops, depthwise,
    the flipped-kernel input gradient, the kernel gradient's row-range partial sums, grouped,
    strided, dilated, transposed) forward and backward with the fused epilogues, pooling, batch
    norm, the ReLU mask and bias gradient, the fused Adam update and the GEMM, in float32 and float64.

Hashes depend on the CPU's instruction set (FMA rounding): compare runs on the same machine only.
"""
import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

import _checkout  # noqa: E402,F401  (minicnn from an installed wheel or this checkout)
import minicnn  # noqa: E402
from minicnn import linalg, optimizers  # noqa: E402
from minicnn._kernels import conv, norm, pool  # noqa: E402

try:  # where the ReLU mask lives (it moved out of the conv module)
    from minicnn._kernels.elementwise import relu_mask_bias_grad  # noqa: E402
except ImportError:
    relu_mask_bias_grad = conv.relu_mask_bias_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
import fashion_mnist_cnn  # noqa: E402
import lenet5  # noqa: E402
import resnet_fashion  # noqa: E402

THREADS = (1, 2, 3)


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:20]


# ------------------------------------------------------------------ training runs

def _fit(name, build, loss, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    minicnn.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=optimizers.Adam(2e-3), loss=loss)
    model.fit(x, y, batch_size=64, epochs=2, shuffle=True, verbose=0)
    return digest(*model.get_weights(), model.predict(x[:64], batch_size=32, verbose=0))


FITS = {
    "fit/reference_cnn": lambda: _fit("ref", fashion_mnist_cnn.build_model,
                                      minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)),
    "fit/lenet5_avg": lambda: _fit("lenet", lambda: lenet5.build_model("avg"), "sparse_categorical_crossentropy"),
    "fit/lenet5_max": lambda: _fit("lenet", lambda: lenet5.build_model("max"), "sparse_categorical_crossentropy"),
    "fit/resnet_bn": lambda: _fit("resnet", lambda: resnet_fashion.build_model(width=8, seed=1),
                                  minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)),
}


# ------------------------------------------------------------------ kernel paths

# (x shape, kernel shape, options): one per algorithm and geometry family
CONVS = [
    ("im2col", (8, 14, 13, 16), (3, 3, 16, 24), dict(padding="same")),
    ("im2col_big", (16, 16, 16, 32), (3, 3, 32, 64), {}),
    ("pointwise", (8, 12, 12, 32), (1, 1, 32, 48), {}),
    ("direct_c1", (32, 28, 28, 1), (5, 5, 1, 6), {}),
    ("direct_c1_f32", (16, 28, 28, 1), (3, 3, 1, 32), dict(padding="same")),
    ("direct_c3_bwd", (16, 20, 20, 3), (3, 3, 3, 16), dict(padding="same", strides=(1, 2))),
    ("depthwise", (8, 14, 14, 24), (3, 3, 1, 24), dict(groups=24, padding="same")),
    ("depthwise_x2", (4, 11, 10, 16), (3, 3, 1, 32), dict(groups=16, strides=2, padding="same")),
    ("flipped", (6, 12, 11, 64), (3, 3, 64, 12), dict(padding="same")),
    ("parts", (64, 12, 12, 6), (5, 5, 6, 16), {}),
    ("grouped", (4, 10, 10, 12), (3, 3, 4, 9), dict(groups=3, dilation_rate=(2, 1))),
    ("strided", (5, 17, 15, 7), (4, 3, 7, 10), dict(strides=(2, 3), padding=((1, 2), (0, 1)))),
    ("few_filters", (16, 20, 20, 8), (3, 3, 8, 4), {}),
]


def _conv_case(x_shape, k_shape, opts, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    k = (rng.standard_normal(k_shape) / np.sqrt(np.prod(k_shape[:3]))).astype(dtype)
    b = rng.standard_normal(k_shape[3]).astype(dtype)
    y = conv.conv2d_forward(x, k, b, **opts)
    yr = conv.conv2d_forward(x, k, b, relu=True, **opts)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = conv.conv2d_backward_input(dy, k, x_shape, **opts)
    dk, db = conv.conv2d_backward_kernel(x, dy, k_shape, **opts)
    dkr, dbr = conv.conv2d_backward_kernel(x, dy, k_shape, relu_output=yr, **opts)
    dkn, _ = conv.conv2d_backward_kernel(x, dy, k_shape, bias=False, **opts)
    return digest(y, yr, dx, dk, db, dkr, dbr, dkn)


def _transpose_case(dtype, seed):
    rng = np.random.default_rng(seed)
    out = []
    for x_shape, k_shape, opts in [((4, 7, 7, 16), (3, 3, 8, 16), dict(strides=2)),
                                   ((3, 6, 5, 8), (4, 4, 6, 8), dict(strides=2, padding="same", output_padding=1))]:
        x = rng.standard_normal(x_shape).astype(dtype)
        k = rng.standard_normal(k_shape).astype(dtype)
        b = rng.standard_normal(k_shape[2]).astype(dtype)
        y = conv.conv2d_transpose_forward(x, k, b, **opts)
        dy = rng.standard_normal(y.shape).astype(dtype)
        out += [y, conv.conv2d_transpose_backward_input(dy, k, **opts),
                *conv.conv2d_transpose_backward_kernel(x, dy, k_shape, **opts)]
    return digest(*out)


def _pool_case(dtype, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape in [(16, 24, 24, 6), (8, 13, 13, 16), (4, 16, 16, 64), (3, 9, 7, 3), (64, 26, 26, 32)]:
        x = rng.standard_normal(shape).astype(dtype)
        x.flat[::11] = x.flat[1::11]  # ties
        for args in [(2, None, "valid"), (2, None, "same"), (3, 2, "valid"), ((2, 3), (1, 2), "same")]:
            y, arg = pool.max_pool2d_forward(x, *args)
            dy = rng.standard_normal(y.shape).astype(dtype)
            a = pool.avg_pool2d_forward(x, *args)
            out += [y, arg, pool.max_pool2d_forward(x, *args, argmax=False)[0],
                    pool.max_pool2d_backward(dy, arg, shape), a, pool.avg_pool2d_backward(dy, shape, *args)]
        gy, garg = pool.global_max_pool2d_forward(x)
        out += [pool.global_avg_pool2d_forward(x), gy, garg]
    return digest(*out)


def _norm_case(dtype, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape in [(32, 14, 14, 16), (8, 7, 7, 64), (50, 10), (6, 5, 5, 3), (128, 28, 28, 8)]:
        C = shape[-1]
        x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        gamma, beta = rng.uniform(0.5, 1.5, C).astype(dtype), rng.standard_normal(C).astype(dtype)
        mean, var = norm.batch_norm_statistics(x)
        inv = (1 / np.sqrt(var + 1e-3)).astype(dtype)
        m = mean.astype(dtype)
        out += [mean, var, norm.batch_norm_forward(x, m, inv, gamma, beta),
                norm.batch_norm_forward(x, m, inv, gamma, beta, relu=True),
                *norm.batch_norm_backward(g, x, m, inv, gamma), *norm.batch_norm_backward(g, x, m, inv, gamma,
                                                                                           training=False)]
        out += list(relu_mask_bias_grad(g, np.maximum(x - 3, 0)))
    return digest(*out)


def _adam_gemm_case(dtype, seed):
    rng = np.random.default_rng(seed)
    ws = [minicnn.Tensor(rng.standard_normal(s).astype(dtype)) for s in [(5, 5, 1, 6), (6,), (400, 120), (120,)]]
    opt = optimizers.Adam(1e-2)
    for _ in range(3):
        opt.apply([rng.standard_normal(w.shape).astype(dtype) for w in ws], ws)
    a = rng.standard_normal((300, 200)).astype(dtype)
    b = rng.standard_normal((200, 150)).astype(dtype)
    return digest(*[w.data for w in ws], linalg.gemm(a, b), linalg.gemm(a, b[:, :40]),
                  linalg.gemm(a.T.copy(), b, trans_a=True))


def kernel_cases():
    cases = {}
    for dtype in (np.float32, np.float64):
        dt = np.dtype(dtype).name
        for i, (name, xs, ks, opts) in enumerate(CONVS):
            cases[f"conv/{name}/{dt}"] = (lambda xs=xs, ks=ks, opts=opts, dtype=dtype, i=i:
                                          _conv_case(xs, ks, opts, dtype, 100 + i))
        cases[f"conv_transpose/{dt}"] = lambda dtype=dtype: _transpose_case(dtype, 7)
        cases[f"pool/{dt}"] = lambda dtype=dtype: _pool_case(dtype, 8)
        cases[f"norm_relu/{dt}"] = lambda dtype=dtype: _norm_case(dtype, 9)
        cases[f"adam_gemm/{dt}"] = lambda dtype=dtype: _adam_gemm_case(dtype, 10)
    return cases


def fingerprint(only=None):
    cases = dict(kernel_cases(), **FITS)
    result = {}
    for name, run in cases.items():
        if only and not any(s in name for s in only):
            continue
        per_thread = []
        for t in THREADS:
            with minicnn.num_threads(t):
                per_thread.append(run())
        result[name] = per_thread[0] if len(set(per_thread)) == 1 else "THREADS-DIFFER:" + ",".join(per_thread)
        print(f"{name:34s} {result[name]}", flush=True)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="write the hashes to this JSON file")
    p.add_argument("--compare", help="compare with the hashes in this JSON file; exit 1 on a difference")
    p.add_argument("--only", default="", help="comma list of substrings of the case names to run")
    args = p.parse_args()
    result = fingerprint([s for s in args.only.split(",") if s])
    bad = [k for k, v in result.items() if v.startswith("THREADS-DIFFER")]
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    if args.compare:
        with open(args.compare) as f:
            want = json.load(f)
        bad += [k for k in result if want.get(k) != result[k]]
        missing = [k for k in want if k not in result]
        print(f"compared {len(result)} cases with {args.compare}: {len(bad)} differ"
              + (f", {len(missing)} not run" if missing else ""))
    for k in bad:
        print("DIFFERENT:", k)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
