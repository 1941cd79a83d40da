"""Square-matrix ops on NumPy's LAPACK: inverse, determinant, solve (firstepoch.linalg builds on them).

`LinAlgError` is torch.linalg.LinAlgError: a RuntimeError subclass, raised for a singular or
non-positive-definite input, naming the op and the batch entry as torch does.
"""
import numpy as np

from ..autograd.function import Function, unbroadcast


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorisation or inversion could not be completed (a RuntimeError)."""


def _first_zero_pivot(a):
    """1-based index of the first zero pivot of a's LU factorisation with partial pivoting (LAPACK's
    getrf `info`), or of its smallest pivot when rounding left none exactly zero: torch's message names it."""
    u = np.array(a, dtype=np.float64)
    n = u.shape[-1]
    pivots = np.zeros(n)
    for k in range(n):  # one vectorised elimination step per column
        p = k + int(np.argmax(np.abs(u[k:, k])))
        u[[k, p]] = u[[p, k]]
        pivots[k] = u[k, k]
        if u[k, k] != 0:
            u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    zero = np.flatnonzero(pivots == 0)
    return int(zero[0] if zero.size else np.argmin(np.abs(pivots))) + 1


def linalg_error(op, batch_index, message):
    """torch's LinAlgError text: "op: (Batch element i): message", the batch part only for a batch entry
    (batch_index None: the input is one matrix)."""
    prefix = f"{op}: " + (f"(Batch element {batch_index}): " if batch_index is not None else "")
    return LinAlgError(prefix + message)


def _singular_error(op, a, batch_index, what):
    return linalg_error(op, batch_index, what.format(k=_first_zero_pivot(a)))


def _batched(a, fn, op, what):
    """fn(), which factorises the matrices of a (..., n, n); if one is singular, torch's LinAlgError naming
    the first such batch entry (the entry alone when a is one matrix)."""
    try:
        return fn()
    except np.linalg.LinAlgError:
        pass
    flat = a.reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(flat):
        try:
            np.linalg.inv(m)
        except np.linalg.LinAlgError:
            raise _singular_error(op, m, i if a.ndim > 2 else None, what) from None
    raise LinAlgError(f"{op}: the input matrix is singular")


_INV_SINGULAR = ("The diagonal element {k} is zero, the inversion could not be completed because the input "
                 "matrix is singular.")


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _floats(op, *arrays):
    """The operands as native-byte-order float32/float64 arrays of one dtype, else TypeError (the Tensor
    layer, firstepoch.linalg, has already given torch's messages; this guards direct calls)."""
    out = []
    for a in arrays:
        if a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
            raise TypeError(f"{op}: expected float32 or float64 arrays, got {a.dtype}")
        out.append(a.astype(a.dtype.newbyteorder("="), copy=False))
    if len({a.dtype for a in out}) > 1:
        raise TypeError(f"{op}: expected operands of one dtype, got {', '.join(str(a.dtype) for a in out)}")
    if any(a.ndim < 2 or a.shape[-1] != a.shape[-2] for a in out[:1]):
        raise ValueError(f"{op}: expected square matrices (..., n, n), got shape {out[0].shape}")
    return out


def _svd_finite(a):
    """np.linalg.svd over a's matrices, with NaN factors for a matrix holding NaN or Inf (LAPACK refuses
    those), so a backward through them gives NaN as torch's does rather than an error."""
    bad = ~np.isfinite(a).all(axis=(-2, -1))
    if bad.any():
        a = np.where(bad[..., None, None], 0.0, a)
    u, s, vt = np.linalg.svd(a)
    if bad.any():
        u, s, vt = (np.where(bad[..., None, None], np.nan, u), np.where(bad[..., None], np.nan, s),
                    np.where(bad[..., None, None], np.nan, vt))
    return u, s, vt


def _square_cases(rng, shapes):
    """Well-conditioned float64 matrices: a random one plus n on the diagonal."""
    return [rng.standard_normal(s) + s[-1] * np.eye(s[-1]) for s in shapes]


