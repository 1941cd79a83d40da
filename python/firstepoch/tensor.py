"""`Tensor`: a NumPy array plus what autograd needs (requires_grad, grad, the op that made it).

float32 is the default floating dtype (Python numbers and lists become float32, as in PyTorch);
NumPy arrays of float32, float64, int64, int32, int16, int8, uint8 and bool keep their dtype (as
torch.tensor); other integer arrays and Python int lists become int64; float16 is refused (deliberate:
our kernels have no half precision). Only floating tensors require grad.
Dtype rules of binary ops are torch.result_type's (see "dtype promotion" below): float32 with float64
gives float64, a Python number or a 0-d tensor counts only when of a higher category (bool < integer <
floating); / on integers gives float32; matmul does not promote (RuntimeError, as torch). max(dim)/min(dim) return (values, indices) as PyTorch; amax/amin return values only.
"""
import copy
import functools
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from . import _formats
from . import random as _random
from ._tensor_str import tensor_repr
from ._device import CPU as _CPU
from ._device import check_device as _check_device
from ._device import device as _device_cls
from .autograd import engine as _engine
from .autograd.engine import backward as _backward
from .autograd.function import TensorBase, bump_version, is_grad_enabled, share_version
from .autograd.function import _set_requires_grad
from .autograd.function import INPLACE_CHANGES as _changes
from .autograd.function import CAPTURE as _CAPTURE
from .autograd.function import capture_refuse as _capture_refuse
from .autograd.function import version as _version_of
from .ops import elementwise as _elementwise
from .ops import linalg as _linalg
from .ops import reduce as _reduce
from .ops.elementwise import (AbsFn, AddFn, CastFn, ClipFn, DivFn, ExpFn, GELUFn, LeakyReLUFn, LogFn, MulFn, NegFn,
                              PowFn, PowTensorFn, ReLUFn, SigmoidFn, SoftplusFn, SqrtFn, SubFn, TanhFn)
from .ops.elementwise import CosFn, Expm1Fn, Log1pFn, LogaddexpFn, MaximumFn, MinimumFn, RemainderFn, SinFn
from .ops.reduce import (CumsumFn, LogSumExpFn, MaxFn, MeanFn, MinFn, NormFn, ProdFn, StdFn, SumFn, TakeAlongDimFn,
                         VarFn)
from .ops import shape as _shape_ops
from .ops.dropout import ZeroGradFn, _NoDerivativeFn
from .ops.shape import SetItemFn
from .ops.shape import (CatFn, CloneFn, ExpandFn, FlipFn, GatherFn, GetItemFn, IndexSelectFn, PermuteFn, RepeatFn,
                        ReshapeFn, RollFn, ScatterFn, StackFn, WhereFn)
from .ops.softmax import log_softmax as _log_softmax
from .ops.softmax import softmax as _softmax

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# What a Tensor compares with elementwise (==, <, ...); other objects make == fall back to identity.
_COMPARABLE = (np.ndarray, np.generic, bool, int, float)  # not list/tuple: torch's t == [1, 2] is False

# What max(dim)/min(dim) return, as torch.return_types.max: unpacks as (values, indices).
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
_MinMax = namedtuple("aminmax", ["min", "max"])  # as torch.return_types.aminmax
_Histogram = namedtuple("histogram", ["hist", "bin_edges"])  # as torch.return_types.histogram
_Frexp = namedtuple("frexp", ["mantissa", "exponent"])  # as torch.return_types.frexp


_STORAGE = frozenset(np.dtype(d) for d in (np.float32, np.float64, np.int64, np.int32, np.int16, np.int8,
                                              np.uint8, np.bool_))


