"""torch.linalg: norms, inverse, determinants, solve, decompositions and matrix products, batched over
leading axes, float32 and float64, differentiable. An integer input raises torch's RuntimeError (and
is refused too by matrix_power, multi_dot and matrix_rank, which in torch take integer matrices).

Each function checks the Tensor-level meaning (dtype, at least 2 dims, square) with torch's messages,
then applies one op: `ops.matrix` (InvFn, DetFn, LogAbsDetFn, SolveFn), `ops.decompositions` (svd, eigh,
cholesky, qr), `ops.reduce` (the vector norm); the rest (matrix norms, pinv, matrix_power, multi_dot,
vecdot, cross) are compositions of those and Tensor ops, so autograd differentiates them through the
ops they are made of. A singular input raises `LinAlgError` (a RuntimeError), as torch.

Deliberate differences from torch: the math is NumPy's LAPACK, so results agree to rounding, and the
signs of singular vectors / eigenvectors / Q's columns may differ (as between any two LAPACKs); det's
gradient at a singular matrix is adj(A)^T (torch's LU formula can give 0 there); complex dtypes, eig,
lstsq, matrix_exp and the *_ex variants are not provided.
"""
import collections
import math
import numbers

import numpy as np

from .ops.decompositions import _check_bool, _check_tensor, _type_name, cholesky, eigh, eigvalsh, qr, svd, svdvals
from .ops.linalg import _FLOATS, _torch_name
from .ops.matrix import DetFn, InvFn, LinAlgError, LogAbsDetFn, SolveFn
from .tensor import Tensor, matmul, stack, tensor, where

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet", "solve", "svd", "svdvals",
           "eigh", "eigvalsh", "cholesky", "qr", "pinv", "matrix_power", "matrix_rank", "multi_dot", "vecdot",
           "cross", "matmul", "diagonal"]

SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])


def _floating(x, op, name="A", position=1):
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg_{op}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_name(x.dtype)}")
    return x


def _matrices(x, op, square=False):
    _check_tensor(f"linalg_{op}", f"linalg.{op}", x)
    if square and x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are {x.shape[-2]} by "
                           f"{x.shape[-1]} matrices")
    return x


def _recorded(value, source):
    """value (a constant of source's shape), recorded in the graph with a zero gradient to source, as
    torch's results that do not depend on their input differentiably (and no NaN from source's entries)."""
    return where(tensor(np.ones(value.shape, dtype=bool)), value, source)


def _check_int(fname, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fname}(): argument '{name}' must be int, not {_type_name(value)}")


def _norm_dtype(x, dtype, op):
    """torch's check of a norm's dtype=: floating, and no narrower than the input's (float64 -> float32
    is refused)."""
    if dtype is None:
        return
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise RuntimeError(f"linalg.{op}: dtype should be floating point or complex, but got {_torch_name(dt)}")
    if x.dtype.itemsize > dt.itemsize:
        raise RuntimeError(f"linalg.{op}: the dtype of the input ({_torch_name(x.dtype)}) should be convertible "
                           f"without narrowing to the specified dtype ({_torch_name(dt)})")


# ---- norms ---------------------------------------------------------------------------------------

def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ord-norm of x over dim (None: every entry; an int or a tuple): sum(|x|^ord)^(1/ord),
    ord = inf / -inf the largest / smallest |x|, ord = 0 the count of non-zeros."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg_vector_norm(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.dtype not in _FLOATS:  # also with dtype= (torch checks the input's own dtype)
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_name(x.dtype)}")
    if isinstance(ord, str) or isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    _check_bool("linalg_vector_norm", "keepdim", keepdim)
    _norm_dtype(x, dtype, "vector_norm")
    return x.norm(float(ord), dim, keepdim, dtype=dtype)


