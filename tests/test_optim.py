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
        p.grad = quadratic_grad(p.data)
        opt.step()
    return p.data


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
    a.grad = np.ones(2, np.float32)
    b.grad = np.ones(2, np.float32)
    opt.step()
    np.testing.assert_allclose(a.data, [0.9, 0.9])
    np.testing.assert_allclose(b.data, [0.0, 0.0])
    with pytest.raises(ValueError, match="unknown options"):
        optim.SGD([{"params": [a], "lrr": 1}], lr=0.1)


def test_optimizer_state_dict_roundtrip():
    def make():
        p = nn.Parameter(np.linspace(-1, 1, 4).astype(np.float64))
        return p, optim.Adam([p], lr=0.05)

    p1, o1 = make()
    for _ in range(5):
        p1.grad = quadratic_grad(p1.data)
        o1.step()
    p2, o2 = make()
    p2.data[...] = p1.data
    o2.load_state_dict(o1.state_dict())
    for _ in range(5):
        p1.grad = quadratic_grad(p1.data)
        o1.step()
        p2.grad = quadratic_grad(p2.data)
        o2.step()
    np.testing.assert_array_equal(p1.data, p2.data)


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
        p.grad = quadratic_grad(p.data)
        ours.step()
        tp.grad = torch.tensor(quadratic_grad(tp.detach().numpy()))
        theirs.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-6, atol=1e-9)