class InvFn(Function):
    """inv(A) of square matrices (..., n, n): NumPy's LAPACK gesv. Backward: dA = -A^-T dX A^-T."""

    @staticmethod
    def forward(ctx, a):
        (a,) = _floats("inv", a)
        out = _batched(a, lambda: np.linalg.inv(a), "linalg.inv", _INV_SINGULAR) if a.size else np.empty_like(a)
        out = out.astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (inv,) = ctx.saved_tensors
        it = _mT(inv)
        return (-(it @ grad @ it),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((a,), {}) for a in _square_cases(rng, [(3, 3), (2, 4, 4), (1, 1)])]


def _adjugate_t(a):
    """d det(A) / dA = adj(A)^T for every (..., n, n), singular matrices included: with A = U S V^T,
    adj(A)^T = det(U) det(V) U diag(prod_{j != i} s_j) V^T (products without a division)."""
    n = a.shape[-1]
    u, s, vt = _svd_finite(a)
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)  # prod_{j < i}
    after = np.flip(np.cumprod(np.flip(np.concatenate([s[..., 1:], ones], -1), -1), -1), -1)  # prod_{j > i}
    sign = np.linalg.det(u) * np.linalg.det(vt)
    out = (u * (before * after)[..., None, :]) @ vt
    return out * sign[..., None, None] if n else out


class DetFn(Function):
    """det(A) of square matrices (..., n, n) (NumPy's LU). Backward: g * adj(A)^T, from the SVD, so a
    singular A gets the true derivative (deliberate: torch's LU-based formula can give 0 or NaN there)."""

    @staticmethod
    def forward(ctx, a):
        (a,) = _floats("det", a)
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.det(a), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a.shape[-1] == 0:
            return (np.zeros_like(a),)
        return (np.asarray(grad)[..., None, None] * _adjugate_t(a),)

    @staticmethod
    def gradcheck_cases(rng):
        singular = rng.standard_normal((3, 1)) @ rng.standard_normal((1, 3)) + np.diag([0.0, 0.0, 0.0])
        singular2 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])  # rank 2: adj(A) != 0
        return [((rng.standard_normal((3, 3)),), {}), ((rng.standard_normal((2, 4, 4)),), {}),
                ((rng.standard_normal((1, 1)),), {}), ((singular2,), {}), ((singular,), {})]


class LogAbsDetFn(Function):
    """log|det(A)| of square matrices (..., n, n) (NumPy's slogdet). Backward: g * A^-T (the inverse from
    the SVD; a singular A, whose log|det| is -inf, gets NaN where torch's LU gives +-inf)."""

    @staticmethod
    def forward(ctx, a):
        (a,) = _floats("slogdet", a)
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.slogdet(a)[1], dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a.shape[-1] == 0:
            return (np.zeros_like(a),)
        u, s, vt = _svd_finite(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_t = (u / s[..., None, :]) @ vt  # (V S^-1 U^T)^T
            inv_t = np.where(np.all(s > 0, -1)[..., None, None], inv_t, np.nan)
        return (np.asarray(grad)[..., None, None] * inv_t,)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 3)),), {}), ((rng.standard_normal((2, 4, 4)),), {}),
                ((rng.standard_normal((1, 1)),), {})]


