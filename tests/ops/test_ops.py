"""Every op in minicnn.ops.registry.OPS: float64 gradcheck + forward vs the NumPy reference.

CASES maps each registry name to one or more cases; ``test_every_op_has_a_case`` makes an op
added to the registry without a case fail the suite.
"""

import types
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import Tensor, ops
from minicnn.ops import _elementary
from minicnn.ops.registry import OPS
from minicnn.reference import ops as ref

OPNS = types.SimpleNamespace(**{name: info.fn for name, info in OPS.items()})


def rnd(*shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def pos(*shape, seed=0):
    return rnd(*shape, lo=0.5, hi=2.0, seed=seed)


@dataclass
class Case:
    inputs: list  # float ndarrays are gradchecked; anything else is passed through
    kwargs: dict = field(default_factory=dict)
    call: object = None  # call(namespace, *inputs); default namespace.<op>(*inputs, **kwargs)
    id: str = ""
    rtol32: float = 2e-5


UNARY_INPUTS = {
    "log1p": pos(3, 4), "log2": pos(3, 4), "log10": pos(3, 4), "expm1": rnd(3, 4), "exp2": rnd(3, 4),
    "sin": rnd(3, 4), "cos": rnd(3, 4), "tan": rnd(3, 4), "sinh": rnd(3, 4), "cosh": rnd(3, 4),
    "arcsin": rnd(3, 4, lo=-0.8, hi=0.8), "arccos": rnd(3, 4, lo=-0.8, hi=0.8), "arctan": rnd(3, 4),
    "arcsinh": rnd(3, 4), "arccosh": pos(3, 4) + 1, "arctanh": rnd(3, 4, lo=-0.8, hi=0.8),
    "reciprocal": pos(3, 4), "rsqrt": pos(3, 4), "cbrt": pos(3, 4), "erf": rnd(3, 4, lo=-3, hi=3),
}

LABELS = np.array([2, 0, 1])
ONEHOT = np.eye(3)[LABELS]
MM, MV = rnd(3, seed=7), pos(3, seed=8)


def bn(training, **kw):
    return lambda m, x, g, b: m.fused_batch_normalization(x, g, b, MM.copy(), MV.copy(), training, **kw)


CASES = {
    "add": [Case([rnd(3, 4), rnd(4, seed=1)])],
    "subtract": [Case([rnd(3, 4), rnd(3, 1, seed=1)])],
    "multiply": [Case([rnd(3, 4), rnd(4, seed=1)])],
    "divide": [Case([rnd(3, 4), pos(1, 4, seed=1)])],
    "negative": [Case([rnd(3, 4)])],
    "power": [Case([pos(3, 4)], {"x2": 2.5}), Case([pos(3, 4), rnd(3, 4, seed=1)], id="tensor_exponent")],
    "matmul": [Case([rnd(3, 4), rnd(4, 5, seed=1)]), Case([rnd(2, 3, 4), rnd(4, seed=1)], id="batched_1d")],
    "exp": [Case([rnd(3, 4)])],
    "log": [Case([pos(3, 4)])],
    "sqrt": [Case([pos(3, 4)])],
    "abs": [Case([rnd(3, 4)])],
    "clip": [Case([rnd(4, 5)], {"x_min": -0.5, "x_max": 0.6})],
    "sum": [Case([rnd(2, 3, 4)], {"axis": (0, 2), "keepdims": True}), Case([rnd(2, 3)], id="all")],
    "mean": [Case([rnd(2, 3, 4)], {"axis": 1}), Case([rnd(2, 3)], id="all")],
    "max": [Case([rnd(2, 3, 4)], {"axis": -1}), Case([rnd(3, 4)], {"keepdims": True}, id="all")],
    "reshape": [Case([rnd(2, 3, 4)], {"newshape": (4, -1)})],
    "transpose": [Case([rnd(2, 3, 4)], {"axes": (2, 0, 1)})],
    "getitem": [Case([rnd(4, 5)], {"index": (slice(1, None), np.array([0, 2, 2]))}, id="mixed"),
                Case([rnd(4, 5)], {"index": (slice(None, None, 2), 3)}, id="basic")],
    "cast": [Case([rnd(2, 3)], {"dtype": np.float64})],
    "concatenate": [Case([rnd(2, 3), rnd(2, 1, seed=1)], call=lambda m, a, b: m.concatenate([a, b], axis=1))],
    "stack": [Case([rnd(2, 3), rnd(2, 3, seed=1)], call=lambda m, a, b: m.stack([a, b], axis=1))],
    "flatten": [Case([rnd(2, 3, 2)])],
    "relu": [Case([rnd(4, 5)])],
    "leaky_relu": [Case([rnd(4, 5)], {"negative_slope": 0.1})],
    "elu": [Case([rnd(4, 5)], {"alpha": 1.5})],
    "gelu": [Case([rnd(4, 5, lo=-3, hi=3)], id="tanh"),
             Case([rnd(4, 5, lo=-5, hi=5)], {"approximate": False}, id="erf")],
    "sigmoid": [Case([rnd(4, 5, lo=-5, hi=5)])],
    "tanh": [Case([rnd(4, 5)])],
    "softplus": [Case([rnd(4, 5, lo=-5, hi=5)])],
    "softmax": [Case([rnd(3, 4)]), Case([rnd(3, 4, 2)], {"axis": 1}, id="axis1")],
    "log_softmax": [Case([rnd(3, 4)]), Case([rnd(3, 4, 2)], {"axis": 1}, id="axis1")],
    "dense": [Case([rnd(3, 4), rnd(4, 5, seed=1), rnd(5, seed=2)]),
              Case([rnd(2, 3, 4), rnd(4, 5, seed=1)], id="nd_nobias"),
              Case([rnd(3, 4), rnd(4, 5, seed=1), rnd(5, seed=2)], {"activation": "relu"}, id="fused_relu")],
    "dropout": [Case([rnd(4, 5)], call=lambda m, x: m.dropout(x, 0.3, seed=5)),
                Case([rnd(4, 5)], call=lambda m, x: m.dropout(x, 0.5, rng=np.random.default_rng(3)), id="rng")],
    "fused_batch_normalization": [
        Case([rnd(4, 3), pos(3, seed=1), rnd(3, seed=2)], call=bn(True), id="train"),
        Case([rnd(2, 3, 2, 3), pos(3, seed=1), rnd(3, seed=2)], call=bn(True, epsilon=1e-2), id="train_nhwc"),
        Case([rnd(3, 2, 4), pos(2, seed=1), rnd(2, seed=2)],
             call=lambda m, x, g, b: m.fused_batch_normalization(x, g, b, MM[:2].copy(), MV[:2].copy(), True,
                                                                 axis=1),
             id="train_axis1"),
        Case([rnd(4, 3), pos(3, seed=1), rnd(3, seed=2)], call=bn(False), id="inference"),
        Case([rnd(4, 3)], call=lambda m, x: m.fused_batch_normalization(x, None, None, MM.copy(), MV.copy(), True),
             id="no_scale_center"),
    ],
    "zero_padding2d": [Case([rnd(1, 2, 3, 2)], {"padding": ((1, 0), (2, 1))})],
    "conv2d": [
        Case([rnd(2, 5, 5, 2), rnd(3, 3, 2, 3, seed=1), rnd(3, seed=2)]),
        Case([rnd(1, 6, 5, 2), rnd(3, 2, 2, 2, seed=1)], {"strides": 2, "padding": "same"}, id="same_s2"),
        Case([rnd(1, 6, 6, 4), rnd(2, 2, 2, 4, seed=1), rnd(4, seed=2)], {"dilation_rate": 2, "groups": 2},
             id="dil_groups"),
        Case([rnd(1, 4, 4, 2), rnd(3, 3, 2, 2, seed=1), rnd(2, seed=2)],
             {"padding": ((1, 0), (0, 2)), "activation": "relu"}, id="explicit_pad_relu"),
    ],
    "conv2d_transpose": [
        Case([rnd(1, 3, 3, 2), rnd(3, 3, 3, 2, seed=1), rnd(3, seed=2)], {"strides": 2}),
        Case([rnd(1, 3, 4, 2), rnd(2, 3, 2, 2, seed=1)], {"strides": 2, "padding": "same"}, id="same"),
    ],
    "depthwise_conv2d": [Case([rnd(1, 5, 5, 2), rnd(3, 3, 2, 2, seed=1), rnd(4, seed=2)], {"padding": "same"})],
    "max_pool2d": [Case([rnd(2, 4, 4, 2)]),
                   Case([rnd(1, 5, 5, 2)], {"pool_size": 3, "strides": 2, "padding": "same"}, id="same")],
    "avg_pool2d": [Case([rnd(2, 4, 4, 2)]),
                   Case([rnd(1, 5, 5, 2)], {"pool_size": 3, "strides": 2, "padding": "same"}, id="same")],
    "global_avg_pool2d": [Case([rnd(2, 3, 3, 2)]), Case([rnd(2, 3, 3, 2)], {"keepdims": True}, id="keep")],
    "global_max_pool2d": [Case([rnd(2, 3, 3, 2)]), Case([rnd(2, 3, 3, 2)], {"keepdims": True}, id="keep")],
    "layer_normalization": [
        Case([rnd(2, 3, 4), pos(4, seed=1), rnd(4, seed=2)], {"epsilon": 1e-3}, rtol32=1e-4),
        Case([rnd(2, 3, 4), pos(3, 4, seed=1)], {"axis": (1, 2), "epsilon": 1e-3}, id="two_axes", rtol32=1e-4),
    ],
    "group_normalization": [
        Case([rnd(2, 3, 3, 4), pos(4, seed=1), rnd(4, seed=2)], {"groups": 2}, rtol32=1e-4),
        Case([rnd(2, 6, 3), pos(6, seed=1)], {"groups": 3, "axis": 1}, id="channels_first", rtol32=1e-4),
    ],
    "resize": [
        Case([rnd(2, 4, 5, 2)], {"size": (7, 3)}),
        Case([rnd(1, 5, 4, 2)], {"size": (2, 9), "interpolation": "bicubic", "antialias": True}, id="bicubic_aa"),
        Case([rnd(1, 3, 3, 2)], {"size": (6, 4), "interpolation": "nearest"}, id="nearest"),
    ],
    "sparse_categorical_crossentropy": [
        Case([LABELS, rnd(3, 3)], {"from_logits": True}, id="logits"),
        Case([LABELS, pos(3, 3)], id="probs"),
        Case([LABELS, rnd(3, 3)], call=lambda m, y, z: m.sparse_categorical_crossentropy(y, m.softmax(z)),
             id="fused_softmax"),
        Case([LABELS[:, None], rnd(3, 3)], {"from_logits": True}, id="trailing_1"),
        Case([np.array([2, -1, 1]), rnd(3, 3)], {"from_logits": True, "ignore_class": -1}, id="ignore_class"),
        Case([np.array([[0, 9], [1, 2]]), pos(2, 2, 3)], {"ignore_class": 9}, id="ignore_class_probs"),
    ],
    "categorical_crossentropy": [
        Case([ONEHOT, rnd(3, 3)], {"from_logits": True}, id="logits"),
        Case([ONEHOT, rnd(3, 3)], {"from_logits": True, "label_smoothing": 0.1}, id="smoothing"),
        Case([ONEHOT, pos(3, 3)], id="probs"),
        Case([ONEHOT, rnd(3, 3)], call=lambda m, y, z: m.categorical_crossentropy(y, m.softmax(z)),
             id="fused_softmax"),
        Case([rnd(3, 2, 4, lo=0, hi=1), rnd(3, 2, 4, seed=1)], {"from_logits": True, "axis": 1}, id="axis1"),
    ],
    "binary_crossentropy": [
        Case([rnd(3, 2, lo=0, hi=1), rnd(3, 2, seed=1)], {"from_logits": True}, id="logits"),
        Case([rnd(3, 2, lo=0, hi=1), rnd(3, 2, lo=0.1, hi=0.9, seed=1)], id="probs"),
        Case([rnd(3, 2, lo=0, hi=1), rnd(3, 2, seed=1)], {"from_logits": True, "label_smoothing": 0.2},
             id="smoothing"),
        Case([rnd(3, 2, lo=0, hi=1), rnd(3, 2, seed=1)], call=lambda m, y, z: m.binary_crossentropy(y, m.sigmoid(z)),
             id="fused_sigmoid"),
    ],
    "mean_squared_error": [Case([rnd(3, 4), rnd(3, 4, seed=1)])],
    "mean_absolute_error": [Case([rnd(3, 4), rnd(3, 4, seed=1)])],
    # Keras' ops beyond the layers' maths
    **{name: [Case([x])] for name, x in UNARY_INPUTS.items()},
    "square": [Case([rnd(3, 4)])],
    "min": [Case([rnd(3, 4)], id="all"), Case([rnd(2, 3, 4)], {"axis": 1}), Case([rnd(3, 4)], {"initial": -0.2}, id="initial")],
    "maximum": [Case([rnd(3, 4), rnd(4, seed=1)]), Case([np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])],
                                                        id="tie")],
    "minimum": [Case([rnd(3, 4), rnd(3, 1, seed=1)])],
    "where": [Case([rnd(3, 4) > 0, rnd(3, 4, seed=1), rnd(4, seed=2)])],
    "prod": [Case([rnd(2, 3, 2)], {"axis": (0, 2), "keepdims": True}, id="axes"), Case([rnd(2, 3, 4)], {"axis": 1}), Case([np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5]])],
                                                     {"axis": -1}, id="zeros"),
             Case([rnd(2, 3)], id="all")],
    "cumsum": [Case([rnd(3, 4)], {"axis": 1}), Case([rnd(2, 3)], id="flat")],
    "cumprod": [Case([pos(3, 4)], {"axis": 0}), Case([pos(2, 3)], id="flat")],
    "logsumexp": [Case([rnd(3, 4)], {"axis": -1}), Case([rnd(2, 3, 2)], {"axis": (0, 2), "keepdims": True},
                                                        id="axes")],
    "var": [Case([rnd(3, 4)], {"axis": 0})],
    "std": [Case([rnd(3, 4)], {"axis": -1, "keepdims": True})],
    "top_k": [Case([rnd(3, 5)], {"k": 2})],
    "expand_dims": [Case([rnd(3)], {"axis": (0, -1)}, id="negative_axis"), Case([rnd(3, 4)], {"axis": 1}), Case([rnd(3)], {"axis": (0, 2)}, id="tuple")],
    "squeeze": [Case([rnd(3, 1, 4, 1)]), Case([rnd(3, 1, 4, 1)], {"axis": 1}, id="axis")],
    "moveaxis": [Case([rnd(2, 3, 4)], {"source": 0, "destination": -1})],
    "flip": [Case([rnd(2, 3, 4)], {"axis": (0, 2)}), Case([rnd(3)], id="all")],
    "split": [Case([rnd(6, 2)], {"n": 3, "i": 1}), Case([rnd(2, 5)], {"n": [1, 3], "axis": 1, "i": 2}, id="at")],
    "tile": [Case([rnd(2, 3)], {"repeats": (2, 3)}, id="same_rank"), Case([rnd(2, 3)], {"repeats": (2, 1, 2)})],
    "repeat": [Case([rnd(2, 3)], {"repeats": 2, "axis": 1}), Case([rnd(3, 2)], {"repeats": [1, 0, 3], "axis": 0},
                                                                   id="counts"),
               Case([rnd(2, 2)], {"repeats": 3}, id="flat")],
    "broadcast_to": [Case([rnd(3, 1)], {"shape": (2, 3, 4)})],
    "roll": [Case([rnd(3, 4)], {"shift": 1, "axis": 1}), Case([rnd(2, 3)], {"shift": -2}, id="flat")],
    "pad": [Case([rnd(2, 3)], {"pad_width": ((1, 0), (2, 1)), "constant_values": 0.5})],
    "take": [Case([rnd(4, 3)], {"indices": np.array([[0, 3], [3, -1]]), "axis": 0}),
             Case([rnd(2, 3)], {"indices": np.array([5, 0])}, id="flat")],
    "take_along_axis": [Case([rnd(3, 4)], {"indices": np.array([[0, 0], [3, 1], [2, 2]]), "axis": 1})],
    "tril": [Case([rnd(3, 4)], {"k": -1})],
    "slice": [Case([rnd(4, 5)], {"start_indices": (1, 2), "shape": (2, 3)})],
    "einsum": [Case([rnd(2, 3, 4), rnd(4, 5, seed=1)], call=lambda m, a, b: m.einsum("...k,kl", a, b), id="ellipsis_implicit"),
               Case([rnd(3, 4), rnd(4, seed=1)], call=lambda m, a, b: m.einsum("ij,j->", a, b), id="full_contraction"),
               Case([rnd(2, 3, 4), rnd(2, 4, 5, seed=1)], call=lambda m, a, b: m.einsum("bij,bjk->bik", a, b)),
               Case([rnd(3, 4), rnd(4, seed=1)], call=lambda m, a, b: m.einsum("ij,j", a, b), id="implicit"),
               Case([rnd(2, 1, 3), rnd(4, 3, seed=1)], call=lambda m, a, b: m.einsum("...i,...i->...", a, b),
                    id="ellipsis_broadcast"),
               Case([rnd(3, 4), rnd(2, seed=1)], call=lambda m, a, b: m.einsum("ij,k->ik", a, b), id="summed_away")],
    "dot": [Case([rnd(3, 4), rnd(4, 2, seed=1)]), Case([rnd(2, 3, 4), rnd(5, 4, 2, seed=1)], id="nd"),
            Case([rnd(3), rnd(3, seed=1)], id="vectors")],
    "tensordot": [Case([rnd(2, 3, 4), rnd(3, 4, 5, seed=1)]),
                  Case([rnd(2, 3), rnd(3, 2, seed=1)], {"axes": ([1, 0], [0, 1])}, id="pairs")],
    "outer": [Case([rnd(3), rnd(2, 2, seed=1)])],
    "norm": [Case([rnd(2, 3, 4)], {"axis": (1, 2)}, id="fro_axes"), Case([rnd(3, 4)]), Case([rnd(3, 4)], {"axis": 1, "ord": 1}, id="l1"),
             Case([rnd(3, 4)], {"ord": np.inf, "axis": -1, "keepdims": True}, id="inf"),
             Case([rnd(3, 4)], {"ord": 3, "axis": 0}, id="p3"),
             Case([rnd(3, 4)], {"ord": "fro"}, id="fro"), Case([rnd(3, 4)], {"ord": 1}, id="matrix_1"),
             Case([rnd(2, 3, 4)], {"ord": "nuc", "axis": (1, 2)}, id="nuc"),
             Case([rnd(3, 4)], {"ord": 2}, id="spectral")],
    "relu6": [Case([rnd(3, 4, lo=-8, hi=8)])],
    "silu": [Case([rnd(3, 4, lo=-4, hi=4)])],
    "hard_sigmoid": [Case([rnd(3, 4, lo=-5, hi=5)])],
    "hard_silu": [Case([rnd(3, 4, lo=-5, hi=5)])],
    "selu": [Case([rnd(3, 4, lo=-3, hi=3)])],
    "softsign": [Case([rnd(3, 4, lo=-3, hi=3)])],
    "log_sigmoid": [Case([rnd(3, 4, lo=-5, hi=5)])],
    "celu": [Case([rnd(3, 4, lo=-3, hi=3)], {"alpha": 0.7})],
    "glu": [Case([rnd(3, 4)]), Case([rnd(2, 4, 3)], {"axis": 1}, id="axis1")],
    "conv": [Case([rnd(2, 7, 4), rnd(3, 2, 4, seed=1)], {"strides": 2}, id="1d_groups2"),
              Case([rnd(1, 3, 6, 5), rnd(2, 2, 3, 4, seed=1)], {"data_format": "channels_first", "dilation_rate": 2}, id="cf_dilated"),
              Case([rnd(2, 5, 5, 4), rnd(3, 3, 2, 6, seed=1)], {"strides": (2, 1), "padding": "same"},
                  id="2d_groups"),
             Case([rnd(2, 7, 3), rnd(3, 3, 4, seed=1)], {"dilation_rate": 2}, id="1d"),
             Case([rnd(1, 3, 5, 4), rnd(2, 2, 3, 2, seed=1)], {"data_format": "channels_first"},
                  id="channels_first")],
    "depthwise_conv": [Case([rnd(2, 5, 5, 3), rnd(3, 3, 3, 2, seed=1)], id="multiplier"),
                       Case([rnd(1, 5, 5, 2), rnd(3, 3, 2, 2, seed=1)], {"padding": "same"}),
                       Case([rnd(2, 6, 3), rnd(2, 3, 1, seed=1)], {"strides": 2}, id="1d")],
    "separable_conv": [Case([rnd(1, 5, 5, 2), rnd(3, 3, 2, 2, seed=1), rnd(1, 1, 4, 3, seed=2)])],
    "conv_transpose": [Case([rnd(1, 3, 3, 2), rnd(3, 3, 4, 2, seed=1)], {"strides": 2}),
                       Case([rnd(2, 4, 2), rnd(3, 3, 2, seed=1)], {"strides": 2, "padding": "same"}, id="1d")],
    "max_pool": [Case([rnd(2, 3, 7)], {"pool_size": 3, "strides": 2, "data_format": "channels_first"}, id="1d_cf"),
                 Case([rnd(2, 4, 4, 2)], {"pool_size": 2}),
                 Case([rnd(2, 7, 3)], {"pool_size": 3, "strides": 2, "padding": "same"}, id="1d")],
    "average_pool": [Case([rnd(2, 6, 6, 3)], {"pool_size": (2, 3), "padding": "same"}, id="same"),
                     Case([rnd(2, 4, 4, 2)], {"pool_size": (2, 1)}),
                     Case([rnd(2, 3, 7)], {"pool_size": 2, "data_format": "channels_first"}, id="1d_cf")],
    "moments": [Case([rnd(3, 4, 2)], {"axes": (0, 1)}), Case([rnd(3, 4)], {"axes": [1], "i": 1}, id="variance")],
    "batch_normalization": [Case([rnd(4, 3), rnd(3, seed=1), pos(3, seed=2), rnd(3, seed=3), pos(3, seed=4)],
                                 call=lambda m, x, mu, v, b, g: m.batch_normalization(x, mu, v, -1, b, g)),
                            Case([rnd(2, 3, 4), rnd(3, seed=1), pos(3, seed=2)],
                                 call=lambda m, x, mu, v: m.batch_normalization(x, mu, v, axis=1, epsilon=0.1),
                                 id="axis1")],
    "normalize": [Case([rnd(3, 4)]), Case([rnd(3, 4)], {"axis": 0, "order": 1}, id="l1")],
}

