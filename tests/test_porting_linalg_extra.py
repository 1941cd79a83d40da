"""torch.linalg's remaining functions (matrix_exp, solve_triangular, lu_factor(_ex), lu, lu_solve, lstsq,
cholesky_ex, inv_ex, solve_ex), torch.lu_unpack / cholesky_solve / cholesky_inverse / qr / cholesky, and the
linear-algebra Tensor methods: known values without torch first, then values, dtypes, shapes, named-tuple
fields, float64 gradients and errors against torch over batched, broadcast and empty shapes."""
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import gradcheck

LA = fe.linalg


def _f64(a, grad=False):
    return fe.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---- without torch ---------------------------------------------------------------------------------------

def test_matrix_exp_known_values():
    t = 0.7
    rot = LA.matrix_exp(_f64([[0.0, -t], [t, 0.0]])).numpy()  # a rotation by t
    np.testing.assert_allclose(rot, [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], atol=1e-15)
    np.testing.assert_allclose(LA.matrix_exp(_f64([[1.0, 1.0], [0.0, 1.0]])).numpy(), [[math.e, math.e], [0, math.e]],
                               rtol=1e-15)
    big = LA.matrix_exp(_f64(np.diag([30.0, -30.0]))).numpy()  # squaring steps
    np.testing.assert_allclose(np.diag(big), [math.exp(30), math.exp(-30)], rtol=1e-13)
    assert LA.matrix_exp(fe.zeros(2, 0, 0)).shape == (2, 0, 0)
    assert np.isnan(LA.matrix_exp(fe.tensor([[float("nan"), 0.0], [0.0, 1.0]])).numpy()).all()
    assert LA.matrix_exp(fe.eye(3)).dtype == fe.float32


def test_lu_reconstructs_and_solves():
    rng = np.random.default_rng(0)
    for shape in [(4, 4), (5, 3), (3, 5), (2, 3, 3)]:
        a = rng.standard_normal(shape)
        P, L, U = LA.lu(_f64(a))
        np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-13)
        LU, piv = LA.lu_factor(_f64(a))
        assert piv.dtype == fe.int32 and piv.shape == shape[:-2] + (min(shape[-2:]),)
        P2, L2, U2 = fe.lu_unpack(LU, piv)
        np.testing.assert_allclose(L2.numpy(), L.numpy())
        np.testing.assert_allclose(P2.numpy(), P.numpy())
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    LU, piv = LA.lu_factor(_f64(a))
    np.testing.assert_allclose(LA.lu_solve(LU, piv, _f64(b)).numpy(), np.linalg.solve(a, b), atol=1e-12)
    np.testing.assert_allclose(LA.lu_solve(LU, piv, _f64(b), adjoint=True).numpy(), np.linalg.solve(a.T, b), atol=1e-12)
    upper = np.triu(a) + 3 * np.eye(3)
    np.testing.assert_allclose(LA.solve_triangular(_f64(a + 3 * np.eye(3)), _f64(b), upper=True).numpy(),
                               np.linalg.solve(upper, b), atol=1e-12)


