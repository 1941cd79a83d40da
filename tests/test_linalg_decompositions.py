"""ops/decompositions.py: svd, svdvals, eigh, eigvalsh, cholesky and qr against NumPy and torch.linalg.

Forward values are compared through quantities that do not depend on the signs LAPACK picks (the
reconstruction, S, eigenvalues, |U^T U_torch|), and gradients through losses that do not either (sums of
S, of even powers of entries, of A rebuilt from its factors); where a loss reads Q or R, torch's and
NumPy's LAPACK give the same signs, which the test checks first. The gradient checks against finite
differences are tests/test_gradcheck_registry.py's.
"""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.ops.decompositions import cholesky, eigh, eigvalsh, qr, svd, svdvals
from firstepoch.ops.matrix import LinAlgError

SHAPES = [(4, 3), (3, 4), (3, 3), (2, 5, 2), (2, 2, 3, 4), (1, 1)]
EMPTY = [(0, 3), (3, 0), (0, 0), (2, 0, 3), (0, 2, 3)]
TOL = {np.float32: 2e-4, np.float64: 1e-10}


def _t(a, grad=False):
    return fe.tensor(a, dtype=a.dtype, requires_grad=grad)


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _spd(rng, shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    return (a @ _mT(a) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _grads(fe_fn, torch_fn, a):
    """(firstepoch's gradient, torch's) of the scalar loss each function gives for the array a."""
    torch = pytest.importorskip("torch")
    x = _t(a, True)
    fe_fn(x).backward()
    t = torch.tensor(a, requires_grad=True)
    torch_fn(t).backward()
    return x.grad.numpy(), t.grad.numpy()


# ---- forward ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("full", [False, True])
def test_svd_forward_against_numpy(shape, dtype, full):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    U, S, Vh = svd(_t(a), full_matrices=full)
    m, n = shape[-2:]
    k = min(m, n)
    assert U.shape == shape[:-2] + ((m, m) if full else (m, k))
    assert S.shape == shape[:-2] + (k,) and Vh.shape == shape[:-2] + ((n, n) if full else (k, n))
    assert U.dtype == S.dtype == Vh.dtype == a.dtype
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(a, compute_uv=False), rtol=TOL[dtype], atol=TOL[dtype])
    rebuilt = (U.numpy()[..., :, :k] * S.numpy()[..., None, :]) @ Vh.numpy()[..., :k, :]
    np.testing.assert_allclose(rebuilt, a, rtol=TOL[dtype], atol=10 * TOL[dtype])
    for q in (U.numpy(), _mT(Vh.numpy())):  # orthonormal columns
        np.testing.assert_allclose(_mT(q) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2),
                                   atol=10 * TOL[dtype])
    np.testing.assert_allclose(svdvals(_t(a)).numpy(), S.numpy(), rtol=TOL[dtype], atol=TOL[dtype])
    assert svdvals(_t(a)).dtype == a.dtype


@pytest.mark.parametrize("shape", SHAPES)
def test_svd_matches_torch_up_to_signs(shape):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal(shape)
    U, S, Vh = svd(_t(a), full_matrices=False)
    tU, tS, tVh = torch.linalg.svd(torch.tensor(a), full_matrices=False)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), atol=1e-12)
    k = S.shape[-1]
    eye = np.broadcast_to(np.eye(k), S.shape[:-1] + (k, k))
    np.testing.assert_allclose(np.abs(_mT(U.numpy()) @ tU.numpy()), eye, atol=1e-10)
    np.testing.assert_allclose(np.abs(Vh.numpy() @ _mT(tVh.numpy())), eye, atol=1e-10)


def test_svd_result_is_a_named_tuple():
    torch = pytest.importorskip("torch")
    a = np.eye(2)
    r = svd(_t(a))
    assert type(r).__name__ == "linalg_svd" and r._fields == ("U", "S", "Vh") and r[1] is r.S
    e = eigh(_t(a))
    assert type(e).__name__ == "linalg_eigh" and e._fields == ("eigenvalues", "eigenvectors")
    q = qr(_t(a))
    assert type(q).__name__ == "linalg_qr" and q._fields == ("Q", "R")
    want = torch.linalg.svd(torch.eye(2))
    assert type(want).__name__ == "linalg_svd" and all(hasattr(want, f) for f in r._fields)