def _as_data(data, dtype=None):
    """data as a NumPy array of a storage dtype: float32, float64, int64, int32, int16, int8, uint8 or bool
    (as torch). float16 is refused (our kernels have no half precision); other integer arrays become
    int64; Python float lists become float32 and int lists int64."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.generic):
        data = np.asarray(data)  # a NumPy number keeps its dtype, as an array does (torch: np.float64(2) -> float64)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in _STORAGE:
            raise TypeError(f"tensor: dtype must be one of float32, float64, int64, int32, int16, int8, uint8, "
                            f"bool, got {dtype}")
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        if data.dtype in _STORAGE:
            return data
        kind = data.dtype.kind
        if kind in "iu":
            return data.astype(np.int64)
        if kind == "f":
            raise TypeError(f"tensor: {data.dtype} arrays are not supported; convert to float32 or float64")
        raise TypeError(f"tensor: cannot make a tensor from an array of dtype {data.dtype}")
    arr = np.asarray(data)
    if isinstance(data, (list, tuple)):
        typed = _sequence_dtype(data)
        if typed is not None and typed in _STORAGE and arr.dtype.kind in "biuf":
            return arr.astype(typed)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(_DEFAULT_FLOAT[0])
    if kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("Overflow when unpacking long long: a Python int above 2**63 - 1 in the data")
    if kind in "iu":
        return arr.astype(np.int64)
    if kind == "b":
        return arr
    raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} (dtype {arr.dtype})")


def _integer_pow(a, b):
    """a ** b for integer tensors (no gradient), as torch: a negative exponent gives 1 for a base of 1,
    +-1 for -1 (by the exponent's parity) and 0 otherwise (NumPy raises ValueError)."""
    x, e = a._data, b._data
    if e.size == 0 or e.min() >= 0:
        return Tensor._wrap(np.asarray(x ** e), False)
    with np.errstate(all="ignore"):
        positive = x ** np.maximum(e, 0)
    negative = np.where(x == 1, 1, np.where(x == -1, np.where(e % 2 == 0, 1, -1), 0)).astype(positive.dtype)
    return Tensor._wrap(np.asarray(np.where(e >= 0, positive, negative)), False)


def _check_number_fits(value, dtype, who):
    """torch's check of a Python number written into an integer tensor (x[i] = v, fill_, full): NaN,
    inf or a value out of the dtype's range is a RuntimeError, not the wrapped value NumPy writes.
    A float must lie in the range itself (255.7 does not fit uint8); an int in uint8 may be negative
    down to -255 (two's complement, as torch)."""
    if dtype.kind not in "iu" or isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return
    info = np.iinfo(dtype)
    if isinstance(value, (float, np.floating)):
        fits = math.isfinite(value) and info.min <= value <= info.max
    else:
        fits = value <= info.max and (value >= info.min if dtype.kind == "i" else -value <= info.max)
    if not fits:
        raise RuntimeError(f"{who}: value cannot be converted to type {dtype} without overflow: {value}")


def _sequence_dtype(data):
    """torch.tensor's dtype for a (nested) list holding NumPy numbers or Tensors: their dtypes and those
    of the Python numbers beside them (bool, int64, float32) promoted together ([np.float64(1), 2.0] is
    float64, [np.int32(1)] int32). None when the first entry is a Python number: the entries are then
    taken to be Python numbers (NumPy's inference, without a walk over a long list)."""
    leaf = data
    while isinstance(leaf, (list, tuple)) and leaf:
        leaf = leaf[0]
    if not isinstance(leaf, (np.generic, np.ndarray, Tensor)):
        return None
    result, stack = None, [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if isinstance(x, Tensor):
            dt = x._data.dtype
        elif isinstance(x, (np.generic, np.ndarray)):
            dt = x.dtype
        else:
            dt = _scalar_dtype(x)
        result = dt if result is None else _promote_types(result, dt)
    return result


def _size_mismatch(e):
    """torch's RuntimeError for operands whose shapes do not broadcast (NumPy raises ValueError), or e
    itself when it is some other ValueError."""
    if "could not be broadcast" in str(e):
        return RuntimeError(f"The size of tensor a must match the size of tensor b at each non-singleton "
                            f"dimension: {e}")
    return e


def _keepdim_needs_dim(int_dim):
    """A reduction method raising torch's TypeError for keepdim given without dim (x.sum(keepdim=True):
    no overload of torch's takes it); int_dim: also with dim=None given (prod, max, min, median: torch's
    dim there is an int, so None is no dim)."""
    def wrap(method):
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            named = "dim" in kwargs or "axis" in kwargs
            dim = args[0] if args else kwargs.get("dim", kwargs.get("axis"))
            if ("keepdim" in kwargs or len(args) > 1) and (not (args or named) or int_dim and dim is None):
                raise TypeError(f"{method.__name__}() received an invalid combination of arguments: keepdim "
                                f"without dim")
            return method(self, *args, **kwargs)
        return wrapped
    return wrap


def _broadcasting(method):
    """method with a shape mismatch of its operands raised as torch's RuntimeError (see _size_mismatch)."""
    def wrapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ValueError as e:
            raise _size_mismatch(e) from None
    wrapped.__name__, wrapped.__qualname__, wrapped.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return wrapped


def _binary(fn, op):
    """A binary operator and its reflected form (x + y and y + x) applying fn to both operands
    brought to one dtype (see _promote)."""
    def method(self, other):
        a, b = self._pair(other, op)
        try:
            return fn.apply(a, b)
        except ValueError as e:
            raise _size_mismatch(e) from None

    def reflected(self, other):
        a, b = self._pair(other, op)
        try:
            return fn.apply(b, a)
        except ValueError as e:
            raise _size_mismatch(e) from None
    return method, reflected


def _unary(fn):
    """A method without arguments that applies fn to the tensor (x.exp(), x.relu(), ...)."""
    def method(self):
        return fn.apply(self)
    method.__name__ = fn.__name__[:-2].lower()
    method.__qualname__ = "Tensor." + method.__name__
    return method


def _floating_unary(fn):
    """A method without arguments whose result is floating (x.exp(), x.sqrt(), ...): an integer or bool
    tensor is taken as float32 first, as torch (torch.tensor([1, 2]).exp() is float32)."""
    def method(self):
        return fn.apply(self._as_floating())
    method.__name__ = fn.__name__[:-2].lower()
    method.__qualname__ = "Tensor." + method.__name__
    return method


def _comparison(fn):
    """An elementwise comparison operator (x < y, ...): see Tensor._cmp."""
    def method(self, other):
        return self._cmp(other, fn)
    return method


def _inplace_form(name, binary=False):
    """x.name_(...) as x.name(...) written into x (torch's in-place forms of the pointwise ops); binary:
    the first argument is the other operand (recorded as such)."""
    if binary:
        def method(self, other, *args, **kwargs):
            return self._inplace(lambda t, o: getattr(t, name)(o, *args, **kwargs), other, name + "_")
    else:
        def method(self, *args, **kwargs):
            return self._inplace(lambda t, _: getattr(t, name)(*args, **kwargs), None, name + "_")
    method.__name__ = name + "_"
    method.__qualname__ = "Tensor." + method.__name__
    return method


def _refuse_copy():
    """Refused while a step is captured (firstepoch.capture): a Tensor copied from an array (a batch made a
    Tensor inside the step) is a copy outside the tape, and a replay would hand on this batch's values."""
    _capture_refuse("a Tensor copied from an array (tensor(), a dtype conversion) cannot be captured")


def _rebuild_tensor(cls, data, requires_grad):
    """A new leaf of class cls over data (copy.copy, copy.deepcopy and pickle's way back: a module-level
    name pickle can find)."""
    return cls._wrap(data, requires_grad)


class Tensor(TensorBase):
    # Slots (in TensorBase): data, grad, requires_grad, and _ctx: the Context of the op that made this
    # tensor (it holds the op and its inputs), None for a leaf.
    __slots__ = ()
    __array_priority__ = 1000  # numpy scalars/arrays on the left defer to Tensor's reflected ops

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = _as_data(data, dtype)
        if _CAPTURE[0] is not None and isinstance(data, (np.ndarray, np.generic, Tensor)):
            if self._data is not getattr(data, "_data", data):
                _refuse_copy()
        if requires_grad and self._data.dtype not in _FLOATS:
            raise RuntimeError(f"Only Tensors of floating point and complex dtype can require gradients, got "
                               f"dtype {self._data.dtype}")
        _set_requires_grad(self, bool(requires_grad))  # checked above
        self._grad = None
        self._ctx = None
        self._version = 0

    @classmethod
    def _wrap(cls, array, requires_grad):
        """A result of an op (no conversion: ops keep dtypes). Not while a step is captured
        (firstepoch.capture): the array was computed outside the ops that record their work (argmax, a
        comparison, ...), so a replay would hand on this batch's value; _alias wraps an existing array."""
        if _CAPTURE[0] is not None:
            _capture_refuse("a value computed outside the capturable ops (argmax, a comparison, a conversion, "
                            "...) cannot be captured")
        return cls._alias(array, requires_grad)

    @classmethod
    def _alias(cls, array, requires_grad):
        """array (already held elsewhere: .data, detach, a .grad) as a Tensor."""
        t = cls.__new__(cls)
        t._data = array
        _set_requires_grad(t, requires_grad)
        t._grad = None
        t._ctx = None
        t._version = 0
        return t

    # ---- basic properties ------------------------------------------------------------------------
    @property
    def data(self):
        """The values as a new Tensor that shares this one's memory and is cut from the graph (as
        torch.Tensor.data): what is done through it is not recorded. ``x.data = t`` swaps in t's values."""
        return Tensor._alias(self._data, False)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def grad(self):
        """The gradient backward accumulated here (a Tensor of this tensor's shape and dtype), or None.
        Read on a non-leaf that does not retain its gradient: None with torch's UserWarning."""
        if self._grad is None and self._ctx is not None and not _engine.retains_grad(self):
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                          "Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf "
                          "Tensor instead.", UserWarning, stacklevel=2)
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

    def __iter__(self):
        """The slices along the first axis, as torch (a 0-d tensor raises TypeError)."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __len__(self):
        return len(self._data)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"item: only a one-element tensor converts to a Python number, got shape "
                               f"{self.shape}")
        return self._data.item()

    def numpy(self, *, force=False):
        """The NumPy array (shares memory). A tensor that requires grad raises RuntimeError, as torch:
        say .detach().numpy(), or numpy(force=True)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        return self._data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __format__(self, spec):
        # as torch: a 0-d Tensor formats as its number (f"{loss}" is "0.25", f"{loss:.3f}" "0.250"); any
        # other formats as str() with an empty spec, and a spec is a TypeError (object.__format__)
        if self._data.ndim == 0 and type(self) is Tensor:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __contains__(self, element):
        """`element in t`: (t == element).any(), as torch; element a Tensor or a number (else
        RuntimeError, torch's class)."""
        if not isinstance(element, (Tensor, numbers.Number, np.number, np.bool_)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return bool((self == element).any().item())

    # copy.copy, copy.deepcopy and pickle, as torch: a copy is a new leaf with the requires_grad flag and
    # no history; copy.copy shares the memory, pickle and deepcopy copy it; deepcopy copies .grad too
    # (a Parameter's deepcopy leaves it None, as torch.nn.Parameter.__deepcopy__) and refuses a non-leaf.
    def __reduce_ex__(self, protocol):
        return _rebuild_tensor, (type(self), self._data, self.requires_grad)

    def __deepcopy__(self, memo):
        if self._ctx is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                               "because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        new = _rebuild_tensor(type(self), copy.deepcopy(self._data, memo), self.requires_grad)
        memo[id(self)] = new
        if self._grad is not None and self._deepcopy_grad:
            new._grad = copy.deepcopy(self._grad, memo)
        return new

    _deepcopy_grad = True  # nn.Parameter sets False: its deepcopy leaves .grad None, as torch's

    def detach(self):
        """The same values cut from the graph; shares memory and the version counter (as torch)."""
        return share_version(self, Tensor._alias(self._data, False), always=True)

    def detach_(self):
        """Cuts this tensor from the graph in place: it becomes a leaf that does not require grad (torch)."""
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, flag=True):
        self.requires_grad = flag  # the attribute's checks (_checked_requires_grad, below the class)
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
        return tensor_repr(self._data, None if self._ctx is None else self._ctx.fn.__name__, self.requires_grad)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def to(self, *args, **kwargs):
        """As torch.Tensor.to: to(dtype), to(device), to(device, dtype), to(other) (its dtype and
        device), to(dtype=..., device=...); non_blocking= and copy= accepted. Returns self when nothing
        changes (unless copy=True). A device other than the CPU raises (firstepoch is CPU-only). The
        dtype cast is differentiable between float32 and float64 (the gradient is cast back)."""
        if len(args) == 1 and not kwargs and isinstance(args[0], np.dtype):  # the promotions' quick path
            dtype, copy = args[0], False
        else:
            dtype, copy = _to_args(args, kwargs, "to")
            dtype = self._data.dtype if dtype is None else dtype
            fmt = _memory_format_kwarg(kwargs, "to")
            if _formats.channels_last_order(fmt, self.ndim, "to") is not None:  # as torch: the cast, then the layout
                cast = self if dtype == self._data.dtype and not copy else self.to(dtype, copy=copy)
                return cast.contiguous(memory_format=fmt)
        if dtype == self._data.dtype and not copy:
            return self
        if dtype not in _STORAGE:
            raise TypeError(f"to: dtype must be one of float32, float64, int64, int32, int16, int8, uint8, bool, "
                            f"got {dtype} (float16 is not supported)")
        if self.requires_grad and dtype not in _FLOATS:  # as torch: the result leaves the graph
            return Tensor._wrap(self._data.astype(dtype), False)
        return CastFn.apply(self, dtype)

    # ---- dtype casts (torch's names; issue 16) ------------------------------------------------------------
    # Casts to a non-floating dtype give a tensor outside the graph (as torch); float16 is not a storage
    # dtype here (our kernels have no half precision): .half() and .bfloat16() raise to()'s TypeError.
    def half(self, memory_format=None):
        return self.to(np.dtype(np.float16))

    def bfloat16(self, memory_format=None):
        raise TypeError("bfloat16: dtype must be one of float32, float64, int64, int32, int16, int8, uint8, bool "
                        "(bfloat16 is not supported)")

    def int(self):
        return self.to(np.dtype(np.int32))

    def short(self):
        return self.to(np.dtype(np.int16))

    def char(self):
        return self.to(np.dtype(np.int8))

    def byte(self):
        return self.to(np.dtype(np.uint8))

    def bool(self):
        return self.to(_BOOL)

    # ---- arithmetic --------------------------------------------------------------------------------
    def _pair(self, other, op):
        """(self, other) as operands of one dtype: the fast path when other is a Tensor of self's dtype."""
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            return self, other
        return _promote(self, other, op)

    __add__, __radd__ = _binary(AddFn, "add")
    __sub__, __rsub__ = _binary(SubFn, "sub")
    __mul__, __rmul__ = _binary(MulFn, "mul")

    @_broadcasting
    def __truediv__(self, other):
        a, b = _promote(self, other, "div", floating=True)
        return DivFn.apply(a, b)

    @_broadcasting
    def __rtruediv__(self, other):
        a, b = _promote(self, other, "div", floating=True)
        return DivFn.apply(b, a)

    @_broadcasting
    def __pow__(self, p):
        if isinstance(p, Tensor):
            a, b = self._pair(p, "pow")
            if a._data.dtype.kind in "iu":
                return _integer_pow(a, b)
            if a._data.dtype == _BOOL:  # torch.result_type(bool, bool) is bool, which has no pow kernel
                raise NotImplementedError(f"\"pow\" not implemented for 'Bool' (shapes {self.shape} ** {p.shape})")
            return PowTensorFn.apply(a, b)
        if not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"pow: the exponent must be a number or a Tensor, got {type(p).__name__}")
        if isinstance(p, np.generic):
            p = p.item()  # a NumPy number counts as a Python one (torch), so it promotes nothing (NEP 50 would)
        if self._data.dtype.kind in "iub":
            if isinstance(p, float):
                return PowFn.apply(self.to(_DEFAULT_FLOAT[0]), p)  # as PyTorch: int ** 0.5 is a float32 result
            if p < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            if self._data.dtype == _BOOL:
                if isinstance(p, bool):  # torch.result_type(bool, bool) is bool: x ** True is x, x ** False all True
                    return Tensor._wrap(self._data.copy() if p else np.ones_like(self._data), False)
                return PowFn.apply(self.to(_I64), p)  # as torch.result_type(bool, int): int64 (NumPy: int8)
        return PowFn.apply(self, p)

    @_broadcasting
    def __rpow__(self, base):
        a, b = self._pair(base, "pow")
        if a._data.dtype.kind in "iu":
            return _integer_pow(b if isinstance(b, Tensor) else Tensor._wrap(b, False), a)
        if a._data.dtype == _BOOL:  # True ** bool_tensor: bool has no pow kernel in torch
            raise NotImplementedError(f"\"pow\" not implemented for 'Bool' ({type(base).__name__} ** a tensor of "
                                      f"shape {self.shape})")
        return PowTensorFn.apply(b, a)

    __neg__ = _unary(NegFn)

    def __matmul__(self, other):
        """The matrix product with torch.matmul's broadcasting. Deliberate difference: float32 and
        float64 only (the kernels'), so integer tensors raise TypeError where torch computes; no
        promotion between the two floats (RuntimeError, as torch)."""
        if not isinstance(other, Tensor):
            other = Tensor(other)
        if other._data.dtype is not self._data.dtype and other._data.dtype != self._data.dtype:  # `is`: the quick test
            # as torch, matmul does not promote
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_torch_dtype_name(self._data.dtype)} != {_torch_dtype_name(other._data.dtype)} "
                               f"(shapes {self.shape} @ {other.shape})")
        return _linalg.MatmulFn.apply(self, other)

    def __rmatmul__(self, other):
        return Tensor(other).__matmul__(self)

    def matmul(self, other):
        return self @ other

    # the named forms of the operators, as torch.Tensor has them
    def _check_alpha(self, other, alpha):
        """torch's RuntimeError for an alpha (add, sub, rsub) the result's dtype cannot take: a float alpha
        with an integer result, a bool alpha with a non-bool one."""
        if isinstance(alpha, (bool, np.bool_)):
            if _result_type(self, other) != _BOOL:
                raise RuntimeError(f"Boolean alpha only supported for Boolean results (alpha={alpha!r}).")
        elif isinstance(alpha, (float, np.floating)) and _result_type(self, other).kind in "iub":
            raise RuntimeError(f"For integral input tensors, argument alpha must not be a floating point number "
                               f"(alpha={alpha!r}).")

    def _times_alpha(self, other, alpha, scaled=None):
        """alpha * scaled (other by default) for add/sub of self and other, alpha checked: a bool result stays
        bool, alpha acting as bool(alpha), as torch (bool + 2 * bool is a logical or, not int64)."""
        scaled = other if scaled is None else scaled
        if alpha == 1:
            return scaled
        if _result_type(self, other) == _BOOL:
            if alpha:
                return scaled
            return scaled & False if isinstance(scaled, Tensor) else False
        return scaled * alpha

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        if type(alpha) is not int or alpha != 1:  # (the common call passes no alpha: skip the check)
            self._check_alpha(other, alpha)
        return self + self._times_alpha(other, alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        if type(alpha) is not int or alpha != 1:
            self._check_alpha(other, alpha)
        return self - self._times_alpha(other, alpha)

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        """self / other (true division: integers give float32); rounding_mode "floor" rounds down as
        //, "trunc" rounds toward zero and keeps an integer dtype, as torch.div. A rounded float result
        of operands that require grad has a zero gradient (torch's DivBackward with a rounding mode)."""
        return self._div(other, rounding_mode, False)

    def _div(self, other, rounding_mode, reflected):
        """div(self, other), or div(other, self) when reflected (torch.div(number, tensor))."""
        if rounding_mode is None:
            return self.__rtruediv__(other) if reflected else self / other
        if rounding_mode not in ("floor", "trunc"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"'{rounding_mode}'")
        q = self._rounded_quotient(other, rounding_mode, reflected)
        params = [x for x in (self, other) if isinstance(x, Tensor)]
        if q._data.dtype.kind == "f" and is_grad_enabled() and any(x.requires_grad for x in params):
            return ZeroGradFn.apply(*params, values=q._data)
        return q

    @_broadcasting
    def _rounded_quotient(self, other, rounding_mode, reflected):
        """The quotient rounded down ("floor") or toward zero ("trunc"), outside the graph."""
        a, b = self._division_operands(other, "div", reflected)
        if rounding_mode == "floor":
            return a._floor_values(b)
        if a._data.dtype.kind in "iu":
            if not np.all(b._data):
                raise RuntimeError("ZeroDivisionError: integer division by zero in div(rounding_mode='trunc')")
            q = np.floor_divide(a._data, b._data)
            q = q + ((np.remainder(a._data, b._data) != 0) & ((a._data < 0) != (b._data < 0)))
            return Tensor._wrap(np.asarray(q, dtype=a._data.dtype), False)
        with np.errstate(divide="ignore", invalid="ignore"):
            return Tensor._wrap(np.asarray(np.trunc(a._data / b._data)), False)

    divide = div

    def true_divide(self, other):
        return self / other

    def neg(self):
        return -self

    negative = neg

    def square(self):
        """self * self (an integer tensor stays integer, as torch)."""
        return self ** 2

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def isnan(self):
        return Tensor._wrap(np.isnan(self._data), False)

    def isinf(self):
        return Tensor._wrap(np.isinf(self._data), False)

    def isfinite(self):
        return Tensor._wrap(np.isfinite(self._data), False)

    # Python conversions of one-element tensors
    def __bool__(self):
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous (shape {self.shape}); "
                               "use .numpy().any() or .numpy().all()")
        return bool(self._data)

    def __float__(self):
        return float(self._scalar_for("float"))

    def __int__(self):
        return int(self._scalar_for("int"))

    def __complex__(self):
        return complex(self._scalar_for("complex"))

    def _scalar_for(self, what):
        # torch: ValueError for float(t) / int(t) / complex(t) of several elements (item(): RuntimeError)
        if self._data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars ({what}() of a tensor of "
                             f"shape {self.shape})")
        return self._data.item()

    def __index__(self):
        # as torch: a one-element integer or bool tensor of any shape (tensor([3]) too)
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index, got "
                            f"{self.dtype} of shape {self.shape}")
        return int(self._data.item())

    # Comparisons are elementwise, as in PyTorch: they broadcast against a Tensor, an array or a number
    # and give a bool tensor (no gradient). Anything else is NotImplemented, so == falls back to identity
    # (t == None and t == [1, 2] are False, t < [1, 2] raises TypeError, as torch). Hashing stays by identity (id), so tensors work as dict keys and in
    # sets; Python checks identity before __eq__, so `p in [tensors]` finds the same object, but it would
    # compare values against the others: look tensors up by id() or `is` in library code.
    @_broadcasting
    def _cmp(self, other, fn):
        if not isinstance(other, _COMPARABLE + (Tensor,)):
            return NotImplemented
        a = self._data
        if isinstance(other, np.ndarray):
            other = Tensor._wrap(other, False)
        if isinstance(other, Tensor):
            b = other._data
            if b.dtype != a.dtype:  # compared in torch.result_type, as torch (uint8 < int64 0-d: in uint8)
                target = _result_type(self, other)
                a, b = a.astype(target, copy=False), b.astype(target, copy=False)
        elif a.dtype.kind == "f" and not isinstance(other, (np.bool_, np.number)):
            b = other  # the common case (x > 0.5): a Python number is a float32 one against float32
        else:  # a number: cast to the result type first, as torch (an out-of-range int wraps: uint8 < -2)
            target = _result_type(self, other)
            a = a.astype(target, copy=False)
            with np.errstate(over="ignore"):
                b = np.asarray(other).astype(target)
        return Tensor._wrap(np.asarray(fn(a, b)), False)

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
    exp = _floating_unary(ExpFn)
    log = _floating_unary(LogFn)
    sqrt = _floating_unary(SqrtFn)
    def abs(self):
        if self._data.dtype == _BOOL:  # NumPy's abs passes bool through; torch has no bool kernel
            raise NotImplementedError(f"\"abs_cpu\" not implemented for 'Bool' (shape {tuple(self.shape)})")
        return AbsFn.apply(self)

    __abs__ = abs

    def clip(self, min=None, max=None):
        """self limited to [min, max] (either may be None); an integer tensor with a float bound gives
        float32, as torch.result_type says."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        x = self
        bounds = [b for b in (min, max) if b is not None]
        if any(isinstance(b, Tensor) for b in bounds):  # torch.result_type of all three: bounds cast to it
            target = _result_type(self, *bounds)
            shape = np.broadcast_shapes(self.shape, *(np.shape(b._data if isinstance(b, Tensor) else b)
                                                      for b in bounds))
            if shape != self.shape:  # torch's class and message (the result keeps the input's shape)
                raise RuntimeError(f"clamp: output with shape {list(self.shape)} doesn't match the broadcast "
                                   f"shape {list(shape)} (of the input and the min/max bounds)")
            if any(isinstance(b, Tensor) and b.requires_grad for b in bounds) and is_grad_enabled():
                return self._clamp_tensor_bounds(min, max, target)
            x = self.to(target)
            min, max = (b._data.astype(target) if isinstance(b, Tensor) else b for b in (min, max))
        elif self._data.dtype.kind != "f" and any(isinstance(b, (float, np.floating)) for b in bounds):
            x = self.to(_DEFAULT_FLOAT[0])
        return ClipFn.apply(x, min, max)

    clamp = clip

    def _clamp_tensor_bounds(self, min, max, target):
        """clamp with a bound that requires grad, as torch's clamp_backward_min_max: the gradient goes to
        self where min <= self <= max, to min where self < min < max, to max where self > max or
        max < min (none where min == max > self, nor at a NaN)."""
        x = self.to(target)
        lo = min.to(target) if isinstance(min, Tensor) else min
        hi = max.to(target) if isinstance(max, Tensor) else max
        xd = x.detach()
        value = xd.clip(lo.detach() if isinstance(lo, Tensor) else lo, hi.detach() if isinstance(hi, Tensor) else hi)
        if lo is None:
            return where(xd > hi, hi, where(xd <= hi, x, value))
        if hi is None:
            return where(xd < lo, lo, where(xd >= lo, x, value))
        lod = lo.detach() if isinstance(lo, Tensor) else lo
        hid = hi.detach() if isinstance(hi, Tensor) else hi
        to_hi = (xd > hid) | (lod > hid)
        to_lo = (xd < lod) & (lod < hid)
        return where(to_hi, hi, where(to_lo, lo, where((xd >= lod) & (xd <= hid), x, value)))

    relu = _unary(ReLUFn)

    def leaky_relu(self, negative_slope=0.01):
        return LeakyReLUFn.apply(self, negative_slope)

    sigmoid = _floating_unary(SigmoidFn)
    tanh = _floating_unary(TanhFn)

    def softplus(self, beta=1.0, threshold=20.0):
        """log(1 + exp(beta x)) / beta, x where beta x > threshold (F.softplus; torch has no such method)."""
        return SoftplusFn.apply(self, beta, threshold)

    def gelu(self, approximate="none"):
        if self._data.dtype.kind != "f":  # torch: NotImplementedError ("GeluKernelImpl" not implemented for 'Long')
            raise NotImplementedError(f'"gelu" not implemented for {self._data.dtype} input (floating tensors only, '
                                      f"as PyTorch)")
        return GELUFn.apply(self, approximate=approximate)

    def hardshrink(self, lambd=0.5):
        """self where |self| > lambd, else 0 (NaN stays NaN), as torch's Tensor.hardshrink and
        F.hardshrink (a composite: where passes the gradient to the entries kept)."""
        _elementwise._floating_only(self, "hardshrink_cpu")
        inside = (self >= -lambd).logical_and(self <= lambd)
        return where(inside, 0.0, self)

    # in-place activations and PReLU, the Tensor methods torch has (issue 17)
    def relu_(self):
        return self._inplace(lambda t, _: ReLUFn.apply(t), None, "relu_")

    def sigmoid_(self):
        return self._inplace(lambda t, _: SigmoidFn.apply(t), None, "sigmoid_")

    def tanh_(self):
        return self._inplace(lambda t, _: TanhFn.apply(t), None, "tanh_")

    def prelu(self, weight):
        return _elementwise.prelu(self, weight)

    def softmax(self, dim, dtype=None):
        """softmax along dim (required, as torch's method; F.softmax picks torch's implicit dim); dtype=
        casts the input to that dtype first, as torch."""
        return _softmax(self if dtype is None else self.to(dtype), dim)

    def log_softmax(self, dim, dtype=None):
        """log_softmax along dim (required, as torch's method); dtype= casts the input first, as torch."""
        return _log_softmax(self if dtype is None else self.to(dtype), dim)

    # ---- reductions --------------------------------------------------------------------------------
    @staticmethod
    def _dim(dim, axis):
        if axis is not None:
            if dim is not None:
                raise TypeError("pass dim or axis (its alias), not both")
            dim = axis
        if isinstance(dim, list):
            dim = tuple(dim)
        if dim == ():
            dim = None  # as torch's sum/mean/amax/var/norm: an empty dim list reduces over every axis
        return dim

    def _check_dim(self, dim, op):
        dims = () if dim is None else ((dim,) if isinstance(dim, int) else dim)
        n = max(self.ndim, 1)
        for d in dims:
            if not -n <= d < n:
                raise IndexError(f"{op}: dim {d} is out of range for a tensor of shape {self.shape}")
        if len({d % n for d in dims}) != len(dims):
            raise RuntimeError(f"{op}: a dim appears multiple times in the list of dims {list(dims)}")

    @_keepdim_needs_dim(False)
    def sum(self, dim=None, keepdim=False, axis=None, *, dtype=None):
        """Sum over dim (all axes by default, also for dim=()); bool and integer tensors sum to int64,
        as torch; dtype= casts the input to that dtype first."""
        dim = self._dim(dim, axis)
        self._check_dim(dim, "sum")
        if self._data.ndim == 0:
            dim = None  # a 0-d tensor: dim 0 or -1 names the tensor itself (as torch)
        if dtype is not None:
            x = self.to(dtype)
        else:
            x = self if self._data.dtype.kind == "f" or self._data.dtype == _I64 else self.to(_I64)
        return SumFn.apply(x, dim, keepdim)

    @_keepdim_needs_dim(False)
    def mean(self, dim=None, keepdim=False, axis=None, *, dtype=None):
        """Mean over dim (all axes by default, also for dim=()); floating tensors only (an integer
        tensor raises RuntimeError, as torch) unless dtype= names a floating dtype to cast to first."""
        if dtype is not None:
            dtype = _dtype(dtype, "mean")
            if dtype.kind != "f":
                raise RuntimeError(f"mean(): could not infer output dtype. Optional dtype must be either a "
                                   f"floating point or complex dtype. Got: {_torch_dtype_name(dtype)}")
            return self.to(dtype).mean(dim, keepdim, axis)
        dim = self._dim(dim, axis)
        self._check_dim(dim, "mean")
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {_torch_dtype_name(self._data.dtype)}")
        if self._data.ndim == 0:
            dim = None
        return MeanFn.apply(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        """Variance over dim with `correction` subtracted from the count (default 1, Bessel's; the legacy
        unbiased=False means 0), as torch.var; with too few entries the result is inf or nan. A bool
        as the first argument is torch's var(unbiased) overload."""
        return self._spread(VarFn, dim, unbiased, keepdim, correction, axis)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        """Standard deviation: sqrt of var() with the same arguments; its gradient is 0 where it is 0
        (as torch)."""
        return self._spread(StdFn, dim, unbiased, keepdim, correction, axis)

    def _spread(self, fn, dim, unbiased, keepdim, correction, axis):
        """var or std (fn: VarFn or StdFn) with torch.var's arguments."""
        if isinstance(dim, bool):
            if unbiased is not None:
                raise TypeError("var(unbiased) takes no second positional argument")
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        if isinstance(unbiased, bool) or unbiased is None:
            correction = (1 if unbiased is None or unbiased else 0) if correction is None else correction
        else:
            raise TypeError(f"var: unbiased must be a bool, got {type(unbiased).__name__}")
        if self._data.dtype not in _FLOATS:
            raise RuntimeError(f"std and var only support floating point and complex dtypes, got {self.dtype}")
        dim = self._reduce_dims(self._dim(dim, axis), "var")
        return fn.apply(self, dim, keepdim, correction=correction)

    @_keepdim_needs_dim(True)
    def max(self, dim=None, keepdim=False, axis=None, *, other=None):
        """The largest entry; with dim (an int), (values, indices) along dim, as PyTorch; with a
        Tensor (x.max(y)), the elementwise maximum.

        Gradient with ties: over the whole tensor it is split evenly among the tied maxima (as
        PyTorch); along dim it goes to the entry the returned index names (the first maximum).
        """
        if isinstance(dim, Tensor) or other is not None:
            return self.maximum(dim if other is None else other)
        return self._extreme(MaxFn, np.argmax, "max", dim, keepdim, axis)

    @_keepdim_needs_dim(True)
    def min(self, dim=None, keepdim=False, axis=None, *, other=None):
        """The smallest entry; with dim (an int), (values, indices) along dim; with a Tensor, the
        elementwise minimum. Ties as in max()."""
        if isinstance(dim, Tensor) or other is not None:
            return self.minimum(dim if other is None else other)
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
        self._check_nonempty_reduction(name, dim)
        return op.apply(self, dim, keepdim)

    def _check_nonempty_reduction(self, name, dim):
        """torch's errors for a max/min/argmax-like reduction over no entries: RuntimeError (IndexError
        for argmax/argmin) without dim, IndexError when an axis reduced has size 0. An empty tensor
        reduced along an axis of nonzero size gives an empty result."""
        if self._data.size != 0:
            return
        if dim is None:
            cls = IndexError if name.startswith("arg") else RuntimeError
            raise cls(f"{name}(): Expected reduction dim to be specified for input.numel() == 0 (shape "
                      f"{self.shape}). Specify the reduction dim with the 'dim' argument.")
        for d in (dim if isinstance(dim, tuple) else (dim,)):
            if self.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d % self.ndim} to have non-zero size "
                                 f"(shape {self.shape}).")

    def _extreme(self, op, arg, name, dim, keepdim, axis):
        if dim == () or dim == []:
            raise TypeError(f"{name}(): dim must be an int (for several axes use {'a' + name}())")
        dim = self._dim(dim, axis)
        if dim is None:
            self._check_nonempty_reduction(name, None)
            return _reduce.EvenlySplitFn.apply(self, op.pick)  # NaNs share the gradient, as ties (torch)
        if isinstance(dim, tuple):
            raise TypeError(f"{name}: dim must be an int (for several axes use {'a' + name}())")
        src = self.reshape(1) if self.ndim == 0 else self
        d = _check_axis(dim, src.ndim, name)
        self._check_nonempty_reduction(name, d)
        index = arg(src._data, axis=d, keepdims=True)
        values = TakeAlongDimFn.apply(src, index, d, keepdim)
        indices = Tensor._wrap(index if keepdim else np.squeeze(index, axis=d), False)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return ValuesIndices(values, indices)

    def any(self, dim=None, keepdim=False):
        """True where any entry over dim (an int, a tuple, or None: all) is nonzero: a bool tensor
        (uint8 for a uint8 tensor, as PyTorch)."""
        return self._any_all(np.any, "any", dim, keepdim)

    def all(self, dim=None, keepdim=False):
        """True where every entry over dim (an int, a tuple, or None: all) is nonzero: a bool tensor
        (uint8 for a uint8 tensor, as PyTorch)."""
        return self._any_all(np.all, "all", dim, keepdim)

    def _any_all(self, fn, name, dim, keepdim):
        dim = self._reduce_dims(dim, name)
        out = np.asarray(fn(self._data, axis=dim, keepdims=keepdim))
        return Tensor._wrap(out.astype(np.uint8) if self._data.dtype == np.uint8 else out, False)

    def argmax(self, dim=None, keepdim=False):
        """The index of the largest entry (of the flattened tensor without dim); the first one on ties."""
        return self._arg_extreme(np.argmax, "argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        """The index of the smallest entry (of the flattened tensor without dim); the first one on ties."""
        return self._arg_extreme(np.argmin, "argmin", dim, keepdim)

    def _arg_extreme(self, fn, name, dim, keepdim):
        if self._data.dtype == _BOOL:
            raise RuntimeError(f'"{name}_cpu" not implemented for \'Bool\'')
        if dim is not None:
            dim = _check_axis(dim, max(self.ndim, 1), name)
            if self.ndim == 0:
                dim = None
        self._check_nonempty_reduction(name, dim)
        return Tensor._wrap(np.asarray(fn(self._data, axis=dim, keepdims=keepdim)).astype(np.int64), False)

    # ---- shape ------------------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return share_version(self, ReshapeFn.apply(self, shape))

    def view(self, *shape):
        """self with a new shape, sharing memory where the layout allows (as torch.view). Deliberate
        difference: where it does not (x.t().view(-1)), torch raises RuntimeError and this copies, as
        reshape does; firstepoch's ops do not always leave the memory layout torch's would, so raising
        here could refuse code that works in torch. view(dtype) reinterprets the bytes (torch's rules:
        a different element size scales the last axis; not differentiable)."""
        if not shape:
            raise TypeError("view() received an invalid combination of arguments - got (), but expected one of: "
                            "(torch.dtype dtype), (tuple of ints size)")
        if len(shape) == 1 and (isinstance(shape[0], np.dtype) or (isinstance(shape[0], type)
                                                                   and issubclass(shape[0], np.generic))):
            return self._view_dtype(np.dtype(shape[0]))
        return self.reshape(*shape)

    def _view_dtype(self, dtype):
        old, new = self._data.dtype.itemsize, dtype.itemsize
        if old != new:
            if self.ndim == 0:
                raise RuntimeError(f"self.dim() cannot be 0 to view {self.dtype} as {dtype} (different element sizes)")
            if (self.shape[-1] * old) % new:
                raise RuntimeError(f"self.size(-1) must be divisible by {new // old if new > old else 1} to view "
                                   f"{self.dtype} as {dtype} (different element sizes), but got {self.shape[-1]}")
        data = self._data if self._data.flags.c_contiguous else self._data.copy()
        out = Tensor._wrap(data.view(dtype), False)
        if data is self._data:
            share_version(self, out)
        return out

    def flatten(self, start_dim=0, end_dim=-1):
        s = _check_axis(start_dim, max(self.ndim, 1), "flatten")  # as torch: a 0-d tensor has dims 0 and -1
        e = _check_axis(end_dim, max(self.ndim, 1), "flatten")
        if self.ndim == 0:
            return self.reshape(1)
        if s > e:  # torch's class
            raise RuntimeError(f"flatten() has invalid args: start_dim cannot come after end_dim (start_dim "
                               f"{start_dim}, end_dim {end_dim}, shape {self.shape})")
        merged = int(np.prod(self.shape[s:e + 1]))
        return self.reshape(self.shape[:s] + (merged,) + self.shape[e + 1:])

    def unsqueeze(self, dim):
        d = _check_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim=None):
        """Removes axes of size 1: all of them, or those in dim (an int or a tuple; an axis in dim
        whose size is not 1 is left alone)."""
        if isinstance(dim, (tuple, list)):
            dims = _dims_arg((tuple(dim),), max(self.ndim, 1), "squeeze")
            return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))
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
            raise RuntimeError(f"permute: got {len(dims)} dims for a tensor of shape {self.shape}")
        for d in dims:
            _check_axis(d, max(self.ndim, 1), "permute")  # torch's IndexError for a dim out of range
        return share_version(self, PermuteFn.apply(self, dims))

    def transpose(self, dim0=-2, dim1=-1):
        if self.ndim < 2:
            _check_axis(dim0, max(self.ndim, 1), "transpose")  # as torch: dims 0 and -1 only
            _check_axis(dim1, max(self.ndim, 1), "transpose")
            return self
        dim0 = _check_axis(dim0, self.ndim, "transpose")
        dim1 = _check_axis(dim1, self.ndim, "transpose")
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return share_version(self, PermuteFn.apply(self, tuple(dims)))

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        index = _index_data(index)
        return share_version(self, GetItemFn.apply(self, index))

    # ---- in-place ops (torch's rules: versions, leaves, rebasing) ----------------------------------------
    # An in-place op computes the new value with the ordinary recorded ops, then writes it into this
    # tensor's own memory (views of it see the change) and bumps the version counter it shares with
    # them. When the op is recorded (grad mode, and this tensor or the other operand requires grad), the
    # tensor's history moves onto it: the old value lives on in a copy (`old`) that the new op takes as
    # input, and the graph behind the other operand is pointed at that copy too. A recorded view made by
    # indexing (x[i]) changes its base through x[i] = new (torch's CopySlices). A backward that needs a
    # value changed since it was recorded raises (engine._check_versions).
    # Deliberate differences: an in-place change of a reshape/permute view of a tensor that requires grad
    # raises (torch rebases the base); a backward through an op recorded on x before x was changed in
    # place raises even when that op saved nothing of x (torch lets it through).

    def _inplace(self, compute, other=None, name="in-place op"):
        """Writes compute(old, other) (a Tensor) into self; other: the second operand, if any."""
        record = is_grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if record and self.requires_grad:
            if self._ctx is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            fn = self._ctx.fn
            if fn in _VIEW_FNS and self._data.base is not None:  # a view of its input's memory
                if fn is GetItemFn and _is_basic_index(self._ctx.index):
                    return self._inplace_through_base(compute, other, name)
                raise RuntimeError(f"{name}: this tensor is a view (reshape, permute, ...) of another tensor's "
                                   "memory and requires grad; firstepoch records in-place changes of indexed "
                                   "views (x[i]) only: use an out-of-place op, or clone() first")
        if record:
            old = Tensor._wrap(self._data.copy(), self.requires_grad)  # the value before, for the new op
            old._ctx = self._ctx
            old._version = _version_of(self)
            _redirect(other, self, old)
        else:
            old = self
        result = compute(old, old if other is self else other)  # (x.mul_(x): both operands are the old x)
        self._write(result._data, name)
        if record:
            if self._ctx is not None and _saved_shares(self._ctx, self._data):
                self._ctx.overwritten_by = name  # an op that saved this very array (its output) is now stale
            self._ctx = result._ctx
            self._ctx.out_version = _version_of(self)
            self._ctx.changes = _changes[0]  # after the bump: ops recorded before it see the shadow
            self._ctx.shadow = old
            _set_requires_grad(self, True)
        return self

    def _binary_inplace(self, compute, other, name):
        """_inplace for a pointwise binary op: torch.result_type(self, other) must cast to self's dtype (torch
        checks before it computes: int_tensor &= 1.5 is this RuntimeError, not the op's own error)."""
        if isinstance(other, (Tensor, bool, int, float, np.number, np.bool_)):
            dt = self._data.dtype
            if not (dt.kind == "f" and not isinstance(other, Tensor)):  # the common case: nothing to check
                _check_can_cast(_result_type(self, other), dt, name)
        return self._inplace(compute, other, name)

    def _write(self, value, name):
        """Copies value into this tensor's memory (torch's cast and shape rules) and bumps the version."""
        target = self._data
        if value.dtype != target.dtype:
            _check_can_cast(value.dtype, target.dtype, name)
        if value.shape != target.shape and np.broadcast_shapes(value.shape, target.shape) != target.shape:
            raise RuntimeError(f"{name}: output with shape {list(target.shape)} doesn't match the broadcast "
                               f"shape {list(np.broadcast_shapes(value.shape, target.shape))}")
        if not target.flags.writeable:
            raise RuntimeError(f"{name}: this tensor's memory is read-only (an expand() view or a read-only "
                               f"array); clone() it first")
        np.copyto(target, value, casting="unsafe")
        bump_version(self)

    def _inplace_through_base(self, compute, other, name):
        """self = base[index] (a recorded view) changed in place: base[index] = compute(base[index]) on the
        base, then self is that slice of the new base again (torch's CopySlices)."""
        base, index = self._ctx.parents[0], self._ctx.index
        if base.requires_grad and base._ctx is None and is_grad_enabled():
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        dtype = self._data.dtype

        def on_base(b, o):
            new = compute(GetItemFn.apply(b, index), o)
            return SetItemFn.apply(b, index, new if new._data.dtype == dtype else new.to(dtype))
        base._inplace(on_base, other, name)
        view = GetItemFn.apply(base, index)
        self._ctx = view._ctx
        _set_requires_grad(self, view.requires_grad)
        if self._ctx is not None:
            self._ctx.out_version = _version_of(self)
        return self

    def add_(self, other, alpha=1):
        if type(alpha) is not int or alpha != 1:  # torch's alpha checks, as add's (a bool alpha equals 1)
            self._check_alpha(other, alpha)
        if alpha != 1:
            other = other * alpha
        return self._binary_inplace(lambda t, o: t + o, other, "add_")

    def sub_(self, other, alpha=1):
        if type(alpha) is not int or alpha != 1:  # torch's alpha checks, as sub's (a bool alpha equals 1)
            self._check_alpha(other, alpha)
        if alpha != 1:
            other = other * alpha
        return self._binary_inplace(lambda t, o: t - o, other, "sub_")

    def mul_(self, other):
        return self._binary_inplace(lambda t, o: t * o, other, "mul_")

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self._binary_inplace(lambda t, o: t / o, other, "div_")
        return self._binary_inplace(lambda t, o: t.div(o, rounding_mode=rounding_mode), other, "div_")

    divide_ = div_

    def __iadd__(self, other):
        return self._binary_inplace(lambda t, o: t + o, other, "+=")

    def __isub__(self, other):
        return self._binary_inplace(lambda t, o: t - o, other, "-=")

    def __imul__(self, other):
        return self._binary_inplace(lambda t, o: t * o, other, "*=")

    def __itruediv__(self, other):
        return self._binary_inplace(lambda t, o: t / o, other, "/=")

    # The other augmented assignments: without these Python falls back to x = x ** 2, a new tensor, and
    # the aliases and views of x (which torch changes in place) would keep the old values.
    def __ipow__(self, other):
        return self._binary_inplace(lambda t, o: t ** o, other, "**=")

    def __ifloordiv__(self, other):
        return self._binary_inplace(lambda t, o: t // o, other, "//=")

    def __imod__(self, other):
        return self._binary_inplace(lambda t, o: t % o, other, "%=")

    def __iand__(self, other):
        return self._binary_inplace(lambda t, o: t & o, other, "&=")

    def __ior__(self, other):
        return self._binary_inplace(lambda t, o: t | o, other, "|=")

    def __ixor__(self, other):
        return self._binary_inplace(lambda t, o: t ^ o, other, "^=")

    def pow_(self, exponent):
        return self._binary_inplace(lambda t, o: t ** o, exponent, "pow_")

    def neg_(self):
        return self._inplace(lambda t, _: -t, None, "neg_")

    def abs_(self):
        return self._inplace(lambda t, _: t.abs(), None, "abs_")

    def exp_(self):
        return self._inplace(lambda t, _: t.exp(), None, "exp_")

    def sqrt_(self):
        return self._inplace(lambda t, _: t.sqrt(), None, "sqrt_")

    def log_(self):
        return self._inplace(lambda t, _: t.log(), None, "log_")

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda t, _: t.clamp(min, max), None, "clamp_")

    clip_ = clamp_

    def tril_(self, diagonal=0):
        return self._inplace(lambda t, _: t.tril(diagonal), None, "tril_")

    def triu_(self, diagonal=0):
        return self._inplace(lambda t, _: t.triu(diagonal), None, "triu_")

    def cumsum_(self, dim, dtype=None):
        """The running sum along dim, written into self (torch: an int tensor keeps its dtype)."""
        if self._data.dtype == _BOOL and dtype is None:  # torch has no bool kernel to write the sum with
            raise NotImplementedError(f"\"cumsum_out_cpu\" not implemented for 'Bool' (shape {self.shape})")
        return self._inplace(lambda t, _: t.cumsum(dim, dtype=dtype), None, "cumsum_")

    def floor_divide_(self, other):
        return self._binary_inplace(lambda t, o: t // o, other, "floor_divide_")

    def remainder_(self, other):
        return self._binary_inplace(lambda t, o: t % o, other, "remainder_")

    def true_divide_(self, other):
        return self._binary_inplace(lambda t, o: t / o, other, "true_divide_")

    def _assign(self, index, value, name):
        """self[index] = value (a Tensor of self's dtype, or an array), recorded as SetItemFn."""
        return self._inplace(lambda t, v: SetItemFn.apply(t, index, v), value, name)

    def copy_(self, src, non_blocking=False):
        """Writes src (broadcast to this shape, cast to this dtype) into this tensor; differentiable to src.
        As torch: src a Tensor or a number (else TypeError); non_blocking changes nothing."""
        if isinstance(src, (numbers.Number, np.number, np.bool_)):
            src = tensor(src)
        elif not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
        try:
            fits = np.broadcast_shapes(src.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast to "
                               f"{list(self.shape)}")
        return self._assign((Ellipsis,), _cast_value(src, self._data.dtype), "copy_")

    def _fill(self, values, name):
        return self._assign((Ellipsis,), np.asarray(values).astype(self._data.dtype, copy=False), name)

    def zero_(self):
        return self._fill(0, "zero_")

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim != 0:  # torch's check and words
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                                   f"dimensions.")
            if value.requires_grad and is_grad_enabled():  # differentiable to the value, as torch
                return self._inplace(lambda t, v: _cast_value(v, t._data.dtype).expand(t.shape), value, "fill_")
            value = value.item()
        elif not isinstance(value, (numbers.Number, np.number, np.bool_)):
            raise TypeError(f"fill_(): argument 'value' (position 1) must be Number or Tensor, not "
                            f"{type(value).__name__}")
        _check_number_fits(value, self._data.dtype, "fill_")
        return self._fill(value, "fill_")

    def _check_random_fill(self, name):
        if self._data.dtype not in _FLOATS:  # as torch (NumPy would round the draws into the integers)
            raise NotImplementedError(f'"{name}" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')

    def normal_(self, mean=0.0, std=1.0, generator=None):
        self._check_random_fill("normal_")
        if not std >= 0:
            raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
        g = _random.as_generator(generator, "normal_")
        return self._fill(g.normal(mean, std, self.shape), "normal_")

    def exponential_(self, lambd=1.0, generator=None):
        """Fills with draws from Exponential(lambd) (NumPy's stream), as torch: lambd > 0, floating only."""
        if self._data.dtype not in _FLOATS:
            raise RuntimeError(f"exponential_: Exponential distribution is a continuous probability distribution. "
                               f"dtype must be a floating point but you specified {self._data.dtype}")
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        g = _random.as_generator(generator, "exponential_")
        return self._fill(g.exponential(1.0 / lambd, self.shape), "exponential_")

    def random_(self, *args, to=None, generator=None):
        """Fills with integers drawn uniformly, as torch: random_() from [0, 2**mantissa] for floats ([0, max]
        for integers, {0, 1} for bool), random_(to) from [0, to), random_(from, to) from [from, to)."""
        if len(args) > 2 or (len(args) == 2 and to is not None):
            raise TypeError("random_(): expected random_(), random_(to) or random_(from, to)")
        frm = 0
        if len(args) == 2:
            frm, to = args
        elif len(args) == 1:
            if to is None:
                to = args[0]
            else:
                frm = args[0]
        dt = self._data.dtype
        if to is None:
            to = (2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind == "f" else 2 if dt.kind == "b"
                  else int(np.iinfo(dt).max) + 1)
        for name, v in (("from", frm), ("to", to)):
            if not isinstance(v, (int, np.integer)):
                raise TypeError(f"random_(): argument '{name}' must be int, not {type(v).__name__}")
        if frm >= to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={frm} >= to={to}")
        g = _random.as_generator(generator, "random_")
        return self._fill(g.integers(frm, to, self.shape, dtype=np.int64), "random_")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        self._check_random_fill("uniform_")
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
        g = _random.as_generator(generator, "uniform_")
        return self._fill(g.uniform(a, b, self.shape), "uniform_")

    def __setitem__(self, index, value):
        """x[index] = value, as torch: value (a number, array or Tensor) is broadcast to x[index] and cast
        to x's dtype as copy_ casts (2.7 into int64 is 2); recorded (SetItemFn) when x or value requires
        grad."""
        index = _index_data(index)
        _check_number_fits(value, self._data.dtype, "setitem")
        ctx = value._ctx if isinstance(value, Tensor) else None
        if (ctx is not None and ctx.fn is GetItemFn and ctx.parents[0] is self and _is_basic_index(index)
                and _same_basic_index(ctx.index, index)):
            return  # x[i] op= v: the view's in-place op already wrote x[i] (through x): nothing left to do
        value = _cast_value(value if isinstance(value, Tensor) else np.asarray(value), self._data.dtype)
        self._assign(index, value, "setitem")

    # ---- devices, views and elementwise extremes (the module surface torch scripts use) -------------
    @property
    def device(self):
        """Always firstepoch.device("cpu"): firstepoch runs on the CPU only."""
        return _CPU

    @property
    def is_cuda(self):
        return False

    def cpu(self):
        """Returns self (every tensor is on the CPU), as torch does for a CPU tensor."""
        return self

    def cuda(self, device=None, non_blocking=False):
        """Raises RuntimeError: firstepoch runs on the CPU only (torch without CUDA raises too)."""
        raise RuntimeError("cuda: firstepoch runs on the CPU only (no CUDA device); keep tensors on "
                           "'cpu' (firstepoch.cuda.is_available() is False)")

    def view_as(self, other):
        """This tensor reshaped to other's shape."""
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def swapaxes(self, axis0, axis1):
        """An alias of transpose(axis0, axis1), as torch."""
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def nelement(self):
        """The number of elements (an alias of numel, as torch)."""
        return self._data.size

    def log10(self):
        return self.log() * (1.0 / math.log(10.0))

    def log2(self):
        return self.log() * (1.0 / math.log(2.0))

    def maximum(self, other):
        """Elementwise larger of two tensors (broadcast; PyTorch's promotion). NaN wins, as torch.
        Where the two are equal the gradient is split evenly between them, as torch."""
        return self._extremum(other, MaximumFn, "maximum")

    def minimum(self, other):
        """Elementwise smaller of two tensors; ties and NaN as maximum()."""
        return self._extremum(other, MinimumFn, "minimum")

    @_broadcasting
    def _extremum(self, other, fn, name):
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
        a, b = self._pair(other, name)
        return fn.apply(a, b)

    # ---- more methods (ported code) ------------------------------------------------------------------
    # Operators and methods ported PyTorch code uses (issue 16), with PyTorch's results, dtypes and
    # error classes. Composites are written from the ops above; new differentiable ops are Functions in
    # ops/elementwise.py, ops/reduce.py and ops/shape.py.

    # bitwise operators: bool and integer tensors only (a float operand raises, as PyTorch)
    @_broadcasting
    def _bitwise(self, other, fn, name):
        if isinstance(other, (float, np.floating)) or _is_float(self._data.dtype) or (
                isinstance(other, Tensor) and _is_float(other._data.dtype)):
            raise NotImplementedError(f"{name}: only bool and integer tensors, got {self.dtype} and "
                                      f"{other.dtype if isinstance(other, Tensor) else type(other).__name__}")
        a, b = self._pair(other, name)
        return Tensor._wrap(np.asarray(fn(a._data, b._data if isinstance(b, Tensor) else b)), False)

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "bitwise_and")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "bitwise_or")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # commutative
    bitwise_and, bitwise_or, bitwise_xor = __and__, __or__, __xor__

    # shifts: integer tensors (a bool one with an int promotes, as torch); torch's results past the width:
    # a left shift by a negative amount or by the width or more gives 0, a right shift the sign (0 or -1)
    @_broadcasting
    def _shift(self, other, left, reflected=False):
        name = "lshift" if left else "rshift"
        if isinstance(other, (float, np.floating)) or _is_float(self._data.dtype) or (
                isinstance(other, Tensor) and _is_float(other._data.dtype)):
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Float' ({self.dtype} and "
                                      f"{other.dtype if isinstance(other, Tensor) else type(other).__name__})")
        if not isinstance(other, (Tensor, int, np.integer, np.bool_)):
            return NotImplemented
        a, b = self._pair(other, name)
        x = a._data
        n = np.asarray(b._data if isinstance(b, Tensor) else b).astype(x.dtype)
        if reflected:
            x, n = n, x
        if x.dtype == np.bool_:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
        bits = x.dtype.itemsize * 8
        wide = n.astype(np.int64)
        past = (wide < 0) | (wide >= bits)
        amount = np.where(past, 0, n).astype(x.dtype)
        if left:
            out = np.where(past, np.zeros((), x.dtype), np.left_shift(x, amount))
        else:
            out = np.where(past, np.where(x < 0, -1, 0).astype(x.dtype), np.right_shift(x, amount))
        return Tensor._wrap(np.asarray(out, dtype=x.dtype), False)

    def __lshift__(self, other):
        return self._shift(other, True)

    def __rshift__(self, other):
        return self._shift(other, False)

    def __rlshift__(self, other):
        return self._shift(other, True, reflected=True)

    def __rrshift__(self, other):
        return self._shift(other, False, reflected=True)

    def __ilshift__(self, other):
        return self._binary_inplace(lambda t, o: t << o, other, "<<=")

    def __irshift__(self, other):
        return self._binary_inplace(lambda t, o: t >> o, other, ">>=")

    bitwise_left_shift, bitwise_right_shift = __lshift__, __rshift__

    def bitwise_left_shift_(self, other):
        return self.__ilshift__(other)

    def bitwise_right_shift_(self, other):
        return self.__irshift__(other)

    def where(self, condition, other):
        """torch.where(condition, self, other) (Tensor.where's argument order)."""
        return where(condition, self, other)

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"~ (operator.invert) is only implemented on integer and bool tensors, got {self.dtype}")
        return Tensor._wrap(np.invert(self._data), False)

    bitwise_not = __invert__

    # floor division and remainder, Python's (and PyTorch's) rounding: the remainder has the divisor's sign
    def _division_operands(self, other, name, reflected=False):
        a, b = self._pair(other, name)
        if not isinstance(b, Tensor):
            b = Tensor._wrap(b, False)
        if a._data.dtype == np.bool_:
            raise NotImplementedError(f"{name}: not implemented for bool tensors")
        return (b, a) if reflected else (a, b)

    def _floor_values(self, b):
        """floor(self / b) of two operands of one dtype, outside the graph."""
        if self._data.dtype.kind in "iu" and not np.all(b._data):
            raise RuntimeError(f"floor_divide: integer division by zero (divisor of shape {b.shape})")
        with np.errstate(divide="ignore", invalid="ignore"):
            return Tensor._wrap(np.asarray(np.floor_divide(self._data, b._data)), False)

    @_broadcasting
    def _floor_divide(self, other, reflected):
        a, b = self._division_operands(other, "floor_divide", reflected)
        q = a._floor_values(b)
        if q._data.dtype.kind == "f" and is_grad_enabled() and (a.requires_grad or b.requires_grad):
            return _NoDerivativeFn.apply(a, b, values=q._data, name="floor_divide")
        return q

    def __floordiv__(self, other):
        """Floor division (torch.floor_divide). As torch, a float result of operands that require grad
        requires grad and its backward raises RuntimeError (floor_divide has no derivative; div with
        rounding_mode="floor" has a zero one)."""
        return self._floor_divide(other, False)

    def __rfloordiv__(self, other):
        return self._floor_divide(other, True)

    floor_divide = __floordiv__

    @_broadcasting
    def __mod__(self, other):
        return RemainderFn.apply(*self._division_operands(other, "remainder"))

    @_broadcasting
    def __rmod__(self, other):
        return RemainderFn.apply(*self._division_operands(other, "remainder", reflected=True))

    remainder = __mod__

    # comparison methods (the operators are above) and logical ops: bool results, broadcasting
    def lt(self, other):
        return self._cmp_method(other, np.less, "lt")

    def le(self, other):
        return self._cmp_method(other, np.less_equal, "le")

    def gt(self, other):
        return self._cmp_method(other, np.greater, "gt")

    def ge(self, other):
        return self._cmp_method(other, np.greater_equal, "ge")

    less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne

    @_broadcasting
    def _logical(self, other, fn, name):
        if not isinstance(other, Tensor):  # torch takes no number here (a bool included)
            raise TypeError(f"{name}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return Tensor._wrap(np.asarray(fn(self._data, other._data)), False)

    def logical_and(self, other):
        return self._logical(other, np.logical_and, "logical_and")

    def logical_or(self, other):
        return self._logical(other, np.logical_or, "logical_or")

    def logical_xor(self, other):
        return self._logical(other, np.logical_xor, "logical_xor")

    def logical_not(self):
        return Tensor._wrap(np.logical_not(self._data), False)

    # in-place comparisons and logical ops, as torch's gt_ ...: the truth values written in self's dtype
    # (1 / 0, True / False), other broadcast to self's shape; recorded with a zero gradient (ZeroGradFn)
    # when an operand requires grad, as torch's GtBackward
    def _compare_inplace(self, other, method, name):
        def compute(t, o):
            truth = getattr(t, method)(o) if o is not None else getattr(t, method)()
            values = truth._data.astype(t._data.dtype)
            operands = (t, o)
            if _records_zero_grad(operands):
                return ZeroGradFn.apply(*(x for x in operands if isinstance(x, Tensor)), values=values)
            return Tensor._wrap(values, False)
        return self._inplace(compute, other, name)

    def eq_(self, other):
        return self._compare_inplace(other, "eq", "eq_")

    def ne_(self, other):
        return self._compare_inplace(other, "ne", "ne_")

    def lt_(self, other):
        return self._compare_inplace(other, "lt", "lt_")

    def le_(self, other):
        return self._compare_inplace(other, "le", "le_")

    def gt_(self, other):
        return self._compare_inplace(other, "gt", "gt_")

    def ge_(self, other):
        return self._compare_inplace(other, "ge", "ge_")

    less_, less_equal_, greater_, greater_equal_, not_equal_ = lt_, le_, gt_, ge_, ne_

    def logical_and_(self, other):
        return self._compare_inplace(other, "logical_and", "logical_and_")

    def logical_or_(self, other):
        return self._compare_inplace(other, "logical_or", "logical_or_")

    def logical_xor_(self, other):
        return self._compare_inplace(other, "logical_xor", "logical_xor_")

    def logical_not_(self):
        return self._compare_inplace(None, "logical_not", "logical_not_")

    # pointwise math: integer and bool tensors give float32, as PyTorch
    def _as_floating(self):
        return self if self._data.dtype in _FLOATS else self.to(_DEFAULT_FLOAT[0])

    def sin(self):
        return SinFn.apply(self._as_floating())

    def cos(self):
        return CosFn.apply(self._as_floating())

    def log1p(self):
        return Log1pFn.apply(self._as_floating())

    def expm1(self):
        return Expm1Fn.apply(self._as_floating())

    def pow(self, exponent):
        return self ** exponent

    # size and conversions
    def dim(self):
        return self._data.ndim

    ndimension = dim

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from data, in self's dtype unless dtype is given (as torch.Tensor.new_tensor)."""
        _check_cpu(device, "new_tensor")
        return tensor(data, dtype=self._data.dtype if dtype is None else dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        _check_cpu(device, "new_full")
        if not isinstance(size, (tuple, list)):  # torch takes a sequence here (new_zeros(2, 3) takes ints)
            raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type(size).__name__}")
        dt = self._data.dtype if dtype is None else np.dtype(dtype)
        return Tensor(np.full(_shape_arg((size,)), fill_value, dtype=dt), requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_arg(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_arg(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """As torch: uninitialised values (here zeros)."""
        return self.new_full(_shape_arg(size), 0, dtype, device, requires_grad)

    def type_as(self, other):
        """self in other's dtype; a cast to a non-floating dtype leaves the graph (as in PyTorch)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        if np.dtype(other.dtype) not in _FLOATS:
            return self.detach().to(other.dtype)
        return self.to(other.dtype)

    def clone(self, *, memory_format=_formats.preserve_format):
        """A copy in new memory; differentiable (the gradient passes through). channels_last (4-D) and
        channels_last_3d (5-D) give torch's channels-last strides; preserve_format (the default) and
        contiguous_format a C-contiguous copy (torch's preserve_format keeps a dense tensor's strides:
        README porting table)."""
        return _copy_in_order(self, _formats.channels_last_order(memory_format, self.ndim, "clone",
                                                                 _formats.preserve_format))

    def contiguous(self, memory_format=_formats.contiguous_format):
        """self when its memory is already laid out as memory_format says (C order for contiguous_format,
        torch's channels-last strides for channels_last / channels_last_3d), else a differentiable copy
        that is; preserve_format, as torch, only for a tensor that is C-contiguous already."""
        order = _formats.channels_last_order(memory_format, self.ndim, "contiguous")
        if _formats.is_contiguous_as(self._data, memory_format if order else _formats.contiguous_format):
            return self
        if memory_format is _formats.preserve_format:  # torch's, for a tensor it would have to copy
            raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
        return _copy_in_order(self, order)

    def is_contiguous(self, memory_format=_formats.contiguous_format):
        """Whether the strides step through memory without a gap in memory_format's axis order (C order by
        default; axes of size 1 ignored), as torch's."""
        return _formats.is_contiguous_as(self._data, memory_format)

    @property
    def layout(self):
        """firstepoch.strided: every Tensor is dense, with strides (torch.strided)."""
        return _formats.strided

    def t(self):
        """The transpose of a tensor with at most 2 axes (itself for 0-d and 1-d)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    # shape
    def expand(self, *sizes):
        """self broadcast to sizes (-1 keeps an axis's size); new axes go in front. A read-only
        broadcast view of the same memory, as torch.expand; backward sums over the broadcast axes."""
        sizes = _shape_arg(sizes, negative_ok=True)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                               f"to the number of dimensions in the tensor ({self.ndim}), shape {self.shape}")
        lead = len(sizes) - self.ndim
        shape = []
        for i, n in enumerate(sizes):
            old = self.shape[i - lead] if i >= lead else None
            if n == -1:
                if old is None:
                    raise RuntimeError(f"expand: the expanded size -1 isn't allowed in a leading, non-existing "
                                       f"dimension {i}")
                n = old
            elif old is not None and old != 1 and old != n:
                raise RuntimeError(f"expand: the expanded size of the tensor ({n}) must match the existing size "
                                   f"({old}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                                   f"Tensor sizes: {list(self.shape)}")
            shape.append(int(n))
        return ExpandFn.apply(self, tuple(shape))

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes, negative_ok=True)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
                               f"than number of dimensions of tensor ({self.ndim}, shape {self.shape})")
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"repeat: repeats must be non-negative, got {list(sizes)}")
        return RepeatFn.apply(self, tuple(int(n) for n in sizes))

    def _slice_along(self, d, start, stop):
        return self[(slice(None),) * d + (slice(start, stop),)]

    def split(self, split_size_or_sections, dim=0):
        """Pieces of split_size along dim (the last may be smaller), or of the sizes in a list; a tuple."""
        d = _check_axis(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                                   f"size at dimension {d}), but got split_sizes={sizes}")
        else:
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and n != 0):
                raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, and never negative; "
                                   f"got {size} for dimension size {n}")
            sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]  # an empty axis: one empty piece
        bounds = np.cumsum([0] + sizes)
        return tuple(self._slice_along(d, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]))

    def narrow(self, dim, start, length):
        """The view of length entries along dim from start (negative counts from the end), as torch."""
        d = _check_axis(dim, self.ndim, "narrow")
        n, start, length = self.shape[d], int(start), int(length)
        if not -n <= start <= n:
            raise IndexError(f"narrow(): start out of range (expected to be in range of [{-n}, {n}], but got "
                             f"{start})")
        start %= n if n else 1
        if length < 0 or start + length > n:
            raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return self._slice_along(d, start, start + length)

    def unfold(self, dimension, size, step):
        """The windows of `size` entries along `dimension`, every `step` entries, as a new last axis: shape
        (..., (n - size) // step + 1, ..., size), as torch. A differentiable copy here (torch: a view of
        the input's memory); the gradient sums overlapping windows back."""
        for name, v in (("dimension", dimension), ("size", size), ("step", step)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"unfold(): argument '{name}' must be int, not {type(v).__name__}")
        ndim = max(self.ndim, 1)  # a 0-d tensor unfolds as one entry along dim 0
        if not -ndim <= dimension < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got "
                             f"{dimension})")
        d = int(dimension) % ndim
        n = self.shape[d] if self.ndim else 1
        if size > n:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
        if size < 0:
            raise RuntimeError(f"size is {size} but must be >= 0")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        if self.ndim == 0:
            return self.reshape(1)[:int(size)]
        starts = np.arange((n - size) // step + 1) * int(step)
        windows = starts[:, None] + np.arange(int(size))[None, :]  # (count, size) indices along d
        return self[(slice(None),) * d + (windows,)].movedim(d + 1, -1)

    def select(self, dim, index):
        """The slice at index along dim, that axis removed (self[:, index] for dim 1), as torch."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = _check_axis(dim, self.ndim, "select")
        if not -self.shape[d] <= index < self.shape[d]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        return self[(slice(None),) * d + (int(index),)]

    def unflatten(self, dim, sizes):
        """dim split into the axes sizes (one may be -1), as torch."""
        d = _check_axis(dim, self.ndim, "unflatten")
        sizes = [int(s) for s in sizes]
        known = int(np.prod([s for s in sizes if s != -1]))
        n = self.shape[d]
        if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
            raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {d} ({n}) "
                               f"in the input tensor")
        sizes = [n // known if s == -1 else s for s in sizes]
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def _triangle(self, diagonal, lower, name):
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        n, m = self.shape[-2:]
        keep = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1, dtype=bool)
        return self.masked_fill(Tensor._wrap(~keep, False), 0)

    def tril(self, diagonal=0):
        """The lower triangle of the last two axes (entries j <= i + diagonal kept), others 0; differentiable."""
        return self._triangle(diagonal, True, "tril")

    def triu(self, diagonal=0):
        """The upper triangle of the last two axes (entries j >= i + diagonal kept), others 0; differentiable."""
        return self._triangle(diagonal, False, "triu")

    def chunk(self, chunks, dim=0):
        """At most chunks pieces of equal size ceil(n / chunks) along dim (as torch.chunk)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        d = _check_axis(dim, self.ndim, "chunk")
        n = self.shape[d]
        return self.split(-(-n // chunks), d) if n else self.split([0] * chunks, d)  # empty: chunks empty pieces

    def unbind(self, dim=0):
        """The slices along dim, that axis removed: a tuple."""
        if self.ndim == 0:
            raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
        d = _check_axis(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    def flip(self, *dims):
        if not dims:
            raise TypeError("flip() missing required argument 'dims'")
        dims = _dims_arg(dims, max(self.ndim, 1), "flip")
        return FlipFn.apply(self, dims if self.ndim else ())

    def roll(self, shifts, dims=None):
        if dims is None:
            if isinstance(shifts, (tuple, list)):
                if len(shifts) != 1:
                    raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
                shifts = shifts[0]
            return RollFn.apply(self, int(shifts), None)
        shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}")
        dims = tuple(_check_axis(d, max(self.ndim, 1), "roll") for d in dims)
        return RollFn.apply(self, tuple(int(s) for s in shifts), dims)

    # indexing along an axis
    def _index_arg(self, index, name, long_only=None):
        """index as an integer array; long_only: the error class torch raises for any dtype but int64
        (take, take_along_dim, index_copy: RuntimeError; index_fill: IndexError)."""
        index = index._data if isinstance(index, Tensor) else np.asarray(index)
        if long_only is not None and index.dtype != _I64:
            raise long_only(f"{name}(): Expected dtype int64 for index, got {index.dtype} (index of shape "
                            f"{index.shape})")
        if index.dtype.kind not in "iu":
            raise RuntimeError(f"{name}(): expected an int64 index, got {index.dtype}")
        return index

    def _check_along(self, dim, index, name):
        """dim as an axis of self (0-d counts as 1-d) after torch's checks of index against self."""
        d = _check_axis(dim, max(self.ndim, 1), name)
        if index.ndim != self.ndim and not (index.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(f"{name}(): index tensor must have the same number of dimensions as input "
                               f"tensor: index {index.shape}, input {self.shape}")
        src = self.shape or (1,)
        for i, (n, m) in enumerate(zip(index.shape, src)):
            if i != d and n > m:
                raise RuntimeError(f"{name}(): size does not match at dimension {i}: expected index "
                                   f"{list(index.shape)} to be no larger than self {list(self.shape)} apart "
                                   f"from dimension {d}")
        if index.size and (index.min() < 0 or index.max() >= src[d]):
            bad = index.min() if index.min() < 0 else index.max()
            raise RuntimeError(f"{name}(): index {bad} is out of bounds for dimension {d} with size {src[d]}")
        return d

    def gather(self, dim, index):
        """out[i][j] = self[index[i][j]][j] (dim 0, and so on), as torch.gather; differentiable."""
        index = self._index_arg(index, "gather")
        d = self._check_along(dim, index, "gather")
        if self.ndim == 0 or index.ndim == 0:  # (0-d with 0-d or 1-d: as 1-d, as torch)
            return GatherFn.apply(self.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)
        return GatherFn.apply(self, d, index)

    def scatter(self, dim, index, src=None, value=None):
        """Out of place: a copy of self with out[index[i][j]][j] = src[i][j] (dim 0, and so on) or a
        number (src a number, or value=). With repeated indices the last write wins (PyTorch leaves the
        winner unspecified). Differentiable wrt self and src."""
        index = self._index_arg(index, "scatter")
        if src is None and value is None:
            raise TypeError("scatter: give src (a Tensor or a number) or value")
        if src is None or not isinstance(src, Tensor):
            value = src if src is not None else value
            d = self._check_along(dim, index, "scatter")
            return ScatterFn.apply(self, d, index, None, value=np.asarray(value).astype(self._data.dtype))
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(f"scatter(): expected self.dtype to be equal to src.dtype, got {self.dtype} and "
                               f"{src.dtype}")
        d = self._check_along(dim, index, "scatter")
        if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise RuntimeError(f"scatter(): expected index {list(index.shape)} to be no larger than src "
                               f"{list(src.shape)} in every dimension")
        return ScatterFn.apply(self, d, index, src)

    def index_select(self, dim, index):
        """The entries at the positions index (a 1-D or 0-d integer tensor) along dim."""
        index = self._index_arg(index, "index_select")
        if index.ndim > 1:
            raise IndexError(f"index_select(): index is supposed to be a vector, got shape {index.shape}")
        d = _check_axis(dim, max(self.ndim, 1), "index_select")
        n = self.shape[d] if self.ndim else 1
        if index.size and (index.min() < 0 or index.max() >= n):
            # torch's class: IndexError, but RuntimeError along dim 1 of a 2-D tensor (its own CPU kernel)
            error = RuntimeError if self.ndim == 2 and d == 1 else IndexError
            raise error(f"index_select(): index out of range in self: index {index.tolist()} along "
                        f"dimension {d} of size {n}")
        if self.ndim == 0:
            if index.size != 1:
                raise RuntimeError(f"index_select(): index to a 0-d tensor can have only 1 value, got {index.size}")
            return IndexSelectFn.apply(self.reshape(1), 0, index.reshape(-1)).reshape(())
        return IndexSelectFn.apply(self, d, index.reshape(-1))

    def masked_fill_(self, mask, value):
        """In place: value where mask is True (see masked_fill)."""
        return self._inplace(lambda t, v: t.masked_fill(mask, v), value, "masked_fill_")

    def scatter_(self, dim, index, src=None, value=None):
        """In place: see scatter."""
        if src is None and value is None:
            raise TypeError("scatter_: give src (a Tensor or a number) or value")
        return self._inplace(lambda t, s: t.scatter(dim, index, s), src if src is not None else value, "scatter_")

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values, in ascending order (also with sorted=False, as torch on the CPU); with
        return_inverse each entry's position among them (int64, self's shape), with return_counts how
        often each occurs; dim=None flattens, an int takes the distinct slices along that axis. No
        gradient (as torch)."""
        if dim is None:
            # each NaN is distinct, as torch (NumPy's default merges them)
            values, inverse, counts = np.unique(self._data.reshape(-1), return_inverse=True, return_counts=True,
                                                equal_nan=False)
            inverse = inverse.reshape(self.shape)
        else:
            d = _check_axis(dim, max(self.ndim, 1), "unique")
            values, inverse, counts = np.unique(self._data, return_inverse=True, return_counts=True, axis=d)
            inverse = inverse.reshape(-1)
        out = [Tensor._wrap(np.asarray(values), False)]
        if return_inverse:
            out.append(Tensor._wrap(inverse.astype(np.int64), False))
        if return_counts:
            out.append(Tensor._wrap(counts.astype(np.int64), False))
        return out[0] if len(out) == 1 else tuple(out)

    def nonzero(self, *, as_tuple=False):
        """The indices of the nonzero entries, in row-major order: an (n, ndim) int64 tensor, or with
        as_tuple=True one 1-D int64 tensor per axis (a 0-d tensor counts as 1-D there), as torch."""
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(np.int64), False) for i in np.nonzero(np.atleast_1d(self._data)))
        return Tensor._wrap(np.argwhere(self._data).astype(np.int64), False)

    argwhere = nonzero

    def masked_fill(self, mask, value):
        """value where mask (a bool tensor broadcastable to self's shape) is True; value a number (cast
        to self's dtype) or a 0-d Tensor (differentiable)."""
        mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
        # out of place the result has the broadcast shape, as torch (masked_fill_ needs self's shape)
        _broadcast_or_raise(self.shape, mask.shape, "masked_fill", "mask")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor "
                                   f"with {value.ndim} dimension(s)")
            value = value if value._data.dtype == self._data.dtype else value.to(self._data.dtype)
        else:
            value = np.asarray(value).astype(self._data.dtype)
        return WhereFn.apply(mask, value, self)

    # sorting
    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) along dim; NaN sorts as the largest value (as PyTorch). Always stable
        here: equal values keep their order (PyTorch promises that only with stable=True)."""
        if self.ndim == 0:
            _check_axis(dim, 1, "sort")
            return ValuesIndices(self.clone(), Tensor._wrap(np.zeros((), np.int64), False))
        d = _check_axis(dim, self.ndim, "sort")
        index = _sort_index(self._data, d, descending)
        return ValuesIndices(TakeAlongDimFn.apply(self, index, d, True), Tensor._wrap(index, False))

    def argsort(self, dim=-1, descending=False, *, stable=False):
        return self.sort(dim, descending).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (largest=False: smallest) entries along dim, in order
        (also with sorted=False, which leaves the order free in PyTorch)."""
        n = self.shape[_check_axis(dim, self.ndim, "topk")] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: selected index k ({k}) out of range for dimension of size {n}")
        if self.ndim == 0:
            return self.sort(dim)
        d = _check_axis(dim, self.ndim, "topk")
        index = _sort_index(self._data, d, largest)
        index = np.ascontiguousarray(index[(slice(None),) * d + (slice(0, k),)])
        return ValuesIndices(TakeAlongDimFn.apply(self, index, d, True), Tensor._wrap(index, False))

    # reductions
    def _reduce_dims(self, dim, name):
        if isinstance(dim, list):
            dim = tuple(dim)
        self._check_dim(dim, name)
        if isinstance(dim, tuple):
            dim = _dims_arg((dim,), self.ndim, name) if self.ndim else ()
        elif dim is not None and self.ndim == 0:
            dim = None if dim in (0, -1) else dim
        return dim

    @_keepdim_needs_dim(True)
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product of all entries, or along dim (an int); int and bool tensors give int64 (dtype=
        casts the input to that dtype first). The gradient with zeros is PyTorch's (from products of the
        other entries, no division)."""
        if dtype is not None:
            x = self.to(dtype)
            return (x.prod() if dim is None else x.prod(dim, keepdim)).to(dtype)  # an int32 product stays int32
        if dim is not None:
            if not isinstance(dim, (int, np.integer)):
                raise TypeError(f"prod(): dim must be an int, got {type(dim).__name__}")
            dim = _check_axis(dim, max(self.ndim, 1), "prod")
            if self.ndim == 0:
                return ProdFn.apply(self, None, False)
        return ProdFn.apply(self, dim, keepdim and dim is not None)

    def cumsum(self, dim, *, dtype=None):
        """The running sum along dim; int and bool tensors give int64 (dtype= casts the input to that
        dtype first)."""
        if dtype is not None:
            return self.to(dtype).cumsum(dim).to(dtype)
        if self.ndim == 0:
            _check_axis(dim, 1, "cumsum")
            return CumsumFn.apply(self.reshape(1), 0).reshape(())
        return CumsumFn.apply(self, _check_axis(dim, self.ndim, "cumsum"))

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(self))) over dim (an int or a tuple), computed stably; int tensors give float32."""
        if dim == () or dim == []:
            if self.ndim and not keepdim:  # torch reduces over every axis, then fails to write the 0-d result
                raise RuntimeError(f"logsumexp(): output with shape [] doesn't match the broadcast shape "
                                   f"{[1] * self.ndim} (dim=() without keepdim=True)")
            dim = tuple(range(self.ndim))  # as torch(keepdim=True): no dims listed reduces over all of them
        dims = self._reduce_dims(dim if isinstance(dim, (tuple, list)) else (dim,), "logsumexp")
        x = self._as_floating()
        if self.ndim == 0:
            return x.clone()
        return LogSumExpFn.apply(x, dims, keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over dim (None: all entries; an int or a tuple); p a number (inf, -inf
        and 0 included) or 'fro' (the 2-norm); dtype: self is cast to it first (as torch). Deliberate
        difference: p='nuc' (the nuclear norm of a matrix) raises NotImplementedError."""
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        if self._data.dtype not in _FLOATS:
            raise RuntimeError(f"norm: expected a floating point tensor as input, got {self.dtype}")
        if p == "fro" or p is None:
            p = 2.0
        elif isinstance(p, str):
            raise NotImplementedError(f"norm: p={p!r} is not supported (vector norms and 'fro' only)")
        if dim == () or dim == []:
            dim = None  # as torch: no dims listed reduces over all of them
        dims = self._reduce_dims(dim if dim is None or isinstance(dim, (tuple, list)) else (dim,), "norm")
        p = float(p)
        if (p < 0 or math.isinf(p)) and self._data.size == 0:  # no identity: torch refuses an empty reduction
            if dims is None:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor because "
                                   "the operation does not have an identity")
            empty = [d % self.ndim for d in dims if self.shape[d] == 0]
            if empty:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on the dimension {empty[0]} "
                                   "because this dimension is empty and the operation does not have an identity")
        return NormFn.apply(self, p, dims, keepdim)


    # ---- more pointwise math under torch's names (ported code) -------------------------------------
    def _step(self, fn, name):
        """floor/ceil/trunc/round of a float tensor (zero gradient, as torch); an integer tensor is
        returned as a copy (torch's result for integers), bool raises NotImplementedError as torch."""
        if self._data.dtype == _BOOL:
            raise NotImplementedError(f'"{name}_vml_cpu" not implemented for \'Bool\'')
        if self._data.dtype.kind != "f":
            return self.clone()
        return fn.apply(self)

    def floor(self):
        return self._step(_elementwise.FloorFn, "floor")

    def ceil(self):
        return self._step(_elementwise.CeilFn, "ceil")

    def trunc(self):
        return self._step(_elementwise.TruncFn, "trunc")

    fix = trunc

    def round(self, *, decimals=0):
        """Round half to even; decimals > 0 rounds to that many decimal places (x * 10^d rounded, / 10^d),
        decimals < 0 to tens, hundreds, ... as torch.round. Zero gradient."""
        if decimals == 0:
            return self._step(_elementwise.RoundFn, "round")
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"round_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')
        scale = 10.0 ** abs(int(decimals))
        if decimals > 0:
            return _elementwise.RoundFn.apply(self * scale) / scale
        return _elementwise.RoundFn.apply(self / scale) * scale

    def frac(self):
        """self - trunc(self) (float tensors only, as torch); gradient 1."""
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"frac_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')
        return self - self.trunc()

    def sign(self):
        """-1, 0 or 1 in self's dtype (bool stays bool); zero gradient."""
        if self._data.dtype == _BOOL:
            return self.clone()
        return _elementwise.SignFn.apply(self)

    sgn = sign

    def positive(self):
        if self._data.dtype == _BOOL:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def reciprocal(self):
        """1 / self; integer tensors give float32, as torch."""
        return 1 / self._as_floating()

    def rsqrt(self):
        return self._as_floating().sqrt().reciprocal()

    def exp2(self):
        """2 ** self; integer tensors give float32."""
        x = self._as_floating()
        return PowTensorFn.apply(Tensor._wrap(np.asarray(2.0, dtype=x._data.dtype), False), x)

    def float_power(self, exponent):
        """self ** exponent in float64 (both operands cast first), as torch.float_power."""
        e = exponent.double() if isinstance(exponent, Tensor) else float(exponent)
        return self.double() ** e

    def _floating_pair(self, other, name):
        a, b = _promote(self, other, name, floating=True)
        return a, (b if isinstance(b, Tensor) else Tensor._wrap(np.asarray(b, dtype=a._data.dtype), False))

    def fmod(self, other):
        """The C remainder: the sign of self (torch.fmod; % and remainder take the divisor's sign)."""
        a, b = self._pair(other, "fmod")
        if not isinstance(b, Tensor):
            b = Tensor._wrap(np.asarray(b, dtype=a._data.dtype), False)
        try:
            return _elementwise.FmodFn.apply(a, b)
        except ValueError as e:
            raise _size_mismatch(e) from None

    @_broadcasting
    def atan2(self, other):
        a, b = self._floating_pair(other, "atan2")
        return _elementwise.Atan2Fn.apply(a, b)

    arctan2 = atan2

    @_broadcasting
    def hypot(self, other):
        """sqrt(self² + other²) (float tensors, as torch)."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(f'"hypot_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')
        a, b = self._floating_pair(other, "hypot")
        return (a * a + b * b).sqrt()

    @_broadcasting
    def logaddexp(self, other):
        """log(exp(self) + exp(other)), computed stably as torch's kernel (LogaddexpFn)."""
        a, b = self._floating_pair(other, "logaddexp")
        if self._data.dtype.kind != "f" and not (isinstance(other, Tensor) and other._data.dtype.kind == "f"):
            raise NotImplementedError(f'"logaddexp_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')
        return LogaddexpFn.apply(a, b)

    def sinh(self):
        return _elementwise.SinhFn.apply(self._as_floating())

    def cosh(self):
        return _elementwise.CoshFn.apply(self._as_floating())

    def asin(self):
        return _elementwise.AsinFn.apply(self._as_floating())

    def acos(self):
        return _elementwise.AcosFn.apply(self._as_floating())

    def atan(self):
        return _elementwise.AtanFn.apply(self._as_floating())

    arcsin, arccos, arctan = asin, acos, atan

    def erf(self):
        """The error function (integer tensors give float32); float64 to a few ulp without SciPy."""
        return _elementwise.ErfFn.apply(self._as_floating())

    def erfc(self):
        """1 - erf(self), accurate where erf is near 1."""
        return _elementwise.ErfcFn.apply(self._as_floating())

    def erfinv(self):
        """The inverse of erf: ±inf at ±1, NaN outside [-1, 1]."""
        return _elementwise.ErfinvFn.apply(self._as_floating())

    def erf_(self):
        return self._inplace(lambda t, _: t.erf(), None, "erf_")

    def erfc_(self):
        return self._inplace(lambda t, _: t.erfc(), None, "erfc_")

    def erfinv_(self):
        return self._inplace(lambda t, _: t.erfinv(), None, "erfinv_")

    # ---- tan, inverse hyperbolics, sinc, the gamma family, fmax/fmin and friends (ported code) ------
    def tan(self):
        return _elementwise.TanFn.apply(self._as_floating())

    def asinh(self):
        return _elementwise.AsinhFn.apply(self._as_floating())

    def acosh(self):
        return _elementwise.AcoshFn.apply(self._as_floating())

    def atanh(self):
        return _elementwise.AtanhFn.apply(self._as_floating())

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def deg2rad(self):
        """self * pi / 180 (integer and bool tensors give float32, as torch)."""
        return self._as_floating() * (math.pi / 180.0)

    def rad2deg(self):
        return self._as_floating() * (180.0 / math.pi)

    def sinc(self):
        """sin(pi x) / (pi x), 1 at 0 (the normalised sinc, as torch)."""
        return _elementwise.SincFn.apply(self._as_floating())

    def lgamma(self):
        """log|Gamma(self)|: inf at 0, the negative integers and ±inf."""
        return _elementwise.LgammaFn.apply(self._as_floating())

    def digamma(self):
        """d lgamma / dx, as torch: -inf at +0, inf at -0, NaN at the negative integers and -inf."""
        return _elementwise.DigammaFn.apply(self._as_floating())

    def polygamma(self, n):
        """The n-th derivative of digamma (torch.polygamma(n, self)); n a non-negative int. float32 is
        computed in float64 and rounded (torch computes n = 1 in float32, so near the poles below 0 the
        two differ in the low digits: ours are the closer)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
        if n < 0:
            raise RuntimeError(f"polygamma(n, x) does not support negative n (got n = {n}).")
        return _elementwise.PolygammaFn.apply(int(n), self._as_floating())

    def _tensor_pair(self, other, name):
        """(self, other) brought to torch.result_type for a binary op whose other must be a Tensor."""
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return self._pair(other, name)

    def _kernel_kinds(self, a, kinds, name):
        """torch's NotImplementedError for a result dtype outside kinds (NumPy kind letters)."""
        if a._data.dtype.kind not in kinds:
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_torch_dtype_name(a._data.dtype)}\' '
                                      f"(shapes {tuple(self.shape)})")

    @_broadcasting
    def fmax(self, other):
        """The elementwise larger, where a NaN loses to a number (maximum: NaN wins); ties give their
        gradient to self, as torch."""
        return _elementwise.FmaxFn.apply(*self._tensor_pair(other, "fmax"))

    @_broadcasting
    def fmin(self, other):
        return _elementwise.FminFn.apply(*self._tensor_pair(other, "fmin"))

    @_broadcasting
    def logaddexp2(self, other):
        """log2(2**self + 2**other), computed stably as torch's kernel (Logaddexp2Fn); floating only, as torch."""
        a, b = self._tensor_pair(other, "logaddexp2")
        self._kernel_kinds(a, "f", "logaddexp2")
        return _elementwise.Logaddexp2Fn.apply(a, b)

    def ldexp(self, other):
        """self * 2**other (torch's composite: a floating result, differentiable in both). The gradient to
        self is 2**other also for an integer other < 0, where torch 2.13's LdexpBackward rounds 2**other
        to an integer and gives 0 (README porting table)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"ldexp(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        if other._data.dtype == _BOOL and self._data.dtype.kind == "f":  # (torch's kernel for a float self)
            raise NotImplementedError(f"\"ldexp_cpu_exp\" not implemented for 'Bool' (other of shape "
                                      f"{tuple(other.shape)})")
        return self * other.exp2()

    def signbit(self):
        """True where the sign bit is set (-0.0 and negative NaN included); bool and unsigned: all False."""
        if self._data.dtype.kind in "bu":
            return Tensor._wrap(np.zeros(self._data.shape, dtype=_BOOL), False)
        return Tensor._wrap(np.asarray(np.signbit(self._data)), False)

    def isposinf(self):
        if self._data.dtype.kind != "f":
            return Tensor._wrap(np.zeros(self._data.shape, dtype=_BOOL), False)
        return Tensor._wrap(np.asarray(np.isposinf(self._data)), False)

    def isneginf(self):
        if self._data.dtype.kind != "f":
            return Tensor._wrap(np.zeros(self._data.shape, dtype=_BOOL), False)
        return Tensor._wrap(np.asarray(np.isneginf(self._data)), False)

    @_broadcasting
    def gcd(self, other):
        """The greatest common divisor, >= 0 (gcd(0, 0) = 0); integer tensors only, as torch."""
        a, b = self._tensor_pair(other, "gcd")
        self._kernel_kinds(a, "iu", "gcd")
        return Tensor._wrap(np.asarray(np.gcd(a._data, b._data)), False)

    @_broadcasting
    def lcm(self, other):
        """The least common multiple, >= 0 (0 when either is 0); integer tensors only. As torch it is
        |a / gcd(a, b) * b| in the tensors' dtype, so a result past the dtype's range wraps."""
        a, b = self._tensor_pair(other, "lcm")
        self._kernel_kinds(a, "iu", "lcm")
        x, y = np.broadcast_arrays(a._data, b._data)
        g = np.gcd(x, y)
        with np.errstate(over="ignore"):
            out = np.abs(np.floor_divide(x, np.where(g == 0, 1, g)) * y)
        return Tensor._wrap(np.asarray(np.where(g == 0, 0, out).astype(x.dtype, copy=False)), False)

    @_broadcasting
    def nextafter(self, other):
        """The next representable value after self towards other; floating only, as torch."""
        a, b = self._tensor_pair(other, "nextafter")
        self._kernel_kinds(a, "f", "nextafter")
        return _elementwise.NextafterFn.apply(a, b)

    absolute = abs

    def subtract(self, other, *, alpha=1):
        return self.sub(other, alpha=alpha)

    def is_signed(self):
        """False for bool and uint8 (torch's one unsigned integer), True for the rest."""
        return self._data.dtype.kind not in "bu"

    def is_same_size(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"is_same_size(): argument 'other' (position 1) must be Tensor, not "
                            f"{type(other).__name__}")
        return self._data.shape == other._data.shape

    def sum_to_size(self, *size):
        """self summed down to size, which self's shape must broadcast from (trailing dims equal or 1),
        as the gradient of an expand; sizes as ints or one sequence. Integer sums are int64, as sum()."""
        if not size:
            raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        size = tuple(int(s) for s in size)
        shape = self._data.shape
        lead = len(shape) - len(size)
        if lead < 0 or any(s != d and s != 1 for s, d in zip(size, shape[lead:])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
        if size == shape:
            return self
        dims = tuple(range(lead)) + tuple(lead + i for i, (s, d) in enumerate(zip(size, shape[lead:]))
                                         if s == 1 and d != 1)
        return self.sum(dims, keepdim=True).reshape(size) if dims else self.reshape(size)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other| elementwise (a bool tensor); the two dtypes must be the
        same, as torch."""
        if not isinstance(other, Tensor):
            raise TypeError(f"isclose(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        if other._data.dtype != self._data.dtype:
            raise RuntimeError(f"{_torch_dtype_name(self._data.dtype)} did not match "
                               f"{_torch_dtype_name(other._data.dtype)} (isclose)")
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if tol < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
        try:
            return Tensor._wrap(np.asarray(np.isclose(self._data, other._data, rtol, atol, equal_nan)), False)
        except ValueError as e:
            raise _size_mismatch(e) from None

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True when isclose holds everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan)._data.all())

    def equal(self, other):
        """True when the two tensors have the same shape and values (a Python bool, as torch.equal)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"equal(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return self._data.shape == other._data.shape and bool(np.array_equal(self._data, other._data))

    def bmm(self, mat2):
        """Batched matrix products of two 3-D tensors (b, n, m) @ (b, m, p) (no broadcasting, as torch.bmm)."""
        if not isinstance(mat2, Tensor):
            raise TypeError(f"bmm(): argument 'mat2' (position 1) must be Tensor, not {type(mat2).__name__}")
        if self.ndim != 3 or mat2.ndim != 3:
            raise RuntimeError(f"bmm: both arguments must be 3-D, got shapes {self.shape} and {mat2.shape}")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: {self.shape} and {mat2.shape}")
        return self @ mat2

    (tan_, asinh_, acosh_, atanh_, deg2rad_, rad2deg_, sinc_, lgamma_, digamma_, polygamma_, absolute_) = (
        _inplace_form(n) for n in ("tan", "asinh", "acosh", "atanh", "deg2rad", "rad2deg", "sinc", "lgamma",
                                    "digamma", "polygamma", "abs"))
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_
    ldexp_, gcd_, lcm_, nextafter_ = (_inplace_form(n, binary=True) for n in ("ldexp", "gcd", "lcm", "nextafter"))

    def subtract_(self, other, *, alpha=1):
        return self.sub_(other, alpha=alpha)

    def multiply_(self, other):
        return self.mul_(other)

    def logit(self, eps=None):
        """log(p / (1 - p)); with eps, p is first clamped to [eps, 1 - eps] (zero gradient outside).
        Written log(p) - log1p(-p) so that p reaches the output by two paths, neither 0 * inf at 0 or 1:
        the gradient there is inf, as torch's; NaN where p is outside [0, 1] (eps=None), as torch's."""
        p = self._as_floating()
        if eps is not None:
            p = p.clamp(eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) and NaN outside [0, 1], as torch: no warning
            out = p.log() - (-p).log1p()
        outside = (p._data < 0) | (p._data > 1)
        if outside.any():  # torch's gradient there is NaN (log's alone would be 1/p): add p * NaN there, 0 elsewhere
            out = out + p * Tensor._wrap(np.where(outside, np.nan, 0).astype(p._data.dtype), False)
        return out

    @_broadcasting
    def xlogy(self, other):
        """self * log(other), 0 where self is 0 (unless other is NaN); integer tensors give float32.
        Deliberate difference: where self and other are both 0 the gradient wrt other is 0 (torch: NaN)."""
        a, b = self._floating_pair(other, "xlogy")
        shape = np.broadcast_shapes(a.shape, b.shape)
        a, b = a.expand(shape), b.expand(shape)
        zero = a._data == 0
        # no 0 * log(0) in the gradient; where self is 0 and other > 0 the gradient is log(other), as torch
        safe = where(zero & (b._data <= 0), Tensor._wrap(np.ones((), b._data.dtype), False), b)
        out = a * safe.log()  # 0 * log(other) where self is 0: 0, NaN for NaN, and ...
        inf = zero & np.isposinf(b._data)  # ... 0 for other = inf, as torch
        return out.masked_fill(Tensor._wrap(inf, False), 0) if inf.any() else out

    @_broadcasting
    def copysign(self, other):
        """|self| with the sign of other (float result); gradient to self only, as torch."""
        a, b = self._floating_pair(other, "copysign")
        s = np.where(np.signbit(b._data), -1, 1).astype(a._data.dtype)
        return a.abs() * Tensor._wrap(s, False)

    @_broadcasting
    def heaviside(self, values):
        """0 where self < 0, 1 where self > 0, values where self == 0. As torch, a result of operands that
        require grad requires grad and its backward raises RuntimeError (heaviside has no derivative)."""
        if not isinstance(values, Tensor):
            raise TypeError(f"heaviside(): argument 'values' must be Tensor, not {type(values).__name__}")
        if values._data.dtype != self._data.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
        out = np.asarray(np.heaviside(self._data, values._data)).astype(self._data.dtype)
        if out.dtype.kind == "f" and is_grad_enabled() and (self.requires_grad or values.requires_grad):
            return _NoDerivativeFn.apply(self, values, values=out, name="heaviside")
        return Tensor._wrap(out, False)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def lerp(self, end, weight):
        """self + weight * (end - self); weight a number or a tensor. As torch: floating tensors only, end
        (and a weight tensor) of self's dtype."""
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for '
                                      f'\'{_torch_dtype_name(self._data.dtype)}\'')
        for name, t in (("end", end), ("weight", weight)):
            if isinstance(t, Tensor) and t._data.dtype != self._data.dtype and (name == "end" or t.ndim):
                raise RuntimeError(f"expected dtype {_torch_dtype_name(self._data.dtype).lower()} for `{name}` but "
                                   f"got dtype {_torch_dtype_name(t._data.dtype).lower()} (lerp of shape "
                                   f"{tuple(self.shape)})")
        return self + weight * (end - self)

    def addcmul(self, tensor1, tensor2, *, value=1):
        product = tensor1 * tensor2
        if isinstance(value, (float, np.floating)) and _result_type(self, product).kind in "iub":
            value = int(value)  # torch casts value to an integer result's dtype (addcmul(i, i, i, value=1.7): 1)
        return self + value * product

    def addcdiv(self, tensor1, tensor2, *, value=1):
        if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                               "addcdiv will perform a true division of tensor1 and tensor2.")
        return self + value * (tensor1 / tensor2)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values unless
        given); gradient 1 where self is finite, 0 where it was replaced (as torch)."""
        if self._data.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self._data.dtype)
        d = self._data
        out = self
        for mask, value in ((np.isnan(d), nan), (np.isposinf(d), info.max if posinf is None else posinf),
                            (np.isneginf(d), info.min if neginf is None else neginf)):
            if mask.any():
                out = out.masked_fill(Tensor._wrap(mask, False), value)
        return out if out is not self else self.clone()

    def floor_(self):
        return self._inplace(lambda t, _: t.floor(), None, "floor_")

    def ceil_(self):
        return self._inplace(lambda t, _: t.ceil(), None, "ceil_")

    def trunc_(self):
        return self._inplace(lambda t, _: t.trunc(), None, "trunc_")

    fix_ = trunc_

    def frac_(self):
        return self._inplace(lambda t, _: t.frac(), None, "frac_")

    def round_(self, *, decimals=0):
        return self._inplace(lambda t, _: t.round(decimals=decimals), None, "round_")

    def sign_(self):
        return self._inplace(lambda t, _: t.sign(), None, "sign_")

    def reciprocal_(self):
        return self._inplace(lambda t, _: t.reciprocal(), None, "reciprocal_")

    def rsqrt_(self):
        return self._inplace(lambda t, _: t.rsqrt(), None, "rsqrt_")

    def clamp_min_(self, min):
        return self._inplace(lambda t, _: t.clamp_min(min), None, "clamp_min_")

    def clamp_max_(self, max):
        return self._inplace(lambda t, _: t.clamp_max(max), None, "clamp_max_")

    def lerp_(self, end, weight):
        return self._inplace(lambda t, e: t.lerp(e, weight), end, "lerp_")

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda t, a: t.addcmul(a, tensor2, value=value), tensor1, "addcmul_")

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(lambda t, a: t.addcdiv(a, tensor2, value=value), tensor1, "addcdiv_")

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._inplace(lambda t, _: t.nan_to_num(nan, posinf, neginf), None, "nan_to_num_")

    sinh_, cosh_, asin_, acos_, atan_, exp2_, logit_, sgn_, square_, cumprod_ = (
        _inplace_form(n) for n in ("sinh", "cosh", "asin", "acos", "atan", "exp2", "logit", "sgn", "square",
                                    "cumprod"))
    arcsin_, arccos_, arctan_ = asin_, acos_, atan_

    atan2_, fmod_, hypot_, xlogy_, copysign_ = (
        _inplace_form(n, binary=True) for n in ("atan2", "fmod", "hypot", "xlogy", "copysign"))
    arctan2_ = atan2_

    def float_power_(self, exponent):
        if self._data.dtype != np.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {_torch_dtype_name(self._data.dtype)} but "
                               "the operation's result requires dtype Double")
        return self._inplace(lambda t, e: t.float_power(e), exponent, "float_power_")

    def bernoulli_(self, p=0.5, *, generator=None):
        """In place: 0/1 draws, 1 with probability p (a number or a tensor of probabilities)."""
        probs = p._data if isinstance(p, Tensor) else np.full(self.shape, float(p))
        draws = Tensor._wrap(np.broadcast_to(probs, self.shape).astype(np.float64), False).bernoulli(
            generator=generator)
        return self._fill(draws._data, "bernoulli_")

    def fill_diagonal_(self, fill_value, wrap=False):
        """In place: fill_value on the main diagonal (all axes of equal size past 2-D; a tall matrix
        restarts it every ncols + 1 rows with wrap=True, as torch and NumPy)."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        mask = np.zeros(self.shape, bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill_(Tensor._wrap(mask, False), fill_value)

    # ---- linear algebra under torch's names (ported code) -----------------------------------------
    def _vectors(self, other, name):
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'tensor' (position 2) must be Tensor, not {type(other).__name__}")
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self._data.dtype != other._data.dtype:
            raise RuntimeError(f"{name} : expected both vectors to have same dtype, but found "
                               f"{_torch_dtype_name(self._data.dtype)} and {_torch_dtype_name(other._data.dtype)}")
        if self.shape != other.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got {self.shape[0]} "
                               f"and {other.shape[0]} elements respectively")

    def dot(self, other):
        """The inner product of two 1-D tensors of one dtype (as torch.dot); differentiable."""
        self._vectors(other, "dot")
        s = (self * other).sum()
        return s if s._data.dtype == self._data.dtype else s.to(self._data.dtype)

    vdot = dot  # real tensors only: the conjugate is the tensor itself

    def inner(self, other):
        """The sum over the last axes of both (a number times a tensor when either is 0-d)."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        if self.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(self.shape)} and {list(other.shape)}")
        return tensordot(self, other, ([self.ndim - 1], [other.ndim - 1]))

    def mv(self, vec):
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {self.ndim}, {vec.ndim}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0]}), mat ({self.shape[0]}x{self.shape[1]}), "
                               f"vec ({vec.shape[0]})")
        return self @ vec

    def mm(self, mat2):
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm: both arguments must be matrices, got shapes {self.shape} and {mat2.shape}")
        return self @ mat2

    def outer(self, vec2):
        """self[i] * vec2[j] (1-D tensors; dtypes promoted, as torch.outer)."""
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D tensors, got {self.ndim}-D and {vec2.ndim}-D")
        return self.reshape(-1, 1) * vec2

    ger = outer

    @staticmethod
    def _scaled_sum(acc, product, beta, alpha):
        """beta * acc + alpha * product; beta == 0 ignores acc (NaN in it does not propagate), as torch."""
        product = product if alpha == 1 else product * alpha
        try:
            shape = np.broadcast_shapes(acc.shape, product.shape)
        except ValueError:
            shape = None
        if shape != product.shape:  # torch expands the input to the product's shape, never the other way
            raise RuntimeError(f"The expanded size of the input of shape {list(acc.shape)} must match the product's "
                               f"shape {list(product.shape)}")
        if beta == 0:
            if acc.requires_grad and is_grad_enabled():  # a zero gradient for acc, as torch (not None)
                return where(Tensor._wrap(np.zeros((), bool), False), acc, product)
            return product.expand(shape) * 1
        return (acc if beta == 1 else acc * beta) + product

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return self._scaled_sum(self, mat1.mm(mat2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return self._scaled_sum(self, mat.mv(vec), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor, got shapes {batch1.shape} and {batch2.shape}")
        return self._scaled_sum(self, batch1 @ batch2, beta, alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor, got shapes {batch1.shape} and {batch2.shape}")
        return self._scaled_sum(self, (batch1 @ batch2).sum(0), beta, alpha)

    def kron(self, other):
        """The Kronecker product (any number of axes; the shorter shape padded with 1s in front)."""
        n = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (n - self.ndim) + self.shape)
        b = other.reshape((1,) * (n - other.ndim) + other.shape)
        spread_a = a.reshape(tuple(x for s in a.shape for x in (s, 1)))
        spread_b = b.reshape(tuple(x for s in b.shape for x in (1, s)))
        return (spread_a * spread_b).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))

    def cross(self, other, dim=None):
        """The cross product of 3-vectors along dim (None: the first axis of size 3, as torch.cross)."""
        if self.ndim != other.ndim:
            raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions (got shapes "
                               f"{tuple(self.shape)} and {tuple(other.shape)})")
        shape = _broadcast_or_raise(self.shape, other.shape, "cross", "other")
        a, b = self.expand(shape), other.expand(shape)
        if dim is None:
            sizes = [i for i, n in enumerate(shape) if n == 3]
            if not sizes:
                raise RuntimeError(f"no dimension of size 3 in input, shape {list(shape)}")
            d = sizes[0]
        else:
            d = _check_axis(dim, len(shape), "cross")
        if shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {self.shape[d]} "
                               f"and {other.shape[d]}")
        a0, a1, a2 = a.unbind(d)
        b0, b1, b2 = b.unbind(d)
        return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal of the (dim1, dim2) planes as a new last axis (offset > 0 above the main one);
        differentiable. A copy here (torch: a view)."""
        d1, d2 = _check_axis(dim1, self.ndim, "diagonal"), _check_axis(dim2, self.ndim, "diagonal")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        rest = [i for i in range(self.ndim) if i not in (d1, d2)]
        x = self.permute(tuple(rest) + (d1, d2))
        n, m = self.shape[d1], self.shape[d2]
        rows = np.arange(max(0, -offset), min(n, m - offset)) if min(n, m - offset) > max(0, -offset) else \
            np.zeros(0, np.int64)
        return x[(Ellipsis, rows, rows + offset)]

    def trace(self):
        if self._data.dtype == _BOOL:
            raise NotImplementedError('"trace" not implemented for \'Bool\'')
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """Each last-axis vector on the diagonal (offset) of a new square plane at axes dim1, dim2."""
        n = self.shape[-1] + abs(offset) if self.ndim else 1 + abs(offset)
        d1, d2 = _check_axis(dim1, self.ndim + 1, "diag_embed"), _check_axis(dim2, self.ndim + 1, "diag_embed")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        x = self if self.ndim else self.reshape(1)
        zeros_ = Tensor._wrap(np.zeros(x.shape[:-1] + (n, n), x._data.dtype), False)
        k = np.arange(x.shape[-1])
        out = SetItemFn.apply(zeros_, (Ellipsis, k + max(0, -offset), k + max(0, offset)), x)
        # out has the plane last; move its two axes to dim1, dim2
        return out.movedim((out.ndim - 2, out.ndim - 1), (d1, d2))

    def diag(self, diagonal=0):
        """1-D: a square matrix with self on that diagonal; 2-D: that diagonal, as a 1-D tensor."""
        if self.ndim == 1:
            return self.diag_embed(diagonal)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def diagflat(self, offset=0):
        return self.reshape(-1).diag_embed(offset)

    def movedim(self, source, destination):
        """The axes source moved to the positions destination, the others keeping their order."""
        src = (source,) if isinstance(source, int) else tuple(source)
        dst = (destination,) if isinstance(destination, int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                               f"contain the same number of dims as destination ({list(dst)} dims)")
        n = max(self.ndim, 1)
        src = [_check_axis(d, n, "movedim") for d in src]
        dst = [_check_axis(d, n, "movedim") for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        if self.ndim == 0:
            return self.clone()
        order = [i for i in range(self.ndim) if i not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.permute(tuple(order))

    moveaxis = movedim

    @property
    def mT(self):
        if self.ndim == 0:  # torch: the identity, with a deprecation warning
            warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
                          UserWarning, stacklevel=2)
            return self
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                               "tensor.")
        return self.transpose(-2, -1)

    mH = mT  # real tensors only: the conjugate is the tensor itself

    @property
    def H(self):
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return self.T

    # ---- cumulative ops, order statistics and counting under torch's names (ported code) ----------
    def cumprod(self, dim, *, dtype=None):
        """The running product along dim; int and bool tensors give int64 (dtype= casts first). The
        gradient with zeros is PyTorch's (no division)."""
        if dtype is not None:
            return self.to(dtype).cumprod(dim).to(dtype)
        x = self if self._data.dtype.kind == "f" or self._data.dtype == _I64 else self.to(_I64)
        if self.ndim == 0:
            _check_axis(dim, 1, "cumprod")
            return x.clone()
        return _reduce.CumprodFn.apply(x, _check_axis(dim, self.ndim, "cumprod"))

    def _cumulative_extreme(self, dim, is_max, name):
        """(values, indices) of the running max/min along dim; a NaN wins from where it appears, ties
        take the later index (as torch)."""
        if self.ndim == 0:
            _check_axis(dim, 1, name)
            return ValuesIndices(self.clone(), Tensor._wrap(np.zeros((), np.int64), False))
        d = _check_axis(dim, self.ndim, name)
        x = np.moveaxis(self._data, d, -1)
        if not x.shape[-1]:
            index = np.zeros(x.shape, np.int64)
        else:
            # position i holds the running extreme when x[i] equals it (a tie: the later index) or is NaN
            # (NaN propagates through the accumulate); the index is the latest such position so far
            run = (np.maximum if is_max else np.minimum).accumulate(x, axis=-1)
            hit = x == run
            if x.dtype.kind == "f":
                hit |= np.isnan(x)
            index = np.maximum.accumulate(np.where(hit, np.arange(x.shape[-1]), 0), axis=-1)
        index = np.ascontiguousarray(np.moveaxis(index, -1, d))
        return ValuesIndices(self.gather(d, index), Tensor._wrap(index, False))  # (gather: repeats add up)

    def cummax(self, dim):
        return self._cumulative_extreme(dim, True, "cummax")

    def cummin(self, dim):
        return self._cumulative_extreme(dim, False, "cummin")

    def logcumsumexp(self, dim):
        """log(cumsum(exp(self))) along dim, computed stably (each prefix shifted by its running maximum)."""
        x = self._as_floating()
        if self.ndim == 0:
            _check_axis(dim, 1, "logcumsumexp")
            return x.clone()
        return _reduce.LogCumSumExpFn.apply(x, _check_axis(dim, self.ndim, "logcumsumexp"))

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The n-th forward difference along dim (prepend/append joined first); bool gives xor, as torch."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        d = _check_axis(dim, self.ndim, "diff")
        parts = [p for p in (prepend, self, append) if p is not None]
        x = cat(parts, d) if len(parts) > 1 else self
        for _ in range(n):
            if x.shape[d] == 0:
                break
            hi, lo = x._slice_along(d, 1, None), x._slice_along(d, 0, -1)
            x = hi.logical_xor(lo) if x._data.dtype == _BOOL else hi - lo
        return x

    def _ordered(self, dim, name):
        """(d, sorted index along d) with NaN last; d the axis (0 for a 0-d tensor, taken as 1-D)."""
        x = self if self.ndim else self.reshape(1)
        d = _check_axis(dim, x.ndim, name)
        return x, d, _sort_index(x._data, d, False)

    def _pick(self, x, d, order, k, keepdim, scalar):
        """The values at sorted position k (an array, keepdims-shaped) along d, and their indices."""
        index = np.take_along_axis(order, k, axis=d)
        values = TakeAlongDimFn.apply(x, index, d, True)
        if not keepdim or scalar:
            values, index = values.squeeze(d), np.squeeze(index, d)
        if scalar:
            values, index = values.reshape(()), index.reshape(())
        return ValuesIndices(values, Tensor._wrap(np.array(index, order="C"), False))

    def _median(self, dim, keepdim, ignore_nan, name):
        if self._data.dtype == _BOOL:
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')  # as torch
        if dim is None:  # the gradient is split among the entries equal to the median, as torch
            def pick(x):
                flat = Tensor._wrap(x.reshape(-1), False)
                return flat._median(0, False, ignore_nan, name).values._data if flat.numel() else np.nan
            return _reduce.EvenlySplitFn.apply(self, pick)
        x, d, order = self._ordered(dim, name)
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        nans = np.isnan(x._data).sum(axis=d, keepdims=True) if x._data.dtype.kind == "f" else 0
        n = x.shape[d]
        if ignore_nan:
            k = np.maximum((n - nans - 1) // 2, 0)
        else:
            k = np.where(nans > 0, n - nans, (n - 1) // 2)  # a NaN: the first NaN (sorted last)
        k = np.broadcast_to(np.asarray(k, np.int64), x.shape[:d] + (1,) + x.shape[d + 1:])
        return self._pick(x, d, order, k, keepdim, self.ndim == 0)

    @_keepdim_needs_dim(True)
    def median(self, dim=None, keepdim=False):
        """The lower of the two middle values (NaN if the slice has one); with dim, (values, indices)."""
        return self._median(dim, keepdim, False, "median")

    @_keepdim_needs_dim(True)
    def nanmedian(self, dim=None, keepdim=False):
        """median ignoring NaN (NaN only for an all-NaN slice)."""
        return self._median(dim, keepdim, True, "nanmedian")

    def kthvalue(self, k, dim=-1, keepdim=False):
        """(values, indices) of the k-th smallest entry (k from 1) along dim."""
        x, d, order = self._ordered(dim, "kthvalue")
        if not 1 <= k <= x.shape[d]:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        kk = np.full(x.shape[:d] + (1,) + x.shape[d + 1:], k - 1, np.int64)
        return self._pick(x, d, order, kk, keepdim, self.ndim == 0)

    def mode(self, dim=-1, keepdim=False):
        """(values, indices): the most frequent value along dim (the smallest of equally frequent ones)
        and the index of its last occurrence."""
        x, d, order = self._ordered(dim, "mode")
        s = np.take_along_axis(x._data, order, axis=d)
        sm, om = np.moveaxis(s, d, -1), np.moveaxis(order, d, -1)
        n = sm.shape[-1]
        if n == 0:
            raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
        new_run = np.concatenate([np.ones(sm.shape[:-1] + (1,), bool), sm[..., 1:] != sm[..., :-1]], -1)
        run_id = np.cumsum(new_run, axis=-1) - 1
        rows = run_id.reshape(-1, n)
        counts = np.stack([np.bincount(r, minlength=n) for r in rows]) if rows.shape[0] else np.zeros((0, n), int)
        flat_counts = counts.reshape(sm.shape)
        best_run = np.argmax(flat_counts, axis=-1)[..., None]  # the first (smallest) most frequent run
        in_best = run_id == best_run
        last_in_run = np.max(np.where(in_best, om, -1), axis=-1, keepdims=True)
        index = np.moveaxis(last_in_run, -1, d)
        values = TakeAlongDimFn.apply(x, index, d, True)
        if not keepdim or self.ndim == 0:
            values, index = values.squeeze(d), np.squeeze(index, d)
        if self.ndim == 0:
            values, index = values.reshape(()), index.reshape(())
        return ValuesIndices(values, Tensor._wrap(np.array(index, order="C"), False))

    def _quantile(self, q, dim, keepdim, interpolation, ignore_nan, name):
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
            raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                               f"Got {interpolation}")
        scalar_q = not isinstance(q, Tensor)
        qs = np.atleast_1d(np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64))
        if isinstance(q, Tensor) and q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if isinstance(q, Tensor) and q._data.dtype != self._data.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if np.any((qs < 0) | (qs > 1)):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        if dim is None:
            x, d = self.reshape(-1), 0
        else:
            x = self if self.ndim else self.reshape(1)
            d = _check_axis(dim, x.ndim, name)
        if x.shape[d] == 0:
            raise RuntimeError(f"{name}() input tensor must be non-empty")  # torch's class
        order = _sort_index(x._data, d, False)
        xs = TakeAlongDimFn.apply(x, order, d, True).movedim(d, -1)  # sorted, NaN last, along the last axis
        n = xs.shape[-1]
        nans = np.isnan(xs._data).sum(-1, keepdims=True)
        valid = (n - nans) if ignore_nan else np.full(nans.shape, n)
        rank = np.maximum(valid - 1, 0).astype(np.float64) * qs  # (..., len(q))
        lo, hi = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = np.round(rank).astype(np.int64)
        lo_v = xs.gather(-1, Tensor._wrap(lo, False))
        hi_v = xs.gather(-1, Tensor._wrap(hi, False))
        if interpolation == "midpoint":
            out = lo_v + (hi_v - lo_v) * 0.5
        elif interpolation == "linear":
            if isinstance(q, Tensor):  # the weight is differentiable in q, as torch
                span = Tensor._wrap(np.maximum(valid - 1, 0).astype(x._data.dtype), False)
                weight = q.reshape(-1) * span - Tensor._wrap(lo.astype(x._data.dtype), False)
            else:
                weight = Tensor._wrap((rank - lo).astype(x._data.dtype), False)
            out = lo_v + (hi_v - lo_v) * weight
        else:
            out = lo_v
        bad = (nans > 0) if not ignore_nan else (valid == 0)
        if bad.any():
            out = out.masked_fill(Tensor._wrap(np.broadcast_to(bad, out.shape).copy(), False), float("nan"))
        out = out.movedim(-1, 0)  # (len(q), ...)
        if keepdim:
            out = out.unsqueeze(d + 1) if dim is not None else out.reshape((len(qs),) + (1,) * self.ndim)
        return out[0] if scalar_q else out

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The q-th quantiles (q a number or a 1-D tensor, whose axis comes first) along dim (None:
        all entries); NaN where the slice has a NaN. Differentiable."""
        return self._quantile(q, dim, keepdim, interpolation, False, "quantile")

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return self._quantile(q, dim, keepdim, interpolation, True, "nanquantile")

    def count_nonzero(self, dim=None):
        if isinstance(dim, (tuple, list)) and not dim:
            dim = None  # as torch: no dims listed counts over all of them
        dims = self._reduce_dims(dim, "count_nonzero") if dim is not None else None
        return Tensor._wrap(np.asarray(np.count_nonzero(self._data, axis=dims), np.int64), False)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        x = self.masked_fill(self.isnan(), 0) if self._data.dtype.kind == "f" else self
        return x.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        """The mean of the non-NaN entries (NaN for a slice with none)."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                               f"{_torch_dtype_name(x._data.dtype)}")
        count = (~x.isnan()).sum(dim, keepdim).to(x._data.dtype)
        return x.nansum(dim, keepdim) / count

    def aminmax(self, *, dim=None, keepdim=False):
        return _MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def msort(self):
        return self.sort(0).values if self.ndim else self.clone()

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor (int64), or the
        sum of weights at each (weights' dtype if floating, else float64, as torch)."""
        if self._data.dtype.kind not in "iu":  # torch's class: no kernel for the dtype
            raise NotImplementedError(f'"bincount_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\''
                                      f' (bincount of a tensor of shape {tuple(self.shape)})')
        if self.ndim != 1:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError(f"minlength should be >= 0 (bincount got minlength={minlength})")
        if self._data.size and self._data.min() < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if weights is None:
            return Tensor._wrap(np.bincount(self._data, minlength=minlength).astype(np.int64), False)
        w = weights._data if isinstance(weights, Tensor) else np.asarray(weights)
        if w.ndim != 1 or w.shape[0] != self.shape[0]:
            raise RuntimeError(f"weights should be 1-d and have the same length as input (bincount got weights of "
                               f"shape {w.shape} and input of shape {tuple(self.shape)})")
        dt = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
        return Tensor._wrap(np.bincount(self._data, w.astype(np.float64), minlength).astype(dt), False)

    def histc(self, bins=100, min=0, max=0):
        """A histogram of bins equal bins over [min, max] (both 0: the data's range); values outside are
        left out, the top edge counts in the last bin. Float tensors; the result has self's dtype."""
        if bins <= 0:
            raise RuntimeError("torch.histc(): bins must be > 0")
        data = self._data.reshape(-1)
        lo, hi = float(min), float(max)
        if lo == hi and data.size:
            lo, hi = float(data.min()), float(data.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):  # a NaN or inf bound, or data holding one (as torch)
            raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError("torch.histc(): max must be larger than min")
        if self._data.dtype.kind != "f":  # torch's class: no kernel for the dtype
            raise NotImplementedError(f'"histogram_cpu" not implemented for \'{_torch_dtype_name(self._data.dtype)}\'')
        inside = data[(data >= lo) & (data <= hi)].astype(np.float64)
        index = ((inside - lo) * bins / (hi - lo)).astype(np.int64)
        index[index == bins] = bins - 1
        return Tensor._wrap(np.bincount(index, minlength=bins).astype(self._data.dtype), False)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        """Each run of equal consecutive values (or slices along dim) once, as torch."""
        x = self._data.reshape(-1) if dim is None else np.moveaxis(self._data, _check_axis(dim, self.ndim,
                                                                                            "unique_consecutive"), 0)
        n = x.shape[0]
        if n:
            differs = (x[1:] != x[:-1]).reshape(n - 1, int(np.prod(x.shape[1:]))).any(axis=1)
            starts = np.concatenate([[True], differs])
        else:
            starts = np.zeros(0, bool)
        values = x[starts]
        if dim is not None:
            values = np.moveaxis(values, 0, _check_axis(dim, self.ndim, "unique_consecutive"))
        out = [Tensor._wrap(np.ascontiguousarray(values), False)]
        if return_inverse:
            inverse = np.cumsum(starts) - 1
            out.append(Tensor._wrap(inverse.reshape(self.shape if dim is None else -1).astype(np.int64), False))
        if return_counts:
            out.append(Tensor._wrap(np.diff(np.append(np.nonzero(starts)[0], n)).astype(np.int64), False))
        return out[0] if len(out) == 1 else tuple(out)

    # ---- shape and index ops under torch's names (ported code) -------------------------------------
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        """Each entry (along dim; None: of the flattened tensor) repeated repeats times (a number, or
        one count per entry); differentiable."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _check_axis(dim, max(self.ndim, 1), "repeat_interleave")
        if x.ndim == 0:
            x = x.reshape(1)
        counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
        if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, x.shape[d])):
            raise RuntimeError(f"repeats must be 0-dim or 1-dim tensor with {x.shape[d]} entries, got "
                               f"{list(counts.shape)}")
        if np.any(counts < 0):
            raise RuntimeError("repeats can not be negative")
        index = np.repeat(np.arange(x.shape[d]), counts.reshape(-1) if counts.ndim else int(counts))
        return x.index_select(d, index)

    def tile(self, *dims):
        dims = _shape_arg(dims)
        dims = (1,) * (self.ndim - len(dims)) + tuple(dims)
        return self.repeat(*dims)

    def ravel(self):
        return self.reshape(-1)

    def broadcast_to(self, size):
        return self.expand(size)

    def tensor_split(self, indices_or_sections=None, dim=0, *, indices=None, sections=None):
        """Pieces along dim: n sections (the first n % size ones one longer), or cut at the indices
        (given as indices_or_sections, or as torch's keywords indices= / sections=)."""
        given = [a for a in (indices_or_sections, indices, sections) if a is not None]
        if len(given) != 1:
            raise TypeError("tensor_split() takes one of indices_or_sections, indices= or sections=")
        indices_or_sections = given[0]
        d = _check_axis(dim, max(self.ndim, 1), "tensor_split")
        if self.ndim == 0:
            raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
        if isinstance(indices_or_sections, Tensor):
            indices_or_sections = indices_or_sections.tolist()
        n = self.shape[d]
        if isinstance(indices_or_sections, (int, np.integer)):
            s = int(indices_or_sections)
            if s <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {s}")
            sizes = [n // s + (1 if i < n % s else 0) for i in range(s)]
            bounds = np.cumsum([0] + sizes)
        else:
            bounds = [0] + [int(i) for i in indices_or_sections] + [n]
        return tuple(self._slice_along(d, int(min(max(a, 0), n)), int(min(max(b, a, 0), n)))
                     for a, b in zip(bounds[:-1], bounds[1:]))

    def _split_even(self, sections, dim, name):
        if isinstance(sections, (int, np.integer)) and self.shape[dim] % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {self.shape[dim]} is not divisible by the split_size {sections}!")
        return self.tensor_split(sections, dim)

    def hsplit(self, sections):
        if self.ndim == 0:
            raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 "
                               "dimensions!")
        return self._split_even(sections, 1 if self.ndim > 1 else 0, "hsplit")

    def vsplit(self, sections):
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self._split_even(sections, 0, "vsplit")

    def dsplit(self, sections):
        if self.ndim < 3:
            raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self._split_even(sections, 2, "dsplit")

    def rot90(self, k=1, dims=(0, 1)):
        """Rotated by 90 degrees k times in the plane dims (from the first axis toward the second)."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = _check_axis(dims[0], self.ndim, "rot90"), _check_axis(dims[1], self.ndim, "rot90")
        if d0 == d1:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def take(self, index):
        """The entries of the flattened tensor at index (any shape; negative counts from the end)."""
        index = self._index_arg(index, "take", RuntimeError)
        n = self._data.size
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"take(): index out of range in self: tried to access index "
                             f"{index.max() if index.max() >= n else index.min()} on a tensor of {n} elements.")
        return self.reshape(-1)[index]

    def take_along_dim(self, indices, dim=None):
        """The entries at indices along dim (self and indices broadcast except along dim; None: both
        flattened), as torch.take_along_dim; differentiable."""
        index = self._index_arg(indices, "take_along_dim", RuntimeError)
        if dim is None:
            return self.reshape(-1).gather(0, index.reshape(-1))
        if index.ndim != self.ndim:  # (torch checks this before dim)
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                               f"dimensions, but got {self.ndim} dimensions for input, and {index.ndim} dimensions "
                               f"for indices")
        d = _check_axis(dim, max(self.ndim, 1), "take_along_dim")
        try:
            shape = list(np.broadcast_shapes(tuple(1 if i == d else n for i, n in enumerate(self.shape)),
                                             tuple(1 if i == d else n for i, n in enumerate(index.shape))))
        except ValueError:
            raise RuntimeError(f"take_along_dim(): input of shape {list(self.shape)} and indices of shape "
                               f"{list(index.shape)} do not broadcast apart from dimension {d}") from None
        x = self.expand(tuple(shape[:d] + [self.shape[d]] + shape[d + 1:]))
        index = np.broadcast_to(index, tuple(shape[:d] + [index.shape[d]] + shape[d + 1:]))
        return x.gather(d, np.ascontiguousarray(index))

    def _scatter_args(self, dim, index, src, name, long_only=None):
        """(index as an array, dim as an axis) after torch's checks of scatter_add / scatter_reduce: src a
        Tensor of self's dtype, index within self along dim and no larger than src anywhere."""
        index = self._index_arg(index, name, long_only)
        if not isinstance(src, Tensor):
            raise TypeError(f"{name}(): argument 'src' must be Tensor, not {type(src).__name__}")
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype, got {self.dtype} "
                               f"and {src.dtype}")
        d = self._check_along(dim, index, name)
        if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise RuntimeError(f"{name}(): expected index {list(index.shape)} to be no larger than src "
                               f"{list(src.shape)} in every dimension")
        return index, d

    def scatter_add(self, dim, index, src):
        """Out of place: src[i][j] added at out[index[i][j]][j] (dim 0, and so on), repeats adding up;
        differentiable wrt self and src."""
        index, d = self._scatter_args(dim, index, src, "scatter_add")
        if self.ndim == 0:
            return self.reshape(1).scatter_add(0, index.reshape(-1), src.reshape(-1)).reshape(())
        return _shape_ops.ScatterAddFn.apply(self, d, index, src)

    def scatter_add_(self, dim, index, src):
        return self._inplace(lambda t, s: t.scatter_add(dim, index, s), src, "scatter_add_")

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """Out of place: src's entries reduced into self at index along dim (dim 0: out[index[i][j]][j]),
        reduce one of "sum", "prod", "mean", "amax", "amin"; include_self=False leaves self's value out
        where src writes (as torch.scatter_reduce). Differentiable wrt self and src (floating dtypes)."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        index, d = self._scatter_args(dim, index, src, "scatter_reduce", RuntimeError)
        if self.ndim == 0:
            return self.reshape(1).scatter_reduce(0, index.reshape(-1), src.reshape(-1), reduce,
                                                  include_self=include_self).reshape(())
        return _shape_ops.ScatterReduceFn.apply(self, d, index, src, reduce, bool(include_self))

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._inplace(lambda t, s: t.scatter_reduce(dim, index, s, reduce, include_self=include_self), src,
                             "scatter_reduce_")

    def _along_index(self, dim, index, name, long_only=None, negative=False, error=IndexError):
        """(axis, index as a 1-D array) for index_add/index_fill/index_copy; negative: whether torch counts
        a negative index from the end (index_fill) or raises `error` for it as for one past the end."""
        index = self._index_arg(index, name, long_only)
        if index.ndim > 1:
            if name == "index_fill":
                raise RuntimeError(f"index_fill_(): Index has to be a vector/scalar, got shape {index.shape}")
            raise IndexError(f"{name}_(): Index is supposed to be a vector, got shape {index.shape}")
        d = _check_axis(dim, max(self.ndim, 1), name)
        n = self.shape[d] if self.ndim else 1
        index = index.reshape(-1)
        if index.size and (index.min() < (-n if negative else 0) or index.max() >= n):
            bad = index.max() if index.max() >= n else index.min()
            raise error(f"{name}(): index {bad} is out of bounds for dimension {d} with size {n}")
        return d, index % n if n else index

    def index_add(self, dim, index, source, *, alpha=1):
        """self with source's slices added at the positions index along dim (repeats add up)."""
        # torch's classes: RuntimeError from its 2-D+ alpha=1 kernel, IndexError otherwise
        d, index = self._along_index(dim, index, "index_add",
                                     error=RuntimeError if alpha == 1 and self.ndim >= 2 else IndexError)
        if self.ndim == 0:
            return self + (source if alpha == 1 else source * alpha).reshape(())
        shape = [1] * source.ndim
        shape[d] = -1
        full = np.ascontiguousarray(np.broadcast_to(index.reshape(shape), source.shape))
        return self.scatter_add(d, full, source if alpha == 1 else source * alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(lambda t, s: t.index_add(dim, index, s, alpha=alpha), source, "index_add_")

    def _along_mask(self, d, index):
        mask = np.zeros(self.shape[d] if self.ndim else 1, bool)
        mask[index] = True
        return Tensor._wrap(mask.reshape([-1 if i == d else 1 for i in range(self.ndim)]), False)

    def index_fill(self, dim, index, value):
        """value (a number or a 0-d tensor) in the slices at index along dim."""
        d, index = self._along_index(dim, index, "index_fill", long_only=IndexError, negative=True)
        return self.masked_fill(self._along_mask(d, index), value)

    def index_fill_(self, dim, index, value):
        return self._inplace(lambda t, v: t.index_fill(dim, index, v), value, "index_fill_")

    def index_copy(self, dim, index, source):
        """self with the slices at index along dim replaced by source's; differentiable."""
        d, index = self._along_index(dim, index, "index_copy", long_only=RuntimeError)
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                               f"{_torch_dtype_name(self._data.dtype)} and (source) "
                               f"{_torch_dtype_name(source._data.dtype)}")
        if self.ndim == 0:
            return source.reshape(()).clone()
        return SetItemFn.apply(self, (slice(None),) * d + (index,), source)

    def index_copy_(self, dim, index, source):
        return self._inplace(lambda t, s: t.index_copy(dim, index, s), source, "index_copy_")

    def masked_select(self, mask):
        """The entries where mask (bool, broadcast with self) is True, as a 1-D tensor."""
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {m.dtype}")
        shape = _broadcast_or_raise(self.shape, m.shape, "masked_select", "mask")
        return self.expand(shape)[np.ascontiguousarray(np.broadcast_to(m, shape))]

    def masked_scatter(self, mask, source):
        """self with the places where mask is True filled, in order, from source's first entries."""
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {m.dtype}")
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got "
                               f"{_torch_dtype_name(self._data.dtype)} and {_torch_dtype_name(source._data.dtype)}")
        shape = _broadcast_or_raise(self.shape, m.shape, "masked_scatter", "mask")
        m = np.ascontiguousarray(np.broadcast_to(m, shape))
        k = int(m.sum())
        if k > source.numel():
            raise RuntimeError("masked_scatter: expected source to have at least as many elements as ones in mask")
        return SetItemFn.apply(self.expand(shape) * 1 if shape != self.shape else self, m, source.reshape(-1)[:k])

    def masked_scatter_(self, mask, source):
        return self._inplace(lambda t, s: t.masked_scatter(mask, s), source, "masked_scatter_")

    # ---- statistics, scatters into a copy, index_put/put, renorm (ported code) ---------------------
    def cov(self, *, correction=1, fweights=None, aweights=None):
        """The covariance of the variables in the rows of a 2-D tensor (observations in its columns; a 1-D
        or 0-d tensor is one variable), as torch: fweights (integer counts) and aweights (floating
        weights) per observation, correction subtracted from the (weighted) count. Differentiable
        (a composite of mm, sum and division); a count of zero or less warns and gives inf/NaN."""
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                               f"{self.ndim} dimensions")
        if self._data.dtype == _BOOL:
            raise RuntimeError("cov(): bool dtype is not supported for input")
        x = self.reshape(1, -1) if self.ndim < 2 else self
        n = x.shape[1]
        w = None
        for name, v in (("fweights", fweights), ("aweights", aweights)):
            if v is None:
                continue
            if not isinstance(v, Tensor):
                raise TypeError(f"cov(): argument '{name}' must be Tensor, not {type(v).__name__}")
            if v.ndim > 1:
                raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                                   f"{v.ndim} dimensions")
            integral = v._data.dtype.kind in "iu"
            if name == "fweights" and not integral:
                raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                                   f"{_torch_dtype_name(v._data.dtype)} dtype")
            if name == "aweights" and v._data.dtype.kind != "f":
                raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                                   f"{_torch_dtype_name(v._data.dtype)} dtype")
            if v.numel() != n:
                raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in "
                                   f"the input but got {v.numel()} != {n}")
            if n and v._data.min() < 0:
                raise RuntimeError(f"cov(): {name} cannot be negative")
            w = v if w is None else w * v
        if w is not None:
            w_sum = w.sum()
            if not w_sum._data != 0:
                raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        else:
            w_sum = n
        with np.errstate(divide="ignore", invalid="ignore"):  # no observations or dof <= 0: NaN/inf, as torch
            return self._cov_of(x, w, w_sum, correction, aweights)

    @staticmethod
    def _cov_of(x, w, w_sum, correction, aweights):
        avg = (x if w is None else x * w).sum(1) / w_sum
        if w is not None and aweights is not None and correction != 0:
            norm_factor = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm_factor = w_sum - correction
        if np.asarray(norm_factor._data if isinstance(norm_factor, Tensor) else norm_factor) <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                          "of observations.", UserWarning, stacklevel=4)
            norm_factor = norm_factor * 0
        x = x - avg.unsqueeze(1)
        return x.mm((x if w is None else x * w).t()).true_divide(norm_factor).squeeze()

    def corrcoef(self):
        """Pearson's correlation coefficients of the rows (cov normalised by the standard deviations and
        clipped to [-1, 1]), as torch; a single variable gives c / c (1, or NaN for a constant)."""
        if self.ndim > 2:
            raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                               f"{self.ndim} dimensions")
        c = self.cov()
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant variable: NaN, as torch
            if c.ndim == 0:
                return c / c
            stddev = c.diagonal().sqrt()
            c = c / stddev.reshape(-1, 1)
            c = c / stddev.reshape(1, -1)
            return c.clip(-1, 1)

    def histogram(self, bins, *, range=None, weight=None, density=False):
        """(hist, bin_edges) of the flattened tensor, as torch.histogram: bins an int (that many equal bins
        over range, default the data's [min, max]; a point range widens by 0.5 each way) or a 1-D tensor
        of edges in self's dtype. Values outside the edges (and NaN) are left out; the last bin includes
        its right edge. weight (self's shape and dtype) sums weights instead of counting; density=True
        divides by the total and the bin widths. Floating tensors only. Not differentiable, as torch; the
        deliberate difference: hist never requires grad (torch's does when self does, and its backward
        raises). Edges made from an int are torch.linspace's to within an ulp or two."""
        dt = self._data.dtype
        if isinstance(bins, Tensor):
            if range is not None:
                raise TypeError("histogram(): 'range' cannot be given with a tensor of bin edges")
            if bins.ndim != 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {bins.ndim} "
                                   f"dimensions in the bins tensor for dimension 0")
            if bins._data.dtype != dt:
                raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but "
                                   f"got input with dtype {_torch_dtype_name(dt).lower()} and bins for dimension 0 "
                                   f"with dtype {_torch_dtype_name(bins._data.dtype).lower()}")
        elif isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
            raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
        if dt not in _FLOATS:
            raise NotImplementedError(f'"histogramdd" not implemented for \'{_torch_dtype_name(dt)}\'')
        if isinstance(bins, Tensor):
            if bins.numel() < 2:
                raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension 0")
            edges = bins._data.copy()
        else:
            if bins <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
            data = self._data
            if range is not None:
                lo, hi = (float(v) for v in range)
            elif data.size:
                lo, hi = float(data.min()), float(data.max())
            else:
                lo, hi = 0.0, 1.0  # torch's range for no data
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise RuntimeError(f"torch.histogramdd: dimension 0's range [{lo}, {hi}] is not finite")
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} "
                                   f"for dimension 0")
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            edges = _torch_linspace(lo, hi, int(bins) + 1, dt)
        w = None
        if weight is not None:
            if not isinstance(weight, Tensor):
                raise TypeError(f"histogram(): argument 'weight' must be Tensor, not {type(weight).__name__}")
            if weight._data.dtype != dt:
                raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                                   f"should have the same dtype, but got input({_torch_dtype_name(dt).lower()}), "
                                   f"and weight({_torch_dtype_name(weight._data.dtype).lower()})")
            if weight.shape != self.shape:
                raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape "
                                   f"as the input tensor, but got input with shape {list(self.shape)} and weight "
                                   f"with shape {list(weight.shape)}")
            w = weight._data.reshape(-1)
        nbins = max(edges.size - 1, 0)
        data = self._data.reshape(-1)
        inside = (data >= edges[0]) & (data <= edges[-1]) if edges.size else np.zeros(data.shape, bool)
        pos = np.minimum(np.searchsorted(edges, data[inside], side="right") - 1, nbins - 1)
        hist = np.bincount(pos, None if w is None else w[inside].astype(np.float64), nbins).astype(dt)
        if density:
            with np.errstate(divide="ignore", invalid="ignore"):
                hist = (hist / dt.type(hist.sum(dtype=np.float64)) / np.diff(edges)).astype(dt)
        return _Histogram(Tensor._wrap(hist, False), Tensor._wrap(edges, False))

    def frexp(self):
        """(mantissa, exponent) with self = mantissa * 2 ** exponent, |mantissa| in [0.5, 1) (0, inf and NaN
        keep their value with exponent 0); exponent int32, as torch. The mantissa is differentiable
        (self times the constant 2 ** -exponent, applied in two steps so that a subnormal's scale does not
        overflow)."""
        dt = self._data.dtype
        if dt not in _FLOATS:
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        _, e = np.frexp(self._data)
        e = np.where(np.isfinite(self._data), e, 0).astype(np.int32)
        half = -(e.astype(np.int64) // 2)
        scale1, scale2 = np.ldexp(dt.type(1), half).astype(dt), np.ldexp(dt.type(1), -e - half).astype(dt)
        mantissa = self * Tensor._wrap(scale1, False) * Tensor._wrap(scale2, False)
        return _Frexp(mantissa, Tensor._wrap(e, False))

    def _scatter_src(self, src, index, who):
        """SetItemFn of src (shape-checked against self[index] exactly, cast as copy_ casts) into self."""
        if not isinstance(src, Tensor):
            raise TypeError(f"{who}(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
        expected = np.empty(self.shape, np.bool_)[index].shape
        if src.shape != expected:
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                               f"slice size = {list(expected)}")
        return SetItemFn.apply(self, index, _cast_value(src, self._data.dtype))

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        """A copy of self with its diagonal (as self.diagonal(offset, dim1, dim2) picks it) replaced by src;
        differentiable to both."""
        d1, d2 = _check_axis(dim1, self.ndim, "diagonal_scatter"), _check_axis(dim2, self.ndim, "diagonal_scatter")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        n, m = self.shape[d1], self.shape[d2]
        lo, hi = max(0, -offset), min(n, m - offset)
        rows = np.arange(lo, hi) if hi > lo else np.zeros(0, np.int64)
        index = [slice(None)] * self.ndim
        index[d1], index[d2] = rows, rows + offset
        # NumPy puts the diagonal axis where the two indexed axes were when they are neighbours, else first;
        # torch's diagonal puts it last
        where_axis = min(d1, d2) if abs(d1 - d2) == 1 else 0
        if not isinstance(src, Tensor):
            raise TypeError(f"diagonal_scatter(): argument 'src' (position 1) must be Tensor, not "
                            f"{type(src).__name__}")
        expected = tuple(int(n) for n in np.delete(self.shape, (d1, d2))) + (rows.size,)
        if src.shape != expected:
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                               f"{list(src.shape)}, slice size = {list(expected)}")
        return self._scatter_src(src.movedim(-1, where_axis), tuple(index), "diagonal_scatter")

    def select_scatter(self, src, dim, index):
        """A copy of self with self.select(dim, index) replaced by src; differentiable to both."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = _check_axis(dim, self.ndim, "select_scatter")
        if not -self.shape[d] <= index < self.shape[d]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        return self._scatter_src(src, (slice(None),) * d + (int(index),), "select_scatter")

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        """A copy of self with self[..., start:end:step, ...] (along dim) replaced by src; differentiable."""
        if self.ndim == 0:
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        d = _check_axis(dim, self.ndim, "slice_scatter")
        if step <= 0:
            raise RuntimeError("slice step must be positive")
        return self._scatter_src(src, (slice(None),) * d + (slice(start, end, step),), "slice_scatter")

    def index_put(self, indices, values, accumulate=False):
        """A copy of self with self[indices] = values (indices a tuple of long, int, bool or byte tensors;
        values of self's dtype, broadcast to the indexed shape), or += with accumulate=True (repeated
        indices add up). Differentiable to self and values."""
        if not isinstance(indices, (tuple, list)):
            raise TypeError(f"index_put(): argument 'indices' (position 1) must be tuple of Tensors, not "
                            f"{type(indices).__name__}")
        for k, i in enumerate(indices):
            if not isinstance(i, Tensor):
                raise TypeError(f"expected Tensor as element {k} in argument 1, but got {type(i).__name__}")
            if i._data.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if not isinstance(values, Tensor):
            raise TypeError(f"index_put(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}")
        if values._data.dtype != self._data.dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                               f"{_torch_dtype_name(self._data.dtype)} for the destination and "
                               f"{_torch_dtype_name(values._data.dtype)} for the source.")
        index = _index_data(tuple(indices))
        try:
            picked = np.empty(self.shape, np.bool_)[index].shape
        except IndexError as e:
            raise IndexError(f"index_put: {e} (indexing a tensor of shape {list(self.shape)})") from None
        try:
            np.broadcast_shapes(values.shape, picked) == picked or 1 / 0
        except (ValueError, ZeroDivisionError):
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(picked)}") from None
        if not accumulate:
            return SetItemFn.apply(self, index, values)
        added = _shape_ops.GetItemGradFn.apply(values.expand(picked), self.shape, index)
        touched = np.zeros(self.shape, np.bool_)
        touched[index] = True
        return where(touched, self + added, self)  # untouched entries stay exactly as they were (-0.0)

    def index_put_(self, indices, values, accumulate=False):
        return self._inplace(lambda t, v: t.index_put(indices, v, accumulate), values, "index_put_")

    def put(self, index, source, accumulate=False):
        """A copy of self with the entries at index (into self flattened; negative counts from the end)
        replaced by source's (or added, accumulate=True); index int64, source of self's dtype with as many
        entries as index. Differentiable to self and source."""
        for name, v in (("index", index), ("source", source)):
            if not isinstance(v, Tensor):
                raise TypeError(f"put(): argument '{name}' must be Tensor, not {type(v).__name__}")
        if index._data.dtype != _I64:
            raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                               f"{_torch_dtype_name(index._data.dtype)}")
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                               f"{_torch_dtype_name(self._data.dtype)} and source.dtype = "
                               f"{_torch_dtype_name(source._data.dtype)}")
        if source.numel() != index.numel():
            raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                             f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
        n = self.numel()
        if index.numel() and n == 0:
            raise IndexError("put_(): Tried to put elements into an empty tensor")
        flat = index._data.reshape(-1)
        bad = flat[(flat < -n) | (flat >= n)]
        if bad.size:
            raise IndexError(f"out of range: tried to access index {bad[0]} on a tensor of {n} elements.")
        out = self.reshape(-1).index_put((Tensor._wrap(flat, False),), source.reshape(-1), accumulate)
        return out.reshape(self.shape)

    def put_(self, index, source, accumulate=False):
        return self._inplace(lambda t, s: t.put(index, s, accumulate), source, "put_")

    def renorm(self, p, dim, maxnorm):
        """self with each slice along dim whose p-norm exceeds maxnorm scaled to norm maxnorm (times
        maxnorm / (norm + 1e-7), as torch); differentiable, the norm's dependence on self included."""
        if isinstance(p, complex) or not isinstance(p, numbers.Real):
            raise TypeError(f"renorm(): argument 'p' must be a real number, not {type(p).__name__}")
        if not p > 0:
            raise RuntimeError("renorm: non-positive-norm not supported")
        if not maxnorm >= 0:
            raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
        if self.ndim <= 1:
            raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {self.ndim} dimensions")
        d = _check_axis(dim, self.ndim, "renorm")
        if self._data.dtype not in _FLOATS:
            raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                               f"{_torch_dtype_name(self._data.dtype)}")
        norm = self.norm(float(p), tuple(i for i in range(self.ndim) if i != d), keepdim=True)
        over = norm._data > maxnorm
        factor = where(over, float(maxnorm) / (norm + 1e-7), Tensor._wrap(np.ones((), self._data.dtype), False))
        return self * factor

    def renorm_(self, p, dim, maxnorm):
        return self._inplace(lambda t, _: t.renorm(p, dim, maxnorm), None, "renorm_")

    def split_with_sizes(self, split_sizes, dim=0):
        """The pieces of the given sizes (a list or tuple summing to the size of dim), as split(list)."""
        if not isinstance(split_sizes, (list, tuple)):
            raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 1) must be tuple of ints, not "
                            f"{type(split_sizes).__name__}")
        return self.split(list(split_sizes), dim)

    def new(self, *args, device=None):
        """torch's legacy constructor: new() an empty 1-D tensor, new(sizes...) a tensor of that size
        (zeros here, as new_empty), new(sequence or array) a tensor of that data, all in self's dtype;
        new(tensor) that tensor (sharing memory), which must have self's dtype."""
        _check_cpu(device, "new")
        dt = self._data.dtype
        if len(args) == 1 and isinstance(args[0], Tensor):
            other = args[0]
            if other._data.dtype != dt:
                raise TypeError(f"new(): expected a tensor of dtype {_torch_dtype_name(dt)} (self's), got "
                                f"{_torch_dtype_name(other._data.dtype)}")
            return other.view(other.shape)
        if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
            return tensor(args[0], dtype=dt)
        if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in args):
            raise TypeError(f"new(): data must be a sequence or the sizes ints (got "
                            f"{', '.join(type(a).__name__ for a in args)})")
        return Tensor._wrap(np.zeros(_shape_arg(args or (0,)), dt), False)

    # ---- sizes, dtypes and sampling under torch's names (ported code) ------------------------------
    def element_size(self):
        """The bytes of one entry."""
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        """numel() * element_size(), as torch."""
        return self._data.size * self._data.itemsize

    def is_complex(self):
        return False  # firstepoch has no complex dtypes

    def data_ptr(self):
        """The address of the first entry (views of one array give related addresses, as torch's)."""
        return self._data.__array_interface__["data"][0]

    def storage_offset(self):
        """The offset in entries from the start of the memory this tensor views (0 for a tensor with its
        own memory), as torch; a firstepoch op that copies where torch views gives 0."""
        root = self._data
        while isinstance(root.base, np.ndarray):
            root = root.base
        return (self.data_ptr() - root.__array_interface__["data"][0]) // self._data.itemsize

    def get_device(self):
        return -1  # torch's answer for a CPU tensor

    is_cpu = property(lambda self: True, doc="True: every tensor is on the CPU.")
    is_sparse = property(lambda self: False)
    is_meta = property(lambda self: False)
    is_quantized = property(lambda self: False)

    def stride(self, dim=None):
        """The step in entries between neighbours along each axis (0 along an expanded axis), as torch. An
        empty tensor reports C-contiguous steps, as torch's (NumPy gives its arrays all-zero strides)."""
        if self._data.size == 0:
            steps, n = [], 1
            for d in reversed(self._data.shape):
                steps.append(n)
                n *= max(d, 1)
            steps = tuple(reversed(steps))
        else:
            steps = tuple(s // self._data.itemsize for s in self._data.strides)
        return steps if dim is None else steps[_check_axis(dim, max(self.ndim, 1), "stride")]

    def type(self, dtype=None, non_blocking=False):
        """Without dtype, torch's legacy type name ('torch.FloatTensor', ...); with one (a dtype or such a
        name), self cast to it."""
        if dtype is None:
            return f"torch.{_torch_dtype_name(self._data.dtype)}Tensor"
        if isinstance(dtype, str):
            names = {f"torch.{_torch_dtype_name(d)}Tensor": d for d in _STORAGE}
            if dtype not in names:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = names[dtype]
        return self.to(dtype)

    def is_nonzero(self):
        """The truth of a one-entry tensor (RuntimeError for more or fewer), as torch."""
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self._data.reshape(()))

    def bernoulli(self, p=None, *, generator=None):
        """0/1 draws in self's dtype, 1 with probability self (or p, a number, for every entry); recorded
        with a zero gradient to self when self requires grad, as torch."""
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"bernoulli_tensor_cpu_self_" not implemented for '
                                      f"'{_torch_dtype_name(self._data.dtype)}'")
        probs = self._data if p is None else np.full(self.shape, float(p))
        if probs.size and (np.nanmin(probs) < 0 or np.nanmax(probs) > 1 or np.isnan(probs).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        g = _random.as_generator(generator, "bernoulli")
        values = (g.random(self.shape) < probs).astype(self._data.dtype)
        if _records_zero_grad((self,)):  # a zero gradient to the probabilities, as torch (p given or not)
            return ZeroGradFn.apply(self, values=values)
        return Tensor._wrap(values, False)


def _checked_requires_grad(self, flag):
    """`t.requires_grad = flag`, as torch's attribute: RuntimeError for a tensor that is not floating point
    (an int or bool tensor cannot require a gradient) and for switching off a non-leaf's flag. The flag
    itself is TensorBase's slot; ops set their results' through it directly (autograd/function.py)."""
    flag = bool(flag)
    if flag and self._data.dtype not in _FLOATS:
        raise RuntimeError(f"only Tensors of floating point and complex dtype can require gradients, got dtype "
                           f"{self._data.dtype}")
    if not flag and self._ctx is not None:
        raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                           "computed variable in a subgraph that doesn't require differentiation use "
                           "var_no_grad = var.detach().")
    _set_requires_grad(self, flag)


