"""optim.ASGD, optim.Adafactor, optim.SparseAdam, data.StackDataset and data.DistributedSampler, the
torch 2.13 names ported code reaches for. Values written out in NumPy run without torch; where torch is
installed, trajectories (float64 and float32, weight_decay and maximize), state dicts (torch's loaded
mid-run), error classes and sampler indices are compared with it."""
import math
import pickle

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import data, optim

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]  # factored (2-D, 3-D), vector and 0-d parameters


def grads_for(dtype, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return w0, grads


def run(lib, name, kw, w0, grads, resume_at=None, convert=None):
    """Steps an optimizer over grads; at resume_at a fresh one loads the state dict (through convert)."""
    ps = [lib.tensor(w.copy(), requires_grad=True) for w in w0]
    opt = getattr(lib.optim, name)(ps, **kw)
    for i, gs in enumerate(grads):
        if i == resume_at:
            sd = opt.state_dict()
            opt = getattr(lib.optim, name)(ps, **kw)
            opt.load_state_dict(convert(sd) if convert else pickle.loads(pickle.dumps(sd)))
        for p, g in zip(ps, gs):
            p.grad = lib.tensor(g.copy())
        opt.step()
    return [p.detach().numpy() for p in ps], opt


def torch_state_dict_to_numpy(torch, sd):
    """A torch optimizer state dict as firstepoch holds one: arrays, ASGD's scalar tensors eta and mu as
    NumPy scalars of their dtype, step an int (README: firstepoch's step is an int)."""
    def conv(k, v):
        if not torch.is_tensor(v):
            return v
        if k == "step":
            return int(v.item())
        return v.numpy()[()] if k in ("eta", "mu") else v.numpy().copy()
    return {"state": {i: {k: conv(k, v) for k, v in st.items()} for i, st in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


# ---- by hand, without torch ----------------------------------------------------------------------------

def test_asgd_two_steps_by_hand():
    """eta starts at lr and becomes lr / (1 + lambd lr t)^alpha as a float32, mu stays 1 before t0 (ax
    follows w), then mu = 1 / (t - t0) averages."""
    lr, lambd, alpha, t0, wd = 0.1, 0.01, 0.75, 1, 0.5
    p = fe.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.ASGD([p], lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=wd)
    w = np.array([1.0, -2.0])
    eta, mu, ax = float(np.float32(lr)), 1.0, np.zeros(2)
    for t, g in enumerate([np.array([0.5, 0.25]), np.array([-1.0, 2.0])], start=1):
        p.grad = fe.tensor(g)
        opt.step()
        g = g + wd * w
        w = w * (1 - lambd * eta) - eta * g
        ax = w.copy() if mu == 1 else ax + (w - ax) * mu
        eta = float(np.float32(lr / (1 + lambd * lr * t) ** alpha))
        mu = float(np.float32(1 / max(1, t - t0)))
    st = opt.state[p]
    assert list(st) == ["step", "eta", "mu", "ax"] and st["step"] == 2
    assert st["eta"].dtype == np.float32 and float(st["eta"]) == eta and float(st["mu"]) == mu
    np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-15)
    np.testing.assert_allclose(st["ax"], ax, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adafactor_first_step_by_hand(dtype):
    """Step 1 (beta2_t = 1): V = g^2, so U = sign(g) where |g| > eps1, RMS(U) = 1, and
    w1 = w0 (1 - lr wd) - lr max(eps2, RMS(w0)) sign(g); the state is factored for 2-D."""
    w0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], dtype)
    g = np.array([[0.5, -1.0, 2.0], [-3.0, 1.0, 0.25]], dtype)
    lr, wd = 0.05, 0.1
    p = fe.tensor(w0.copy(), requires_grad=True)
    opt = optim.Adafactor([p], lr=lr, weight_decay=wd, maximize=True)
    p.grad = fe.tensor(g)
    opt.step()
    rms = math.sqrt(float(np.mean(w0.astype(np.float64) ** 2)))
    # the factored V on step 1 is the rank-1 estimate rowmean * colmean / mean(rowmean)
    r, c = (g.astype(np.float64) ** 2).mean(1, keepdims=True), (g.astype(np.float64) ** 2).mean(0, keepdims=True)
    u = -g / np.sqrt(r * c / r.mean())
    u /= max(1.0, math.sqrt(float(np.mean(u ** 2))))
    want = w0 * (1 - lr * wd) - lr * max(1e-3, rms) * u
    assert p.dtype == dtype
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-5 if dtype == np.float32 else 1e-13)
    st = opt.state[p]
    assert list(st) == ["step", "row_var", "col_var"] and st["row_var"].shape == (2, 1)
    assert st["col_var"].shape == (1, 3) and st["row_var"].dtype == dtype


