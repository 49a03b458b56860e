"""``einsum`` and ``dot``, differentiable: the gradient of each operand is another einsum of
the output gradient with the other operands."""

import numpy as np

from minicnn.autograd import Function, sum_to_shape
from minicnn.ops._util import as_tensor

__all__ = ["einsum", "dot", "EinsumFunction"]


def _parse(subscripts, operands):
    """(input subscripts, output subscript), explicit, with '...' kept as it is."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(operands)}")
    if not arrow:   # implicit mode: the letters seen once, in alphabetical order
        letters = "".join(terms).replace(".", "")
        output = ("..." if any("..." in t for t in terms) else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    for term, op in zip(terms + [output], list(operands) + [None]):
        letters = term.replace("...", "")
        if not letters.isalpha() and letters:
            raise ValueError(f"einsum: subscripts must be letters and '...', got {subscripts!r}")
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum: a letter repeated within one term ({term!r} in "
                             f"{subscripts!r}: traces and diagonals) is not supported")
    if any("..." in t for t in terms) and "..." not in output:
        raise ValueError(f"einsum: the output must keep '...' when an input has it ({subscripts!r})")
    return terms, output


class EinsumFunction(Function):
    @staticmethod
    def forward(ctx, *operands, terms, output):
        ctx.terms, ctx.output = terms, output
        ctx.shapes = [(op.shape, op.dtype) for op in operands]
        ctx.save_for_backward(*operands)
        return np.asarray(np.einsum(",".join(terms) + "->" + output, *operands))

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(ctx.terms) if j != i]
            seen = set(ctx.output + "".join(others))
            term = ctx.terms[i]
            # letters summed away from this operand alone come back by broadcasting
            kept = "".join(c for c in term if c in seen or c == ".")
            # an operand without '...' gets the broadcast axes summed away afterwards
            target = kept if "..." in term or "..." not in ctx.output else "..." + kept
            spec = ",".join([ctx.output] + others) + "->" + target
            grad = np.einsum(spec, g, *[op for j, op in enumerate(operands) if j != i])
            if target != kept:
                grad = grad.sum(axis=tuple(range(grad.ndim - len(kept))))
            shape, dtype = ctx.shapes[i]
            if kept != term:
                grad = _insert_missing(grad, term, kept)
            grads.append(np.broadcast_to(sum_to_shape(grad, shape, dtype), shape))
        return tuple(grads)


def _insert_missing(grad, term, kept):
    """``grad`` (laid out as ``kept``) with a size-1 axis for each letter of ``term`` that
    ``kept`` lacks, so that it broadcasts to the operand."""
    dots = grad.ndim - len(kept.replace("...", ""))
    axes, position = [], 0
    for piece in term.replace("...", "#"):
        if piece == "#":
            position += dots
        else:
            if piece not in kept:
                axes.append(position)
            position += 1
    return np.expand_dims(grad, tuple(axes))


def einsum(subscripts, *operands):
    """Einstein summation, as ``numpy.einsum`` (explicit or implicit output, '...' in every term
    or none; a letter may not repeat within one term).

    >>> import numpy as np, minicnn
    >>> minicnn.ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    tensors = [as_tensor(op, f"einsum operand {i}") for i, op in enumerate(operands)]
    terms, output = _parse(subscripts, tensors)
    for term, t in zip(terms, tensors):
        letters = len(term.replace("...", ""))
        if ("..." in term and t.ndim < letters) or ("..." not in term and t.ndim != letters):
            raise ValueError(f"einsum: term {term!r} does not fit an operand of shape {t.shape}")
    dtype = np.result_type(*[t.data for t in tensors])
    tensors = [t.astype(dtype) if t.dtype != dtype else t for t in tensors]
    return EinsumFunction.apply(*tensors, terms=terms, output=output)


def dot(x1, x2):
    """``numpy.dot``: products of scalars, inner product of vectors, matrix products, and for
    N-D operands the sum over the last axis of ``x1`` and the second-to-last of ``x2``."""
    a, b = as_tensor(x1, "x1"), as_tensor(x2, "x2")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    letters = "abcdefghijklmnopqrstuvwx"
    if a.ndim + b.ndim > len(letters):
        raise ValueError(f"dot: operands of shapes {a.shape} and {b.shape} have too many axes")
    ta = letters[:a.ndim - 1] + "z"
    rest = letters[a.ndim - 1:a.ndim - 1 + b.ndim - 1]
    tb = "z" if b.ndim == 1 else rest[:-1] + "z" + rest[-1]
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ValueError(f"dot: shapes {a.shape} and {b.shape} are not aligned")
    return einsum(f"{ta},{tb}->{ta[:-1]}{tb.replace('z', '')}", a, b)
