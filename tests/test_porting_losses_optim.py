"""Porting surface, part D: the remaining torch.nn losses (PoissonNLL, GaussianNLL, HingeEmbedding,
SoftMargin, MultiLabelSoftMargin, MultiMargin), lr_scheduler.CyclicLR, optim.Rprop and optim.LBFGS.
Hard-coded expected values (computed once with torch 2.13) run everywhere; where torch is installed the
same calls are compared with it, gradients and trajectories included, in float64."""
import math
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import optim
from firstepoch.autograd import gradcheck

X = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]
T = [[1.0, 0.0, 3.0], [2.0, 1.0, 0.0]]
Y = [[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]
VAR = [[0.5, 1.0, 2.0], [0.1, 0.2, 0.3]]
MULTI = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
W = [0.2, 1.0, 0.5]
CLS = [0, 1]


def f64(a, requires_grad=False):
    return fe.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


# ---- losses: values ---------------------------------------------------------------------------------

def test_new_losses_give_torchs_values():
    x, t, y, v = f64(X), f64(T), f64(Y), f64(VAR)
    cases = [
        (F.poisson_nll_loss(x, t, reduction="none"),
         [1.148721270700128, 0.367879441171442, 1.38905609893065, 1.481689070338065, 1.049858807576003,
          0.49658530379141]),
        (F.poisson_nll_loss(x.abs(), t, log_input=False, full=True, reduction="none"),
         [1.193147160559946, 1.0, 1.684639986863221, 1.340876255054874, 1.503972770992603, 0.7]),
        (F.gaussian_nll_loss(x, t, v, reduction="none"),
         [-0.096573590279973, 0.5, 0.596573590279973, 0.098707453502977, 0.42028104378295, 0.214680264503698]),
        (F.gaussian_nll_loss(x, t, v[:, 0], full=True), [1.570005464816175]),
        (F.hinge_embedding_loss(x, y, margin=0.8, reduction="none"), [0.5, 1.8, 2.0, 0.0, 0.3, 1.5]),
        (F.soft_margin_loss(x, y, reduction="none"),
         [0.474076984180107, 0.313261687518223, 0.126928011042972, 1.701413277982752, 0.554355244468527,
          0.403186048885458]),
        (F.multilabel_soft_margin_loss(x, f64(MULTI), weight=f64(W), reduction="none"),
         [0.15718036329191, 0.482076974835936]),
        (F.multi_margin_loss(x, fe.tensor(CLS), reduction="none"), [0.833333333333333, 0.733333333333333]),
        (F.multi_margin_loss(x, fe.tensor(CLS), p=2, margin=0.9, weight=f64(W), reduction="none"), [0.384, 1.47]),
    ]
    for got, want in cases:
        np.testing.assert_allclose(got.numpy().ravel(), want, rtol=1e-13, atol=1e-14)


def test_new_loss_modules_call_their_functions_and_reduce():
    x, t, y, v = f64(X), f64(T), f64(Y), f64(VAR)
    pairs = [
        (nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-6), lambda r: F.poisson_nll_loss(
            x.abs(), t, log_input=False, full=True, eps=1e-6, reduction=r), (x.abs(), t)),
        (nn.GaussianNLLLoss(full=True, eps=1e-3), lambda r: F.gaussian_nll_loss(x, t, v, True, 1e-3, r), (x, t, v)),
        (nn.HingeEmbeddingLoss(margin=0.5), lambda r: F.hinge_embedding_loss(x, y, 0.5, reduction=r), (x, y)),
        (nn.SoftMarginLoss(), lambda r: F.soft_margin_loss(x, y, reduction=r), (x, y)),
        (nn.MultiLabelSoftMarginLoss(weight=f64(W)),
         lambda r: F.multilabel_soft_margin_loss(x, f64(MULTI), f64(W), reduction=r), (x, f64(MULTI))),
        (nn.MultiMarginLoss(p=2, margin=0.5), lambda r: F.multi_margin_loss(x, fe.tensor(CLS), 2, 0.5, reduction=r),
         (x, fe.tensor(CLS))),
    ]
    for module, fn, args in pairs:
        none = fn("none").numpy()
        np.testing.assert_allclose(module(*args).numpy(), none.mean(), rtol=1e-14)
        np.testing.assert_allclose(fn("sum").numpy(), none.sum(), rtol=1e-14)
        assert module.reduction == "mean"
    assert nn.SoftMarginLoss(reduction="sum").reduction == "sum"
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert nn.PoissonNLLLoss(size_average=False).reduction == "sum"


