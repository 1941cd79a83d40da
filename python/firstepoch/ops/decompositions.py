"""Differentiable matrix decompositions on NumPy's LAPACK: SVD, symmetric eigendecomposition, Cholesky, QR.

Tensor-level functions, with torch.linalg's names, arguments and results (for firstepoch.linalg to export):

- `svd(A, full_matrices=True)` -> (U, S, Vh), `svdvals(A)` -> S
- `eigh(A, UPLO='L')` -> (eigenvalues ascending, eigenvectors), `eigvalsh(A, UPLO='L')`
- `cholesky(A, upper=False)` -> L (or U = L^T), raising `LinAlgError` for an input that is not
  positive-definite, with torch's message (and its "(Batch element i): " for a batch)
- `qr(A, mode='reduced')` -> (Q, R); mode 'reduced', 'complete' or 'r' (Q an empty tensor)

Each takes (..., m, n) float32/float64 and returns results of A's dtype; the results are named tuples
with torch's fields (U, S, Vh; eigenvalues, eigenvectors; Q, R). Errors are torch's: RuntimeError for an
integer or bool A and for fewer than 2 dims, NotImplementedError for float16 (as torch's CPU kernels),
TypeError for a flag of the wrong type. The Functions themselves raise TypeError/ValueError for such
input (tests/test_fuzz.py feeds them every dtype), and LinAlgError as the wrappers.

The Functions (`SvdFn`, `SvdvalsFn`, `EighFn`, `EigvalshFn`, `CholeskyFn`, `QrFn`) have one output, as
every array-level Function: one with several results packs them, each flattened over its last two axes,
side by side along one last axis (`_concat`); the wrappers slice them out with the differentiable indexing
op, so a result that is not used sends back a zero gradient. The backwards treat an all-zero gradient as
torch treats an undefined one (svd's U term divides by S, which may be 0 where the U result is unused).

Gradients are torch's (FunctionsManual.cpp: svd_backward, linalg_eig_backward for a Hermitian A,
cholesky_backward, linalg_qr_backward):
- svd: with E_ij = s_j^2 - s_i^2, gA = U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)] V^T, plus the
  projector terms (I - U U^T) gU S^-1 V^T for m > n and U S^-1 gVh (I - V V^T) for m < n.
  With full_matrices=True, as torch, only the first k = min(m, n) columns of U and rows of Vh count.
- eigh: gA = V [skew(V^T gV) / E + diag(gL)] V^T with E_ij = l_j - l_i: a symmetric gradient.
- cholesky: gA = L^-T Phi(L^T gL) L^-1, Phi taking the lower triangle with half its diagonal, then
  symmetrised: again a symmetric gradient.
- qr (reduced, or complete with m <= n): for m >= n, gA = (Q syminvadj(triu(M)) + gQ) R^-T with
  M = gR R^T - Q^T gQ and syminvadj(X) = X + X^T, diagonal halved; for m < n, A = [X | Y] with X = Q R1
  square: Y's block of R is Q^T Y, so gY = Q gR2 and X gets the square formula with gQ + Y gR2^T.
  mode='r' and mode='complete' with m > n raise torch's RuntimeError in backward.

eigh and cholesky read only one triangle of A (UPLO's; cholesky's lower, or upper with upper=True), as
LAPACK and torch, yet their gradient, as torch's, is the symmetric one: the derivative in the directions
that keep A symmetric, spread over both triangles. So that each Function's backward is the exact derivative
of its forward (tests/test_gradcheck_registry.py perturbs every entry), EighFn, EigvalshFn and
CholeskyFn factor the symmetric part (A + A^T) / 2, whose gradient is that symmetric one; the wrappers
hand them A with the unread triangle replaced by the mirror of the read one, as A - A + T (T that
matrix, the two constants without a gradient), so the gradient reaches A unchanged, as torch's does.
(A symmetric A goes in as it is.) Deliberate differences from torch:
- a non-finite entry in the triangle that is not read, when A requires grad, makes the result NaN
  (A - A is NaN there); torch ignores it;
- svd of a matrix with an Inf raises the same LinAlgError as for a NaN ("contained non-finite values";
  torch's LAPACK reports an error code for Inf); eigh of a matrix with a NaN or Inf gives NaN for that
  matrix's eigenvalues and eigenvectors (torch gives NaNs or raises, depending on where they are);
- signs of singular vectors, eigenvectors and Q's columns are LAPACK's as NumPy calls it, which may
  differ from torch's build of LAPACK.
"""
import collections

import numpy as np

