"""`Tensor`: a NumPy array plus what autograd needs (requires_grad, grad, the op that made it).

float32 is the default floating dtype (Python numbers and lists become float32, as in PyTorch);
NumPy float32/float64 arrays keep their dtype (as torch.tensor does; gradient checks use float64);
integer data becomes int64 (labels, indices), which never requires grad.
Dtype rules of binary ops: float32 with float64 raises TypeError (no silent upcast: say .float() or
.double()); an int64 or bool tensor with a floating one takes the floating dtype; a Python number
takes the tensor's dtype (a float number with an int64 tensor gives float32); / on integers gives
float32. max(dim)/min(dim) return (values, indices) as PyTorch; amax/amin return values only.
"""
from collections import namedtuple

import numpy as np

from . import random as _random
from .autograd import engine as _engine
from .autograd.engine import backward as _backward
from .autograd.function import TensorBase, is_grad_enabled
from .ops import linalg as _linalg
from .ops.elementwise import (AbsFn, AddFn, CastFn, ClipFn, DivFn, ExpFn, GELUFn, LeakyReLUFn, LogFn, MulFn, NegFn,
                              PowFn, PowTensorFn, ReLUFn, SigmoidFn, SoftplusFn, SqrtFn, SubFn, TanhFn)
from .ops.reduce import MaxFn, MeanFn, MinFn, SumFn, TakeAlongDimFn, VarFn
from .ops.softmax import log_softmax as _log_softmax
from .ops.softmax import softmax as _softmax
from .ops.shape import CatFn, GetItemFn, PermuteFn, ReshapeFn, StackFn, WhereFn

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# What a Tensor compares with elementwise (==, <, ...); other objects make == fall back to identity.
_COMPARABLE = (np.ndarray, np.generic, bool, int, float, list, tuple)

# What max(dim)/min(dim) return, as torch.return_types.max: unpacks as (values, indices).
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _as_data(data, dtype=None):
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in _FLOATS and dtype != np.int64 and dtype != np.bool_:
            raise TypeError(f"tensor: dtype must be float32, float64, int64 or bool, got {dtype}")
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        kind = data.dtype.kind
        if data.dtype in _FLOATS or data.dtype == np.int64 or data.dtype == np.bool_:
            return data
        if kind in "iu":
            return data.astype(np.int64)
        if kind == "f":
            raise TypeError(f"tensor: {data.dtype} arrays are not supported; convert to float32 or float64")
        raise TypeError(f"tensor: cannot make a tensor from an array of dtype {data.dtype}")
    arr = np.asarray(data)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32)
    if kind in "iu":
        return arr.astype(np.int64)
    if kind == "b":
        return arr
    raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} (dtype {arr.dtype})")


def _binary(fn, op):
    """A binary operator and its reflected form (x + y and y + x) applying fn to both operands
    brought to one dtype (see _promote)."""
    def method(self, other):
        a, b = self._pair(other, op)
        return fn.apply(a, b)

    def reflected(self, other):
        a, b = self._pair(other, op)
        return fn.apply(b, a)
    return method, reflected


def _unary(fn):
    """A method without arguments that applies fn to the tensor (x.exp(), x.relu(), ...)."""
    def method(self):
        return fn.apply(self)
    method.__name__ = fn.__name__[:-2].lower()
    method.__qualname__ = "Tensor." + method.__name__
    return method


def _comparison(fn):
    """An elementwise comparison operator (x < y, ...): see Tensor._cmp."""
    def method(self, other):
        return self._cmp(other, fn)
    return method


