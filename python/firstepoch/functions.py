"""The top-level functions of `torch` (torch.exp, torch.sum, torch.max, torch.einsum, ...): each a thin
wrapper over the Tensor method or the tensor.py function of the same meaning (one home per op), so
that `torch.f(x, ...)` ported as `firstepoch.f(x, ...)` gives what `x.f(...)` gives."""
import builtins
import collections
import functools
import itertools
import numbers
import warnings

import numpy as np

from . import linalg as _linalg
from .linalg import _batch_shape, _constant, _is_tensor, _permutation_matrix, _raise_first
from .ops.decompositions import _check_bool
from .ops.linalg import _FLOATS, EinsumFn, _torch_name, einsum_subscripts
from .ops.matrix import _INV_SINGULAR, SolveTriangularFn, pivots_to_permutation
from .tensor import _promote_types, _result_type
from .tensor import (Tensor, bucketize, cat, matmul, searchsorted, stack, std_mean, tensor, tensordot, tril_indices,
                     triu_indices, var_mean, zeros)


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


def sum(input, *args, **kwargs):
    """torch.sum(input, dim=None, keepdim=False, *, dtype=None); keepdim without dim raises TypeError."""
    return _t(input, "sum").sum(*args, **kwargs)


def mean(input, *args, **kwargs):
    """torch.mean(input, dim=None, keepdim=False, *, dtype=None); keepdim without dim raises TypeError."""
    return _t(input, "mean").mean(*args, **kwargs)


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


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum (operands as arguments or one list); differentiable. A letter
    of size 1 in one operand broadcasts to its size in the others, as torch; '...' works when the axes it
    stands for have the same sizes in every operand (no size-1 broadcasting there)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    operands = [_t(x, "einsum") for x in operands]
    if len({x.dtype for x in operands}) > 1:
        raise RuntimeError(f"einsum(): operands do not have the same dtype: {[str(x.dtype) for x in operands]}")
    terms, _, sizes = einsum_subscripts(equation, [x.shape for x in operands], broadcast=True)
    operands = [x if builtins.all(sizes[c] == n for c, n in zip(t, x.shape)) else x.expand(tuple(sizes[c] for c in t))
                for t, x in zip(terms, operands)]  # size-1 letters broadcast (expand's gradient sums them back)
    return EinsumFn.apply(equation, *operands)