from ..autograd.function import Function, TensorBase
from ..autograd.grad_mode import is_grad_enabled
from .linalg import _FLOATS, _torch_name
from .matrix import linalg_error, lu_factor_arrays, pivots_to_permutation, triangular_solve_arrays
from .matrix import _mT as _T

linalg_svd = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_eigh = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_qr = collections.namedtuple("linalg_qr", ["Q", "R"])


# ---- helpers on arrays -----------------------------------------------------------------------------

def _check_array(op, A):
    """TypeError/ValueError for what no Function here takes: a dtype other than native float32/float64,
    fewer than 2 dims."""
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{op}: expected an array for A, got {type(A).__name__}")
    if A.dtype not in _FLOATS:
        raise TypeError(f"{op}: A must be float32 or float64 (native byte order), got {A.dtype}")
    if A.ndim < 2:
        raise ValueError(f"{op}: The input tensor A must have at least 2 dimensions (got shape {A.shape})")
    return np.ascontiguousarray(A)


def _check_square(op, A):
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                         f"{A.shape[-1]} matrices")


def _sym(A):
    """(A + A^T) / 2; exactly A when A is symmetric."""
    return (A + _T(A)) * 0.5


def _flat(x, nbatch):
    return x.reshape(x.shape[:nbatch] + (int(np.prod(x.shape[nbatch:], dtype=np.int64)),))


def _concat(parts, nbatch):
    return np.concatenate([_flat(p, nbatch) for p in parts], axis=-1)


def _split(packed, shapes, nbatch):
    """The arrays _concat packed, given their shapes past the batch axes."""
    out, start = [], 0
    batch = packed.shape[:nbatch]
    for s in shapes:
        size = int(np.prod(s, dtype=np.int64))
        out.append(packed[..., start:start + size].reshape(batch + tuple(s)))
        start += size
    return out


def _defined(g):
    """g, or None when it is all zeros (what the indexing op sends back for a result not used)."""
    return g if g.size and np.any(g) else None


def _eye(batch, n, dtype):
    return np.broadcast_to(np.eye(n, dtype=dtype), batch + (n, n)).copy()


def _solve_right(X, B):
    """X B^-1 for square B (batched): (B^-T X^T)^T."""
    return _T(np.linalg.solve(_T(B), _T(X)))


# ---- SVD -------------------------------------------------------------------------------------------

def _svd_arrays(A, full_matrices, compute_uv=True):
    """np.linalg.svd with torch's results for empty matrices and its LinAlgError for non-finite input."""
    m, n = A.shape[-2:]
    k = min(m, n)
    batch = A.shape[:-2]
    if A.size == 0:
        S = np.zeros(batch + (k,), A.dtype)
        if not compute_uv:
            return S
        if full_matrices:
            return _eye(batch, m, A.dtype), S, _eye(batch, n, A.dtype)
        return np.zeros(batch + (m, k), A.dtype), S, np.zeros(batch + (k, n), A.dtype)
    finite = np.isfinite(A).reshape((-1, m * n)).all(axis=1)
    if not finite.all():
        raise linalg_error("linalg.svd", int(np.argmin(finite)) if batch else None,
                           "The algorithm failed to converge because the input matrix contained non-finite values.")
    if not compute_uv:
        return np.linalg.svd(A, compute_uv=False)
    return np.linalg.svd(A, full_matrices=full_matrices)


def _svd_backward(gU, gS, gVh, U, S, Vh):
    """torch's svd_backward for real U (m, k), S (k,), Vh (k, n) (full_matrices=False); a gradient that is
    None is undefined."""
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        if gS is None:
            return np.zeros(U.shape[:-1] + (n,), U.dtype)
        return U @ (gS[..., :, None] * Vh) if m >= n else (U * gS[..., None, :]) @ Vh
    S2 = S * S
    E = S2[..., None, :] - S2[..., :, None]
    idx = np.arange(S.shape[-1])
    E[..., idx, idx] = 1
    UhgU = VhgV = None
    if gU is not None:
        X = _T(U) @ gU
        UhgU = X - _T(X)
    if gVh is not None:
        X = Vh @ _T(gVh)
        VhgV = X - _T(X)
    if UhgU is not None and VhgV is not None:
        gA = (UhgU * S[..., None, :] + S[..., :, None] * VhgV) / E
    elif UhgU is not None:
        gA = UhgU * (S[..., None, :] / E)
    else:
        gA = VhgV * (S[..., :, None] / E)
    if gS is not None:
        gA = gA + gS[..., :, None] * np.eye(S.shape[-1], dtype=gA.dtype)
    if m > n and gU is not None:
        gA = U @ gA
        gUSinv = gU / S[..., None, :]
        gA = gA + gUSinv - U @ (_T(U) @ gUSinv)
        gA = gA @ Vh
    elif m < n and gVh is not None:
        gA = gA @ Vh
        gVhSinv = gVh / S[..., :, None]
        gA = gA + gVhSinv - (gVhSinv @ _T(Vh)) @ Vh
        gA = U @ gA
    else:
        gA = U @ (gA @ Vh) if m >= n else (U @ gA) @ Vh
    return gA


