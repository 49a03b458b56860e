"""Fuzzing the public entry points: linalg.gemm, the conv/pool kernels, ops and layers.

Every call gets hostile input drawn by hypothesis -- any dtype (bool, ints, float16, complex,
object), any rank, zero-size axes, non-contiguous / negative-stride / broadcast (zero-stride,
read-only) views, NaN and inf, nonsense geometry arguments -- and must either

* return the right answer (checked against numpy or minicnn.reference, NaN/inf where the
  reference has them), or
* raise ValueError or TypeError with a message -- but only where the input breaks the documented
  contract: each test says which inputs are valid (``must_accept``), and refusing one fails it,

never crash the interpreter, hang, raise anything else, or return garbage.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers
from minicnn._kernels import conv as K
from minicnn._kernels import pool as P
from minicnn.reference import kernels as R

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(SETTINGS, max_examples=25)

CLEAR = (ValueError, TypeError)
ALL_DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.float16, np.float32,
              np.float64, np.complex64, np.complex128, object]
FLOATS = [np.float32, np.float64]


# ------------------------------------------------------------------ strategies
@st.composite
def layouts(draw, base):
    """``base`` as one of several memory layouts holding the same values."""
    kind = draw(st.sampled_from(["c", "f", "strided", "reversed", "broadcast"]))
    if kind == "f":
        return np.asfortranarray(base)
    if kind == "strided" and base.ndim:
        # every other element of an array twice as long along axis 0
        big = np.repeat(base, 2, axis=0) if base.shape[0] else base
        return big[::2] if base.shape[0] else big
    if kind == "reversed" and base.ndim:
        return np.ascontiguousarray(base[::-1])[::-1]
    if kind == "broadcast" and base.ndim and base.size:
        # a zero-stride read-only view: only valid when every row is the same
        row = base[:1]
        return np.broadcast_to(row, base.shape)
    return np.ascontiguousarray(base)


def _values(draw, shape, dtype, specials):
    n = int(np.prod(shape)) if shape else 1
    # small integers: exact in every float dtype, so float16/32/64 answers are comparable
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vals = rng.integers(-4, 5, size=n).astype(np.float64)
    if specials and n:
        for _ in range(draw(st.integers(0, 3))):
            vals[draw(st.integers(0, n - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    vals = vals.reshape(shape)
    if dtype is object:
        return vals.astype(object)
    if np.dtype(dtype).kind in "biu":
        return np.nan_to_num(vals, nan=0, posinf=1, neginf=-1).astype(dtype)
    if np.dtype(dtype).kind == "c":
        return (vals + 1j).astype(dtype)
    return vals.astype(dtype)


@st.composite
def arrays(draw, shape, dtypes=ALL_DTYPES, specials=True):
    dtype = draw(st.sampled_from(dtypes))
    return draw(layouts(_values(draw, tuple(shape), dtype, specials)))


def dims(lo=0, hi=5):
    return st.integers(lo, hi)


def clear_or(fn, *args, **kwargs):
    """fn's result, or None when it raised a clear error (ValueError/TypeError with a message).
    Callers assert that a None came from an input that is not valid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in numpy references
        try:
            return fn(*args, **kwargs)
        except CLEAR as e:
            assert str(e).strip(), f"{type(e).__name__} without a message"
            return None


def assert_matches(out, ref, dtype):
    tol = 1e-5 if np.dtype(dtype) == np.float64 else 2e-3
    assert out.shape == ref.shape, f"shape {out.shape} != reference {ref.shape}"
    np.testing.assert_allclose(np.asarray(out, np.float64), np.asarray(ref, np.float64),
                               rtol=tol, atol=tol, equal_nan=True)


def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# The documented argument values among those the strategies draw (the others must be refused).
VALID_STRIDES = [1, 2, 3, (1, 2)]
VALID_CONV_PADDING = ["valid", "same", "SAME", ((1, 0), (0, 2))]  # Keras lower-cases padding
VALID_DILATION = [1, 2, (2, 1)]
VALID_POOL_SIZE = [1, 2, 3, (2, 1), 7]
VALID_POOL_STRIDES = [None, 1, 2, (1, 2)]


