"""Issue 17, optim: add_param_group, the schedules ExponentialLR .. ChainedScheduler, the optimizers
Adamax, NAdam, RAdam, and clip_grad_value_, each against PyTorch (100 steps) where it is installed and
against the written-out formula otherwise."""
import math
import pickle

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import optim
from firstepoch.optim import lr_scheduler as sched


def quadratic_grad(w):
    return (2.0 * w + 0.5).astype(w.dtype)  # gradient of sum(w^2 + 0.5 w), as tests/test_optim.py


def run(opt_cls, w0, steps=100, **kw):
    p = nn.Parameter(w0.copy())
    opt = opt_cls([p], **kw)
    for _ in range(steps):
        p.grad = fe.tensor(quadratic_grad(p._data))
        opt.step()
    return p._data


# ---- optimizers --------------------------------------------------------------------------------------

OPT_CASES = [
    ("Adamax", dict(lr=0.02)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", dict(lr=0.02)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.02)),
    ("RAdam", dict(lr=0.02, weight_decay=0.1)),
    ("RAdam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.9, 0.9))),
    ("Adadelta", dict()),  # issue 17 lists it too: already on main, checked here against torch
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kw", OPT_CASES)
def test_optimizers_match_pytorch_over_100_steps(name, kw, dtype):
    torch = pytest.importorskip("torch")
    w0 = np.linspace(-1, 1, 6).astype(dtype)
    ours = run(getattr(optim, name), w0, **kw)
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    theirs = getattr(torch.optim, name)([tp], **kw)
    for _ in range(100):
        tp.grad = torch.tensor(quadratic_grad(tp.detach().numpy()))
        theirs.step()
    assert ours.dtype == dtype
    if dtype == np.float64:
        np.testing.assert_allclose(ours, tp.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:  # float32: torch's vectorised kernels round differently by an ulp now and then (fused
        # multiply-adds), and near the minimum (w = -0.25) an adaptive step amplifies that
        np.testing.assert_allclose(ours, tp.detach().numpy(), rtol=1e-5, atol=1e-4)


def test_adamax_formula():
    w = np.linspace(-1, 1, 6)
    m, u = np.zeros(6), np.zeros(6)
    lr, b1, b2, eps, wd = 0.02, 0.9, 0.999, 1e-8, 0.1
    for t in range(1, 101):
        g = quadratic_grad(w) + wd * w
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        w = w - lr / (1 - b1 ** t) * m / u
    np.testing.assert_allclose(run(optim.Adamax, np.linspace(-1, 1, 6), lr=lr, weight_decay=wd), w, rtol=1e-12)


def test_nadam_and_radam_formulas():
    lr, b1, b2, eps, psi, wd = 0.02, 0.9, 0.999, 1e-8, 4e-3, 0.1
    w = np.linspace(-1, 1, 6)
    m, v, prod = np.zeros(6), np.zeros(6), 1.0
    for t in range(1, 101):
        g = quadratic_grad(w)
        w = w * (1 - lr * wd)  # decoupled: after the gradient was taken
        mu, mu1 = b1 * (1 - 0.5 * 0.96 ** (t * psi)), b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = float(np.float32(prod * np.float32(mu)))  # a float32 scalar, as torch's state
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d = np.sqrt(v / (1 - b2 ** t)) + eps
        w = w - lr * (1 - mu) / (1 - prod) * g / d - lr * mu1 / (1 - prod * mu1) * m / d
    got = run(optim.NAdam, np.linspace(-1, 1, 6), lr=lr, weight_decay=wd, decoupled_weight_decay=True)
    np.testing.assert_allclose(got, w, rtol=1e-12)

    w = np.linspace(-1, 1, 6)
    m, v = np.zeros(6), np.zeros(6)
    rho_inf = 2 / (1 - b2) - 1
    rectified = 0
    for t in range(1, 101):
        g = quadratic_grad(w) + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        step = m / (1 - b1 ** t)
        if rho > 5:
            rectified += 1
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            step = step * r * math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        w = w - lr * step
    assert 0 < rectified < 100  # both branches taken
    np.testing.assert_allclose(run(optim.RAdam, np.linspace(-1, 1, 6), lr=lr, weight_decay=wd), w, rtol=1e-12)


def test_new_optimizers_defaults_state_and_checks():
    torch = pytest.importorskip("torch")
    p = nn.Parameter(np.zeros(2))
    for name in ("Adamax", "NAdam", "RAdam"):
        ours, theirs = getattr(optim, name)([p]), getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        for k, v in ours.defaults.items():
            assert theirs.defaults[k] == v, (name, k)
    with pytest.raises(ValueError, match="momentum_decay"):
        optim.NAdam([p], momentum_decay=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.RAdam([p], betas=(1.0, 0.9))
    # the state keys are torch's, and a state dict round-trips mid-run
    opt = optim.NAdam([p], lr=0.1)
    p.grad = fe.tensor(np.ones(2))
    opt.step()
    assert set(opt.state_dict()["state"][0]) == {"step", "mu_product", "exp_avg", "exp_avg_sq"}
    sd = pickle.loads(pickle.dumps(opt.state_dict()))
    q = nn.Parameter(p._data.copy())
    opt2 = optim.NAdam([q], lr=0.1)
    opt2.load_state_dict(sd)
    for _ in range(3):
        p.grad, q.grad = fe.tensor(np.ones(2)), fe.tensor(np.ones(2))
        opt.step()
        opt2.step()
    # torch's load_state_dict casts the float32 mu_product to the float64 parameter's dtype, so its resumed
    # run parts from the unbroken one after the 9th digit: each of ours matches torch's own
    tp = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.NAdam([tp], lr=0.1)
    tp.grad = torch.ones(2, dtype=torch.float64)
    topt.step()
    tq = tp.detach().clone().requires_grad_()
    topt2 = torch.optim.NAdam([tq], lr=0.1)
    topt2.load_state_dict(pickle.loads(pickle.dumps(topt.state_dict())))
    for _ in range(3):
        tp.grad, tq.grad = torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
        topt.step()
        topt2.step()
    np.testing.assert_array_equal(p._data, tp.detach().numpy())
    np.testing.assert_array_equal(q._data, tq.detach().numpy())
    np.testing.assert_allclose(p._data, q._data, rtol=1e-8)


# ---- add_param_group ---------------------------------------------------------------------------------

def test_add_param_group_fills_defaults_and_refuses_duplicates():
    torch = pytest.importorskip("torch")
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = optim.Adam([a], lr=0.1, weight_decay=0.5)
    group = {"params": b, "lr": 0.01}
    opt.add_param_group(group)
    assert opt.param_groups[1] is group  # as torch: the dict itself, completed
    assert group["params"] == [b] and group["lr"] == 0.01 and group["weight_decay"] == 0.5
    tp = [torch.ones(2, requires_grad=True) for _ in range(2)]
    topt = torch.optim.Adam([tp[0]], lr=0.1, weight_decay=0.5)
    topt.add_param_group({"params": tp[1], "lr": 0.01})
    assert set(opt.param_groups[1]) == set(topt.param_groups[1]) - {"foreach", "capturable",
                                                                     "differentiable", "fused"}
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [c, a]})
    with pytest.raises(ValueError, match="more than one parameter group"):
        topt.add_param_group({"params": [torch.ones(1, requires_grad=True), tp[0]]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {c}})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([c])
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.add_param_group({"params": [c], "lr": -1.0})
    with pytest.raises(ValueError, match="more than once"):  # torch only warns here
        opt.add_param_group({"params": [c, c]})
    assert len(opt.param_groups) == 2  # the refused groups were not added
    # the new group steps with its own lr, and a scheduler made afterwards sees it
    opt.add_param_group({"params": [c], "lr": 0.2})
    s = sched.ExponentialLR(opt, gamma=0.5)
    s.step()
    assert s.get_last_lr() == pytest.approx([0.05, 0.005, 0.1])


# ---- schedulers --------------------------------------------------------------------------------------

class Warm:  # a callable object: LambdaLR saves its __dict__, as torch
    def __init__(self, n):
        self.n = n

    def __call__(self, e):
        return min(1.0, (e + 1) / self.n)


def _make(lib, name, opt):
    """The same schedule built from firstepoch's or torch's lr_scheduler module `lib`."""
    S = lambda n, **kw: getattr(lib, n)(opt, **kw)
    if name == "ExponentialLR":
        return S(name, gamma=0.95)
    if name == "MultiStepLR":
        return S(name, milestones=[10, 30, 30, 80], gamma=0.5)
    if name == "LambdaLR":
        return S(name, lr_lambda=[lambda e: 0.97 ** e, Warm(7)])
    if name == "LinearLR":
        return S(name, start_factor=0.1, end_factor=0.9, total_iters=40)
    if name == "ConstantLR":
        return S(name, factor=0.25, total_iters=13)
    if name == "CosineAnnealingWarmRestarts":
        return S(name, T_0=7, T_mult=2, eta_min=0.001)
    if name == "CosineAnnealingWarmRestarts1":
        return S("CosineAnnealingWarmRestarts", T_0=9, eta_min=0.01)
    if name == "StepLR":
        return S(name, step_size=7, gamma=0.7)
    if name == "SequentialLR":
        return lib.SequentialLR(opt, [S("LinearLR", start_factor=0.2, total_iters=10),
                                      S("ExponentialLR", gamma=0.9),
                                      S("CosineAnnealingWarmRestarts", T_0=10)], milestones=[10, 40])
    if name == "CosineAnnealingLR":
        return S(name, T_max=17, eta_min=0.002)
    if name == "ChainedCosine":
        return lib.ChainedScheduler([S("CosineAnnealingLR", T_max=23), S("ExponentialLR", gamma=0.98)])
    if name == "SequentialCosine":
        return lib.SequentialLR(opt, [S("ConstantLR", factor=0.1, total_iters=5), S("CosineAnnealingLR", T_max=30),
                                      S("StepLR", step_size=4)], milestones=[5, 70])
    if name == "ChainedScheduler":
        return lib.ChainedScheduler([S("ConstantLR", factor=0.5, total_iters=20), S("ExponentialLR", gamma=0.97),
                                     S("MultiStepLR", milestones=[50, 70]), S("StepLR", step_size=9, gamma=0.8)])
    raise AssertionError(name)


SCHEDULES = ["ExponentialLR", "MultiStepLR", "LambdaLR", "LinearLR", "ConstantLR", "CosineAnnealingWarmRestarts",
             "CosineAnnealingWarmRestarts1", "StepLR", "SequentialLR", "ChainedScheduler", "CosineAnnealingLR",
             "ChainedCosine", "SequentialCosine"]


def _two_groups(lib_optim, make_param):
    return lib_optim.SGD([{"params": [make_param()]}, {"params": [make_param()], "lr": 0.3}], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_lrs_match_pytorch_over_100_steps(name):
    torch = pytest.importorskip("torch")
    opt = _two_groups(optim, lambda: nn.Parameter(np.zeros(2)))
    topt = _two_groups(torch.optim, lambda: torch.zeros(2, requires_grad=True))
    ours, theirs = _make(sched, name, opt), _make(torch.optim.lr_scheduler, name, topt)
    for i in range(100):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15), i
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups],
                                                                   rel=1e-12, abs=1e-15), i
        topt.step()
        ours.step()
        theirs.step()


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_state_dict_resumes(name):
    """A schedule rebuilt and loaded from a state dict taken at step 37 goes on as the original did."""
    def fresh():
        return _two_groups(optim, lambda: nn.Parameter(np.zeros(2)))
    opt = fresh()
    s = _make(sched, name, opt)
    for _ in range(37):
        s.step()
    sd = s.state_dict()
    opt2 = fresh()
    s2 = _make(sched, name, opt2)
    s2.load_state_dict(sd)
    opt2.load_state_dict(opt.state_dict())  # the groups' lr (and initial_lr) travel with the optimizer
    for _ in range(60):
        s.step()
        s2.step()
        assert s2.get_last_lr() == s.get_last_lr()


def test_lambda_lr_state_dict_holds_callable_objects_only():
    opt = optim.SGD([nn.Parameter(np.zeros(1)), ], lr=1.0)
    opt.add_param_group({"params": [nn.Parameter(np.zeros(1))]})
    w = Warm(4)
    s = sched.LambdaLR(opt, [lambda e: 1.0, w])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [None, {"n": 4}]
    w.n = 99
    s.load_state_dict(sd)
    assert w.n == 4 and "lr_lambdas" in sd
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sched.LambdaLR(opt, [w])


def test_cosine_warm_restarts_fractional_epochs_match_pytorch():
    torch = pytest.importorskip("torch")
    for kw in (dict(T_0=5, T_mult=2, eta_min=0.01), dict(T_0=3)):
        opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.5)
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        ours = sched.CosineAnnealingWarmRestarts(opt, **kw)
        theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, **kw)
        for epoch in range(40):
            for i in range(4):
                e = epoch + i / 4
                ours.step(e)
                theirs.step(e)
                assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
                assert ours.last_epoch == theirs.last_epoch and ours.T_i == theirs.T_i
    with pytest.raises(ValueError, match="positive integer T_0"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="T_mult >= 1"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="non-negative epoch"):
        ours.step(-1)