PARAMS = [pytest.param(name, case, id=f"{name}-{case.id or i}")
          for name, cases in CASES.items() for i, case in enumerate(cases)]


def _call(ns, name, case, inputs):
    if case.call is not None:
        return case.call(ns, *inputs)
    return getattr(ns, name)(*inputs, **case.kwargs)


def test_every_op_has_a_case_and_a_reference():
    assert sorted(CASES) == sorted(OPS)
    for name in OPS:
        assert callable(getattr(ref, name, None)), f"no reference for {name}"
        for fn_cls in OPS[name].functions:
            assert issubclass(fn_cls, minicnn.autograd.Function)


@pytest.mark.parametrize("name,case", PARAMS)
def test_gradcheck_float64(name, case):
    assert minicnn.gradcheck(lambda *xs: _call(OPNS, name, case, xs), case.inputs)


@pytest.mark.parametrize("name,case", PARAMS)
def test_forward_matches_reference(name, case):
    expected = np.asarray(_call(ref, name, case, case.inputs), dtype=np.float64)
    got = _call(OPNS, name, case, case.inputs)
    assert isinstance(got, Tensor)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.data, expected, rtol=1e-10, atol=1e-12)
    # float32 in -> float32 out, within float32 rounding.
    inputs32 = [x.astype(np.float32) if isinstance(x, np.ndarray) and x.dtype == np.float64 else x
                for x in case.inputs]
    got32 = _call(OPNS, name, case, inputs32)
    if name != "cast":
        assert got32.dtype == np.float32, f"{name} turned float32 into {got32.dtype}"
    if name == "dropout":  # the float32 mask is drawn in float32: a different stream
        expected = np.asarray(_call(ref, name, case, inputs32), dtype=np.float64)
    np.testing.assert_allclose(got32.data, expected, rtol=case.rtol32, atol=2e-6)



@pytest.mark.parametrize("name,case", PARAMS)
def test_backward_float32_matches_float64(name, case):
    """float32 in -> float32 gradients (the engine rejects any other dtype), close to float64."""
    grads = {}
    for dtype in (np.float64, np.float32):
        leaves = [Tensor(x.astype(dtype), requires_grad=True)
                  if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x for x in case.inputs]
        out = _call(OPNS, name, case, leaves)
        r = np.random.default_rng(0).uniform(-1, 1, out.shape).astype(out.dtype)
        out.backward(r)
        grads[dtype] = [t.grad for t in leaves if isinstance(t, Tensor)]
    for g64, g32 in zip(grads[np.float64], grads[np.float32]):
        assert (g64 is None) == (g32 is None)
        if g64 is not None:
            if name != "cast":
                assert g32.dtype == np.float32
            if name != "dropout":  # float32 masks come from a different random stream
                np.testing.assert_allclose(g32, g64, rtol=2e-3, atol=2e-4)

# -- behaviour beyond the table ----------------------------------------------------------------
def leaf(a, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_crossentropy_is_fused_and_stable(sparse):
    z = leaf([[1000.0, 0.0, -1000.0], [0.0, 1.0, 2.0]], np.float32)
    labels = np.array([2, 1])
    y_true = labels if sparse else np.eye(3, dtype=np.float32)[labels]
    fn = ops.sparse_categorical_crossentropy if sparse else ops.categorical_crossentropy
    loss = fn(y_true, ops.softmax(z))
    assert np.all(np.isfinite(loss.data))
    np.testing.assert_allclose(loss.data[0], 2000.0, rtol=1e-6)  # exact, not -log(1e-7)
    loss.mean().backward()
    p = ref.softmax(z.data.astype(np.float64))
    np.testing.assert_allclose(z.grad, (p - np.eye(3)[labels]) / 2, atol=1e-6)  # (p - y) / N


def test_crossentropy_on_plain_probabilities_clips_like_keras():
    p = np.array([[0.0, 1.0]], np.float32)
    loss = ops.sparse_categorical_crossentropy(np.array([0]), p)
    np.testing.assert_allclose(loss.data, [-np.log(1e-7)], rtol=1e-5)
    assert np.isfinite(ops.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]])).data).all()


