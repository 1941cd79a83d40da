"""torch.linalg: norms, inverse, determinants, solve, decompositions and matrix products, batched over
leading axes, float32 and float64, differentiable. An integer input raises torch's RuntimeError (and
is refused too by matrix_power, multi_dot and matrix_rank, which in torch take integer matrices).

Each function checks the Tensor-level meaning (dtype, at least 2 dims, square) with torch's messages,
then applies one op: `ops.matrix` (InvFn, DetFn, LogAbsDetFn, SolveFn, SolveTriangularFn, MatrixExpFn),
`ops.decompositions` (svd, eigh, cholesky, qr, LuFn), `ops.reduce` (the vector norm); the rest (matrix
norms, pinv, matrix_power, multi_dot, vecdot, cross, lu_factor, lu_solve, lstsq, the *_ex forms) are
compositions of those and Tensor ops, so autograd differentiates them through the ops they are made of.
A singular input raises `LinAlgError` (a RuntimeError), as torch. The *_ex forms return torch's int32
`info` instead; a failed batch entry's result is LAPACK's (partial factor, Inf/NaN) with a gradient of 0.

Deliberate differences from torch: the math is NumPy's LAPACK, so results agree to rounding, and the
signs of singular vectors / eigenvectors / Q's columns may differ (as between any two LAPACKs); det's
gradient at a singular matrix is adj(A)^T (torch's LU formula can give 0 there); lstsq computes every
driver's solution from the SVD (see its docstring); complex dtypes, eig/eigvals, householder_product,
ldl_factor, lu_factor_ex's pivot=False (torch's CPU refuses it too) and the out= forms are not provided.
"""
import collections
import math
import numbers

import numpy as np

from .ops.decompositions import (LuFn, _check_bool, _check_tensor, _pieces, _type_name, cholesky, cholesky_info_arrays,
                                 eigh, eigvalsh, qr, svd, svdvals)
from .ops.linalg import _FLOATS, _torch_name
from .ops.matrix import (_INV_SINGULAR, DetFn, InvFn, LinAlgError, LogAbsDetFn, MatrixExpFn, SolveFn, SolveTriangularFn,
                         linalg_error, lu_factor_arrays, pivots_to_permutation, triangular_solve_arrays)
from .ops.matrix import _mT as _T
from .tensor import Tensor, cat, matmul, stack, tensor, where

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet", "solve", "svd", "svdvals",
           "eigh", "eigvalsh", "cholesky", "qr", "pinv", "matrix_power", "matrix_rank", "multi_dot", "vecdot",
           "cross", "matmul", "diagonal", "matrix_exp", "solve_triangular", "lu_factor", "lu_factor_ex", "lu",
           "lu_solve", "lstsq", "cholesky_ex", "inv_ex", "solve_ex"]

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


# ---- matrix exponential, triangular solves, LU, least squares, the *_ex forms ---------------------

linalg_lstsq = collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
linalg_lu_factor = collections.namedtuple("linalg_lu_factor", ["LU", "pivots"])
linalg_lu_factor_ex = collections.namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
linalg_lu = collections.namedtuple("linalg_lu", ["P", "L", "U"])
linalg_cholesky_ex = collections.namedtuple("linalg_cholesky_ex", ["L", "info"])
linalg_inv_ex = collections.namedtuple("linalg_inv_ex", ["inverse", "info"])
linalg_solve_ex = collections.namedtuple("linalg_solve_ex", ["result", "info"])