def numel(input):
    return _t(input, "numel").numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def _method(name):
    """torch.<name>(input, *args, **kwargs) as input.<name>(*args, **kwargs): the same op, one home."""
    def f(input, *args, **kwargs):
        return getattr(_t(input, name), name)(*args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"torch.{name}(input, ...): the Tensor method {name} (see Tensor.{name})."
    return f


# elementwise math, reductions, indexing and reordering that torch also offers as functions
sin, cos, log1p, expm1 = (_method(n) for n in ("sin", "cos", "log1p", "expm1"))


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
bitwise_left_shift, bitwise_right_shift, scatter_reduce = (_method(n) for n in (
    "bitwise_left_shift", "bitwise_right_shift", "scatter_reduce"))
eq, ne, lt, le, gt, ge = (_method(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
neg, square = _method("neg"), _method("square")


def _number_first(input, other):
    """True for torch.add(2, t) and the like: a Python number (bool included) first, a Tensor second,
    which torch takes as a wrapped number (promoting as one)."""
    return isinstance(input, (numbers.Number, np.number, np.bool_)) and isinstance(other, Tensor)


def add(input, other, *, alpha=1):
    """input + alpha * other; input may be a Python number when other is a Tensor, as torch.add(2, t)."""
    if _number_first(input, other):
        if type(alpha) is not int or alpha != 1:
            other._check_alpha(input, alpha)
        return other._times_alpha(input, alpha, scaled=other).__radd__(input)
    return _t(input, "add").add(other, alpha=alpha)


def sub(input, other, *, alpha=1):
    """input - alpha * other; input may be a Python number when other is a Tensor, as torch.sub(2, t)."""
    if _number_first(input, other):
        if type(alpha) is not int or alpha != 1:
            other._check_alpha(input, alpha)
        return other._times_alpha(input, alpha, scaled=other).__rsub__(input)
    return _t(input, "sub").sub(other, alpha=alpha)


def mul(input, other):
    """input * other; input may be a Python number when other is a Tensor, as torch.mul(2, t)."""
    if _number_first(input, other):
        return other.__rmul__(input)
    return _t(input, "mul").mul(other)


def div(input, other, *, rounding_mode=None):
    """input / other (see Tensor.div); input may be a Python number when other is a Tensor, as torch."""
    if _number_first(input, other):
        return other._div(input, rounding_mode, True)
    return _t(input, "div").div(other, rounding_mode=rounding_mode)


def true_divide(input, other):
    return div(input, other)


def floor_divide(input, other):
    """input // other; input may be a Python number when other is a Tensor, as torch."""
    if _number_first(input, other):
        return other.__rfloordiv__(input)
    return _t(input, "floor_divide").floor_divide(other)


def remainder(input, other):
    """input % other (the divisor's sign); input may be a Python number when other is a Tensor, as torch."""
    if _number_first(input, other):
        return other.__rmod__(input)
    return _t(input, "remainder").remainder(other)
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


def median(input, *args, **kwargs):
    """torch.median(input) or torch.median(input, dim, keepdim=False); keepdim without dim raises TypeError."""
    return _t(input, "median").median(*args, **kwargs)


def nanmedian(input, *args, **kwargs):
    """torch.nanmedian(input) or torch.nanmedian(input, dim, keepdim=False); keepdim without dim raises TypeError."""
    return _t(input, "nanmedian").nanmedian(*args, **kwargs)


# ---- shape and index ops (Tensor methods of the same names, and the functions over several tensors) ---
(tile, ravel, broadcast_to, tensor_split, hsplit, vsplit, dsplit, rot90, fliplr, flipud, take, take_along_dim,
 scatter_add, index_add, index_fill, index_copy, masked_select, masked_scatter) = (_method(n) for n in (
    "tile", "ravel", "broadcast_to", "tensor_split", "hsplit", "vsplit", "dsplit", "rot90", "fliplr", "flipud",
    "take", "take_along_dim", "scatter_add", "index_add", "index_fill", "index_copy", "masked_select",
    "masked_scatter"))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """input.repeat_interleave(repeats, dim); repeat_interleave(counts) alone repeats 0, 1, ... counts
    times each, as torch."""
    if repeats is None:
        counts = _t(input, "repeat_interleave")
        return Tensor._wrap(np.repeat(np.arange(counts.numel()), counts.numpy().reshape(-1)).astype(np.int64), False)
    return _t(input, "repeat_interleave").repeat_interleave(repeats, dim, output_size=output_size)


def _tensors(tensors, who):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return [_t(x, who) for x in tensors]


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (a tuple)."""
    tensors = _tensors(tensors, "broadcast_tensors")
    try:
        shape = np.broadcast_shapes(*(x.shape for x in tensors))
    except ValueError:  # torch's class
        raise RuntimeError(f"broadcast_tensors: shapes {[tuple(x.shape) for x in tensors]} do not broadcast to one "
                           f"shape") from None
    return tuple(x.expand(shape) for x in tensors)


def _at_least(tensors, n, who):
    """Each tensor with at least n axes (atleast_1d/2d/3d); a single tensor gives a tensor, as torch."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    out = []
    for x in _tensors(tensors, who):
        if x.ndim < n:
            if n == 3 and x.ndim == 2:
                x = x.unsqueeze(-1)
            elif n == 3 and x.ndim == 1:
                x = x.reshape(1, -1, 1)
            else:
                x = x.reshape((1,) * (n - x.ndim) + x.shape)
        out.append(x)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    return _at_least(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    return _at_least(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    return _at_least(tensors, 3, "atleast_3d")


def _nonempty(tensors, who):
    if isinstance(tensors, Tensor):  # torch's TypeError: a sequence of tensors, not one tensor
        raise TypeError(f"{who}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    if len(tensors) == 0:
        raise RuntimeError(f"{who} expects a non-empty TensorList")
    return tensors


def hstack(tensors):
    tensors = [atleast_1d(x) for x in _nonempty(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(x) for x in _nonempty(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors):
    return cat([atleast_3d(x) for x in _nonempty(tensors, "dstack")], 2)


def column_stack(tensors):
    return cat([x.reshape(-1, 1) if x.ndim <= 1 else x for x in _nonempty(tensors, "column_stack")], 1)


def block_diag(*tensors):
    """The tensors (0-d, 1-d as a row, or 2-d) as blocks down the diagonal of one matrix; differentiable."""
    blocks = [x.reshape(1, 1) if x.ndim == 0 else x.reshape(1, -1) if x.ndim == 1 else x
              for x in (_t(x, "block_diag") for x in tensors)]
    if builtins.any(b.ndim != 2 for b in blocks):
        raise RuntimeError("torch.block_diag: Input tensors must have 2 or fewer dimensions")
    if not blocks:
        return zeros(1, 0)
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    dtype = functools.reduce(_promote_types, (b.dtype for b in blocks))  # torch.result_type of the blocks
    for b in blocks:
        b = b.to(dtype)
        pad_l, pad_r = zeros(b.shape[0], left, dtype=dtype), zeros(b.shape[0], width - left - b.shape[1], dtype=dtype)
        rows.append(cat([pad_l, b, pad_r], 1))
        left += b.shape[1]
    return cat(rows, 0)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 1-D tensors; indexing 'ij' (the default, as torch, without its warning) or
    'xy' (the first two axes swapped)."""
    tensors = _tensors(tensors, "meshgrid")
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    if builtins.any(x.ndim > 1 for x in tensors):
        raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list")
    if len({x.dtype for x in tensors}) > 1:
        raise RuntimeError(f"meshgrid expects all tensors to have the same dtype (got "
                           f"{[str(x.dtype) for x in tensors]})")
    tensors = [x.reshape(-1) for x in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = tuple(x.shape[0] for x in tensors)
    grids = [x.reshape(tuple(-1 if i == k else 1 for i in range(len(shape)))).expand(shape)
             for k, x in enumerate(tensors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one entry from each 1-D tensor, in row-major order: (N, len(tensors))."""
    tensors = _tensors(tensors, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-r combinations of a 1-D tensor's entries, as rows (itertools' order); differentiable."""
    if _t(input, "combinations").ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[np.zeros(0, np.int64)]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.array(list(pick(range(input.shape[0]), r)), np.int64).reshape(-1, r)
    return input[index]


is_floating_point = _method("is_floating_point")
erf, erfc, erfinv, erf_, erfc_ = (_method(n) for n in ("erf", "erfc", "erfinv", "erf_", "erfc_"))

# ---- more pointwise math, comparisons and aliases (Tensor methods of the same names) ------------------
(tan, asinh, acosh, atanh, arcsinh, arccosh, arctanh, deg2rad, rad2deg, sinc, lgamma, digamma, fmax, fmin,
 logaddexp2, ldexp, signbit, isposinf, isneginf, gcd, lcm, nextafter, tan_, asinh_, acosh_, atanh_, arcsinh_,
 arccosh_, arctanh_, deg2rad_, rad2deg_, sinc_, ldexp_, gcd_, lcm_) = (_method(n) for n in (
    "tan", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "lgamma",
    "digamma", "fmax", "fmin", "logaddexp2", "ldexp", "signbit", "isposinf", "isneginf", "gcd", "lcm", "nextafter",
    "tan_", "asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_", "arctanh_", "deg2rad_", "rad2deg_", "sinc_",
    "ldexp_", "gcd_", "lcm_"))
subtract, multiply, divide = sub, mul, div  # torch's aliases, a number first included
(greater, greater_equal, less, less_equal, not_equal, absolute, swapdims, is_signed,
 is_same_size, isclose, allclose, equal, bmm) = (_method(n) for n in (
    "greater", "greater_equal", "less", "less_equal", "not_equal", "absolute",
    "swapdims", "is_signed", "is_same_size", "isclose", "allclose", "equal", "bmm"))


def polygamma(n, input):
    """torch.polygamma(n, input): the n-th derivative of digamma (see Tensor.polygamma)."""
    return _t(input, "polygamma").polygamma(n)


def rsub(input, other, *, alpha=1):
    """other - alpha * input (torch.rsub; other a Tensor or a number)."""
    _t(input, "rsub")
    if isinstance(other, Tensor):
        return other.sub(input, alpha=alpha)
    input._check_alpha(other, alpha)
    return (input if alpha == 1 else input * alpha).__rsub__(other)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """torch.isin: a bool tensor of elements' shape, True where an entry equals one of test_elements
    (compared in torch.result_type of the two; NaN equals nothing); invert=True negates it. One of the two
    may be a number (then that side is 0-d). assume_unique is accepted and changes nothing (it is a speed
    hint). Bool inputs are torch's RuntimeError."""
    for name, x in (("elements", elements), ("test_elements", test_elements)):
        if not isinstance(x, Tensor) and (isinstance(x, bool) or not isinstance(x, (int, float, np.number))):
            raise TypeError(f"isin(): argument '{name}' must be a Tensor or a number, not {type(x).__name__}")
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): one of 'elements' and 'test_elements' must be a Tensor, got two numbers")
    if builtins.any(isinstance(x, Tensor) and x.dtype == np.bool_ for x in (elements, test_elements)):
        raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    dt = _result_type(elements, test_elements)
    a = np.asarray(elements._data if isinstance(elements, Tensor) else elements).astype(dt, copy=False)
    b = np.asarray(test_elements._data if isinstance(test_elements, Tensor) else test_elements).astype(dt, copy=False)
    return Tensor(np.isin(a, b.reshape(-1), invert=bool(invert)))


def broadcast_shapes(*shapes):
    """torch.broadcast_shapes: the shape the given shapes (ints or sequences of ints) broadcast to, as a
    tuple (torch: a torch.Size); RuntimeError for shapes that do not broadcast or a negative size."""
    given = []
    for s in shapes:
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            s = (int(s),)
        elif isinstance(s, (tuple, list)) and builtins.all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in s):
            s = tuple(int(d) for d in s)
        else:
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {s!r}")
        if builtins.any(d < 0 for d in s):
            raise RuntimeError(f"Attempting to broadcast a dimension of negative length: shape {s} "
                               f"(broadcast_shapes: {list(shapes)})")
        given.append(s)
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*given))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape (broadcast_shapes: "
                           f"{given})") from None


# ---- linear algebra under torch's older top-level names (torch.linalg's are firstepoch.linalg) ------------
def det(input):
    return _linalg.det(_t(input, "det"))


def logdet(input):
    return _linalg.logdet(_t(input, "logdet"))


def slogdet(input):
    return _linalg.slogdet(_t(input, "slogdet"))


def inverse(input):
    return _linalg.inv(_t(input, "inverse"))


def pinverse(input, rcond=1e-15):
    """torch.pinverse: linalg.pinv with rcond as the relative tolerance."""
    return _linalg.pinv(_t(input, "pinverse"), rtol=rcond)


def matrix_power(input, n):
    return _linalg.matrix_power(_t(input, "matrix_power"), n)


def svd(input, some=True, compute_uv=True):
    """torch.svd (the older form): (U, S, V) with V, not V^T; some=True gives the reduced factors;
    compute_uv=False gives zero-filled U (m x m) and V (n x n), as torch."""
    _t(input, "svd")
    if not compute_uv:
        s = _linalg.svdvals(input)
        m, n = input.shape[-2], input.shape[-1]
        return _SvdResult(zeros(input.shape[:-2] + (m, m), dtype=input.dtype), s,
                          zeros(input.shape[:-2] + (n, n), dtype=input.dtype))
    u, s, vh = _linalg.svd(input, full_matrices=not some)
    return _SvdResult(u, s, vh.mT)


def matrix_exp(input):
    return _linalg.matrix_exp(_t(input, "matrix_exp"))


def qr(input, some=True):
    """torch.qr (the older form): linalg.qr with mode 'reduced' (some=True) or 'complete'."""
    _t(input, "qr")
    _check_bool("qr", "some", some)
    q, r = _linalg.qr(input, "reduced" if some else "complete")
    return _QrResult(q, r)


def cholesky(input, upper=False):
    """torch.cholesky (the older form): linalg.cholesky(input, upper=upper); its errors say
    "linalg.cholesky" where torch's say "cholesky"."""
    _t(input, "cholesky")
    _check_bool("cholesky", "upper", upper)
    return _linalg.cholesky(input, upper=upper)


_SvdResult = collections.namedtuple("svd", ["U", "S", "V"])
_QrResult = collections.namedtuple("qr", ["Q", "R"])
_LuUnpackResult = collections.namedtuple("lu_unpack", ["P", "L", "U"])


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast), a 0-d tensor."""
    _t(input, "dist")
    if not isinstance(other, Tensor):
        raise TypeError(f"dist(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    if not isinstance(p, numbers.Real):
        raise TypeError(f"dist(): argument 'p' must be Number, not {type(p).__name__}")
    return (input - other).norm(float(p))


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).
    Computed as the norm of the differences (exact, P*R*M memory) whatever compute_mode, where torch may
    use a matrix-product formula for p = 2 (faster, less exact); the gradient at a zero distance is 0."""
    for name, v, pos in (("x1", x1, 1), ("x2", x2, 2)):
        if not isinstance(v, Tensor):
            raise TypeError(f"cdist(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X{1 if x1.ndim < 2 else 2} got: "
                           f"{min(x1.ndim, x2.ndim)}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if not isinstance(p, numbers.Real):
        raise TypeError(f"cdist(): argument 'p' (position 3) must be float, not {type(p).__name__}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values")
    if x1.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if x2.dtype != x1.dtype:  # torch does not promote here
        raise RuntimeError(f"expected scalar type {_torch_name(x1.dtype)} but found {_torch_name(x2.dtype)}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if x1.shape[-1] == 0:  # no coordinates: every distance is 0 for every p, inf included, as torch
        return diff.sum(-1)
    return _linalg.vector_norm(diff, float(p), dim=-1)


# ---- statistics, scatters into a copy, index_put/put, renorm (Tensor methods of the same names) ------------
(cov, corrcoef, histogram, frexp, diagonal_scatter, select_scatter, slice_scatter, index_put, index_put_, put,
 renorm, split_with_sizes) = (_method(n) for n in (
    "cov", "corrcoef", "histogram", "frexp", "diagonal_scatter", "select_scatter", "slice_scatter", "index_put",
    "index_put_", "put", "renorm", "split_with_sizes"))


def _spacing_along(x, y, d, who):
    """trapezoid's x viewed against y (a 1-D x along dim d, a shorter x padded with leading axes), then
    its differences along d."""
    if x.dtype == np.bool_ or y.dtype == np.bool_:
        raise RuntimeError(f"{who}: received a bool input for `x` or `y`, but bool is not supported")
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{who}: There must be one `x` value for each sample point")
        x = x.reshape(tuple(x.shape[0] if i == d else 1 for i in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = x.reshape((1,) * (y.ndim - x.ndim) + x.shape)
    return x._slice_along(d, 1, None) - x._slice_along(d, 0, -1)


def _trapezoid_args(y, x, dx, dim, who):
    _t(y, who)
    if x is not None and dx is not None:
        raise TypeError(f"{who}(): give the sample points x or the spacing dx, not both")
    if x is not None and not isinstance(x, Tensor):
        raise TypeError(f"{who}(): argument 'x' (position 2) must be Tensor, not {type(x).__name__}")
    if dx is not None and (isinstance(dx, (bool, np.bool_, complex)) or not isinstance(dx, numbers.Real)):
        raise RuntimeError(f"{who}: Currently, we only support dx as a real number.")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _check_dim(dim, y.ndim)


def _check_dim(dim, ndim):
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return int(dim) % ndim


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along dim: with sample points x (1-D along dim, or broadcasting with y) or a
    constant spacing dx (default 1); no samples give zeros of y's dtype; differentiable, as torch."""
    d = _trapezoid_args(y, x, dx, dim, "trapezoid")
    if y.shape[d] == 0:
        return zeros(y.shape[:d] + y.shape[d + 1:], dtype=y.dtype)
    if x is not None:
        spacing = _spacing_along(x, y, d, "trapezoid")
        return ((y._slice_along(d, 0, -1) + y._slice_along(d, 1, None)) * spacing).sum(d) / 2.0
    if y.dtype == np.bool_:
        raise RuntimeError("trapezoid: received a bool input for `y`, but bool is not supported")
    return (y.sum(d) - (y.select(d, 0) + y.select(d, -1)) * 0.5) * float(1 if dx is None else dx)


def trapz(y, x=None, *, dx=None, dim=-1):
    """torch.trapz: trapezoid under its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal rule along dim (one entry fewer than y there), with sample points x or a
    constant spacing dx (default 1); differentiable, as torch."""
    if isinstance(y, Tensor) and y.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = _trapezoid_args(y, x, dx, dim, "cumulative_trapezoid")
    if x is not None:
        spacing = _spacing_along(x, y, d, "cumulative_trapezoid")
        return ((y._slice_along(d, 0, -1) + y._slice_along(d, 1, None)) * spacing).cumsum(d) / 2.0
    if y.dtype == np.bool_:
        raise RuntimeError("cumulative_trapezoid: received a bool input for `y`, but bool is not supported")
    pairs = y._slice_along(d, 0, -1) + y._slice_along(d, 1, None)
    return (pairs * (float(1 if dx is None else dx) / 2.0)).cumsum(d)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D tensor: columns x ** (N - 1), ..., x ** 0 (increasing=True: the
    other way round), N default len(x); integer and bool inputs give int64; differentiable (a cumprod)."""
    if _t(x, "vander").ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = _promote_types(x.dtype, np.dtype(np.int64))
    ones = zeros(x.shape[0], 1, dtype=dtype) + 1
    if n <= 1:
        result = ones[:, :n]
    else:
        result = cat([ones, x.to(dtype).unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1)
    return result if increasing else result.flip(1)


def unravel_index(indices, shape):
    """The coordinates (a tuple of int64 tensors of indices' shape) of flat indices into a tensor of
    shape, as torch: no range check (an index out of range wraps around, as floor division and modulo
    give it)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {_torch_name(indices.dtype)}")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    elif not isinstance(shape, (tuple, list)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(n)}")
    shape = tuple(int(n) for n in shape)
    if builtins.any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape and indices.numel():
        raise RuntimeError("ZeroDivisionError")
    coefs = np.cumprod((shape[1:] + (1,))[::-1])[::-1].astype(np.int64)
    flat = indices._data.astype(np.int64)[..., None]
    with np.errstate(divide="ignore"):
        coords = np.floor_divide(flat, coefs) % np.array(shape, np.int64) if shape else flat[..., :0]
    return tuple(Tensor._wrap(np.array(coords[..., k]), False) for k in range(len(shape)))


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """torch.lu_unpack: (P, L, U) from lu_factor's (LU, pivots); L and U are empty tensors when
    unpack_data=False, P when unpack_pivots=False. L and U are differentiable (tril/triu of LU_data)."""
    _is_tensor("lu_unpack", "LU_data", LU_data, 1)
    _is_tensor("lu_unpack", "LU_pivots", LU_pivots, 2)
    _check_bool("lu_unpack", "unpack_data", unpack_data)
    _check_bool("lu_unpack", "unpack_pivots", unpack_pivots)
    if LU_data.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(LU_data.shape)} instead")
    if LU_pivots.dtype != np.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m, n = LU_data.shape[-2:]
    k = builtins.min(m, n)
    if LU_pivots.shape[-1:] != (k,) or tuple(LU_pivots.shape[:-1]) != tuple(LU_data.shape[:-2]):
        raise RuntimeError(f"torch.lu_unpack: LU_pivots must have shape {list(LU_data.shape[:-2]) + [k]}, got "
                           f"{list(LU_pivots.shape)}")
    empty = tensor(np.empty((0,), LU_data.dtype))
    L = U = P = empty
    if unpack_data:
        eye = tensor(np.eye(m, k, dtype=LU_data.dtype))
        L = LU_data[..., :, :k].tril(-1) + eye
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        piv = LU_pivots.numpy()
        if piv.size and (piv.min() < 1 or piv.max() > m):
            raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you "
                               "properly pass the result of lu_factor?")
        P = _constant(_permutation_matrix(pivots_to_permutation(piv, m), LU_data.dtype))
    return _LuUnpackResult(P, L, U)


def _cholesky_factor_checks(fname, L, name, position):
    _is_tensor(fname, name, L, position)
    if L.dtype not in _FLOATS:
        raise NotImplementedError(f"\"{fname}_cpu\" not implemented for '{_torch_name(L.dtype)}'")


def cholesky_solve(B, L, upper=False):
    """torch.cholesky_solve: X with A X = B for A = L L^T (upper=True: A = U^T U), reading only L's lower
    (U's upper) triangle; batch axes broadcast. Differentiable; the gradient to L is the derivative in
    its triangle (deliberate: torch's formula also fills the other triangle, which the result ignores)."""
    _is_tensor("cholesky_solve", "input", B, 1)
    _is_tensor("cholesky_solve", "input2", L, 2)
    _check_bool("cholesky_solve", "upper", upper)
    if B.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead")
    if L.ndim < 2:
        raise RuntimeError(f"u should have at least 2 dimensions, but has {L.ndim} dimensions instead")
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_torch_name(B.dtype)} and "
                           f"A of type {_torch_name(L.dtype)} instead.")
    _cholesky_factor_checks("cholesky_solve", L, "input2", 2)
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"A must be batches of square matrices, but they are {L.shape[-2]} by {L.shape[-1]} "
                           "matrices")
    if B.shape[-2] != L.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {L.shape[-2]} by "
                           f"{L.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    _batch_shape(B.shape[:-2], L.shape[:-2])
    if upper:  # A = U^T U: U^T Y = B, then U X = Y
        y = SolveTriangularFn.apply(L.mT, B, False, False)
        return SolveTriangularFn.apply(L, y, True, False)
    y = SolveTriangularFn.apply(L, B, False, False)  # L Y = B, then L^T X = Y
    return SolveTriangularFn.apply(L.mT, y, True, False)


def cholesky_inverse(L, upper=False):
    """torch.cholesky_inverse: (L L^T)^-1 (upper=True: (U^T U)^-1) from the Cholesky factor's triangle;
    a zero on its diagonal raises LinAlgError as torch. Differentiable (cholesky_solve's gradient)."""
    _is_tensor("cholesky_inverse", "input", L, 1)
    _check_bool("cholesky_inverse", "upper", upper)
    if L.ndim < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 dimensions.")
    _cholesky_factor_checks("cholesky_inverse_out", L, "input", 1)
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are {L.shape[-2]} by "
                           f"{L.shape[-1]} matrices")
    diag = np.diagonal(L.detach().numpy(), axis1=-2, axis2=-1)
    zero = diag == 0
    if zero.any():
        info = np.where(zero.any(-1), zero.argmax(-1) + 1, 0)
        _raise_first("cholesky_inverse", info, L.ndim > 2, _INV_SINGULAR)
    return cholesky_solve(tensor(np.eye(L.shape[-1], dtype=L.dtype)), L, upper)


# torch's linear-algebra Tensor methods: bound here, where linalg can be imported (tensor.py cannot: linalg
# imports it), as x.det() = torch.det(x)
for _name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "svd", "qr", "cholesky",
              "cholesky_solve", "cholesky_inverse"):
    setattr(Tensor, _name, globals()[_name])