def _has(choices, value):
    return any(type(value) is type(c) and value == c for c in choices)


def conv_output_exists(H, W, kh, kw, geom):
    """A convolution of an (H, W) image by a (kh, kw) kernel with a valid geometry has output
    cells.  'same' on an empty image may be refused: its padding is defined from the size."""
    dh, dw = _pair(geom["dilation_rate"])
    eff_h, eff_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    padding = geom["padding"]
    if isinstance(padding, str) and padding.lower() == "same":
        return H > 0 and W > 0
    (pt, pb), (pl, pr) = ((0, 0), (0, 0)) if padding == "valid" else padding
    return H + pt + pb >= eff_h and W + pl + pr >= eff_w


def valid_conv_geometry(geom):
    return (_has(VALID_STRIDES, geom["strides"]) and _has(VALID_CONV_PADDING, geom["padding"])
            and _has(VALID_DILATION, geom["dilation_rate"]))


# ------------------------------------------------------------------ linalg.gemm
@SETTINGS
@given(st.data(), dims(0, 6), dims(0, 6), dims(0, 6), st.booleans(), st.booleans(),
       st.sampled_from([None, "fresh", "wrong_shape", "fortran", "readonly"]))
def test_gemm_hostile(data, m, n, k, ta, tb, c_kind):
    a = data.draw(arrays((k, m) if ta else (m, k)))
    b = data.draw(arrays((n, k) if tb else (k, n)))
    c = None
    if c_kind is not None and _is_float(a):
        shape = (m, n + 1) if c_kind == "wrong_shape" else (m, n)
        c = np.full(shape, np.nan, dtype=a.dtype)  # beta=0 must ignore what c held
        if c_kind == "fortran":
            c = np.asfortranarray(c)
        if c_kind == "readonly":
            c.flags.writeable = False
    # any layout of a and b; c, when given, is written in place: C-contiguous and writeable
    must_accept = _is_float(a) and a.dtype == b.dtype and (
        c is None or c_kind == "fresh" or (c_kind == "fortran" and c.flags.c_contiguous))
    out = clear_or(minicnn.linalg.gemm, a, b, c, trans_a=ta, trans_b=tb)
    if out is None:
        assert not must_accept, f"gemm refused valid {a.dtype} {a.shape} x {b.dtype} {b.shape}, c {c_kind}"
        return
    assert _is_float(a) and a.dtype == b.dtype, "gemm accepted a dtype it does not support"
    assert c is None or (out is c and (c_kind == "fresh" or (c_kind == "fortran" and c.flags.c_contiguous)))
    ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
    assert out.dtype == a.dtype
    assert_matches(out, ref, a.dtype)


@FEW
@given(st.sampled_from([0.0, 1.0, -2.0, np.nan, np.inf, "x", None, 1j]),
       st.sampled_from([0.0, 0.5, np.nan, -np.inf, "y", [1.0]]))
def test_gemm_alpha_beta(alpha, beta):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    c = np.ones((2, 2), np.float32)
    must_accept = all(isinstance(v, float) and np.isfinite(v) for v in (alpha, beta))
    out = clear_or(minicnn.linalg.gemm, a, a, c, alpha=alpha, beta=beta, trans_b=True)
    if out is None:
        assert not must_accept, f"gemm refused alpha={alpha}, beta={beta}"
        return
    assert np.isfinite(alpha) and np.isfinite(beta)
    np.testing.assert_allclose(out, alpha * (a @ a.T) + beta, rtol=1e-6)


# ------------------------------------------------------------------ conv / pool kernels
geometry = st.fixed_dictionaries({
    "strides": st.sampled_from([1, 2, 3, (1, 2), 0, -1, (1,), "2", 2.5]),
    "padding": st.sampled_from(["valid", "same", "SAME", "full", ((1, 0), (0, 2)), ((-1, 0), (0, 0)), 3]),
    "dilation_rate": st.sampled_from([1, 2, (2, 1), 0, -2]),
})
valid_geometry = st.fixed_dictionaries({
    "strides": st.sampled_from([1, 2, (1, 3)]),
    "padding": st.sampled_from(["valid", "same", ((1, 0), (0, 2))]),
    "dilation_rate": st.sampled_from([1, 2, (2, 1)]),
})