def _full_rank_cases(rng, shapes):
    """Matrices with well separated singular values (1, 2, 3, ...), random singular vectors."""
    out = []
    for shape in shapes:
        m, n = shape[-2:]
        k = min(m, n)
        Q1 = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))[0]
        Q2 = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))[0]
        S = np.arange(1.0, k + 1) + 0.25 * rng.random(shape[:-2] + (k,))
        out.append((Q1[..., :, :k] * S[..., None, :]) @ Q2[..., :k, :])
    return out


class SvdFn(Function):
    """svd(A (..., m, n), full_matrices) -> packed (..., m*ku + k + kv*n): U (m, ku), S (k,), Vh (kv, n)
    flattened side by side, k = min(m, n), ku = m and kv = n with full_matrices, else k. Gradient:
    torch's svd_backward (see the module docstring). With full_matrices and m != n, U's columns and Vh's
    rows past k get none, as in torch: they are any orthonormal basis of the complement, so no loss
    should depend on them (this part of the gradient is deliberately not their derivative)."""

    @staticmethod
    def forward(ctx, A, full_matrices=True):
        A = _check_array("linalg.svd", A)
        U, S, Vh = _svd_arrays(A, bool(full_matrices))
        nb = A.ndim - 2
        ctx.save_for_backward(U, S, Vh)
        ctx.nb = nb
        return _concat((U, S, Vh), nb)

    @staticmethod
    def backward(ctx, grad):
        U, S, Vh = ctx.saved_tensors
        gU, gS, gVh = _split(grad, (U.shape[-2:], S.shape[-1:], Vh.shape[-2:]), ctx.nb)
        k = S.shape[-1]
        U, Vh, gU, gVh = U[..., :, :k], Vh[..., :k, :], gU[..., :, :k], gVh[..., :k, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            gA = _svd_backward(_defined(gU), _defined(gS), _defined(gVh), U, S, Vh)
        return gA.astype(U.dtype, copy=False), None

    @staticmethod
    def gradcheck_cases(rng):
        tall, wide, square, batched = _full_rank_cases(rng, [(4, 3), (2, 4), (3, 3), (2, 3, 2)])
        # full_matrices=True only square: for m != n the columns of U (rows of Vh) past k are a basis of
        # the complement that LAPACK picks, which gets no gradient here (as in torch), so finite
        # differences of them do not match by design
        return [((tall,), {"full_matrices": False}), ((wide,), {"full_matrices": False}),
                ((square,), {}), ((batched,), {"full_matrices": False}), ((square[None],), {"full_matrices": True})]


class SvdvalsFn(Function):
    """svdvals(A (..., m, n)) -> S (..., k), descending. Gradient: U diag(gS) Vh."""

    @staticmethod
    def forward(ctx, A):
        A = _check_array("linalg.svd", A)
        if ctx.needs_input_grad[0]:
            U, S, Vh = _svd_arrays(A, False)
            ctx.save_for_backward(U, Vh)
        else:
            S = _svd_arrays(A, False, compute_uv=False)
        return S

    @staticmethod
    def backward(ctx, grad):
        U, Vh = ctx.saved_tensors
        return _svd_backward(None, grad, None, U, None, Vh).astype(U.dtype, copy=False)

    @staticmethod
    def gradcheck_cases(rng):
        return [((a,), {}) for a in _full_rank_cases(rng, [(4, 3), (2, 5), (2, 3, 3)])]


# ---- symmetric eigendecomposition ------------------------------------------------------------------

def _eigh_arrays(A, vectors=True):
    """np.linalg.eigh of the symmetric part of A; a matrix with a NaN or Inf gets NaNs."""
    S = _sym(A)
    n = A.shape[-1]
    if A.size == 0:
        L = np.zeros(A.shape[:-1], A.dtype)
        return (L, np.zeros(A.shape, A.dtype)) if vectors else L
    finite = np.isfinite(S).all(axis=(-1, -2))
    if not finite.all():
        S = np.where(finite[..., None, None], S, np.eye(n, dtype=A.dtype))
    if vectors:
        L, V = np.linalg.eigh(S)
    else:
        L, V = np.linalg.eigvalsh(S), None
    if not finite.all():
        L = np.where(finite[..., None], L, np.nan).astype(A.dtype, copy=False)
        if V is not None:
            V = np.where(finite[..., None, None], V, np.nan).astype(A.dtype, copy=False)
    return (L, V) if vectors else L


def _spd_cases(rng, shapes):
    """Symmetric matrices with well separated eigenvalues (1, 2, ... shifted)."""
    out = []
    for shape in shapes:
        n = shape[-1]
        Q = np.linalg.qr(rng.standard_normal(shape))[0]
        lam = np.arange(1.0, n + 1) + 0.25 * rng.random(shape[:-2] + (n,))
        A = (Q * lam[..., None, :]) @ _T(Q)
        out.append(_sym(A))
    return out


class EighFn(Function):
    """eigh(A (..., n, n)) -> packed (..., n + n*n): the eigenvalues (ascending) and the eigenvectors (as
    columns), of the symmetric part (A + A^T) / 2 (A itself when symmetric; eigh() below makes it so).
    Gradient: torch's, V [skew(V^T gV) / E + diag(gL)] V^T with E_ij = l_j - l_i: symmetric."""

    @staticmethod
    def forward(ctx, A):
        A = _check_array("linalg.eigh", A)
        _check_square("linalg.eigh", A)
        L, V = _eigh_arrays(A)
        ctx.save_for_backward(L, V)
        ctx.nb = A.ndim - 2
        return _concat((L, V), ctx.nb)

    @staticmethod
    def backward(ctx, grad):
        L, V = ctx.saved_tensors
        n = L.shape[-1]
        gL, gV = _split(grad, ((n,), (n, n)), ctx.nb)
        gL, gV = _defined(gL), _defined(gV)
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.zeros(V.shape, V.dtype)
            if gV is not None:
                X = _T(V) @ gV
                E = L[..., None, :] - L[..., :, None]
                idx = np.arange(n)
                E[..., idx, idx] = 1
                inner = 0.5 * (X - _T(X)) / E
            if gL is not None:
                inner = inner + gL[..., :, None] * np.eye(n, dtype=V.dtype)
            gA = V @ inner @ _T(V)
        return gA.astype(V.dtype, copy=False)

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _spd_cases(rng, [(4, 4), (2, 3, 3)])
        return [((a,), {}), ((b,), {}), ((a - 2.5 * np.eye(4),), {})]


class EigvalshFn(Function):
    """eigvalsh(A (..., n, n)) -> eigenvalues (..., n) ascending, of (A + A^T) / 2. Gradient: V diag(gL) V^T."""

    @staticmethod
    def forward(ctx, A):
        A = _check_array("linalg.eigh", A)
        _check_square("linalg.eigh", A)
        if ctx.needs_input_grad[0]:
            L, V = _eigh_arrays(A)
            ctx.save_for_backward(V)
        else:
            L = _eigh_arrays(A, vectors=False)
        return L

    @staticmethod
    def backward(ctx, grad):
        V, = ctx.saved_tensors
        return ((V * grad[..., None, :]) @ _T(V)).astype(V.dtype, copy=False)

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _spd_cases(rng, [(3, 3), (2, 4, 4)])
        return [((a,), {}), ((b - 2 * np.eye(4),), {})]


# ---- Cholesky --------------------------------------------------------------------------------------

def _failing_order(S):
    """The order of the first leading minor of the symmetric S (n, n) that is not positive-definite (as
    LAPACK's potrf finds it: a pivot that is not > 0, NaN included), or 0 when there is none."""
    n = S.shape[-1]
    L = np.zeros((n, n), np.float64)
    S = S.astype(np.float64)
    with np.errstate(all="ignore"):
        for j in range(n):
            d = S[j, j] - L[j, :j] @ L[j, :j]
            if not d > 0:
                return j + 1
            L[j, j] = np.sqrt(d)
            L[j + 1:, j] = (S[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return 0


def cholesky_info_arrays(S):
    """(L, info) as LAPACK's unblocked potrf leaves them for each symmetric matrix of S (..., n, n):
    info the order of the first leading minor that is not positive-definite (0: none, L the factor);
    for a failing matrix, L holds the columns before that minor's, the failing pivot's value on the
    diagonal, and S's own lower triangle past it."""
    n = S.shape[-1]
    flat = S.reshape((-1, n, n))
    L = np.tril(flat).astype(S.dtype, copy=True)
    info = np.zeros(flat.shape[0], np.int32)
    for i, s in enumerate(flat):
        order = _failing_order(s)
        info[i] = order
        if not order:
            L[i] = np.linalg.cholesky(s)
            continue
        j = order - 1
        with np.errstate(all="ignore"):
            part = np.linalg.cholesky(s[:j, :j].astype(np.float64)) if j else np.zeros((0, 0))
            below = np.linalg.solve(part, s[j:, :j].T.astype(np.float64)).T if j else np.zeros((n - j, 0))
            L[i, :j, :j] = part
            L[i, j:, :j] = below
            L[i, j, j] = s[j, j] - below[0] @ below[0]
    return L.reshape(S.shape), info.reshape(S.shape[:-2])


def _cholesky_lower(A):
    """The lower Cholesky factor of (A + A^T) / 2, or torch's LinAlgError naming the minor and batch entry."""
    S = _sym(A)
    if A.size == 0:
        return np.zeros(A.shape, A.dtype)
    try:
        with np.errstate(all="ignore"):
            L = np.linalg.cholesky(S)
        if np.isfinite(L).all():
            return L
    except np.linalg.LinAlgError:
        pass
    n = A.shape[-1]
    flat = S.reshape((-1, n, n))
    for i, s in enumerate(flat):
        order = _failing_order(s)
        if order:
            raise linalg_error("linalg.cholesky", i if A.ndim > 2 else None,
                               "The factorization could not be completed because the input is not positive-definite "
                               f"(the leading minor of order {order} is not positive-definite).")
    with np.errstate(all="ignore"):  # only reached for a factor that overflowed: NumPy's result as it is
        return np.linalg.cholesky(S)


class CholeskyFn(Function):
    """cholesky(A (..., n, n), upper) -> L with (A + A^T) / 2 = L L^T, lower triangular with a positive
    diagonal (A itself when symmetric; cholesky() below makes it so), or its transpose with upper=True.
    A matrix that is not positive-definite raises LinAlgError (a RuntimeError) with torch's message.
    Gradient: torch's cholesky_backward, symmetric."""

    @staticmethod
    def forward(ctx, A, upper=False):
        A = _check_array("linalg.cholesky", A)
        _check_square("linalg.cholesky", A)
        L = _cholesky_lower(A)
        ctx.save_for_backward(L)
        ctx.upper = bool(upper)
        return np.ascontiguousarray(_T(L)) if upper else L

    @staticmethod
    def backward(ctx, grad):
        L, = ctx.saved_tensors
        gL = _T(grad) if ctx.upper else grad
        if L.size == 0:
            return np.zeros(L.shape, L.dtype), None
        gA = np.tril(_T(L) @ gL)
        gA = 0.5 * (gA + _T(np.tril(gA, -1)))
        # L^-T gA L^-1: solve L^T X = gA, then X L^-1
        with np.errstate(all="ignore"):
            X = np.linalg.solve(_T(L), gA)
            gA = _solve_right(X, L)
        return gA.astype(L.dtype, copy=False), None

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _spd_cases(rng, [(4, 4), (2, 3, 3)])
        return [((a,), {}), ((b,), {}), ((a,), {"upper": True})]


# ---- QR --------------------------------------------------------------------------------------------

_QR_MODES = ("reduced", "complete", "r")


def _qr_arrays(A, mode):
    """(Q or None, R) as torch.linalg.qr (Q None for mode='r')."""
    m, n = A.shape[-2:]
    k = min(m, n)
    batch = A.shape[:-2]
    if A.size == 0:
        Q = None if mode == "r" else (_eye(batch, m, A.dtype) if mode == "complete" else
                                      np.zeros(batch + (m, k), A.dtype))
        R = np.zeros(batch + ((m if mode == "complete" else k), n), A.dtype)
        if mode == "r":
            R = np.zeros(batch + (k, n), A.dtype)
        return Q, R
    with np.errstate(all="ignore"):
        if mode == "r":
            return None, np.linalg.qr(A, mode="r").astype(A.dtype, copy=False)
        Q, R = np.linalg.qr(A, mode=mode)
    return Q.astype(A.dtype, copy=False), R.astype(A.dtype, copy=False)


def _syminvadj(X):
    """X + X^T with the diagonal halved (X's own diagonal)."""
    ret = X + _T(X)
    n = X.shape[-1]
    idx = np.arange(n)
    ret[..., idx, idx] *= 0.5
    return ret


def _qr_backward_square(gQ, gR, Q, R):
    """torch's linalg_qr_backward for m >= n (Q (m, n), R (n, n)); None: an undefined gradient:
    gA = (Q syminvadj(triu(M)) + gQ) R^-T, M = gR R^T - Q^T gQ."""
    if gQ is not None and gR is not None:
        M = gR @ _T(R) - _T(Q) @ gQ
    elif gQ is not None:
        M = -(_T(Q) @ gQ)
    else:
        M = gR @ _T(R)
    b = Q @ _syminvadj(np.triu(M))
    if gQ is not None:
        b = b + gQ
    return _solve_right(b, _T(R))  # b R^-T


def _qr_backward(gQ, gR, Q, R, A_shape):
    m, n = Q.shape[-2], R.shape[-1]
    if gQ is None and gR is None:
        return np.zeros(A_shape, Q.dtype)
    if m >= n:
        return _qr_backward_square(gQ, gR, Q, R)
    # A = [X | Y], X = Q R[:, :m] square, Y = Q R[:, m:]: Y's part of R is Q^T Y
    gR1 = gR[..., :, :m] if gR is not None else None
    gR2 = gR[..., :, m:] if gR is not None else None
    Y = Q @ R[..., :, m:]
    if gR2 is not None:
        gQ = (gQ if gQ is not None else 0) + Y @ _T(gR2)
    if gR1 is None:
        gR1 = np.zeros(R.shape[:-1] + (m,), R.dtype)
    gX = _qr_backward_square(gQ, gR1, Q, R[..., :, :m])
    gY = Q @ gR2 if gR2 is not None else np.zeros(Y.shape, Y.dtype)
    return np.concatenate([gX, gY], axis=-1)


class QrFn(Function):
    """qr(A (..., m, n), mode) -> packed (..., m*kq + kr*n): Q (m, kq) and R (kr, n) flattened side by side
    (mode 'reduced': kq = kr = k = min(m, n); 'complete': kq = kr = m); mode 'r': R alone (k, n).
    Gradient: torch's linalg_qr_backward; mode 'r', and 'complete' with m > n, raise its RuntimeError."""

    @staticmethod
    def forward(ctx, A, mode="reduced"):
        A = _check_array("linalg.qr", A)
        if mode not in _QR_MODES:
            raise ValueError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                             "'r', or 'complete'")
        Q, R = _qr_arrays(A, mode)
        ctx.mode, ctx.nb, ctx.shape = mode, A.ndim - 2, A.shape
        if Q is None:
            return R
        ctx.save_for_backward(Q, R)
        return _concat((Q, R), ctx.nb)

    @staticmethod
    def backward(ctx, grad):
        m, n = ctx.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        Q, R = ctx.saved_tensors
        gQ, gR = _split(grad, (Q.shape[-2:], R.shape[-2:]), ctx.nb)
        with np.errstate(all="ignore"):
            gA = _qr_backward(_defined(gQ), _defined(gR), Q, R, ctx.shape)
        return gA.astype(Q.dtype, copy=False), None

    @staticmethod
    def gradcheck_cases(rng):
        tall, wide, square, batched = _full_rank_cases(rng, [(4, 3), (2, 4), (3, 3), (2, 3, 2)])
        return [((tall,), {}), ((wide,), {}), ((square,), {}), ((batched,), {}), ((wide,), {"mode": "complete"}),
                ((square,), {"mode": "complete"})]


# ---- LU ----------------------------------------------------------------------------------------------

def _permute_rows(perm, G):
    """P G for the permutation matrix P with A = P L U (A[perm] = L U): row i of G goes to row perm[i]."""
    out = np.empty(np.broadcast_shapes(perm.shape[:-1], G.shape[:-2]) + G.shape[-2:], G.dtype)
    perm = np.broadcast_to(perm, out.shape[:-1])
    np.put_along_axis(out, perm[..., None], np.broadcast_to(G, out.shape), axis=-2)
    return out


def _solve_unit_lower_t(L, B):
    """L^-T B for L (..., n, n) unit lower triangular."""
    return triangular_solve_arrays(_T(L), B, True, True)


def _right_solve_upper_t(B, U):
    """B U^-T for U (..., n, n) upper triangular: U^-1 B^T, transposed."""
    return _T(triangular_solve_arrays(U, _T(B), True))


def _lu_backward(gL, gU, perm, L, U):
    """torch's linalg_lu_backward (FunctionsManual.cpp) for A = P L U, L (m, k) unit lower, U (k, n):
    m == n: gA = P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T; the wide (m < n) and tall (m > n) cases
    split U = [U1 | U2] or L = [L1; L2] with U1, L1 square."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:
        g = np.tril(_T(L) @ gL, -1) + np.triu(gU @ _T(U))
        g = _solve_unit_lower_t(L, _right_solve_upper_t(g, U))
    elif m < n:
        U1 = U[..., :, :k]
        g = _right_solve_upper_t(np.tril(_T(L) @ gL - np.triu(gU) @ _T(U), -1), U1)
        g = np.concatenate([g + np.triu(gU[..., :, :k]), gU[..., :, k:]], axis=-1)
        g = _solve_unit_lower_t(L, g)
    else:
        L1 = L[..., :k, :]
        g = _solve_unit_lower_t(L1, np.triu(gU @ _T(U) - _T(L) @ np.tril(gL, -1)))
        g = np.concatenate([g + np.tril(gL[..., :k, :], -1), gL[..., k:, :]], axis=-2)
        g = _right_solve_upper_t(g, U)
    return _permute_rows(perm, g)


class LuFn(Function):
    """lu(A (..., m, n)) -> packed (..., m*k + k*n): L (m, k), unit lower triangular, and U (k, n), upper
    triangular, with A = P L U (partial pivoting, LAPACK's getrf as matrix.lu_factor_arrays computes it;
    P is a constant the wrapper builds from the pivots). factors: (LU, pivots) of a, when the caller has
    them already. Gradient: torch's linalg_lu_backward."""

    @staticmethod
    def forward(ctx, A, factors=None):
        A = _check_array("linalg.lu", A)
        m, n = A.shape[-2:]
        k = min(m, n)
        lu, pivots = factors if factors is not None else lu_factor_arrays(A)[:2]
        L = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=A.dtype)
        U = np.triu(lu[..., :k, :])
        ctx.save_for_backward(L, U, pivots_to_permutation(pivots, m))
        ctx.nb = A.ndim - 2
        return _concat((L, U), ctx.nb)

    @staticmethod
    def backward(ctx, grad):
        L, U, perm = ctx.saved_tensors
        gL, gU = _split(grad, (L.shape[-2:], U.shape[-2:]), ctx.nb)
        with np.errstate(all="ignore"):
            gA = _lu_backward(gL, gU, perm, L, U)
        return gA.astype(L.dtype, copy=False), None

    @staticmethod
    def gradcheck_cases(rng):
        square, tall, wide, batched = (rng.standard_normal(s) for s in [(3, 3), (4, 2), (2, 4), (2, 3, 3)])
        return [((square,), {}), ((tall,), {}), ((wide,), {}), ((batched,), {})]


# ---- Tensor level ----------------------------------------------------------------------------------

def _check_tensor(fname, op, A, kernel=None):
    """torch's errors for A that is no Tensor, not floating point, or of fewer than 2 dims. kernel: the
    name in torch's NotImplementedError for a dtype its CPU kernel lacks (eigh's for every non-float
    dtype); None: torch's "Expected a floating point" RuntimeError for integer and bool."""
    if not isinstance(A, TensorBase):
        raise TypeError(f"{fname}(): argument 'A' (position 1) must be Tensor, not {_type_name(A)}")
    dt = A._data.dtype
    if dt not in _FLOATS:
        if dt.kind == "f" or kernel is not None and dt.kind in "biu":
            name = kernel or {"linalg.svd": "linalg_svd_cpu", "linalg.cholesky": "cholesky_cpu",
                              "linalg.qr": "geqrf_cpu"}.get(op, op.split(".")[-1] + "_cpu")
            raise NotImplementedError(f"\"{name}\" not implemented for '{_torch_name(dt)}'")
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got {_torch_name(dt)}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")


def _type_name(value):
    """The type's name as torch's argument errors print it (numpy.ndarray, int)."""
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _check_bool(fname, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fname}(): argument '{name}' must be bool, not {_type_name(value)}")


def _check_str(fname, name, value):
    if not isinstance(value, str):
        raise TypeError(f"{fname}(): argument '{name}' must be str, not {_type_name(value)}")


def _pieces(packed, batch, shapes):
    """Tensors sliced from a packed result (differentiable indexing), each reshaped to batch + shape."""
    out, start = [], 0
    for s in shapes:
        size = int(np.prod(s, dtype=np.int64))
        out.append(packed[..., start:start + size].reshape(tuple(batch) + tuple(s)))
        start += size
    return out


def _mirrored(A, lower, op):
    """A with the triangle that `lower` does not name replaced by the mirror of the other, keeping A's
    gradient (A - A + T, the two constants without one); A itself when already symmetric."""
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    a = A._data
    if np.array_equal(a, _T(a)):
        return A
    T = np.tril(a) + _T(np.tril(a, -1)) if lower else np.triu(a) + _T(np.triu(a, 1))
    constant = type(A)._wrap
    if not (A.requires_grad and is_grad_enabled()):
        return constant(T, False)
    return A - constant(a, False) + constant(T, False)


def svd(A, full_matrices=True):
    """As torch.linalg.svd: (U, S, Vh) with A = U diag(S) Vh, S descending; A (..., m, n), k = min(m, n),
    U (..., m, m) and Vh (..., n, n) with full_matrices, else (..., m, k) and (..., k, n). A matrix with a
    NaN or Inf raises LinAlgError. The gradient is torch's; as torch's, it is not defined where singular
    values repeat (and for gradients of U or Vh, where one is 0 and m != n)."""
    _check_tensor("linalg_svd", "linalg.svd", A)
    _check_bool("linalg_svd", "full_matrices", full_matrices)
    m, n = A.shape[-2:]
    k = min(m, n)
    ku, kv = (m, n) if full_matrices else (k, k)
    packed = SvdFn.apply(A, bool(full_matrices))
    U, S, Vh = _pieces(packed, A.shape[:-2], ((m, ku), (k,), (kv, n)))
    return linalg_svd(U, S, Vh)


def svdvals(A):
    """As torch.linalg.svdvals: the singular values of A (..., m, n), descending, (..., min(m, n))."""
    _check_tensor("linalg_svdvals", "linalg.svd", A)
    return SvdvalsFn.apply(A)


def _uplo(fname, UPLO):
    _check_str(fname, "UPLO", UPLO)
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO in ("L", "l")


def eigh(A, UPLO="L"):
    """As torch.linalg.eigh: (eigenvalues ascending (..., n), eigenvectors as columns (..., n, n)) of the
    symmetric matrix A reads from its triangle UPLO ('L' or 'U'). The gradient is torch's, symmetric (see
    the module docstring); it is not defined where eigenvalues repeat. A matrix with a NaN or Inf gets
    NaNs."""
    _check_tensor("linalg_eigh", "linalg.eigh", A, kernel="linalg_eigh_cpu")
    lower = _uplo("linalg_eigh", UPLO)
    n = A.shape[-1]
    packed = EighFn.apply(_mirrored(A, lower, "linalg.eigh"))
    L, V = _pieces(packed, A.shape[:-2], ((n,), (n, n)))
    return linalg_eigh(L, V)


def eigvalsh(A, UPLO="L"):
    """As torch.linalg.eigvalsh: the eigenvalues (..., n), ascending, of the symmetric matrix A reads from
    its triangle UPLO."""
    _check_tensor("linalg_eigvalsh", "linalg.eigh", A, kernel="linalg_eigh_cpu")
    lower = _uplo("linalg_eigvalsh", UPLO)
    return EigvalshFn.apply(_mirrored(A, lower, "linalg.eigh"))


def cholesky(A, upper=False):
    """As torch.linalg.cholesky: L (..., n, n), lower triangular with a positive diagonal, A = L L^T, read
    from A's lower triangle; with upper=True, U = L^T read from A's upper triangle. A matrix that is not
    positive-definite raises LinAlgError with torch's message. The gradient is torch's, symmetric."""
    _check_tensor("linalg_cholesky", "linalg.cholesky", A)
    _check_bool("linalg_cholesky", "upper", upper)
    return CholeskyFn.apply(_mirrored(A, not upper, "linalg.cholesky"), bool(upper))


def qr(A, mode="reduced"):
    """As torch.linalg.qr: (Q, R) with A = Q R, R upper triangular; mode 'reduced' (Q (..., m, k), R (..., k,
    n), k = min(m, n)), 'complete' (Q (..., m, m), R (..., m, n)) or 'r' (R (..., k, n) alone, Q an empty
    tensor of shape (0,)). Gradient: torch's, for 'reduced' and for 'complete' with m <= n; mode 'r' and
    'complete' with m > n raise torch's RuntimeError in backward."""
    _check_tensor("linalg_qr", "linalg.qr", A)
    _check_str("linalg_qr", "mode", mode)
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed = QrFn.apply(A, mode)
    if mode == "r":
        return linalg_qr(type(A)._wrap(np.empty((0,), A._data.dtype), False), packed)
    kq = m if mode == "complete" else k
    Q, R = _pieces(packed, A.shape[:-2], ((m, kq), (kq, n)))
    return linalg_qr(Q, R)
