"""Activations and dropout of issue 17 against PyTorch: values and gradients at the edge points (0, the
clamp points and thresholds, large |x|, NaN, +-inf) in float32 and float64, PReLU's weight gradient with
torch's weights loaded, inplace=, the modules' arguments and reprs, Softmax's dim=None rule, and dropout's
statistics (channel-wise zeros, scaling, eval identity, p = 0 and 1, bad p)."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.ops import dropout as D
from firstepoch.ops import elementwise as E
from firstepoch.reference import dropout as RD
from firstepoch.reference import elementwise as RE

EDGES = [-1e4, -100.0, -30.0, -20.0, -6.0, -3.0, -1.0, -1e-3, -0.0, 0.0, 1e-3, 0.5, 1.0, 1.5, 3.0, 5.0, 6.0,
         10.0, 20.0, 20.5, 30.0, 100.0, 1e4, np.nan, np.inf, -np.inf]
TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}
DTYPES = [np.float32, np.float64]

# (name, our function, torch function) as lambdas of the input; torch names them the same
ACTIVATIONS = [
    ("elu", lambda F_, x: F_.elu(x)),
    ("elu_alpha", lambda F_, x: F_.elu(x, alpha=0.5)),
    ("selu", lambda F_, x: F_.selu(x)),
    ("silu", lambda F_, x: F_.silu(x)),
    ("mish", lambda F_, x: F_.mish(x)),
    ("hardtanh", lambda F_, x: F_.hardtanh(x)),
    ("hardtanh_bounds", lambda F_, x: F_.hardtanh(x, -3.0, 0.5)),
    ("relu6", lambda F_, x: F_.relu6(x)),
    ("softsign", lambda F_, x: F_.softsign(x)),
    ("softplus", lambda F_, x: F_.softplus(x)),
    ("softplus_beta", lambda F_, x: F_.softplus(x, beta=2.0, threshold=3.0)),
    ("softplus_small_beta", lambda F_, x: F_.softplus(x, beta=0.5, threshold=5.0)),
    ("hardsigmoid", lambda F_, x: F_.hardsigmoid(x)),
    ("hardswish", lambda F_, x: F_.hardswish(x)),
    ("relu", lambda F_, x: F_.relu(x)),
    ("leaky_relu", lambda F_, x: F_.leaky_relu(x, 0.2)),
]


def _torch():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def _edge_input(rng, dtype):
    return np.concatenate([np.array(EDGES), rng.standard_normal(40) * 4]).astype(dtype)


def _value_and_grad(fn, module, tensor_of, a, g):
    x = tensor_of(a)
    y = fn(module, x)
    y.backward(tensor_of(g))
    return np.asarray(y.detach().numpy()), np.asarray(x.grad.detach().numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_values_and_gradients_match_torch_at_the_edges(name, fn, dtype, rng):
    torch, TF = _torch()
    a = _edge_input(rng, dtype)
    g = rng.standard_normal(a.shape).astype(dtype)
    with np.errstate(all="ignore"):
        ours = _value_and_grad(fn, F, lambda v: fe.tensor(v, requires_grad=True), a, g)
    want = _value_and_grad(fn, TF, lambda v: torch.tensor(v, requires_grad=True), a, g)
    if name == "relu":  # torch passes the gradient at a NaN input (its mask is not result <= 0); ours is 0
        ours[1][np.isnan(a)] = want[1][np.isnan(a)]
    for got, exp, what in zip(ours, want, ("value", "gradient")):
        assert got.dtype == dtype, (name, what)
        tol = TOL[dtype]
        if name == "hardsigmoid" and what == "gradient":  # torch's float64 kernel scales by float32(1/6)
            tol = dict(rtol=1e-7, atol=0)
        np.testing.assert_allclose(got, exp, equal_nan=True, err_msg=f"{name} {what}", **tol)


SMOOTH = [a for a in ACTIVATIONS if a[0] in ("elu", "elu_alpha", "selu", "silu", "mish", "softsign", "softplus",
                                              "softplus_beta", "softplus_small_beta", "hardswish")]


@pytest.mark.parametrize("name,fn", SMOOTH, ids=[a[0] for a in SMOOTH])
def test_second_derivatives_match_torch(name, fn, rng):
    torch, TF = _torch()
    a = rng.standard_normal(30) * 3
    a[np.abs(a) < 0.05] = 0.3
    v = rng.standard_normal(30)
    x = fe.tensor(a, requires_grad=True)
    (gx,) = fe.autograd.grad(fn(F, x), x, fe.tensor(v), create_graph=True)
    (ggx,) = fe.autograd.grad((gx * fe.tensor(v)).sum(), x)
    tx = torch.tensor(a, requires_grad=True)
    (tgx,) = torch.autograd.grad(fn(TF, tx), tx, torch.tensor(v), create_graph=True)
    tggx = torch.autograd.grad((tgx * torch.tensor(v)).sum(), tx, allow_unused=True)[0]
    tggx = np.zeros_like(a) if tggx is None else tggx.detach().numpy()
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ggx.detach().numpy(), tggx, rtol=1e-9, atol=1e-12)


# ---- the ops against their NumPy references -------------------------------------------------------------

REFERENCE_CASES = [
    (E.ELUFn, RE.elu_forward, RE.elu_backward, (0.7,)),
    (E.ELUFn, RE.elu_forward, RE.elu_backward, (E.SELU_ALPHA, E.SELU_SCALE)),
    (E.SiluFn, RE.silu_forward, RE.silu_backward, ()),
    (E.MishFn, RE.mish_forward, RE.mish_backward, ()),
    (E.HardtanhFn, RE.hardtanh_forward, RE.hardtanh_backward, (-0.5, 2.0)),
    (E.SoftsignFn, RE.softsign_forward, RE.softsign_backward, ()),
    (E.SoftplusFn, RE.softplus_forward, RE.softplus_backward, (1.5, 4.0)),
    (E.HardsigmoidFn, RE.hardsigmoid_forward, RE.hardsigmoid_backward, ()),
    (E.HardswishFn, RE.hardswish_forward, RE.hardswish_backward, ()),
]


@pytest.mark.parametrize("fn,forward,backward,options", REFERENCE_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_ops_match_the_numpy_reference(fn, forward, backward, options, rng):
    a = rng.uniform(-6, 6, (7, 13))
    g = rng.standard_normal(a.shape)
    x = fe.tensor(a, requires_grad=True)
    y = fn.apply(x, *options)
    y.backward(fe.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), forward(a, *options), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad.detach().numpy(), backward(g, a, *options), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape,wshape", [((2, 3, 4, 5), (3,)), ((4, 3), (3,)), ((2, 3, 4), (1,)), ((5,), ()),
                                          ((3, 1), (1,))])
def test_prelu_matches_the_reference(shape, wshape, rng):
    a, w, g = rng.standard_normal(shape), rng.uniform(-0.5, 0.5, wshape), rng.standard_normal(shape)
    x, wt = fe.tensor(a, requires_grad=True), fe.tensor(w, requires_grad=True)
    y = F.prelu(x, wt)
    y.backward(fe.tensor(g))
    dx, dw = RE.prelu_backward(g, a, w)
    np.testing.assert_allclose(y.detach().numpy(), RE.prelu_forward(a, w), rtol=1e-14)
    np.testing.assert_allclose(x.grad.detach().numpy(), dx, rtol=1e-14)
    assert wt.grad.shape == w.shape
    np.testing.assert_allclose(wt.grad.detach().numpy(), dw, rtol=1e-12)


# ---- PReLU against torch ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("num_parameters,shape", [(3, (2, 3, 4, 5)), (3, (4, 3)), (1, (2, 3, 4)), (1, (7,)),
                                                  (1, ()), (5, (2, 5, 6))])
def test_prelu_module_with_torch_weights(num_parameters, shape, dtype, rng):
    torch, _ = _torch()
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    tm = torch.nn.PReLU(num_parameters, dtype=tdtype)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(rng.uniform(-1, 1, num_parameters)))
    m = nn.PReLU(num_parameters, dtype=dtype)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    a = rng.standard_normal(shape).astype(dtype)
    if a.size > 2:
        a.flat[:3] = [0.0, np.nan, -np.inf]  # the slope at 0 is the weight; NaN and -inf reach dweight
    g = rng.standard_normal(shape).astype(dtype)
    x, tx = fe.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = m(x), tm(tx)
    y.backward(fe.tensor(g))
    ty.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), equal_nan=True, **tol)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.detach().numpy(), equal_nan=True, **tol)
    np.testing.assert_allclose(m.weight.grad.detach().numpy(), tm.weight.grad.detach().numpy(), equal_nan=True, **tol)
    assert m.weight.dtype == dtype and m.weight.shape == (num_parameters,)


def test_prelu_defaults_errors_and_tensor_method():
    m = nn.PReLU()
    assert m.weight.shape == (1,) and m.weight.dtype == np.float32 and np.all(m.weight.detach().numpy() == 0.25)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    np.testing.assert_allclose(nn.PReLU(4, init=0.1).weight.detach().numpy(), [0.1] * 4)
    x = fe.tensor([[-2.0, 1.0, -1.0]])
    np.testing.assert_allclose(x.prelu(fe.tensor([0.5, 0.5, 0.25])).detach().numpy(), [[-1.0, 1.0, -0.25]])
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(fe.zeros(2, 4), fe.ones(3))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        F.prelu(fe.zeros(3), fe.ones(3))
    with pytest.raises(RuntimeError, match="zero-dim"):
        F.prelu(fe.tensor(1.0), fe.ones(3))
    with pytest.raises(RuntimeError, match="scalar or 1D"):
        F.prelu(fe.zeros(2, 3), fe.ones(3, 1))
    with pytest.raises(RuntimeError, match="Type promoting"):
        F.prelu(fe.zeros(2, 3, dtype=fe.float64), fe.ones(3))


# ---- modules: arguments, defaults, reprs ----------------------------------------------------------------

MODULES = [
    ("ELU", (), {}), ("ELU", (0.5, True), {}), ("SELU", (), {}), ("SELU", (True,), {}), ("SiLU", (), {}),
    ("Mish", (), {"inplace": True}), ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 2.0, True), {}),
    ("ReLU6", (), {}), ("ReLU6", (True,), {}), ("Softsign", (), {}), ("Softplus", (), {}),
    ("Softplus", (2.0, 10.0), {}), ("PReLU", (3,), {}), ("PReLU", (), {"init": 0.1}), ("Softmax", (), {}),
    ("Softmax", (1,), {}), ("LogSoftmax", (), {"dim": 0}), ("ReLU", (True,), {}), ("ReLU", (), {}),
    ("LeakyReLU", (0.2, True), {}), ("Hardsigmoid", (), {}), ("Hardswish", (True,), {}),
    ("Dropout", (0.3,), {}), ("Dropout", (), {"inplace": True}), ("Dropout2d", (0.3,), {}),
    ("AlphaDropout", (0.2, True), {}), ("Identity", (3,), {"a": 4}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=lambda v: str(v))
def test_modules_take_torchs_arguments_and_print_as_torch(name, args, kwargs):
    torch, _ = _torch()
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_modules_compute_what_torch_modules_compute(dtype, rng):
    torch, _ = _torch()
    a = _edge_input(rng, dtype).reshape(6, -1)
    for name, args in [("ELU", (0.3,)), ("SELU", ()), ("SiLU", ()), ("Mish", ()), ("Hardtanh", (-0.5, 2.0)),
                       ("ReLU6", ()), ("Softsign", ()), ("Softplus", (3.0, 8.0)), ("Hardsigmoid", ()),
                       ("Hardswish", ()), ("LeakyReLU", (0.1,)), ("Softmax", (1,)), ("LogSoftmax", (0,))]:
        finite = a if name not in ("Softmax", "LogSoftmax") else np.nan_to_num(a, posinf=50, neginf=-50)
        with np.errstate(all="ignore"):
            got = getattr(nn, name)(*args)(fe.tensor(finite)).detach().numpy()
        want = getattr(torch.nn, name)(*args)(torch.tensor(finite)).detach().numpy()
        tol = dict(TOL[dtype], atol=1e-6) if dtype == np.float32 else TOL[dtype]
        np.testing.assert_allclose(got, want, equal_nan=True, err_msg=name, **tol)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_softmax_modules_without_dim_follow_torchs_legacy_rule(name, shape, rng):
    torch, _ = _torch()
    a = rng.standard_normal(shape).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = getattr(nn, name)()(fe.tensor(a)).detach().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(torch.nn, name)()(torch.tensor(a)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_hardtanh_bound_checks_and_deprecated_names():
    with pytest.raises(AssertionError, match="must be greater"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater"):
        F.hardtanh(fe.zeros(3), 2.0, 1.0)
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-3.0)
    assert m.min_val == -3.0


def test_integer_inputs_as_torch():
    x = fe.tensor([-2, 0, 3, 9])
    for fn in (F.elu, F.selu, F.silu, F.mish, F.softplus, F.hardsigmoid, F.hardswish, F.leaky_relu):
        with pytest.raises(NotImplementedError, match="not implemented for int64"):
            fn(x)
    h = F.hardtanh(x)
    assert h.dtype == np.int64 and h.tolist() == [-1, 0, 1, 1]
    assert F.relu6(x).tolist() == [0, 0, 3, 6] and F.relu6(x).dtype == np.int64
    s = F.softsign(x)
    assert s.dtype == np.float32
    np.testing.assert_allclose(s.detach().numpy(), [-2 / 3, 0, 0.75, 0.9], rtol=1e-6)


# ---- inplace= ---------------------------------------------------------------------------------------------

INPLACE = [
    ("relu", lambda F_, x, ip: F_.relu(x, inplace=ip)),
    ("leaky_relu", lambda F_, x, ip: F_.leaky_relu(x, 0.1, inplace=ip)),
    ("elu", lambda F_, x, ip: F_.elu(x, 0.7, inplace=ip)),
    ("selu", lambda F_, x, ip: F_.selu(x, inplace=ip)),
    ("silu", lambda F_, x, ip: F_.silu(x, inplace=ip)),
    ("mish", lambda F_, x, ip: F_.mish(x, inplace=ip)),
    ("hardtanh", lambda F_, x, ip: F_.hardtanh(x, -0.5, 0.5, inplace=ip)),
    ("relu6", lambda F_, x, ip: F_.relu6(x, inplace=ip)),
    ("hardsigmoid", lambda F_, x, ip: F_.hardsigmoid(x, inplace=ip)),
    ("hardswish", lambda F_, x, ip: F_.hardswish(x, inplace=ip)),
    ("relu_", lambda F_, x, ip: F_.relu_(x)),
    ("elu_", lambda F_, x, ip: F_.elu_(x, 0.7)),
    ("selu_", lambda F_, x, ip: F_.selu_(x)),
    ("leaky_relu_", lambda F_, x, ip: F_.leaky_relu_(x, 0.1)),
    ("hardtanh_", lambda F_, x, ip: F_.hardtanh_(x, -0.5, 0.5)),
    ("Tensor.relu_", lambda F_, x, ip: x.relu_()),
    ("Tensor.sigmoid_", lambda F_, x, ip: x.sigmoid_()),
    ("Tensor.tanh_", lambda F_, x, ip: x.tanh_()),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_writes_the_input_and_differentiates_as_torch(name, fn, rng):
    torch, TF = _torch()
    a = rng.standard_normal((3, 5)) * 4
    g = rng.standard_normal((3, 5))
    # no graph: the input's own memory changes, the input is returned
    x = fe.tensor(a.copy())
    view = x[1]
    assert fn(F, x, True) is x
    want = fn(TF, torch.tensor(a.copy()), True).detach().numpy()
    np.testing.assert_allclose(x.detach().numpy(), want, rtol=1e-7)  # (torch's float64 hardsigmoid scales by float32(1/6))
    np.testing.assert_allclose(view.detach().numpy(), want[1], rtol=1e-7)  # a view sees the change
    # a leaf that requires grad refuses, as torch
    with pytest.raises(RuntimeError, match="leaf Variable"):
        fn(F, fe.tensor(a, requires_grad=True), True)
    # an intermediate: the gradient flows through the in-place op as through torch's
    leaf, tleaf = fe.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    h, th = leaf * 2.0, tleaf * 2.0
    out, tout = fn(F, h, True), fn(TF, th, True)
    assert out is h
    (out * fe.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-7)
    np.testing.assert_allclose(leaf.grad.detach().numpy(), tleaf.grad.detach().numpy(), rtol=1e-7, atol=1e-15)


def test_inplace_on_a_value_a_backward_needs_raises_as_torch():
    """sigmoid saves its output; changing that output in place makes the backward fail (both libraries)."""
    leaf = fe.tensor([0.5, -1.0], requires_grad=True)
    s = leaf.sigmoid()
    F.elu(s, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()


def test_inplace_modules_in_a_network_match_torch(rng):
    torch, _ = _torch()
    tnet = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(inplace=True), torch.nn.Linear(8, 8),
                               torch.nn.ELU(inplace=True), torch.nn.Linear(8, 8), torch.nn.Hardtanh(inplace=True),
                               torch.nn.Dropout(0.3, inplace=True), torch.nn.Linear(8, 8), torch.nn.SiLU(True),
                               torch.nn.PReLU(8), torch.nn.Linear(8, 3))
    ours = nn.Sequential(nn.Linear(6, 8), nn.ReLU(inplace=True), nn.Linear(8, 8), nn.ELU(inplace=True),
                         nn.Linear(8, 8), nn.Hardtanh(inplace=True), nn.Dropout(0.3, inplace=True), nn.Linear(8, 8),
                         nn.SiLU(True), nn.PReLU(8), nn.Linear(8, 3))
    with torch.no_grad():
        tnet[9].weight.uniform_(-0.5, 0.5)
    ours.load_state_dict(tnet.state_dict())
    tnet.eval()
    ours.eval()
    a = rng.standard_normal((5, 6)).astype(np.float32)
    y, ty = ours(fe.tensor(a)), tnet(torch.tensor(a))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    for (name, p), (_, tp) in zip(ours.named_parameters(), tnet.named_parameters()):
        np.testing.assert_allclose(p.grad.detach().numpy(), tp.grad.detach().numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


# ---- Dropout2d -------------------------------------------------------------------------------------------

def test_dropout2d_zeroes_whole_channels_with_probability_p():
    fe.manual_seed(3)
    p = 0.3
    x = fe.ones(200, 50, 4, 5, requires_grad=True)
    y = F.dropout2d(x, p)
    per_channel = y.detach().numpy().reshape(200, 50, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # each channel is all dropped or all kept
    np.testing.assert_allclose(np.unique(per_channel), [0.0, 1 / (1 - p)], rtol=1e-6)
    assert abs((per_channel[..., 0] == 0).mean() - p) < 0.015  # 10000 draws: about 3.5 sigma
    y.backward(fe.ones(*y.shape))
    np.testing.assert_array_equal(x.grad.detach().numpy(), y.detach().numpy())  # the gradient is the scaled mask
    m = nn.Dropout2d(p)
    assert m(x).shape == x.shape
    m.eval()
    assert m(x) is x
    assert F.dropout2d(x, p, training=False) is x and F.dropout2d(x, 0.0) is x


def test_dropout2d_matches_the_reference_with_a_given_mask(rng):
    a, g = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    keep = rng.random((2, 3, 1, 1)) >= 0.4
    x = fe.tensor(a, requires_grad=True)
    y = D.DropoutFn.apply(x, 0.4, keep)
    y.backward(fe.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), RD.dropout_forward(a, 0.4, keep), rtol=1e-15)
    np.testing.assert_allclose(x.grad.detach().numpy(), RD.dropout_backward(g, 0.4, keep), rtol=1e-15)
    with pytest.raises(ValueError, match="does not broadcast"):
        D.DropoutFn.apply(x, 0.4, keep[:, :2])


def test_dropout2d_shapes_warnings_and_p_edges_as_torch():
    torch, TF = _torch()
    fe.manual_seed(0)
    with pytest.warns(UserWarning, match=r"\(N, C, L\)"):  # 3-d: torch 2.13 takes (N, C, L), one draw per (N, C)
        y = F.dropout2d(fe.ones(40, 30, 6), 0.5).detach().numpy()
    assert np.all(y.min(-1) == y.max(-1)) and 0 < (y == 0).mean() < 1
    with pytest.warns(UserWarning, match="Received a 2-D input"):
        F.dropout2d(fe.ones(4, 3), 0.5)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.dropout2d(fe.ones(4), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            TF.dropout2d(torch.ones(4), 0.5)
    a = np.array([[[[np.nan, 1.0]]], [[[2.0, -3.0]]]], np.float32)
    got = F.dropout2d(fe.tensor(a), 1.0).detach().numpy()
    np.testing.assert_array_equal(got, TF.dropout2d(torch.tensor(a), 1.0).detach().numpy())  # x * 0: NaN stays NaN


@pytest.mark.parametrize("fn", ["dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_p_raises_value_error_as_torch(fn, p):
    torch, TF = _torch()
    with pytest.raises(ValueError):
        getattr(TF, fn)(torch.ones(2, 3, 4, 4), p)
    with pytest.raises(ValueError, match="p must be in"):
        getattr(F, fn)(fe.ones(2, 3, 4, 4), p)
    for module in ("Dropout", "Dropout2d", "AlphaDropout"):
        with pytest.raises(ValueError):
            getattr(torch.nn, module)(p)
        with pytest.raises(ValueError, match="p must be in"):
            getattr(nn, module)(p)


def test_dropout_inplace_writes_the_input():
    fe.manual_seed(1)
    x = fe.ones(100, 10)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(x.detach().numpy())) == {0.0, 2.0}
    x = fe.ones(10, 8, 3, 3)
    assert nn.Dropout2d(0.5, inplace=True)(x) is x
    assert set(np.unique(x.detach().numpy())) == {0.0, 2.0}


# ---- AlphaDropout ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
def test_alpha_dropout_takes_torchs_two_values_and_keeps_selu_moments(p):
    torch, TF = _torch()
    fe.manual_seed(5)
    zeros = np.zeros(20000, np.float64)
    got = np.unique(F.alpha_dropout(fe.tensor(zeros), p, training=True).detach().numpy())
    want = np.unique(TF.alpha_dropout(torch.tensor(zeros), p, True).detach().numpy())
    np.testing.assert_allclose(got, want, rtol=1e-14)  # the dropped value and b, exactly torch's
    x = fe.randn(400000, dtype=fe.float64)
    y = nn.AlphaDropout(p)(x).detach().numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01  # mean 0 and variance 1 survive
    dropped = np.isclose(y, want[0])
    assert abs(dropped.mean() - p) < 0.005


def test_alpha_dropout_gradient_eval_and_p_edges(rng):
    torch, TF = _torch()
    a, g = rng.standard_normal((6, 7)), rng.standard_normal((6, 7))
    keep = rng.random((6, 7)) >= 0.25
    x = fe.tensor(a, requires_grad=True)
    y = D.AlphaDropoutFn.apply(x, 0.25, keep)
    y.backward(fe.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), RD.alpha_dropout_forward(a, 0.25, keep), rtol=1e-14)
    np.testing.assert_allclose(x.grad.detach().numpy(), RD.alpha_dropout_backward(g, 0.25, keep), rtol=1e-14)
    x = fe.tensor(a)
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False in the functional form, as torch
    assert TF.alpha_dropout(torch.tensor(a), 0.5).detach().numpy().tolist() == a.tolist()
    assert F.alpha_dropout(x, 0.0, training=True) is x
    m = nn.AlphaDropout(0.5)
    m.eval()
    assert m(x) is x
    b = np.array([np.nan, 1.0, -2.0])
    np.testing.assert_array_equal(F.alpha_dropout(fe.tensor(b), 1.0, True).detach().numpy(),
                                  TF.alpha_dropout(torch.tensor(b), 1.0, True).detach().numpy())


def test_feature_alpha_dropout_is_channel_wise():
    fe.manual_seed(2)
    y = F.feature_alpha_dropout(fe.zeros(50, 20, 3, 3), 0.4, training=True).detach().numpy().reshape(50, 20, -1)
    assert np.all(y.min(-1) == y.max(-1)) and len(np.unique(y)) == 2


def test_identity_accepts_and_ignores_arguments():
    x = fe.ones(2, 3)
    assert nn.Identity(3, 4, bias=True)(x) is x


EVERY_ACTIVATION = [("prelu", lambda F_, x: F_.prelu(x, fe.ones(1))), ("sigmoid", lambda F_, x: F_.sigmoid(x))] + ACTIVATIONS


@pytest.mark.parametrize("name,fn", EVERY_ACTIVATION, ids=[a[0] for a in EVERY_ACTIVATION])
def test_empty_zero_dim_and_non_contiguous_inputs(name, fn, rng):
    z = fe.zeros(0, 3, requires_grad=True)
    y = fn(F, z)
    y.sum().backward()
    assert y.shape == (0, 3) and z.grad.shape == (0, 3)
    for v in (-0.5, 0.5):  # a 0-d input: NumPy gives scalars there, which the in-place passes must survive
        s = fe.tensor(np.float32(v), requires_grad=True)
        y = fn(F, s)
        y.backward()
        assert y.shape == () and s.grad.shape == () and y.dtype == np.float32
    a = rng.standard_normal((5, 7)).astype(np.float32)
    x, xc = fe.tensor(a.T, requires_grad=True), fe.tensor(np.ascontiguousarray(a.T), requires_grad=True)
    y, yc = fn(F, x), fn(F, xc)
    y.sum().backward()
    yc.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), yc.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), xc.grad.numpy())


@pytest.mark.torch_parity
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("log", [False, True])
def test_functional_softmax_without_dim_and_with_dtype_as_torch(ndim, log):
    """F.softmax(x) without dim picks torch's implicit dim (0 for 1-d and 3-d input) with its warning
    (it took -1, silently); dtype= casts the input first."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim]).astype(np.float32)
    ours, theirs = (F.log_softmax, torch.nn.functional.log_softmax) if log else (F.softmax, torch.nn.functional.softmax)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = ours(fe.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = theirs(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    got = ours(fe.tensor(x), dim=-1, dtype=fe.float64)
    want = theirs(torch.tensor(x), dim=-1, dtype=torch.float64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