@SETTINGS
@given(st.data(), st.lists(dims(0, 6), min_size=1, max_size=6), dims(1, 4), dims(1, 4), dims(0, 4),
       geometry, st.booleans())
def test_conv2d_forward_hostile(data, xshape, kh, kw, filters, geom, with_bias):
    x = data.draw(arrays(xshape))
    C = xshape[-1] if len(xshape) == 4 else data.draw(dims(0, 3))
    kernel = data.draw(arrays((kh, kw, C, filters), dtypes=FLOATS + [np.float16, np.int32], specials=False))
    bias = data.draw(arrays((filters,), dtypes=FLOATS, specials=False)) if with_bias else None
    must_accept = (_is_float(x) and x.ndim == 4 and kernel.dtype == x.dtype and filters >= 1 and C >= 1
                   and (bias is None or bias.dtype == x.dtype) and valid_conv_geometry(geom)
                   and conv_output_exists(x.shape[1], x.shape[2], kh, kw, geom))
    y = clear_or(K.conv2d_forward, x, kernel, bias, **geom)
    if y is None:
        assert not must_accept, f"refused a valid conv: x {x.dtype} {x.shape}, kernel {kernel.shape}, {geom}"
        return
    assert _is_float(x) and x.dtype == kernel.dtype
    ref = R.conv2d_forward(x.astype(np.float64), kernel.astype(np.float64),
                           None if bias is None else bias.astype(np.float64), **geom)
    assert y.dtype == x.dtype
    assert_matches(y, ref, x.dtype)


@SETTINGS
@given(st.data(), dims(0, 3), dims(0, 7), dims(0, 7), dims(1, 4), dims(1, 3), dims(1, 3),
       dims(1, 3), valid_geometry, st.sampled_from([1, 2]), st.sampled_from(FLOATS))
def test_conv2d_all_passes_match_reference(data, N, H, W, Cg, kh, kw, Fg, geom, groups, dtype):
    """Valid, varied geometry (zero-size batch/images included) and NaN/inf in x."""
    C, F = Cg * groups, Fg * groups
    x = data.draw(arrays((N, H, W, C), dtypes=[dtype]))
    kernel = data.draw(arrays((kh, kw, Cg, F), dtypes=[dtype], specials=False))
    y = clear_or(K.conv2d_forward, x, kernel, groups=groups, **geom)
    if y is None:  # the only legitimate refusal here: output would have no positive size
        assert not conv_output_exists(H, W, kh, kw, geom), f"refused a geometry with output cells: {geom}"
        return
    x64 = x.astype(np.float64)
    assert_matches(y, R.conv2d_forward(x64, kernel.astype(np.float64), groups=groups, **geom), dtype)
    # dy finite: a NaN in dy at an output that read only padding gives a 0 kernel gradient here
    # (padding cells are not multiplied) but NaN in the zero-padded reference (0 * NaN)
    dy = data.draw(arrays(y.shape, dtypes=[dtype], specials=False))
    dx = K.conv2d_backward_input(dy, kernel, x.shape, groups=groups, **geom)
    assert_matches(dx, R.conv2d_backward_input(dy.astype(np.float64), kernel.astype(np.float64), x.shape,
                                               groups=groups, **geom), dtype)
    out = K.conv2d_backward_kernel(x, dy, kernel.shape, groups=groups, **geom)
    dk = out[0] if isinstance(out, tuple) else out
    ref = R.conv2d_backward_kernel(x64, dy.astype(np.float64), kernel.shape, groups=groups, **geom)
    ref_dk = ref[0] if isinstance(ref, tuple) else ref
    assert_matches(dk, ref_dk, dtype)


@SETTINGS
@given(st.data(), st.lists(dims(0, 6), min_size=1, max_size=6),
       st.sampled_from([1, 2, 3, (2, 1), 0, -1, (2,), 7]),
       st.sampled_from([None, 1, 2, (1, 2), 0, -3]),
       st.sampled_from(["valid", "same", "causal", 1]),
       st.sampled_from(["max", "avg"]))
