"""The training step's fast paths (issue 15): nn.Linear's direct kernel path, cross_entropy with its
default arguments, the engine's walk, the optimizer's update loop and the DataLoader's batch path must
give what the general paths give, keep every error, and never let one step change what a user kept
from the step before."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd import engine
from firstepoch.data import DataLoader, TensorDataset
from firstepoch.ops.linalg import LinearFn
from firstepoch.reference import loss as ref_loss


def _linear_case(rng, dtype, relu):
    x = rng.standard_normal((6, 5)).astype(dtype)
    w = rng.standard_normal((4, 5)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    return x, w, b, "relu" if relu else None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
def test_linear_direct_path_matches_the_general_path(rng, dtype, relu):
    x, w, b, act = _linear_case(rng, dtype, relu)
    results = []
    # C-contiguous operands take the direct path; a Fortran-ordered input and a transposed-view weight
    # take the general one (the kernel reads them through its transpose flags)
    for xa, wa in ((x, w), (np.asfortranarray(x), np.ascontiguousarray(w.T).T)):
        xt = fe.tensor(xa, requires_grad=True)
        wt = fe.tensor(wa, requires_grad=True)
        bt = fe.tensor(b, requires_grad=True)
        y = LinearFn.apply(xt, wt, bt, act)
        (y * y).sum().backward()
        results.append((y._data, xt.grad, wt.grad, bt.grad))
    expected = x @ w.T + b
    if relu:
        expected = np.maximum(expected, 0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(results[0][0], expected, rtol=tol, atol=tol)
    for fast, general in zip(results[0], results[1]):
        np.testing.assert_allclose(fast, general, rtol=tol, atol=tol)


def test_linear_direct_path_keeps_the_errors(rng):
    x = fe.tensor(rng.standard_normal((3, 5)).astype(np.float32))
    with pytest.raises(RuntimeError, match="input has 5 features"):
        LinearFn.apply(x, fe.tensor(np.zeros((4, 6), np.float32)), None, None)
    with pytest.raises(RuntimeError, match="must have the same dtype"):  # as torch
        LinearFn.apply(x, fe.tensor(np.zeros((4, 5), np.float32)), fe.tensor(np.zeros(4)), None)
    with pytest.raises(ValueError, match="bias has shape"):
        LinearFn.apply(x, fe.tensor(np.zeros((4, 5), np.float32)), fe.tensor(np.zeros(3, np.float32)), None)
    with pytest.raises(ValueError, match="activation must be"):
        LinearFn.apply(x, fe.tensor(np.zeros((4, 5), np.float32)), None, "tanh")


def test_backward_visits_siblings_first_input_first():
    # z = u + v with u = a * 2 and v = b * 3: the walk is the recursive DFS's reverse post-order, so v
    # (the later input) is reached before u, as before the walk became a flat loop
    a = fe.tensor([1.0, 2.0], requires_grad=True)
    b = fe.tensor([3.0, 4.0], requires_grad=True)
    u = a * 2
    v = b * 3
    calls = []
    u.register_hook(lambda g: calls.append("u"))
    v.register_hook(lambda g: calls.append("v"))
    (u + v).sum().backward()
    assert calls == ["v", "u"]
    order = engine.topological_order((u + v).sum())
    assert [id(t) for t in order[:2]] == [id(a), id(u)]


def test_topological_order_puts_every_node_after_its_inputs(rng):
    leaves = [fe.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(4)]
    nodes = list(leaves)
    for i in range(30):  # a random DAG with shared inputs (diamonds) and a node reached many ways
        p, q = rng.integers(0, len(nodes), 2)
        nodes.append(nodes[p] * nodes[q] if i % 2 else nodes[p] + nodes[q])
    root = sum(nodes[4:], nodes[0]).sum()
    order = engine.topological_order(root)
    position = {id(t): k for k, t in enumerate(order)}
    assert len(position) == len(order)  # each node once
    for t in order:
        for p in engine._inputs_needing_grad(t):
            assert position[id(p)] < position[id(t)]
    root.backward()
    for leaf in leaves:  # the walk reached every leaf (all are used by the sum above)
        assert leaf.grad is not None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_default_arguments_match_the_explicit_ones(rng, reduction):
    logits = rng.standard_normal((7, 5)).astype(np.float32)
    target = rng.integers(0, 5, 7)
    out = []
    for kw in ({}, {"weight": fe.tensor(np.ones(5, np.float32)), "label_smoothing": 0.0}):
        z = fe.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(z, fe.tensor(target), reduction=reduction, **kw)
        loss.sum().backward()
        out.append((loss._data, z.grad))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-6)
    expected = ref_loss.cross_entropy(logits.astype(np.float64), target, reduction=reduction)
    np.testing.assert_allclose(out[0][0], expected, rtol=1e-5, atol=1e-6)


def test_cross_entropy_mean_with_every_row_ignored_is_nan_without_warnings():
    z = fe.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(z, fe.tensor(np.full(3, -100)))
        loss.backward()
    assert np.isnan(loss.item())
    assert z.grad.shape == (3, 4)


def _mlp_step(model, opt, xb, yb):
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("set_to_none", [True, False])
def test_what_a_step_returned_is_unchanged_by_the_next_step(rng, set_to_none):
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = fe.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = fe.tensor(rng.standard_normal((5, 6)).astype(np.float32))
    y = fe.tensor(rng.integers(0, 3, 5))
    loss1 = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=set_to_none)
    loss1.backward()
    grads1 = [p.grad for p in model.parameters()]
    kept = [g.numpy().copy() for g in grads1]
    kept_loss = loss1.item()
    opt.step()
    weights1 = [p._data.copy() for p in model.parameters()]
    if set_to_none:  # zero_grad(set_to_none=False) zeroes the same arrays in place, as in PyTorch
        _mlp_step(model, opt, x, y)
        for g, k in zip(grads1, kept):
            np.testing.assert_array_equal(g, k)
        for g, p in zip(grads1, model.parameters()):
            assert not np.shares_memory(g, p.grad)
    assert loss1.item() == kept_loss
    assert all(not np.shares_memory(w, p._data) for w, p in zip(weights1, model.parameters()))


def test_gradients_accumulate_over_two_backward_calls(rng):
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = fe.tensor(rng.standard_normal((5, 6)).astype(np.float32))
    y = fe.tensor(rng.integers(0, 3, 5))
    F.cross_entropy(model(x), y).backward()
    once = [p.grad.numpy().copy() for p in model.parameters()]
    F.cross_entropy(model(x), y).backward()
    for p, g in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-6)


def test_dataloader_batches_are_fresh_tensors_of_the_dataset_dtypes(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.integers(0, 4, 10).astype(np.int32)  # int32 stays int32, as torch
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    for xb, yb in batches:
        assert isinstance(xb, fe.Tensor) and xb.dtype == np.float32 and not xb.requires_grad
        assert yb.dtype == np.int32 and xb.grad is None and xb.is_leaf
        assert not np.shares_memory(xb._data, x)
    np.testing.assert_array_equal(np.concatenate([b[0]._data for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1]._data for b in batches]), y)


# ---- one kernel call per parameter group: _C.sgd_update_many ----------------------------------------

from firstepoch import _C  # noqa: E402
from firstepoch.reference import optim as ref_optim  # noqa: E402


@pytest.mark.parametrize("momentum,nesterov,damp", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0),
                                                    (0.9, False, 0.3)])
def test_sgd_update_many_equals_one_sgd_update_per_parameter(isa, rng, momentum, nesterov, damp):
    shapes_dtypes = [((128, 7), np.float32), ((1,), np.float64), ((100_003,), np.float32), ((0,), np.float32),
                     ((3, 5), np.float64)]
    ws = [rng.standard_normal(s).astype(d) for s, d in shapes_dtypes]
    ws_one, ws_ref = [w.copy() for w in ws], [w.copy() for w in ws]
    bufs = [np.empty_like(w) for w in ws] if momentum else None
    bufs_one = [np.empty_like(w) for w in ws] if momentum else None
    bufs_ref = [np.empty_like(w) for w in ws] if momentum else None
    for step in range(3):
        grads = [rng.standard_normal(w.shape).astype(w.dtype) for w in ws]
        first = [step == 0] * len(ws)
        kw = dict(lr=0.1, momentum=momentum, dampening=damp, weight_decay=0.01, nesterov=nesterov)
        _C.sgd_update_many(ws, grads, bufs, first=first, **kw)
        for i, (w, g) in enumerate(zip(ws_one, grads)):
            _C.sgd_update(w, g, None if bufs_one is None else bufs_one[i], first=first[i], **kw)
        ref_optim.sgd_update_many(ws_ref, grads, bufs_ref, first=first, **kw)
    for w, w1, wr in zip(ws, ws_one, ws_ref):
        assert w.dtype == w1.dtype and np.array_equal(w, w1)  # the same kernel, bitwise
        tol = 1e-5 if w.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(w, wr, rtol=tol, atol=tol)
    if momentum:
        for b, b1 in zip(bufs, bufs_one):
            assert np.array_equal(b, b1)


def test_sgd_update_many_checks_every_parameter_before_it_updates_any():
    ws = [np.ones(4, np.float32), np.ones(3, np.float32)]
    bufs = [np.zeros(4, np.float32), np.zeros(3, np.float32)]
    with pytest.raises(ValueError, match=r"parameter 1: grad has shape \(2,\), w has \(3,\)"):
        _C.sgd_update_many(ws, [np.ones(4, np.float32), np.ones(2, np.float32)], bufs, lr=0.1, momentum=0.9,
                           first=[True, True])
    with pytest.raises(TypeError, match="parameter 1: grad must have dtype float32"):
        _C.sgd_update_many(ws, [np.ones(4, np.float32), np.ones(3)], bufs, lr=0.1, momentum=0.9, first=[True, True])
    with pytest.raises(ValueError, match="parameter 0: w shares memory|parameter 0: .*shares memory"):
        _C.sgd_update_many(ws, [ws[0], np.ones(3, np.float32)], bufs, lr=0.1, momentum=0.9, first=[True, True])
    with pytest.raises(ValueError, match="needs the momentum buffers"):
        _C.sgd_update_many(ws, [np.ones(4, np.float32), np.ones(3, np.float32)], None, lr=0.1, momentum=0.9,
                           first=[True, True])
    with pytest.raises(ValueError, match="one entry per parameter"):
        _C.sgd_update_many(ws, [np.ones(4, np.float32)], None, lr=0.1, first=[True, True])
    with pytest.raises(TypeError, match="parameter 1: w must be a numpy array"):
        _C.sgd_update_many([ws[0], [1.0, 2.0]], [np.ones(4, np.float32), np.ones(2, np.float32)], None, lr=0.1,
                           first=[False, False])
    for w in ws:  # nothing was updated
        np.testing.assert_array_equal(w, 1.0)
    for b in bufs:
        np.testing.assert_array_equal(b, 0.0)


def test_sgd_step_refuses_a_bad_gradient_before_it_changes_the_group():
    p = nn.Parameter(np.ones(3, np.float32))
    q = nn.Parameter(np.ones(2, np.float32))
    opt = fe.optim.SGD([p, q], lr=0.1, momentum=0.9)
    p.grad = fe.tensor(np.ones(3, np.float32))
    q._grad = fe.tensor(np.ones(2))  # float64 for a float32 parameter (past .grad's own check)
    with pytest.raises(TypeError, match=r"gradient float64 \(2,\) does not match the parameter's float32 \(2,\)"):
        opt.step()
    np.testing.assert_array_equal(p._data, 1.0)
    assert opt.state == {}  # no momentum buffer was made (its first step is still to come)
    q.grad = fe.tensor(np.ones(2, np.float32))
    opt.step()
    np.testing.assert_allclose(p._data, 0.9)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], 1.0)


def test_sgd_subclass_with_its_own_update_rule_is_still_called():
    calls = []

    class Logged(fe.optim.SGD):
        def _update(self, w, grad, state, g):
            calls.append(w.shape)
            super()._update(w, grad, state, g)

    p = nn.Parameter(np.ones(3, np.float32))
    opt = Logged([p], lr=0.5)
    p.grad = fe.tensor(np.ones(3, np.float32))
    opt.step()
    assert calls == [(3,)]
    np.testing.assert_allclose(p._data, 0.5)


@pytest.mark.parametrize("own_rule", [False, True])
def test_a_refused_sgd_step_leaves_no_unwritten_momentum_buffer(own_rule):
    """The kernel refuses a read-only parameter; the next step must not take a never-written momentum
    buffer as its history (first=False over np.empty memory)."""
    class MySGD(fe.optim.SGD):  # a subclass with its own rule: the per-parameter path
        def _update(self, w, grad, state, g):
            super()._update(w, grad, state, g)

    p = fe.nn.Parameter(fe.tensor(np.ones(4)))
    opt = (MySGD if own_rule else fe.optim.SGD)([p], lr=0.1, momentum=0.9)
    p.grad = fe.tensor(np.full(4, 2.0))
    p._data.flags.writeable = False
    with pytest.raises((ValueError, TypeError)):
        opt.step()
    assert "momentum_buffer" not in opt.state.get(p, {})
    p._data.flags.writeable = True
    opt.step()
    np.testing.assert_array_equal(p._data, np.ones(4) - 0.1 * 2.0)  # the first step: buf = grad