def _matrix_dims(x, dim, op):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.{op}: dim must be a 2-tuple. Got {' '.join(map(str, dim)) if isinstance(dim, (tuple, list)) else dim}")
    d0, d1 = (int(d) for d in dim)
    for d in (d0, d1):
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-x.ndim}, {x.ndim - 1}], "
                             f"but got {d})")
    d0, d1 = d0 % x.ndim, d1 % x.ndim
    if d0 == d1:
        raise RuntimeError(f"linalg.{op}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of A over the two axes `dim`: 'fro' (Frobenius), 'nuc' (sum of singular values),
    inf / -inf (largest / smallest absolute row sum), 1 / -1 (column sum), 2 / -2 (largest / smallest
    singular value)."""
    _check_bool("linalg_matrix_norm", "keepdim", keepdim)
    if dtype is not None:
        _floating(A, "matrix_norm")
        _norm_dtype(A, dtype, "matrix_norm")
        A = A.to(dtype)
    _matrices(A, "matrix_norm")
    if ord not in ("fro", "nuc") and (isinstance(ord, str) or ord not in (1, -1, 2, -2, math.inf, -math.inf)):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")  # before dim's checks, as torch
    d0, d1 = _matrix_dims(A, dim, "matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or (not isinstance(ord, str) and ord in (2, -2)):
        moved = A.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        empty = s.shape[-1] == 0  # the largest of no singular values is 0, as torch (the smallest raises)
        out = s.sum(-1) if ord == "nuc" or (ord == 2 and empty) else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    summed, reduced = (d0, d1) if ord in (1, -1) else (d1, d0)  # 1: column sums, inf: row sums
    sums = A.abs().sum(summed, keepdim=True)
    if ord > 0 and A.shape[reduced] == 0:  # the largest of no sums is 0, as torch (the smallest raises)
        out = sums.sum(reduced, keepdim=True)
    else:
        out = sums.amax(reduced, keepdim=True) if ord > 0 else sums.amin(reduced, keepdim=True)
    if not keepdim:
        out = out.squeeze((d0, d1))
    return out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm when dim is an int or (dim and ord None) the input is 1-D or
    flattened, a matrix norm when dim is a 2-tuple or the input is 2-D with a given ord."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_norm(): argument 'input' (position 1) must be Tensor, not {type(A).__name__}")
    _check_bool("linalg_norm", "keepdim", keepdim)
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    return vector_norm(A, ord, None, keepdim, dtype=dtype)


# ---- inverse, determinants, solve ----------------------------------------------------------------

def inv(A):
    """The inverse of square matrices (..., n, n); a singular one raises LinAlgError naming it."""
    return InvFn.apply(_matrices(A, "inv", square=True))


def det(A):
    """The determinant of square matrices (..., n, n); 1 for 0 x 0, as torch."""
    return DetFn.apply(_matrices(A, "det", square=True))


def slogdet(A):
    """(sign, logabsdet) of square matrices: det = sign * exp(logabsdet); a singular matrix gives (0, -inf).
    The sign is a constant; logabsdet is differentiable."""
    _matrices(A, "slogdet", square=True)
    sign = tensor(np.asarray(np.linalg.slogdet(A.detach().numpy())[0], dtype=A.dtype.type))
    if A.requires_grad:  # recorded with a zero gradient, so sign.requires_grad is A's, as torch
        sign = _recorded(sign, A.sum((-2, -1)))
    return SlogdetResult(sign, LogAbsDetFn.apply(A))


def logdet(A):
    """torch.logdet: log(det A); NaN where det < 0, -inf where det = 0 (gradient A^-T where det > 0)."""
    _matrices(A, "logdet", square=True)
    sign, logabs = slogdet(A)
    return where(sign < 0, tensor(float("nan"), dtype=A.dtype), logabs)


def solve(A, B, *, left=True):
    """X with A X = B (left=False: X A = B), A square (..., n, n), B a matrix (..., n, k) or a vector
    (n,) / (..., n) when its shape is A's without the last axis; batch axes broadcast."""
    _matrices(A, "solve", square=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg_solve(): argument 'B' (position 2) must be Tensor, not {type(B).__name__}")
    _check_bool("linalg_solve", "left", left)
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_torch_name(A.dtype)} and B of type {_torch_name(B.dtype)} instead")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if not left:
        if vector and A.shape[-1] != 1:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1]}x1)")
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                               "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
        if B.ndim >= 2 and B.shape[-1] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
        return solve(A.mT, B.mT, left=True).mT
    b = B.unsqueeze(-1) if vector else B
    if b.ndim < 2 or b.shape[-2] != A.shape[-1]:
        shown = f"{B.shape[-1]}x1" if vector else f"{b.shape[-2]}x{b.shape[-1]}" if b.ndim >= 2 else f"{b.shape}"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {shown})")
    try:
        np.broadcast_shapes(A.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {tuple(A.shape[:-2])} and B "
                           f"{tuple(b.shape[:-2])} do not broadcast") from None
    x = SolveFn.apply(A, b)
    return x.squeeze(-1) if vector else x


