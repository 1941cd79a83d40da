"""Loss functions through autograd: cross_entropy (the fused kernel) against the NumPy reference at
every ISA, nll/mse/l1/bce-with-logits against their written-out formulas, the extra shapes PyTorch
accepts, extreme inputs, bad inputs, and PyTorch itself when it is importable.
(Gradient checks of every loss come through tests/test_gradcheck_registry.py.)"""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.ops import loss as L
from firstepoch.reference import loss as R
from firstepoch.reference import softmax as RS

from conftest import tol_for

DTYPES = [np.float32, np.float64]


def tol(dtype, k=1):
    rtol, atol = tol_for(dtype, k)
    return dict(rtol=rtol, atol=atol)


def run(fn, x, grad=None, rng=None):
    """fn(Tensor x) -> (loss values, d(sum(grad * loss))/dx, the upstream grad used)."""
    a = fe.tensor(x, requires_grad=True)
    out = fn(a)
    g = np.ones(out.shape, x.dtype) if grad is None else grad
    out.backward(g)
    return out._data, a.grad, g


def ce_reference_grad(z, t, w, ignore_index, reduction, eps, g):
    """d(sum(g * loss))/dz from the reference's per-row gradient and PyTorch's reductions."""
    n = z.shape[0]
    keep = t != ignore_index
    if reduction == "none":
        rows = g
    elif reduction == "sum":
        rows = np.full(n, g)
    else:
        wt = np.ones(n) if w is None else w[np.where(keep, t, 0)]
        rows = np.full(n, g / (wt * keep).sum())
    stats = R.cross_entropy_forward(z, t, w, ignore_index, eps)[1]
    return R.cross_entropy_backward(z, stats, t, rows.astype(z.dtype), w, ignore_index, eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_reference(isa, rng, dtype, reduction):
    for n, c, weighted, eps, ignore_index in [(1, 1, False, 0.0, -100), (1, 7, True, 0.3, -100),
                                                (13, 5, False, 0.1, -100), (64, 10, True, 0.0, -100),
                                                (37, 101, True, 0.25, 3), (29, 2, False, 1.0, -100)]:
        z = (rng.standard_normal((n, c)) * 3).astype(dtype)
        t = rng.integers(0, c, n)
        if n > 3:
            t[[0, 2]] = ignore_index
        w = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
        kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
        g = rng.standard_normal(n).astype(dtype) if reduction == "none" else np.asarray(1.7, dtype)
        loss, dz, _ = run(lambda a: L.cross_entropy(a, t, **kw), z, g)
        assert loss.dtype == dtype and dz.dtype == dtype
        np.testing.assert_allclose(loss, R.cross_entropy(z.astype(np.float64), t, w, ignore_index, reduction, eps),
                                   **tol(dtype, n * c))
        want = ce_reference_grad(z.astype(np.float64), t, None if w is None else w.astype(np.float64),
                                 ignore_index, reduction, eps, g.astype(np.float64))
        np.testing.assert_allclose(dz, want, **tol(dtype, c))


def test_cross_entropy_spatial_and_unbatched_shapes(rng):
    z = rng.standard_normal((3, 4, 5, 2))  # (N, C, H, W)
    t = rng.integers(0, 4, (3, 5, 2))
    t[0, 1, 1] = -100
    rows = np.moveaxis(z, 1, -1).reshape(-1, 4)
    for reduction in ("mean", "sum", "none"):
        loss, dz, g = run(lambda a: L.cross_entropy(a, t, reduction=reduction, label_smoothing=0.1), z,
                          rng.standard_normal(t.shape) if reduction == "none" else None)
        want = R.cross_entropy(rows, t.reshape(-1), None, -100, reduction, 0.1)
        np.testing.assert_allclose(loss, want.reshape(t.shape) if reduction == "none" else want, rtol=1e-12)
        want_d = ce_reference_grad(rows, t.reshape(-1), None, -100, reduction, 0.1, np.reshape(g, -1) if
                                   reduction == "none" else g)
        np.testing.assert_allclose(dz, np.moveaxis(want_d.reshape(3, 5, 2, 4), -1, 1), rtol=1e-11, atol=1e-14)
    x = rng.standard_normal(6)  # one unbatched sample
    loss, dx, _ = run(lambda a: L.cross_entropy(a, np.int64(4)), x)
    assert loss.shape == ()
    np.testing.assert_allclose(loss, R.cross_entropy(x[None], np.array([4])), rtol=1e-12)
    stats = R.cross_entropy_forward(x[None], np.array([4]))[1]
    np.testing.assert_allclose(dx, R.cross_entropy_backward(x[None], stats, np.array([4]))[0], rtol=1e-12)


def test_cross_entropy_empty_and_all_ignored():
    z = np.zeros((0, 5))
    t = np.zeros(0, np.int64)
    assert L.cross_entropy(fe.tensor(z), t, reduction="sum").item() == 0.0
    assert L.cross_entropy(fe.tensor(z), t, reduction="none").shape == (0,)
    assert np.isnan(L.cross_entropy(fe.tensor(z), t).item())  # 0 / 0, as in PyTorch
    loss, dz, _ = run(lambda a: L.cross_entropy(a, np.array([-100, -100]), reduction="sum"), np.ones((2, 3)))
    assert loss == 0.0 and np.array_equal(dz, np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(isa, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [-1e4, 1e4, 1e4]], dtype)
    t = np.array([0, 2, 1])
    loss, dz, _ = run(lambda a: L.cross_entropy(a, t, reduction="none"), z)
    np.testing.assert_allclose(loss, [0.0, np.log(3), np.log(2)], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dz, [[0, 0, 0], [1 / 3, 1 / 3, -2 / 3], [0, -0.5, 0.5]], atol=1e-6)
    loss, _, _ = run(lambda a: L.cross_entropy(a, np.array([1, 0, 0]), reduction="none"), z)
    np.testing.assert_allclose(loss, [2e4, np.log(3), 2e4 + np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_formula(rng, dtype, reduction):
    logp = RS.log_softmax_forward(rng.standard_normal((7, 4))).astype(dtype)
    t = np.array([0, 3, -100, 1, 1, 2, 3])
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    g = rng.standard_normal(7).astype(dtype) if reduction == "none" else np.asarray(0.7, dtype)
    loss, d, _ = run(lambda a: L.nll_loss(a, t, weight=w, reduction=reduction), logp, g)
    keep = t != -100
    ti = np.where(keep, t, 0)
    wt = np.where(keep, w[ti], 0)
    per_row = -wt * logp[np.arange(7), ti]
    want = {"none": per_row, "sum": per_row.sum(), "mean": per_row.sum() / wt.sum()}[reduction]
    assert loss.dtype == dtype and d.dtype == dtype
    np.testing.assert_allclose(loss, want, **tol(dtype, 7))
    rows = g if reduction == "none" else np.full(7, g / (wt.sum() if reduction == "mean" else 1))
    want_d = np.zeros_like(logp)
    want_d[np.arange(7), ti] = -wt * rows
    np.testing.assert_allclose(d, want_d, **tol(dtype))
    # nll_loss of log_softmax is cross_entropy
    z = rng.standard_normal((7, 4))
    np.testing.assert_allclose(L.nll_loss(fe.tensor(RS.log_softmax_forward(z)), t, w.astype(np.float64)).item(),
                               R.cross_entropy(z, t, w.astype(np.float64)), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_formulas(rng, dtype, reduction):
    x = rng.standard_normal((5, 3)).astype(dtype)
    y = rng.standard_normal((5, 3)).astype(dtype)
    g = rng.standard_normal((5, 3)).astype(dtype) if reduction == "none" else np.asarray(1.3, dtype)
    scale = 1 / x.size if reduction == "mean" else 1

    def reduce(v):
        return {"none": v, "sum": v.sum(), "mean": v.mean()}[reduction]

    loss, dx, _ = run(lambda a: L.mse_loss(a, fe.tensor(y), reduction=reduction), x, g)
    np.testing.assert_allclose(loss, reduce((x - y) ** 2), **tol(dtype, x.size))
    np.testing.assert_allclose(dx, 2 * (x - y) * g * scale, **tol(dtype))
    loss, dx, _ = run(lambda a: L.l1_loss(a, fe.tensor(y), reduction=reduction), x, g)
    np.testing.assert_allclose(loss, reduce(np.abs(x - y)), **tol(dtype, x.size))
    np.testing.assert_allclose(dx, np.sign(x - y) * g * scale, **tol(dtype))
    # the target's gradient is the negative of the input's
    a, b = fe.tensor(x, requires_grad=True), fe.tensor(y, requires_grad=True)
    L.mse_loss(a, b, reduction=reduction).backward(g)
    np.testing.assert_allclose(b.grad, -a.grad, rtol=0, atol=0)


def test_each_gradient_has_its_inputs_dtype(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    y = rng.uniform(0, 1, (3, 2))  # float64
    for fn in (L.mse_loss, L.l1_loss, L.binary_cross_entropy_with_logits):
        a, b = fe.tensor(x, requires_grad=True), fe.tensor(y, requires_grad=True)
        fn(a, b).backward()
        assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64, fn.__name__


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_formula(rng, dtype, reduction):
    z = (rng.standard_normal((4, 3)) * 3).astype(dtype)
    y = rng.uniform(0, 1, (4, 3)).astype(dtype)
    pw = np.array([0.5, 1.0, 3.0], dtype)  # one per class, broadcast over rows
    g = rng.standard_normal((4, 3)).astype(dtype) if reduction == "none" else np.asarray(0.9, dtype)
    loss, dz, _ = run(lambda a: L.binary_cross_entropy_with_logits(a, fe.tensor(y), reduction=reduction, pos_weight=pw), z, g)
    z64, y64 = z.astype(np.float64), y.astype(np.float64)
    s = 1 / (1 + np.exp(-z64))
    per = -(pw * y64 * np.log(s) + (1 - y64) * np.log(1 - s))
    want = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    assert loss.dtype == dtype and dz.dtype == dtype
    np.testing.assert_allclose(loss, want, **tol(dtype, z.size))
    want_d = (s * (1 - y64 + pw * y64) - pw * y64) * g * (1 / z.size if reduction == "mean" else 1)
    np.testing.assert_allclose(dz, want_d, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_stable_at_extremes(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype)
    loss, dz, _ = run(lambda a: L.binary_cross_entropy_with_logits(a, fe.tensor(y), reduction="none"), z)
    np.testing.assert_allclose(loss, [0, 0, 1e4, 1e4, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(dz, [0, 0, 1, -1, -0.5], atol=1e-6)


def test_bad_inputs():
    z = fe.tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(IndexError, match=r"target\[2\] = 4 is out of range for 4 classes"):
        L.cross_entropy(z, np.array([0, 1, 4]))
    with pytest.raises(IndexError, match=r"target\[1\] = -3"):
        L.nll_loss(z, np.array([0, -3, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Double"):
        L.cross_entropy(z, np.array([0.0, 1.0, 1.0]))  # as torch: not class probabilities (not the input's shape)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Double"):
        L.nll_loss(z, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"target \(2,\)"):
        L.cross_entropy(z, np.array([0, 1]))
    # torch's RuntimeErrors (a negative label_smoothing smooths nothing in torch: tests/test_porting_optim.py)
    with pytest.raises(RuntimeError, match=r"all 4 classes .* shape: \[3\]"):
        L.cross_entropy(z, np.array([0, 1, 1]), weight=np.ones(3))
    with pytest.raises(RuntimeError, match=r"all 4 classes .* shape: \[5\]"):
        L.nll_loss(z, np.array([0, 1, 1]), weight=np.ones(5))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        L.cross_entropy(z, np.array([0, 1, 1]), label_smoothing=1.1)
    for fn in (L.mse_loss, L.l1_loss):  # torch broadcasts them (with a warning): these sizes do not
        with pytest.raises(RuntimeError, match="broadcast"), pytest.warns(UserWarning, match="target size"):
            fn(z, fe.tensor(np.zeros((4, 3))))
    with pytest.raises(ValueError, match="one shape"):
        L.binary_cross_entropy_with_logits(z, fe.tensor(np.zeros((4, 3))))
    for fn in (L.mse_loss, L.l1_loss, L.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="reduction"):
            fn(z, fe.tensor(np.zeros((3, 4))), reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        L.nll_loss(z, np.array([0, 1, 1]), reduction="batchmean")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(rng, reduction):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    z = rng.standard_normal((6, 5))
    tgt = np.array([0, 4, -100, 2, 2, 1])
    tgt2 = np.array([0, 4, 3, 2, 2, 1])  # ignore_index=2 drops two rows
    w = rng.uniform(0.5, 2, 5)
    y = rng.standard_normal((6, 5))
    prob = 1 / (1 + np.exp(-y))
    pw = rng.uniform(0.5, 2, 5)
    cases = [
        (lambda a: L.cross_entropy(a, tgt, weight=w, reduction=reduction, label_smoothing=0.1),
         lambda a: TF.cross_entropy(a, torch.tensor(tgt), weight=torch.tensor(w), reduction=reduction,
                                    label_smoothing=0.1)),
        (lambda a: L.cross_entropy(a, tgt2, ignore_index=2, reduction=reduction, label_smoothing=0.4),
         lambda a: TF.cross_entropy(a, torch.tensor(tgt2), ignore_index=2, reduction=reduction, label_smoothing=0.4)),
        (lambda a: L.nll_loss(a.log_softmax(-1), tgt, weight=w, reduction=reduction),
         lambda a: TF.nll_loss(a.log_softmax(-1), torch.tensor(tgt), weight=torch.tensor(w), reduction=reduction)),
        (lambda a: L.mse_loss(a, fe.tensor(y), reduction=reduction), lambda a: TF.mse_loss(a, torch.tensor(y), reduction=reduction)),
        (lambda a: L.l1_loss(a, fe.tensor(y), reduction=reduction), lambda a: TF.l1_loss(a, torch.tensor(y), reduction=reduction)),
        (lambda a: L.binary_cross_entropy_with_logits(a, fe.tensor(prob), reduction=reduction, pos_weight=pw),
         lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(prob), reduction=reduction,
                                                       pos_weight=torch.tensor(pw))),
    ]
    for ours, theirs in cases:
        a = fe.tensor(z, requires_grad=True)
        out = ours(a)
        at = torch.tensor(z, requires_grad=True)
        ot = theirs(at)
        np.testing.assert_allclose(out._data, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        ot.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cross_entropy_spatial_matches_torch(rng):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    t = rng.integers(0, 3, (2, 4, 5))
    a = fe.tensor(z, requires_grad=True)
    at = torch.tensor(z, requires_grad=True)
    out = L.cross_entropy(a, t, label_smoothing=0.2)
    ot = torch.nn.functional.cross_entropy(at, torch.tensor(t), label_smoothing=0.2)
    np.testing.assert_allclose(out._data, ot.detach().numpy(), rtol=1e-5)
    out.backward()
    ot.backward()
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_numpy_forms_of_the_other_losses_agree(rng, reduction):
    """reference.loss's nll / mse / l1 / bce-with-logits formulas against the ops."""
    logp = RS.log_softmax_forward(rng.standard_normal((6, 4)))
    t = np.array([0, 3, -100, 1, 2, 2])
    w = rng.uniform(0.5, 2, 4)
    np.testing.assert_allclose(L.nll_loss(fe.tensor(logp), t, w, reduction=reduction).data,
                               R.nll_loss_forward(logp, t, w, -100, reduction), rtol=1e-12)
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(L.mse_loss(fe.tensor(x), fe.tensor(y), reduction=reduction).data,
                               R.mse_loss_forward(x, y, reduction), rtol=1e-12)
    np.testing.assert_allclose(L.l1_loss(fe.tensor(x), fe.tensor(y), reduction=reduction).data,
                               R.l1_loss_forward(x, y, reduction), rtol=1e-12)
    p = rng.uniform(0, 1, (3, 5))
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(fe.tensor(x), fe.tensor(p), reduction=reduction, pos_weight=1.5).data,
                               R.binary_cross_entropy_with_logits_forward(x, p, reduction, 1.5), rtol=1e-10)