def test_adafactor_vector_and_zero_dim_keep_the_whole_variance():
    ps = [fe.tensor(np.array([1.0, 2.0]), requires_grad=True), fe.tensor(np.array(3.0), requires_grad=True)]
    opt = optim.Adafactor(ps, lr=0.1)
    ps[0].grad, ps[1].grad = fe.tensor(np.array([0.5, -0.5])), fe.tensor(np.array(-2.0))
    opt.step()
    # step 1: U = sign(g); alpha = lr * RMS(w0)
    np.testing.assert_allclose(ps[0].detach().numpy(), [1.0, 2.0] - 0.1 * math.sqrt(2.5) * np.array([1, -1]))
    np.testing.assert_allclose(ps[1].detach().numpy(), 3.0 + 0.1 * 3.0)
    assert [list(opt.state[p]) for p in ps] == [["step", "variance"]] * 2


def test_adafactor_empty_parameter_raises_as_torch():
    p = fe.zeros((0, 3), dtype=fe.float64, requires_grad=True)
    opt = optim.Adafactor([p])
    p.grad = fe.zeros((0, 3), dtype=fe.float64)
    with pytest.raises(ZeroDivisionError):
        opt.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_adam_updates_only_rows_with_a_gradient(dtype):
    """A sparse Embedding's rows that were not looked up (and its padding row) keep their values and
    moments; the bias corrections count the parameter's steps."""
    w0 = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 2.5], [4.0, 1.0], [0.0, 0.0]], dtype)
    emb = fe.nn.Embedding(5, 2, padding_idx=4, sparse=True, _weight=fe.tensor(w0.copy()), dtype=dtype)
    opt = optim.SparseAdam(emb.parameters(), lr=0.1)
    for ids in ([0, 2, 4], [2, 2]):
        opt.zero_grad()
        emb(fe.tensor(ids)).sum().backward()
        opt.step()
    w = emb.weight.detach().numpy()
    st = opt.state[emb.weight]
    assert st["step"] == 2 and w.dtype == dtype
    np.testing.assert_array_equal(w[[1, 3, 4]], w0[[1, 3, 4]])
    assert not st["exp_avg"][[1, 3, 4]].any() and not st["exp_avg_sq"][[1, 3, 4]].any()
    # row 0: one step with g = 1 (t = 1), then none: moved by lr exactly (Adam's first step)
    np.testing.assert_allclose(w[0], w0[0] - 0.1, rtol=1e-6, atol=1e-6)
    # row 2: g = 1 at t = 1 and g = 2 at t = 2
    m, v = 0.1 * 1 * 0.9 + 0.1 * 2, 0.001 * 0.999 + 0.001 * 4
    step2 = 0.1 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m / (math.sqrt(v) + 1e-8)
    np.testing.assert_allclose(w[2], w0[2] - 0.1 - step2, rtol=1e-6, atol=1e-6)
    # an all-zero gradient is skipped, its step still counted (torch's "empty grad")
    opt.zero_grad()
    emb.weight.grad = fe.zeros((5, 2), dtype=dtype)
    before = w.copy()
    opt.step()
    np.testing.assert_array_equal(emb.weight.detach().numpy(), before)
    assert opt.state[emb.weight]["step"] == 3


def test_sparse_adam_zero_dim_and_empty_parameters():
    p, e = fe.tensor(np.array(1.0), requires_grad=True), fe.zeros((0, 3), dtype=fe.float64, requires_grad=True)
    opt = optim.SparseAdam([p, e], lr=0.5, maximize=True)
    p.grad, e.grad = fe.tensor(np.array(2.0)), fe.zeros((0, 3), dtype=fe.float64)
    opt.step()
    assert p.item() == pytest.approx(1.5) and e.shape == (0, 3) and opt.state[e]["step"] == 1


