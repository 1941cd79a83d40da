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
    assert not np.allclose(a(x)._data, b(x)._data)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x)._data, b(x)._data)
    sd = a.state_dict()
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        b.load_state_dict(sd)
    del sd["extra"], sd["fc2.weight"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "fc2.weight"'):
        b.load_state_dict(sd)
    sd = a.state_dict()
    sd["fc1.weight"] = np.zeros((4, 8), np.float32)
    before = b.fc1.bias._data.copy()
    sd["fc1.bias"] = np.ones(8, np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight: copying a param with shape \(4, 8\) from "
                                           r"checkpoint, the shape in current model is \(8, 4\)"):
        b.load_state_dict(sd)
    np.testing.assert_array_equal(b.fc1.bias._data, before)  # a failed load changes nothing


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
    want = x._data @ lin.weight._data.T + lin.bias._data
    np.testing.assert_allclose(y._data, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    g = rng.standard_normal((6, 5)).astype(dtype)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g @ lin.weight._data, rtol=1e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(lin.weight.grad, g.T @ x._data, rtol=1e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(lin.bias.grad, g.sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_sequential_fuses_linear_relu_with_the_same_result(rng):
    fe.manual_seed(3)
    seq = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 2))
    x = fe.tensor(rng.standard_normal((4, 6)), dtype=np.float32)
    fused = seq(x)
    unfused = seq[2](seq[1](seq[0](x)))
    np.testing.assert_allclose(fused._data, unfused._data, rtol=1e-6)
    fused.sum().backward()
    g_fused = seq[0].weight.grad.numpy().copy()
    seq.zero_grad()
    unfused.sum().backward()
    np.testing.assert_allclose(g_fused, seq[0].weight.grad, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", ["linear", "conv"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_fused_relu_gradient_is_zero_where_clamped_even_for_nan_and_inf(rng, dtype, layer, create_graph):
    # torch's ReLU backward is where(y > 0, grad, 0): NaN or inf arriving where the output was clamped
    # gives 0 there, not NaN (grad * 0). The layer with the ReLU in its kernel must give the unfused bits.
    fe.manual_seed(5)
    if layer == "linear":
        seq = nn.Sequential(nn.Linear(6, 9, dtype=dtype), nn.ReLU())
        x = rng.standard_normal((4, 6)).astype(dtype)
    else:
        seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, dtype=dtype), nn.ReLU())
        x = rng.standard_normal((2, 3, 5, 5)).astype(dtype)

    def grads(fused):
        X = fe.tensor(x, requires_grad=True)
        y = seq(X) if fused else seq[1](seq[0](X))
        g = np.ones(y.shape, dtype)
        clamped = np.flatnonzero(y._data.reshape(-1) <= 0)
        assert clamped.size >= 3
        g.reshape(-1)[clamped[:3]] = [np.nan, np.inf, -np.inf]
        out = fe.autograd.grad(y, [X, *seq.parameters()], fe.tensor(g), create_graph=create_graph)
        return [np.asarray(o._data if isinstance(o, fe.Tensor) else o) for o in out]

    for f, u in zip(grads(True), grads(False)):
        assert np.isfinite(u).all()
        assert np.array_equal(f, u)


def test_linear_shape_error():
    with pytest.raises(RuntimeError, match=r"input has 3 features \(shape \(2, 3\)\), weight expects 4"):
        nn.Linear(4, 2)(fe.zeros(2, 3))


def test_dropout_train_and_eval():
    fe.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fe.ones(1000, 100)
    y = d(x)._data
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
    assert abs(w._data.std() - math.sqrt(2 / 300)) < 0.01 * math.sqrt(2 / 300) * 10
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 700)
    assert w._data.max() <= bound and w._data.min() >= -bound and w._data.max() > 0.95 * bound
    lin = nn.Linear(300, 10)
    assert np.abs(lin.weight._data).max() <= 1 / math.sqrt(300) + 1e-7


def test_clip_grad_norm():
    p = nn.Parameter(np.zeros(4, np.float32))
    p.grad = fe.tensor(np.array([3.0, 4.0, 0.0, 0.0], np.float32))
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


# ---- Module mechanics -----------------------------------------------------------------------------