Tensor.requires_grad = property(TensorBase.__dict__["requires_grad"].__get__, _checked_requires_grad,
                                doc="Whether autograd records ops on this tensor (settable on leaves, as torch's).")


# The ops whose result can be a view of their input's memory (Tensor methods share the version counter
# of such results: see share_version).
_VIEW_FNS = (GetItemFn, ReshapeFn, PermuteFn, ExpandFn)


def _cast_value(value, dtype):
    """A value written in place (copy_, x[i] = v) in the target's dtype, as torch's copy_ casts (2.7 into
    an int64 tensor is 2): differentiable between floats, plain data otherwise."""
    if isinstance(value, Tensor):
        if value._data.dtype == dtype:
            return value
        if value.requires_grad and dtype.kind == "f":
            return value.to(dtype)
        return Tensor._wrap(value._data.astype(dtype), False)
    return value.astype(dtype, copy=False)


def _index_part(part):
    if isinstance(part, slice) and part.step is not None and part.step <= 0:  # torch's errors (NumPy reverses)
        raise ValueError("slice step cannot be zero" if part.step == 0 else "step must be greater than zero")
    if isinstance(part, Tensor):
        part = part._data
        if part.ndim and part.dtype.kind in "iu" and part.dtype not in (_I64, np.int32, np.uint8):
            raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got an index of "
                             f"dtype {part.dtype} and shape {part.shape}")
    if isinstance(part, np.ndarray):
        if part.dtype == np.uint8:  # as torch: a uint8 index (tensor or array) is a mask (deprecated there)
            warnings.warn("indexing with dtype uint8 is deprecated, please use a dtype bool instead", UserWarning,
                          stacklevel=4)
            part = part.astype(np.bool_)
    return part