class SolveFn(Function):
    """X with A X = B for A (..., n, n) and B (..., n, k), batch axes broadcast (a vector B is made a
    column by the caller). Backward: dB = A^-T dX, dA = -dB X^T, each summed over broadcast batch axes."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = _floats("solve", a, b)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ValueError(f"solve: B must be (..., {a.shape[-1]}, k) for A {a.shape}, got {b.shape}")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        ab = np.broadcast_to(a, batch + a.shape[-2:])
        bb = np.broadcast_to(b, batch + b.shape[-2:])
        if ab.size:  # an empty B still has A factorised, so a singular A is refused as torch's LU does
            x = _batched(ab, lambda: np.linalg.solve(ab, bb) if bb.size else np.linalg.inv(ab),
                         "torch.linalg.solve", "The solver failed because the input matrix is singular.")
        if not (ab.size and bb.size):
            x = np.zeros(bb.shape, a.dtype)
        x = np.asarray(x, dtype=a.dtype)
        ctx.save_for_backward(ab, x)
        ctx.shapes = a.shape, b.shape
        return x

    @staticmethod
    def backward(ctx, grad):
        ab, x = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        if not ab.size or not grad.size:
            gb = np.zeros(x.shape, x.dtype)
        else:
            gb = np.linalg.solve(_mT(ab), grad)
        ga = -(gb @ _mT(x))
        return unbroadcast(ga, a_shape), unbroadcast(gb, b_shape)

    @staticmethod
    def gradcheck_cases(rng):
        a, a2 = _square_cases(rng, [(3, 3), (2, 3, 3)])
        return [((a, rng.standard_normal((3, 2))), {}), ((a2, rng.standard_normal((3, 1))), {}),
                ((a, rng.standard_normal((4, 3, 2))), {})]


# ---- LU with partial pivoting, triangular solves (NumPy exposes neither) ---------------------------

def lu_factor_arrays(a):
    """LAPACK getrf on every matrix of a (..., m, n): (LU (..., m, n) with L's unit-diagonal factor below
    the diagonal and U on and above it, pivots (..., k) int32 1-based, info (...) int32: the 1-based index of
    the first exactly-zero pivot, 0 for none). Partial pivoting picks the first largest |entry| of the
    column, as LAPACK's idamax; a zero pivot is left in place (no scaling), as getf2. One vectorised
    elimination step per column."""
    lu = np.array(a, copy=True)
    m, n = lu.shape[-2:]
    k = min(m, n)
    batch = lu.shape[:-2]
    pivots = np.zeros(batch + (k,), np.int32)
    info = np.zeros(batch, np.int32)
    idx = np.indices(batch) if batch else ()
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(lu[..., j:, j]), axis=-1)
            pivots[..., j] = p + 1
            row_j, row_p = lu[..., j, :].copy(), lu[(*idx, p)].copy()
            lu[..., j, :] = row_p
            lu[(*idx, p)] = row_j
            pivot = lu[..., j, j]
            zero = pivot == 0
            info = np.where(zero & (info == 0), j + 1, info).astype(np.int32)
            scale = np.where(zero, 1.0, pivot)[..., None]
            col = np.where(zero[..., None], lu[..., j + 1:, j], lu[..., j + 1:, j] / scale)
            lu[..., j + 1:, j] = col
            lu[..., j + 1:, j + 1:] -= col[..., :, None] * lu[..., j, None, j + 1:]
    return lu, pivots, info


def pivots_to_permutation(pivots, m):
    """The row order perm (..., m) with A[perm] = L U, from LAPACK's 1-based row interchanges."""
    perm = np.broadcast_to(np.arange(m), pivots.shape[:-1] + (m,)).copy()
    idx = np.indices(pivots.shape[:-1]) if pivots.ndim > 1 else ()
    for j in range(pivots.shape[-1]):
        p = pivots[..., j].astype(np.int64) - 1
        pj, pp = perm[..., j].copy(), perm[(*idx, p)].copy()
        perm[..., j] = pp
        perm[(*idx, p)] = pj
    return perm


def triangular_solve_arrays(a, b, upper, unitriangular=False):
    """X with T X = B by substitution, T the upper or lower triangle of a (..., n, n) (unit diagonal when
    unitriangular), b (..., n, k), batch axes broadcast. Only that triangle of a is read; a zero on the
    diagonal gives Inf/NaN, as LAPACK's trsm (no error)."""
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = np.zeros(batch + b.shape[-2:], np.result_type(a, b))
    rows = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(all="ignore"):
        for i in rows:
            done = slice(i + 1, n) if upper else slice(0, i)
            r = b[..., i, :] - (a[..., i:i + 1, done] @ x[..., done, :])[..., 0, :]
            x[..., i, :] = r if unitriangular else r / a[..., i, i, None]
    return x


def _triangle(a, upper, unitriangular):
    """The triangle of a that a triangular solve reads (its diagonal dropped when unitriangular)."""
    t = np.triu(a, 1 if unitriangular else 0) if upper else np.tril(a, -1 if unitriangular else 0)
    return t