def test_module_buffers_shared_parameters_and_requires_grad():
    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.register_buffer("count", np.zeros((), np.int64))
            self.tied = self.lin.weight  # the same Parameter twice: listed once, as in PyTorch

    m = WithBuffer()
    # PyTorch's names and order: a module's own entries first; state_dict lists a tied weight twice
    assert [n for n, _ in m.named_parameters()] == ["tied", "lin.bias"]
    assert list(m.state_dict()) == ["tied", "count", "lin.weight", "lin.bias"]
    sd = m.state_dict()
    sd["count"] = np.array(7, np.int64)
    m.load_state_dict(sd)
    assert int(m.count) == 7
    m.lin.register_parameter("bias", None)
    assert [n for n, _ in m.named_parameters()] == ["tied"] and m.lin.bias is None
    m.requires_grad_(False)
    assert not m.lin.weight.requires_grad
    assert [n for n, _ in m.named_modules()] == ["", "lin"]
    assert "Linear(in_features=3, out_features=2, bias=True)" in repr(nn.Sequential(nn.Linear(3, 2)))


def test_setattr_before_init_is_a_clear_error():
    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match="super\\(\\).__init__\\(\\)"):
        Forgot()


def test_state_dict_is_a_copy_and_dtype_mismatch_is_an_error():
    lin = nn.Linear(3, 2)
    sd = lin.state_dict()
    sd["weight"][...] = 5
    assert not np.any(lin.weight._data == 5)
    sd["weight"] = sd["weight"].astype(np.float64)
    with pytest.raises(TypeError, match="'weight' has dtype float64 in the state dict, the model expects float32"):
        lin.load_state_dict(sd)
    sd = lin.state_dict()
    del sd["bias"]
    sd["other"] = np.zeros(2, np.float32)
    missing, unexpected = lin.load_state_dict(sd, strict=False)
    assert missing == ["bias"] and unexpected == ["other"]


def test_zero_grad_in_place_keeps_the_arrays():
    lin = nn.Linear(3, 2)
    lin(fe.randn(4, 3)).sum().backward()
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and not g.any()


# ---- Linear ---------------------------------------------------------------------------------------

def test_linear_gradcheck_through_the_module(rng):
    from firstepoch.autograd import gradcheck
    lin = nn.Linear(4, 3, dtype=np.float64)
    x = fe.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    gradcheck(lambda x, w, b: F.linear(x, w, b), [x, lin.weight, lin.bias])
    gradcheck(lambda x, w, b: F.linear_relu(x, w, b), [x, lin.weight, lin.bias])
    assert lin(x).shape == (2, 5, 3)


def test_linear_reads_strided_inputs_and_frozen_weights(rng):
    lin = nn.Linear(5, 3, dtype=np.float64)
    lin.weight.requires_grad = False
    base = rng.standard_normal((5, 8))
    x = fe.tensor(base, requires_grad=True).transpose(0, 1)  # (8, 5), a transposed view
    y = lin(x)
    np.testing.assert_allclose(y._data, base.T @ lin.weight._data.T + lin.bias._data, rtol=1e-12)
    y.sum().backward()
    assert lin.weight.grad is None
    np.testing.assert_allclose(lin.bias.grad, np.full(3, 8.0))
    empty = lin(fe.zeros(0, 5, dtype=np.float64))
    assert empty.shape == (0, 3)


def test_linear_bad_inputs():
    lin = nn.Linear(4, 2)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        lin(fe.zeros(2, 4, dtype=np.float64))
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        nn.Linear(2, 2, dtype=np.int64)
    with pytest.raises(RuntimeError, match="features must be >= 0"):  # torch's class
        nn.Linear(-1, 2)
    with pytest.raises(RuntimeError, match=r"bias has shape \(3,\), expected \(2,\)"):  # as torch
        F.linear(fe.zeros(1, 4), lin.weight, fe.zeros(3))