def test_sigmoid_binary_crossentropy_is_fused_and_stable():
    z = leaf([[500.0, -500.0]], np.float32)
    loss = ops.binary_crossentropy(np.array([[0.0, 1.0]], np.float32), ops.sigmoid(z))
    np.testing.assert_allclose(loss.data, [[500.0, 500.0]], rtol=1e-6)  # elementwise, as Keras' op
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [[1.0, -1.0]], atol=1e-6)  # sigmoid(z) - y


def test_softmax_over_other_axis_is_not_fused_into_last_axis_crossentropy():
    z = rnd(3, 3)
    p = ops.softmax(z, axis=0)
    got = ops.categorical_crossentropy(ONEHOT, p)
    np.testing.assert_allclose(got.data, ref.categorical_crossentropy(ONEHOT, ref.softmax(z, axis=0)))


def test_fused_batch_normalization_updates_moving_statistics_in_place():
    x = rnd(8, 3, seed=4).astype(np.float32)
    mm = Tensor(np.zeros(3, np.float32))
    mv = np.ones(3, np.float32)
    mm_data = mm.data
    ops.fused_batch_normalization(x, None, None, mm, mv, training=True, momentum=0.9)
    assert mm.data is mm_data
    np.testing.assert_allclose(mm.data, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * x.var(0), rtol=1e-5)
    before = mv.copy()
    y = ops.fused_batch_normalization(x, None, None, mm, mv, training=False, epsilon=0.0)
    np.testing.assert_array_equal(mv, before)  # inference leaves them alone
    np.testing.assert_allclose(y.data, (x - mm.data) / np.sqrt(mv), rtol=1e-5)