del _name


# ---- torch's top-level forms of nn.functional ops (torch.conv2d, torch.dropout, torch.layer_norm, ...) ----
# Each delegates to nn.functional under torch's TOP-LEVEL signature, which often differs from F's:
# torch.dropout(input, p, train) takes all three, torch.embedding takes weight first, torch.batch_norm
# takes (weight, bias, running_mean, running_var, ...) all required, and the losses take `reduction` as
# torch's int enum. Those whose signature is F's are F's functions themselves.
from .nn import functional as _F  # noqa: E402
from .nn.composite import _rrelu  # noqa: E402
from .ops import dropout as _dropout_ops  # noqa: E402
from .ops.dropout import ZeroGradFn as _ZeroGradFn  # noqa: E402
from .tensor import get_default_dtype as _get_default_dtype  # noqa: E402
from ._device import CPU as _CPU, check_device as _check_device  # noqa: E402
from .autograd import is_grad_enabled as _is_grad_enabled  # noqa: E402

conv1d, conv2d, conv3d = _F.conv1d, _F.conv2d, _F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = _F.conv_transpose1d, _F.conv_transpose2d, _F.conv_transpose3d
adaptive_avg_pool1d, pdist, cosine_similarity, pairwise_distance = (
    _F.adaptive_avg_pool1d, _F.pdist, _F.cosine_similarity, _F.pairwise_distance)