def test_linear_default_init_matches_pytorchs_bounds():
    fe.manual_seed(1)
    a = nn.Linear(50, 20)
    fe.manual_seed(1)
    b = nn.Linear(50, 20)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)  # seeded through manual_seed
    bound = 1 / math.sqrt(50)
    for p in (a.weight._data, a.bias._data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound


# ---- Sequential, activations, Flatten, losses -----------------------------------------------------

def test_sequential_indexing_slicing_and_errors():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(TypeError, match="function is not a Module subclass"):
        nn.Sequential(nn.ReLU(), F.relu)


@pytest.mark.parametrize("module,fn", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(0)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Flatten(), lambda x: x.reshape(len(x), -1)),
    (nn.Identity(), lambda x: x),
])
def test_parameter_free_modules_match_their_formulas(rng, module, fn):
    x = rng.standard_normal((3, 4))
    t = fe.tensor(x, requires_grad=True)
    y = module(t)
    tol = 1e-6 if isinstance(module, nn.GELU) and module.approximate == "none" else 1e-10  # erf to float32 precision
    np.testing.assert_allclose(y._data, fn(x), rtol=tol, atol=tol * 1e-2)


def test_flatten_ranges():
    x = fe.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)


def test_gelu_rejects_unknown_approximation():
    gelu = nn.GELU("fast")  # as torch: constructed, refused at forward with a RuntimeError
    with pytest.raises(RuntimeError, match="approximate argument must be"):
        gelu(fe.zeros(2))


def test_loss_modules_are_the_functional_forms(rng):
    logits = fe.tensor(rng.standard_normal((6, 4)))
    labels = np.array([0, 3, 1, 2, 3, 0])
    pred = fe.tensor(rng.standard_normal((6, 4)))
    target = fe.tensor(rng.random((6, 4)))
    pairs = [
        (nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels), F.cross_entropy(logits, labels, label_smoothing=0.1)),
        (nn.NLLLoss(reduction="sum")(F.log_softmax(logits, 1), labels),
         F.nll_loss(F.log_softmax(logits, 1), labels, reduction="sum")),
        (nn.MSELoss()(pred, target), ((pred._data - target._data) ** 2).mean()),
        (nn.L1Loss(reduction="sum")(pred, target), np.abs(pred._data - target._data).sum()),
        (nn.BCEWithLogitsLoss()(pred, target),
         np.mean(np.logaddexp(0, pred._data) - target._data * pred._data)),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.item(), getattr(want, "data", want), rtol=1e-6)


# ---- Dropout --------------------------------------------------------------------------------------

def test_dropout_is_seeded_and_its_gradient_is_the_mask():
    x = fe.ones(50, 40, requires_grad=True)
    fe.manual_seed(7)
    y1 = nn.Dropout(0.5)(x)
    fe.manual_seed(7)
    y2 = F.dropout(x, 0.5)
    np.testing.assert_array_equal(y1._data, y2._data)
    y1.sum().backward()
    np.testing.assert_array_equal(x.grad, y1._data)  # d(sum)/dx = mask / (1 - p) = y for x = 1
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0)._data.any()
    with pytest.raises(ValueError, match="p must be in"):
        F.dropout(x, -0.1)


# ---- init -----------------------------------------------------------------------------------------

def test_init_fills_and_errors():
    w = nn.Parameter(np.empty((200, 100), np.float64))
    fe.manual_seed(0)
    nn.init.uniform_(w, -2, 3)
    assert w._data.min() >= -2 and w._data.max() < 3 and abs(w._data.mean() - 0.5) < 0.05
    nn.init.normal_(w, 1.0, 0.5)
    assert abs(w._data.mean() - 1.0) < 0.01 and abs(w._data.std() - 0.5) < 0.01
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w._data.std() - 2.0 * math.sqrt(2 / 300)) < 0.02 * 2.0 * math.sqrt(2 / 300)
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(w._data).max() <= bound and np.abs(w._data).max() > 0.99 * bound
    nn.init.zeros_(w)
    assert not w._data.any()
    nn.init.ones_(w)
    assert (w._data == 1).all()
    nn.init.constant_(w, 0.25)
    assert (w._data == 0.25).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
    with pytest.raises(ValueError, match="mode must be"):
        nn.init.kaiming_normal_(w, mode="fan")
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        nn.init.calculate_gain("swish")


