"""nn: registration, state dicts (and their errors), Linear's fused epilogue, Sequential, Dropout, init,
and PyTorch weights giving PyTorch's outputs."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(8, 8), nn.Tanh())
        self.fc2 = nn.Linear(8, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.body(self.fc1(x)))


def test_parameters_are_registered_with_pytorch_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "body.1.weight", "body.1.bias", "fc2.weight"]
    assert net.fc1.weight.shape == (8, 4) and len(list(net.parameters())) == 5
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Sequential", "Linear"]
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_roundtrip_and_errors():
    fe.manual_seed(0)
    a, b = Net(), Net()
    x = fe.randn(5, 4)
    assert not np.allclose(a(x).data, b(x).data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    sd = a.state_dict()
    sd["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match="unexpected keys: \\['extra'\\]"):
        b.load_state_dict(sd)
    del sd["extra"], sd["fc2.weight"]
    with pytest.raises(KeyError, match="missing keys: \\['fc2.weight'\\]"):
        b.load_state_dict(sd)
    sd = a.state_dict()
    sd["fc1.weight"] = np.zeros((4, 8), np.float32)
    before = b.fc1.bias.data.copy()
    sd["fc1.bias"] = np.ones(8, np.float32)
    with pytest.raises(ValueError, match=r"'fc1.weight' has shape \(4, 8\).*expects \(8, 4\)"):
        b.load_state_dict(sd)
    np.testing.assert_array_equal(b.fc1.bias.data, before)  # a failed load changes nothing


def test_zero_grad():
    net = Net()
    net(fe.randn(2, 4)).sum().backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matches_numpy_and_gradients(rng, dtype):
    lin = nn.Linear(7, 5, dtype=dtype)
    x = fe.tensor(rng.standard_normal((6, 7)).astype(dtype), requires_grad=True)
    y = lin(x)
    want = x.data @ lin.weight.data.T + lin.bias.data
    np.testing.assert_allclose(y.data, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    g = rng.standard_normal((6, 5)).astype(dtype)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g @ lin.weight.data, rtol=1e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(lin.weight.grad, g.T @ x.data, rtol=1e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(lin.bias.grad, g.sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_sequential_fuses_linear_relu_with_the_same_result(rng):
    fe.manual_seed(3)
    seq = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 2))
    x = fe.tensor(rng.standard_normal((4, 6)), dtype=np.float32)
    fused = seq(x)
    unfused = seq[2](seq[1](seq[0](x)))
    np.testing.assert_allclose(fused.data, unfused.data, rtol=1e-6)
    fused.sum().backward()
    g_fused = seq[0].weight.grad.copy()
    seq.zero_grad()
    unfused.sum().backward()
    np.testing.assert_allclose(g_fused, seq[0].weight.grad, rtol=1e-5)


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"input has 3 features \(shape \(2, 3\)\), weight expects 4"):
        nn.Linear(4, 2)(fe.zeros(2, 3))


def test_dropout_train_and_eval():
    fe.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fe.ones(1000, 100)
    y = d(x).data
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_init_statistics():
    fe.manual_seed(0)
    w = nn.Parameter(np.empty((400, 300), np.float32))
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.data.std() - math.sqrt(2 / 300)) < 0.01 * math.sqrt(2 / 300) * 10
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 700)
    assert w.data.max() <= bound and w.data.min() >= -bound and w.data.max() > 0.95 * bound
    lin = nn.Linear(300, 10)
    assert np.abs(lin.weight.data).max() <= 1 / math.sqrt(300) + 1e-7


def test_clip_grad_norm():
    p = nn.Parameter(np.zeros(4, np.float32))
    p.grad = np.array([3.0, 4.0, 0.0, 0.0], np.float32)
    norm = nn.utils.clip_grad_norm_([p], 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(np.linalg.norm(p.grad), 1.0, rtol=1e-5)


def test_pytorch_state_dict_gives_pytorch_outputs(rng):
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    ours = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    ours.load_state_dict(tnet.state_dict())
    x = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(fe.tensor(x)).data, tnet(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    loss = F.cross_entropy(ours(fe.tensor(x)), np.array([0, 1, 2, 1]))
    tloss = torch.nn.functional.cross_entropy(tnet(torch.tensor(x)), torch.tensor([0, 1, 2, 1]))
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    np.testing.assert_allclose(ours[0].weight.grad, tnet[0].weight.grad.numpy(), rtol=1e-4, atol=1e-6)