class Tensor(TensorBase):
    # Slots (in TensorBase): data, grad, requires_grad, and _ctx: the Context of the op that made this
    # tensor (it holds the op and its inputs), None for a leaf.
    __slots__ = ()
    __array_priority__ = 1000  # numpy scalars/arrays on the left defer to Tensor's reflected ops

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = _as_data(data, dtype)
        if requires_grad and self._data.dtype not in _FLOATS:
            raise TypeError(f"only floating tensors can require grad, got dtype {self._data.dtype}")
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._ctx = None
        self._version = 0

    @classmethod
    def _wrap(cls, array, requires_grad):
        """A result of an op (no conversion: ops keep dtypes)."""
        t = cls.__new__(cls)
        t._data = array
        t.requires_grad = requires_grad
        t._grad = None
        t._ctx = None
        t._version = 0
        return t

    # ---- basic properties ------------------------------------------------------------------------
    @property
    def data(self):
        """The values as a new Tensor that shares this one's memory and is cut from the graph (as
        torch.Tensor.data): what is done through it is not recorded. ``x.data = t`` swaps in t's values."""
        return Tensor._wrap(self._data, False)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def grad(self):
        """The gradient backward accumulated here (a Tensor of this tensor's shape and dtype), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {value.shape}, the tensor "
                                   f"has {self.shape}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype}, the tensor "
                                   f"is {self.dtype}")
        self._grad = value

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function class that made this tensor (None for a leaf or outside the graph)."""
        return None if self._ctx is None else self._ctx.fn

    def size(self, dim=None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self):
        return self._data.size

    def __len__(self):
        return len(self._data)

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self._data.item()

    def numpy(self):
        return self._data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __format__(self, spec):
        # f"{loss:.3f}" formats a one-element tensor as its number (as torch); else as str()
        if spec and self._data.size == 1:
            return format(self.item(), spec)
        return format(str(self), spec)

    def detach(self):
        return Tensor._wrap(self._data, False)

    def requires_grad_(self, flag=True):
        if flag and self._data.dtype not in _FLOATS:
            raise TypeError(f"only floating tensors can require grad, got dtype {self._data.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self):
        self._grad = None

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """As torch.Tensor.backward: adds d(self)/d(leaf), weighted by gradient (implied ones for a
        single-element tensor), into the .grad of each leaf (of inputs only, when given).
        create_graph=True records the backward, so .grad has a graph (grad of grad: Hessian-vector
        products); retain_graph defaults to create_graph."""
        _backward(self, gradient, create_graph if retain_graph is None else retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """hook(grad) runs each time backward computes this tensor's gradient (a Tensor, as .grad);
        returning a Tensor replaces the gradient. Returns a handle; handle.remove() unregisters it."""
        return _engine.register_hook(self, hook)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in .grad after backward (as torch.Tensor.retain_grad)."""
        _engine.retain_grad(self)

    @property
    def retains_grad(self):
        return _engine.retains_grad(self)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx.fn.__name__}"
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self._data.dtype}{extra})"

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def to(self, dtype):
        """A copy in another dtype; differentiable between float32 and float64 (the gradient is cast back)."""
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if self.requires_grad and dtype not in _FLOATS:
            raise TypeError(f"to: cannot cast a tensor that requires grad to {dtype}; detach() it first")
        return CastFn.apply(self, dtype)

    # ---- arithmetic --------------------------------------------------------------------------------
    def _pair(self, other, op):
        """(self, other) as operands of one dtype: the fast path when other is a Tensor of self's dtype."""
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            return self, other
        return _promote(self, other, op)

    __add__, __radd__ = _binary(AddFn, "add")
    __sub__, __rsub__ = _binary(SubFn, "sub")
    __mul__, __rmul__ = _binary(MulFn, "mul")

    def __truediv__(self, other):
        a, b = _promote(self, other, "div", floating=True)
        return DivFn.apply(a, b)

    def __rtruediv__(self, other):
        a, b = _promote(self, other, "div", floating=True)
        return DivFn.apply(b, a)

    def __pow__(self, p):
        if isinstance(p, Tensor):
            a, b = self._pair(p, "pow")
            return PowTensorFn.apply(a, b)
        if not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"pow: the exponent must be a number or a Tensor, got {type(p).__name__}")
        if self._data.dtype.kind in "ib" and (p < 0 or isinstance(p, (float, np.floating))):
            return PowFn.apply(self.float(), p)  # as PyTorch: int ** -1 or ** 0.5 is a float result
        return PowFn.apply(self, p)

    def __rpow__(self, base):
        a, b = self._pair(base, "pow")
        return PowTensorFn.apply(b, a)

    __neg__ = _unary(NegFn)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            other = Tensor(other)
        if other._data.dtype is not self._data.dtype and other._data.dtype != self._data.dtype:  # `is`: the quick test
            raise TypeError(f"matmul: dtypes differ: {self.dtype} {self.shape} @ {other.dtype} {other.shape} "
                            f"(convert one with .float() or .double())")
        return _linalg.MatmulFn.apply(self, other)

    def __rmatmul__(self, other):
        return Tensor(other).__matmul__(self)

    def matmul(self, other):
        return self @ other

    # Python conversions of one-element tensors
    def __bool__(self):
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous (shape {self.shape}); "
                               "use .numpy().any() or .numpy().all()")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only a one-element integer tensor can be used as an index, got {self.dtype} "
                            f"of shape {self.shape}")
        return int(self._data)

    # Comparisons are elementwise, as in PyTorch: they broadcast against a Tensor, an array, a list or a
    # number and give a bool tensor (no gradient). Anything else is NotImplemented, so == falls back to
    # identity (t == None is False). Hashing stays by identity (id), so tensors work as dict keys and in
    # sets; Python checks identity before __eq__, so `p in [tensors]` finds the same object, but it would
    # compare values against the others: look tensors up by id() or `is` in library code.
    def _cmp(self, other, fn):
        if isinstance(other, Tensor):
            other = other._data
        elif not isinstance(other, _COMPARABLE):
            return NotImplemented
        return Tensor._wrap(np.asarray(fn(self._data, other)), False)

    __lt__ = _comparison(np.less)
    __le__ = _comparison(np.less_equal)
    __gt__ = _comparison(np.greater)
    __ge__ = _comparison(np.greater_equal)
    __eq__ = _comparison(np.equal)
    __ne__ = _comparison(np.not_equal)

    def eq(self, other):
        return self._cmp_method(other, np.equal, "eq")

    def ne(self, other):
        return self._cmp_method(other, np.not_equal, "ne")

    def _cmp_method(self, other, fn, name):
        r = self._cmp(other, fn)
        if r is NotImplemented:
            raise TypeError(f"{name}: cannot compare a Tensor with {type(other).__name__}")
        return r

    __hash__ = object.__hash__

    # ---- elementwise math --------------------------------------------------------------------------
    exp = _unary(ExpFn)
    log = _unary(LogFn)
    sqrt = _unary(SqrtFn)
    abs = _unary(AbsFn)
    __abs__ = abs

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        return ClipFn.apply(self, min, max)

    clamp = clip

    relu = _unary(ReLUFn)

    def leaky_relu(self, negative_slope=0.01):
        return LeakyReLUFn.apply(self, negative_slope)

    sigmoid = _unary(SigmoidFn)
    tanh = _unary(TanhFn)
    softplus = _unary(SoftplusFn)

    def gelu(self, approximate="none"):
        return GELUFn.apply(self, approximate=approximate)

    def softmax(self, dim=-1):
        return _softmax(self, dim)

    def log_softmax(self, dim=-1):
        return _log_softmax(self, dim)

    # ---- reductions --------------------------------------------------------------------------------
    @staticmethod
    def _dim(dim, axis):
        if axis is not None:
            if dim is not None:
                raise TypeError("pass dim or axis (its alias), not both")
            dim = axis
        if isinstance(dim, list):
            dim = tuple(dim)
        return dim

    def _check_dim(self, dim, op):
        dims = () if dim is None else ((dim,) if isinstance(dim, int) else dim)
        for d in dims:
            if not -self.ndim <= d < max(self.ndim, 1):
                raise IndexError(f"{op}: dim {d} is out of range for a tensor of shape {self.shape}")

    def sum(self, dim=None, keepdim=False, axis=None):
        dim = self._dim(dim, axis)
        self._check_dim(dim, "sum")
        return SumFn.apply(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False, axis=None):
        dim = self._dim(dim, axis)
        self._check_dim(dim, "mean")
        return MeanFn.apply(self, dim, keepdim)

    def var(self, dim=None, keepdim=False, unbiased=True, axis=None):
        dim = self._dim(dim, axis)
        self._check_dim(dim, "var")
        return VarFn.apply(self, dim, keepdim, unbiased)

    def std(self, dim=None, keepdim=False, unbiased=True, axis=None):
        return self.var(dim, keepdim, unbiased, axis).sqrt()

    def max(self, dim=None, keepdim=False, axis=None):
        """The largest entry; with dim (an int), (values, indices) along dim, as PyTorch.

        Gradient with ties: over the whole tensor it is split evenly among the tied maxima (as
        PyTorch); along dim it goes to the entry the returned index names (the first maximum).
        """
        return self._extreme(MaxFn, np.argmax, "max", dim, keepdim, axis)

    def min(self, dim=None, keepdim=False, axis=None):
        """The smallest entry; with dim (an int), (values, indices) along dim. Ties as in max()."""
        return self._extreme(MinFn, np.argmin, "min", dim, keepdim, axis)

    def amax(self, dim=None, keepdim=False, axis=None):
        """Largest values over dim (an int or a tuple); the gradient is split evenly among ties."""
        return self._reduce_extreme(MaxFn, "amax", dim, keepdim, axis)

    def amin(self, dim=None, keepdim=False, axis=None):
        """Smallest values over dim (an int or a tuple); the gradient is split evenly among ties."""
        return self._reduce_extreme(MinFn, "amin", dim, keepdim, axis)

    def _reduce_extreme(self, op, name, dim, keepdim, axis):
        dim = self._dim(dim, axis)
        self._check_dim(dim, name)
        if self._data.size == 0:
            raise ValueError(f"{name}: the tensor of shape {self.shape} is empty")
        return op.apply(self, dim, keepdim)

    def _extreme(self, op, arg, name, dim, keepdim, axis):
        dim = self._dim(dim, axis)
        if dim is None:
            return self._reduce_extreme(op, name, None, keepdim, None)
        if isinstance(dim, tuple):
            raise TypeError(f"{name}: dim must be an int (for several axes use {'a' + name}())")
        if self._data.size == 0:
            raise ValueError(f"{name}: the tensor of shape {self.shape} is empty")
        src = self.reshape(1) if self.ndim == 0 else self
        d = _check_axis(dim, src.ndim, name)
        index = arg(src._data, axis=d, keepdims=True)
        values = TakeAlongDimFn.apply(src, index, d, keepdim)
        indices = Tensor._wrap(index if keepdim else np.squeeze(index, axis=d), False)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return ValuesIndices(values, indices)

    def any(self, dim=None, keepdim=False):
        """True where any entry (over dim, or all of them) is nonzero: a bool tensor."""
        return Tensor._wrap(np.asarray(np.any(self._data, axis=dim, keepdims=keepdim)), False)

    def all(self, dim=None, keepdim=False):
        """True where every entry (over dim, or all of them) is nonzero: a bool tensor."""
        return Tensor._wrap(np.asarray(np.all(self._data, axis=dim, keepdims=keepdim)), False)

    def argmax(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(np.argmax(self._data, axis=dim, keepdims=keepdim)).astype(np.int64), False)

    def argmin(self, dim=None, keepdim=False):
        return Tensor._wrap(np.asarray(np.argmin(self._data, axis=dim, keepdims=keepdim)).astype(np.int64), False)

    # ---- shape ------------------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ReshapeFn.apply(self, shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = _check_axis(start_dim, self.ndim, "flatten")
        e = _check_axis(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        merged = int(np.prod(self.shape[s:e + 1]))
        return self.reshape(self.shape[:s] + (merged,) + self.shape[e + 1:])

    def unsqueeze(self, dim):
        d = _check_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim=None):
        """Removes axes of size 1 (all of them, or only dim, which is left alone if its size is not 1)."""
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        if self.ndim == 0:
            _check_axis(dim, 1, "squeeze")
            return self
        d = _check_axis(dim, self.ndim, "squeeze")
        if self.shape[d] != 1:
            return self
        return self.reshape(self.shape[:d] + self.shape[d + 1:])

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise ValueError(f"permute: got {len(dims)} dims for a tensor of shape {self.shape}")
        return PermuteFn.apply(self, dims)

    def transpose(self, dim0=-2, dim1=-1):
        if self.ndim < 2:
            return self
        dim0 = _check_axis(dim0, self.ndim, "transpose")
        dim1 = _check_axis(dim1, self.ndim, "transpose")
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return PermuteFn.apply(self, tuple(dims))

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index._data
        elif isinstance(index, tuple):
            index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
        return GetItemFn.apply(self, index)