def _batch_shape(*shapes):
    """The broadcast of batch shapes, or torch's RuntimeError naming the first pair of sizes that clash."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        pass
    a, b = shapes[0], shapes[1]
    nd = max(len(a), len(b))
    a, b = (1,) * (nd - len(a)) + tuple(a), (1,) * (nd - len(b)) + tuple(b)
    for d in range(nd - 1, -1, -1):
        if a[d] != b[d] and 1 not in (a[d], b[d]):
            raise RuntimeError(f"The size of tensor a ({a[d]}) must match the size of tensor b ({b[d]}) at "
                               f"non-singleton dimension {d}")
    raise RuntimeError(f"the batch shapes {shapes} do not broadcast")


def _is_tensor(fname, name, x, position):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{name}' (position {position}) must be Tensor, not {_type_name(x)}")


def _constant(array):
    """array (any shape, 0-d included) as a Tensor that requires no grad."""
    return tensor(np.array(array, copy=True))


def _permutation_matrix(perm, dtype):
    """P (..., m, m) with P[perm[i], i] = 1: A = P L U when A[perm] = L U."""
    m = perm.shape[-1]
    P = np.zeros(perm.shape + (m,), dtype)
    idx = np.indices(perm.shape)
    P[(*idx[:-1], perm, idx[-1])] = 1
    return P


def matrix_exp(A):
    """exp(A) = sum_k A^k / k! of square matrices (..., n, n): scaling and squaring with the [13/13] Pade
    approximant (in float64; float32 rounded once at the end); a matrix with NaN or Inf gives NaN."""
    _check_tensor("linalg_matrix_exp", "linalg.matrix_exp", A)
    _matrices(A, "matrix_exp", square=True)
    return MatrixExpFn.apply(A)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (left=False: X A = B), A (..., n, n) read only in its upper (upper=True) or lower
    triangle, with a unit diagonal when unitriangular; batch axes broadcast; B is cast to A's dtype, as
    torch. A zero on the diagonal gives Inf/NaN, not an error (LAPACK's trsm)."""
    _is_tensor("linalg_solve_triangular", "input", A, 1)
    _is_tensor("linalg_solve_triangular", "B", B, 2)
    for name, v in (("upper", upper), ("left", left), ("unitriangular", unitriangular)):
        _check_bool("linalg_solve_triangular", name, v)
    _check_tensor("linalg_solve_triangular", "linalg.solve_triangular", A, kernel="triangular_solve_cpu")
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    _matrices(A, "solve_triangular", square=True)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    _batch_shape(B.shape[:-2], A.shape[:-2])  # torch's message names B's size first
    if B.dtype != A.dtype:
        B = B.to(A.dtype)
    if left:
        return SolveTriangularFn.apply(A, B, bool(upper), bool(unitriangular))
    # X A = B  <=>  A^T X^T = B^T, A^T triangular the other way
    return SolveTriangularFn.apply(A.mT, B.mT, not upper, bool(unitriangular)).mT