pixel_shuffle, pixel_unshuffle, channel_shuffle, bilinear, prelu, hardshrink, rms_norm = (
    _F.pixel_shuffle, _F.pixel_unshuffle, _F.channel_shuffle, _F.bilinear, _F.prelu, _F.hardshrink, _F.rms_norm)


def _stride(stride):
    """torch's top-level pools default stride to [] (meaning kernel_size), F's to None."""
    return None if isinstance(stride, (list, tuple)) and len(stride) == 0 else stride


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """(values, indices), as torch.max_pool1d_with_indices."""
    return _F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):
    return _F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input, output_size):
    """(values, indices): torch's top-level form always returns both (F's returns indices on request)."""
    return _F.adaptive_max_pool1d(input, output_size, return_indices=True)


def dropout(input, p, train):
    """F.dropout(input, p, training=train); torch's top-level form has no defaults. A p outside [0, 1] is
    torch's RuntimeError here (F's is a ValueError, as torch's F)."""
    _check_dropout_p(p)
    return _F.dropout(input, p, train)


def feature_dropout(input, p, train):
    """Zeroes whole channels: one draw per (N, C, 1, ...) of an input of 2 or more dims (torch's
    feature_dropout, which F.dropout1d/2d/3d use), scaling the rest by 1/(1-p)."""
    _check_dropout_p(p)
    if train and p > 0 and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _dropout_ops._dropout(input, p, train, False, _dropout_ops.DropoutFn, True, "feature_dropout")