@pytest.mark.parametrize("shape", EMPTY)
@pytest.mark.parametrize("full", [False, True])
def test_svd_empty_as_torch(shape, full):
    torch = pytest.importorskip("torch")
    got = svd(_t(np.zeros(shape)), full_matrices=full)
    want = torch.linalg.svd(torch.zeros(shape, dtype=torch.float64), full_matrices=full)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert svdvals(_t(np.zeros(shape))).shape == tuple(want.S.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (1, 1)])
def test_eigh_forward(shape, dtype):
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape).astype(dtype)
    for uplo in ("L", "U"):
        L, V = eigh(_t(a), UPLO=uplo)
        want_L, _ = np.linalg.eigh(a, UPLO=uplo)
        assert L.dtype == V.dtype == a.dtype and L.shape == shape[:-1] and V.shape == shape
        np.testing.assert_allclose(L.numpy(), want_L, rtol=TOL[dtype], atol=TOL[dtype])
        tri = np.tril(a) + _mT(np.tril(a, -1)) if uplo == "L" else np.triu(a) + _mT(np.triu(a, 1))
        np.testing.assert_allclose((V.numpy() * L.numpy()[..., None, :]) @ _mT(V.numpy()), tri, atol=10 * TOL[dtype])
        np.testing.assert_allclose(eigvalsh(_t(a), UPLO=uplo).numpy(), want_L, rtol=TOL[dtype], atol=TOL[dtype])
        # with a gradient wanted the unread triangle goes in through A - A + T: the same values
        L2, V2 = eigh(_t(a, True), UPLO=uplo)
        np.testing.assert_allclose(L2.detach().numpy(), L.numpy(), rtol=TOL[dtype], atol=TOL[dtype])


def test_eigh_matches_torch_and_reads_one_triangle():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((3, 5, 5))
    for uplo in ("L", "U", "l", "u"):
        L, V = eigh(_t(a), UPLO=uplo)
        tL, tV = torch.linalg.eigh(torch.tensor(a), UPLO=uplo)
        np.testing.assert_allclose(L.numpy(), tL.numpy(), atol=1e-12)
        np.testing.assert_allclose(np.abs(_mT(V.numpy()) @ tV.numpy()), np.broadcast_to(np.eye(5), (3, 5, 5)), atol=1e-10)
    for shape in [(0, 0), (2, 0, 0)]:
        L, V = eigh(_t(np.zeros(shape)))
        tL, tV = torch.linalg.eigh(torch.zeros(shape, dtype=torch.float64))
        assert L.shape == tuple(tL.shape) and V.shape == tuple(tV.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (2, 2, 1, 1)])
