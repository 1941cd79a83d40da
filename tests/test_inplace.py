"""In-place ops, version counters, item assignment and Parameter assignment, as torch (issue 16)."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn


def t64(values, requires_grad=False):
    return fe.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


def test_minus_equals_under_no_grad_changes_the_weights_and_trains():
    rng = np.random.default_rng(0)
    x = fe.tensor(rng.standard_normal((64, 3)).astype(np.float32))
    y = x @ fe.tensor(np.array([[1.0], [-2.0], [0.5]], np.float32)) + 0.3
    model = nn.Linear(3, 1)
    first = None
    for _ in range(200):
        loss = ((model(x) - y) ** 2).mean()
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with fe.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert loss.item() < 1e-4 * first
    assert isinstance(model.weight, nn.Parameter) and model.weight.is_leaf and model.weight.requires_grad
    assert [n for n, _ in model.named_parameters()] == ["weight", "bias"]
    np.testing.assert_allclose(model.weight.numpy() if not model.weight.requires_grad
                               else model.weight.detach().numpy(), [[1.0, -2.0, 0.5]], atol=1e-3)


def test_in_place_methods_write_the_same_memory_and_return_self():
    x = fe.tensor([1.0, 2.0, 3.0])
    view = x[1:]
    assert x.add_(1) is x and x.sub_(fe.tensor([1.0, 1.0, 1.0]), alpha=2) is x
    x.mul_(2).div_(4)
    np.testing.assert_allclose(x.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(view.numpy(), [0.5, 1.0])  # the view sees the change
    x.clamp_(0.25, 0.75)
    np.testing.assert_allclose(x.numpy(), [0.25, 0.5, 0.75])
    x.fill_(3)
    np.testing.assert_array_equal(x.numpy(), 3)
    x.zero_()
    np.testing.assert_array_equal(x.numpy(), 0)
    x.copy_(fe.tensor([7.0]))
    np.testing.assert_array_equal(x.numpy(), 7)
    x.normal_(generator=np.random.default_rng(1))
    y = fe.zeros(3).normal_(generator=np.random.default_rng(1))
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    x.uniform_(2, 3)
    assert ((x.numpy() >= 2) & (x.numpy() < 3)).all()


def test_dtype_rules_of_in_place_ops():
    k = fe.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        k += 1.5
    k += 2
    np.testing.assert_array_equal(k.numpy(), [3, 4])
    f = fe.tensor([1.0, 2.0])
    f += fe.tensor([1, 1])
    assert f.dtype == np.float32
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        fe.zeros(3).add_(fe.zeros(2, 3))


def test_leaf_that_requires_grad_refuses_in_place_outside_no_grad():
    w = fe.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 5.0), lambda: w.__imul__(2)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        w[0].mul_(2)
    with fe.no_grad():
        w[0] = 5.0
        w.mul_(2)
    np.testing.assert_array_equal(w.detach().numpy(), [10.0, 4.0])


def test_grad_is_a_tensor_that_zero_and_data_work_on():
    p = nn.Parameter(fe.tensor([1.0, -2.0]))
    (p * p).sum().backward()
    assert isinstance(p.grad, fe.Tensor) and p.grad.norm().item() == pytest.approx(np.sqrt(20))
    g = p.grad
    p.grad.zero_()
    assert p.grad is g and not np.asarray(g).any()
    p.data.mul_(0.5)  # through .data: not recorded, no version error later
    np.testing.assert_array_equal(p.detach().numpy(), [0.5, -1.0])
    assert p.grad.clone() is not p.grad and np.asarray(p.grad.data).shape == (2,)


def test_version_error_names_the_op():
    x = t64([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)  # exp saved its output for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*ExpFn"):
        y.sum().backward()
    w = nn.Parameter(t64([1.0, 2.0]))
    z = (w * t64([3.0, 4.0], requires_grad=True)).sum()  # mul saved w for the other input's gradient
    opt = fe.optim.SGD([w], lr=0.1)
    w.grad = fe.tensor(np.ones(2))
    opt.step()  # the optimizer changes w in place: the graph behind z is stale
    with pytest.raises(RuntimeError, match=r"\[MulFn\] input 0 .* is at version 1; expected version 0"):
        z.backward()


def test_an_unsaved_leaf_changed_under_no_grad_still_backpropagates():
    w = t64([1.0, 2.0], requires_grad=True)
    y = (w + 1).sum()  # add saves nothing
    with fe.no_grad():
        w.add_(10)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


def test_non_leaf_in_place_rebases_the_graph():
    x = t64([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(y)  # both operands are the old y
    assert y.grad_fn is not None and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * x.detach().numpy() + 1) * 2)


def test_view_of_a_non_leaf_changed_in_place_changes_its_base():
    x = t64([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[0].mul_(5)
    y[1:] += x[:2] ** 2
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [5.0, 3.0, 7.0])
    np.testing.assert_allclose(x.grad.numpy(), [5 + 2, 1 + 4, 1])
    r = (x * 1).reshape(3, 1)
    with pytest.raises(RuntimeError, match="view"):
        r.view(3).add_(1)


def test_setitem_values_and_gradients():
    m = fe.zeros(2, 3)
    m[m == 0] = 2
    m[0, :] = fe.tensor([1.0, 2.0, 3.0])
    m[:, 1] = 9
    np.testing.assert_array_equal(m.numpy(), [[1, 9, 3], [2, 9, 2]])
    counts = fe.zeros(3, dtype=fe.long)
    counts[fe.tensor([0, 2])] += 1
    np.testing.assert_array_equal(counts.numpy(), [1, 0, 1])
    counts[1] = 2.7  # cast as torch's copy_: truncated
    assert counts.tolist() == [1, 2, 1] and counts.dtype == np.int64
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        fe.zeros(2, 3).copy_(fe.ones(4))
    with pytest.raises(IndexError):
        counts[5] = 1
    x = t64([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = t64([10.0], requires_grad=True)
    y = x * 1
    y[1] = v  # broadcast: v's gradient is the sum over the row
    (y * t64([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(v.grad.numpy(), [7.0])


def test_setitem_into_a_tensor_that_does_not_require_grad_records_the_value():
    w = t64([2.0, 3.0], requires_grad=True)
    out = fe.zeros(2, 2, dtype=fe.float64)
    out[0] = w * 2
    assert out.requires_grad and not out.is_leaf
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


def test_copy_is_differentiable_to_its_source():
    src = t64([1.0, 2.0], requires_grad=True)
    dst = fe.zeros(3, 2, dtype=fe.float64)
    dst.copy_(src * 3)
    dst.sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [9.0, 9.0])


def test_assigning_a_plain_tensor_to_a_parameter_raises_as_torch():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign .*Tensor' as parameter 'weight'"):
        layer.weight = fe.zeros(2, 2)
    with fe.no_grad():
        layer.weight += 1  # __iadd__ returns the Parameter itself: still registered
    assert "weight" in layer.state_dict() and isinstance(layer.weight, nn.Parameter)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


@pytest.mark.torch_parity
def test_in_place_and_setitem_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def run(lib, tensor):
        a = tensor(a0, requires_grad=True)
        b = tensor(b0, requires_grad=True)
        y = a * 2
        y[0] += b * 3
        y[1, 2] = 5.0
        y[:, 0].mul_(b[1])
        y.sub_(b, alpha=0.5)
        y[y > 1] = 1.0
        y.clamp_(-1, 0.8)
        loss = (y * y).sum()
        loss.backward()
        return y.detach().numpy(), a.grad.numpy(), b.grad.numpy()

    ours = run(fe, lambda v, requires_grad: fe.tensor(np.array(v), requires_grad=requires_grad))
    theirs = run(torch, lambda v, requires_grad: torch.tensor(np.array(v), requires_grad=requires_grad))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_an_op_whose_array_is_a_view_of_a_kernel_buffer_is_no_view_tensor():
    # softmax's kernel hands back a view of its own buffer: an in-place change is recorded as on any
    # non-leaf, and backward then refuses because softmax saved that output (as torch does)
    a = t64(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    y = a.softmax(-1)
    assert y._data.base is not None
    y += 1
    with pytest.raises(RuntimeError, match=r"\[SoftmaxFn\] its output was overwritten by \+="):
        y.sum().backward()
    z = a.relu() * 1
    z += 1
    z.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), (a.detach().numpy() > 0).astype(np.float64))


@pytest.mark.torch_parity
def test_ops_recorded_before_an_in_place_change_see_the_old_history_as_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (fe, torch):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.0, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        x = a * a
        z = x + 1                      # recorded before the changes: its gradient goes through x's old history
        x[0] += 1
        x[1:, 1:] *= 3
        x[:, 0].mul_(w[:2])
        x[1].add_(w)
        y = x * 2
        u = y + 3                      # the same for a plain non-leaf
        y.add_(1)
        y.mul_(w)
        y.sub_(y)
        y += w * x
        ((x * x).sum() + (z * z).sum() + (u * u).sum() + (y * y).sum()).backward()
        results.append([x.detach().numpy().copy(), a.grad.numpy().copy(), w.grad.numpy().copy()])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    x = t64([1.0, 2.0], requires_grad=True)
    y = x * 1
    s = y * x          # saved y's memory
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"\[MulFn\] input 0"):
        s.sum().backward()