@pytest.mark.parametrize("name,kw", [("ASGD", dict(t0=2, weight_decay=0.1)), ("Adafactor", dict(weight_decay=0.1)),
                                     ("SparseAdam", {})])
def test_state_dict_round_trip_resumes_the_same_trajectory(name, kw):
    """float32: load_state_dict casts ASGD's float32 eta and mu to a float64 parameter's dtype, as torch's
    does, so a resumed float64 run goes on in float64 (test_torch_state_dict_loads_mid_run)."""
    w0, grads = grads_for(np.float32)
    whole, _ = run(fe, name, kw, w0, grads)
    resumed, opt = run(fe, name, kw, w0, grads, resume_at=3)
    for a, b in zip(whole, resumed):
        np.testing.assert_array_equal(a, b)
    assert opt.param_groups[0]["maximize"] is False


def test_constructor_and_load_errors():
    p = [fe.tensor(np.ones((2, 3)), requires_grad=True)]
    for cls, kw in [(optim.ASGD, dict(lr=-1)), (optim.ASGD, dict(weight_decay=-1)),
                    (optim.Adafactor, dict(lr=-1)), (optim.Adafactor, dict(beta2_decay=0.5)),
                    (optim.Adafactor, dict(eps=(-1, 1e-3))), (optim.Adafactor, dict(eps=(None, -1))),
                    (optim.Adafactor, dict(d=0.5)), (optim.Adafactor, dict(weight_decay=-1)),
                    (optim.SparseAdam, dict(lr=0.0)), (optim.SparseAdam, dict(eps=0.0)),
                    (optim.SparseAdam, dict(betas=(1.0, 0.9))), (optim.SparseAdam, dict(betas=(0.9, -0.1)))]:
        with pytest.raises(ValueError):
            cls(p, **kw)
    optim.ASGD(p, alpha=-0.5)  # torch does not check alpha
    with pytest.raises(TypeError):
        optim.ASGD(p, foreach=True)  # README: foreach/capturable/differentiable are not taken
    opt = optim.Adafactor(p)
    p[0].grad = fe.tensor(np.ones((2, 3)))
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["row_var"] = np.zeros((2, 3))
    with pytest.raises(ValueError, match="row_var"):
        optim.Adafactor(p).load_state_dict(sd)


# ---- against torch ---------------------------------------------------------------------------------------