# ---- dtype promotion ---------------------------------------------------------------------------------
# Between tensors: float32 with float64 is a TypeError (no silent upcast: convert with .float() or
# .double()); an int64 or bool tensor with a floating one takes the floating dtype, as in PyTorch.
# A Python number takes the tensor's dtype (a float number with an integer tensor gives float32).

def _is_float(dt):
    return dt in _FLOATS


def _as_operand(x, op):
    """x as a Tensor (numbers become 0-d arrays of the dtype the caller picks later)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")


def _promote(t, other, op, floating=False):
    """(t, other) converted to one dtype by the rules above; floating=True also makes int operands float32."""
    if isinstance(other, (bool, int, float, np.number)) and not isinstance(other, np.ndarray):
        dt = t._data.dtype
        if floating or isinstance(other, (float, np.floating)):
            if not _is_float(dt):
                t, dt = t.to(np.float32), np.dtype(np.float32)
        elif dt == np.bool_ and not isinstance(other, (bool, np.bool_)):
            t, dt = t.to(np.int64), np.dtype(np.int64)
        return t, np.asarray(other, dtype=dt)
    other = _as_operand(other, op)
    da, db = t._data.dtype, other._data.dtype
    if da == db:
        target = da
    elif _is_float(da) and _is_float(db):
        raise TypeError(f"{op}: dtypes differ: {da} {t.shape} and {db} {other.shape} "
                        f"(no silent upcast; convert one with .float() or .double())")
    elif _is_float(da) or _is_float(db):
        target = da if _is_float(da) else db
    else:
        target = np.dtype(np.int64)
    if floating and not _is_float(target):
        target = np.dtype(np.float32)
    return t.to(target), other.to(target)


# ---- constructors ----------------------------------------------------------------------------------

def tensor(data, dtype=None, requires_grad=False):
    """A new tensor from a list, a number or an array (arrays keep float32/float64; see the module doc)."""
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    source = data._data if isinstance(data, Tensor) else data
    if isinstance(source, np.ndarray) and np.shares_memory(t._data, source):
        t._data = t._data.copy()  # like torch.tensor: never shares memory with the input
    return t


def from_numpy(array):
    """A tensor sharing memory with a float32/float64/int64/bool array."""
    return Tensor(array)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(dtype):
    dt = np.dtype(np.float32 if dtype is None else dtype)
    return dt


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_shape_arg(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(np.ones(_shape_arg(shape), _float_dtype(dtype)), requires_grad)


def full(shape, value, dtype=None, requires_grad=False):
    return Tensor(np.full(_shape_arg((shape,)), value, _float_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, generator=None):
    g = generator or _random.generator()
    return Tensor(g.standard_normal(_shape_arg(shape)).astype(_float_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, generator=None):
    g = generator or _random.generator()
    return Tensor(g.random(_shape_arg(shape)).astype(_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return Tensor(values.astype(dtype), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


# ---- functions over several tensors -----------------------------------------------------------------

def _check_axis(dim, ndim, op):
    """Raises IndexError unless -ndim <= dim < ndim (an axis of a tensor with ndim axes); returns dim % ndim."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for {ndim} axes (expected {-ndim} to {ndim - 1})")
    return int(dim) % ndim