def test_dropout_is_seeded_inverted_and_off_outside_training():
    x = np.ones((200, 50), np.float32)
    a = ops.dropout(x, 0.25, seed=3).data
    np.testing.assert_array_equal(a, ops.dropout(x, 0.25, seed=3).data)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    t = Tensor(x)
    assert ops.dropout(t, 0.5, training=False) is t
    minicnn._random.set_global_seed(11)
    b = ops.dropout(x, 0.5).data
    minicnn._random.set_global_seed(11)
    np.testing.assert_array_equal(b, ops.dropout(x, 0.5).data)
    with pytest.raises(ValueError, match="rate"):
        ops.dropout(x, 1.0)
    with pytest.raises(TypeError, match="rng"):
        ops.dropout(x, 0.5, rng=3)


def test_conv_backward_skips_gradients_nobody_needs(monkeypatch):
    from minicnn._kernels import conv as K

    def boom(*a, **k):
        raise AssertionError("computed a gradient no input needed")

    x = rnd(1, 4, 4, 2)
    k = leaf(rnd(3, 3, 2, 2, seed=1))
    monkeypatch.setattr(K, "conv2d_backward_input", boom)
    ops.conv2d(x, k).sum().backward()  # x is data: no input gradient
    assert k.grad is not None
    monkeypatch.undo()
    xt = leaf(x)
    monkeypatch.setattr(K, "conv2d_backward_kernel", boom)
    ops.conv2d(xt, rnd(3, 3, 2, 2, seed=1)).sum().backward()
    assert xt.grad is not None


