"""Tensor: an ndarray plus the link to the operation that produced it."""

import numpy as np

from minicnn.autograd import engine

__all__ = ["Tensor", "bind_elementary"]

# The Functions behind Tensor's operators and methods (Add, MatMul, Sum, GetItem, ...) live in
# minicnn.ops._elementary: MatMul runs the compiled GEMM, and autograd imports no kernel.  That
# module binds itself here when it is imported (``import minicnn`` imports minicnn.ops before any
# Tensor exists), so the operators below are written here, where a reader looks for them, and
# the knowledge still flows one way: ops knows autograd, autograd only receives a module.
_ops = None


def bind_elementary(module):
    """Called once by :mod:`minicnn.ops._elementary` with itself."""
    global _ops
    _ops = module


class Tensor:
    """An n-dimensional array that records the operations applied to it for backward.

    ``data`` is the underlying ``numpy.ndarray`` (optimizers update it in place); ``grad`` is an
    ndarray of the same shape and dtype accumulated by :meth:`backward` (``None`` until then).
    Arrays keep their dtype; Python floats and lists of them become float32 (Keras' default).

    >>> import minicnn
    >>> w = minicnn.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> loss = ((w * w).sum() + w.mean()) / 2
    >>> loss.backward()
    >>> w.grad
    array([[1.125, 2.125],
           [3.125, 4.125]], dtype=float32)
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_out_index", "__dict__", "__weakref__")
    # numpy defers mixed ndarray/Tensor arithmetic to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.ndarray):
            arr = data if dtype is None else data.astype(dtype, copy=False)
        else:
            arr = np.asarray(data, dtype=dtype)
            if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.generic):
                arr = arr.astype(np.float32)
        self.data = arr
        self.grad = None
        self._requires_grad = False
        self._ctx = None
        self._out_index = 0
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, arr):
        # Fast path for op outputs: no conversion, no checks.
        t = cls.__new__(cls)
        t.data = arr if type(arr) is np.ndarray else np.asarray(arr)
        t.grad = None
        t._requires_grad = False
        t._ctx = None
        t._out_index = 0
        return t

    # -- autograd state ---------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if self._ctx is not None:
            raise ValueError(
                "requires_grad can only be set on a leaf tensor (one not produced by an "
                "operation); use .detach() to get a leaf that shares the data"
            )
        if value and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, this one has dtype {self.data.dtype}"
            )
        self._requires_grad = value

    @property
    def is_leaf(self):
        return self._ctx is None

    def backward(self, grad=None, retain_graph=False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` defaults to 1 for a one-element tensor.  The graph is freed afterwards unless
        ``retain_graph=True``.

        >>> import minicnn
        >>> x = minicnn.Tensor([3.0], requires_grad=True)
        >>> (x * x).backward()
        >>> x.grad
        array([6.], dtype=float32)
        """
        engine.backward(self, grad, retain_graph)

    def detach(self):
        """A new leaf sharing ``data``, outside any graph."""
        return Tensor._wrap(self.data)

    # -- array protocol ---------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def item(self):
        return self.data.item()

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __bool__(self):
        return bool(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx.fn.__name__}"
        elif self._requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({body}, dtype={self.data.dtype}{extra})"

    __hash__ = object.__hash__

    # -- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.Add.apply(self, other)

    def __radd__(self, other):
        return _ops.Add.apply(other, self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ops.Sub.apply(other, self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ops.Div.apply(other, self)

    def __matmul__(self, other):
        return _ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(other, self)

    def __pow__(self, other):
        return _ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return _ops.Pow.apply(other, self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __floordiv__(self, other):
        return _constant(np.floor_divide(self.data, _raw(other)))

    def __rfloordiv__(self, other):
        return _constant(np.floor_divide(_raw(other), self.data))

    def __mod__(self, other):
        return _constant(np.mod(self.data, _raw(other)))

    def __rmod__(self, other):
        return _constant(np.mod(_raw(other), self.data))

    # Comparisons and logic are not differentiable: boolean Tensors outside the graph (a Keras
    # program may call .numpy() on them, or pass them to ops.where / ops.cast).
    def __eq__(self, other):
        return _constant(self.data == _raw(other))

    def __ne__(self, other):
        return _constant(self.data != _raw(other))

    def __lt__(self, other):
        return _constant(self.data < _raw(other))

    def __le__(self, other):
        return _constant(self.data <= _raw(other))

    def __gt__(self, other):
        return _constant(self.data > _raw(other))

    def __ge__(self, other):
        return _constant(self.data >= _raw(other))

    def __and__(self, other):
        return _constant(self.data & _raw(other))

    __rand__ = __and__

    def __or__(self, other):
        return _constant(self.data | _raw(other))

    __ror__ = __or__

    def __xor__(self, other):
        return _constant(self.data ^ _raw(other))

    __rxor__ = __xor__

    def __invert__(self):
        return _constant(~self.data)

    def __index__(self):
        if self.data.ndim or self.data.dtype.kind not in "iu":
            raise TypeError(f"only integer scalar tensors can be used as an index, got shape "
                            f"{self.shape} and dtype {self.dtype}")
        return int(self.data)

    # -- shape and reductions ---------------------------------------------------------------
    def __getitem__(self, index):
        if isinstance(index, tuple):
            index = tuple(_raw(i) for i in index)
        else:
            index = _raw(index)
        return _ops.GetItem.apply(self, index=index)

    def reshape(self, *shape):
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one dimension may be -1."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return _ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return _ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self):
        return _ops.Transpose.apply(self, axes=None)

    def sum(self, axis=None, keepdims=False):
        return _ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return _constant(np.argmax(self.data, axis=axis))

    def argmin(self, axis=None):
        return _constant(np.argmin(self.data, axis=axis))

    def all(self, axis=None, keepdims=False):
        return _constant(np.all(self.data, axis=axis, keepdims=keepdims))

    def any(self, axis=None, keepdims=False):
        return _constant(np.any(self.data, axis=axis, keepdims=keepdims))

    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def sqrt(self):
        return _ops.Sqrt.apply(self)

    def abs(self):
        return _ops.Abs.apply(self)

    __abs__ = abs

    def clip(self, lo=None, hi=None):
        return _ops.Clip.apply(self, lo=lo, hi=hi)

    def astype(self, dtype):
        """Differentiable cast (the gradient is cast back)."""
        if np.dtype(dtype) == self.data.dtype:
            return self
        return _ops.Cast.apply(self, dtype=np.dtype(dtype))


from minicnn.autograd import function as _function  # noqa: E402

_function._TENSOR = Tensor


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _constant(value):
    """A Tensor outside the graph (results that have no gradient)."""
    return Tensor._wrap(np.asarray(value))