def test_pool_forward_hostile(data, xshape, pool_size, strides, padding, kind):
    x = data.draw(arrays(xshape))
    fwd = P.max_pool2d_forward if kind == "max" else P.avg_pool2d_forward
    must_accept = (_is_float(x) and x.ndim == 4 and _has(VALID_POOL_SIZE, pool_size)
                   and _has(VALID_POOL_STRIDES, strides) and padding in ("valid", "same"))
    if must_accept:  # ...and the output has cells
        (ph, pw), (H, W) = _pair(pool_size), x.shape[1:3]
        must_accept = H >= ph and W >= pw if padding == "valid" else H > 0 and W > 0
    out = clear_or(fwd, x, pool_size, strides, padding)
    if out is None:
        assert not must_accept, f"refused a valid pooling of {x.dtype} {x.shape}: {pool_size}, {strides}, {padding}"
        return
    assert _is_float(x)
    ref_fn = R.max_pool2d_forward if kind == "max" else R.avg_pool2d_forward
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = ref_fn(x.astype(np.float64), pool_size, strides, padding)
    if kind == "max":
        (y, arg), (ref_y, ref_arg) = out, ref
        assert_matches(y, ref_y, x.dtype)
        # where the window holds no NaN the first maximum is unique: same index as the reference
        ok = ~np.isnan(ref_y)
        np.testing.assert_array_equal(np.asarray(arg)[ok], np.asarray(ref_arg)[ok])
    else:
        assert_matches(out, ref, x.dtype)


@FEW
@given(st.data(), dims(0, 3), dims(1, 5), dims(1, 5), dims(0, 3), st.sampled_from(FLOATS),
       st.sampled_from(["good", "int_argmax", "out_of_range", "negative", "wrong_shape", "float_argmax"]))
def test_max_pool_backward_hostile_argmax(data, N, H, W, C, dtype, how):
    x = data.draw(arrays((N, H, W, C), dtypes=[dtype], specials=False))
    y, arg = P.max_pool2d_forward(x, 1)
    dy = data.draw(arrays(y.shape, dtypes=[dtype]))
    arg = arg.copy()
    if how == "int_argmax":
        arg = arg.astype(np.int64)
    elif how == "out_of_range" and arg.size:
        arg.flat[data.draw(st.integers(0, arg.size - 1))] = H * W + data.draw(st.integers(0, 5))
    elif how == "negative" and arg.size:
        arg.flat[data.draw(st.integers(0, arg.size - 1))] = -1
    elif how == "wrong_shape":
        arg = np.zeros((N, H, W, C + 1), np.int32)
    elif how == "float_argmax":
        arg = arg.astype(np.float32)
    dx = clear_or(P.max_pool2d_backward, dy, arg, x.shape)
    if dx is None:
        assert how in ("out_of_range", "negative", "wrong_shape", "float_argmax")
        return
    assert how in ("good", "int_argmax") or arg.size == 0
    assert_matches(dx, dy, dtype)  # 1x1 pooling: the gradient goes straight through


# ------------------------------------------------------------------ ops (autograd functions)
NUMPY_OPS = {"exp": np.exp, "sqrt": np.sqrt, "abs": np.abs, "sum": np.sum, "mean": np.mean, "max": np.max,
             "flatten": lambda x: x}  # compared flattened


@SETTINGS
@given(st.data(), st.lists(dims(0, 5), min_size=0, max_size=5),
       st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "log_softmax", "exp", "sqrt", "abs",
                        "sum", "mean", "max", "flatten", "elu", "gelu", "softplus", "leaky_relu"]))
def test_elementwise_and_reduction_ops_hostile(data, shape, name):
    x = data.draw(arrays(shape))
    op = getattr(minicnn.ops, name)
    # float32/float64 of any shape, except: a max needs an element; a softmax needs a non-empty
    # last axis (softmax over zero classes, an empty result in TF, is refused here for now)
    must_accept = _is_float(x) and not (name in ("softmax", "log_softmax") and (x.ndim == 0 or x.shape[-1] == 0)) \
        and not (name == "max" and x.size == 0)
    t = clear_or(lambda: minicnn.Tensor(x, requires_grad=True))
    if t is None:
        assert not _is_float(x), f"Tensor refused {x.dtype} {x.shape}"
        return
    out = clear_or(op, t)
    if out is None:
        assert not must_accept, f"{name} refused {x.dtype} {x.shape}"
        return
    assert isinstance(out.data, np.ndarray)
    if x.dtype.kind == "c":  # complex is fine where the op is plain numpy maths: then it is exact
        assert name in NUMPY_OPS, f"{name} accepted dtype {x.dtype}"
        np.testing.assert_allclose(np.ravel(out.data), np.ravel(NUMPY_OPS[name](x)), rtol=1e-5, equal_nan=True)
        return
    assert x.dtype.kind in "f" or x.dtype == object, f"{name} accepted dtype {x.dtype}"
    if x.size and x.dtype != object and np.isfinite(x.astype(np.float64)).all() and name not in ("exp", "sqrt"):
        assert np.isfinite(out.data).all(), f"{name} made NaN/inf from finite input"
    assert out.requires_grad, f"{name} of a Tensor that requires grad recorded no graph"
    if must_accept:
        out.sum().backward()
    elif clear_or(lambda: out.sum().backward() or True) is None:  # float16/object may be refused here
        return
    assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == t.dtype


ZERO_SIZE = [(0,), (3, 0), (0, 4), (2, 0, 3)]


@pytest.mark.parametrize("name,shape", [
    (name, shape) for name in ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "exp", "sqrt", "abs", "sum",
                               "mean", "flatten", "elu", "gelu", "softplus", "leaky_relu"]
    for shape in ZERO_SIZE if not (name in ("softmax", "log_softmax") and shape[-1] == 0)])
def test_zero_size_inputs_go_forward_and_backward(name, shape):
    """The cases the hostile tests found: relu's backward and Flatten refused zero-size arrays with
    numpy's "cannot reshape array of size 0" (reshape(-1, 0) cannot infer the rows)."""
    t = minicnn.Tensor(np.zeros(shape, np.float32), requires_grad=True)
    getattr(minicnn.ops, name)(t).sum().backward()
    assert t.grad.shape == shape and t.grad.dtype == np.float32


@pytest.mark.parametrize("shape", [(0,), (0, 2), (0, 3, 2)])
def test_flatten_keeps_an_empty_batch(shape):
    assert layers.Flatten()(np.zeros(shape, np.float32)).shape == (0, int(np.prod(shape[1:])))


@SETTINGS
@given(st.data(), st.lists(dims(0, 6), min_size=1, max_size=5), dims(0, 4),
       st.sampled_from(["conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
                        "global_max_pool2d", "dense", "dropout", "zero_padding2d"]))
def test_nn_ops_hostile(data, shape, units, name):
    x = data.draw(arrays(shape))
    C = shape[-1]
    args = {
        "conv2d": lambda: (data.draw(arrays((2, 2, C, units), dtypes=FLOATS, specials=False)),),
        "depthwise_conv2d": lambda: (data.draw(arrays((2, 2, C, 1), dtypes=FLOATS, specials=False)),),
        "dense": lambda: (data.draw(arrays((C, units), dtypes=FLOATS, specials=False)),),
        "dropout": lambda: (data.draw(st.sampled_from([0.0, 0.5, 1.0, -0.1, 2.0, np.nan])),),
        "zero_padding2d": lambda: (data.draw(st.sampled_from([1, (1, 2), ((0, 1), (2, 0)), -1])),),
    }.get(name, lambda: ())()
    op = getattr(minicnn.ops, name)
    must_accept = _is_float(x) and _nn_op_input_valid(name, x.shape, units, args, x.dtype)
    xt = clear_or(lambda: minicnn.Tensor(x, requires_grad=x.dtype.kind == "f"))
    if xt is None:
        assert not _is_float(x), f"Tensor refused {x.dtype} {x.shape}"
        return
    out = clear_or(op, xt, *args)
    if out is None:
        assert not must_accept, f"{name} refused {x.dtype} {x.shape} with {args}"
        return
    assert x.dtype.kind == "f" or (name in ("dropout", "zero_padding2d") and x.dtype.kind in "biuf"), \
        f"{name} accepted dtype {x.dtype}"
    if xt.requires_grad:
        assert out.requires_grad, f"{name} of a Tensor that requires grad recorded no graph"
        if must_accept:
            out.sum().backward()
        elif clear_or(lambda: out.sum().backward() or True) is None:  # float16 may be refused here
            return
        assert xt.grad is not None and xt.grad.shape == x.shape and xt.grad.dtype == x.dtype


