"""The Function contract: ``forward(ctx, *arrays, **attrs)`` / ``backward(ctx, grad_out)``.

A Function works on plain ndarrays.  ``Fn.apply(*inputs, **attrs)`` unwraps Tensor inputs,
runs ``forward`` and, when recording is on and some input requires a gradient, links the
output Tensor(s) to a :class:`Context` that the engine later hands to ``backward``.

``backward`` returns one gradient per positional input (``None`` where an input needs none,
see ``ctx.needs_input_grad``), each with the shape and dtype of that input.  It must never
write into ``grad_out``: the same array may be handed to several consumers.
"""

from minicnn.autograd import grad_mode

__all__ = ["Context", "Function", "sum_to_shape"]


class Context:
    """Per-call scratch space shared by ``forward`` and ``backward``.

    Attributes set by ``apply``: ``needs_input_grad`` (one bool per positional input).
    Functions may store anything else on it (shapes, attributes).
    """

    # Defaults live on the class so creating a context (once per recorded op) sets two fields.
    saved_tensors = ()
    parents = ()
    n_outputs = 1
    freed = False

    def __init__(self, fn, needs_input_grad):
        self.fn = fn
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *arrays):
        """Keep arrays (inputs or outputs of forward) for backward: ``ctx.saved_tensors``."""
        self.saved_tensors = arrays

    def free(self):
        """Drop everything held for backward (the engine calls this unless retain_graph)."""
        fn = self.fn
        self.__dict__.clear()
        self.fn = fn  # kept for error messages
        self.saved_tensors = None
        self.parents = None
        self.freed = True


class Function:
    """Base class of differentiable operations.

    Subclass with two static methods and call ``apply``:

    >>> import numpy as np, minicnn
    >>> from minicnn.autograd import Function
    >>> class Square(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad_out):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad_out
    >>> x = minicnn.Tensor([1.0, 3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    >>> x.grad
    array([2., 6.], dtype=float32)

    With several outputs ``forward`` returns a tuple of arrays, ``apply`` a tuple of
    Tensors and ``backward(ctx, *grad_outs)`` receives one gradient per output (zeros for
    outputs that did not take part in the loss).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run ``forward`` on the inputs' arrays and return Tensor output(s).

        Tensor inputs are unwrapped to their ``.data``; anything else (arrays, scalars, None)
        reaches ``forward`` unchanged and never receives a gradient.  Keyword ``attrs`` are
        passed to ``forward`` as they are.  A graph node is recorded only when grad mode is on
        and at least one Tensor input requires a gradient.
        """
        tensor_cls = _TENSOR
        recording = _grad_state.enabled
        arrays = []
        needs = []
        any_needed = False
        for x in inputs:
            if isinstance(x, tensor_cls):
                arrays.append(x.data)
                need = recording and x._requires_grad
                any_needed |= need
                needs.append(need)
            else:
                arrays.append(x)
                needs.append(False)
        ctx = Context(cls, tuple(needs))
        out = cls.forward(ctx, *arrays, **attrs)
        if isinstance(out, tuple):
            outs = tuple(tensor_cls._wrap(o) for o in out)
            if any_needed:
                ctx.parents = inputs
                ctx.n_outputs = len(outs)
                ctx.out_meta = [(t.shape, t.dtype) for t in outs]
                for i, t in enumerate(outs):
                    t._ctx = ctx
                    t._out_index = i
                    t._requires_grad = True
            return outs
        t = tensor_cls._wrap(out)
        if any_needed:
            ctx.parents = inputs
            t._ctx = ctx
            t._requires_grad = True
        return t


_TENSOR = None  # set by minicnn.autograd.tensor when it is imported (it imports this module)
_grad_state = grad_mode._state


def sum_to_shape(grad, shape, dtype=None):
    """Sum a broadcast gradient back to ``shape`` (and cast to ``dtype``): the inverse of
    numpy broadcasting, used by every op that broadcasts its inputs."""
    if grad.shape != shape:
        extra = grad.ndim - len(shape)
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
    if dtype is not None and grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad
