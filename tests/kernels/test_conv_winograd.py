"""The WINOGRAD conv plan (F(2x2, 3x3)) vs the NumPy references, forced through the plan API."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn._kernels import _dispatch, conv
from minicnn.reference import kernels as ref
from minicnn.reference.winograd import conv2d_forward_winograd

pytestmark = pytest.mark.usefixtures("threads_from_any_size")

A = conv.Algorithm
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}
PADDINGS = ["valid", "same", ((1, 0), (0, 2)), ((2, 2), (1, 1)), ((0, 1), (2, 0))]


def _forward(x, k, b, padding, relu, threads_list=(1, 2, 3)):
    """The WINOGRAD forward at every thread count, checked bitwise equal; one of the results."""
    runs = []
    for threads in threads_list:
        with minicnn.num_threads(threads):
            runs.append(conv.conv2d_forward(x, k, b, padding=padding, relu=relu, algorithm=A.WINOGRAD))
    for r in runs[1:]:
        assert np.array_equal(r, runs[0], equal_nan=True)
    return runs[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 20), f=st.integers(1, 20),
       padding=st.sampled_from(PADDINGS), use_bias=st.booleans(), relu=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**31 - 1))
def test_winograd_matches_reference(n, h, w, c, f, padding, use_bias, relu, dtype, seed):
    x_shape, k_shape = (n, h, w, c), (3, 3, c, f)
    try:
        conv.conv2d_output_shape(x_shape, k_shape, padding=padding)
    except ValueError:  # 3x3 larger than the padded input
        x_shape = (n, h + 2, w + 2, c)
    rng = np.random.default_rng(seed)
    x, k, b = rng.standard_normal(x_shape), rng.standard_normal(k_shape), rng.standard_normal(f)
    b = b if use_bias else None
    want = ref.conv2d_forward(x, k, b, padding=padding)
    want = np.maximum(want, 0) if relu else want
    got = _forward(x.astype(dtype), k.astype(dtype), None if b is None else b.astype(dtype), padding, relu)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, padding", [((3, 14, 13, 40), "same"), ((2, 17, 16, 64), "valid"),
                                            ((5, 8, 8, 33), ((2, 0), (1, 1)))])
def test_many_units_match_the_numpy_winograd(shape, padding, dtype):
    # more tiles than one unit holds, so units and threads split the call
    rng = np.random.default_rng(sum(shape))
    x, k, b = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 48)), rng.standard_normal(48)
    assert conv.plan("forward", shape, k.shape, padding=padding, algorithm=A.WINOGRAD).rows < shape[0] * 49
    want = conv2d_forward_winograd(x, k, b, padding=padding)
    got = _forward(x.astype(dtype), k.astype(dtype), b.astype(dtype), padding, False)
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, padding", [((2, 3, 2, 16), ((5, 4), (6, 5))), ((1, 5, 7, 17), ((0, 6), (4, 0))),
                                            ((2, 1, 9, 16), ((3, 3), (1, 1)))])
def test_padding_wider_than_a_tile(shape, padding, dtype):
    # patches the image's edge cuts on both sides, or misses entirely (rows or columns wholly
    # padding), are copied row by row into the zero-padded patch
    rng = np.random.default_rng(shape[3])
    x, k, b = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 16)), rng.standard_normal(16)
    want = ref.conv2d_forward(x, k, b, padding=padding)
    got = _forward(x.astype(dtype), k.astype(dtype), b.astype(dtype), padding, False)
    np.testing.assert_allclose(got, want, **TOL[dtype])


def test_numpy_winograd_is_the_convolution():
    rng = np.random.default_rng(3)
    for shape, padding in [((2, 7, 5, 3), "valid"), ((1, 6, 9, 4), "same"), ((2, 4, 4, 2), ((2, 0), (0, 1)))]:
        x, k, b = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 5)), rng.standard_normal(5)
        np.testing.assert_allclose(conv2d_forward_winograd(x, k, b, padding=padding),
                                   ref.conv2d_forward(x, k, b, padding=padding), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="needs a"):
        conv2d_forward_winograd(np.ones((1, 5, 5, 2)), np.ones((5, 5, 2, 1)))


@pytest.mark.parametrize("c, f", [(16, 16), (32, 32), (64, 64)])
def test_float32_error_stays_near_the_direct_sums(c, f):
    # Winograd adds rounding in its transforms: its error against the float64 result stays within
    # a small multiple of im2col's (measured: max error 0.4-1.6x im2col's, 2e-7 to 5e-7 of max |y|, on ResNet-20 shapes)
    rng = np.random.default_rng(c)
    x, k = rng.standard_normal((4, 16, 16, c)), rng.standard_normal((3, 3, c, f))
    exact = conv2d_forward_winograd(x, k, padding="same")
    x32, k32 = x.astype(np.float32), k.astype(np.float32)
    errs = {alg: np.abs(conv.conv2d_forward(x32, k32, padding="same", algorithm=alg) - exact).max()
            for alg in (A.WINOGRAD, A.IM2COL)}
    assert errs[A.WINOGRAD] <= 3 * errs[A.IM2COL], errs
    assert errs[A.WINOGRAD] <= 1e-5 * np.abs(exact).max(), errs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, f", [((3, 15, 14, 16), 16), ((2, 17, 18, 3), 40), ((4, 9, 11, 7), 13),
                                      ((2, 12, 12, 5), 27), ((1, 10, 10, 2), 3)])
def test_the_small_c_kernel_matches_the_reference_over_many_groups(shape, f, dtype):
    # more tiles than a group (and a unit) holds, groups cut short, tiles past the last block of 6,
    # filters past the last whole vectors (f % 16, f % 8, f < 8)
    rng = np.random.default_rng(sum(shape) + f)
    x, k, b = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], f)), rng.standard_normal(f)
    p = conv.plan("forward", shape, k.shape, padding="same", algorithm=A.WINOGRAD)
    assert 0 < p.parts < shape[0] * ((shape[1] + 1) // 2) * ((shape[2] + 1) // 2)
    want = ref.conv2d_forward(x, k, b, padding="same")
    got = _forward(x.astype(dtype), k.astype(dtype), b.astype(dtype), "same", True)
    np.testing.assert_allclose(got, np.maximum(want, 0), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_input_gradient_runs_the_flipped_winograd_forward(dtype):
    rng = np.random.default_rng(5)
    x_shape, k = (2, 9, 10, 20), rng.standard_normal((3, 3, 20, 24))
    p = conv.plan("backward_input", x_shape, k.shape, padding="same")
    assert p.algorithm == A.FLIPPED and p.inner.algorithm == A.WINOGRAD
    dy = rng.standard_normal((2, 9, 10, 24))
    want = ref.conv2d_backward_input(dy, k, x_shape, padding="same")
    runs = []
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            runs.append(conv.conv2d_backward_input(dy.astype(dtype), k.astype(dtype), x_shape, padding="same"))
    assert np.array_equal(runs[0], runs[1])
    np.testing.assert_allclose(runs[0], want, **TOL[dtype])


def test_nan_reaches_only_the_outputs_that_read_it():
    # the transforms mix a tile's cells, but a cell reaches exactly the outputs whose 3x3 window
    # holds it (the nonzeros of B^T and A^T line up with the window)
    x = np.ones((1, 6, 6, 16), np.float32)
    x[0, 3, 2, 5] = np.nan
    k = np.ones((3, 3, 16, 16), np.float32)
    y = conv.conv2d_forward(x, k, algorithm=A.WINOGRAD)
    want = ref.conv2d_forward(x.astype(np.float64), k.astype(np.float64))
    assert np.array_equal(np.isnan(y), np.isnan(want))


@pytest.mark.parametrize("opts, k_shape", [(dict(strides=2), (3, 3, 4, 4)), (dict(dilation_rate=2), (3, 3, 4, 4)),
                                           ({}, (5, 5, 4, 4)), ({}, (3, 2, 4, 4)),
                                           (dict(groups=2), (3, 3, 2, 4))])
def test_winograd_refuses_what_it_cannot_compute(opts, k_shape):
    with pytest.raises(ValueError, match="algorithm WINOGRAD cannot compute"):
        conv.plan("forward", (2, 9, 9, 4), k_shape, algorithm=A.WINOGRAD, **opts)
    with pytest.raises(ValueError, match="algorithm WINOGRAD cannot compute"):
        conv.plan("backward_kernel", (2, 9, 9, 4), (3, 3, 4, 4), algorithm=A.WINOGRAD)


@pytest.mark.parametrize("isa", _dispatch.available()[1:] or ["reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c, f", [(24, 20), (12, 37)])
def test_every_kernel_table_matches_the_reference_table(isa, dtype, c, f):
    # the transforms only add and subtract (the same numbers in every table); the products between
    # them (the GEMM's for 24 channels, the small-C kernel's for 12) fuse their multiply-adds where
    # the instruction set has FMA: equal to rounding
    rng = np.random.default_rng(6)
    x, k, b = rng.standard_normal((3, 11, 10, c)), rng.standard_normal((3, 3, c, f)), rng.standard_normal(f)
    runs = []
    for which, threads in (("reference", 1), (isa, 1), (isa, 2)):
        with minicnn.num_threads(threads):
            runs.append(conv.conv2d_forward(x.astype(dtype), k.astype(dtype), b.astype(dtype), padding="same",
                                            relu=True, algorithm=A.WINOGRAD, isa=which))
    np.testing.assert_allclose(runs[1], runs[0], **TOL[dtype])
    assert np.array_equal(runs[1], runs[2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c, f, forward, backward", [(16, 16, True, True), (15, 16, True, False), (16, 15, True, False),
                                                     (17, 64, True, True), (3, 16, True, False), (2, 8, True, False),
                                                     (2, 7, False, False), (1, 16, False, False),
                                                     (17, 8, False, False)])
def test_the_plan_turns_to_winograd_at_the_channel_thresholds(c, f, forward, backward, dtype):
    # the plan's own choice (no algorithm forced), forward and input gradient, 1 and 2 threads: the
    # forward from 2 input channels and 8 filters up to 16 channels (the small-C kernel), from 16
    # and 16 beyond; the input gradient (the flipped forward) from 16 and 16
    rng = np.random.default_rng(c * f)
    x_shape, k = (2, 9, 8, c), rng.standard_normal((3, 3, c, f))
    x, b, dy = rng.standard_normal(x_shape), rng.standard_normal(f), rng.standard_normal((2, 9, 8, f))
    p = conv.plan("forward", x_shape, k.shape, padding="same")
    assert (p.algorithm == A.WINOGRAD) == forward
    assert p.parts == (12 if forward and c <= 16 else 0)  # groups of 12 tiles for the small-C kernel
    inner = conv.plan("backward_input", x_shape, k.shape, padding="same").inner
    assert (inner is not None and inner.algorithm == A.WINOGRAD) == backward
    want_y = ref.conv2d_forward(x, k, b, padding="same")
    want_dx = ref.conv2d_backward_input(dy, k, x_shape, padding="same")
    runs = []
    for threads in (1, 2):
        with minicnn.num_threads(threads):
            runs.append((conv.conv2d_forward(x.astype(dtype), k.astype(dtype), b.astype(dtype), padding="same"),
                         conv.conv2d_backward_input(dy.astype(dtype), k.astype(dtype), x_shape, padding="same")))
    for got, want in zip(runs[0], (want_y, want_dx)):
        np.testing.assert_allclose(got, want, **TOL[dtype])
    for a, b2 in zip(*runs):
        assert np.array_equal(a, b2)


@pytest.mark.parametrize("threads", [1, 2])
def test_input_gradient_gradcheck_through_winograd(threads):
    # Conv2dFunction on 16 -> 16 channels: the forward and the input gradient (the flipped
    # forward) both run WINOGRAD; float64 central differences check the input gradient
    rng = np.random.default_rng(7)
    x, k = rng.standard_normal((1, 5, 4, 16)), minicnn.Tensor(rng.standard_normal((3, 3, 16, 16)))
    assert conv.plan("forward", x.shape, k.shape, padding="same").algorithm == A.WINOGRAD
    assert conv.plan("backward_input", x.shape, k.shape, padding="same").inner.algorithm == A.WINOGRAD
    with minicnn.num_threads(threads):
        assert minicnn.gradcheck(lambda xx: minicnn.ops.conv2d(xx, k, padding="same"), [x])
