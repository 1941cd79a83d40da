"""Higher-order gradients: backward(create_graph=True), autograd.grad, and the second-order check of
every op that declares a differentiable backward (backward_graph), so none escapes it."""
import importlib
import pkgutil

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import REGISTRY, Function, gradgradcheck


def _import_every_module():
    for info in pkgutil.walk_packages(fe.__path__, "firstepoch."):
        if info.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as e:
            if (e.name or "").startswith("firstepoch"):
                raise


_import_every_module()


def _supported():
    return [op for op in REGISTRY if op.differentiable and op.backward_graph is not None]


def _unsupported():
    return [op for op in REGISTRY if op.differentiable and op.backward_graph is None]


def _inputs(args):
    return [fe.tensor(a, dtype=np.float64, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype == np.float64
            else a for a in args]


def test_the_ops_ported_code_needs_support_create_graph():
    names = {op.__name__ for op in _supported()}
    for expected in ("AddFn", "SubFn", "MulFn", "DivFn", "NegFn", "PowFn", "PowTensorFn", "ExpFn", "LogFn", "SqrtFn",
                     "AbsFn", "TanhFn", "SigmoidFn", "ReLUFn", "LeakyReLUFn", "SoftplusFn", "ClipFn", "CastFn",
                     "SumFn", "MeanFn", "VarFn", "MaxFn", "MinFn", "TakeAlongDimFn", "ReshapeFn", "PermuteFn",
                     "GetItemFn", "GetItemGradFn", "CatFn", "StackFn", "WhereFn", "MatmulFn", "LinearFn", "SoftmaxFn",
                     "CrossEntropyFn", "NLLLossFn", "MSELossFn", "L1LossFn", "BCEWithLogitsFn", "GELUFn",
                     "DropoutFn", "EmbeddingFn", "BatchNormFn", "Conv2dFn", "ConvInputGradFn", "ConvWeightGradFn",
                     "MaxPool2dFn", "AvgPool2dFn", "RNNFn", "GeluSlopeFn"):
        assert expected in names, f"{expected} has no backward_graph"


@pytest.mark.parametrize("op", _supported(), ids=lambda op: op.__name__)
def test_op_gradgradcheck(op):
    """Every op with backward_graph: second derivatives (and the derivative with respect to the incoming
    gradient) against finite differences of the first gradient, over the op's own gradcheck cases."""
    cases = op.gradcheck_cases(np.random.default_rng(0))
    assert cases, f"{op.__name__} has no gradcheck_cases"
    for args, kwargs in cases:
        gradgradcheck(lambda *xs, kw=kwargs: op.apply(*xs, **kw), _inputs(args))


@pytest.mark.parametrize("op", _unsupported(), ids=lambda op: op.__name__)
def test_op_without_backward_graph_raises_clearly(op):
    cases = op.gradcheck_cases(np.random.default_rng(0))
    assert cases, f"{op.__name__} has no gradcheck_cases"
    args, kwargs = cases[0]
    out = op.apply(*_inputs(args), **kwargs)
    loss = (out * fe.tensor(np.random.default_rng(1).standard_normal(out.shape))).sum()
    with pytest.raises(RuntimeError, match=f"{op.__name__} does not support create_graph=True"):
        loss.backward(create_graph=True)


def test_gradgradcheck_catches_a_backward_graph_that_loses_the_second_derivative():
    """The check itself can fail: exp whose backward_graph treats exp(x) as a constant (rebuilt from the
    saved array) has the right first gradient but a wrong second one."""
    class ConstantSlopeExp(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        @staticmethod
        def forward(ctx, x):
            out = np.exp(x)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            return (grad * ctx.saved_tensors[0],)

        @staticmethod
        def backward_graph(ctx, grad):
            return (grad * fe.Tensor(ctx.saved_tensors[0]),)  # a constant: d/dx is lost

    REGISTRY.remove(ConstantSlopeExp)
    x = fe.tensor(np.random.default_rng(0).standard_normal(4), dtype=np.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="gradgradcheck failed for input 0"):
        gradgradcheck(ConstantSlopeExp.apply, [x])


def test_gradgradcheck_catches_a_wrong_first_gradient_in_backward_graph():
    class WrongScale(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return (grad * 2,)

        @staticmethod
        def backward_graph(ctx, grad):
            return (grad * 3,)

    REGISTRY.remove(WrongScale)
    x = fe.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="differs from backward's"):
        gradgradcheck(WrongScale.apply, [x])


# ---- the user-facing API -----------------------------------------------------------------------------

def _f64(values, requires_grad=True):
    return fe.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_grad_of_grad_of_cube_is_6x():
    x = _f64([-1.5, 0.5, 2.0])
    (g,) = fe.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (gg,) = fe.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())
    assert x.grad is None  # autograd.grad never touches .grad


def test_backward_create_graph_leaves_a_grad_with_a_graph():
    x = _f64([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, fe.Tensor) and x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 12.0])
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    assert not x.grad.requires_grad


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph_accumulates_as_torch():
    torch = pytest.importorskip("torch")
    x = _f64([1.0, 2.0])
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for a, cube in ((x, lambda v: (v ** 3).sum()), (xt, lambda v: (v ** 3).sum())):
        cube(a).backward(create_graph=True)
        cube(a).backward(create_graph=True)  # .grad = .grad + g: both terms keep their graph
        a.grad.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), xt.grad.detach().numpy())