def _same_float_dtype(tensors, op):
    dts = {t.dtype for t in tensors if t.dtype in _FLOATS}
    if len(dts) > 1:
        raise TypeError(f"{op}: dtypes differ: {[str(t.dtype) for t in tensors]}")


def cat(tensors, dim=0):
    """Joins tensors along an existing axis dim; their other axes must match."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    _same_float_dtype(tensors, "cat")
    _check_axis(dim, tensors[0].ndim, "cat")
    return CatFn.apply(dim, *tensors)


def stack(tensors, dim=0):
    """Joins tensors of one shape along a new axis dim."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    _same_float_dtype(tensors, "stack")
    _check_axis(dim, tensors[0].ndim + 1, "stack")
    return StackFn.apply(dim, *tensors)


def where(cond, a, b):
    """a where cond is True, else b (broadcast together); a or b may be a number. cond must be boolean."""
    cond = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: cond must be a boolean tensor or array, got {cond.dtype} of shape {cond.shape}")
    if isinstance(a, Tensor):
        a, b = a._pair(b, "where")
    elif isinstance(b, Tensor):
        b, a = b._pair(a, "where")
    else:
        a, b = tensor(a)._pair(b, "where")
    return WhereFn.apply(cond, a, b)


def matmul(a, b):
    return (a if isinstance(a, Tensor) else Tensor(a)) @ b


__all__ = ["Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "randn", "rand", "arange", "zeros_like",
           "ones_like", "randn_like", "rand_like", "cat", "stack", "where", "matmul", "is_grad_enabled"]

