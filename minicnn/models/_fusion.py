"""Inference-time fusion: chains of layers that a model's forward pass runs as one step.

TF's grappler folds Conv2D + BatchNorm (inference) + ReLU into one oneDNN call; here the plan
finds the same chains in a model's graph and runs them through ``minicnn.ops._inference``:

  Conv2D -> BatchNormalization [-> ReLU]   one conv call, batch norm (and ReLU) in its epilogue
  BatchNormalization -> ReLU                one pass
  Add -> ReLU                               one blocked pass

The results are bit for bit those of the layers run one by one (tests compare them), and fusion
only happens where that holds and nothing else can tell the difference:

* structure (decided once per model, cached until the model's layers change): the exact layer
  classes (a subclass may override ``call``), each chain's inner outputs feed only the next layer
  of the chain and are not model outputs, the layers are called on one tensor without keyword
  arguments (an Add on two);
* settings, checked at every call (a few attribute reads per chain): Conv2D channels_last without
  activation, BatchNormalization over the last axis, ReLU as ``Activation("relu")`` or ``ReLU()``
  with its defaults, no activity regularizer;
* the call: inference (``training`` falsy: batch norm uses its moving statistics), no gradient
  being recorded (``no_grad``, as in ``predict``/``evaluate``), float32/float64 tensors of the
  layers' own dtype, no profile running (``minicnn.utils.profile`` times each layer, so it sees the
  unfused model) and ``minicnn.debugging`` numerics checks off.

Anything else runs the layers one by one.  To turn fusion off: ``MINICNN_FUSION=0`` in the
environment (read once, at import) or ``model.fuse_inference = False`` on one model.
"""

import os

import numpy as np

from minicnn import _profiling, activations, debugging
from minicnn.autograd import Tensor, is_grad_enabled
from minicnn.layers.convolutional import Conv2D
from minicnn.layers.core import Activation, ReLU
from minicnn.layers.merging import Add
from minicnn.layers.node import KerasTensor, flatten
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers._weights import structure_version
from minicnn.ops import _inference

__all__ = ["ENABLED", "active", "functional_plan", "sequential_plan"]

ENABLED = os.environ.get("MINICNN_FUSION", "1").strip() != "0"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def active(model, training):
    """Whether this forward call of ``model`` may run fused chains."""
    return (ENABLED and not training and model.fuse_inference and not is_grad_enabled()
            and _profiling.state.recorder is None and not debugging._state.enabled)


# ------------------------------------------------------------------ which layers qualify

def _plain(layer):
    return getattr(layer, "activity_regularizer", None) is None


def _is_relu(layer):
    if type(layer) is Activation:
        return layer.activation is activations.relu and _plain(layer)
    return (type(layer) is ReLU and layer.max_value is None and layer.negative_slope == 0.0
            and layer.threshold == 0.0 and _plain(layer))


def _is_conv(layer):
    return (type(layer) is Conv2D and layer.data_format == "channels_last"
            and layer.activation is activations.linear and _plain(layer))


def _is_bn(layer, rank):
    return type(layer) is BatchNormalization and layer.axis % rank == rank - 1 and _plain(layer)


def _dtype_ok(layer, dt):
    """The layer would not cast a ``dt`` input (its autocast leaves it alone)."""
    return not layer._autocast or np.dtype(layer.dtype) == dt


