"""firstepoch.linalg (norms, inv, det, slogdet, solve, pinv, matrix_power, matrix_rank, multi_dot, vecdot,
cross) and the older top-level names (det, logdet, slogdet, inverse, pinverse, matrix_power, cdist, dist):
values against NumPy, gradients against float64 finite differences, errors and gradients against torch
where it is installed. The decompositions (svd, eigh, cholesky, qr) are tests/test_linalg_decompositions.py."""
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import linalg as L
from firstepoch.autograd import gradcheck


def well(rng, shape):
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_match_numpy(rng, dtype):
    a = well(rng, (2, 4, 4)).astype(dtype)
    b = rng.standard_normal((2, 4, 3)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    A, B = fe.tensor(a), fe.tensor(b)
    for ours, ref in [(L.inv(A), np.linalg.inv(a)), (L.det(A), np.linalg.det(a)),
                      (L.slogdet(A).logabsdet, np.linalg.slogdet(a)[1]), (L.slogdet(A).sign, np.linalg.slogdet(a)[0]),
                      (L.solve(A, B), np.linalg.solve(a, b)), (L.solve(A, B[..., 0]), np.linalg.solve(a, b[..., :1])[..., 0]),
                      (L.pinv(B), np.linalg.pinv(b)), (L.matrix_power(A, 3), np.linalg.matrix_power(a, 3)),
                      (L.matrix_power(A, -2), np.linalg.matrix_power(a, -2)), (L.matrix_power(A, 0), np.broadcast_to(np.eye(4), a.shape)),
                      (L.matrix_norm(B), np.linalg.norm(b, axis=(-2, -1))),
                      (L.matrix_norm(B, "nuc"), np.linalg.norm(b, "nuc", axis=(-2, -1))),
                      (L.matrix_norm(B, 2), np.linalg.norm(b, 2, axis=(-2, -1))),
                      (L.matrix_norm(B, -2), np.linalg.norm(b, -2, axis=(-2, -1))),
                      (L.matrix_norm(B, 1), np.linalg.norm(b, 1, axis=(-2, -1))),
                      (L.matrix_norm(B, -math.inf), np.linalg.norm(b, -np.inf, axis=(-2, -1))),
                      (L.vector_norm(B, 3.0, dim=(0, 2)), (np.abs(b) ** 3).sum((0, 2)) ** (1 / 3)),
                      (L.norm(B[0], math.inf), np.linalg.norm(b[0], np.inf)), (L.norm(B), np.linalg.norm(b.ravel())),
                      (L.vecdot(B, B), (b * b).sum(-1)), (L.multi_dot([B[0].mT, A[0], B[1]]), b[0].T @ a[0] @ b[1])]:
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours.numpy(), ref, **tol)
    assert L.matrix_rank(B).dtype == fe.int64 and L.matrix_rank(B).numpy().tolist() == [3, 3]
    assert L.matrix_rank(fe.ones(3, 3, dtype=dtype)).item() == 1


