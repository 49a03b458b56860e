"""The one list of differentiable ops.

Every entry names the functional form and the Function class(es) it runs; its plain-NumPy
reference is the function of the same name in :mod:`minicnn.reference.ops`.  The test suite
walks this table: each op is gradchecked in float64 and compared with its reference, and an op
added here without a test case fails the suite.
"""

from dataclasses import dataclass

from minicnn.ops import _activations as A
from minicnn.ops import _arithmetic as M
from minicnn.ops import _composite as X
from minicnn.ops import _einsum as E
from minicnn.ops import _reductions as R
from minicnn.ops import _select as S
from minicnn.ops import _tiling as T
from minicnn.ops import _conv as C
from minicnn.ops import _elementary as B
from minicnn.ops import _layers as N
from minicnn.ops import _losses as L
from minicnn.ops import _normalization as G
from minicnn.ops import image as I

__all__ = ["OpInfo", "OPS"]


@dataclass(frozen=True)
class OpInfo:
    name: str
    fn: object  # the functional form (takes Tensors or arrays, returns Tensor(s))
    functions: tuple  # the Function classes it records


def _table(*rows):
    return {name: OpInfo(name, fn, tuple(fns)) for name, fn, fns in rows}


OPS = _table(
    # elementary (also Tensor operators/methods)
    ("add", M.add, [B.Add]),
    ("subtract", M.subtract, [B.Sub]),
    ("multiply", M.multiply, [B.Mul]),
    ("divide", M.divide, [B.Div]),
    ("negative", M.negative, [B.Neg]),
    ("power", M.power, [B.Pow]),
    ("matmul", M.matmul, [B.MatMul]),
    ("exp", M.exp, [B.Exp]),
    ("log", M.log, [B.Log]),
    ("sqrt", M.sqrt, [B.Sqrt]),
    ("abs", M.abs, [B.Abs]),
    ("clip", M.clip, [B.Clip]),
    ("sum", M.sum, [B.Sum]),
    ("mean", M.mean, [B.Mean]),
    ("max", M.max, [B.Max]),
    ("reshape", M.reshape, [B.Reshape]),
    ("transpose", M.transpose, [B.Transpose]),
    ("getitem", lambda x, index: M.as_tensor(x)[index], [B.GetItem]),
    ("cast", M.cast, [B.Cast]),
    ("concatenate", M.concatenate, [B.Concatenate]),
    ("stack", M.stack, [B.Stack]),
    ("flatten", M.flatten, [B.Reshape]),
    ("square", X.square, [B.Mul]),
    ("expand_dims", X.expand_dims, [B.Reshape]),
    ("moments", X.moments, [B.Mean, B.Sub, B.Mul, B.Reshape]),
    ("squeeze", T.squeeze, [B.Reshape]),
    ("split", T.split, [B.GetItem]),
    ("tile", T.tile, [T.TileFunction]),
    ("repeat", T.repeat, [T.RepeatFunction]),
    ("where", S.where, [S.WhereFunction]),
    ("maximum", S.maximum, [S.WhereFunction]),
    ("minimum", S.minimum, [S.WhereFunction]),
    ("min", R.min, [B.Max, B.Neg]),
    ("prod", R.prod, [R.ProdFunction]),
    ("cumsum", R.cumsum, [R.CumsumFunction]),
    ("norm", R.norm, [B.Mul, B.Sum, B.Sqrt, B.Abs, B.Pow, B.Max]),
    ("einsum", E.einsum, [E.EinsumFunction]),
    ("dot", E.dot, [E.EinsumFunction, B.Mul]),
    # activations
    ("relu", A.relu, [A.ReluFunction]),
    ("leaky_relu", A.leaky_relu, [A.LeakyReluFunction]),
    ("elu", A.elu, [A.EluFunction]),
    ("gelu", A.gelu, [A.GeluFunction]),
    ("sigmoid", A.sigmoid, [A.SigmoidFunction]),
    ("tanh", A.tanh, [A.TanhFunction]),
    ("softplus", A.softplus, [A.SoftplusFunction]),
    ("softmax", A.softmax, [A.SoftmaxFunction]),
    ("log_softmax", A.log_softmax, [A.LogSoftmaxFunction]),
    # layers' maths
    ("dense", N.dense, [N.DenseFunction]),
    ("dropout", N.dropout, [N.DropoutFunction]),
    ("batch_normalization", N.batch_normalization, [N.BatchNormFunction]),
    ("zero_padding2d", N.zero_padding2d, [N.ZeroPadding2DFunction]),
    ("conv2d", C.conv2d, [C.Conv2dFunction]),
    ("conv2d_transpose", C.conv2d_transpose, [C.Conv2dTransposeFunction]),
    ("depthwise_conv2d", C.depthwise_conv2d, [C.Conv2dFunction, B.Reshape]),
    ("conv", X.conv, [C.Conv2dFunction, B.Reshape, B.Transpose]),
    ("depthwise_conv", X.depthwise_conv, [C.Conv2dFunction, B.Reshape, B.Transpose]),
    ("max_pool", X.max_pool, [C.MaxPool2dFunction, B.Reshape, B.Transpose]),
    ("average_pool", X.average_pool, [C.AvgPool2dFunction, B.Reshape, B.Transpose]),
    ("max_pool2d", C.max_pool2d, [C.MaxPool2dFunction]),
    ("avg_pool2d", C.avg_pool2d, [C.AvgPool2dFunction]),
    ("global_avg_pool2d", C.global_avg_pool2d, [C.GlobalAvgPool2dFunction]),
    ("global_max_pool2d", C.global_max_pool2d, [C.GlobalMaxPool2dFunction]),
    ("layer_normalization", G.layer_normalization, [G.NormalizeFunction, B.Reshape]),
    ("group_normalization", G.group_normalization, [G.NormalizeFunction, B.Reshape]),
    ("resize", I.resize, [I.ResizeFunction]),
    # losses
    ("sparse_categorical_crossentropy", L.sparse_categorical_crossentropy,
     [L.SoftmaxCrossentropyFunction, L.ProbabilityCrossentropyFunction]),
    ("categorical_crossentropy", L.categorical_crossentropy,
     [L.SoftmaxCrossentropyFunction, L.ProbabilityCrossentropyFunction]),
    ("binary_crossentropy", L.binary_crossentropy,
     [L.SigmoidBinaryCrossentropyFunction, L.ProbabilityBinaryCrossentropyFunction]),
    ("mean_squared_error", L.mean_squared_error, [L.MeanSquaredErrorFunction]),
    ("mean_absolute_error", L.mean_absolute_error, [L.MeanAbsoluteErrorFunction]),
)