def test_lstsq_fields_and_known_solution():
    a = _f64([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = _f64([[1.0], [2.0], [4.0]])
    r = LA.lstsq(a, b, driver="gelsd")
    assert r._fields == ("solution", "residuals", "rank", "singular_values")
    np.testing.assert_allclose(r.solution.numpy(), [[4 / 3], [7 / 3]], rtol=1e-13)
    np.testing.assert_allclose(r.residuals.numpy(), [1 / 3], rtol=1e-12)
    assert r.rank.dtype == fe.int64 and r.rank.item() == 2
    d = LA.lstsq(a, b)  # gelsy: no residuals, no singular values
    assert d.residuals.shape == (0,) and d.singular_values.shape == (0,) and d.rank.shape == ()
    assert LA.lstsq(a, b, driver="gels").rank.shape == (0,)


def test_ex_forms_report_info():
    singular = _f64([[1.0, 2.0], [2.0, 4.0]])
    assert LA.inv_ex(singular).info.item() == 2 and LA.inv_ex(singular)._fields == ("inverse", "info")
    assert LA.solve_ex(singular, _f64([1.0, 1.0])).info.item() == 2
    assert LA.cholesky_ex(_f64([[1.0, 0.0], [0.0, -1.0]])).info.item() == 2
    good = LA.cholesky_ex(_f64(np.eye(2) * 4))
    assert good.info.dtype == fe.int32 and good._fields == ("L", "info")
    np.testing.assert_allclose(good.L.numpy(), np.eye(2) * 2)
    with pytest.raises(LA.LinAlgError, match=r"linalg.inv_ex: \(Batch element 1\)"):
        LA.inv_ex(fe.stack([_f64(np.eye(2)), singular]), check_errors=True)
    with pytest.raises(LA.LinAlgError, match="order 2"):
        LA.cholesky_ex(_f64([[1.0, 0.0], [0.0, -1.0]]), check_errors=True)
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        LA.lu_factor(singular)


def test_tensor_methods_and_top_level_names():
    x = _f64([[4.0, 1.0], [1.0, 3.0]])
    assert abs(x.det().item() - 11.0) < 1e-12 and abs(x.logdet().item() - math.log(11)) < 1e-12
    np.testing.assert_allclose((x.inverse() @ x).numpy(), np.eye(2), atol=1e-14)
    np.testing.assert_allclose(x.cholesky().numpy(), np.linalg.cholesky(x.numpy()))
    np.testing.assert_allclose(x.cholesky().cholesky_inverse().numpy(), np.linalg.inv(x.numpy()), atol=1e-14)
    np.testing.assert_allclose(_f64([[1.0], [2.0]]).cholesky_solve(x.cholesky()).numpy(),
                               np.linalg.solve(x.numpy(), [[1.0], [2.0]]), atol=1e-14)
    assert x.qr()._fields == ("Q", "R") and x.svd()._fields == ("U", "S", "V")
    assert x.matrix_power(3).shape == (2, 2) and x.pinverse().shape == (2, 2) and x.slogdet().sign.item() == 1
    assert x.matrix_exp().shape == (2, 2) and fe.matrix_exp(x).shape == (2, 2)


def test_new_ops_gradcheck():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2))
    spd = a @ a.T
    cases = [
        (lambda A: LA.matrix_exp(A), [a * 0.5]),
        (lambda A, B: LA.solve_triangular(A, B, upper=False), [a, b]),
        (lambda A, B: LA.solve_triangular(A, B.mT, upper=True, left=False), [a, b]),
        (lambda A: LA.lu_factor(A).LU, [rng.standard_normal((2, 4, 3))]),
        (lambda A, B: LA.lu_solve(*LA.lu_factor(A), B), [a, b]),
        (lambda A, B: LA.lstsq(A, B).solution, [rng.standard_normal((5, 3)), rng.standard_normal((5, 2))]),
        (lambda A: LA.cholesky_ex((A + A.mT) / 2).L, [spd]),  # the gradient is the symmetric one, as cholesky's
        (lambda A, B: LA.solve_ex(A, B).result, [a, b]),
        (lambda B: fe.cholesky_solve(B, _f64(np.linalg.cholesky(spd))), [b]),
    ]
    for fn, arrays in cases:
        assert gradcheck(fn, [_f64(x, grad=True) for x in arrays])


# ---- against torch ---------------------------------------------------------------------------------------

def _close(ours, theirs, atol=1e-5, rtol=1e-4):
    got, want = ours.detach().numpy(), theirs.detach().numpy()
    assert got.shape == want.shape and str(got.dtype) == str(want.dtype).replace("torch.", ""), (got, want)
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, equal_nan=True)