def test_depthwise_matches_keras_channel_order():
    x = rnd(1, 4, 4, 3)
    k = rnd(3, 3, 3, 2, seed=1)
    y = ops.depthwise_conv2d(x, k).data
    # output channel c * multiplier + m is channel c convolved with k[..., c, m]
    for c in range(3):
        for m in range(2):
            want = (x[0, :3, :3, c] * k[:, :, c, m]).sum()
            np.testing.assert_allclose(y[0, 0, 0, c * 2 + m], want)


@pytest.mark.parametrize("call,match", [
    (lambda: ops.dense(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)), r"x.shape=\(2, 3\).*kernel.shape=\(4, 5\)"),
    (lambda: ops.dense(np.ones((2, 3), np.float32), np.ones((3, 5), np.float32), np.ones(4, np.float32)), r"bias must have shape \(5,\)"),
    (lambda: ops.dense(np.ones((2, 3), np.float32), np.ones((3, 5))), "same dtype"),
    (lambda: ops.matmul(np.ones((2, 3)), np.ones((2, 3))), "inner dimensions"),
    (lambda: ops.conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 4))), "3|2"),
    (lambda: ops.depthwise_conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 1))), r"kernel.shape=\(3, 3, 2, 1\)"),
    (lambda: ops.sparse_categorical_crossentropy(np.array([0, 3]), np.ones((2, 3))), r"labels must be in \[0, 3\)"),
    (lambda: ops.sparse_categorical_crossentropy(np.array([0, 1, 2]), np.ones((2, 3))), r"target shape \(3,\)"),
    (lambda: ops.categorical_crossentropy(np.ones((2, 2)), np.ones((2, 3))), r"target shape \(2, 2\)"),
    (lambda: ops.binary_crossentropy(np.ones((2, 2)), np.ones((2, 3))), r"target shape \(2, 2\)"),
    (lambda: ops.mean_squared_error(np.ones((2, 2)), np.ones((2, 3))), "not compatible"),
    (lambda: ops.fused_batch_normalization(np.ones((2, 3)), np.ones(2), None, np.zeros(3), np.ones(3), True),
     r"gamma must have shape \(3,\)"),
    (lambda: ops.zero_padding2d(np.ones((2, 3)), 1), "4-D"),
    (lambda: ops.zero_padding2d(np.ones((1, 2, 2, 1)), ((1, 2, 3),)), "padding"),
    (lambda: ops.concatenate([np.ones((2, 3)), np.ones((3, 3))], axis=1), "shapes must match"),
    (lambda: ops.stack([np.ones(2), np.ones(3)]), "same shape"),
    (lambda: ops.reshape(np.ones(6), (4, 2)), r"shape \(6,\).*\(4, 2\)"),
    (lambda: ops.softmax(np.ones((2, 3)), axis=2), "axis=2"),
    (lambda: ops.relu(np.array([1, 2])), "floating-point"),
    (lambda: ops.max_pool2d(np.ones((1, 2, 2)), 2), "x"),
])
def test_bad_arguments_raise_helpful_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_ops_accept_arrays_and_lists_and_keep_float32():
    y = ops.relu([[-1.0, 2.0]])
    assert isinstance(y, Tensor) and y.dtype == np.float32
    y = ops.add(np.ones(2, np.float32), 1.0)
    assert y.dtype == np.float32


