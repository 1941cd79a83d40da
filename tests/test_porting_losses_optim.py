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


# ---- CyclicLR -----------------------------------------------------------------------------------------

def _momentum(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def test_cyclic_lr_triangular2_values_and_momentum():
    opt = optim.SGD([fe.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2, step_size_down=3,
                                        mode="triangular2", base_momentum=0.8, max_momentum=0.9)
    lrs, moms = [sched.get_last_lr()[0]], [_momentum(opt)[0]]
    for _ in range(11):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(_momentum(opt)[0])
    np.testing.assert_allclose(lrs, [0.1, 0.3, 0.5, 0.366666666666667, 0.233333333333333, 0.1, 0.2, 0.3,
                                     0.233333333333333, 0.166666666666667, 0.1, 0.15], rtol=1e-13)
    np.testing.assert_allclose(moms, [0.9, 0.85, 0.8, 0.833333333333333, 0.866666666666667, 0.9, 0.875, 0.85,
                                      0.866666666666667, 0.883333333333333, 0.9, 0.8875], rtol=1e-13)


def test_cyclic_lr_errors_and_state_dict():
    p = fe.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="mode is invalid"):
        optim.lr_scheduler.CyclicLR(optim.SGD([p], momentum=0.9), 0.1, 1.0, mode="sawtooth")
    with pytest.raises(ValueError, match="momentum or beta1"):
        optim.lr_scheduler.CyclicLR(optim.Rprop([p]), 0.1, 1.0)
    with pytest.raises(ValueError, match="same length as optimizer.param_groups"):
        optim.lr_scheduler.CyclicLR(optim.SGD([p], momentum=0.9), [0.1, 0.2], 1.0)
    opt = optim.Adam([p])
    sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9)
    for _ in range(4):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["_scale_fn_custom"] is None and sd["scale_mode"] == "iterations"
    opt2 = optim.Adam([fe.zeros(1, requires_grad=True)])
    again = optim.lr_scheduler.CyclicLR(opt2, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9)
    again.load_state_dict(sd)
    sched.step()
    again.step()
    assert again.get_last_lr() == sched.get_last_lr() and again.last_epoch == 5


def test_cyclic_lr_matches_torch_over_50_steps():
    torch = pytest.importorskip("torch")
    configs = [dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
               dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=7, mode="triangular2"),
               dict(base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=5, mode="exp_range", gamma=0.97,
                    base_momentum=0.7, max_momentum=0.95),
               dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"),
               dict(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)]

    def sequence(lib, opt_cls, okw, skw):
        p, q = (lib.zeros(2, requires_grad=True) for _ in range(2))
        opt = opt_cls([{"params": [p]}, {"params": [q], "lr": 0.5}], **okw)
        sched = (torch.optim if lib is torch else optim).lr_scheduler.CyclicLR(opt, **skw)
        lrs, moms = [sched.get_last_lr()], [_momentum(opt)]
        for _ in range(50):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            moms.append(_momentum(opt))
        return np.array(lrs, dtype=float), np.array(moms, dtype=float)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "optimizer.step() before lr_scheduler.step()" notes
        for name, okw in [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1))]:
            for skw in configs:
                ours = sequence(fe, getattr(optim, name), okw, skw)
                theirs = sequence(torch, getattr(torch.optim, name), okw, skw)
                np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-15, atol=0)
                np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-15, atol=0)


# ---- Rprop --------------------------------------------------------------------------------------------

C, S = [1.0, -2.0, 0.5], [1.0, 4.0, 0.25]


def _quadratic(lib, w):
    return ((w - lib.tensor(C, dtype=lib.float64)) ** 2 * lib.tensor(S, dtype=lib.float64)).sum()


def test_rprop_trajectory_and_state():
    w = f64(np.zeros(3), requires_grad=True)
    opt = optim.Rprop([w], lr=0.1)
    traj = []
    for _ in range(5):
        opt.zero_grad()
        _quadratic(fe, w).backward()
        opt.step()
        traj.append(w.detach().numpy().copy())
    np.testing.assert_allclose(traj, [[0.1, -0.1, 0.1], [0.22, -0.22, 0.22], [0.364, -0.364, 0.364],
                                      [0.5368, -0.5368, 0.5368], [0.74416, -0.74416, 0.5368]], rtol=1e-14)
    st = opt.state[w]
    assert list(st) == ["step", "prev", "step_size"] and st["step"] == 5
    sd = opt.state_dict()
    assert sd["param_groups"][0]["etas"] == (0.5, 1.2) and sd["param_groups"][0]["step_sizes"] == (1e-6, 50)
    w2 = f64(w.detach().numpy(), requires_grad=True)
    opt2 = optim.Rprop([w2], lr=0.1)
    opt2.load_state_dict(sd)
    for o, p in ((opt, w), (opt2, w2)):
        o.zero_grad()
        _quadratic(fe, p).backward()
        o.step()
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    with pytest.raises(ValueError, match="Invalid eta values"):
        optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Rprop([w], lr=-1)


