"""The module surface PyTorch scripts import (issue 16): devices, cuda/backends queries, utils.data,
dtype aliases, Generator and the random constructors, torch's top-level functions, einsum,
maximum/minimum, Module.to, load's torch arguments, Adadelta. Each against torch 2.x where it is
installed (skipping cleanly without it), else against NumPy or finite differences."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import optim
from firstepoch.autograd import gradcheck


# ---- devices ----------------------------------------------------------------------------------------

def test_device_parses_prints_and_compares_as_torch():
    torch = pytest.importorskip("torch")
    for args in [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0), ("mps",), ("cpu", 0)]:
        ours, theirs = fe.device(*args), torch.device(*args)
        assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type,
                                                                  theirs.index)
    assert fe.device("cpu") == fe.device("cpu") and fe.device("cpu") != fe.device("cuda")
    assert (fe.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")
    assert hash(fe.device("cuda:1")) == hash(fe.device("cuda", 1))
    with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
        fe.device("foo")
    with pytest.raises(RuntimeError):
        torch.device("foo")


def test_cpu_is_accepted_everywhere_and_other_devices_raise():
    x = fe.ones(2, device="cpu")
    assert x.device == fe.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    assert x.cpu() is x and x.to("cpu") is x and x.to(fe.device("cpu")) is x
    for make in (lambda d: fe.zeros(2, device=d), lambda d: fe.ones(2, 3, device=d), lambda d: fe.randn(2, device=d),
                 lambda d: fe.rand(2, device=d), lambda d: fe.tensor([1.0], device=d),
                 lambda d: fe.full((2,), 1.0, device=d), lambda d: fe.arange(3, device=d),
                 lambda d: fe.linspace(0, 1, 3, device=d), lambda d: fe.eye(2, device=d),
                 lambda d: fe.randint(3, (2,), device=d), lambda d: fe.randperm(3, device=d),
                 lambda d: fe.empty(2, device=d), lambda d: fe.zeros_like(x, device=d)):
        assert make(None).device == make("cpu").device == make(fe.device("cpu")).device == fe.device("cpu")
        with pytest.raises(RuntimeError, match="'cuda'.*CPU only"):
            make("cuda")
        with pytest.raises(RuntimeError, match="'mps'.*CPU only"):
            make(fe.device("mps"))
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="'cuda:0'"):
        x.to("cuda:0")


def test_cuda_and_backends_answer_as_torch_without_a_gpu():
    assert fe.cuda.is_available() is False and fe.cuda.device_count() == 0
    assert fe.cuda.manual_seed(1) is None and fe.cuda.manual_seed_all(1) is None
    assert fe.backends.mps.is_available() is False and fe.backends.mps.is_built() is False
    assert fe.backends.cudnn.is_available() is False
    fe.backends.cudnn.deterministic = True
    fe.backends.cudnn.benchmark = False
    assert fe.backends.cudnn.deterministic is True
    fe.backends.cudnn.deterministic = False
    device = fe.device("cuda" if fe.cuda.is_available() else "cpu")  # the scripts' idiom
    assert device.type == "cpu"


def test_utils_data_is_the_data_module():
    import firstepoch.utils.data as D
    from firstepoch.utils.data import DataLoader, Dataset, TensorDataset
    assert D is fe.data and fe.utils.data is fe.data
    assert (DataLoader, Dataset, TensorDataset) == (fe.data.DataLoader, fe.data.Dataset, fe.data.TensorDataset)


# ---- dtypes -----------------------------------------------------------------------------------------

def test_dtype_aliases_are_numpy_dtypes_with_torchs_meaning():
    torch = pytest.importorskip("torch")
    for name in ("float32", "float64", "float", "double", "int64", "long", "int32", "int", "int16", "int8", "uint8",
                 "bool", "short"):
        ours, theirs = getattr(fe, name), getattr(torch, name)
        assert ours == np.dtype(str(theirs).replace("torch.", "")), name
    assert fe.get_default_dtype() == fe.float32 and str(torch.get_default_dtype()) == "torch.float32"
    assert fe.zeros(2).dtype == fe.float32 and fe.tensor([1, 2], dtype=fe.long).dtype == fe.int64
    assert fe.ones(2, dtype=fe.double).dtype == np.float64 and fe.arange(3).dtype == fe.long
    assert fe.tensor([True]).dtype == fe.bool


# ---- Tensor.to ---------------------------------------------------------------------------------------

def test_tensor_to_accepts_torchs_forms():
    torch = pytest.importorskip("torch")
    x, tx = fe.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    other, tother = fe.zeros(1, dtype=fe.float64), torch.zeros(1, dtype=torch.float64)
    forms = [((fe.float64,), {}, (torch.float64,), {}), (("cpu",), {}, ("cpu",), {}),
             (("cpu", fe.float64), {}, ("cpu", torch.float64), {}), ((other,), {}, (tother,), {}),
             ((), dict(dtype=fe.float64, device="cpu"), (), dict(dtype=torch.float64, device="cpu")),
             ((fe.device("cpu"),), dict(dtype=fe.long), (torch.device("cpu"),), dict(dtype=torch.long)),
             ((fe.float32,), dict(non_blocking=True), (torch.float32,), dict(non_blocking=True)),
             ((fe.float32, False, True), {}, (torch.float32, False, True), {}),
             ((), dict(copy=True), (), dict(copy=True))]
    for args, kw, targs, tkw in forms:
        y, ty = x.to(*args, **kw), tx.to(*targs, **tkw)
        assert str(y.dtype) == str(ty.dtype).replace("torch.", "")
        assert (y is x) == (ty is tx), (args, kw)
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
    with pytest.raises(TypeError):
        x.to(fe.float32, bogus=1)


def test_tensor_to_keeps_the_differentiable_cast():
    x = fe.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu", fe.float64)
    (y * y).sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    c = x.to(copy=True)
    assert c is not x and c.requires_grad and not np.shares_memory(c.detach().numpy(), x._data)


# ---- Module.to -----------------------------------------------------------------------------------------

def test_module_to_casts_in_place_and_keeps_the_parameters():
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    params = list(model.parameters())
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to(fe.device("cpu"), fe.float64) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert all(np.asarray(b).dtype == np.float64 for n, b in model.named_buffers() if "num_batches" not in n)
    out = model(fe.randn(5, 3, dtype=fe.float64))
    out.sum().backward()
    opt.step()  # the optimizer built before the cast still updates the same Parameters
    assert params[0].grad.dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters()) and params[0].grad.dtype == np.float32
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.to(dtype=fe.float32) is model and params[0].dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(fe.long)
    with pytest.raises(TypeError, match="floating point"):
        torch.nn.Linear(2, 2).to(torch.long)
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        model.cuda()


# ---- constructors ----------------------------------------------------------------------------------------

def test_constructor_dtypes_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        (lambda m: m.full((2,), 7), "int64"), (lambda m: m.full((2,), True), "bool"),
        (lambda m: m.full((2,), 7.0), "float32"), (lambda m: m.full((2,), 7, dtype=m.float64), "float64"),
        (lambda m: m.arange(5), "int64"), (lambda m: m.arange(0.0, 1.0, 0.25), "float32"),
        (lambda m: m.arange(0, 1, 0.25), "float32"), (lambda m: m.linspace(0, 1, 5), "float32"),
        (lambda m: m.linspace(0, 10, 5, dtype=m.long), "int64"), (lambda m: m.eye(2, 3), "float32"),
        (lambda m: m.empty(2, 3), "float32"), (lambda m: m.randint(10, (3,)), "int64"),
        (lambda m: m.randint(2, 10, (3,)), "int64"), (lambda m: m.randint(0, 5, (2,), dtype=m.float32), "float32"),
        (lambda m: m.randperm(4), "int64"), (lambda m: m.normal(0.0, 1.0, (2,)), "float32"),
        (lambda m: m.normal(m.zeros(3, dtype=m.float64), 1.0), "float64"), (lambda m: m.rand(2), "float32"),
        (lambda m: m.full_like(m.zeros(2, dtype=m.long), 3), "int64"), (lambda m: m.ones(2, 2), "float32"),
    ]
    for make, dtype in cases:
        ours, theirs = make(fe), make(torch)
        assert str(ours.dtype) == dtype == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
    for make in (lambda m: m.arange(0, 1, 0.25), lambda m: m.linspace(0, 10, 5, dtype=m.long),
                 lambda m: m.eye(2, 3), lambda m: m.linspace(-1, 2, 7), lambda m: m.arange(1, 10, 3),
                 lambda m: m.full((2, 2), 7), lambda m: m.arange(0.5, 2.0, 0.3)):
        np.testing.assert_allclose(make(fe).numpy(), make(torch).numpy(), rtol=1e-6)
    assert fe.empty(2, 3).shape == (2, 3) and fe.zeros(2, 3).shape == fe.zeros((2, 3)).shape


def test_random_constructors_draw_in_range():
    v = fe.randint(3, 7, (2000,)).numpy()
    assert v.min() == 3 and v.max() == 6
    assert sorted(fe.randperm(10).tolist()) == list(range(10))
    u = fe.rand(1000).numpy()
    assert 0 <= u.min() and u.max() < 1
    z = fe.normal(fe.full((4000,), 3.0), fe.full((4000,), 0.5)).numpy()
    assert abs(z.mean() - 3) < 0.05 and abs(z.std() - 0.5) < 0.05
    with pytest.raises(RuntimeError, match="low < high"):
        fe.randint(5, 5, (2,))
    with pytest.raises(TypeError):
        fe.randint(5)
    with pytest.raises(RuntimeError, match="floating"):
        fe.randn(2, dtype=fe.long)


# ---- Generator -----------------------------------------------------------------------------------------

def test_generator_interface_and_repeatability():
    torch = pytest.importorskip("torch")
    g = fe.Generator()
    assert g.manual_seed(2147483647) is g and g.initial_seed() == 2147483647
    tg = torch.Generator()
    assert tg.manual_seed(2147483647) is tg and tg.initial_seed() == 2147483647
    a = fe.randn((27, 2), generator=fe.Generator().manual_seed(2147483647))
    b = fe.randn((27, 2), generator=fe.Generator().manual_seed(2147483647))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    state = g.get_state()
    draws = [fe.rand(3, generator=g), fe.randint(0, 100, (3,), generator=g), fe.randperm(5, generator=g),
             fe.multinomial(fe.ones(4), 2, generator=g), fe.normal(0.0, 1.0, (3,), generator=g)]
    g.set_state(state)
    again = [fe.rand(3, generator=g), fe.randint(0, 100, (3,), generator=g), fe.randperm(5, generator=g),
             fe.multinomial(fe.ones(4), 2, generator=g), fe.normal(0.0, 1.0, (3,), generator=g)]
    for x, y in zip(draws, again):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    # a Generator's stream is its own: the global one is untouched
    fe.manual_seed(0)
    first = fe.rand(3).numpy()
    fe.manual_seed(0)
    fe.rand(3, generator=fe.Generator().manual_seed(5))
    np.testing.assert_array_equal(fe.rand(3).numpy(), first)
    with pytest.raises(TypeError):
        fe.randn(2, generator="seed")


def test_generator_reaches_init_functions_and_the_data_loader():
    g1, g2 = fe.Generator().manual_seed(7), fe.Generator().manual_seed(7)
    w1, w2 = fe.zeros(4, 5), fe.zeros(4, 5)
    nn.init.kaiming_uniform_(w1, generator=g1)
    nn.init.kaiming_uniform_(w2, generator=g2)
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    nn.init.normal_(w1, generator=g1)
    nn.init.xavier_normal_(w2, generator=g2)
    ds = fe.data.TensorDataset(fe.arange(20))
    orders = []
    for _ in range(2):
        loader = fe.data.DataLoader(ds, batch_size=5, shuffle=True, generator=fe.Generator().manual_seed(3))
        orders.append([b[0].tolist() for b in loader])
    assert orders[0] == orders[1] and orders[0] != [list(range(i, i + 5)) for i in range(0, 20, 5)]
    s = fe.data.RandomSampler(ds, generator=fe.Generator().manual_seed(3))
    assert sorted(s) == list(range(20))


# ---- multinomial -------------------------------------------------------------------------------------------

def test_multinomial_shapes_frequencies_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    p = [0.1, 0.6, 0.0, 0.3]
    draws = fe.multinomial(fe.tensor(p), 20000, replacement=True, generator=fe.Generator().manual_seed(1))
    assert draws.dtype == fe.long and draws.shape == (20000,)
    np.testing.assert_allclose(np.bincount(draws.numpy(), minlength=4) / 20000, p, atol=0.015)
    rows = fe.multinomial(fe.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]), 2)
    assert rows.shape == (2, 2) == tuple(torch.multinomial(torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]), 2).shape)
    assert rows[1, 0].item() == 2  # the only nonzero weight comes first
    for r in fe.multinomial(fe.rand(50, 6) + 0.01, 6).numpy():  # without replacement: a permutation per row
        assert sorted(r) == list(range(6))
    # without replacement, the first draw follows the weights
    first = fe.multinomial(fe.tensor([[1.0, 3.0]] * 8000), 2).numpy()[:, 0]
    assert abs(first.mean() - 0.75) < 0.03
    bad = [(([1.0, 0.0], 3, False), "n_sample > prob_dist"), (([-1.0, 1.0], 1, False), "element < 0"),
           (([[[1.0]]], 1, False), "1 or 2 dim"), (([0.0, 0.0], 1, False), "sum of probabilities <= 0"),
           (([float("nan"), 1.0], 1, True), "nan")]
    for (data, n, repl), msg in bad:
        with pytest.raises(RuntimeError, match=msg):
            fe.multinomial(fe.tensor(data), n, replacement=repl)
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(data), n, replacement=repl)


# ---- Tensor methods of this section -----------------------------------------------------------------------

def test_view_as_nelement_log10_log2_as_torch():
    torch = pytest.importorskip("torch")
    a = np.abs(np.random.default_rng(0).standard_normal((2, 6))) + 0.1
    x, tx = fe.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert x.view_as(fe.zeros(3, 4)).shape == tuple(tx.view_as(torch.zeros(3, 4)).shape)
    assert x.nelement() == tx.nelement() == 12
    for name in ("log10", "log2"):
        y, ty = getattr(x, name)(), getattr(tx, name)()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        x.grad, tx.grad = None, None
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert x.log10().dtype == np.float64 and fe.tensor([100.0]).log10().item() == pytest.approx(2.0)


def test_maximum_minimum_values_and_tie_gradients_as_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 2.0, 3.0], [float("nan"), 0.0, -1.0]])
    b = np.array([1.0, 3.0, 2.0])
    for name in ("maximum", "minimum"):
        x, y = fe.tensor(a, requires_grad=True), fe.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        pairs = ((getattr(x, name)(y), getattr(tx, name)(ty)), (getattr(fe, name)(x, y), getattr(torch, name)(tx, ty)))
        for out, tout in pairs:
            np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
        fx, fy = fe.tensor(a[:1], requires_grad=True), y
        tfx, tfy = torch.tensor(a[:1], requires_grad=True), ty
        (getattr(fx, name)(fy) * fe.tensor([[1.0, 2.0, 3.0]], dtype=fe.double)).sum().backward()
        (getattr(tfx, name)(tfy) * torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.double)).sum().backward()
        np.testing.assert_array_equal(fx.grad.numpy(), tfx.grad.numpy())  # the tie at [0, 0] splits 0.5/0.5
        np.testing.assert_array_equal(fy.grad.numpy(), tfy.grad.numpy())
    mixed = fe.maximum(fe.tensor([1, 2]), fe.tensor([1.5, 1.0]))
    assert mixed.dtype == fe.float32 == np.dtype(str(torch.maximum(torch.tensor([1, 2]),
                                                                   torch.tensor([1.5, 1.0])).dtype)[6:])
    with pytest.raises(TypeError, match="must be Tensor"):
        fe.maximum(fe.ones(2), 2.0)
    with pytest.raises(TypeError):
        torch.maximum(torch.ones(2), 2.0)


def test_maximum_gradcheck_off_ties():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,)) + 0.01
    gradcheck(lambda x, y: fe.maximum(x, y), [fe.tensor(a, requires_grad=True), fe.tensor(b, requires_grad=True)])
    gradcheck(lambda x, y: fe.minimum(x, y), [fe.tensor(a, requires_grad=True), fe.tensor(b, requires_grad=True)])


# ---- top-level functions ----------------------------------------------------------------------------------

def test_top_level_functions_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    p = np.abs(a) + 0.1
    batch1, batch2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2))

    def both(f, *arrays):
        ours = f(fe, *[fe.tensor(x) for x in arrays])
        theirs = f(torch, *[torch.tensor(x) for x in arrays])
        return ours, theirs

    cases = [
        (lambda m, x: m.exp(x), a), (lambda m, x: m.log(x), p), (lambda m, x: m.sqrt(x), p),
        (lambda m, x: m.abs(x), a), (lambda m, x: m.sum(x), a), (lambda m, x: m.sum(x, 1), a),
        (lambda m, x: m.sum(x, dim=0, keepdim=True), a), (lambda m, x: m.mean(x, 1), a),
        (lambda m, x: m.std(x), a), (lambda m, x: m.var(x, 0), a), (lambda m, x: m.max(x), a),
        (lambda m, x: m.min(x), a), (lambda m, x: m.max(x, 1)[0], a), (lambda m, x: m.max(x, 1)[1], a),
        (lambda m, x: m.min(x, dim=0, keepdim=True).indices, a), (lambda m, x: m.relu(x), a),
        (lambda m, x: m.sigmoid(x), a), (lambda m, x: m.tanh(x), a), (lambda m, x: m.softmax(x, 1), a),
        (lambda m, x: m.log_softmax(x, dim=0), a), (lambda m, x: m.reshape(x, (4, 3)), a),
        (lambda m, x: m.cat([x, x], 1), a), (lambda m, x: m.concat([x, x]), a), (lambda m, x: m.stack([x, x], 1), a),
        (lambda m, x: m.where(x > 0, x, m.zeros_like(x)), a), (lambda m, x: m.zeros_like(x), a),
        (lambda m, x: m.ones_like(x), a), (lambda m, x: m.full_like(x, 2.5), a), (lambda m, x: m.argmax(x), a),
        (lambda m, x: m.argmax(x, dim=1), a), (lambda m, x: m.argmin(x, 0, keepdim=True), a),
        (lambda m, x: m.clamp(x, -0.5, 0.5), a), (lambda m, x: m.clamp(x, min=0.0), a),
        (lambda m, x, y: m.matmul(x, y), a, b), (lambda m, x, y: m.mm(x, y), a, b),
        (lambda m, x, y: m.bmm(x, y), batch1, batch2), (lambda m, x: m.transpose(x, 0, 1), a),
        (lambda m, x: m.permute(x, (1, 0)), a), (lambda m, x: m.squeeze(m.unsqueeze(x, 0)), a),
        (lambda m, x: m.unsqueeze(x, -1), a), (lambda m, x: m.flatten(x), batch1),
        (lambda m, x: m.flatten(x, 1), batch1), (lambda m, x: m.flatten(x, 0, 1), batch1),
        (lambda m, x: m.max(x, m.zeros_like(x)), a), (lambda m, x: m.min(x, other=m.zeros_like(x)), a),
        (lambda m, x: m.isclose(x, x + 1e-9), a), (lambda m, x: m.log10(x), p), (lambda m, x: m.log2(x), p),
        (lambda m, x, y: m.einsum("ij,jk->ik", x, y), a, b), (lambda m, x, y: m.einsum("ij,jk", [x, y]), a, b),
    ]
    for f, *arrays in cases:
        ours, theirs = both(f, *arrays)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), f
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    x, tx = fe.tensor(a), torch.tensor(a)
    assert fe.numel(x) == torch.numel(tx) and fe.is_tensor(x) and not fe.is_tensor(a)
    assert fe.allclose(x, x + 1e-9) is torch.allclose(tx, tx + 1e-9) is True
    assert fe.allclose(x, x + 1) is torch.allclose(tx, tx + 1) is False
    assert fe.equal(x, fe.tensor(a)) is torch.equal(tx, torch.tensor(a)) is True
    assert fe.equal(x, fe.tensor(a[:2])) is torch.equal(tx, torch.tensor(a[:2])) is False
    vals, idx = fe.max(x, 1)
    tvals, tidx = torch.max(tx, 1)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(vals.numpy(), tvals.numpy())
    with pytest.raises(RuntimeError):
        fe.mm(fe.ones(2), fe.ones(2))
    with pytest.raises(RuntimeError):
        fe.bmm(fe.ones(2, 2), fe.ones(2, 2))
    with pytest.raises(TypeError):
        fe.exp(a)


def test_top_level_functions_are_differentiable_through_the_methods():
    x = fe.tensor(np.random.default_rng(3).standard_normal((3, 4)), requires_grad=True)
    y = fe.sum(fe.tanh(fe.flatten(x)) * fe.max(x, 1)[0].sum())
    y.backward()
    assert x.grad.shape == (3, 4)


# ---- einsum -----------------------------------------------------------------------------------------------

EINSUMS = [("ij,jk->ik", [(3, 4), (4, 2)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij,jk", [(2, 3), (3, 4)]),
           ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]), ("i,j->ij", [(3,), (4,)]), ("i,i->", [(3,), (3,)]),
           ("ij->", [(2, 3)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij", [(2, 3)]),
           ("ji", [(2, 3)]), ("ij,k->ik", [(2, 3), (4,)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
           ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("...i,...i->...", [(2, 3), (2, 3)])]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_numpy_and_finite_differences(eq, shapes):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [fe.tensor(a, requires_grad=True) for a in arrays]
    out = fe.einsum(eq, *xs)
    np.testing.assert_allclose(out.detach().numpy(), np.einsum(eq, *arrays), rtol=1e-12, atol=1e-12)
    gradcheck(lambda *ts: fe.einsum(eq, *ts), xs)


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_gradients_match_torch(eq, shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    xs = [fe.tensor(a, requires_grad=True) for a in arrays]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fe.einsum(eq, *xs), torch.einsum(eq, *txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = rng.standard_normal(tout.shape).astype(np.float32)
    (out * fe.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_einsum_errors():
    # torch's class for each: RuntimeError (they were ValueError)
    with pytest.raises(RuntimeError, match="names 2 operands"):
        fe.einsum("ij,jk->ik", fe.ones(2, 2))
    with pytest.raises(RuntimeError, match="size 3 in one operand and 4"):
        fe.einsum("ij,jk->ik", fe.ones(2, 3), fe.ones(4, 2))
    with pytest.raises(RuntimeError, match="axis of '...' has size 1"):  # torch broadcasts it (the docstring)
        fe.einsum("...i,...i->...", fe.ones(1, 3), fe.ones(2, 3))
    with pytest.raises(RuntimeError, match="subscripts"):
        fe.einsum("ijk->i", fe.ones(2, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        fe.einsum("i,i->", fe.ones(2), fe.ones(2, dtype=fe.float64))
    with pytest.raises(RuntimeError, match="appears in no operand"):
        fe.einsum("ij,jk->iq", fe.ones(2, 3), fe.ones(3, 5))
    with pytest.raises(RuntimeError, match="at least one operand"):
        fe.einsum("ij->i")


def test_scalar_conversions_and_fill_values_raise_torchs_classes():
    # torch: float()/int()/complex() of several elements is a ValueError (item() a RuntimeError); a fill
    # value that is not a number is a TypeError; Tensor.softmax / log_softmax need dim (TypeError)
    t = fe.zeros(3)
    for conv in (float, int, complex):
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            conv(t)
    assert float(fe.tensor([2.5])) == 2.5 and int(fe.tensor(7)) == 7 and complex(fe.tensor(1.5)) == 1.5
    with pytest.raises(RuntimeError, match="only a one-element tensor"):
        t.item()
    with pytest.raises(TypeError, match="fill_value"):
        fe.full((2,), "a")
    with pytest.raises(TypeError):
        t.softmax()
    with pytest.raises(TypeError):
        t.log_softmax()
    np.testing.assert_allclose(fe.ones(2, 2).softmax(-1).numpy(), np.full((2, 2), 0.5))


# ---- load ---------------------------------------------------------------------------------------------------

def test_load_accepts_torchs_arguments(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "m.safetensors"
    fe.save(model, path)
    sd = fe.load(path, weights_only=True, map_location="cpu")
    np.testing.assert_array_equal(sd["weight"], model.weight.detach().numpy())
    fe.load(path, map_location=fe.device("cpu"))
    with pytest.warns(UserWarning, match="weights-only"):
        fe.load(path, weights_only=False)
    with pytest.raises(RuntimeError, match="CPU only"):
        fe.load(path, map_location="cuda:0")
    other = nn.Linear(3, 2)
    assert fe.load(path, other, weights_only=True) is other
    np.testing.assert_array_equal(other.weight.detach().numpy(), model.weight.detach().numpy())


# ---- Adadelta ----------------------------------------------------------------------------------------------

def _quadratic_grad(w):
    return (2.0 * w + 0.5).astype(w.dtype)


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05)])
def test_adadelta_matches_pytorch_over_100_steps(kw):
    torch = pytest.importorskip("torch")
    w0 = np.linspace(-1, 1, 6)
    p = nn.Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    ours, theirs = optim.Adadelta([p], **kw), torch.optim.Adadelta([tp], **kw)
    for _ in range(100):
        p.grad = fe.tensor(_quadratic_grad(p._data))
        ours.step()
        tp.grad = torch.tensor(_quadratic_grad(tp.detach().numpy()))
        theirs.step()
    np.testing.assert_allclose(p._data, tp.detach().numpy(), rtol=1e-6, atol=1e-9)
    assert not np.allclose(p._data, w0)


def test_adadelta_formula_and_state():
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.Adadelta([p], lr=1.0, rho=0.9, eps=1e-6)
    g = np.array([0.5, -1.0])
    p.grad = fe.tensor(g)
    opt.step()
    v = 0.1 * g * g
    delta = np.sqrt(1e-6) / np.sqrt(v + 1e-6) * g
    np.testing.assert_allclose(p._data, np.array([1.0, -2.0]) - delta, rtol=1e-12)
    st = opt.state_dict()["state"][0]
    np.testing.assert_allclose(st["acc_delta"], 0.1 * delta * delta, rtol=1e-12)
    assert st["step"] == 1
    opt2 = optim.Adadelta([nn.Parameter(np.array([1.0, -2.0]))])
    opt2.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="rho"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError):
        optim.Adadelta([p], lr=-1.0)


def test_a_dtype_asked_for_is_never_silently_changed():
    for make in (lambda: fe.zeros(2, dtype=fe.int32), lambda: fe.ones(2, dtype=fe.uint8),
                 lambda: fe.eye(2, dtype=fe.int8),
                 lambda: fe.full((2,), 1, dtype=fe.int16), lambda: fe.randint(0, 3, (2,), dtype=fe.int32),
                 lambda: fe.arange(3, dtype=fe.int32)):
        try:
            t = make()
        except TypeError as e:
            assert "not supported" in str(e)
        else:  # once integer dtypes other than int64 exist, they must be the ones asked for
            assert t.dtype in (fe.int32, fe.uint8, fe.int8, fe.int16)


def test_top_level_functions_are_the_tensor_methods():
    x = fe.tensor(np.array([[0.5, -0.75, 2.0], [3.0, 0.25, -0.5]], np.float32))
    b = fe.tensor(np.array([[True, False, True], [False, False, True]]))
    for name, args in [("sin", ()), ("cos", ()), ("log1p", ()), ("expm1", ()), ("pow", (2,)),
                       ("remainder", (1.5,)), ("floor_divide", (2.0,)), ("prod", (1,)), ("cumsum", (0,)),
                       ("logsumexp", (1,)), ("norm", ()), ("flip", (0,)), ("roll", (1, 1)), ("t", ()),
                       ("clone", ()), ("argsort", (1,)), ("gather", (1, fe.tensor([[0], [2]]))),
                       ("index_select", (1, fe.tensor([2, 0]))), ("masked_fill", (b, 0.0)),
                       ("eq", (x,)), ("lt", (0.5,)), ("any", ()), ("all", ())]:
        got, want = getattr(fe, name)(x, *args), getattr(x, name)(*args)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)
        assert got.dtype == want.dtype, name
    assert [t.shape for t in fe.split(x, 1, 1)] == [(2, 1)] * 3 and len(fe.unbind(x)) == 2
    np.testing.assert_array_equal(fe.topk(x, 2).values.numpy(), x.topk(2).values.numpy())
    np.testing.assert_array_equal(fe.logical_not(b).numpy(), ~b.numpy())
    with pytest.raises(TypeError, match=r"sin\(\): argument 'input'"):
        fe.sin([1.0, 2.0])


LAYER_FACTORIES = [("Linear", (3, 4)), ("Conv1d", (2, 3, 3)), ("Conv2d", (2, 3, 3)), ("ConvTranspose1d", (2, 3, 3)),
                   ("ConvTranspose2d", (2, 3, 3)), ("BatchNorm1d", (3,)), ("BatchNorm2d", (3,)), ("LayerNorm", (3,)),
                   ("GroupNorm", (1, 3)), ("Embedding", (5, 3)), ("PReLU", ()), ("RNN", (2, 3)), ("LSTM", (2, 3)),
                   ("GRU", (2, 3)), ("RNNCell", (2, 3)), ("LSTMCell", (2, 3)), ("GRUCell", (2, 3))]


@pytest.mark.parametrize("name,args", LAYER_FACTORIES)
def test_layers_take_torchs_factory_arguments(name, args):
    """device= and dtype= as torch's layers take them: dtype=None is the default float32 (it was float64,
    np.dtype(None)), device "cpu" or fe.device("cpu"); another device raises."""
    cls = getattr(fe.nn, name)
    assert all(p.dtype == np.float32 for p in cls(*args, device=None, dtype=None).parameters())
    assert all(p.dtype == np.float64 for p in cls(*args, device=fe.device("cpu"), dtype=fe.float64).parameters())
    assert all(p.dtype == np.float32 for p in cls(*args, device="cpu").parameters())
    with pytest.raises(RuntimeError, match="CPU only"):
        cls(*args, device="cuda")