PLATEAU_CASES = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=3, min_lr=0.003),
    dict(mode="min", factor=0.3, patience=0, threshold=0.01, threshold_mode="abs", min_lr=[0.0, 0.05]),
    dict(mode="max", threshold_mode="abs", patience=3, eps=0.05),
]


@pytest.mark.parametrize("kw", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_pytorch(kw):
    torch = pytest.importorskip("torch")
    opt = _two_groups(optim, lambda: nn.Parameter(np.zeros(2)))
    topt = _two_groups(torch.optim, lambda: torch.zeros(2, requires_grad=True))
    ours = sched.ReduceLROnPlateau(opt, **kw)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 20), 0.5 + 0.02 * rng.standard_normal(60),
                              np.linspace(0.5, 2, 20)])
    changes = 0
    for i, m in enumerate(metrics):
        before = ours.get_last_lr()
        ours.step(m)
        theirs.step(m)
        changes += ours.get_last_lr() != before
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), i
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == \
            (theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best), i
    assert changes > 0  # the schedule did reduce
    # resuming from a state dict
    s2 = sched.ReduceLROnPlateau(_two_groups(optim, lambda: nn.Parameter(np.zeros(2))))
    s2.load_state_dict(ours.state_dict())
    assert (s2.mode, s2.best, s2.patience, s2.mode_worse) == (ours.mode, ours.best, ours.patience, ours.mode_worse)