def _lu_checks(A, op, pivot):
    _is_tensor(f"linalg_{op}", "A", A, 1)
    if A.ndim < 2:
        who = "torch.lu_factor" if op.startswith("lu_factor") else "linalg.lu"
        raise RuntimeError(f"{who}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    _check_tensor(f"linalg_{op}", f"linalg.{op}", A, kernel="lu_cpu")
    _check_bool(f"linalg_{op}", "pivot", pivot)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _lu_pieces(A):
    """(L, U) Tensors (differentiable, through LuFn), the pivots (int32 array) and the info (array)."""
    lu_arr, piv, info = lu_factor_arrays(A.detach().numpy())
    m, n = A.shape[-2:]
    k = min(m, n)
    L, U = _pieces(LuFn.apply(A, factors=(lu_arr, piv)), A.shape[:-2], ((m, k), (k, n)))
    return L, U, piv, info


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info): the LU factorisation with partial pivoting of A (..., m, n) in LAPACK's packed
    form (L's unit-diagonal factor below the diagonal, U on and above it), pivots (..., min(m, n)) int32
    1-based row interchanges, info (...) int32 (k > 0: U[k, k] is exactly zero). LU is differentiable."""
    _lu_checks(A, "lu_factor_ex", pivot)
    _check_bool("linalg_lu_factor_ex", "check_errors", check_errors)
    L, U, piv, info = _lu_pieces(A)
    m, n = A.shape[-2:]
    batch = tuple(A.shape[:-2])
    if m >= n:
        LU = L.tril(-1) + cat([U, tensor(np.zeros(batch + (m - n, n), A.dtype))], -2)
    else:
        LU = cat([L.tril(-1), tensor(np.zeros(batch + (m, n - m), A.dtype))], -1) + U
    if check_errors and info.any():
        _raise_zero_pivot("torch.linalg.lu_factor_ex", info, A.ndim > 2)
    return linalg_lu_factor_ex(LU, _constant(piv), _constant(info))


def _raise_zero_pivot(op, info, batched):
    """torch's RuntimeError (not a LinAlgError) for lu_factor of a matrix with a zero pivot."""
    flat = info.reshape(-1)
    i = int(np.flatnonzero(flat)[0])
    k = int(flat[i])
    batch = f"(Batch element {i}): " if batched else ""
    raise RuntimeError(f"{op}: {batch}U[{k},{k}] is zero and using it on lu_solve would result in a division by "
                       "zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) "
                       "or linalg.lu_factor_ex(A, pivot)")


def _raise_first(op, info, batched, what):
    flat = info.reshape(-1)
    i = int(np.flatnonzero(flat)[0])
    raise linalg_error(op, i if batched else None, what.format(k=int(flat[i])))


def lu_factor(A, *, pivot=True):
    """(LU, pivots) as lu_factor_ex; a matrix with a zero pivot raises torch's RuntimeError (its U would
    divide by zero in lu_solve)."""
    _lu_checks(A, "lu_factor", pivot)
    LU, piv, info = lu_factor_ex(A)
    if info.numpy().any():
        _raise_zero_pivot("torch.linalg.lu_factor", info.numpy(), A.ndim > 2)
    return linalg_lu_factor(LU, piv)


def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U: P (..., m, m) a permutation matrix of A's dtype, L (..., m, k) unit lower
    triangular, U (..., k, n) upper triangular, k = min(m, n); L and U are differentiable (torch's
    gradient). A singular A is factorised without error, as torch."""
    _lu_checks(A, "lu", pivot)
    L, U, piv, _ = _lu_pieces(A)
    P = _permutation_matrix(pivots_to_permutation(piv, A.shape[-2]), A.dtype)
    return linalg_lu(_constant(P), L, U)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B (left=False: X A = B; adjoint=True: A^T in place of A) for A = P L U given as
    lu_factor's (LU, pivots); batch axes broadcast. Differentiable in LU and B (through the triangular
    solves, which read LU's two triangles)."""
    _is_tensor("linalg_lu_solve", "LU", LU, 1)
    _is_tensor("linalg_lu_solve", "pivots", pivots, 2)
    _is_tensor("linalg_lu_solve", "B", B, 3)
    _check_bool("linalg_lu_solve", "left", left)
    _check_bool("linalg_lu_solve", "adjoint", adjoint)
    _check_tensor("linalg_lu_solve", "linalg.lu_solve", LU, kernel="lu_solve_cpu")
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(f"torch.linalg.lu_solve: A must be batches of square matrices, but they are "
                           f"{LU.shape[-2]} by {LU.shape[-1]} matrices")
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    if pivots.dtype != np.int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: Expected pivots of shape {list(LU.shape[:-1])}, got {list(pivots.shape)}")
    if B.dtype != LU.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_torch_name(LU.dtype)} and B of type {_torch_name(B.dtype)} instead")
    _batch_shape(LU.shape[:-2], B.shape[:-2])
    P = _constant(_permutation_matrix(pivots_to_permutation(pivots.numpy(), n), LU.dtype))
    if not left:  # X A = B <=> A^T X^T = B^T (and X A^T = B <=> A X^T = B^T)
        return lu_solve(LU, pivots, B.mT, left=True, adjoint=not adjoint).mT
    if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B
        y = SolveTriangularFn.apply(LU, P.mT @ B, False, True)
        return SolveTriangularFn.apply(LU, y, True, False)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    y = SolveTriangularFn.apply(LU.mT, B, False, False)
    return P @ SolveTriangularFn.apply(LU.mT, y, True, True)