def test_new_losses_raise_torchs_errors():
    x, t, v = f64(X), f64(T), f64(VAR)
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(x, t, -v)
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(x, t, -1.0)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, t, v[:, :2])
    with pytest.raises(ValueError, match="is not valid"):
        F.gaussian_nll_loss(x, t, v, reduction="avg")
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, fe.tensor(CLS), p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="weight must be one-dimensional"):
        F.multi_margin_loss(x, fe.tensor(CLS), weight=f64([W]))
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x, fe.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        F.multi_margin_loss(x, fe.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'target'"):
        F.soft_margin_loss(x, f64(Y, requires_grad=True))
    for fn in (F.poisson_nll_loss, F.hinge_embedding_loss, F.soft_margin_loss, F.multilabel_soft_margin_loss):
        with pytest.raises(ValueError):
            fn(x, t, reduction="avg")


def test_stable_forms_stay_finite_far_out():
    big = f64([[800.0, -800.0]], requires_grad=True)
    loss = F.soft_margin_loss(big, f64([[-1.0, 1.0]]), reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1600.0)
    np.testing.assert_allclose(big.grad.numpy(), [[1.0, -1.0]])
    ml = F.multilabel_soft_margin_loss(big, f64([[0.0, 1.0]]))
    np.testing.assert_allclose(ml.item(), 800.0)
    # the float32 result keeps its dtype
    assert F.soft_margin_loss(fe.randn(3), fe.ones(3)).dtype == fe.float32
    assert F.multi_margin_loss(fe.randn(2, 3), fe.tensor(CLS)).dtype == fe.float32


def test_new_losses_gradcheck(rng):
    a = f64(rng.standard_normal((4, 3)), requires_grad=True)
    b = f64(rng.standard_normal((4, 3)), requires_grad=True)
    var = f64(rng.random((4, 3)) + 0.2, requires_grad=True)
    counts = f64(rng.poisson(2.0, (4, 3)).astype(np.float64) + 0.5, requires_grad=True)
    signs = f64(np.sign(rng.standard_normal((4, 3))))
    labels = f64((rng.random((4, 3)) > 0.5).astype(np.float64))
    gradcheck(lambda x, t: F.poisson_nll_loss(x, t), [a, counts])
    gradcheck(lambda x, t: F.poisson_nll_loss(x.abs() + 0.1, t, log_input=False, full=True), [a, counts])
    gradcheck(lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True), [a, b, var])
    gradcheck(lambda x, t, v: F.gaussian_nll_loss(x, t, v[:, 0], reduction="sum"), [a, b, var])
    gradcheck(lambda x: F.hinge_embedding_loss(x, signs, margin=0.37), [a])
    gradcheck(lambda x: F.soft_margin_loss(x, signs), [a])
    weight = f64(rng.random(3) + 0.2, requires_grad=True)
    gradcheck(lambda x, w: F.multilabel_soft_margin_loss(x, labels, weight=w), [a, weight])
    cls = fe.tensor(rng.integers(0, 3, 4))
    for p in (1, 2):
        gradcheck(lambda x: F.multi_margin_loss(x, cls, p=p, margin=0.45, weight=f64(W)), [a])


def _torch_pair(torch, a, requires_grad=True):
    a = np.asarray(a)
    rg = requires_grad and a.dtype.kind == "f"
    return fe.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def test_new_losses_match_torch_with_gradients(rng):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = rng.standard_normal((5, 4)) * 3
    t = rng.poisson(2.0, (5, 4)).astype(np.float64)
    v = rng.random((5, 4)) + 0.05
    v[0, 0] = 1e-9  # below eps: clamped, its gradient passed through
    signs = np.sign(rng.standard_normal((5, 4)))
    labels = (rng.random((5, 4)) > 0.5).astype(np.float64)
    w = rng.random(4)
    cls = rng.integers(0, 4, 5)
    # each case: (name, call(fn, const, *inputs)), with const making a constant of that library
    cases = [
        ("poisson_nll_loss", lambda fn, c, a, b: fn(a, b), [x, t]),
        ("poisson_nll_loss", lambda fn, c, a, b: fn(a.abs(), b, log_input=False, full=True), [x, t]),
        ("gaussian_nll_loss", lambda fn, c, a, b, v_: fn(a, b, v_, full=True), [x, t, v]),
        ("gaussian_nll_loss", lambda fn, c, a, b, v_: fn(a, b, v_[:, :1], eps=1e-2), [x, t, v]),
        ("gaussian_nll_loss", lambda fn, c, a, b, v_: fn(a, b, v_[:, 0]), [x, t, v]),
        ("gaussian_nll_loss", lambda fn, c, a, b: fn(a, b, 0.7), [x, t]),
        ("hinge_embedding_loss", lambda fn, c, a: fn(a, c(signs), 2.0), [x]),
        ("multilabel_soft_margin_loss", lambda fn, c, a, w_: fn(a, c(labels), weight=w_), [x, w]),
    ]
    for name, call, arrays in cases:
        for reduction in ("mean", "sum", "none"):
            ours = [_torch_pair(torch, a) for a in arrays]
            got = call(lambda *p, **k: getattr(F, name)(*p, reduction=reduction, **k), f64,
                       *[o for o, _ in ours])
            want = call(lambda *p, **k: getattr(TF, name)(*p, reduction=reduction, **k), torch.tensor,
                        *[w_ for _, w_ in ours])
            np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-13)
            got.sum().backward()
            want.sum().backward()
            for o, w_ in ours:
                if w_.grad is not None:  # torch's NaN: poisson's target gradient at 0 with full=True (README)
                    finite = np.isfinite(w_.grad.numpy())
                    assert np.all(np.isfinite(o.grad.numpy()))
                    np.testing.assert_allclose(o.grad.numpy()[finite], w_.grad.numpy()[finite], rtol=1e-10,
                                               atol=1e-12)
    for reduction in ("mean", "sum", "none"):
        (a, ta), = [_torch_pair(torch, x)]
        got, want = F.soft_margin_loss(a, f64(signs), reduction=reduction), TF.soft_margin_loss(
            ta, torch.tensor(signs), reduction=reduction)
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-13)
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-15)
        for p in (1, 2):
            for weight in (None, w):
                (a, ta), = [_torch_pair(torch, x)]
                got = F.multi_margin_loss(a, fe.tensor(cls), p, 0.7, None if weight is None else f64(weight),
                                          reduction=reduction)
                want = TF.multi_margin_loss(ta, torch.tensor(cls), p, 0.7,
                                            None if weight is None else torch.tensor(weight), reduction=reduction)
                assert tuple(got.shape) == tuple(want.shape)
                got.sum().backward()
                want.sum().backward()
                np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-13)
                np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-15)
        got = F.multi_margin_loss(f64(x[0]), fe.tensor(np.int64(2)), reduction=reduction)
        want = TF.multi_margin_loss(torch.tensor(x[0]), torch.tensor(2), reduction=reduction)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13)