def test_dense_and_matmul_through_minicnn_gemm_path(monkeypatch):
    real_gemm = minicnn.linalg.gemm
    calls = []
    monkeypatch.setattr(_elementary, "GEMM_MIN_MACS", 0)  # force linalg.gemm for every product
    monkeypatch.setattr(_elementary._linalg, "gemm", lambda *a, **k: calls.append(k) or real_gemm(*a, **k))
    x, w, b = rnd(2, 3, 4), rnd(4, 5, seed=1), rnd(5, seed=2)
    assert minicnn.gradcheck(lambda *t: ops.dense(*t, activation="relu"), [x, w, b])
    assert {"trans_a": True, "trans_b": False} in calls and {"trans_a": False, "trans_b": True} in calls
    np.testing.assert_allclose(ops.dense(x, w, b).data, ref.dense(x, w, b), rtol=1e-12)
    calls.clear()
    assert minicnn.gradcheck(lambda p, q: p @ q, [rnd(3, 4), rnd(4, 2, seed=1)])
    assert len(calls) >= 3


def test_small_convnet_trains_with_plain_sgd():
    """conv -> BN -> relu -> pool -> dropout -> dense -> softmax CE: the loss must fall."""
    rng = np.random.default_rng(0)
    n = 32
    x = rng.normal(size=(n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[y == 1, 2:6, 3:5, 0] += 2.0  # class 1 has a bright vertical bar
    p = {
        "k": Tensor(rng.normal(0, 0.3, (3, 3, 1, 4)).astype(np.float32), requires_grad=True),
        "cb": Tensor(np.zeros(4, np.float32), requires_grad=True),
        "g": Tensor(np.ones(4, np.float32), requires_grad=True),
        "b": Tensor(np.zeros(4, np.float32), requires_grad=True),
        "w": Tensor(rng.normal(0, 0.1, (64, 2)).astype(np.float32), requires_grad=True),
        "wb": Tensor(np.zeros(2, np.float32), requires_grad=True),
    }
    mm, mv = np.zeros(4, np.float32), np.ones(4, np.float32)
    drng = np.random.default_rng(1)
    losses = []
    for _ in range(30):
        h = ops.conv2d(x, p["k"], p["cb"], padding="same")
        h = ops.relu(ops.fused_batch_normalization(h, p["g"], p["b"], mm, mv, training=True))
        h = ops.dropout(ops.max_pool2d(h), 0.1, rng=drng)
        out = ops.softmax(ops.dense(ops.flatten(h), p["w"], p["wb"]))
        loss = ops.sparse_categorical_crossentropy(y, out).mean()
        for t in p.values():
            t.grad = None
        loss.backward()
        for t in p.values():
            t.data -= 0.1 * t.grad
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses
    assert not np.allclose(mm, 0)  # the moving statistics moved


@st.composite
def shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, axis


@settings(max_examples=25, deadline=None)
@given(shape_and_axis(), st.sampled_from(["softmax", "log_softmax", "sum", "mean", "max"]),
       st.integers(0, 2 ** 16))
def test_axis_ops_property(shape_axis, name, seed):
    shape, axis = shape_axis
    x = np.random.default_rng(seed).normal(size=shape)
    kwargs = {"axis": axis}
    got = getattr(ops, name)(x, **kwargs)
    np.testing.assert_allclose(got.data, getattr(ref, name)(x, **kwargs), rtol=1e-10, atol=1e-12)
    if name not in ("softmax", "log_softmax") or shape[axis] > 1:  # length-1 axis: flat, zero grads
        assert minicnn.gradcheck(lambda t: getattr(ops, name)(t, **kwargs), [x])