class _Chain:
    """A chain of layers run as one step: ``run(x)`` returns its output Tensor, or None where this
    call does not qualify (the caller then runs the layers one by one)."""

    def __init__(self, kind, layers):
        self.kind, self.layers = kind, tuple(layers)

    def run(self, x):
        if not all(layer.built for layer in self.layers):
            return None
        if type(x) is list:
            return self._add_relu(x)
        if type(x) is not Tensor or x.data.dtype not in _FLOATS or x.data.size == 0:
            return None
        if self.kind == "bn_relu":
            return self._bn_relu(x.data)
        return self._conv_bn(x.data)

    @staticmethod
    def _bn_params(bn, rank, dt):
        """BatchNormalization's arguments for an input of this rank and dtype, or None where it
        would not run its kernels' inference path on it."""
        if not _is_bn(bn, rank) or not _dtype_ok(bn, dt):
            return None
        gamma = None if bn.gamma is None else bn.gamma.data
        beta = None if bn.beta is None else bn.beta.data
        if any(p is not None and p.dtype != dt for p in (gamma, beta)):
            return None
        return dict(gamma=gamma, beta=beta, moving_mean=bn.moving_mean.data,
                    moving_variance=bn.moving_variance.data, epsilon=bn.epsilon)

    def _conv_bn(self, x):
        conv, bn = self.layers[:2]
        relu = len(self.layers) == 3
        dt = x.dtype
        if (not _is_conv(conv) or not _dtype_ok(conv, dt) or x.ndim != 4 or conv.kernel.data.dtype != dt
                or x.shape[-1] != conv.kernel.shape[2] * conv.groups
                or (conv.bias is not None and conv.bias.data.dtype != dt)
                or (relu and not (_is_relu(self.layers[2]) and _dtype_ok(self.layers[2], dt)))):
            return None
        params = self._bn_params(bn, 4, dt)
        if params is None:
            return None
        y = _inference.conv2d_batch_norm(
            np.ascontiguousarray(x), conv.kernel.data, None if conv.bias is None else conv.bias.data,
            relu=relu, strides=conv.strides, padding=conv.padding, dilation_rate=conv.dilation_rate,
            groups=conv.groups, **params)
        return Tensor(y)

    def _bn_relu(self, x):
        bn, act = self.layers
        params = self._bn_params(bn, x.ndim, x.dtype)
        if params is None or not _is_relu(act) or not _dtype_ok(act, x.dtype):
            return None
        return Tensor(_inference.batch_norm_relu(x, **params))

    def _add_relu(self, xs):
        add, act = self.layers
        if len(xs) != 2 or any(type(t) is not Tensor for t in xs):
            return None
        a, b = xs[0].data, xs[1].data
        dt = a.dtype
        if (dt not in _FLOATS or b.dtype != dt or a.shape != b.shape or not a.flags.c_contiguous
                or not b.flags.c_contiguous or type(add) is not Add or not _plain(add)
                or not _dtype_ok(add, dt) or not _is_relu(act) or not _dtype_ok(act, dt)):
            return None
        return Tensor(_inference.add_relu(a, b))


def _chain_after(first, nxt):
    """The chain that starts at layer ``first`` given ``nxt(layer)``: the layer its output alone
    feeds (None where that output has other uses or is an output).  The layers' settings are
    checked here and again at every call (they may change after the plan is made)."""
    second = nxt(first)
    if _is_conv(first) and type(second) is BatchNormalization:
        third = nxt(second)
        if third is not None and _is_relu(third):
            return _Chain("conv_bn", (first, second, third))
        return _Chain("conv_bn", (first, second))
    if type(first) is BatchNormalization and second is not None and _is_relu(second):
        return _Chain("bn_relu", (first, second))
    if type(first) is Add and second is not None and _is_relu(second):
        return _Chain("add_relu", (first, second))
    return None


# ------------------------------------------------------------------ plans, cached per model

def _cached(model, build):
    version = structure_version()
    cache = model.__dict__.get("_fusion_cache")
    if cache is None or cache[0] != version:
        cache = (version, build(model))
        object.__setattr__(model, "_fusion_cache", cache)
    return cache[1]


def functional_plan(model):
    """{id(head node): (chain, its nodes)} for a Functional model; every other node of a chain maps
    to None (it runs with its head)."""
    return _cached(model, _build_functional)


def _single_tensor_arg(node):
    args = node.call_args
    if node.call_kwargs or len(args) != 1:
        return None
    if type(args[0]) is KerasTensor:
        return args[0]
    return None


def _build_functional(model):
    users = {}
    for node in model._nodes:
        for t in node.input_tensors:
            users.setdefault(id(t), []).append(node)
    outputs = {id(t) for t in model._output_tensors}

    def sole_user(node):
        out = node.outputs
        if type(out) is not KerasTensor or id(out) in outputs:
            return None
        u = users.get(id(out), [])
        if len(u) != 1 or u[0].is_input or _single_tensor_arg(u[0]) is not out:
            return None
        return u[0]

    plan = {}
    for node in model._nodes:
        if node.is_input or id(node) in plan:
            continue
        if type(node.layer) is Add:
            arg = node.call_args[0] if len(node.call_args) == 1 and not node.call_kwargs else None
            if not (isinstance(arg, list) and len(arg) == 2 and all(type(t) is KerasTensor for t in arg)):
                continue
        elif _single_tensor_arg(node) is None:
            continue
        nodes = [node]

        def nxt(layer):
            following = sole_user(nodes[-1])
            if following is not None:
                nodes.append(following)
                return following.layer
            return None

        chain = _chain_after(node.layer, nxt)
        if chain is None:
            continue
        nodes = nodes[:len(chain.layers)]
        plan[id(node)] = (chain, nodes)
        for n in nodes[1:]:
            plan[id(n)] = None
    return plan


def sequential_plan(model):
    """{index of the first layer: chain} over ``model.layers`` for a Sequential model."""
    return _cached(model, _build_sequential)


def _build_sequential(model):
    layers = model.layers
    plan, i = {}, 0
    while i < len(layers):
        pos = [i]

        def nxt(layer):
            j = pos[-1] + 1
            if j < len(layers):
                pos.append(j)
                return layers[j]
            return None

        chain = _chain_after(layers[i], nxt)
        if chain is None:
            i += 1
            continue
        plan[i] = chain
        i += len(chain.layers)
    return plan