def _index_data(index):
    """An index of x[index] with its Tensors as arrays. A list shorter than 32 holding a Tensor, a
    sequence, a slice, None or Ellipsis is a tuple of indices (x[[[0, 1], [1, 2]]] is x[[0, 1], [1, 2]]),
    as torch still does (NumPy dropped that rule)."""
    if isinstance(index, list) and len(index) < 32 and any(
            isinstance(i, (Tensor, list, tuple, np.ndarray, slice)) or i is None or i is Ellipsis for i in index):
        index = tuple(index)
    if isinstance(index, tuple):
        return tuple(_index_part(i) for i in index)
    return _index_part(index)


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) and not isinstance(p, bool)
               for p in parts)


def _same_basic_index(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return len(a) == len(b) and all(x == y if type(x) is type(y) else False for x, y in zip(a, b))


def _redirect(start, self, old):
    """In the graph recorded behind start, inputs that are `self` become `old` (self's value before an
    in-place change, whose history moves onto the new op); arrays those ops saved that are self's
    memory become old's copy, so the change cannot reach them."""
    if not isinstance(start, Tensor) or start._ctx is None:
        return
    stack, seen = [start._ctx], set()
    while stack:
        ctx = stack.pop()
        if id(ctx) in seen:
            continue
        seen.add(id(ctx))
        parents = ctx.parents
        if any(p is self for p in parents):
            ctx.parents = tuple(old if p is self else p for p in parents)
            saved = getattr(ctx, "saved_tensors", None)
            if saved:
                ctx.saved_tensors = tuple(old._data if a is self._data else a for a in saved)
            if not _saved_shares(ctx, self._data):  # nothing stale left: old's version is the recorded one
                recorded = ctx.versions or (0,) * len(parents)
                ctx.versions = tuple(_version_of(old) if p is self else v for p, v in zip(parents, recorded))
        for p in ctx.parents:
            if isinstance(p, TensorBase) and p._ctx is not None:
                stack.append(p._ctx)


def _saved_shares(ctx, array):
    """Whether an op's saved arrays include (may share memory with) array."""
    for a in getattr(ctx, "saved_tensors", None) or ():
        if isinstance(a, np.ndarray) and np.may_share_memory(a, array):
            return True
    return False


_torch_dtype_name = _linalg._torch_name  # torch's name of a dtype in its messages (Float, Double, Long, ...)


# ---- dtype promotion ---------------------------------------------------------------------------------
# torch.result_type: categories bool < integer < floating. Dimensioned tensors decide the dtype within a
# category (float32 with float64 gives float64, uint8 with int8 gives int16, int64 with float32 gives
# float32); a 0-d tensor or a Python number only counts when it is of a higher category (int32 tensor + 5
# stays int32, int32 tensor + 2.5 gives float32, the default dtype; float32 tensor + float64 0-d tensor stays
# float32). The cast is a visible Tensor.to before the op (differentiable between floats): kernels never
# cast. / on integers gives float32.

_F32, _I64, _BOOL = np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_)
_DEFAULT_FLOAT = [_F32]  # torch.get_default_dtype(); set_default_dtype changes it