def test_empty_and_one_by_one(rng):
    assert L.det(fe.zeros(0, 0)).item() == 1.0 and L.inv(fe.zeros(0, 0)).shape == (0, 0)
    assert L.inv(fe.zeros(0, 3, 3)).shape == (0, 3, 3) and L.det(fe.zeros(5, 0, 0)).numpy().tolist() == [1.0] * 5
    sign, logabs = L.slogdet(fe.zeros(0, 0))
    assert sign.item() == 1.0 and logabs.item() == 0.0
    a = fe.tensor([[4.0]])
    assert L.inv(a).item() == 0.25 and L.det(a).item() == 4.0 and L.solve(a, fe.tensor([2.0])).numpy().tolist() == [0.5]
    assert L.solve(fe.tensor(well(rng, (3, 3))), fe.zeros(3, 0, dtype=fe.float64)).shape == (3, 0)
    s = L.slogdet(fe.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert s.sign.item() == 0.0 and s.logabsdet.item() == -math.inf
    assert math.isnan(fe.logdet(-fe.eye(3)).item()) and fe.logdet(fe.eye(3)).item() == 0.0


def test_gradients_against_finite_differences(rng):
    a = well(rng, (2, 3, 3))
    b = rng.standard_normal((3, 4))
    sq = rng.standard_normal((3, 3))
    cases = [(lambda x: L.inv(x), [a]), (lambda x: L.det(x), [sq]), (lambda x: L.slogdet(x).logabsdet, [sq]),
             (lambda x: fe.logdet(x @ x.mT), [sq]), (lambda x, y: L.solve(x, y), [a, rng.standard_normal((3, 2))]),
             (lambda x, y: L.solve(x, y, left=False), [a, rng.standard_normal((5, 3))]),
             (lambda x, y: L.solve(x, y), [a, rng.standard_normal((2, 3))]),
             (lambda x: L.pinv(x), [b]), (lambda x: L.pinv(x @ x.mT, hermitian=True), [b]),
             (lambda x: L.matrix_power(x, 3), [sq]), (lambda x: L.matrix_power(x, -2), [a]),
             (lambda x: L.matrix_power(x, 0), [sq]),
             (lambda x: L.matrix_norm(x), [b]), (lambda x: L.matrix_norm(x, "nuc"), [b]),
             (lambda x: L.matrix_norm(x, 2), [b]), (lambda x: L.matrix_norm(x, -2), [b]),
             (lambda x: L.matrix_norm(x, 1, dim=(1, 0), keepdim=True), [b]), (lambda x: L.matrix_norm(x, -math.inf), [b]),
             (lambda x: L.norm(x, 3.0, dim=1), [b]), (lambda x: L.vector_norm(x, math.inf), [b]),
             (lambda x, y, z: L.multi_dot([x, y, z]), [rng.standard_normal(3), b, rng.standard_normal((4, 2))]),
             (lambda x, y: L.vecdot(x, y, dim=0), [b, rng.standard_normal((3, 1))]),
             (lambda x, y: L.cross(x, y), [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]),
             (lambda x, y: fe.cdist(x, y), [rng.standard_normal((4, 3)), rng.standard_normal((5, 3))]),
             (lambda x, y: fe.cdist(x, y, 1.5), [rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))]),
             (lambda x, y: fe.dist(x, y, 3), [rng.standard_normal((4, 3)), rng.standard_normal(3)])]
    for fn, arrays in cases:
        gradcheck(fn, [fe.tensor(x, requires_grad=True) for x in arrays])


def test_det_gradient_at_a_singular_matrix_is_the_adjugate():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])  # rank 2
    x = fe.tensor(a, requires_grad=True)
    L.det(x).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
                    for i in range(3)])
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-12)
    assert np.abs(cof).max() > 1  # not the zero matrix


def test_errors():
    with pytest.raises(L.LinAlgError, match=r"linalg.inv: \(Batch element 1\): The diagonal element 2 is zero"):
        L.inv(fe.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]]))
    assert issubclass(L.LinAlgError, RuntimeError)
    with pytest.raises(L.LinAlgError, match="The solver failed because the input matrix is singular"):
        L.solve(fe.zeros(2, 2), fe.ones(2))
    with pytest.raises(L.LinAlgError, match="singular"):
        L.solve(fe.zeros(2, 2), fe.ones(2, 0))  # an empty B still needs an invertible A
    for fn, msg in [(lambda: L.inv(fe.ones(2, 3)), "square matrices, but they are 2 by 3"),
                    (lambda: L.det(fe.ones(3)), "at least 2 dimensions"),
                    (lambda: L.inv(fe.ones(2, 2, dtype=fe.int64)), "floating point or complex tensor as input. Got Long"),
                    (lambda: L.vector_norm(fe.ones(2, dtype=fe.int64), dtype=fe.float32), "Got Long"),
                    (lambda: L.solve(fe.eye(2), fe.ones(3)), r"AX = B \(2x2 and 3x1\)"),
                    (lambda: L.solve(fe.eye(2), fe.ones(2, dtype=fe.float64)), "same dtype"),
                    (lambda: L.solve(fe.eye(3), fe.ones(3), left=False), r"XA = B \(3x3 and 3x1\)"),
                    (lambda: L.solve(fe.eye(1), fe.ones(1), left=False), "Vector broadcasting"),
                    (lambda: L.norm(fe.ones(2, 2, 2), 2), "must be 1D or 2D. Got 3D"),
                    (lambda: L.matrix_norm(fe.ones(2, 2), 3), "Order 3 not supported"),
                    (lambda: L.matrix_norm(fe.ones(2, 2), dim=(0, 0)), "dims must be different"),
                    (lambda: L.matrix_norm(fe.ones(2, 2), dim=0), "dim must be a 2-tuple"),
                    (lambda: L.multi_dot([fe.ones(2)]), "at least 2 tensors"),
                    (lambda: L.multi_dot([fe.ones(2, 3), fe.ones(2, 3)]), r"shapes \[2, 3\] and \[2, 3\] cannot"),
                    (lambda: L.cross(fe.ones(2, 3), fe.ones(3)), "same number of dimensions"),
                    (lambda: fe.cdist(fe.ones(2, 3), fe.ones(2, 4)), "same number of columns"),
                    (lambda: L.matrix_power(fe.ones(2, 3), 2), "square matrices")]:
        with pytest.raises(RuntimeError, match=msg):
            fn()
    with pytest.raises(TypeError):
        L.inv(np.eye(2))
    with pytest.raises(TypeError):
        L.matrix_power(fe.eye(2), 1.5)


def test_torch_names_at_the_top_level(rng):
    a = well(rng, (3, 3))
    A = fe.tensor(a)
    np.testing.assert_allclose(fe.inverse(A).numpy(), np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(fe.det(A).numpy(), np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(fe.pinverse(A).numpy(), np.linalg.pinv(a), rtol=1e-10)
    np.testing.assert_allclose(fe.matrix_power(A, 2).numpy(), a @ a, rtol=1e-12)
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    np.testing.assert_allclose(fe.cdist(fe.tensor(x), fe.tensor(y)).numpy(),
                               np.sqrt(((x[:, :, None] - y[:, None]) ** 2).sum(-1)), rtol=1e-12)
    np.testing.assert_allclose(fe.dist(fe.tensor(x), fe.tensor(y[:, :1])).item(), np.linalg.norm(x - y[:, :1]))
    u, s, v = fe.svd(fe.tensor(x))  # torch.svd's older form: V, not V^T; some=True: reduced
    assert (u.shape, s.shape, v.shape) == ((2, 4, 3), (2, 3), (2, 3, 3))
    np.testing.assert_allclose(((u * s.unsqueeze(-2)) @ v.mT).numpy(), x, atol=1e-12)
    u, s, v = fe.svd(fe.tensor(x), some=False, compute_uv=False)
    assert (u.shape, v.shape) == ((2, 4, 4), (2, 3, 3)) and not u.numpy().any() and not v.numpy().any()
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(x, compute_uv=False), rtol=1e-12)
    # a zero distance has gradient 0 (not NaN), as torch's
    p = fe.tensor(x[0], requires_grad=True)
    fe.cdist(p, p).sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    a, b = well(rng, (2, 4, 4)), rng.standard_normal((2, 4, 3))
    sing = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])
    pairs = [(lambda m, x, y: m.linalg.inv(x), (a,)), (lambda m, x, y: m.linalg.det(x), (a,)),
             (lambda m, x, y: m.linalg.slogdet(x)[1], (a,)), (lambda m, x, y: m.linalg.solve(x, y), (a, b)),
             (lambda m, x, y: m.linalg.solve(x, y[..., 0]), (a, b)),
             (lambda m, x, y: m.linalg.solve(x, y.mT, left=False), (a, b)),
             (lambda m, x, y: m.linalg.pinv(x), (b,)), (lambda m, x, y: m.linalg.matrix_power(x, -3), (a,)),
             (lambda m, x, y: m.linalg.matrix_norm(x, "nuc"), (b,)), (lambda m, x, y: m.linalg.matrix_norm(x, 2), (b,)),
             (lambda m, x, y: m.linalg.matrix_norm(x, math.inf, dim=(0, 2)), (b,)),
             (lambda m, x, y: m.linalg.norm(x[0]), (b,)), (lambda m, x, y: m.linalg.vector_norm(x, 0.5, dim=1), (b,)),
             (lambda m, x, y: m.cdist(x, y), (b, b[:, :2])), (lambda m, x, y: m.logdet(x @ x.mT), (a,))]
    for fn, arrays in pairs:
        ours = [fe.tensor(x, requires_grad=True) for x in arrays]
        theirs = [torch.tensor(x, requires_grad=True) for x in arrays]
        o = fn(fe, *ours, *([None] * (2 - len(ours))))
        t = fn(torch, *theirs, *([None] * (2 - len(theirs))))
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)
        w = rng.standard_normal(o.shape)
        (o * fe.tensor(w)).sum().backward()
        (t * torch.tensor(w)).sum().backward()
        for x, y in zip(ours, theirs):
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-7, atol=1e-9)
    for ours, theirs in [(lambda: L.inv(fe.tensor(sing)), lambda: torch.linalg.inv(torch.tensor(sing))),
                         (lambda: L.solve(fe.tensor(sing), fe.ones(2, 2, dtype=fe.float64)),
                          lambda: torch.linalg.solve(torch.tensor(sing), torch.ones(2, 2, dtype=torch.float64))),
                         (lambda: L.solve(fe.eye(3), fe.ones(3), left=False),
                          lambda: torch.linalg.solve(torch.eye(3), torch.ones(3), left=False)),
                         (lambda: L.norm(fe.ones(2, 2, 2), "fro"), lambda: torch.linalg.norm(torch.ones(2, 2, 2), "fro"))]:
        with pytest.raises(RuntimeError) as e1:
            ours()
        with pytest.raises(RuntimeError) as e2:
            theirs()
        assert str(e1.value) == str(e2.value)
        assert isinstance(e1.value, L.LinAlgError) == isinstance(e2.value, torch.linalg.LinAlgError)