def alpha_dropout(input, p, train):
    _check_dropout_p(p)
    return _F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p, train):
    _check_dropout_p(p)
    return _F.feature_alpha_dropout(input, p, train)


def _check_dropout_p(p):
    if not 0 <= p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")




def embedding(weight, input, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """F.embedding(input, weight, ...) with weight first, as torch's top-level form; a padding_idx
    below 0 (the default, -1) or past the table's rows means none, as in torch's kernel."""
    if not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool):
        raise TypeError(f"embedding(): argument 'padding_idx' (position 3) must be int, not "
                        f"{type(padding_idx).__name__}")
    rows = weight.shape[0] if isinstance(weight, Tensor) and weight.ndim else 0
    pad = padding_idx if 0 <= padding_idx < rows else None
    return _F.embedding(input, weight, padding_idx=pad, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """F.layer_norm; cudnn_enable is accepted and has no effect (CPU only), as torch on the CPU."""
    return _F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    """F.batch_norm in torch's top-level argument order (weight and bias first), every argument required."""
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be defined in evaluation "
                           f"mode")
    return _F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    """F.instance_norm in torch's top-level argument order, every argument required."""
    return _F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def selu(input):
    return _F.selu(input)


def celu(input, alpha=1.0):
    return _F.celu(input, alpha)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """F.rrelu, drawing the training slopes from generator (a firstepoch.Generator; None: the global one)."""
    return _rrelu(input, lower, upper, training, False, generator)