def _nn_op_input_valid(name, shape, units, args, dtype):
    """Whether a float input of ``shape`` (and the drawn arguments) is valid for ops.<name>."""
    if name == "dense":  # a kernel with positive sizes, as for the convolutions
        return len(shape) >= 1 and args[0].size > 0 and args[0].dtype == dtype
    if name == "dropout":
        return 0.0 <= args[0] < 1.0
    if len(shape) != 4:
        return False
    N, H, W, C = shape
    if name in ("conv2d", "depthwise_conv2d"):
        return C >= 1 and H >= 2 and W >= 2 and args[0].dtype == dtype and (name != "conv2d" or units >= 1)
    if name in ("max_pool2d", "avg_pool2d"):  # pool_size 2, padding 'valid'
        return H >= 2 and W >= 2
    if name in ("global_avg_pool2d", "global_max_pool2d"):
        return H * W > 0
    return not (isinstance(args[0], int) and args[0] < 0)  # zero_padding2d


# ------------------------------------------------------------------ layers
LAYERS = {
    "Conv2D": lambda: layers.Conv2D(3, 2, padding="same"),
    "Conv2D_valid_strided": lambda: layers.Conv2D(2, 3, strides=2),
    "DepthwiseConv2D": lambda: layers.DepthwiseConv2D(2),
    "SeparableConv2D": lambda: layers.SeparableConv2D(2, 2, padding="same"),
    "Conv2DTranspose": lambda: layers.Conv2DTranspose(2, 2, strides=2),
    "Dense": lambda: layers.Dense(3),
    "MaxPooling2D": lambda: layers.MaxPooling2D(),
    "AveragePooling2D": lambda: layers.AveragePooling2D(padding="same"),
    "GlobalMaxPooling2D": lambda: layers.GlobalMaxPooling2D(),
    "BatchNormalization": lambda: layers.BatchNormalization(),
    "Flatten": lambda: layers.Flatten(),
    "Softmax": lambda: layers.Softmax(),
    "ZeroPadding2D": lambda: layers.ZeroPadding2D(1),
    "Dropout": lambda: layers.Dropout(0.5),
}


@SETTINGS
@given(st.data(), st.lists(dims(0, 5), min_size=0, max_size=5), st.sampled_from(sorted(LAYERS)),
       st.booleans())
def test_layers_hostile_input(data, shape, name, training):
    x = data.draw(arrays(shape))
    layer = LAYERS[name]()
    must_accept = _is_float(x) and _layer_input_valid(name, x.shape)
    out = clear_or(layer, x, training=training)
    if out is None:
        assert not must_accept, f"{name} refused {x.dtype} {x.shape}"
        return
    assert x.dtype.kind in "fbiu" or x.dtype == object, f"{name} accepted dtype {x.dtype}"
    expected = clear_or(layer.compute_output_shape, (None,) + tuple(shape[1:]))
    if expected is not None and isinstance(expected, tuple):
        assert tuple(out.shape[1:]) == tuple(expected[1:]), f"{name}: {out.shape} vs {expected}"
    if x.dtype.kind == "f" and x.size and np.isfinite(x).all():
        assert np.isfinite(out.data).all(), f"{name} made NaN/inf from finite input"