def _broadcast_or_raise(shape, other, name, what):
    """np.broadcast_shapes(shape, other), or torch's RuntimeError naming both shapes."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(other))
    except ValueError:
        raise RuntimeError(f"{name}: the {what} of shape {list(other)} does not broadcast with the tensor's shape "
                           f"{list(shape)}") from None


def _check_can_cast(src, dst, name):
    """torch's canCast for an in-place op's output: no floating to integer or bool, no non-bool to bool (an
    integer result into a narrower integer tensor wraps: uint8 += int64 is allowed)."""
    if src == dst:
        return
    if (src.kind == "f" and dst.kind != "f") or (src.kind != "b" and dst.kind == "b"):
        raise RuntimeError(f"{name}: result type {_torch_dtype_name(src)} can't be cast to the "
                           f"desired output type {_torch_dtype_name(dst)}")


def _is_float(dt):
    return dt in _FLOATS


def _category(dt):
    return 2 if dt.kind == "f" else (0 if dt.kind == "b" else 1)


def _promote_types(a, b):
    """torch.promote_types for the storage dtypes: the higher category wins; within one, NumPy's rule."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """torch's combine_categories: the dtype of the higher-priority operands (dimensioned tensors over 0-d
    tensors over Python numbers; None when there are none), unless lower is of a higher category."""
    if higher is None:
        return lower
    if lower is None or _category(higher) >= _category(lower):
        return higher
    return _promote_types(higher, lower)


def _scalar_dtype(x):
    """The dtype a Python (or NumPy) number counts as: bool, int64 or float32 (the default dtype)."""
    if isinstance(x, (bool, np.bool_)):
        return _BOOL
    if isinstance(x, (int, np.integer)):
        return _I64
    return _DEFAULT_FLOAT[0]


def _result_type(*operands):
    """torch.result_type of Tensors and Python numbers."""
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            dt = x._data.dtype
            if x._data.ndim:
                dim = dt if dim is None else _promote_types(dim, dt)
            else:
                zero = dt if zero is None else _promote_types(zero, dt)
        else:
            dt = _scalar_dtype(x)
            wrapped = dt if wrapped is None else _promote_types(wrapped, dt)
    return _combine(dim, _combine(zero, wrapped))


def _as_operand(x, op):
    """x as a Tensor (numbers become 0-d arrays of the dtype the caller picks later)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")