def _fields(ours, theirs, **kw):
    assert ours._fields == tuple(theirs._fields if hasattr(theirs, "_fields") else type(theirs).__match_args__)
    for name in ours._fields:
        _close(getattr(ours, name), getattr(theirs, name), **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    T = lambda a: torch.tensor(np.asarray(a, dtype=dtype))  # noqa: E731
    F = lambda a: fe.tensor(np.asarray(a, dtype=dtype))  # noqa: E731
    for shape in [(3, 3), (2, 4, 4), (0, 0), (2, 0, 0), (1, 1)]:
        a = rng.standard_normal(shape)
        _close(LA.matrix_exp(F(a)), torch.linalg.matrix_exp(T(a)))
    for shape in [(3, 3), (4, 2), (2, 4), (2, 3, 3), (0, 3), (2, 0, 3)]:
        a = rng.standard_normal(shape)
        _fields(LA.lu_factor_ex(F(a)), torch.linalg.lu_factor_ex(T(a)))
        _fields(LA.lu(F(a)), torch.linalg.lu(T(a)))
        LU, piv = torch.linalg.lu_factor(T(a))
        _fields(fe.lu_unpack(F(LU.numpy()), fe.tensor(piv.numpy())), torch.lu_unpack(LU, piv))
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 1, 3, 2))
    LU, piv = torch.linalg.lu_factor(T(a))
    for left in (True, False):
        bb = b if left else b.swapaxes(-1, -2)
        for adjoint in (True, False):
            _close(LA.lu_solve(F(LU.numpy()), fe.tensor(piv.numpy()), F(bb), left=left, adjoint=adjoint),
                   torch.linalg.lu_solve(LU, piv, T(bb), left=left, adjoint=adjoint), atol=1e-3, rtol=1e-3)
        for upper in (True, False):
            for unit in (True, False):
                _close(LA.solve_triangular(F(a), F(bb), upper=upper, left=left, unitriangular=unit),
                       torch.linalg.solve_triangular(T(a), T(bb), upper=upper, left=left, unitriangular=unit),
                       atol=1e-3, rtol=1e-3)
    # B is cast to A's dtype; a zero on the diagonal gives Inf/NaN, no error
    _close(LA.solve_triangular(F(np.eye(2)), fe.ones(2, 1, dtype=fe.float64), upper=True),
           torch.linalg.solve_triangular(T(np.eye(2)), torch.ones(2, 1, dtype=torch.float64), upper=True))
    _close(LA.solve_triangular(F(np.zeros((2, 2))), F(np.ones((2, 1))), upper=True),
           torch.linalg.solve_triangular(T(np.zeros((2, 2))), T(np.ones((2, 1))), upper=True))
    # Cholesky solve / inverse, both triangles
    factor = np.linalg.cholesky(np.array([[4.0, 1, 0], [1, 3, 1], [0, 1, 2]]))
    b = rng.standard_normal((2, 3, 2))
    for upper in (False, True):
        f = factor.T.copy() if upper else factor
        _close(fe.cholesky_solve(F(b), F(f), upper), torch.cholesky_solve(T(b), T(f), upper))
        _close(fe.cholesky_inverse(F(f), upper), torch.cholesky_inverse(T(f), upper))
        _close(F(f).cholesky_inverse(upper), T(f).cholesky_inverse(upper))


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_vs_torch(driver):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shapes = [((5, 3), (5, 2)), ((2, 5, 3), (1, 5, 2)), ((3, 5), (3, 2)), ((5, 3), (5,)), ((2, 4, 3), (2, 4)),
              ((0, 3), (0, 2)), ((0, 4, 3), (0, 4, 1))]
    if driver != "gels":  # LAPACK's gels zeroes B for n = 0 (torch's residuals 0; ours are ||B||^2)
        shapes.append(((4, 0), (4, 2)))
    for sa, sb in shapes:
        for dtype in ("float32", "float64"):
            a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
            _fields(LA.lstsq(fe.tensor(a), fe.tensor(b), driver=driver),
                    torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver), atol=1e-4, rtol=1e-3)
    rank_deficient = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    b = np.array([[1.0], [2.0], [2.0]])
    if driver in ("gelsd", "gelss", None):
        _fields(LA.lstsq(_f64(rank_deficient), _f64(b), driver=driver),
                torch.linalg.lstsq(torch.tensor(rank_deficient), torch.tensor(b), driver=driver))


def test_ex_forms_vs_torch():
    torch = pytest.importorskip("torch")
    nonpd = np.array([[4.0, 2.0, 1.0], [2.0, -3.0, 1.0], [1.0, 1.0, 1.0]])
    for a in [nonpd, np.stack([nonpd, 2 * np.eye(3)]), np.eye(3)]:
        for upper in (False, True):
            _fields(LA.cholesky_ex(_f64(a), upper=upper), torch.linalg.cholesky_ex(torch.tensor(a), upper=upper))
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for a in [singular, np.stack([np.eye(2), singular]), np.eye(2), np.zeros((0, 2, 2))]:
        _fields(LA.inv_ex(_f64(a)), torch.linalg.inv_ex(torch.tensor(a)))
        for b in [np.ones(2), np.ones((2, 3))]:
            _fields(LA.solve_ex(_f64(a), _f64(b)), torch.linalg.solve_ex(torch.tensor(a), torch.tensor(b)))
        _fields(LA.solve_ex(_f64(a), _f64(np.ones((3, 2))), left=False),
                torch.linalg.solve_ex(torch.tensor(a), torch.tensor(np.ones((3, 2))), left=False))


