"""The top-level functions of `torch` (torch.exp, torch.sum, torch.max, torch.einsum, ...): each a thin
wrapper over the Tensor method or the tensor.py function of the same meaning (one home per op), so
that `torch.f(x, ...)` ported as `firstepoch.f(x, ...)` gives what `x.f(...)` gives."""
import numpy as np

from .ops.linalg import EinsumFn
from .tensor import (Tensor, bucketize, cat, matmul, searchsorted, std_mean, tensordot, tril_indices, triu_indices,
                     var_mean)


def _t(x, who):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x


def exp(input):
    return _t(input, "exp").exp()


def log(input):
    return _t(input, "log").log()


def log10(input):
    return _t(input, "log10").log10()


def log2(input):
    return _t(input, "log2").log2()


def sqrt(input):
    return _t(input, "sqrt").sqrt()


def abs(input):
    return _t(input, "abs").abs()


def relu(input):
    return _t(input, "relu").relu()


def sigmoid(input):
    return _t(input, "sigmoid").sigmoid()


def tanh(input):
    return _t(input, "tanh").tanh()


def softmax(input, dim, dtype=None):
    return _t(input, "softmax").softmax(dim, dtype)


def log_softmax(input, dim, dtype=None):
    return _t(input, "log_softmax").log_softmax(dim, dtype)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    return _t(input, "sum").sum(dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    return _t(input, "mean").mean(dim, keepdim, dtype=dtype)


def std(input, *args, **kwargs):
    return _t(input, "std").std(*args, **kwargs)


def var(input, *args, **kwargs):
    return _t(input, "var").var(*args, **kwargs)


def _extreme(input, args, kwargs, method, elementwise, who):
    """torch.max / torch.min: (input) the extreme entry; (input, dim, keepdim) (values, indices);
    (input, other) the elementwise extreme of two tensors."""
    _t(input, who)
    other = kwargs.pop("other", args[0] if args and isinstance(args[0], Tensor) else None)
    if other is not None:
        if kwargs or len(args) > 1:
            raise TypeError(f"{who}(input, other) takes no further arguments")
        return getattr(input, elementwise)(other)
    return getattr(input, method)(*args, **kwargs)


def max(input, *args, **kwargs):
    """max(x): the largest entry; max(x, dim, keepdim=False): (values, indices); max(x, other): the
    elementwise maximum (as torch.maximum)."""
    return _extreme(input, args, kwargs, "max", "maximum", "max")


def min(input, *args, **kwargs):
    """min(x), min(x, dim, keepdim=False) -> (values, indices), min(x, other) elementwise."""
    return _extreme(input, args, kwargs, "min", "minimum", "min")


def maximum(input, other):
    return _t(input, "maximum").maximum(other)


def minimum(input, other):
    return _t(input, "minimum").minimum(other)


def argmax(input, dim=None, keepdim=False):
    return _t(input, "argmax").argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return _t(input, "argmin").argmin(dim, keepdim)


def clamp(input, min=None, max=None):
    return _t(input, "clamp").clamp(min, max)


clip = clamp


def reshape(input, shape):
    return _t(input, "reshape").reshape(shape)


def flatten(input, start_dim=0, end_dim=-1):
    return _t(input, "flatten").flatten(start_dim, end_dim)


def transpose(input, dim0, dim1):
    return _t(input, "transpose").transpose(dim0, dim1)


def permute(input, dims):
    return _t(input, "permute").permute(dims)


def squeeze(input, dim=None):
    return _t(input, "squeeze").squeeze(dim)


def unsqueeze(input, dim):
    return _t(input, "unsqueeze").unsqueeze(dim)


def concat(tensors, dim=0):
    """An alias of cat, as torch.concat."""
    return cat(tensors, dim)


concatenate = concat


def mm(input, mat2):
    """The product of two matrices (2-D only, as torch.mm)."""
    if _t(input, "mm").ndim != 2 or _t(mat2, "mm").ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def bmm(input, mat2):
    """Batched matrix products of two 3-D tensors (b, n, m) @ (b, m, p) (no broadcasting, as torch.bmm)."""
    if _t(input, "bmm").ndim != 3 or _t(mat2, "bmm").ndim != 3:
        raise RuntimeError(f"bmm: both arguments must be 3-D, got shapes {input.shape} and {mat2.shape}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum (operands as arguments or one list); differentiable. '...'
    works when the axes it stands for have the same sizes in every operand (no size-1 broadcasting)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    operands = [_t(x, "einsum") for x in operands]
    if len({x.dtype for x in operands}) > 1:
        raise RuntimeError(f"einsum(): operands do not have the same dtype: {[str(x.dtype) for x in operands]}")
    return EinsumFn.apply(equation, *operands)


def numel(input):
    return _t(input, "numel").numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every |input - other| <= atol + rtol * |other| (a Python bool, as torch)."""
    return bool(np.allclose(_t(input, "allclose")._data, _t(other, "allclose")._data, rtol, atol, equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |input - other| <= atol + rtol * |other|: a bool tensor."""
    other = other._data if isinstance(other, Tensor) else other
    return Tensor._wrap(np.asarray(np.isclose(_t(input, "isclose")._data, other, rtol, atol, equal_nan)), False)


def equal(input, other):
    """True when the two tensors have the same shape and values (a Python bool, as torch.equal)."""
    a, b = _t(input, "equal")._data, _t(other, "equal")._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _method(name):
    """torch.<name>(input, *args, **kwargs) as input.<name>(*args, **kwargs): the same op, one home."""
    def f(input, *args, **kwargs):
        return getattr(_t(input, name), name)(*args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"torch.{name}(input, ...): the Tensor method {name} (see Tensor.{name})."
    return f


# elementwise math, reductions, indexing and reordering that torch also offers as functions
sin, cos, log1p, expm1, remainder, floor_divide = (_method(n) for n in (
    "sin", "cos", "log1p", "expm1", "remainder", "floor_divide"))


def pow(input, exponent):
    """input ** exponent; input may be a Python number when exponent is a Tensor (torch.pow(2, t))."""
    if not isinstance(input, Tensor) and isinstance(exponent, Tensor):
        return input ** exponent
    return _t(input, "pow").pow(exponent)
prod, cumsum, logsumexp, norm, any, all = (_method(n) for n in (
    "prod", "cumsum", "logsumexp", "norm", "any", "all"))
gather, scatter, index_select, masked_fill, flip, roll, t, clone = (_method(n) for n in (
    "gather", "scatter", "index_select", "masked_fill", "flip", "roll", "t", "clone"))
topk, sort, argsort, split, chunk, unbind = (_method(n) for n in (
    "topk", "sort", "argsort", "split", "chunk", "unbind"))
logical_and, logical_or, logical_xor, logical_not = (_method(n) for n in (
    "logical_and", "logical_or", "logical_xor", "logical_not"))
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (_method(n) for n in (
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"))
eq, ne, lt, le, gt, ge = (_method(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
add, sub, mul, div, true_divide, neg, square = (_method(n) for n in (
    "add", "sub", "mul", "div", "true_divide", "neg", "square"))
isnan, isinf, isfinite, amax, amin, swapaxes, nonzero, argwhere = (_method(n) for n in (
    "isnan", "isinf", "isfinite", "amax", "amin", "swapaxes", "nonzero", "argwhere"))
narrow, select, unflatten, tril, triu, unique = (_method(n) for n in (
    "narrow", "select", "unflatten", "tril", "triu", "unique"))

# ---- the rest of torch's pointwise math (Tensor methods of the same names) --------------------------
(sign, sgn, floor, ceil, trunc, fix, frac, reciprocal, rsqrt, exp2, float_power, fmod, atan2, arctan2, hypot,
 logaddexp, sinh, cosh, asin, acos, atan, arcsin, arccos, arctan, logit, xlogy, copysign, heaviside, clamp_min,
 clamp_max, lerp, addcmul, addcdiv, nan_to_num, positive, negative, floor_, ceil_, trunc_, fix_, frac_, round_,
 reciprocal_, rsqrt_, clamp_min_, clamp_max_, nan_to_num_) = (_method(n) for n in (
    "sign", "sgn", "floor", "ceil", "trunc", "fix", "frac", "reciprocal", "rsqrt", "exp2", "float_power", "fmod",
    "atan2", "arctan2", "hypot", "logaddexp", "sinh", "cosh", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
    "logit", "xlogy", "copysign", "heaviside", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
    "nan_to_num", "positive", "negative", "floor_", "ceil_", "trunc_", "fix_", "frac_", "round_", "reciprocal_",
    "rsqrt_", "clamp_min_", "clamp_max_", "nan_to_num_"))


def round(input, *, decimals=0):
    return _t(input, "round").round(decimals=decimals)


# ---- linear algebra (Tensor methods of the same names) ----------------------------------------------
(dot, vdot, inner, mv, outer, ger, addmm, addmv, baddbmm, addbmm, kron, trace, diagonal, diag, diag_embed,
 diagflat, movedim, moveaxis) = (_method(n) for n in (
    "dot", "vdot", "inner", "mv", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm", "kron", "trace",
    "diagonal", "diag", "diag_embed", "diagflat", "movedim", "moveaxis"))


def cross(input, other, dim=None):
    return _t(input, "cross").cross(other, dim)


# ---- cumulative ops, order statistics and counting (Tensor methods of the same names) ----------------
(cumprod, cummax, cummin, logcumsumexp, diff, kthvalue, mode, quantile, nanquantile, count_nonzero, nansum, nanmean,
 aminmax, msort, bincount, histc, unique_consecutive) = (_method(n) for n in (
    "cumprod", "cummax", "cummin", "logcumsumexp", "diff", "kthvalue", "mode", "quantile", "nanquantile",
    "count_nonzero", "nansum", "nanmean", "aminmax", "msort", "bincount", "histc", "unique_consecutive"))


def median(input, dim=None, keepdim=False):
    return _t(input, "median").median(dim, keepdim)


def nanmedian(input, dim=None, keepdim=False):
    return _t(input, "nanmedian").nanmedian(dim, keepdim)