def test_retain_graph_defaults_to_create_graph():
    x = _f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    fe.autograd.grad(y, x)  # retain_graph defaults to False: the saved arrays are freed
    with pytest.raises(RuntimeError, match="second time"):
        fe.autograd.grad(y, x)
    z = (x.exp() * x).sum()
    fe.autograd.grad(z, x, create_graph=True)  # create_graph=True retains by default
    fe.autograd.grad(z, x)
    w = (x.exp() * x).sum()
    w.backward(create_graph=True)
    w.backward()


def test_grad_allow_unused_and_materialize_grads():
    x, y = _f64([1.0, 2.0]), _f64([3.0])
    z = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*not have been used.*allow_unused=True"):
        fe.autograd.grad(z, [x, y], retain_graph=True)
    gx, gy = fe.autograd.grad(z, [x, y], allow_unused=True, retain_graph=True)
    assert gy is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0])
    gx, gy = fe.autograd.grad(z, [x, y], materialize_grads=True)
    np.testing.assert_allclose(gy.numpy(), [0.0])


def test_grad_errors_as_torch():
    x = _f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        fe.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        fe.autograd.grad((x * 2).sum(), _f64([1.0], requires_grad=False))
    with pytest.raises(RuntimeError, match="does not require grad"):
        fe.autograd.grad(_f64([1.0], requires_grad=False).sum(), x)
    with pytest.raises(TypeError, match="inputs"):
        fe.autograd.grad((x * 2).sum(), [x, 3.0])


def test_grad_with_grad_outputs_and_several_outputs_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, v, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    x = _f64(a)
    xt = torch.tensor(a, requires_grad=True)
    ours = fe.autograd.grad([x.tanh() * x, (x * x).sum(0)], x, grad_outputs=[_f64(v, False), _f64(w, False)])
    theirs = torch.autograd.grad([xt.tanh() * xt, (xt * xt).sum(0)], xt,
                                 grad_outputs=[torch.tensor(v), torch.tensor(w)])
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-12)


def test_grad_of_an_intermediate_tensor():
    torch = pytest.importorskip("torch")
    x = _f64([0.5, -1.0, 2.0])
    h = x.sigmoid()
    (gh,) = fe.autograd.grad((h * h * x).sum(), h)
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ht = xt.sigmoid()
    (ght,) = torch.autograd.grad((ht * ht * xt).sum(), ht)
    np.testing.assert_allclose(gh.numpy(), ght.numpy(), rtol=1e-12)


def test_backward_inputs_accumulates_only_into_inputs():
    torch = pytest.importorskip("torch")
    x, y = _f64([1.0, 2.0]), _f64([3.0, 4.0])
    h = x * y
    (h * h).sum().backward(inputs=[y, h])
    assert x.grad is None
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    ht = xt * yt
    (ht * ht).sum().backward(inputs=[yt, ht])
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy())
    np.testing.assert_allclose(h.grad.numpy(), ht.grad.numpy())