def test_reduce_lr_on_plateau_checks():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        sched.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="threshold mode x is unknown"):
        sched.ReduceLROnPlateau(opt, threshold_mode="x")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        sched.ReduceLROnPlateau(opt, min_lr=[0, 0])


def test_sequential_and_chained_checks():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.ExponentialLR([nn.Parameter(np.zeros(1))], 0.9)
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    other = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    a, b = sched.ExponentialLR(opt, 0.9), sched.ExponentialLR(other, 0.9)
    plateau = sched.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="at least one scheduler"):
        sched.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        sched.SequentialLR(opt, [a, a], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [a, b], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        sched.ChainedScheduler([a, plateau])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.ChainedScheduler([a, b])


def test_linear_and_constant_lr_checks_and_closed_forms():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="Constant multiplicative factor"):
        sched.ConstantLR(opt, factor=2)
    s = sched.LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=4)
    seen = [s.get_last_lr()[0]]
    for _ in range(6):
        s.step()
        seen.append(s.get_last_lr()[0])
    assert seen == pytest.approx([0.5, 0.625, 0.75, 0.875, 1.0, 1.0, 1.0])
    s = sched.MultiStepLR(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0), milestones=[2, 2, 5], gamma=0.5)
    seen = [s.get_last_lr()[0]]
    for _ in range(6):
        s.step()
        seen.append(s.get_last_lr()[0])
    assert seen == pytest.approx([1, 1, 0.25, 0.25, 0.25, 0.125, 0.125])