def threshold(input, threshold, value):
    return _F.threshold(input, threshold, value)


# the losses: `reduction` is torch's int enum (0 none, 1 mean, 2 sum; another int reduces nothing, as
# torch's kernels). Omitted, it is 0 (none): torch 2.13's top-level bindings give an unreduced loss when
# reduction is left out (their stubs write 1, their calls reduce nothing), and these copy the calls.
def _reduction(reduction, who, position):
    if not isinstance(reduction, numbers.Integral) or isinstance(reduction, bool):
        raise TypeError(f"{who}(): argument 'reduction' (position {position}) must be int, not "
                        f"{type(reduction).__name__}")
    return {1: "mean", 2: "sum"}.get(int(reduction), "none")


def kl_div(input, target, reduction=0, *, log_target=False):
    """F.kl_div with the int reduction (1 is 'mean', the elementwise mean, with no warning, as torch's)."""
    with warnings.catch_warnings():  # F's warning that 'mean' is not 'batchmean' is F's alone, as torch's
        warnings.filterwarnings("ignore", "reduction: 'mean' divides", UserWarning)
        return _F.kl_div(input, target, reduction=_reduction(reduction, "kl_div", 3), log_target=log_target)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction,
                                                                                       "margin_ranking_loss", 5))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction,
                                                                                         "cosine_embedding_loss", 5))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction, "hinge_embedding_loss", 4))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """F.poisson_nll_loss in torch's top-level form: every argument required, reduction an int."""
    return _F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                               reduction=_reduction(reduction, "poisson_nll_loss", 6))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction=0):
    return _F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                  reduction=_reduction(reduction, "triplet_margin_loss", 8))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _F.binary_cross_entropy_with_logits(input, target, weight, pos_weight=pos_weight,
                                               reduction=_reduction(reduction, "binary_cross_entropy_with_logits", 5))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    return _F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                       _reduction(reduction, "ctc_loss", 6), zero_infinity)