def _singular_values(a):
    """NumPy's singular values of a (..., m, n) (zeros for a matrix with NaN or Inf), shape (..., k)."""
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)
    finite = np.isfinite(a).all(axis=(-2, -1))
    s = np.linalg.svd(np.where(finite[..., None, None], a, 0.0), compute_uv=False)
    return np.where(finite[..., None], s, np.nan).astype(a.dtype)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values): X minimising ||A X - B|| for A (..., m, n) and B
    (..., m, k) (or (..., m) when B has one dimension fewer than A), batch axes broadcast. The solution
    is the minimum-norm one, pinv(A, rtol=rcond) @ B, singular values at most rcond * the largest counting
    as zero (rcond None: eps * max(m, n)); it is differentiable (torch's gradient is pinv's). As torch on
    the CPU (default driver 'gelsy'): rank (int64, per matrix) for every driver but 'gels';
    singular_values for 'gelsd' and 'gelss'; residuals (||A X - B||^2 per column) when m > n, for 'gels',
    and for 'gelsd'/'gelss' when every matrix has rank n; each absent field an empty tensor.
    Deliberate differences: every driver computes the SVD solution, so 'gels' on a rank-deficient A (where
    LAPACK's result is not defined) gives the minimum-norm solution, and 'gelsy's rank is counted from the
    singular values (LAPACK estimates it from a pivoted QR; the two agree except within rounding of the
    cutoff)."""
    _is_tensor("linalg_lstsq", "self", A, 1)
    _is_tensor("linalg_lstsq", "b", B, 2)
    if rcond is not None and (isinstance(rcond, bool) or not isinstance(rcond, numbers.Real)):
        raise TypeError(f"linalg_lstsq(): argument 'rcond' must be float, not {_type_name(rcond)}")
    if driver is not None and not isinstance(driver, str):
        raise TypeError(f"linalg_lstsq(): argument 'driver' must be str, not {_type_name(driver)}")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {_torch_name(A.dtype)} and other's dtype {_torch_name(B.dtype)}")
    if A.dtype not in _FLOATS:
        raise RuntimeError("This function doesn't handle types other than float and double")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    batch = _batch_shape(A.shape[:-2], b.shape[:-2])  # before the size check, as torch
    if A.shape[-2] != b.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    m, n = A.shape[-2:]
    eps = float(np.finfo(A.dtype).eps)
    rcond = eps * max(m, n) if rcond is None else float(rcond)
    X = pinv(A, rtol=rcond) @ b
    s = _singular_values(A.detach().numpy())
    largest = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    rank = np.broadcast_to((s > rcond * largest).sum(-1), batch).astype(np.int64)
    empty = tensor(np.empty((0,), A.dtype))
    residuals = empty
    if m > n and (driver == "gels" or (driver in ("gelsd", "gelss") and (rank == n).all())):
        residuals = ((A @ X - b) ** 2).sum(-2)
    rank_t = tensor(np.empty((0,), np.int64)) if driver == "gels" else _constant(rank)
    sv = _constant(np.broadcast_to(s, batch + s.shape[-1:])) if driver in ("gelsd", "gelss") else empty
    return linalg_lstsq(X.squeeze(-1) if vector else X, residuals, rank_t, sv)


def _ex_where(bad, value, result):
    """result with the matrices of a failed batch entry replaced by value (a constant of result's shape)."""
    mask = np.broadcast_to(bad.reshape(bad.shape + (1,) * (result.ndim - bad.ndim)), result.shape)
    return where(tensor(np.ascontiguousarray(mask)), _constant(value), result)


def _repaired(A, bad):
    """A with the matrices of the failed entries replaced by the identity (a gradient of 0 to them)."""
    eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape)
    return where(tensor(np.ascontiguousarray(np.broadcast_to(bad[..., None, None], A.shape))), _constant(eye), A)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): linalg.cholesky without the error: info (...) int32 is the order of the first leading
    minor that is not positive-definite (0: the factorisation succeeded). check_errors=True raises
    cholesky's LinAlgError. The factor of a failed matrix is LAPACK's partial one (unblocked potrf: the
    columns before the failing minor, the failing pivot on the diagonal, A's own triangle past it; a
    LAPACK that blocks large matrices may leave other partial entries); its gradient is 0."""
    _check_tensor("linalg_cholesky_ex", "linalg.cholesky", A)
    _check_bool("linalg_cholesky_ex", "upper", upper)
    _check_bool("linalg_cholesky_ex", "check_errors", check_errors)
    _matrices(A, "cholesky", square=True)
    a = A.detach().numpy()
    t = _T(np.triu(a)) if upper else np.tril(a)
    S = t + _T(np.tril(t, -1))
    try:
        with np.errstate(all="ignore"):
            ok = S.size == 0 or np.isfinite(np.linalg.cholesky(S)).all()
    except np.linalg.LinAlgError:
        ok = False
    if ok:
        return linalg_cholesky_ex(cholesky(A, upper=upper), _constant(np.zeros(A.shape[:-2], np.int32)))
    partial, info = cholesky_info_arrays(S)
    if check_errors and info.any():
        _raise_first("linalg.cholesky_ex", info, A.ndim > 2,
                     "The factorization could not be completed because the input is not positive-definite (the "
                     "leading minor of order {k} is not positive-definite).")
    bad = info > 0
    L = cholesky(_repaired(A, bad), upper=upper)
    return linalg_cholesky_ex(_ex_where(bad, _T(partial) if upper else partial, L), _constant(info))


def _lu_solve_arrays(a, b):
    """A^-1 B from A's LU (getrf + getrs, no error: a zero pivot gives Inf/NaN, as LAPACK)."""
    lu_arr, piv, _ = lu_factor_arrays(a)
    perm = pivots_to_permutation(piv, a.shape[-1])
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    pb = np.take_along_axis(np.broadcast_to(b, batch + b.shape[-2:]),
                            np.broadcast_to(perm, batch + perm.shape[-1:])[..., None], axis=-2)
    y = triangular_solve_arrays(lu_arr, pb, False, True)
    return triangular_solve_arrays(lu_arr, y, True)


