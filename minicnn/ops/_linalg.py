"""Products and norms: ``einsum`` (one Function, whose backward is an einsum per operand),
``dot``/``tensordot``/``outer``/``inner``/``vdot`` on it, and ``norm`` (vector and matrix)."""

import builtins
import string

import numpy as np

from minicnn.autograd import Function, sum_to_shape
from minicnn.ops._arithmetic import abs, matmul, max, min, multiply, power, sqrt, sum
from minicnn.ops._dtypes import as_float, promote
from minicnn.ops._elementary import normalize_axes
from minicnn.ops._shape import moveaxis, ravel
from minicnn.ops._util import as_tensor

__all__ = ["einsum", "dot", "tensordot", "outer", "inner", "vdot", "norm", "EinsumFunction",
           "SingularValuesFunction"]


class EinsumFunction(Function):
    """``np.einsum`` with explicit subscripts (one letter string per operand, and the output's).

    The gradient of operand i is the einsum of the output gradient with the other operands into
    operand i's letters; letters only operand i has (summed away in the forward) are broadcast
    back, and size-1 dimensions that broadcast are summed back.
    """

    @staticmethod
    def forward(ctx, *operands, inputs, output):
        ctx.save_for_backward(*operands)
        ctx.inputs, ctx.output = inputs, output
        return np.asarray(np.einsum(",".join(inputs) + "->" + output, *operands, optimize=True))

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [j for j in range(len(ops)) if j != i]
            present = set(ctx.output).union(*(ctx.inputs[j] for j in others))
            kept = "".join(c for c in ctx.inputs[i] if c in present)
            expr = ",".join([ctx.output] + [ctx.inputs[j] for j in others]) + "->" + kept
            gi = np.einsum(expr, g, *(ops[j] for j in others), optimize=True)
            # Letters summed only inside operand i come back as size-1 axes, then broadcast.
            gi = gi.reshape([gi.shape[kept.index(c)] if c in kept else 1 for c in ctx.inputs[i]])
            shape = ops[i].shape
            gi = np.broadcast_to(gi, np.broadcast_shapes(gi.shape, shape))
            grads.append(sum_to_shape(gi, shape, ops[i].dtype))
        return tuple(grads)