def test_values_torch_gives_that_were_errors_or_wrong():
    # matrix_rank read A.numpy(), which refuses a tensor that requires grad
    assert L.matrix_rank(fe.ones(3, 3, requires_grad=True)).item() == 1
    assert L.matrix_rank(fe.ones(3, 3), atol=fe.tensor(0.5, requires_grad=True)).item() == 1
    # the largest of no column / row sums / singular values is 0 (torch), not an amax error
    for ord, shape in [(1, (3, 0, 0)), (1, (3, 0)), (math.inf, (0, 3)), (2, (1, 0, 0)), (2, (2, 0))]:
        out = L.matrix_norm(fe.zeros(*shape), ord)
        assert out.shape == shape[:-2] and (out.numpy() == 0).all()
    with pytest.raises(IndexError):
        L.matrix_norm(fe.zeros(0, 3), -math.inf)  # the smallest of none still raises, as torch
    # slogdet's sign is recorded (a zero gradient), so it requires grad when A does, as torch's
    A = fe.tensor(well(np.random.default_rng(0), (2, 3, 3)), requires_grad=True)
    sign, logabs = L.slogdet(A)
    assert sign.requires_grad and not L.slogdet(A.detach()).sign.requires_grad
    (sign.sum() + logabs.sum()).backward()
    np.testing.assert_allclose(A.grad.numpy(), np.swapaxes(np.linalg.inv(A.detach().numpy()), -1, -2), rtol=1e-10)
    # hermitian=True on empty non-square matrices goes the SVD way (torch), not to eigh's square check
    assert L.pinv(fe.zeros(2, 4, 0), hermitian=True).shape == (2, 0, 4)
    assert L.matrix_rank(fe.zeros(0, 4), hermitian=True).item() == 0
    # cdist with no coordinates: all distances 0, for p = inf too
    assert (fe.cdist(fe.zeros(2, 0), fe.zeros(3, 0), p=math.inf).numpy() == 0).all()