def test_init_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None), ("selu", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


# ---- clip_grad_norm_ ------------------------------------------------------------------------------

def test_clip_grad_norm_over_several_parameters_and_inf_norm():
    a = nn.Parameter(np.zeros(2, np.float32))
    b = nn.Parameter(np.zeros((2, 2), np.float32))
    c = nn.Parameter(np.zeros(1, np.float32))  # no gradient: ignored
    a.grad = fe.tensor(np.array([3.0, 0.0], np.float32))
    b.grad = fe.tensor(np.array([[0.0, 4.0], [0.0, 0.0]], np.float32))
    assert nn.utils.clip_grad_norm_([a, b, c], 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(a.grad, [3.0, 0.0])  # under the limit: untouched
    assert nn.utils.clip_grad_norm_([a, b], 2.0, norm_type=math.inf) == pytest.approx(4.0)
    np.testing.assert_allclose(b.grad.max(), 2.0, rtol=1e-5)
    np.testing.assert_allclose(a.grad[0], 1.5, rtol=1e-5)
    a.grad.numpy()[0] = np.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = fe.tensor(g), torch.tensor(g)
    for norm_type in (2.0, 1.0, math.inf):
        n1 = nn.utils.clip_grad_norm_(ours, 0.5, norm_type=norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
        assert n1 == pytest.approx(float(n2), rel=1e-5)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-5)


# ---- a whole training step against PyTorch ---------------------------------------------------------

def test_training_steps_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 3)).double()
    ours = nn.Sequential(nn.Linear(6, 16, dtype=np.float64), nn.ReLU(), nn.Linear(16, 8, dtype=np.float64),
                         nn.Tanh(), nn.Linear(8, 3, dtype=np.float64))
    ours.load_state_dict(tnet.state_dict())
    opt = fe.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for _ in range(10):
        x = rng.standard_normal((5, 6))
        y = rng.integers(0, 3, 5)
        loss = nn.CrossEntropyLoss()(ours(fe.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tloss = torch.nn.CrossEntropyLoss()(tnet(torch.tensor(x)), torch.tensor(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
    for k, v in tnet.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, x_shape", [(lambda: nn.Linear(0, 4), (3, 0)),
                                           (lambda: nn.Conv2d(0, 4, 3, padding=1), (2, 0, 5, 5)),
                                           (lambda: nn.Conv1d(0, 4, 3), (2, 0, 7))])
def test_layers_with_no_inputs_build_and_give_their_bias(make, x_shape):
    """PyTorch builds a layer with zero input features (its init of a zero-element weight is a no-op with a
    warning, and the bias bound is 0): the output is the bias, and every gradient is written."""
    with pytest.warns(UserWarning, match="zero-element"):
        layer = make()
    assert np.all(np.asarray(layer.bias._data) == 0)
    layer.bias._data[...] = np.arange(4, dtype=np.float32)
    x = fe.tensor(np.zeros(x_shape, dtype=np.float32), requires_grad=True)
    y = layer(x)
    expect = np.arange(4, dtype=np.float32).reshape((1, 4) + (1,) * (y.ndim - 2))
    np.testing.assert_array_equal(y._data, np.broadcast_to(expect, y.shape))
    y.sum().backward()
    assert np.asarray(layer.weight.grad).shape == layer.weight.shape
    np.testing.assert_array_equal(np.asarray(layer.bias.grad), np.full(4, np.prod(y.shape) // 4, np.float32))


@pytest.mark.parametrize("rows", [1, 5])
def test_linear_backward_with_a_transposed_weight_and_strided_input(rows):
    """F.linear(x, W.T) (weight tying) and a one-row input with strided columns: the forward read
    copies or transposed views, the backward used the original arrays and raised 'must be C-contiguous'."""
    rng = np.random.default_rng(0)
    w_np = rng.standard_normal((3, 4))            # (in, out): the weight is its transpose
    w = fe.tensor(w_np, requires_grad=True)
    x_full = fe.tensor(rng.standard_normal((rows, 6)), requires_grad=True)
    x = x_full[:, ::2]
    F.linear(x, w.T).sum().backward()
    g = np.ones((rows, 4))
    assert np.allclose(x_full.grad[:, ::2], g @ w_np.T) and not x_full.grad[:, 1::2].any()
    assert np.allclose(w.grad, (g.T @ x._data).T)