def test_cholesky_forward(shape, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    p = _spd(rng, shape, dtype)
    garbage = rng.standard_normal(shape).astype(dtype) * 7  # in the triangle not read
    for upper in (False, True):
        a = p + (np.triu(garbage, 1) if not upper else np.tril(garbage, -1))
        got = cholesky(_t(a), upper=upper)
        want = torch.linalg.cholesky(torch.tensor(a), upper=upper).numpy()
        assert got.dtype == a.dtype and got.shape == shape
        np.testing.assert_allclose(got.numpy(), want, rtol=TOL[dtype], atol=TOL[dtype])
        L = _mT(got.numpy()) if upper else got.numpy()
        np.testing.assert_allclose(L, np.linalg.cholesky(p), rtol=TOL[dtype], atol=TOL[dtype])
        np.testing.assert_allclose(cholesky(_t(a, True), upper=upper).detach().numpy(), got.numpy(), rtol=TOL[dtype],
                                   atol=TOL[dtype])
    for shape in [(0, 0), (3, 0, 0)]:
        assert cholesky(_t(np.zeros(shape))).shape == shape


def test_cholesky_not_positive_definite_as_torch():
    torch = pytest.importorskip("torch")
    cases = [-np.eye(3), np.zeros((3, 3)), np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([[1.0, np.nan], [np.nan, 1.0]]),
             np.array([[np.nan, 0.0], [0.0, 1.0]])]
    batched = np.broadcast_to(np.eye(3), (2, 4, 3, 3)).copy()
    batched[1, 2, 1, 1] = -1
    batched[1, 3, 0, 0] = -1
    cases.append(batched)
    for a in cases:
        with pytest.raises(RuntimeError) as want:
            torch.linalg.cholesky(torch.tensor(a))
        with pytest.raises(LinAlgError) as got:
            cholesky(_t(a))
        assert str(got.value) == str(want.value)
        assert isinstance(got.value, RuntimeError)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES + EMPTY)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_forward_as_torch(shape, dtype, mode):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    Q, R = qr(_t(a), mode=mode)
    tQ, tR = torch.linalg.qr(torch.tensor(a), mode=mode)
    assert Q.shape == tuple(tQ.shape) and R.shape == tuple(tR.shape)
    assert Q.dtype == R.dtype == a.dtype
    # NumPy and torch call the same LAPACK routine (geqrf): the same signs
    np.testing.assert_allclose(R.numpy(), tR.numpy(), rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(Q.numpy(), tQ.numpy(), rtol=TOL[dtype], atol=TOL[dtype])
    if mode != "r":
        np.testing.assert_allclose(Q.numpy() @ R.numpy(), a, atol=10 * TOL[dtype])


# ---- gradients against torch -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 5, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_gradients_as_torch(shape, full):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(6).standard_normal(shape)
    k = min(shape[-2:])
    losses = [
        lambda L, A: L.svd(A, full_matrices=full)[1].sum(),
        lambda L, A: (L.svd(A, full_matrices=full)[0][..., :, :k] ** 4).sum(),
        lambda L, A: (L.svd(A, full_matrices=full)[2][..., :k, :] ** 4).sum(),
        lambda L, A: (L.svd(A, full_matrices=full)[0] ** 2).sum() * 0 + (L.svd(A, full_matrices=full)[1] ** 3).sum(),
        lambda L, A: _rebuilt_loss(L.svd(A, full_matrices=full), k),
        lambda L, A: (L.svdvals(A) ** 2).sum(),
    ]
    mine = type("mine", (), {"svd": staticmethod(svd), "svdvals": staticmethod(svdvals)})
    for loss in losses:
        g, want = _grads(lambda x: loss(mine, x), lambda t: loss(torch.linalg, t), a)
        np.testing.assert_allclose(g, want, atol=1e-10)


def _rebuilt_loss(usv, k):
    U, S, Vh = usv
    A = (U[..., :, :k] * S[..., None, :]) @ Vh[..., :k, :]
    return (A ** 2).sum() + ((U[..., :, :k] ** 2) * S[..., None, :]).sum() + (Vh[..., :k, :] ** 4).sum()


def test_svd_gradient_float32_and_rank_deficient_svdvals():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    g, want = _grads(lambda x: (svd(x)[1] ** 2).sum(), lambda t: (torch.linalg.svd(t)[1] ** 2).sum(), a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, want, atol=1e-5)
    # zero singular values: S alone needs no division by them (an unused U sends zeros, not NaN); the
    # largest one's gradient u1 v1^T is defined (the others' depend on the null-space basis LAPACK picks)
    r = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])
    g, want = _grads(lambda x: svd(x, full_matrices=False)[1][0] * 2,
                     lambda t: torch.linalg.svd(t, full_matrices=False)[1][0] * 2, r)
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, want, atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradients_as_torch_on_a_nonsymmetric_input(shape, uplo):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(8).standard_normal(shape)  # not symmetric: torch's gradient is symmetric anyway
    losses = [
        lambda L, A: (L.eigh(A, UPLO=uplo)[0] ** 3).sum(),
        lambda L, A: (L.eigh(A, UPLO=uplo)[1] ** 4).sum() + L.eigh(A, UPLO=uplo)[0].sum(),
        lambda L, A: (L.eigvalsh(A, UPLO=uplo) ** 3).sum(),
    ]
    mine = type("mine", (), {"eigh": staticmethod(eigh), "eigvalsh": staticmethod(eigvalsh)})
    for loss in losses:
        g, want = _grads(lambda x: loss(mine, x), lambda t: loss(torch.linalg, t), a)
        np.testing.assert_allclose(g, want, atol=1e-10)
        np.testing.assert_allclose(g, _mT(g), atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradient_as_torch(shape, upper):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    p = _spd(rng, shape) + rng.standard_normal(shape) * 0.3  # a non-symmetric perturbation
    w = rng.standard_normal(shape)
    g, want = _grads(lambda x: (cholesky(x, upper=upper) * fe.tensor(w)).sum(),
                     lambda t: (torch.linalg.cholesky(t, upper=upper) * torch.tensor(w)).sum(), p)
    np.testing.assert_allclose(g, want, atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 2), (2, 2, 4)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_gradients_as_torch(shape, mode):
    torch = pytest.importorskip("torch")
    if mode == "complete" and shape[-2] > shape[-1]:
        pytest.skip("not differentiable (see test_qr_backward_errors_as_torch)")
    rng = np.random.default_rng(10)
    a = rng.standard_normal(shape)
    Q, R = qr(_t(a), mode=mode)
    w1, w2 = rng.standard_normal(Q.shape), rng.standard_normal(R.shape)
    for use in ("Q", "R", "QR"):
        def loss(L, A, wrap):
            q, r = L.qr(A, mode=mode)
            out = 0
            if "Q" in use:
                out = out + (q * wrap(w1)).sum()
            if "R" in use:
                out = out + (r * wrap(w2)).sum()
            return out
        g, want = _grads(lambda x: loss(type("m", (), {"qr": staticmethod(qr)}), x, fe.tensor),
                         lambda t: loss(torch.linalg, t, torch.tensor), a)
        np.testing.assert_allclose(g, want, atol=1e-10)


def test_qr_backward_errors_as_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(11).standard_normal((4, 3))
    for mode in ("r", "complete"):
        with pytest.raises(RuntimeError) as want:
            torch.linalg.qr(torch.tensor(a, requires_grad=True), mode=mode)[1].sum().backward()
        _, R = qr(_t(a, True), mode=mode)
        with pytest.raises(RuntimeError) as got:
            R.sum().backward()
        assert str(want.value) in str(got.value)


# ---- errors as torch's -----------------------------------------------------------------------------

CALLS = {
    "svd": (lambda L, A: L.svd(A)), "svdvals": (lambda L, A: L.svdvals(A)), "eigh": (lambda L, A: L.eigh(A)),
    "eigvalsh": (lambda L, A: L.eigvalsh(A)), "cholesky": (lambda L, A: L.cholesky(A)), "qr": (lambda L, A: L.qr(A)),
}
MINE = type("mine", (), {name: staticmethod(f) for name, f in
                         dict(svd=svd, svdvals=svdvals, eigh=eigh, eigvalsh=eigvalsh, cholesky=cholesky, qr=qr).items()})


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("value", [np.ones((3, 3), np.int64), np.ones((3, 3), np.int32), np.ones((3, 3), bool),
                                   np.ones(3), np.array(1.0), np.ones((3, 4)),
                                   np.ones((2, 3, 4))])
def test_errors_as_torch(name, value):
    torch = pytest.importorskip("torch")
    call = CALLS[name]
    try:
        call(torch.linalg, torch.tensor(value))
    except RuntimeError as e:
        want = e
    else:
        call(MINE, fe.tensor(value, dtype=value.dtype))  # torch accepts it: so must we
        return
    with pytest.raises(type(want)) as got:
        call(MINE, fe.tensor(value, dtype=value.dtype))
    assert str(got.value) == str(want)


def test_argument_errors_as_torch():
    torch = pytest.importorskip("torch")
    a, t = fe.tensor(np.eye(3)), torch.eye(3, dtype=torch.float64)
    pairs = [
        (lambda: eigh(a, UPLO="X"), lambda: torch.linalg.eigh(t, UPLO="X")),
        (lambda: eigvalsh(a, UPLO=1), lambda: torch.linalg.eigvalsh(t, UPLO=1)),
        (lambda: qr(a, mode="bogus"), lambda: torch.linalg.qr(t, mode="bogus")),
        (lambda: svd(a, full_matrices=0), lambda: torch.linalg.svd(t, full_matrices=0)),
        (lambda: cholesky(a, upper=1), lambda: torch.linalg.cholesky(t, upper=1)),
        (lambda: svd(np.eye(3)), lambda: torch.linalg.svd(np.eye(3))),
    ]
    for mine, theirs in pairs:
        with pytest.raises((RuntimeError, TypeError)) as want:
            theirs()
        with pytest.raises(type(want.value)) as got:
            mine()
        assert str(got.value) == str(want.value)


def test_svd_of_non_finite_input_raises_linalg_error_as_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(12).standard_normal((3, 2, 2))
    a[1, 0, 0] = np.nan
    with pytest.raises(RuntimeError) as want:
        torch.linalg.svd(torch.tensor(a))
    with pytest.raises(LinAlgError) as got:
        svd(_t(a))
    assert str(got.value) == str(want.value)


def test_functions_refuse_other_dtypes_with_type_error():
    # the array-level Functions (fuzzed with every dtype) raise TypeError; the wrappers raise torch's errors
    from firstepoch.ops import decompositions as d
    for fn in (d.SvdFn, d.SvdvalsFn, d.EighFn, d.EigvalshFn, d.CholeskyFn, d.QrFn):
        for dt in (np.int64, np.float16, bool, np.dtype(">f8")):
            with pytest.raises(TypeError):
                fn.apply(fe.Tensor._wrap(np.ones((2, 2), dt), False))