def _parse(subscripts, shapes):
    """Explicit (inputs, output) letter strings for ``subscripts``, ellipses expanded."""
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, out = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(shapes)}")
    used = set(subscripts) - set(".,->")
    if not used <= set(string.ascii_letters):
        raise ValueError(f"einsum: subscripts must be letters, got {subscripts!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    ranks = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if ("..." in term and named > len(shape)) or ("..." not in term and named != len(shape)):
            raise ValueError(f"einsum: term {term!r} does not fit an operand of shape {shape}")
        ranks.append(len(shape) - named if "..." in term else 0)
    ell = "".join(spare[:builtins.max(ranks, default=0)])
    inputs = [t.replace("...", ell[len(ell) - r:]) for t, r in zip(terms, ranks)]
    if arrow:
        output = out.replace("...", ell)
    else:  # implicit: the broadcast axes, then every letter used once, in alphabetical order
        counts = {c: "".join(inputs).count(c) for c in set("".join(inputs))}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return inputs, output


def einsum(subscripts, *operands):
    """Einstein summation (``numpy.einsum``), differentiable in every operand.

    >>> import numpy as np, minicnn
    >>> minicnn.ops.einsum("bij,bjk->bik", np.ones((2, 3, 4)), np.ones((2, 4, 5))).shape
    (2, 3, 5)
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    ops = promote(*[as_tensor(o, f"einsum operand {i}") for i, o in enumerate(operands)])
    inputs, output = _parse(subscripts, [o.shape for o in ops])
    for term, o in zip(inputs, ops):
        if len(set(term)) != len(term) and o.requires_grad:
            raise ValueError(f"einsum: the gradient of an operand with a repeated subscript "
                             f"({term!r}: a trace or diagonal) is not supported; take it with "
                             "no gradient (stop_gradient) or write it with a mask")
    return EinsumFunction.apply(*ops, inputs=tuple(inputs), output=output)


def tensordot(x1, x2, axes=2):
    """Sum products over ``axes`` (an int: the last of x1 with the first of x2; or two lists)."""
    a, b = promote(x1, x2)
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(a.ndim - int(axes), a.ndim))
        axes_b = list(range(int(axes)))
    else:
        axes_a, axes_b = ([int(i)] if np.ndim(i) == 0 else [int(j) for j in i] for i in axes)
    axes_a = [i % a.ndim for i in axes_a] if a.ndim else axes_a
    axes_b = [i % b.ndim for i in axes_b] if b.ndim else axes_b
    la = string.ascii_lowercase[:a.ndim]
    lb = list(string.ascii_uppercase[:b.ndim])
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of x1 {a.shape} and axis {j} of x2 {b.shape} differ")
        lb[j] = la[i]
    out = "".join(c for i, c in enumerate(la) if i not in axes_a) + "".join(
        c for j, c in enumerate(lb) if j not in axes_b)
    return EinsumFunction.apply(a, b, inputs=(la, "".join(lb)), output=out)


def dot(x1, x2):
    """``numpy.dot``: a product for scalars, ``matmul`` for 1-D/2-D, and for N-D a sum over the
    last axis of x1 and the second-to-last of x2."""
    a, b = promote(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2 if b.ndim > 1 else 0]))


def outer(x1, x2):
    """The outer product of the flattened inputs."""
    a, b = promote(x1, x2)
    return EinsumFunction.apply(ravel(a), ravel(b), inputs=("i", "j"), output="ij")


def inner(x1, x2):
    """Sum of products over the last axes (``numpy.inner``)."""
    a, b = promote(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def vdot(x1, x2):
    """The dot product of the flattened inputs."""
    a, b = promote(x1, x2)
    return EinsumFunction.apply(ravel(a), ravel(b), inputs=("i", "i"), output="")


class SingularValuesFunction(Function):
    """The singular values of the matrices in the last two axes; backward ``U diag(g) V^T``
    (exact where the singular values are distinct)."""

    @staticmethod
    def forward(ctx, x):
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        ctx.save_for_backward(u, vt)
        return s

    @staticmethod
    def backward(ctx, g):
        u, vt = ctx.saved_tensors
        return (u * g[..., None, :]) @ vt


_MATRIX_ORDS = {None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf}


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (``numpy.linalg.norm``): with ``axis`` None, a 1-D input gets a
    vector norm, a 2-D input a matrix norm, and ``ord=None`` the 2-norm of the flattened input.

    >>> import minicnn
    >>> float(minicnn.ops.norm([3.0, 4.0]))
    5.0
    """
    x = as_float(x)
    if axis is None:
        if ord is None:
            y = sqrt(sum(x * x))
            return y.reshape((1,) * x.ndim) if keepdims else y
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got {x.shape}")
        axis = tuple(range(x.ndim))
    axes = normalize_axes(axis, x.ndim) if np.ndim(axis) else (normalize_axes(axis, x.ndim)[0],)
    if len(axes) == 1:
        y = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2:
        y = _matrix_norm(x, ord, tuple(a % x.ndim for a in (axis if np.ndim(axis) else axes)))
    else:
        raise ValueError(f"norm: axis must name 1 or 2 axes, got {axis}")
    if keepdims:
        y = y.reshape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return y


def _vector_norm(x, ord, axis):
    if ord is None or ord == 2:
        return sqrt(sum(x * x, axis=axis))
    if ord == np.inf:
        return max(abs(x), axis=axis)
    if ord == -np.inf:
        return min(abs(x), axis=axis)
    if ord == 0:
        return as_tensor((x.data != 0).sum(axis=axis).astype(x.dtype))
    if ord == 1:
        return sum(abs(x), axis=axis)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    return power(sum(power(abs(x), float(ord)), axis=axis), 1.0 / float(ord))


def _matrix_norm(x, ord, axes):
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"norm: matrix ord must be one of None, 'fro', 'nuc', 1, -1, 2, -2, inf, "
                         f"-inf, got {ord!r}")
    row, col = axes
    if ord in (None, "fro"):
        return sqrt(sum(x * x, axis=axes))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum.
        sums = sum(abs(x), axis=row if ord in (1, -1) else col, keepdims=True)
        pick = max if ord in (1, np.inf) else min
        return pick(sums, axis=axes)
    s = SingularValuesFunction.apply(moveaxis(x, (row, col), (-2, -1)))
    if ord == "nuc":
        return sum(s, axis=-1)
    return max(s, axis=-1) if ord == 2 else min(s, axis=-1)