# ---- clip_grad_value_ --------------------------------------------------------------------------------

def test_clip_grad_value_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5)]
    ps = [nn.Parameter(np.zeros_like(a)) for a in arrays] + [nn.Parameter(np.zeros(2))]  # the last has no grad
    tps = [torch.zeros(a.shape, dtype=torch.from_numpy(a).dtype, requires_grad=True) for a in arrays]
    for p, tp, a in zip(ps, tps, arrays):
        p.grad = fe.tensor(a.copy())
        tp.grad = torch.from_numpy(a.copy())
    grad_obj = ps[0].grad
    assert nn.utils.clip_grad_value_(ps, 0.5) is None
    assert torch.nn.utils.clip_grad_value_(tps, 0.5) is None
    for p, tp in zip(ps, tps):
        np.testing.assert_array_equal(p.grad._data, tp.grad.numpy())
        assert p.grad._data.dtype == tp.grad.numpy().dtype
    assert ps[0].grad is grad_obj and ps[2].grad is None  # in place
    assert np.abs(ps[0].grad._data).max() == np.float32(0.5)
    # a single Tensor and a generator work too
    q, tq = nn.Parameter(np.zeros(3)), torch.zeros(3, dtype=torch.float64, requires_grad=True)
    q.grad, tq.grad = fe.tensor(np.array([-3.0, 0.1, 2.0])), torch.tensor([-3.0, 0.1, 2.0], dtype=torch.float64)
    nn.utils.clip_grad_value_(q, 1)
    torch.nn.utils.clip_grad_value_(tq, 1)
    np.testing.assert_array_equal(q.grad._data, tq.grad.numpy())
    nn.utils.clip_grad_value_((x for x in [q]), 0.05)
    np.testing.assert_array_equal(q.grad._data, [-0.05, 0.05, 0.05])