def _promote(t, other, op, floating=False):
    """(t, other) converted to torch.result_type(t, other); floating=True (true division) makes a non-floating
    result float32. A number comes back as a 0-d array of the result dtype."""
    if op == "sub" and (t._data.dtype == _BOOL or isinstance(other, bool)  # a Python bool too, as torch
                        or (isinstance(other, Tensor) and other._data.dtype == _BOOL)):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if isinstance(other, (bool, int, float, np.number, np.bool_)):
        dt = t._data.dtype
        if dt.kind == "f":  # the common case (x * 0.5): a number never promotes a floating tensor
            return t, np.asarray(other, dtype=dt)
        target = _result_type(t, other)
        if floating and target.kind != "f":
            target = _DEFAULT_FLOAT[0]
        return t.to(target), np.asarray(other).astype(target)  # astype: an out-of-range int wraps, as torch
    other = _as_operand(other, op)
    target = _result_type(t, other)
    if floating and target.kind != "f":
        target = _DEFAULT_FLOAT[0]
    return t.to(target), other.to(target)


# ---- constructors ----------------------------------------------------------------------------------
# As torch's: sizes as separate ints or one tuple; dtype (NumPy dtype, a firstepoch alias such as
# firstepoch.long, or None for the default float32); device None, "cpu" or firstepoch.device("cpu")
# (another device raises: firstepoch is CPU-only); generator None (the global stream seeded by
# firstepoch.manual_seed), a firstepoch.Generator, an int seed or a NumPy Generator. The random
# values are NumPy's stream, not torch's (see firstepoch.random).