# ---- built from the above ------------------------------------------------------------------------

def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse from the SVD: singular values at most max(atol, rtol * largest)
    count as zero; rtol defaults to eps * max(m, n) when atol is unset or 0, else to 0 (torch's rule).
    hermitian=True reads A as symmetric (its eigen-decomposition), as torch."""
    _matrices(A, "pinv")
    _tolerances("linalg_pinv", atol, rtol, hermitian)
    hermitian = _hermitian(A, hermitian)
    eps = float(np.finfo(A.dtype).eps)
    if rtol is None:
        rtol = eps * max(A.shape[-2], A.shape[-1]) if atol is None or (not isinstance(atol, Tensor) and atol == 0) \
            else 0.0
    atol = 0.0 if atol is None else atol
    if hermitian:
        w, v = eigh(A)
        big = w.abs().amax(-1, keepdim=True) if w.shape[-1] else w.abs().sum(-1, keepdim=True)
        keep = w.abs() > _cutoff(atol, rtol, big)
        winv = where(keep, 1.0 / where(keep, w, 1.0), 0.0)
        return (v * winv.unsqueeze(-2)) @ v.mT
    u, s, vh = svd(A, full_matrices=False)
    big = s[..., :1] if s.shape[-1] else s.sum(-1, keepdim=True)
    keep = s > _cutoff(atol, rtol, big)
    sinv = where(keep, 1.0 / where(keep, s, 1.0), 0.0)
    return (vh.mT * sinv.unsqueeze(-2)) @ u.mT


def _tolerances(fname, atol, rtol, hermitian):
    for name, v in (("atol", atol), ("rtol", rtol)):
        if v is not None and not isinstance(v, Tensor) and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise TypeError(f"{fname}(): argument '{name}' must be Tensor or float, not {_type_name(v)}")
    _check_bool(fname, "hermitian", hermitian)


def _hermitian(A, hermitian):
    """Whether to take the eigen-decomposition path: torch's eigh refuses non-square matrices, except
    empty ones, which it passes on to the SVD path (so their shapes come out right)."""
    if hermitian and A.shape[-1] != A.shape[-2]:
        if math.prod(A.shape):
            raise RuntimeError(f"linalg.eigh: A must be batches of square matrices, but they are {A.shape[-2]} by "
                               f"{A.shape[-1]} matrices")
        return False
    return hermitian


def _cutoff(atol, rtol, largest):
    a = atol.unsqueeze(-1) if isinstance(atol, Tensor) else atol
    r = rtol.unsqueeze(-1) if isinstance(rtol, Tensor) else rtol
    return (largest * r).maximum(a if isinstance(a, Tensor) else tensor(float(a), dtype=largest.dtype))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol * largest) (pinv's rule), as int64."""
    _matrices(A, "matrix_rank")
    _tolerances("linalg_matrix_rank", atol, rtol, hermitian)
    hermitian = _hermitian(A, hermitian)
    a = A.detach().numpy()
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    eps = np.finfo(a.dtype).eps
    if rtol is None:
        rtol = eps * max(a.shape[-2], a.shape[-1]) if atol is None or (not isinstance(atol, Tensor) and atol == 0) \
            else 0.0
    atol = 0.0 if atol is None else atol
    at = atol.detach().numpy() if isinstance(atol, Tensor) else atol
    rt = rtol.detach().numpy() if isinstance(rtol, Tensor) else rtol
    largest = s.max(-1, initial=0.0) if s.shape[-1] else np.zeros(s.shape[:-1])
    tol = np.maximum(np.asarray(at)[..., None] if np.ndim(at) else at,
                     (np.asarray(rt) * largest)[..., None] if np.ndim(rt) or np.ndim(largest) else rt * largest)
    return tensor(np.asarray((s > tol).sum(-1), dtype=np.int64))


def matrix_power(A, n):
    """A^n for square matrices by repeated squaring; n = 0 gives the identity, n < 0 powers inv(A)."""
    _matrices(A, "matrix_power", square=True)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    n = int(n)
    if n == 0:  # the identity, still recorded (its gradient is 0, as torch's), with no NaN from A's entries
        eye = tensor(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
        return _recorded(eye, A)
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            return result
        base = base @ base


def multi_dot(tensors):
    """The product of a list of matrices (the first may be a 1-D row, the last a 1-D column), multiplied
    in the order that costs the fewest multiply-adds (the classic chain-order program)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_dot(): expected a list of Tensors, got {type(t).__name__} at position {i}")
        want = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in want:
            which = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            if which:
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {t.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_torch_name(tensors[0].dtype)} and tensor {i} {_torch_name(t.dtype)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [tensors[0].unsqueeze(0) if first_vec else tensors[0]] + tensors[1:-1] + \
           [tensors[-1].unsqueeze(-1) if last_vec else tensors[-1]]
    for i in range(1, len(mats)):
        if mats[i - 1].shape[1] != mats[i].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes {list(tensors[i - 1].shape)} and "
                               f"{list(tensors[i].shape)} cannot be multiplied")
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    k = len(mats)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def product(i, j):
        return mats[i] if i == j else product(i, split[i][j]) @ product(split[i][j] + 1, j)

    out = product(0, k - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def vecdot(x, y, *, dim=-1):
    """sum(x * y) over dim, x and y broadcast (real dtypes: no conjugation to do)."""
    for name, v, pos in (("x", x, 1), ("y", y, 2)):
        if not isinstance(v, Tensor):
            raise TypeError(f"linalg_vecdot(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(v).__name__}")
    _check_int("linalg_vecdot", "dim", dim)
    for v in (x, y):
        if v.dtype not in _FLOATS:
            raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got "
                               f"{_torch_name(v.dtype)}")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{_torch_name(x.dtype)} and y of type {_torch_name(y.dtype)} instead")
    return (x * y).sum(dim)


def cross(input, other, *, dim=-1):
    """The cross product over dim (size 3), as torch.linalg.cross: both inputs need the same number of
    dimensions (torch.cross's older rules are firstepoch.cross)."""
    for name, v, pos in (("input", input, 1), ("other", other, 2)):
        if not isinstance(v, Tensor):
            raise TypeError(f"linalg_cross(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(v).__name__}")
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype == np.bool_:
        raise NotImplementedError("\"cross\" not implemented for 'Bool'")
    if other.dtype != input.dtype:  # torch does not promote here
        raise RuntimeError(f"expected scalar type {_torch_name(input.dtype)} but found {_torch_name(other.dtype)}")
    return input.cross(other, dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """torch.linalg.diagonal: A.diagonal over the last two axes by default."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_diagonal(): argument 'A' (position 1) must be Tensor, not {type(A).__name__}")
    for name, v in (("offset", offset), ("dim1", dim1), ("dim2", dim2)):
        _check_int("linalg_diagonal", name, v)
    return A.diagonal(offset, dim1, dim2)