def test_rprop_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(3).standard_normal(3)
    for kw in [{}, dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)), dict(maximize=True)]:
        trajs = []
        for lib, opt_cls in ((fe, optim.Rprop), (torch, torch.optim.Rprop)):
            w = lib.tensor(x0.copy(), requires_grad=True)
            opt = opt_cls([w], **kw)
            traj = []
            for _ in range(12):
                opt.zero_grad()
                loss = _quadratic(lib, w)
                (-loss if kw.get("maximize") else loss).backward()
                opt.step()
                traj.append(w.detach().numpy().copy())
            trajs.append(np.array(traj))
        np.testing.assert_allclose(trajs[0], trajs[1], rtol=1e-14, atol=1e-15)


# ---- LBFGS --------------------------------------------------------------------------------------------

def _rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def _lbfgs_run(lib, opt_cls, fn, w0, steps, **kw):
    w = lib.tensor(np.array(w0, dtype=np.float64), requires_grad=True)
    opt = opt_cls([w], **kw)
    traj = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = fn(w)
            loss.backward()
            return loss
        opt.step(closure)
        traj.append(w.detach().numpy().copy())
    return np.array(traj), opt, w


def test_lbfgs_rosenbrock_trajectories():
    expected = {None: ([[-0.96791981109613, 1.00401938958438], [-0.93333987773842, 0.90447527533096],
                        [0.53665588111606, -1.21385023084727]], 15, 15),
                "strong_wolfe": ([[-1.02761776638272, 1.05841207826566], [-0.74562037646638, 0.50928441030689],
                                  [-0.2618835239118, 0.04427255264514]], 18, 13)}
    for ls, (traj, evals, iters) in expected.items():
        got, opt, w = _lbfgs_run(fe, optim.LBFGS, _rosenbrock, [-1.2, 1.0], 3, max_iter=5, history_size=4,
                                 line_search_fn=ls)
        np.testing.assert_allclose(got, traj, rtol=1e-11, atol=1e-12)
        st = opt.state[w]
        assert (st["func_evals"], st["n_iter"]) == (evals, iters)
        assert len(st["old_dirs"]) <= 4


def test_lbfgs_state_dict_resumes_the_same_trajectory_and_errors():
    _, opt, w = _lbfgs_run(fe, optim.LBFGS, _rosenbrock, [-1.2, 1.0], 2, max_iter=4, history_size=3)
    sd = opt.state_dict()
    assert sd["state"][0]["old_dirs"][0] is not opt.state[w]["old_dirs"][0]
    w2 = f64(w.detach().numpy(), requires_grad=True)
    opt2 = optim.LBFGS([w2], max_iter=4, history_size=3)
    opt2.load_state_dict(sd)
    for o, p in ((opt, w), (opt2, w2)):
        def closure(o=o, p=p):
            o.zero_grad()
            loss = _rosenbrock(p)
            loss.backward()
            return loss
        o.step(closure)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    with pytest.raises(ValueError, match="LBFGS state"):
        optim.LBFGS([f64(np.zeros(3), requires_grad=True)], max_iter=4, history_size=3).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [w2]}])
    with pytest.raises(TypeError):
        opt.step()
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        _lbfgs_run(fe, optim.LBFGS, _rosenbrock, [-1.2, 1.0], 1, line_search_fn="armijo")
    # already optimal: one evaluation, no change
    w3 = f64([1.0, 1.0], requires_grad=True)
    opt3 = optim.LBFGS([w3])
    calls = []

    def closure():
        calls.append(1)
        opt3.zero_grad()
        loss = _rosenbrock(w3)
        loss.backward()
        return loss
    assert opt3.step(closure).item() == 0.0 and len(calls) == 1
    np.testing.assert_array_equal(w3.detach().numpy(), [1.0, 1.0])


def test_lbfgs_matches_torch_on_least_squares_and_rosenbrock():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((8, 3)), rng.standard_normal(8)

    def least_squares(w):
        lib = torch if isinstance(w, torch.Tensor) else fe
        r = lib.tensor(A) @ w - lib.tensor(b)
        return (r * r).sum()
    cases = [(least_squares, np.zeros(3), {}), (least_squares, np.zeros(3), dict(line_search_fn="strong_wolfe")),
             (_rosenbrock, [-1.2, 1.0], dict(max_iter=5, history_size=3)),
             (_rosenbrock, [-1.2, 1.0], dict(max_iter=5, history_size=3, line_search_fn="strong_wolfe")),
             (_rosenbrock, [-1.2, 1.0], dict(lr=0.5, max_iter=7, line_search_fn="strong_wolfe"))]
    for fn, w0, kw in cases:
        ours, o1, w1 = _lbfgs_run(fe, optim.LBFGS, fn, w0, 6, **kw)
        theirs, o2, w2 = _lbfgs_run(torch, torch.optim.LBFGS, fn, w0, 6, **kw)
        # dot products summed in another order differ in the last bit; the line search can amplify that
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-9)
        assert o1.state[w1]["func_evals"] == o2.state[w2]["func_evals"]
        assert o1.state[w1]["n_iter"] == o2.state[w2]["n_iter"]