@pytest.mark.filterwarnings("ignore:torch.(cholesky|qr) is deprecated")
def test_tensor_methods_vs_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "svd", "qr",
                 "cholesky", "cholesky_solve", "cholesky_inverse"):
        assert hasattr(torch.Tensor, name) and hasattr(fe.Tensor, name), name
    a = rng.standard_normal((2, 3, 3))
    spd = a @ a.swapaxes(-1, -2) + np.eye(3)
    x, t = _f64(spd), torch.tensor(spd)
    for name, args in [("det", ()), ("logdet", ()), ("inverse", ()), ("pinverse", ()), ("matrix_power", (3,)),
                       ("matrix_exp", ()), ("cholesky", ()), ("cholesky", (True,))]:
        _close(getattr(x, name)(*args), getattr(t, name)(*args))
    _close(x.svd().S, t.svd().S)
    _close(x.svd(compute_uv=False).V, t.svd(compute_uv=False).V)
    _close(x.qr().R.abs(), t.qr().R.abs())
    _close(x.qr(False).R.abs(), t.qr(some=False).R.abs())
    L = np.linalg.cholesky(spd)
    _close(_f64(np.ones((3, 1))).cholesky_solve(_f64(L)), torch.ones(3, 1, dtype=torch.float64).cholesky_solve(
        torch.tensor(L)))
    _fields(x.slogdet(), t.slogdet())


def _grads(fn_fe, fn_torch, arrays):
    torch = pytest.importorskip("torch")
    ours = [_f64(a, grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    w = np.random.default_rng(5)
    out_f, out_t = fn_fe(*ours), fn_torch(*theirs)
    weight = w.standard_normal(tuple(out_t.shape))
    (out_f * _f64(weight)).sum().backward()
    (out_t * torch.tensor(weight)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), atol=1e-8, rtol=1e-6)


def test_gradients_vs_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2))
    _grads(LA.matrix_exp, torch.linalg.matrix_exp, [0.8 * a])
    for upper in (True, False):
        for unit in (True, False):
            _grads(lambda A, B: LA.solve_triangular(A, B, upper=upper, unitriangular=unit),
                   lambda A, B: torch.linalg.solve_triangular(A, B, upper=upper, unitriangular=unit), [a, b])
    for shape in [(3, 3), (4, 2), (2, 4)]:
        m = rng.standard_normal(shape)
        _grads(lambda A: LA.lu_factor(A).LU, lambda A: torch.linalg.lu_factor(A).LU, [m])
        _grads(lambda A: fe.cat([LA.lu(A).L.flatten(), LA.lu(A).U.flatten()]),
               lambda A: torch.cat([torch.linalg.lu(A).L.flatten(), torch.linalg.lu(A).U.flatten()]), [m])
    _grads(lambda A, B: LA.lu_solve(*LA.lu_factor(A), B, adjoint=True),
           lambda A, B: torch.linalg.lu_solve(*torch.linalg.lu_factor(A), B, adjoint=True), [a, b])
    tall = rng.standard_normal((5, 3))
    _grads(lambda A, B: LA.lstsq(A, B).solution, lambda A, B: torch.linalg.lstsq(A, B).solution,
           [tall, rng.standard_normal((5, 2))])
    _grads(lambda A, B: LA.lstsq(A, B, driver="gels").residuals,
           lambda A, B: torch.linalg.lstsq(A, B, driver="gels").residuals, [tall, rng.standard_normal((5, 2))])
    spd = a @ a.swapaxes(-1, -2)
    _grads(lambda A: LA.cholesky_ex(A).L, lambda A: torch.linalg.cholesky_ex(A).L, [spd])
    _grads(lambda A: LA.inv_ex(A).inverse, lambda A: torch.linalg.inv_ex(A).inverse, [a])
    _grads(lambda A, B: LA.solve_ex(A, B).result, lambda A, B: torch.linalg.solve_ex(A, B).result, [a, b])
    # cholesky_solve / cholesky_inverse: the gradient to B matches; to the factor, its read triangle does
    # (torch's formula also fills the other triangle: a deliberate difference)
    L = np.linalg.cholesky(spd)
    _grads(lambda B: fe.cholesky_solve(B, _f64(L)), lambda B: torch.cholesky_solve(B, torch.tensor(L)), [b])
    ours, theirs = _f64(L, grad=True), torch.tensor(L, requires_grad=True)
    fe.cholesky_inverse(ours).sum().backward()
    torch.cholesky_inverse(theirs).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), np.tril(theirs.grad.numpy()), atol=1e-10)