def test_hooks_see_the_gradient_with_its_graph_as_torch():
    """A hook on an intermediate runs in both backwards; its scaling enters the second derivative."""
    torch = pytest.importorskip("torch")
    results = []
    for lib, make in ((fe, lambda: _f64(2.0)), (torch, lambda: torch.tensor(2.0, dtype=torch.float64,
                                                                            requires_grad=True))):
        x = make()
        h = x * x
        h.register_hook(lambda g: g * 10)
        (g,) = lib.autograd.grad(h * h, x, create_graph=True)
        (gg,) = lib.autograd.grad(g, x)
        results.append((g.detach().item(), gg.item()))
    assert results[0] == pytest.approx(results[1])


def test_retain_grad_under_create_graph():
    x = _f64([1.0, 2.0])
    h = x * x
    h.retain_grad()
    (h * h).sum().backward(create_graph=True)
    np.testing.assert_allclose(h.grad.detach().numpy(), 2 * h.detach().numpy())
    assert h.grad.requires_grad


def test_plain_backward_is_unchanged_by_a_create_graph_backward_before_it():
    x = _f64([1.0, 2.0])
    (x ** 2).sum().backward(create_graph=True)
    x.grad = None
    (x ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert not x.grad.requires_grad


# ---- what a learner does with it ---------------------------------------------------------------------

def _mlp(fe_nn, sizes, rng):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = fe_nn.Linear(n_in, n_out, dtype=np.float64)
        lin.weight.data = fe.tensor(rng.standard_normal((n_out, n_in)) * 0.7)
        lin.bias.data = fe.tensor(rng.standard_normal(n_out) * 0.1)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(fe_nn.Tanh() if i % 2 == 0 else fe_nn.ReLU())
    return fe_nn.Sequential(*layers)


@pytest.mark.parametrize("loss_name", ["mse_loss", "cross_entropy"])
def test_mlp_hessian_vector_product_matches_torch(loss_name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = _mlp(fe.nn, [5, 8, 6, 3], rng)  # Linear, Tanh, Linear+ReLU (fused in Sequential), Linear
    x = rng.standard_normal((7, 5))
    target = rng.integers(0, 3, 7) if loss_name == "cross_entropy" else rng.standard_normal((7, 3))
    params = list(model.parameters())
    vs = [rng.standard_normal(p.shape) for p in params]

    loss = getattr(fe.nn.functional, loss_name)(model(fe.tensor(x)), fe.tensor(target))
    grads = fe.autograd.grad(loss, params, create_graph=True)
    dot = grads[0].sum() * 0.0
    for g, v in zip(grads, vs):
        dot = dot + (g * fe.tensor(v)).sum()
    hvp = fe.autograd.grad(dot, params)

    tparams = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]

    def torch_loss(*ps):
        h = torch.tensor(x)
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i == 0:
                h = h.tanh()
            elif i == 2:
                h = h.relu()
        return getattr(torch.nn.functional, loss_name)(h, torch.tensor(target))

    _, t_hvp = torch.autograd.functional.hvp(torch_loss, tuple(tparams), tuple(torch.tensor(v) for v in vs))
    assert len(t_hvp) == len(hvp) == 6
    for ours, theirs in zip(hvp, t_hvp):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_second_derivatives_through_embedding_with_padding_and_gelu_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3))
    idx = np.array([[0, 2, 2], [4, 1, 2]])
    results = []
    for lib, w in ((fe, _f64(a)), (torch, torch.tensor(a, requires_grad=True))):
        out = lib.nn.functional.embedding(lib.tensor(idx), w, padding_idx=2)
        out = lib.nn.functional.gelu(out, approximate="tanh") * out
        (g,) = lib.autograd.grad((out * out).sum(), w, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), w)
        results.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