CONFIGS = [("ASGD", {}), ("ASGD", dict(lr=0.05, t0=2, lambd=0.01, weight_decay=0.1, maximize=True)),
           ("Adafactor", {}), ("Adafactor", dict(lr=0.3, weight_decay=0.1, maximize=True, d=1.5)),
           ("Adafactor", dict(eps=(1e-3, 1e-2), beta2_decay=-0.5))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_trajectories_match_torch(name, kw, dtype):
    torch = pytest.importorskip("torch")
    w0, grads = grads_for(dtype)
    ours, opt = run(fe, name, kw, w0, grads)
    theirs, topt = run(torch, name, kw, w0, grads)
    rtol = 1e-13 if dtype == np.float64 else 2e-5
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    for p, tp in zip(opt.param_groups[0]["params"], topt.param_groups[0]["params"]):
        st, tst = opt.state[p], topt.state[tp]
        assert list(st) == list(tst) and st["step"] == tst["step"].item()
        for k in st:
            if k != "step":
                assert np.asarray(st[k]).dtype == tst[k].numpy().dtype, k
                np.testing.assert_allclose(st[k], tst[k].numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name,kw", [CONFIGS[1], CONFIGS[3]])
def test_torch_state_dict_loads_mid_run(name, kw):
    """torch's state dict after 3 steps, loaded into firstepoch, goes on as torch's run resumed from it;
    ASGD's float32 eta/mu become float64 for float64 parameters on load, in both."""
    torch = pytest.importorskip("torch")
    w0, grads = grads_for(np.float64)
    theirs, _ = run(torch, name, kw, w0, grads, resume_at=3)
    ps = [fe.tensor(w.copy(), requires_grad=True) for w in w0]
    tps = [torch.tensor(w.copy(), requires_grad=True) for w in w0]
    topt = getattr(torch.optim, name)(tps, **kw)
    for gs in grads[:3]:
        for tp, g in zip(tps, gs):
            tp.grad = torch.tensor(g.copy())
        topt.step()
    for p, tp in zip(ps, tps):
        p.data = fe.tensor(tp.detach().numpy().copy())
    opt = getattr(optim, name)(ps, **kw)
    opt.load_state_dict(torch_state_dict_to_numpy(torch, topt.state_dict()))
    if name == "ASGD":
        assert opt.state[ps[0]]["eta"].dtype == np.float64
    for gs in grads[3:]:
        for p, g in zip(ps, gs):
            p.grad = fe.tensor(g.copy())
        opt.step()
    for p, b in zip(ps, theirs):
        np.testing.assert_allclose(p.detach().numpy(), b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("maximize", [False, True])
def test_sparse_adam_matches_torch_on_a_sparse_embedding(dtype, maximize):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((6, 3)).astype(dtype)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    te = torch.nn.Embedding(6, 3, padding_idx=5, sparse=True, _weight=torch.tensor(w0.copy()))
    fe_e = fe.nn.Embedding(6, 3, padding_idx=5, sparse=True, _weight=fe.tensor(w0.copy()), dtype=dtype)
    topt = torch.optim.SparseAdam(list(te.parameters()), lr=0.1, maximize=maximize)
    opt = optim.SparseAdam(list(fe_e.parameters()), lr=0.1, maximize=maximize)
    for ids in ([0, 1, 1], [2, 5], [0, 3], [4, 4, 0], [5]):
        weight = rng.standard_normal((len(ids), 3)).astype(dtype)
        for lib, e, o in ((torch, te, topt), (fe, fe_e, opt)):
            o.zero_grad()
            (e(lib.tensor(ids)) * lib.tensor(weight)).sum().backward()
            o.step()
    assert te.weight.grad.is_sparse and te.weight.dtype == tdt
    np.testing.assert_allclose(fe_e.weight.detach().numpy(), te.weight.detach().numpy(), rtol=1e-6 if dtype == np.float32 else 1e-15)
    tst, st = topt.state[te.weight], opt.state[fe_e.weight]
    assert list(st) == list(tst) and st["step"] == tst["step"] == 5
    # torch's state dict (step an int there too) loads as it is, arrays aside
    optim.SparseAdam(list(fe_e.parameters())).load_state_dict(torch_state_dict_to_numpy(torch, topt.state_dict()))


def test_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    cases = [("ASGD", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)), ("Adafactor", dict(beta2_decay=0.5)),
             ("Adafactor", dict(d=0.5)), ("Adafactor", dict(eps=(-1, 1e-3))), ("SparseAdam", dict(lr=0.0)),
             ("SparseAdam", dict(eps=0.0)), ("SparseAdam", dict(betas=(1.0, 0.9)))]
    for name, kw in cases:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as ours:
            getattr(optim, name)([fe.ones(2, requires_grad=True)], **kw)
        assert str(ours.value) == str(theirs.value)


# ---- StackDataset ----------------------------------------------------------------------------------------

def test_stack_dataset_tuple_and_dict_samples_and_errors():
    x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    s = data.StackDataset(data.TensorDataset(x), y)
    assert len(s) == 5
    (xi,), yi = s[3]
    np.testing.assert_array_equal(xi, [6.0, 7.0])
    assert yi == 3
    assert [b for _, b in s.__getitems__([4, 0])] == [4, 0]
    d = data.StackDataset(image=x, label=y)
    assert list(d[1]) == ["image", "label"] and d.__getitems__([2])[0]["label"] == 2
    batch = next(iter(data.DataLoader(d, batch_size=2)))
    np.testing.assert_array_equal(batch["label"].numpy(), [0, 1])
    assert data.StackDataset(np.zeros((0, 2)), []).__len__() == 0
    for args, kw in [((), {}), ((x,), dict(a=y)), ((x, y[:4]), {}), ((), dict(a=x, b=y[:2]))]:
        with pytest.raises(ValueError):
            data.StackDataset(*args, **kw)


def test_stack_dataset_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    x, y = np.arange(10.0).reshape(5, 2), list(range(5))
    ours, theirs = data.StackDataset(x, y), td.StackDataset(torch.tensor(x), y)
    for i in (0, 4, -1):
        np.testing.assert_array_equal(ours[i][0], theirs[i][0].numpy())
        assert ours[i][1] == theirs[i][1]
    assert len(ours.__getitems__([1, 3])) == len(theirs.__getitems__([1, 3]))
    for args, kw in [((), {}), ((x,), dict(a=y)), ((x, y[:4]), {})]:
        with pytest.raises(ValueError) as t:
            td.StackDataset(*args, **kw)
        with pytest.raises(ValueError) as o:
            data.StackDataset(*args, **kw)
        assert str(o.value) == str(t.value)


# ---- DistributedSampler ----------------------------------------------------------------------------------

def test_distributed_sampler_by_hand():
    s = data.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    assert list(s) == [1, 3, 0] and len(s) == 3 and s.total_size == 6  # padded with index 0
    s = data.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False, drop_last=True)
    assert list(s) == [1, 3] and len(s) == 2
    assert list(data.DistributedSampler(range(2), num_replicas=5, rank=4, shuffle=False)) == [0]  # 0 1 0 1 0
    assert list(data.DistributedSampler([], num_replicas=3, rank=2)) == []
    with pytest.raises(ValueError, match="Invalid rank 2"):
        data.DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        data.DistributedSampler(range(5), num_replicas=2, rank=-1)


def test_distributed_sampler_needs_an_initialised_world_for_defaults(monkeypatch):
    world = fe.distributed._world
    monkeypatch.setattr(world, "initialized", False)
    for kw in ({}, dict(num_replicas=2), dict(rank=0)):
        with pytest.raises(ValueError, match="not been initialized"):
            data.DistributedSampler(range(5), **kw)
    monkeypatch.setattr(world, "initialized", True)
    monkeypatch.setattr(world, "size", 3)
    monkeypatch.setattr(world, "rank", 2)
    s = data.DistributedSampler(range(7), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (3, 2, [2, 5, 1])


def test_distributed_sampler_shuffle_is_a_permutation_split_across_ranks():
    n, r = 11, 4
    for epoch in (0, 1):
        shards = []
        for rank in range(r):
            s = data.DistributedSampler(range(n), num_replicas=r, rank=rank, seed=7)
            s.set_epoch(epoch)
            shards.append(s.indices())
            assert list(s) == shards[-1].tolist() and len(s) == 3
        allidx = np.concatenate(shards)
        assert sorted(set(allidx.tolist())) == list(range(n)) and len(allidx) == 12
        orders = np.stack(shards, axis=1).ravel()  # rank k holds positions k, k + r, ...
        assert sorted(orders[:n].tolist()) == list(range(n))  # one permutation, then the padding
        np.testing.assert_array_equal(orders[n:], orders[:1])
    e0 = data.DistributedSampler(range(n), num_replicas=1, rank=0, seed=7).indices()
    s = data.DistributedSampler(range(n), num_replicas=1, rank=0, seed=7)
    s.set_epoch(1)
    assert not np.array_equal(e0, s.indices())  # set_epoch reshuffles
    np.testing.assert_array_equal(e0, data.DistributedSampler(range(n), num_replicas=1, rank=0, seed=7).indices())
    # the order firstepoch.distributed's sampler gives for (seed, epoch)
    np.testing.assert_array_equal(e0, fe.distributed.DistributedSampler(n, num_replicas=1, rank=0, seed=7).indices())


def test_distributed_sampler_indices_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler
    for n in (0, 1, 3, 7, 10):
        for r in (1, 2, 3, 4, 8):
            for drop_last in (False, True):
                for rank in range(r):
                    t = TorchSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop_last)
                    o = data.DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop_last)
                    assert list(o) == list(t) and len(o) == len(t) and o.total_size == t.total_size
                    sh = data.DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=True, drop_last=drop_last)
                    assert len(list(sh)) == len(t)
    for kw in (dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1), dict(num_replicas=0, rank=0)):
        with pytest.raises(ValueError) as t:
            TorchSampler(range(5), **kw)
        with pytest.raises(ValueError) as o:
            data.DistributedSampler(range(5), **kw)
        assert str(o.value) == str(t.value)