def test_arguments_torch_refuses():
    for fn, cls, msg in [
            (lambda: L.vector_norm(fe.ones(3, dtype=fe.float64), dtype=fe.float32), RuntimeError,
             r"the dtype of the input \(Double\) should be convertible without narrowing to the specified dtype \(Float\)"),
            (lambda: L.matrix_norm(fe.ones(3, 3, dtype=fe.float64), dtype=fe.float32), RuntimeError, "without narrowing"),
            (lambda: L.norm(fe.ones(3, dtype=fe.float64), dtype=fe.float32), RuntimeError, "without narrowing"),
            (lambda: L.vector_norm(fe.ones(3), dtype=fe.int64), RuntimeError, "dtype should be floating point"),
            (lambda: L.vector_norm(fe.ones(3), keepdim="x"), TypeError, "'keepdim' must be bool"),
            (lambda: L.matrix_norm(fe.ones(3, 3), keepdim=None), TypeError, "'keepdim' must be bool"),
            (lambda: L.norm(fe.ones(3), keepdim=1), TypeError, "'keepdim' must be bool"),
            (lambda: L.matrix_norm(fe.ones(3, 2), 0.5, dim=(0, 5)), RuntimeError, "Order 0.5 not supported"),
            (lambda: L.solve(fe.eye(2), fe.ones(2, 2), left=None), TypeError, "'left' must be bool"),
            (lambda: L.pinv(fe.eye(2), hermitian=1), TypeError, "'hermitian' must be bool"),
            (lambda: L.matrix_rank(fe.eye(2), hermitian=None), TypeError, "'hermitian' must be bool"),
            (lambda: L.pinv(fe.eye(2), atol="x"), TypeError, "'atol' must be Tensor or float"),
            (lambda: L.matrix_rank(fe.eye(2), rtol=[1.0]), TypeError, "'rtol' must be Tensor or float"),
            (lambda: L.pinv(fe.ones(2, 3), hermitian=True), RuntimeError, "linalg.eigh: A must be batches of square"),
            (lambda: L.matrix_rank(fe.ones(2, 1), hermitian=True), RuntimeError, "linalg.eigh: A must be batches of square"),
            (lambda: L.vecdot(fe.ones(3, dtype=fe.int64), fe.ones(3, dtype=fe.int64)), RuntimeError, "Got Long"),
            (lambda: L.vecdot(fe.ones(3, dtype=fe.bool), fe.ones(3)), RuntimeError, "Got Bool"),
            (lambda: L.vecdot(fe.ones(3), fe.ones(3, dtype=fe.float64)), RuntimeError,
             "Expected x and y to have the same dtype, but found x of type Float and y of type Double"),
            (lambda: L.vecdot(fe.ones(3), fe.ones(3), dim=None), TypeError, "'dim' must be int"),
            (lambda: L.cross(fe.ones(3), fe.ones(3, dtype=fe.float64)), RuntimeError,
             "expected scalar type Float but found Double"),
            (lambda: L.cross(fe.ones(3, dtype=fe.bool), fe.ones(3)), NotImplementedError, "not implemented for 'Bool'"),
            (lambda: L.diagonal("x"), TypeError, "argument 'A' \\(position 1\\) must be Tensor"),
            (lambda: L.diagonal(fe.ones(2, 2), offset=1.0), TypeError, "'offset' must be int"),
            (lambda: fe.cdist(fe.ones(2, 2), fe.ones(2, 2, dtype=fe.float64)), RuntimeError,
             "expected scalar type Float but found Double"),
            (lambda: fe.cdist(fe.ones(2, 2), fe.ones(2, 2), p="x"), TypeError, "'p' \\(position 3\\) must be float"),
            (lambda: fe.cdist(fe.ones(2, 2), fe.ones(2, 2), p=-1, compute_mode="bad"), ValueError, "compute_mode"),
            (lambda: fe.dist(fe.ones(2), 3.0), TypeError, "'other' \\(position 2\\) must be Tensor"),
            (lambda: fe.dist(fe.ones(2), fe.ones(2), p=None), TypeError, "'p' must be Number")]:
        with pytest.raises(cls, match=msg):
            fn()
    assert L.vector_norm(fe.ones(3, dtype=fe.float32), dtype=fe.float64).dtype == fe.float64  # widening is fine