def _to_args(args, kwargs, who):
    """(dtype or None, copy) from the arguments of Tensor.to / Module.to, after checking the device."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{who}() got an unexpected keyword argument '{min(unknown)}'")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    copy = bool(kwargs.get("copy", False))
    args = list(args)
    if args and isinstance(args[0], Tensor):  # to(other, non_blocking, copy)
        dtype = args.pop(0)._data.dtype
    elif args and (isinstance(args[0], (str, _device_cls)) or (isinstance(args[0], int)
                                                              and not isinstance(args[0], bool))):
        device = args.pop(0)  # to(device, dtype, non_blocking, copy)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0)
    elif args and args[0] is not None and not isinstance(args[0], bool):
        dtype = args.pop(0)  # to(dtype, non_blocking, copy)
    if len(args) > 2 or not all(isinstance(a, bool) for a in args):
        raise TypeError(f"{who}() received an invalid combination of arguments: expected (dtype), (device, "
                        f"dtype), (tensor) or keywords, then non_blocking and copy flags")
    if len(args) == 2:
        copy = args[1]
    if device is not None:
        _check_device(device, who)
    return (None if dtype is None else _dtype(dtype, who)), copy


def _copy_in_order(t, order):
    """A differentiable copy of t whose memory runs in axis order `order` (outermost first; None: C
    order): the copy is made C-contiguous in that order, then viewed back in t's axis order."""
    if order is None:
        return CloneFn.apply(t)
    return CloneFn.apply(t.permute(*order)).permute(*np.argsort(order).tolist())


def _memory_format_kwarg(kwargs, who):
    """The memory_format keyword of Tensor.to / Module.to, checked (preserve_format when absent)."""
    return _formats.check_memory_format(kwargs.get("memory_format"), who, _formats.preserve_format)


def _new(array, dtype, device, requires_grad, who):
    """A new leaf tensor holding array cast to dtype (None: keep array's), after the device check."""
    if device is not None:
        _check_device(device, who)
    if dtype is not None:
        dtype = _dtype(dtype, who)
        array = np.asarray(array).astype(dtype, copy=False)
    t = Tensor(array, requires_grad)
    if dtype is not None and t._data.dtype != dtype:  # never a silent change of the dtype asked for
        raise TypeError(f"{who}: dtype {dtype} is not supported (float32, float64, int64 and bool are)")
    return t


def _dtype(dtype, who):
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{who}: dtype must be a dtype such as firstepoch.float32, got {dtype!r}") from None


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor from a list, a number or an array (arrays keep float32/float64; see the module doc)."""
    if device is not None:
        _check_device(device, "tensor")
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    source = data._data if isinstance(data, Tensor) else data
    if isinstance(source, np.ndarray) and np.shares_memory(t._data, source):
        if _CAPTURE[0] is not None:
            _refuse_copy()
        t._data = t._data.copy()  # like torch.tensor: never shares memory with the input
    return t


def from_numpy(array):
    """A tensor sharing memory with a float32/float64/int64/bool array."""
    return Tensor(array)


def _shape_arg(shape, negative_ok=False):
    """Sizes given as ints or one tuple/list, as a tuple of ints: as torch, a size that is not an int
    (2.0) is a TypeError and a negative one a RuntimeError (negative_ok: expand's -1, repeat's check)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer, Tensor)):
            raise TypeError(f"sizes must be ints, got {type(s).__name__} ({s!r}) in {tuple(shape)}")
        s = s.__index__()
        if s < 0 and not negative_ok:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
        out.append(s)
    return tuple(out)


def _size_arg(size, size_kw):
    """The size of zeros(2, 3), zeros((2, 3)) or zeros(size=(2, 3))."""
    if size_kw is not None:
        if size:
            raise TypeError("give the size as arguments or as size=, not both")
        return _shape_arg((size_kw,))
    return _shape_arg(size)


def _float_dtype(dtype):
    dt = np.dtype(_DEFAULT_FLOAT[0] if dtype is None else dtype)
    return dt


def get_default_dtype():
    """The dtype of floating tensors made from Python numbers and of the constructors: float32 unless
    set_default_dtype changed it."""
    return _DEFAULT_FLOAT[0]


def set_default_dtype(d):
    """Makes d (float32 or float64) the default floating dtype: of Python floats in tensor(), of the
    constructors, and of integer results made floating (x / 2, x.exp()). Deliberate difference: other
    dtypes raise TypeError (torch also takes float16/bfloat16); the repr still omits only float32."""
    d = np.dtype(d)
    if d not in _FLOATS:
        raise TypeError(f"only floating-point types are supported as the default type (float32, float64 here), "
                        f"got {d}")
    _DEFAULT_FLOAT[0] = d


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    dt = _float_dtype(dtype)
    return _new(np.zeros(_size_arg(sizes, size), dt), dt, device, requires_grad, "zeros")


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    dt = _float_dtype(dtype)
    return _new(np.ones(_size_arg(sizes, size), dt), dt, device, requires_grad, "ones")


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False, memory_format=_formats.contiguous_format):
    """A new tensor of the given size (channels-last strides for memory_format=channels_last, as torch).
    Unlike torch.empty its values are not left uninitialised: they are zeros (a deliberate difference:
    nothing reads garbage)."""
    if _formats.check_memory_format(memory_format, "empty", _formats.contiguous_format) is _formats.preserve_format:
        raise RuntimeError("unsupported memory format Preserve")
    dt = _float_dtype(dtype)
    return _laid_out(_new(np.zeros(_size_arg(sizes, size), dt), dt, device, requires_grad, "empty"), memory_format,
                     "empty")


def _fill_dtype(value):
    """torch.full's dtype for a fill value without dtype=: bool, int64 for an int, else float32."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    return _DEFAULT_FLOAT[0]


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """size filled with fill_value; without dtype, as torch: a bool fill gives bool, an int int64, a
    float float32."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (bool, int, float, complex, np.number, np.bool_)):  # torch: TypeError
        raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not {type(fill_value).__name__}")
    dt = _fill_dtype(fill_value) if dtype is None else _dtype(dtype, "full")
    _check_number_fits(fill_value, dt, "full")
    shape = (size,) if isinstance(size, (int, np.integer)) else size
    return _new(np.full(_shape_arg((shape,)), fill_value, dt), dt, device, requires_grad, "full")