def inv_ex(A, *, check_errors=False):
    """(inverse, info): linalg.inv without the error: info (...) int32 is LAPACK's getrf info (k > 0: the
    k-th pivot is zero; the inverse of that matrix is LAPACK's Inf/NaN, with a gradient of 0).
    check_errors=True raises inv's LinAlgError."""
    _matrices(A, "inv", square=True)
    _check_bool("linalg_inv_ex", "check_errors", check_errors)
    a = A.detach().numpy()
    info = lu_factor_arrays(a)[2] if a.size else np.zeros(a.shape[:-2], np.int32)
    if not info.any():
        return linalg_inv_ex(inv(A), _constant(info))
    if check_errors:
        _raise_first("linalg.inv_ex", info, A.ndim > 2, _INV_SINGULAR)
    bad = info > 0
    value = _lu_solve_arrays(a, np.eye(a.shape[-1], dtype=a.dtype)).astype(a.dtype)
    return linalg_inv_ex(_ex_where(bad, value, inv(_repaired(A, bad))), _constant(info))


def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info): linalg.solve without the error: info (...) int32 is LAPACK's getrf info for A
    (k > 0: the k-th pivot is zero; that entry's result is LAPACK's Inf/NaN, with a gradient of 0).
    check_errors=True raises solve's LinAlgError."""
    _matrices(A, "solve", square=True)
    _check_bool("linalg_solve_ex", "check_errors", check_errors)
    _check_bool("linalg_solve_ex", "left", left)
    a = A.detach().numpy()
    info = lu_factor_arrays(a)[2] if a.size else np.zeros(a.shape[:-2], np.int32)
    if not info.any():
        return linalg_solve_ex(solve(A, B, left=left), _constant(info))
    if check_errors:
        _raise_first("torch.linalg.solve_ex", info, A.ndim > 2,
                     "The solver failed because the input matrix is singular.")
    bad = info > 0
    X = solve(_repaired(A, bad), B, left=left)  # its checks have passed: B is a Tensor of A's dtype
    vector = left and (B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]))
    b = B.detach().numpy()
    if not left:  # X A = B <=> A^T X^T = B^T
        value = _T(_lu_solve_arrays(_T(a), _T(b)))
    elif vector:
        value = _lu_solve_arrays(a, b[..., None])[..., 0]
    else:
        value = _lu_solve_arrays(a, b)
    info_b = np.broadcast_to(bad, X.shape[:-1] if vector else X.shape[:-2])
    return linalg_solve_ex(_ex_where(info_b, value.astype(a.dtype), X), _constant(info))