# The smallest image (H, W) each image layer accepts: its kernel or window under its padding.
MIN_IMAGE = {"Conv2D": (1, 1), "Conv2D_valid_strided": (3, 3), "DepthwiseConv2D": (2, 2),
             "SeparableConv2D": (1, 1), "Conv2DTranspose": (1, 1), "MaxPooling2D": (2, 2),
             "AveragePooling2D": (1, 1), "ZeroPadding2D": (0, 0)}


def _layer_input_valid(name, shape):
    """Whether a float input of ``shape`` is valid for LAYERS[name]."""
    if name in MIN_IMAGE:
        has_kernel = "Conv" in name
        return len(shape) == 4 and shape[1] >= MIN_IMAGE[name][0] and shape[2] >= MIN_IMAGE[name][1] \
            and (shape[3] >= 1 or not has_kernel)
    if name == "GlobalMaxPooling2D":
        return len(shape) == 4 and shape[1] * shape[2] > 0
    if name == "Dense":
        return len(shape) >= 2 and shape[-1] >= 1
    if name == "BatchNormalization":
        return len(shape) >= 2 and shape[-1] >= 1
    if name == "Softmax":  # see test_elementwise_and_reduction_ops_hostile: a non-empty last axis
        return len(shape) >= 1 and shape[-1] >= 1
    return len(shape) >= 1 or name == "Dropout"  # Flatten needs a batch axis


@FEW
@given(st.sampled_from([
    lambda: layers.Conv2D(0, 3), lambda: layers.Conv2D(-2, 3), lambda: layers.Conv2D(2, 0),
    lambda: layers.Conv2D(2, 3, strides=0), lambda: layers.Conv2D(2, 3, padding="bogus"),
    lambda: layers.Conv2D(2, 3, dilation_rate=-1), lambda: layers.Conv2D(2.5, 3),
    lambda: layers.Conv2D("8", 3), lambda: layers.Dense(0), lambda: layers.Dense(-1),
    lambda: layers.Dense(None), lambda: layers.MaxPooling2D(0), lambda: layers.MaxPooling2D(2, strides=-1),
    lambda: layers.Dropout(1.5), lambda: layers.Dropout(-0.1), lambda: layers.Conv2D(3, 3, groups=2),
]))
def test_layer_constructor_or_build_rejects_nonsense(make):
    layer = clear_or(make)
    if layer is None:
        return
    # accepted at construction: must refuse at the first call instead of producing garbage
    x = np.ones((2, 6, 6, 3), np.float32)
    out = clear_or(layer, x if not isinstance(layer, layers.Dense) else x.reshape(2, -1))
    assert out is None, f"{layer!r} accepted nonsense and returned {getattr(out, 'shape', out)}"


# ------------------------------------------------------------------ no hang on extreme geometry
@pytest.mark.parametrize("call", [
    lambda: K.conv2d_forward(np.ones((1, 4, 4, 1), np.float32), np.ones((1, 1, 1, 1), np.float32),
                             strides=2**62),
    lambda: K.conv2d_forward(np.ones((1, 4, 4, 1), np.float32), np.ones((2, 2, 1, 1), np.float32),
                             dilation_rate=2**40),
    lambda: K.conv2d_forward(np.ones((1, 4, 4, 1), np.float32), np.ones((1, 1, 1, 1), np.float32),
                             padding=((2**40, 0), (0, 0))),
    lambda: P.max_pool2d_forward(np.ones((1, 4, 4, 1), np.float32), 2**62),
    lambda: P.avg_pool2d_forward(np.ones((1, 4, 4, 1), np.float32), 2, 2**62, "same"),
    lambda: minicnn.linalg.gemm(np.ones((2**31, 0), np.float32)[:0], np.ones((0, 3), np.float32)),
])
def test_extreme_geometry_is_quick_and_clear(call):
    """Huge strides/dilations/paddings: a clear error or a tiny result, never a hang or a crash.
    A padding that really asks for a 16 TiB output may say so with numpy's MemoryError."""
    try:
        out = clear_or(call)
    except MemoryError as e:
        assert "Unable to allocate" in str(e)
        return
    if out is not None:
        arrays_out = out if isinstance(out, tuple) else (out,)
        assert all(a.size < 1000 for a in arrays_out)
