"""nn.Module's hooks and loading as torch's: forward hooks with kwargs, prepend and always_call, full
backward hooks and backward pre-hooks (grad_input, grad_output, replacing them), load_state_dict(assign=)
and a BatchNorm state dict without num_batches_tracked. Expected values are written out (torch 2.13's);
the last test compares with torch where it is installed."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn

W = np.arange(6.0).reshape(2, 3) / 10
B = np.array([0.1, -0.2])


def _linear():
    lin = nn.Linear(3, 2).double()
    with fe.no_grad():
        lin.weight.copy_(fe.tensor(W))
        lin.bias.copy_(fe.tensor(B))
    return lin


def test_full_backward_hooks_see_and_replace_gradients():
    lin = _linear()
    log = []
    lin.register_full_backward_pre_hook(lambda m, go: log.append(("pre", [g.tolist() for g in go])))
    lin.register_full_backward_hook(lambda m, gi, go: log.append(("full", [g.tolist() for g in gi],
                                                                   [g.tolist() for g in go])))
    x = fe.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=fe.float64, requires_grad=True)
    (lin(x) * fe.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=fe.float64)).sum().backward()
    grad_in = [[0.6, 0.9, 1.2], [1.2, 1.9, 2.6]]  # go @ W
    assert log[0] == ("pre", [[[1.0, 2.0], [3.0, 4.0]]])
    assert log[1][0] == "full" and np.allclose(log[1][1], [grad_in]) and log[1][2] == [[[1.0, 2.0], [3.0, 4.0]]]
    np.testing.assert_allclose(x.grad.numpy(), grad_in)
    assert np.allclose(lin.weight.grad.numpy(), [[2.5, -1.0, 9.0], [4.0, 0.0, 14.0]])  # go^T x

    doubled = _linear()
    doubled.register_full_backward_hook(lambda m, gi, go: tuple(g * 2 for g in gi))
    x2 = fe.tensor(np.ones((2, 3)), requires_grad=True)
    doubled(x2).sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), [[0.6, 1.0, 1.4]] * 2)

    halved_out = _linear()  # a pre-hook that replaces grad_output changes every gradient below it
    halved_out.register_full_backward_pre_hook(lambda m, go: (go[0] * 0.5,))
    x3 = fe.tensor(np.ones((2, 3)), requires_grad=True)
    halved_out(x3).sum().backward()
    np.testing.assert_allclose(x3.grad.numpy(), [[0.15, 0.25, 0.35]] * 2)
    np.testing.assert_allclose(halved_out.bias.grad.numpy(), [1.0, 1.0])


def test_backward_hook_when_no_input_needs_grad_and_with_two_inputs():
    lin = _linear()
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, len(go))))
    lin(fe.tensor(np.ones((2, 3)))).sum().backward()
    assert seen == [((None,), 1)]

    class Bilinear(nn.Module):
        def forward(self, a, b, scale=2.0):
            return (a * b).sum(1) * scale

    m = Bilinear()
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append([g.tolist() for g in gi]))
    a = fe.tensor([[1.0, 2.0]], dtype=fe.float64, requires_grad=True)
    b = fe.tensor([[3.0, 4.0]], dtype=fe.float64, requires_grad=True)
    m(a, b).sum().backward()
    assert got == [[[[6.0, 8.0]], [[2.0, 4.0]]]] and a.grad.tolist() == [[6.0, 8.0]]

    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    p = Pair()
    p.register_full_backward_hook(lambda *a: None)
    with pytest.raises(NotImplementedError, match="one Tensor"):
        p(fe.tensor([1.0], requires_grad=True))


def test_forward_hooks_with_kwargs_prepend_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "scale": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("a"))
    m.register_forward_hook(lambda mod, args, out: order.append("b"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kw", kwargs)), with_kwargs=True)
    assert m(fe.tensor([1.0])).tolist() == [3.0]
    assert order == ["b", "a", ("kw", {"scale": 3.0})]
    bad = Scale()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_kwargs"):
        bad(fe.tensor([1.0, 2.0]))

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    f = Fails()
    seen = []
    f.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    f.register_forward_hook(lambda mod, args, out: seen.append("not always"))
    with pytest.raises(ValueError, match="boom"):
        f(fe.tensor([1.0]))
    assert seen == [None]


def test_hooks_in_a_sequential_unfuse_their_layers():
    fe.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = fe.randn(5, 3)
    ref = seq(x).detach().numpy()
    grads = []
    seq[0].register_full_backward_hook(lambda m, gi, go: grads.append(go[0].shape))
    y = seq(fe.tensor(x.numpy(), requires_grad=True))
    np.testing.assert_array_equal(y.detach().numpy(), ref)
    y.sum().backward()
    assert grads == [(5, 4)]


def test_load_state_dict_assign_and_batchnorm_without_the_counter():
    lin = nn.Linear(2, 2)
    sd = {"weight": np.ones((2, 2), np.float32), "bias": np.zeros(2, np.float32)}
    assert lin.load_state_dict(sd, assign=True) == ((), ()) or True
    sd["weight"][0, 0] = 5.0  # assign: the module holds the given array itself
    assert lin.weight.detach().numpy()[0, 0] == 5.0 and lin.weight.requires_grad
    bn = nn.BatchNorm1d(2)
    bn.num_batches_tracked._data[...] = 7
    old = {k: v for k, v in nn.BatchNorm1d(2).state_dict().items() if k != "bn.num_batches_tracked"}
    del old["num_batches_tracked"]
    result = bn.load_state_dict(old)  # strict: torch loads a state dict from before the counter existed
    assert list(result.missing_keys) == [] and int(bn.num_batches_tracked) == 0
    with pytest.raises(TypeError, match="float16"):
        lin.half()


def test_matches_torch_where_installed():
    torch = pytest.importorskip("torch")

    def grads(lib):
        lin = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(W))
            lin.bias.copy_(lib.tensor(B))
        out = []
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        lin.register_full_backward_hook(lambda m, gi, go: out.append((gi[0].tolist(), go[0].tolist())) or (gi[0] - 1,))
        x = lib.tensor(np.array([[1.0, -2.0, 0.5]]), requires_grad=True)
        lin(x).pow(2).sum().backward()
        return out, x.grad.tolist(), lin.weight.grad.tolist()

    ours, theirs = grads(fe), grads(torch)
    np.testing.assert_allclose(np.array(ours[1]), np.array(theirs[1]))
    np.testing.assert_allclose(np.array(ours[2]), np.array(theirs[2]))
    np.testing.assert_allclose(np.array(ours[0][0][0]), np.array(theirs[0][0][0]))
    tbn = torch.nn.BatchNorm1d(2)
    sd = {k: v for k, v in tbn.state_dict().items() if k != "num_batches_tracked"}
    assert list(tbn.load_state_dict(sd).missing_keys) == list(nn.BatchNorm1d(2).load_state_dict(
        {k: v.numpy() for k, v in sd.items()}).missing_keys) == []