def _random_float_dtype(dtype, who):
    dt = _float_dtype(dtype)
    if dt not in _FLOATS:  # torch's class (its kernel is not built for the dtype)
        raise NotImplementedError(f"{who}: dtype must be floating (float32 or float64), got {dt}")
    return dt


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal values (NumPy's stream: see the section comment)."""
    dt = _random_float_dtype(dtype, "randn")
    g = _random.as_generator(generator, "randn")
    return _new(g.standard_normal(_size_arg(sizes, size)).astype(dt), None, device, requires_grad, "randn")


def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform values in [0, 1) (NumPy's stream: see the section comment)."""
    dt = _random_float_dtype(dtype, "rand")
    g = _random.as_generator(generator, "rand")
    return _new(g.random(_size_arg(sizes, size)).astype(dt), None, device, requires_grad, "rand")


def randint(*args, size=None, low=None, high=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high): randint(high, size) or randint(low, high, size), as
    torch (size a tuple); int64 unless dtype says otherwise."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if high is None and args:
        high = args.pop()
    if low is None and args:
        low = args.pop()
    if args or high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size), size a tuple")
    for name, v in (("low", low), ("high", high)):
        if v is not None and not isinstance(v, (int, np.integer)):  # torch: TypeError for 5.5
            raise TypeError(f"randint(): argument '{name}' must be int, not {type(v).__name__}")
    low = 0 if low is None else int(low)
    high = int(high)
    if low >= high:
        raise RuntimeError(f"randint: expects low < high, got low={low} and high={high}")
    dt = np.dtype(np.int64 if dtype is None else dtype)
    if dt.kind in "iu" and (high - 1 > np.iinfo(dt).max or low < np.iinfo(dt).min):  # torch: no silent wrap
        raise RuntimeError(f"randint: [{low}, {high}) is out of bounds for {dt}")
    g = _random.as_generator(generator, "randint")
    values = g.integers(low, high, size=_shape_arg((size,)), dtype=np.int64)
    return _new(values, np.int64 if dtype is None else dtype, device, requires_grad, "randint")


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64 unless dtype says otherwise)."""
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    g = _random.as_generator(generator, "randperm")
    return _new(g.permutation(n).astype(np.int64), np.int64 if dtype is None else dtype, device, requires_grad,
                "randperm")


def multinomial(input, num_samples, replacement=False, generator=None):
    """num_samples category indices (int64) drawn from the weights in each row of input (1-D: one row;
    2-D: one draw list per row), as torch: weights need not sum to 1; without replacement an index is
    drawn at most once per row (rows with fewer nonzero weights than num_samples go on with the zero
    ones, as torch). Errors as torch's (RuntimeError)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: input must be a Tensor, got {type(input).__name__}")
    p = input._data
    if p.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    if p.dtype not in _FLOATS:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {p.dtype}")
    n = p.shape[-1]
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (num_samples={num_samples})")
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (num_samples={num_samples}, {n} categories)")
    rows = p.reshape(-1, n).astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    sums = rows.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    g = _random.as_generator(generator, "multinomial")
    r = rows.shape[0]
    if replacement:  # inverse CDF: the first category whose cumulative weight exceeds u, row by row at once
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]  # the last entry exactly 1.0, as are trailing zero weights' (never drawn)
        offset = np.arange(r)[:, None]
        u = g.random((r, num_samples))
        idx = np.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right").reshape(r, num_samples)
        idx = np.minimum(idx - offset * n, n - 1)
    else:  # Gumbel top-k: the order of the k largest log(p) + Gumbel noise is a draw without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(g.random(rows.shape)))
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64)
    return Tensor._wrap(idx if p.ndim == 2 else idx[0], False)


def normal(mean, std=1.0, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal draws: normal(mean_tensor, std_tensor), normal(mean_tensor, std=1.0),
    normal(mean, std_tensor), or normal(mean, std, size) with numbers (float32), as torch. The result
    is recorded in the graph when mean or std requires grad, as torch's, with a zero gradient to both:
    the sample is not reparameterised (write mean + std * randn_like(std) for a gradient)."""
    g = _random.as_generator(generator, "normal")
    if device is not None:
        _check_device(device, "normal")
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal: size is only for a number mean and a number std")
        dt = mean.dtype if isinstance(mean, Tensor) else std.dtype
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        if size is None:
            raise TypeError("normal: with a number mean and std, size is required")
        dt = _float_dtype(dtype)
        shape = _shape_arg((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    if dt not in _FLOATS:
        raise RuntimeError(f"normal: expected a floating dtype, got {dt}")
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal expects std >= 0.0")
    values = (m + s * g.standard_normal(shape)).astype(dt)
    if _records_zero_grad((mean, std)):
        return ZeroGradFn.apply(*(t for t in (mean, std) if isinstance(t, Tensor)), values=values)
    return _new(values, None, None, requires_grad, "normal")


def _records_zero_grad(params):
    """Whether a draw from these parameters goes into the graph (with a zero gradient to them), as torch
    records normal, bernoulli and poisson when a parameter requires grad."""
    return is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in params)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... below end: int64 when every argument is an int, else float32, as torch."""
    start, end, step = (s.item() if isinstance(s, Tensor) else s for s in (start, end, step))
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign (start={start}, "
                           f"end={end}, step={step})")
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else _DEFAULT_FLOAT[0]
    elif np.dtype(dtype) == _BOOL:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    elif values.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        # as torch, float arguments with an integer dtype: int64 truncates all three first (arange(0, 2.5,
        # dtype=int64) is [0, 1]); the other integer dtypes take the length from the float arguments and the
        # values from start and step truncated (arange(-3, 3, 1.5, dtype=int32) is [-3, -2, -1, 0])
        if np.dtype(dtype) == _I64:
            start, end, step = int(start), int(end), int(step)
            if step == 0:
                raise ValueError(f"arange: step must be nonzero (step {step} as int64)")
            values = np.arange(start, end, step)
        else:
            values = int(start) + np.arange(len(values), dtype=np.int64) * int(step)
    return _new(values, dtype, device, requires_grad, "arange")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """steps values evenly spaced from start to end (both included); float32 unless dtype says otherwise."""
    steps = int(steps)
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    values = np.linspace(float(start), float(end), steps)
    return _new(values, _float_dtype(dtype), device, requires_grad, "linspace")


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m (default n x n) identity: ones on the diagonal, float32 unless dtype says otherwise."""
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    dt = _float_dtype(dtype)
    return _new(np.eye(int(n), int(m), dtype=dt), dt, device, requires_grad, "eye")


def _like_dtype(t, dtype):
    return t.dtype if dtype is None else dtype


def _laid_out(t, memory_format, who):
    """A new leaf t with its memory in memory_format's order: channels-last strides for channels_last /
    channels_last_3d, else C order as made (torch's preserve_format would copy the input's strides: a
    deliberate difference, in the README's porting table)."""
    order = _formats.channels_last_order(memory_format, t.ndim, who, _formats.preserve_format)
    if order is not None:
        t._data = np.ascontiguousarray(t._data.transpose(order)).transpose(np.argsort(order))
    return t


def zeros_like(input, dtype=None, device=None, requires_grad=False, *, memory_format=_formats.preserve_format):
    return _laid_out(zeros(input.shape, dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad),
                     memory_format, "zeros_like")


def ones_like(input, dtype=None, device=None, requires_grad=False, *, memory_format=_formats.preserve_format):
    return _laid_out(ones(input.shape, dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad),
                     memory_format, "ones_like")


def empty_like(input, dtype=None, device=None, requires_grad=False, *, memory_format=_formats.preserve_format):
    return _laid_out(empty(input.shape, dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad),
                     memory_format, "empty_like")


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, *,
              memory_format=_formats.preserve_format):
    return _laid_out(full(input.shape, fill_value, dtype=_like_dtype(input, dtype), device=device,
                          requires_grad=requires_grad), memory_format, "full_like")


def randn_like(input, dtype=None, device=None, requires_grad=False, generator=None, *,
               memory_format=_formats.preserve_format):
    return _laid_out(randn(input.shape, dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad,
                           generator=generator), memory_format, "randn_like")


def rand_like(input, dtype=None, device=None, requires_grad=False, generator=None, *,
              memory_format=_formats.preserve_format):
    return _laid_out(rand(input.shape, dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad,
                          generator=generator), memory_format, "rand_like")


# ---- functions over several tensors -----------------------------------------------------------------

def _check_axis(dim, ndim, op):
    """Raises IndexError unless -ndim <= dim < ndim (an axis of a tensor with ndim axes); returns dim % ndim."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for {ndim} axes (expected {-ndim} to {ndim - 1})")
    return int(dim) % ndim


def _promoted(tensors):
    """The tensors cast to their common dtype (torch.cat's promotion: every operand counts)."""
    target = tensors[0]._data.dtype
    for t in tensors[1:]:
        target = _promote_types(target, t._data.dtype)
    return [t.to(target) for t in tensors]


def cat(tensors, dim=0):
    """Joins tensors along an existing axis dim; their other axes must match. As torch, a 1-D empty
    tensor (shape (0,)) is left out whatever the others' shapes (its dtype still takes part in the
    promotion), so `out = cat([tensor([]), x])` works."""
    if isinstance(tensors, Tensor):  # torch's TypeError: a sequence of tensors, not one tensor
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    tensors = _promoted(tensors)
    tensors = [t for t in tensors if t.shape != (0,)] or tensors
    if any(t.ndim == 0 for t in tensors):
        raise RuntimeError(f"cat: zero-dimensional tensor (at position "
                           f"{next(i for i, t in enumerate(tensors) if t.ndim == 0)}) cannot be concatenated")
    _check_axis(dim, tensors[0].ndim, "cat")
    return CatFn.apply(dim, *tensors)


def stack(tensors, dim=0):
    """Joins tensors of one shape along a new axis dim."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    tensors = _promoted(tensors)
    _check_axis(dim, tensors[0].ndim + 1, "stack")
    return StackFn.apply(dim, *tensors)


_NO_VALUE = object()


@_broadcasting
def where(cond, a=_NO_VALUE, b=_NO_VALUE):
    """a where cond is True, else b (broadcast together); a or b may be a number. cond must be boolean.
    where(cond) alone is cond.nonzero(as_tuple=True), as torch."""
    if a is _NO_VALUE and b is _NO_VALUE:
        return (cond if isinstance(cond, Tensor) else tensor(cond)).nonzero(as_tuple=True)
    if a is _NO_VALUE or b is _NO_VALUE:
        raise TypeError("where() takes the condition alone, or the condition, input and other")
    cond = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where: cond must be a boolean tensor or array, got {cond.dtype} of shape "
                           f"{cond.shape}")
    if isinstance(a, Tensor):
        a, b = a._pair(b, "where")
    elif isinstance(b, Tensor):
        b, a = b._pair(a, "where")
    else:
        a, b = tensor(a)._pair(b, "where")
    return WhereFn.apply(cond, a, b)


def matmul(a, b):
    return (a if isinstance(a, Tensor) else Tensor(a)) @ b


# ---- helpers of the ported-code methods (issue 16) ----------------------------------------------------

def _dims_arg(dims, ndim, op):
    """dims given as ints or one tuple/list, as a tuple of axes in 0..ndim-1: IndexError for an axis out
    of range, RuntimeError for one named twice (as PyTorch)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = tuple(_check_axis(d, ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {next(d for d in axes if axes.count(d) > 1)} appears multiple times in "
                           f"the list of dims {list(dims)}")
    return axes


def _sort_index(a, dim, descending):
    """The stable sorting permutation of a along dim (int64); NaN counts as the largest value. For
    descending order, sorting the reversed array ascending and reversing the result keeps equal values
    in their original order."""
    if not descending:
        return np.argsort(a, axis=dim, kind="stable").astype(np.int64, copy=False)
    n = a.shape[dim]
    flipped = np.argsort(np.flip(a, dim), axis=dim, kind="stable")
    return (n - 1 - np.flip(flipped, dim)).astype(np.int64, copy=False)


def _check_cpu(device, op):
    if device is not None and str(device) not in ("cpu", "cpu:0"):
        raise RuntimeError(f"{op}: firstepoch runs on the CPU only, got device {device!r}")


__all__ = ["Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "randn", "rand", "arange", "zeros_like",
           "ones_like", "randn_like", "rand_like", "cat", "stack", "where", "matmul", "is_grad_enabled"]



def tensordot(a, b, dims=2):
    """Contracts the last `dims` axes of a with the first `dims` of b, or the axes listed in
    dims = (dims_a, dims_b); differentiable (a matmul of the two reshaped operands)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims} (shapes "
                               f"{tuple(a.shape)} and {tuple(b.shape)})")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"both dimension lists should have same length, got {dims_a} and {dims_b}")
    dims_a = [_check_axis(d, a.ndim, "tensordot") for d in dims_a]
    dims_b = [_check_axis(d, b.ndim, "tensordot") for d in dims_b]
    for i, j in zip(dims_a, dims_b):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                               f"and second has size {b.shape[j]} in dim {j}")
    free_a = [i for i in range(a.ndim) if i not in dims_a]
    free_b = [j for j in range(b.ndim) if j not in dims_b]
    k = int(np.prod([a.shape[i] for i in dims_a]))
    left = a.permute(tuple(free_a + dims_a)).reshape(-1, k)
    right = b.permute(tuple(dims_b + free_b)).reshape(k, -1)
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    return (left @ right).reshape(out_shape)


def _triangle_indices(row, col, offset, dtype, lower, who):
    dt = _dtype(dtype if dtype is not None else _I64, who)
    if dt.kind not in "iu":
        raise RuntimeError(f'"{who}" not implemented for \'{_torch_dtype_name(dt)}\'')
    keep = np.tri(row, col, offset, dtype=bool) if lower else ~np.tri(row, col, offset - 1, dtype=bool)
    return Tensor._wrap(np.stack(np.nonzero(keep)).astype(dt).reshape(2, -1), False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the lower triangle (j <= i + offset), row by row."""
    _check_cpu(device, "tril_indices")
    return _triangle_indices(row, col, offset, dtype, True, "tril_indices")


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (2, N) row and column indices of the upper triangle (j >= i + offset), row by row."""
    _check_cpu(device, "triu_indices")
    return _triangle_indices(row, col, offset, dtype, False, "triu_indices")


def _std_or_var_mean(input, which, args, kwargs):
    spread = getattr(input, which)(*args, **kwargs)
    dim = kwargs.get("dim", args[0] if args else None)
    keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    return spread, input.mean(dim, keepdim)


def std_mean(input, *args, **kwargs):
    """(std, mean) over the same dims, with std's arguments (dim, unbiased / correction=, keepdim)."""
    return _std_or_var_mean(input, "std", args, kwargs)


def var_mean(input, *args, **kwargs):
    """(var, mean) over the same dims, with var's arguments (dim, unbiased / correction=, keepdim)."""
    return _std_or_var_mean(input, "var", args, kwargs)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """For each value of input, the index where it would go into sorted_sequence along its last axis
    (1-D, or with input's leading axes); right=True / side='right' places it after equal entries."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._data if isinstance(sorter, Tensor) else np.asarray(sorter), -1)
    values = input._data if isinstance(input, Tensor) else np.asarray(input)
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = np.searchsorted(seq, values, side=how)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(r, v, side=how) for r, v in zip(rows, vals)]).reshape(values.shape)
    return Tensor._wrap(np.asarray(out, np.int32 if out_int32 else np.int64), False)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among the 1-D sorted boundaries (right=False: boundaries[i-1] < x <=
    boundaries[i]), as torch.bucketize."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---- dtype queries, more constructors and sampling under torch's names (ported code) ---------------

class finfo:
    """The limits of a floating dtype (NumPy's numbers): bits, eps, max, min, tiny (= smallest_normal),
    resolution and dtype (its name, as torch)."""

    def __init__(self, type=None):
        dt = get_default_dtype() if type is None else np.dtype(type)
        if dt.kind != "f":
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{dt}'")
        info = np.finfo(dt)
        self.bits, self.eps, self.max, self.min = info.bits, float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution, self.dtype = 10.0 ** -int(info.precision), dt.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, eps={self.eps:e}, "
                f"smallest_normal={self.smallest_normal:e}, tiny={self.tiny:e}, dtype={self.dtype})")


class iinfo:
    """The limits of an integer (or bool) dtype: bits, max, min and dtype (its name)."""

    def __init__(self, type):
        dt = np.dtype(type)
        if dt.kind not in "iub":
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{dt}'")
        if dt.kind == "b":
            self.bits, self.min, self.max = 8, 0, 1
        else:
            info = np.iinfo(dt)
            self.bits, self.min, self.max = info.bits, int(info.min), int(info.max)
        self.dtype = dt.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def result_type(tensor1, tensor2):
    """torch.result_type of two Tensors or numbers."""
    return _result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _promote_types(np.dtype(type1), np.dtype(type2))


def can_cast(from_, to):
    """Whether torch's casting rules allow from_ -> to: never to a lower category (float -> int, int ->
    bool); within one, always."""
    return _category(np.dtype(from_)) <= _category(np.dtype(to))


def is_nonzero(input):
    return input.is_nonzero()


def as_tensor(data, dtype=None, device=None):
    """data as a Tensor without a copy where it can: a Tensor of that dtype is returned itself, a NumPy
    array of a storage dtype shares its memory; anything else is converted as tensor() does."""
    _check_cpu(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data._data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and data.dtype in _STORAGE and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor(data)
    return tensor(data, dtype=dtype)


def _torch_linspace(start, end, steps, dtype):
    """torch.linspace's values in dtype: the first half stepped up from start, the second down from end
    (np.linspace steps up from start only, which can differ in the last place)."""
    start, end = dtype.type(start), dtype.type(end)
    if steps == 1:
        return np.array([start], dtype)
    step = (end - start) / dtype.type(steps - 1)
    i = np.arange(steps)
    halfway = steps // 2
    return np.where(i < halfway, start + step * i.astype(dtype), end - step * (steps - i - 1).astype(dtype)).astype(dtype)


def _window(name, window_length, periodic, dtype, device, requires_grad, values):
    """A window function of torch's: checks, the lengths 0 and 1, the periodic form (one point more,
    the last dropped), values(n, dtype) for the n-point symmetric window computed in dtype."""
    dt = _float_dtype(dtype) if dtype is None else _dtype(dtype, name)
    if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if dt not in _FLOATS:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {_torch_dtype_name(dt)}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    n = int(window_length)
    if n <= 1:
        w = np.ones(n, dt)
    else:
        w = values(n + 1 if periodic else n, dt)[:n]
    return _new(w, dt, device, requires_grad, name)


def _cosine_window(n, dt, alpha, beta):
    # torch's order: arange * (2 pi / (n - 1)), cos, * -beta, + alpha, each in dt
    return np.cos(np.arange(n, dtype=dt) * dt.type(math.pi * 2.0 / (n - 1))) * dt.type(-beta) + dt.type(alpha)


def hann_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """0.5 - 0.5 cos(2 pi k / (N - 1)); periodic=True (the default) is the N + 1 point window without its
    last point, as torch. float32 unless dtype (a floating one) is given."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, dt: _cosine_window(n, dt, 0.5, 0.5))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, device=None,
                   requires_grad=False):
    """alpha - beta cos(2 pi k / (N - 1)) (periodic as hann_window)."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, dt: _cosine_window(n, dt, alpha, beta))


def _blackman(n, dt):
    w = np.arange(n, dtype=dt) * dt.type(math.pi / (n - 1))
    return np.cos(w * dt.type(4)) * dt.type(0.08) - np.cos(w * dt.type(2)) * dt.type(0.5) + dt.type(0.42)


def blackman_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1)) (periodic as hann_window)."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad, _blackman)


def _bartlett(n, dt):
    w = np.arange(n, dtype=dt) * dt.type(2.0 / (n - 1))
    half = ((n - 1) >> 1) + 1
    w[half:] = w[half:] * dt.type(-1) + dt.type(2)
    return w


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """The triangle 1 - |2k / (N - 1) - 1| (periodic as hann_window)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad, _bartlett)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None, requires_grad=False):
    """I0(beta sqrt(1 - ((k - a) / a) ** 2)) / I0(beta), a = (N - 1) / 2 (periodic as hann_window).
    Computed in float64 with NumPy's i0 (Cephes' series, as torch's) and then cast: float64 values agree
    with torch's to a few units in the last place (its i0 rounds differently), float32 ones are nearer
    the exact values than torch's float32 arithmetic."""
    def values(n, dt):
        a = (n - 1) / 2.0
        k = np.arange(n, dtype=np.float64)
        return (np.i0(beta * np.sqrt(np.abs(1 - ((k - a) / a) ** 2))) / np.i0(float(beta))).astype(dt)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, values)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding the number s, in the default floating dtype (float32) unless dtype is given,
    whatever the number's kind (scalar_tensor(3) is 3.0), as torch."""
    if isinstance(s, Tensor) and s.ndim == 0:
        s = s.item()
    if not isinstance(s, (numbers.Number, np.number, np.bool_)) or isinstance(s, complex):
        raise TypeError(f"scalar_tensor(): argument 's' (position 1) must be Number, not {type(s).__name__}")
    dt = _float_dtype(None) if dtype is None else _dtype(dtype, "scalar_tensor")
    _check_number_fits(s, dt, "scalar_tensor")
    return _new(np.array(s).astype(dt), dt, device, requires_grad, "scalar_tensor")


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """obj as a Tensor, as torch.asarray: without a copy where it can (a Tensor of that dtype is returned
    itself, a NumPy array of a storage dtype shares its memory), a copy for copy=True, ValueError for
    copy=False where one is needed; a cast of a Tensor is differentiable. requires_grad left out keeps
    a Tensor's (torch 2.13's default, without its warning); False detaches; True makes the result a leaf
    that requires grad. Other objects (lists, numbers) convert as tensor() does."""
    _check_cpu(device, "asarray")
    dt = None if dtype is None else _dtype(dtype, "asarray")
    if isinstance(obj, Tensor):
        cast = dt is not None and dt != obj._data.dtype
        if cast and copy is False:
            raise ValueError(f"can't alias tensor with dtype '{_torch_dtype_name(obj._data.dtype)}' into dtype "
                             f"'{_torch_dtype_name(dt)}'.")
        out = obj.to(dt) if cast else obj.clone() if copy else obj
        if requires_grad is False and out.requires_grad:
            out = out.detach()
        elif requires_grad:
            out.requires_grad_(True)
        return out
    if isinstance(obj, np.ndarray) and not copy:
        if obj.dtype in _STORAGE and (dt is None or dt == obj.dtype):
            t = Tensor(obj)
        elif copy is False:
            raise ValueError(f"can't alias a NumPy array of dtype {obj.dtype} into dtype {dt or obj.dtype}.")
        else:
            t = tensor(obj, dtype=dt)
    elif copy is False and not isinstance(obj, np.ndarray):
        raise ValueError("can't alias arbitrary sequence into a tensor.")
    else:
        t = tensor(obj, dtype=dt)
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False):
    """A tensor of the given size whose memory is laid out with the given strides (in entries; stride()
    reports them back, 0 and overlapping ones included), as torch. Deliberate difference, as empty: its
    values are zeros, not uninitialised memory. Negative strides are torch's RuntimeError."""
    shape, steps = _shape_arg((size,)), tuple(int(s) for s in stride)
    if len(shape) != len(steps):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
                           f"({len(steps)})")
    if any(s < 0 for s in steps):
        raise RuntimeError(f"empty_strided: negative strides are not supported, got sizes={list(shape)} and "
                           f"strides={list(steps)}")
    dt = _float_dtype(None) if dtype is None else _dtype(dtype, "empty_strided")
    storage = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, steps))
    memory = np.zeros(storage, dt)
    array = np.lib.stride_tricks.as_strided(memory, shape, tuple(s * dt.itemsize for s in steps), writeable=True)
    return _new(array, dt, device, requires_grad, "empty_strided")


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """steps values base ** (evenly spaced exponents from start to end)."""
    steps = int(steps)
    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative, got {steps}")
    values = np.power(float(base), np.linspace(float(start), float(end), steps))
    return _new(values, _float_dtype(dtype), device, requires_grad, "logspace")


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, generator=None,
                 memory_format=_formats.preserve_format):
    """randint(low, high) in input's shape and (unless dtype says otherwise) dtype; one number is high."""
    if high is None:
        low, high = 0, low
    dt = input._data.dtype if dtype is None else _dtype(dtype, "randint_like")
    return _laid_out(randint(int(low), int(high), input.shape, generator=generator, dtype=dt, device=device,
                             requires_grad=requires_grad), memory_format, "randint_like")


def bernoulli(input, p=None, *, generator=None):
    return input.bernoulli(p, generator=generator)


def poisson(input, generator=None):
    """A Poisson draw with rate input for each entry, in input's dtype."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"poisson_cpu" not implemented for \'{_torch_dtype_name(input._data.dtype)}\'')
    if input._data.size and np.nanmin(input._data) < 0:
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    g = _random.as_generator(generator, "poisson")
    values = g.poisson(input._data.astype(np.float64)).astype(input._data.dtype)
    if _records_zero_grad((input,)):  # a zero gradient to the rate, as torch
        return ZeroGradFn.apply(input, values=values)
    return Tensor._wrap(values, False)