class SolveTriangularFn(Function):
    """X with T X = B, T the upper (upper=True) or lower triangle of A (..., n, n), unit diagonal when
    unitriangular; B (..., n, k), batch axes broadcast (left=False is solved by the caller on transposes).
    Backward (torch's): dB = T^-T dX, dA = -dB X^T restricted to the triangle read."""

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular=False):
        a, b = _floats("solve_triangular", a, b)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ValueError(f"solve_triangular: B must be (..., {a.shape[-1]}, k) for A {a.shape}, got {b.shape}")
        x = triangular_solve_arrays(a, b, bool(upper), bool(unitriangular))
        ctx.save_for_backward(a, x)
        ctx.flags = bool(upper), bool(unitriangular)
        ctx.shapes = a.shape, b.shape
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        upper, unit = ctx.flags
        a_shape, b_shape = ctx.shapes
        gb = triangular_solve_arrays(_mT(a), grad, not upper, unit)
        with np.errstate(all="ignore"):
            ga = _triangle(-(gb @ _mT(x)), upper, unit)
        return unbroadcast(ga, a_shape), unbroadcast(gb, b_shape), None, None

    @staticmethod
    def gradcheck_cases(rng):
        a, a2 = _square_cases(rng, [(3, 3), (2, 3, 3)])
        b = rng.standard_normal((3, 2))
        return [((a, b, True), {}), ((a, b, False), {}), ((a2, b, False, True), {}),
                ((a, rng.standard_normal((2, 3, 1)), True, True), {})]


# ---- matrix exponential ----------------------------------------------------------------------------

# Higham (2005): the [13/13] Pade approximant of exp, exact to float64 rounding for ||A||_1 <= theta_13
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def matrix_exp_arrays(a):
    """exp(A) of every square matrix of a (..., n, n) by scaling and squaring: A / 2^s has 1-norm at most
    theta_13, its exponential is the [13/13] Pade approximant, squared s times (s per matrix). Computed in
    float64 (a float32 input's result is rounded once); a matrix with NaN or Inf gives NaN."""
    out_dtype = a.dtype
    a = a.astype(np.float64)
    n = a.shape[-1]
    if a.size == 0:
        return np.zeros(a.shape, out_dtype)
    finite = np.isfinite(a).all(axis=(-2, -1))
    a = np.where(finite[..., None, None], a, 0.0)
    norm = np.abs(a).sum(-2).max(-1)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(norm / _THETA13))).astype(np.int64)
    s = np.where(norm > 0, s, 0)
    a = a / np.ldexp(1.0, s)[..., None, None]
    b = _PADE13
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for step in range(int(s.max(initial=0))):
        r = np.where((s > step)[..., None, None], r @ r, r)
    r = np.where(finite[..., None, None], r, np.nan)
    return r.astype(out_dtype)


class MatrixExpFn(Function):
    """exp(A) = sum A^k / k! of square matrices (..., n, n). Backward: the gradient of <G, exp(A)> is the
    upper-right block of exp([[A^T, G], [0, A^T]]) (the Frechet derivative of exp at A^T applied to G),
    exact to the same rounding as the forward."""

    @staticmethod
    def forward(ctx, a):
        (a,) = _floats("matrix_exp", a)
        ctx.save_for_backward(a)
        return matrix_exp_arrays(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        at = _mT(a)
        batch = np.broadcast_shapes(a.shape[:-2], grad.shape[:-2])
        block = np.zeros(batch + (2 * n, 2 * n), np.float64)
        block[..., :n, :n] = at
        block[..., n:, n:] = at
        block[..., :n, n:] = grad
        return (matrix_exp_arrays(block)[..., :n, n:].astype(a.dtype),)

    @staticmethod
    def gradcheck_cases(rng):
        big = 3.0 * rng.standard_normal((3, 3))  # 1-norm above theta_13: squaring steps
        return [((rng.standard_normal((3, 3)),), {}), ((0.3 * rng.standard_normal((2, 4, 4)),), {}),
                ((big,), {}), ((rng.standard_normal((1, 1)),), {})]
