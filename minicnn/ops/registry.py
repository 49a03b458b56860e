"""The one list of differentiable ops.

Every entry names the functional form and the Function class(es) it runs; its plain-NumPy
reference is the function of the same name in :mod:`minicnn.reference.ops`.  The test suite
walks this table: each op is gradchecked in float64 and compared with its reference, and an op
added here without a test case fails the suite.
"""

from dataclasses import dataclass

from minicnn.ops import _activations as A
from minicnn.ops import _arithmetic as M
from minicnn.ops import _control_flow as F
from minicnn.ops import _conv as C
from minicnn.ops import _conversion as T
from minicnn.ops import _elementary as B
from minicnn.ops import _keras_nn as K
from minicnn.ops import _layers as N
from minicnn.ops import _linalg as LA
from minicnn.ops import _losses as L
from minicnn.ops import _normalization as G
from minicnn.ops import _reductions as R
from minicnn.ops import _select as S
from minicnn.ops import _shape as H
from minicnn.ops import _unary as U
from minicnn.ops import image as I

__all__ = ["OpInfo", "OPS"]


@dataclass(frozen=True)
class OpInfo:
    name: str
    fn: object  # the functional form (takes Tensors or arrays, returns Tensor(s))
    functions: tuple  # the Function classes it records


def _table(*rows):
    return {name: OpInfo(name, fn, tuple(fns)) for name, fn, fns in rows}


_UNARY = [(name, getattr(U, name), [U.UnaryFunction]) for name in U.UNARY]

OPS = _table(
    # elementary (also Tensor operators/methods)
    ("add", M.add, [B.Add]),
    ("subtract", M.subtract, [B.Sub]),
    ("multiply", M.multiply, [B.Mul]),
    ("divide", M.divide, [B.Div]),
    ("negative", M.negative, [B.Neg]),
    ("power", M.power, [B.Pow]),
    ("square", M.square, [B.Mul]),
    ("matmul", M.matmul, [B.MatMul]),
    ("exp", M.exp, [B.Exp]),
    ("log", M.log, [B.Log]),
    ("sqrt", M.sqrt, [B.Sqrt]),
    ("abs", M.abs, [B.Abs]),
    ("clip", M.clip, [B.Clip]),
    ("sum", M.sum, [B.Sum]),
    ("mean", M.mean, [B.Mean]),
    ("max", M.max, [B.Max]),
    ("min", M.min, [B.Min]),
    ("reshape", M.reshape, [B.Reshape]),
    ("transpose", M.transpose, [B.Transpose]),
    ("getitem", lambda x, index: T.convert_to_tensor(x)[index], [B.GetItem]),
    ("cast", T.cast, [B.Cast]),
    ("concatenate", M.concatenate, [B.Concatenate]),
    ("stack", M.stack, [B.Stack]),
    ("flatten", M.flatten, [B.Reshape]),
    # elementwise math (one Function, one table)
    *_UNARY,
    ("maximum", S.maximum, [S.MaximumFunction]),
    ("minimum", S.minimum, [S.MinimumFunction]),
    ("where", S.where, [S.WhereFunction]),
    # reductions and scans
    ("prod", R.prod, [R.ProdFunction]),
    ("cumsum", R.cumsum, [R.CumsumFunction]),
    ("cumprod", R.cumprod, [R.CumprodFunction]),
    ("logsumexp", R.logsumexp, [R.LogSumExpFunction]),
    ("var", R.var, [B.Mean, B.Sub, B.Mul]),
    ("std", R.std, [B.Mean, B.Sub, B.Mul, B.Sqrt]),
    ("top_k", lambda x, k: R.top_k(x, k)[0], [H.TakeAlongAxisFunction]),
    # shape and layout
    ("expand_dims", H.expand_dims, [B.Reshape]),
    ("squeeze", H.squeeze, [B.Reshape]),
    ("moveaxis", H.moveaxis, [B.Transpose]),
    ("flip", H.flip, [B.GetItem]),
    ("split", lambda x, n, axis=0, i=0: H.split(x, n, axis)[i], [H.SplitFunction]),
    ("tile", H.tile, [H.TileFunction]),
    ("repeat", H.repeat, [H.RepeatFunction]),
    ("broadcast_to", H.broadcast_to, [H.BroadcastToFunction]),
    ("roll", H.roll, [H.TakeFunction]),
    ("pad", H.pad, [H.PadFunction]),
    ("take", H.take, [H.TakeFunction]),
    ("take_along_axis", H.take_along_axis, [H.TakeAlongAxisFunction]),
    ("tril", H.tril, [B.Mul]),
    ("slice", F.slice, [B.GetItem]),
    # products and norms
    ("einsum", LA.einsum, [LA.EinsumFunction]),
    ("dot", LA.dot, [B.MatMul, LA.EinsumFunction]),
    ("tensordot", LA.tensordot, [LA.EinsumFunction]),
    ("outer", LA.outer, [LA.EinsumFunction]),
    ("norm", LA.norm, [B.Sum, B.Sqrt, B.Max, LA.SingularValuesFunction]),
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
    ("relu6", K.relu6, [B.Clip]),
    ("silu", K.silu, [A.SigmoidFunction, B.Mul]),
    ("hard_sigmoid", K.hard_sigmoid, [B.Clip]),
    ("hard_silu", K.hard_silu, [B.Clip, B.Mul]),
    ("selu", K.selu, [A.EluFunction]),
    ("softsign", K.softsign, [B.Abs, B.Div]),
    ("log_sigmoid", K.log_sigmoid, [A.SoftplusFunction]),
    ("celu", K.celu, [S.MaximumFunction, S.MinimumFunction, B.Exp]),
    ("glu", K.glu, [H.SplitFunction, A.SigmoidFunction]),
    # Keras' nn ops on the 2-D kernels
    ("conv", K.conv, [C.Conv2dFunction]),
    ("depthwise_conv", K.depthwise_conv, [C.Conv2dFunction]),
    ("separable_conv", K.separable_conv, [C.Conv2dFunction]),
    ("conv_transpose", K.conv_transpose, [C.Conv2dTransposeFunction]),
    ("max_pool", K.max_pool, [C.MaxPool2dFunction]),
    ("average_pool", K.average_pool, [C.AvgPool2dFunction]),
    ("moments", lambda x, axes, i=0: K.moments(x, axes)[i], [B.Mean, B.Sub, B.Mul]),
    ("batch_normalization", K.batch_normalization, [B.Sub, B.Mul, B.Div, B.Sqrt]),
    ("normalize", K.normalize, [B.Div, S.MaximumFunction]),
    # layers' maths
    ("dense", N.dense, [N.DenseFunction]),
    ("dropout", N.dropout, [N.DropoutFunction]),
    ("fused_batch_normalization", N.fused_batch_normalization, [N.BatchNormFunction]),
    ("zero_padding2d", N.zero_padding2d, [N.ZeroPadding2DFunction]),
    ("conv2d", C.conv2d, [C.Conv2dFunction]),
    ("conv2d_transpose", C.conv2d_transpose, [C.Conv2dTransposeFunction]),
    ("depthwise_conv2d", C.depthwise_conv2d, [C.Conv2dFunction, B.Reshape]),
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
