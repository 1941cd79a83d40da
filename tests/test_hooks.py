"""Tensor.register_hook / retain_grad and Module.register_forward_hook (PyTorch's semantics)."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = fe.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad, 2 * y._data)      # d(sum y^2)/dy
    np.testing.assert_allclose(x.grad, 8 * x._data)
    z = x * 3.0
    (z * z).sum().backward()
    assert z.grad is None                                # not retained: freed as before


def test_retain_grad_accumulates_over_backward_calls():
    x = fe.tensor(np.ones(2), requires_grad=True)
    y = x * 1.0
    y.retain_grad()
    s = y.sum()
    s.backward(retain_graph=True)
    s.backward()
    np.testing.assert_allclose(y.grad, [2.0, 2.0])


def test_register_hook_sees_and_replaces_the_gradient():
    x = fe.tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x * 3.0
    seen = []
    handle = y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.register_hook(lambda g: g * 10.0)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad, [30.0, 30.0])     # the replaced gradient flows on
    handle.remove()
    handle.remove()                                      # a second remove does nothing
    x.grad = None
    (x * 3.0).sum().backward()                           # a new graph: no hook on its nodes
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
    assert len(seen) == 1


def test_hook_on_a_leaf_runs_before_accumulation():
    w = fe.tensor(np.array([1.0, 2.0]), requires_grad=True)
    calls = []
    w.register_hook(lambda g: calls.append(float(g.sum())))
    (w * w).sum().backward()                              # w used twice: one hook call with the total
    assert calls == [6.0]


def test_register_hook_bad_arguments():
    x = fe.tensor(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.register_hook(lambda g: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.retain_grad()
    y = fe.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="callable"):
        y.register_hook(3)
    z = y * 2.0
    z.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        z.sum().backward()


def test_forward_hook_sees_input_and_output_and_can_replace_it():
    lin = nn.Linear(3, 2)
    seen = []
    handle = lin.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
    x = fe.randn(4, 3)
    lin(x)
    assert seen == [(lin, (4, 3), (4, 2))]
    double = lin.register_forward_hook(lambda m, inputs, out: out * 2.0)
    np.testing.assert_allclose(lin(x)._data, 2 * (x._data @ lin.weight._data.T + lin.bias._data), rtol=1e-6)
    handle.remove()
    double.remove()
    lin(x)
    assert len(seen) == 2
    with pytest.raises(TypeError, match="callable"):
        lin.register_forward_hook("no")


def test_sequential_runs_linear_and_relu_separately_when_one_has_a_hook():
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    x = fe.randn(3, 4)
    fused = model(x)._data
    relu_out = []
    model[1].register_forward_hook(lambda m, i, o: relu_out.append(o._data.copy()))
    np.testing.assert_allclose(model(x)._data, fused, rtol=1e-6)
    assert len(relu_out) == 1 and relu_out[0].shape == (3, 5) and (relu_out[0] >= 0).all()
