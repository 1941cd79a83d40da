"""Optimizers: written-out update formulas, parameter groups, state dicts, schedules; PyTorch's
trajectories over 100 steps when it is installed."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import optim


def quadratic_grad(w):
    return (2.0 * w + 0.5).astype(w.dtype)  # gradient of sum(w^2 + 0.5 w)


def run(opt_cls, steps=100, **kw):
    p = nn.Parameter(np.linspace(-1, 1, 6).astype(np.float64))
    opt = opt_cls([p], **kw)
    for _ in range(steps):
        p.grad = fe.tensor(quadratic_grad(p._data))
        opt.step()
    return p._data


def test_sgd_momentum_nesterov_formula():
    w = np.linspace(-1, 1, 6)
    buf = None
    lr, m, wd = 0.1, 0.9, 0.01
    for _ in range(100):
        d = quadratic_grad(w) + wd * w
        buf = d.copy() if buf is None else m * buf + d
        w = w - lr * (d + m * buf)
    np.testing.assert_allclose(run(optim.SGD, lr=lr, momentum=m, weight_decay=wd, nesterov=True), w, rtol=1e-12)


def test_adam_and_adamw_formula():
    for decoupled in (False, True):
        w = np.linspace(-1, 1, 6)
        m = np.zeros(6)
        v = np.zeros(6)
        lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.1
        for t in range(1, 101):
            g = quadratic_grad(w)
            if decoupled:
                w = w * (1 - lr * wd)
            else:
                g = g + wd * w
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w = w - lr / (1 - b1 ** t) * m / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
        cls = optim.AdamW if decoupled else optim.Adam
        np.testing.assert_allclose(run(cls, lr=lr, weight_decay=wd), w, rtol=1e-12)


def test_rmsprop_and_adagrad_formula():
    w = np.linspace(-1, 1, 6)
    sq = np.zeros(6)
    for _ in range(100):
        g = quadratic_grad(w)
        sq = 0.99 * sq + 0.01 * g * g
        w = w - 0.01 * g / (np.sqrt(sq) + 1e-8)
    np.testing.assert_allclose(run(optim.RMSprop, lr=0.01), w, rtol=1e-12)
    w = np.linspace(-1, 1, 6)
    s = np.zeros(6)
    for _ in range(100):
        g = quadratic_grad(w)
        s += g * g
        w = w - 0.1 * g / (np.sqrt(s) + 1e-10)
    np.testing.assert_allclose(run(optim.Adagrad, lr=0.1), w, rtol=1e-12)


def test_parameter_groups_have_their_own_settings():
    a = nn.Parameter(np.ones(2, np.float32))
    b = nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 1.0}], lr=0.1)
    a.grad = fe.tensor(np.ones(2, np.float32))
    b.grad = fe.tensor(np.ones(2, np.float32))
    opt.step()
    np.testing.assert_allclose(a._data, [0.9, 0.9])
    np.testing.assert_allclose(b._data, [0.0, 0.0])
    # keys no optimizer reads are kept, as torch (timm's "lr_scale", a group's "name")
    opt = optim.SGD([{"params": [a], "name": "head", "lr_scale": 0.5}], lr=0.1)
    assert opt.param_groups[0]["name"] == "head" and opt.param_groups[0]["lr_scale"] == 0.5


def test_optimizer_state_dict_roundtrip():
    def make():
        p = nn.Parameter(np.linspace(-1, 1, 4).astype(np.float64))
        return p, optim.Adam([p], lr=0.05)

    p1, o1 = make()
    for _ in range(5):
        p1.grad = fe.tensor(quadratic_grad(p1._data))
        o1.step()
    p2, o2 = make()
    p2._data[...] = p1._data
    o2.load_state_dict(o1.state_dict())
    for _ in range(5):
        p1.grad = fe.tensor(quadratic_grad(p1._data))
        o1.step()
        p2.grad = fe.tensor(quadratic_grad(p2._data))
        o2.step()
    np.testing.assert_array_equal(p1._data, p2._data)


def test_schedulers():
    p = nn.Parameter(np.zeros(1, np.float32))
    opt = optim.SGD([p], lr=1.0)
    s = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        s.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    opt = optim.SGD([p], lr=1.0)
    s = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    for _ in range(4):
        s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    opt = optim.SGD([p], lr=1.0)
    s = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(9):
        s.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen[0] == pytest.approx(0.04) and max(seen) == pytest.approx(1.0) and seen[-1] < 1e-4


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01)),
])
def test_matches_pytorch_over_100_steps(name, kw):
    torch = pytest.importorskip("torch")
    w0 = np.linspace(-1, 1, 6)
    p = nn.Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    ours = getattr(optim, name)([p], **kw)
    theirs = getattr(torch.optim, name)([tp], **kw)
    for _ in range(100):
        p.grad = fe.tensor(quadratic_grad(p._data))
        ours.step()
        tp.grad = torch.tensor(quadratic_grad(tp.detach().numpy()))
        theirs.step()
    np.testing.assert_allclose(p._data, tp.detach().numpy(), rtol=1e-6, atol=1e-9)


# --- the fused C++ updates against the NumPy oracle, at every ISA, both dtypes ------------------

from firstepoch import _C  # noqa: E402
from firstepoch.reference import optim as ref_optim  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov,damp", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_sgd_kernel_matches_reference(isa, rng, dtype, nesterov, damp):
    for n in (1, 7, 1000, 100_003):
        w = rng.standard_normal(n).astype(dtype)
        buf = np.empty_like(w)
        w_ref, buf_ref = w.copy(), np.empty_like(w)
        for step in range(3):
            g = rng.standard_normal(n).astype(dtype)
            kw = dict(lr=0.1, momentum=0.9, dampening=damp, weight_decay=0.01, nesterov=nesterov, first=step == 0)
            _C.sgd_update(w, g, buf, **kw)
            ref_optim.sgd_update(w_ref, g, buf_ref, **kw)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(w, w_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(buf, buf_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decoupled,amsgrad", [(False, False), (True, False), (False, True)])
def test_adam_kernel_matches_reference(isa, rng, dtype, decoupled, amsgrad):
    for n in (1, 13, 70_001):
        w = rng.standard_normal(n).astype(dtype)
        state = [np.zeros_like(w) for _ in range(3)]
        w_ref = w.copy()
        state_ref = [np.zeros_like(w) for _ in range(3)]
        for step in range(1, 4):
            g = rng.standard_normal(n).astype(dtype)
            kw = dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, step=step, decoupled=decoupled)
            _C.adam_update(w, g, state[0], state[1], state[2] if amsgrad else None, **kw)
            ref_optim.adam_update(w_ref, g, state_ref[0], state_ref[1], state_ref[2] if amsgrad else None, **kw)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(w, w_ref, rtol=tol, atol=tol)


def test_optimizer_kernels_threads_bitwise(rng, threads):
    g = rng.standard_normal(300_000).astype(np.float32)
    outs = []
    for n in (1, 2):
        fe.set_num_threads(n)
        w = np.linspace(-1, 1, 300_000, dtype=np.float32)
        m, v = np.zeros_like(w), np.zeros_like(w)
        _C.adam_update(w, g, m, v, lr=0.01, step=1)
        outs.append(w)
    assert np.array_equal(outs[0], outs[1])


def test_optimizer_kernels_reject_bad_arrays():
    w = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), w has \(4,\)"):
        _C.sgd_update(w, np.zeros(3, np.float32), lr=0.1)
    with pytest.raises(TypeError, match="grad must have dtype float32"):
        _C.sgd_update(w, np.zeros(4), lr=0.1)
    with pytest.raises(ValueError, match="needs a momentum buffer"):
        _C.sgd_update(w, np.zeros(4, np.float32), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="shares memory"):
        _C.sgd_update(w, w, lr=0.1)
    with pytest.raises(ValueError, match="step counts from 1"):
        _C.adam_update(w, np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), lr=0.1, step=0)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _C.sgd_update(ro, np.zeros(4, np.float32), lr=0.1)


# ---- more written-out formulas and the Optimizer contract -----------------------------------------

def test_sgd_dampening_and_plain_formula():
    w = np.linspace(-1, 1, 6)
    buf = None
    for _ in range(100):
        d = quadratic_grad(w)
        buf = d.copy() if buf is None else 0.8 * buf + (1 - 0.3) * d  # the first step skips dampening
        w = w - 0.05 * buf
    np.testing.assert_allclose(run(optim.SGD, lr=0.05, momentum=0.8, dampening=0.3), w, rtol=1e-12)
    w = np.linspace(-1, 1, 6)
    for _ in range(100):
        w = w - 0.05 * quadratic_grad(w)
    np.testing.assert_allclose(run(optim.SGD, lr=0.05), w, rtol=1e-12)


def test_amsgrad_formula():
    w = np.linspace(-1, 1, 6)
    m, v, vmax = np.zeros(6), np.zeros(6), np.zeros(6)
    lr, b1, b2, eps = 0.05, 0.8, 0.9, 1e-8
    for t in range(1, 101):
        g = quadratic_grad(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(vmax) / math.sqrt(1 - b2 ** t) + eps)
    np.testing.assert_allclose(run(optim.Adam, lr=lr, betas=(b1, b2), amsgrad=True), w, rtol=1e-12)


def test_rmsprop_centered_momentum_and_adagrad_decay_formula():
    w = np.linspace(-1, 1, 6)
    sq, ga, buf = np.zeros(6), np.zeros(6), np.zeros(6)
    lr, a, eps, mom, wd = 0.01, 0.9, 1e-6, 0.5, 0.01
    for _ in range(100):
        g = quadratic_grad(w) + wd * w
        sq = a * sq + (1 - a) * g * g
        ga = a * ga + (1 - a) * g
        buf = mom * buf + g / (np.sqrt(sq - ga * ga) + eps)
        w = w - lr * buf
    got = run(optim.RMSprop, lr=lr, alpha=a, eps=eps, momentum=mom, centered=True, weight_decay=wd)
    np.testing.assert_allclose(got, w, rtol=1e-12)
    w = np.linspace(-1, 1, 6)
    s = np.full(6, 0.1)
    for t in range(1, 101):
        g = quadratic_grad(w) + 0.01 * w
        s += g * g
        w = w - 0.1 / (1 + (t - 1) * 0.05) * g / (np.sqrt(s) + 1e-10)
    got = run(optim.Adagrad, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1)
    np.testing.assert_allclose(got, w, rtol=1e-12)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad])
def test_float32_parameters_stay_float32_and_skip_missing_grads(cls):
    p = nn.Parameter(np.linspace(-1, 1, 5).astype(np.float32))
    q = nn.Parameter(np.ones(3, np.float32))
    opt = cls([p, q], lr=0.1)
    before = q._data.copy()
    p.grad = fe.tensor(quadratic_grad(p._data))
    opt.step()
    assert p._data.dtype == np.float32 and not np.array_equal(p._data, np.linspace(-1, 1, 5).astype(np.float32))
    np.testing.assert_array_equal(q._data, before)  # no gradient: untouched
    with pytest.raises(RuntimeError, match="different type"):  # as torch: .grad takes only a matching Tensor
        p.grad = fe.tensor(np.ones(5))
    with pytest.raises(RuntimeError, match="different size"):
        p.grad = fe.tensor(np.ones(4, np.float32))
    with pytest.raises(TypeError, match="Tensor or None but got grad of type ndarray"):
        p.grad = np.ones(5, np.float32)
    p._grad = fe.tensor(np.ones(5))  # past the setter (p.data = ... of another dtype can do it): step refuses
    with pytest.raises(TypeError, match=r"gradient float64 \(5,\) does not match the parameter's float32 \(5,\)"):
        opt.step()
    p._grad = fe.tensor(np.ones(4, np.float32))
    with pytest.raises(TypeError, match=r"gradient float32 \(4,\) does not match"):
        opt.step()


def test_optimizer_argument_errors():
    p = nn.Parameter(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="betas must be two values"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        optim.RMSprop([p], momentum=-0.1)
    with pytest.raises(ValueError, match="nesterov needs momentum"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="floating-point Tensors"):
        optim.SGD([fe.tensor(np.arange(3))], lr=0.1)


def test_zero_grad_to_none_or_zero():
    p = nn.Parameter(np.zeros(3, np.float32))
    opt = optim.SGD([p], lr=0.1)
    p.grad = fe.tensor(np.ones(3, np.float32))
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not np.asarray(g).any()
    opt.zero_grad()
    assert p.grad is None


def test_optimizer_state_dict_errors_and_group_settings():
    p = nn.Parameter(np.zeros(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = fe.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][0]["params"] == [0]
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], np.ones(3))
    sd["param_groups"][0]["lr"] = 0.5
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.5
    other = optim.SGD([nn.Parameter(np.zeros(4))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"has shape \(3,\), the parameter has \(4,\)"):
        other.load_state_dict(opt.state_dict())
    two = optim.SGD([{"params": [nn.Parameter(np.zeros(3))]}, {"params": [nn.Parameter(np.zeros(3))]}], lr=0.1)
    with pytest.raises(ValueError, match="1 parameter groups saved, this optimizer has 2"):
        two.load_state_dict(opt.state_dict())


# ---- schedulers -------------------------------------------------------------------------------------

def test_one_cycle_momentum_and_errors():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0, momentum=0.9)
    s = optim.lr_scheduler.OneCycleLR(opt, max_lr=2.0, epochs=2, steps_per_epoch=5)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 / 25)
    for _ in range(2):
        s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0) and opt.param_groups[0]["momentum"] == pytest.approx(0.85)
    for _ in range(8):
        s.step()
    with pytest.raises(ValueError, match="more than total_steps=10"):
        s.step()
    with pytest.raises(ValueError, match="give total_steps"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="cycle_momentum needs"):
        optim.lr_scheduler.OneCycleLR(optim.Adagrad([p]), max_lr=1.0, total_steps=5)


@pytest.mark.parametrize("name,opt_name,kw", [
    ("StepLR", "SGD", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", "SGD", dict(T_max=7, eta_min=0.01)),
    ("OneCycleLR", "SGD", dict(max_lr=0.5, total_steps=20)),
    ("OneCycleLR", "SGD", dict(max_lr=0.5, total_steps=20, anneal_strategy="linear", three_phase=True)),
    ("OneCycleLR", "Adam", dict(max_lr=0.5, total_steps=20, pct_start=0.25)),
])
def test_schedulers_match_pytorch(name, opt_name, kw):
    torch = pytest.importorskip("torch")
    p = nn.Parameter(np.zeros(2))
    tp = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    okw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    ours_opt = getattr(optim, opt_name)([p], **okw)
    theirs_opt = getattr(torch.optim, opt_name)([tp], **okw)
    ours = getattr(optim.lr_scheduler, name)(ours_opt, **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kw)
    for _ in range(19):
        for key in ("lr", "momentum", "betas"):
            if key in theirs_opt.param_groups[0]:
                np.testing.assert_allclose(ours_opt.param_groups[0][key], theirs_opt.param_groups[0][key],
                                           rtol=1e-12, atol=1e-15)
        theirs_opt.step()  # PyTorch warns when a scheduler steps before its optimizer
        ours.step()
        theirs.step()
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_load_state_dict_checks_everything_before_it_changes_anything():
    """The checks a checkpoint's optimizer state goes through are the optimizer's own: a refused state
    dict leaves the optimizer as it was."""
    p, q = nn.Parameter(np.zeros(3, np.float32)), nn.Parameter(np.zeros(2, np.float32))
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = fe.tensor(np.ones(3, np.float32)), fe.tensor(np.ones(2, np.float32))
    opt.step()
    good = opt.state_dict()
    before = {k: {n: np.copy(v) for n, v in st.items()} for k, st in opt.state.items()}
    bad = [({0: good["state"][0], 1: {**good["state"][1], "exp_avg": np.zeros(3, np.float32)}}, r"shape \(3,\)"),
           ({0: good["state"][0], 1: {**good["state"][1], "exp_avg": np.array(["a", "b"])}}, "not a number type"),
           ({**good["state"], 7: good["state"][0]}, "parameter 7, which no parameter group holds")]
    for state, match in bad:
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict({"state": state, "param_groups": [dict(good["param_groups"][0], lr=0.5)]})
        assert opt.param_groups[0]["lr"] == 0.1
        for k, st in opt.state.items():
            for n, v in st.items():
                np.testing.assert_array_equal(v, before[k][n])
    with pytest.raises(ValueError, match="setting 'betas'"):
        opt.load_state_dict({"state": {}, "param_groups": [dict(good["param_groups"][0], betas=[0.9])]})


def test_load_state_dict_casts_state_arrays_to_the_parameters_dtype():
    """As torch's Optimizer.load_state_dict (its state tensors take a floating parameter's dtype): the
    state of a float64 run loads into a float32 model's optimizer as float32 copies, and steps on."""
    p64 = nn.Parameter(np.arange(3.0))
    opt64 = optim.Adam([p64], lr=0.1)
    p64.grad = fe.tensor(np.array([1.0, -2.0, 0.5]))
    opt64.step()
    p32 = nn.Parameter(np.arange(3.0, dtype=np.float32))
    opt32 = optim.Adam([p32], lr=0.1)
    sd = opt64.state_dict()
    opt32.load_state_dict(sd)
    st = opt32.state[p32]
    assert st["exp_avg"].dtype == np.float32 and st["exp_avg_sq"].dtype == np.float32
    np.testing.assert_array_equal(st["exp_avg"], sd["state"][0]["exp_avg"].astype(np.float32))
    assert st["exp_avg"] is not sd["state"][0]["exp_avg"]
    p32.grad = fe.tensor(np.ones(3, np.float32))
    opt32.step()
    assert p32.data.dtype == np.float32 and opt32.state[p32]["exp_avg"].dtype == np.float32


def test_state_saved_with_a_scheduler_loads_into_a_fresh_optimizer():
    """A scheduler adds initial_lr to every group; PyTorch loads such a state into an optimizer that has
    no scheduler yet (the usual resume order), and so do we, taking initial_lr over."""
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    optim.lr_scheduler.StepLR(opt, step_size=1)
    fresh = optim.SGD([nn.Parameter(np.ones(3, np.float32))], lr=0.5, momentum=0.9)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0]["initial_lr"] == 0.1


def test_numpy_scalar_settings_round_trip():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=np.float32(0.1), momentum=np.float64(0.9))
    opt.load_state_dict(opt.state_dict())
    assert opt.param_groups[0]["lr"] == np.float32(0.1)