# ---- small top-level functions torch scripts call ------------------------------------------------------
def chain_matmul(*matrices):
    """The product of 2-D matrices (linalg.multi_dot's order); deprecated in torch, with its warning.
    No out= (firstepoch writes no out= results)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
            "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
            "parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        _t(m, "chain_matmul")
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return _linalg.multi_dot(matrices)


def detach(input):
    return _t(input, "detach").detach()


def fill(input, value):
    """A new tensor of input's shape and dtype filled with value (input is left as it is)."""
    return _t(input, "fill").clone().fill_(value)


def is_complex(input):
    """Always False: firstepoch has no complex dtypes."""
    return _t(input, "is_complex").is_complex()


def is_inference(input):
    """Always False: tensors made under inference_mode are ordinary tensors here (see inference_mode)."""
    _t(input, "is_inference")
    return False


def is_neg(input):
    """False: firstepoch has no lazy negation views."""
    _t(input, "is_neg")
    return False


def is_conj(input):
    """False: firstepoch has no complex dtypes, so no conjugate views."""
    _t(input, "is_conj")
    return False


def conj(input):
    """input itself: the conjugate of a real tensor (as torch, which returns the same tensor)."""
    return _t(input, "conj")


def resolve_conj(input):
    return _t(input, "resolve_conj")


def resolve_neg(input):
    return _t(input, "resolve_neg")


def real(input):
    """input itself: a real tensor's real part (as torch)."""
    return _t(input, "real")


def imag(input):
    _t(input, "imag")
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def angle(input):
    """The argument of a real number: pi below 0, 0 at or above (NaN stays NaN), in a floating dtype
    (the default dtype for integer and bool input); the gradient is 0, as torch's for real input."""
    x = _t(input, "angle")._data
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(_get_default_dtype())
    values = np.where(x < 0, np.pi, 0.0).astype(dtype)
    if x.dtype.kind == "f":
        values[np.isnan(x)] = np.nan
    if input.requires_grad and _is_grad_enabled():
        return _ZeroGradFn.apply(input, values=values)
    return Tensor._wrap(values, False)


def isreal(input):
    """All True: every entry of a real tensor is real."""
    return Tensor._wrap(np.ones(_t(input, "isreal").shape, dtype=bool), False)


def get_default_device():
    """device('cpu'): firstepoch runs on the CPU only."""
    return _CPU


def set_default_device(device):
    """Accepts only the CPU ('cpu', device('cpu') or None); another device is a RuntimeError (CPU only)."""
    _check_device(device, "set_default_device")