def test_errors_vs_torch():
    torch = pytest.importorskip("torch")
    cases = [
        (lambda m: m.linalg.matrix_exp(m.ones(2, 2, dtype=m.long)), RuntimeError),
        (lambda m: m.linalg.matrix_exp(m.ones(2, 3)), RuntimeError),
        (lambda m: m.linalg.matrix_exp(m.ones(2)), RuntimeError),
        (lambda m: m.linalg.lu_factor(m.ones(2, 2, dtype=m.long)), NotImplementedError),
        (lambda m: m.linalg.lu_factor(m.tensor([[1.0, 2.0], [2.0, 4.0]])), RuntimeError),
        (lambda m: m.linalg.lu(m.ones(2)), RuntimeError),
        (lambda m: m.linalg.lu_factor_ex(m.zeros(3, 2, 2), check_errors=True), RuntimeError),
        (lambda m: m.linalg.lu(m.eye(2), pivot=False), RuntimeError),
        (lambda m: m.lu_unpack(m.eye(2), m.tensor([1, 2])), RuntimeError),
        (lambda m: m.lu_unpack(m.eye(2), m.tensor([3, 1], dtype=m.int32)), RuntimeError),
        (lambda m: m.linalg.lu_solve(m.eye(2), m.tensor([1, 2], dtype=m.int32), m.ones(3, 1)), RuntimeError),
        (lambda m: m.linalg.lu_solve(m.eye(2), m.tensor([1, 2], dtype=m.int32), m.ones(2)), RuntimeError),
        (lambda m: m.linalg.lu_solve(m.eye(2), m.tensor([1, 2], dtype=m.int32), m.ones(2, 1, dtype=m.float64)),
         RuntimeError),
        (lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(2), upper=True), RuntimeError),
        (lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(3, 1), upper=True), RuntimeError),
        (lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(2, 1), upper=1), TypeError),
        (lambda m: m.linalg.solve_triangular(m.eye(2, dtype=m.long), m.ones(2, 1, dtype=m.long), upper=True),
         NotImplementedError),
        (lambda m: m.linalg.solve_triangular(m.ones(3, 2, 2), m.ones(2, 2, 1), upper=True), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2, dtype=m.long), m.ones(3, 1, dtype=m.long)), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1, dtype=m.float64)), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(4, 1)), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(2, 3, 1)), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1), driver="foo"), RuntimeError),
        (lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1), rcond="a"), TypeError),
        (lambda m: m.linalg.lstsq(m.ones(2, 5, 3), m.ones(5, 2)), RuntimeError),
        (lambda m: m.linalg.inv_ex(m.ones(2, 2, dtype=m.long)), RuntimeError),
        (lambda m: m.linalg.inv_ex(m.zeros(2, 2, 2), check_errors=True), torch.linalg.LinAlgError),
        (lambda m: m.linalg.solve_ex(m.zeros(2, 2, 2), m.ones(2, 2), check_errors=True), torch.linalg.LinAlgError),
        (lambda m: m.linalg.cholesky_ex(-m.eye(2), check_errors=True), torch.linalg.LinAlgError),
        (lambda m: m.linalg.cholesky_ex(m.ones(2)), RuntimeError),
        (lambda m: m.cholesky_solve(m.ones(2), m.eye(2)), RuntimeError),
        (lambda m: m.cholesky_solve(m.ones(3, 1), m.eye(2)), RuntimeError),
        (lambda m: m.cholesky_solve(m.ones(2, 1), m.eye(2, dtype=m.float64)), RuntimeError),
        (lambda m: m.cholesky_solve(m.ones(2, 1, dtype=m.long), m.eye(2, dtype=m.long)), NotImplementedError),
        (lambda m: m.cholesky_inverse(m.ones(2, 3)), RuntimeError),
        (lambda m: m.cholesky_inverse(m.zeros(2, 2)), torch.linalg.LinAlgError),
        (lambda m: m.cholesky_inverse(m.ones(2, 2, dtype=m.long)), NotImplementedError),
    ]
    import warnings
    for case, expected in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(expected) as theirs:
                case(torch)
        ours_cls = fe.linalg.LinAlgError if expected is torch.linalg.LinAlgError else expected
        with pytest.raises(ours_cls) as ours:
            case(fe)
        head = str(theirs.value).split("\n")[0]
        assert str(ours.value).split("\n")[0] == head, (str(ours.value), head)