def test_conv_net_hessian_vector_product_matches_torch():
    """conv2d (strided, padded), tanh, a grouped conv2d with the fused ReLU, batch_norm, mse_loss: the
    Hessian-vector product with respect to the weights and the input."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)) * 0.5, rng.standard_normal(4),
              rng.standard_normal((4, 2, 3, 3)) * 0.5, rng.standard_normal(4) + 0.2]
    target = rng.standard_normal((2, 4, 4, 3))
    vs = [rng.standard_normal(a.shape) for a in arrays]

    def hvp(lib, conv_relu):
        ps = [_f64(a) if lib is fe else torch.tensor(a, requires_grad=True) for a in arrays]
        x, w1, b1, w2, b2 = ps
        h = lib.nn.functional.conv2d(x, w1, b1, stride=2, padding=1).tanh()
        h = conv_relu(h, w2, b2)
        h = lib.nn.functional.batch_norm(h, None, None, training=True)
        loss = lib.nn.functional.mse_loss(h, lib.tensor(target))
        grads = lib.autograd.grad(loss, ps, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vs))
        return [t.detach().numpy() for t in lib.autograd.grad(dot, ps)]

    ours = hvp(fe, lambda h, w, b: fe.ops.conv.Conv2dFn.apply(h, w, b, 1, 1, 1, 2, "relu"))
    theirs = hvp(torch, lambda h, w, b: torch.nn.functional.conv2d(h, w, b, padding=1, groups=2).relu())
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_pooling_second_derivatives_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 7, 6))
    v = rng.standard_normal(a.shape)
    results = []
    for lib, x in ((fe, _f64(a)), (torch, torch.tensor(a, requires_grad=True))):
        F = lib.nn.functional
        h = F.max_pool2d(x.tanh() * x, 3, stride=2, padding=1)
        h = F.avg_pool2d(h * h, 2, stride=1, padding=1)
        (g,) = lib.autograd.grad((h * h.sigmoid()).sum(), x, create_graph=True)
        (hv,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
        results.append(hv.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_hessian_vector_product_matches_torch(kind):
    """A bidirectional two-layer LSTM / GRU (the fused kernel; its backward_graph recomputes the steps
    with Tensor ops): the HVP with respect to every weight and the input."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    theirs_model = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True).double()
    ours_model = getattr(fe.nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    names = [n for n, _ in theirs_model.named_parameters()]
    for name in names:
        getattr(ours_model, name).data = fe.tensor(getattr(theirs_model, name).detach().numpy().copy())
    x = rng.standard_normal((5, 2, 3))
    vs = [rng.standard_normal(tuple(getattr(theirs_model, n).shape)) for n in names] + [rng.standard_normal(x.shape)]
    results = []
    for lib, model in ((fe, ours_model), (torch, theirs_model)):
        xt = _f64(x) if lib is fe else torch.tensor(x, requires_grad=True)
        params = [getattr(model, n) for n in names] + [xt]
        out, _ = model(xt)
        loss = (out * out.tanh()).sum()
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vs))
        results.append([t.detach().numpy() for t in lib.autograd.grad(dot, params)])
    for name, a, b in zip(names + ["input"], *results):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=name)


def test_newton_on_a_1d_function_converges_in_a_few_steps():
    """f(x) = x**4 / 4 + exp(x) - 3x, Newton's x <- x - f'(x) / f''(x) with both from autograd."""
    x = _f64(1.0)
    for _ in range(8):
        f = x ** 4 / 4 + x.exp() - x * 3
        (d1,) = fe.autograd.grad(f, x, create_graph=True)
        (d2,) = fe.autograd.grad(d1, x)
        with fe.no_grad():
            x = _f64(x.item() - d1.item() / d2.item())
    assert abs(x.item() ** 3 + np.exp(x.item()) - 3) < 1e-12


def test_newton_on_logistic_regression_converges_in_a_few_steps():
    """Full Newton steps with the Hessian built row by row from Hessian-vector products of
    cross_entropy over (N, 2) logits; converges to a zero gradient in a handful of steps."""
    rng = np.random.default_rng(0)
    n, d = 80, 3
    X = rng.standard_normal((n, d))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    w = np.zeros(d)
    norms = []
    for _ in range(7):
        wt = _f64(w)
        logits = fe.stack([fe.tensor(np.zeros(n)), fe.tensor(X) @ wt], dim=1)
        loss = fe.nn.functional.cross_entropy(logits, fe.tensor(y)) + (wt * wt).sum() * 0.01
        (g,) = fe.autograd.grad(loss, wt, create_graph=True)
        rows = [fe.autograd.grad(g[i], wt, retain_graph=True)[0].numpy() for i in range(d)]
        H = np.stack(rows)
        norms.append(np.linalg.norm(g.detach().numpy()))
        w = w - np.linalg.solve(H, g.detach().numpy())
    assert norms[0] > 0.1
    assert norms[-1] < 1e-12
    assert norms[-2] < norms[-3] ** 1.5  # quadratic convergence near the optimum
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_create_graph_on_an_unsupported_op_names_it():
    class NoSecondOrder(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return (grad * 2,)

    REGISTRY.remove(NoSecondOrder)
    x = fe.tensor(np.random.default_rng(0).standard_normal((1, 1, 4, 4)), requires_grad=True)
    y = NoSecondOrder.apply(fe.nn.functional.max_pool2d(x, 2)).sum()
    with pytest.raises(RuntimeError, match=r"NoSecondOrder does not support create_graph=True \(its backward is not"):
        y.backward(create_graph=True)
    y.backward()  # the plain backward still works (the failed walk freed nothing)
    assert x.grad is not None


# ---- second derivatives of the ops ported code needs, against PyTorch ----------------------------------

_ZEROS = np.array([[0.7, -1.2, 0.9, 1.1], [0.8, 0.0, -1.3, 0.6], [0.0, 1.4, 0.0, -0.9]])  # rows: no, one, two zeros
_GATHER_INDEX = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 0]])


@pytest.mark.torch_parity
@pytest.mark.parametrize("name, f, shapes", [
    ("sin", lambda lib, x: x.sin(), [(3, 4)]),
    ("cos*x", lambda lib, x: x.cos() * x, [(3, 4)]),
    ("cumsum*x", lambda lib, x: x.cumsum(1) * x, [(3, 4)]),
    ("cumsum dim0 sq", lambda lib, x: x.cumsum(0) ** 2, [(3, 4)]),
    ("prod dim", lambda lib, x: x.prod(1), [(3, 4)]),
    ("prod all", lambda lib, x: x.prod(), [(2, 3)]),
    ("prod zeros dim", lambda lib, x: x.prod(1, keepdim=True), ["zeros"]),
    ("prod zeros all", lambda lib, x: x[1:2].prod(), ["zeros"]),
    ("prod zeros two", lambda lib, x: x[2].prod(), ["zeros"]),
    ("logsumexp", lambda lib, x: x.logsumexp(1), [(3, 4)]),
    ("logsumexp keep", lambda lib, x: x.logsumexp(0, keepdim=True) * x, [(3, 4)]),
    ("norm", lambda lib, x: x.norm(), [(3, 4)]),
    ("norm dim", lambda lib, x: x.norm(dim=1), [(3, 4)]),
    ("norm p3", lambda lib, x: x.norm(3, 0), [(3, 4)]),
    ("gather", lambda lib, x: x.gather(1, lib.tensor(_GATHER_INDEX)) ** 3, [(3, 4)]),
    ("einsum", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b) ** 2, [(3, 4), (4, 2)]),
    ("einsum diag", lambda lib, x: lib.einsum("ii->i", x) * lib.einsum("ij->j", x), [(3, 3)]),
    ("einsum batch", lambda lib, a, b: lib.einsum("bij,bjk->bk", a, b).tanh(), [(2, 3, 4), (2, 4, 2)]),
    ("expm1 log1p", lambda lib, x: (x * x).log1p().expm1() * x, [(3, 4)]),
    ("maximum", lambda lib, a, b: lib.maximum(a, b) * a * b, [(3, 4), (4,)]),
])
def test_second_derivatives_of_ported_ops_match_torch(name, f, shapes):
    """The gradient under create_graph=True, then the gradient of <that gradient, v>, against torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [_ZEROS if s == "zeros" else rng.standard_normal(s) for s in shapes]
    w, vs = None, [rng.standard_normal(a.shape) for a in arrays]
    results = []
    for lib in (fe, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = f(lib, *xs)
        if w is None:
            w = rng.standard_normal(tuple(out.shape))
        gs = lib.autograd.grad((out * lib.tensor(w)).sum(), xs, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(gs, vs))
        hs = lib.autograd.grad(dot, xs)
        results.append(([g.detach().numpy() for g in gs], [h.numpy() for h in hs]))
    for ours, theirs in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    if name.startswith("prod zeros"):  # the zeros really give nonzero second derivatives (torch's too)
        assert np.any(results[0][1][0] != 0)
