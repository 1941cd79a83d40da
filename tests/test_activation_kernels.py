"""The activation kernel family (_C.activation_forward / _backward, prelu_forward / _backward,
pointwise_loss_forward / _backward) against its NumPy twins in firstepoch.reference, at every ISA level,
in float32 and float64, at sizes 0, 1, primes and more than one thread's chunk; bitwise the same for 1,
2, 3 and 7 threads (the losses' sums and PReLU's dweight included); NaN and inf as PyTorch; the
bindings' argument errors; non-contiguous inputs at the ops level; and the loss API torch 2.13 has
(weight= of mse/l1/huber, legacy size_average/reduce)."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.reference import elementwise as RE, loss as RL

KINDS = [("relu", ()), ("sigmoid", ()), ("tanh", ()), ("elu", (1.3, 1.05)), ("silu", ()), ("mish", ()),
         ("hardtanh", (-0.5, 2.0)), ("softsign", ()), ("softplus", (2.0, 5.0)), ("hardsigmoid", ()),
         ("hardswish", ()), ("leaky_relu", (0.1,)), ("gelu", ()), ("gelu_tanh", ())]
SIZES = [0, 1, 13, 127, 1031, 70001]  # 70001: more than one thread's 32K-element chunk
DTYPES = [np.float32, np.float64]
# float32 math (common/simd_math.h) against the float64 reference: a few ulp of the value's scale
TOL = {np.float32: dict(rtol=3e-6, atol=3e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
THREADS = [1, 2, 3, 7]


@pytest.fixture
def threads():
    before = fe.get_num_threads()
    yield
    fe.set_num_threads(before)


def close(got, want, dtype, scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol["rtol"], atol=tol["atol"] * scale)


def act(x, kind, options, dy=None):
    y = np.full_like(x, np.nan)
    _C.activation_forward(x, y, kind, *options)
    if dy is None:
        return y
    dx = np.full_like(x, np.nan)
    _C.activation_backward(dy, x, dx, kind, *options)
    return y, dx


# ---- activations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,options", KINDS, ids=[k for k, _ in KINDS])
def test_activation_matches_the_reference(isa, kind, options, dtype, n, rng):
    x = rng.uniform(-8, 8, n).astype(dtype)
    dy = rng.standard_normal(n).astype(dtype)
    y, dx = act(x, kind, options, dy)
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        close(y, RE.activation_forward(x64, kind, *options), dtype, scale=8)
        close(dx, RE.activation_backward(dy.astype(np.float64), x64, kind, *options), dtype, scale=8)


@pytest.mark.parametrize("kind,options", KINDS, ids=[k for k, _ in KINDS])
def test_activation_is_bitwise_the_same_for_any_thread_count(kind, options, rng, threads):
    x = rng.uniform(-8, 8, (3, 70001)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for t in THREADS:
        fe.set_num_threads(t)
        results.append(act(x, kind, options, dy))
    for y, dx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_keeps_the_input_shape_and_every_kind_has_a_twin(dtype):
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4).astype(dtype)
    for kind, options in KINDS:
        y = act(x, kind, options)
        assert y.shape == x.shape
        close(y, RE.activation_forward(x.astype(np.float64), kind, *options), dtype)
    with pytest.raises(ValueError, match="kind must be one of"):
        act(x, "swish", ())
    with pytest.raises(ValueError, match="kind must be one of"):
        RE.activation_forward(x, "swish")


# ---- PReLU ---------------------------------------------------------------------------------------------

PRELU_SHAPES = [((0, 3, 4), 3), ((1,), 1), ((5,), 1), ((2, 3), 3), ((4, 3, 17), 3), ((2, 64, 131), 64),
                ((7, 5), 1), ((3, 2, 5, 7), 2), ((2, 5, 20011), 5), ((40009, 3), 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,channels", PRELU_SHAPES, ids=str)
def test_prelu_matches_the_reference(isa, shape, channels, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-0.5, 0.5, channels).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y, dx, dw = np.full_like(x, np.nan), np.full_like(x, np.nan), np.full_like(w, np.nan)
    _C.prelu_forward(x, w, y)
    _C.prelu_backward(dy, x, w, dx, dw)
    rdx, rdw = RE.prelu_backward(dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64))
    close(y, RE.prelu_forward(x.astype(np.float64), w.astype(np.float64)), dtype)
    close(dx, rdx, dtype)
    close(dw, rdw, dtype, scale=max(1.0, np.sqrt(x.size / channels)))
    dx2, dw2 = np.full_like(x, np.nan), np.full_like(w, np.nan)  # one output at a time: the same
    _C.prelu_backward(dy, x, w, dx2, None)
    _C.prelu_backward(dy, x, w, None, dw2)
    np.testing.assert_array_equal(dx2, dx)
    np.testing.assert_array_equal(dw2, dw)


@pytest.mark.parametrize("shape,channels", [((3, 5, 40000), 5), ((40000, 7), 7), ((300001,), 1)], ids=str)
def test_prelu_dweight_is_bitwise_the_same_for_any_thread_count(shape, channels, rng, threads):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0, 0.5, channels).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    results = []
    for t in THREADS:
        fe.set_num_threads(t)
        y, dx, dw = np.empty_like(x), np.empty_like(x), np.empty_like(w)
        _C.prelu_forward(x, w, y)
        _C.prelu_backward(dy, x, w, dx, dw)
        results.append((y, dx, dw))
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            np.testing.assert_array_equal(a, b)


# ---- pointwise losses ----------------------------------------------------------------------------------

LOSS_KINDS = ["binary_cross_entropy_with_logits", "binary_cross_entropy", "smooth_l1", "huber", "kl_div",
              "kl_div_log_target", "mse", "l1"]
WEIGHTED = ("binary_cross_entropy_with_logits", "binary_cross_entropy")


def loss_operands(kind, shape, dtype, rng):
    x = rng.standard_normal(shape) * 2
    y = rng.standard_normal(shape)
    if kind == "binary_cross_entropy":
        x = rng.uniform(0.01, 0.99, shape)
        y = rng.uniform(0, 1, shape)
    elif kind in ("binary_cross_entropy_with_logits", "kl_div"):
        y = rng.uniform(0, 1, shape)
        if kind == "kl_div" and y.size:
            y.reshape(-1)[::7] = 0  # xlogy(0, 0) = 0
    return x.astype(dtype), y.astype(dtype)


def kernel_loss(x, y, kind, reduction, param=0.0, pw=None, w=None, grad=None):
    out = np.full(x.shape if reduction == "none" else (), np.nan, x.dtype)
    _C.pointwise_loss_forward(x, y, out, kind, reduction, param, pw, w)
    if grad is None:
        return out
    dx, dy = np.full_like(x, np.nan), np.full_like(x, np.nan)
    _C.pointwise_loss_backward(grad, x, y, dx, dy, kind, reduction, param, pw, w)
    return out, dx, dy


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_loss_matches_the_reference(isa, kind, reduction, dtype, n, rng):
    cols = 7 if n % 7 == 0 and n else max(n, 1)
    shape = (n // cols, cols) if n else (0, 3)
    x, y = loss_operands(kind, shape, dtype, rng)
    param = {"smooth_l1": 0.7, "huber": 1.3}.get(kind, 0.0)
    weights = [(None, None)]
    if kind in WEIGHTED:
        wfull = rng.uniform(0.5, 2, shape).astype(dtype)
        wcol = rng.uniform(0.5, 2, shape[-1]).astype(dtype)
        weights += [(None, wfull), (wcol, None), (wfull, wcol)] if kind == WEIGHTED[0] else [(None, wfull),
                                                                                            (None, wcol)]
    for pw, w in weights:
        grad = rng.standard_normal(shape if reduction == "none" else ()).astype(dtype)
        out, dx, dy = kernel_loss(x, y, kind, reduction, param, pw, w, grad)
        f64 = (lambda a: None if a is None else a.astype(np.float64))
        args = (f64(x), f64(y), kind, reduction, param, f64(pw), f64(w))
        with np.errstate(all="ignore"):
            want = RL.pointwise_loss_forward(*args)
            rdx, rdy = RL.pointwise_loss_backward(f64(grad), *args)
        k = max(x.size, 1)
        close(out, want, dtype, scale=(np.sqrt(k) if reduction != "none" else 1) * 10)
        close(dx, rdx, dtype, scale=10)
        close(dy, rdy, dtype, scale=10)


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_loss_is_bitwise_the_same_for_any_thread_count(kind, reduction, rng, threads):
    x, y = loss_operands(kind, (3001, 101), np.float32, rng)
    pw = rng.uniform(0.5, 2, 101).astype(np.float32) if kind == WEIGHTED[0] else None
    grad = rng.standard_normal(x.shape if reduction == "none" else ()).astype(np.float32)
    results = []
    for t in THREADS:
        fe.set_num_threads(t)
        results.append(kernel_loss(x, y, kind, reduction, 1.0 if kind in ("smooth_l1", "huber") else 0.0, pw,
                                   None, grad))
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            np.testing.assert_array_equal(a, b)


def test_loss_sum_of_nothing_and_mean_of_nothing():
    x = np.zeros((0, 4), np.float32)
    assert kernel_loss(x, x, "mse", "sum") == 0
    assert np.isnan(kernel_loss(x, x, "mse", "mean"))


# ---- NaN and inf as PyTorch ---------------------------------------------------------------------------

SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 25.0, -25.0, 100.0, -100.0, 0.5, -0.5,
            1e-3]


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_nan_and_inf_as_torch(dtype):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    v = np.array(SPECIALS, dtype)
    x, t = np.repeat(v, len(v)), np.tile(v, len(v))
    pairs = [
        (lambda F_, a, b: F_.smooth_l1_loss(a, b, reduction="none", beta=0.5), x, t),
        (lambda F_, a, b: F_.huber_loss(a, b, reduction="none", delta=2.0), x, t),
        (lambda F_, a, b: F_.mse_loss(a, b, reduction="none"), x, t),
        (lambda F_, a, b: F_.l1_loss(a, b, reduction="none"), x, t),
        (lambda F_, a, b: F_.kl_div(a, b, reduction="none", log_target=True), x, t),
        (lambda F_, a, b: F_.binary_cross_entropy_with_logits(a, b, reduction="none"), x,
         np.tile(np.array([0, 0.25, 1, np.nan], dtype), len(x) // 4)),
    ]
    for fn, a, b in pairs:
        ours = fe.tensor(a, requires_grad=True)
        out = fn(F, ours, fe.tensor(b))
        out.backward(fe.tensor(np.ones_like(a)))
        theirs = torch.tensor(a, requires_grad=True)
        ref = fn(TF, theirs, torch.tensor(b))
        ref.backward(torch.ones_like(ref))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


# ---- the bindings' argument checks ---------------------------------------------------------------------

def test_activation_binding_errors_name_the_argument():
    x = np.ones(8, np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
        _C.activation_forward(np.ones(8, np.int64), np.ones(8), "relu")
    with pytest.raises(TypeError, match="y must have dtype float32"):
        _C.activation_forward(x, np.ones(8), "relu")
    with pytest.raises(ValueError, match=r"y has shape \(7,\), x has \(8,\)"):
        _C.activation_forward(x, np.ones(7, np.float32), "relu")
    with pytest.raises(ValueError, match="y shares memory with x"):
        _C.activation_forward(x, x, "relu")
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.activation_forward(np.ones(16, np.float32)[::2], np.ones(8, np.float32), "relu")
    with pytest.raises(ValueError, match="read-only"):
        ro = np.ones(8, np.float32)
        ro.flags.writeable = False
        _C.activation_forward(x, ro, "relu")
    with pytest.raises(ValueError, match="dx shares memory with dy"):
        _C.activation_backward(x, np.ones(8, np.float32), x, "relu")
    with pytest.raises(ValueError, match=r"dy has shape \(4,\)"):
        _C.activation_backward(np.ones(4, np.float32), x, np.ones(8, np.float32), "relu")


def test_prelu_and_loss_binding_errors_name_the_argument():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"weight with shape \(2,\) must hold one slope, or one per channel"):
        _C.prelu_forward(x, np.ones(2, np.float32), np.ones_like(x))
    with pytest.raises(TypeError, match="weight must have dtype float32"):
        _C.prelu_forward(x, np.ones(3), np.ones_like(x))
    with pytest.raises(ValueError, match="dweight shares memory with weight"):
        w = np.ones(3, np.float32)
        _C.prelu_backward(x, x.copy(), w, None, w)
    with pytest.raises(TypeError, match="dx must be a numpy array or None"):
        _C.prelu_backward(x, x.copy(), np.ones(3, np.float32), [1.0], None)
    out = np.empty((), np.float32)
    with pytest.raises(ValueError, match=r"target has shape \(3, 2\), input has \(2, 3\)"):
        _C.pointwise_loss_forward(x, np.ones((3, 2), np.float32), out, "mse")
    with pytest.raises(TypeError, match="target must have dtype float32"):
        _C.pointwise_loss_forward(x, np.ones((2, 3)), out, "mse")
    with pytest.raises(ValueError, match="out must be 0-D"):
        _C.pointwise_loss_forward(x, x.copy(), np.empty(1, np.float32), "mse", "sum")
    with pytest.raises(ValueError, match=r"out has shape \(\), input has \(2, 3\)"):
        _C.pointwise_loss_forward(x, x.copy(), out, "mse", "none")
    with pytest.raises(ValueError, match="weight with shape \\(2,\\) must have input's shape"):
        _C.pointwise_loss_forward(x, x.copy(), out, "binary_cross_entropy", "sum", weight=np.ones(2, np.float32))
    with pytest.raises(ValueError, match="reduction must be"):
        _C.pointwise_loss_forward(x, x.copy(), out, "mse", "batchmean")
    with pytest.raises(ValueError, match="huber's delta"):
        _C.pointwise_loss_forward(x, x.copy(), out, "huber", "sum", 0.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        _C.pointwise_loss_forward(x, x.copy(), out, "hinge")
    with pytest.raises(ValueError, match="out shares memory with input"):
        _C.pointwise_loss_forward(x, x.copy(), x, "mse", "none")
    with pytest.raises(ValueError, match="grad must be 0-D"):
        _C.pointwise_loss_backward(x, x, x.copy(), np.empty_like(x), None, "mse", "sum")
    with pytest.raises(ValueError, match="dinput shares memory with target"):
        y = x.copy()
        _C.pointwise_loss_backward(np.ones((), np.float32), x, y, y, None, "mse", "sum")


# ---- the ops level: non-contiguous inputs, the loss API of torch 2.13 --------------------------

def test_ops_take_non_contiguous_inputs(rng):
    a = rng.standard_normal((6, 10))
    x = fe.tensor(a, requires_grad=True)
    F.silu(x[:, ::2].t()).sum().backward()
    want = np.zeros_like(a)
    want[:, ::2] = RE.silu_backward(np.ones((6, 5)), a[:, ::2])
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    t = rng.standard_normal((10, 6))
    loss = F.smooth_l1_loss(x[:, ::2].t(), fe.tensor(t[::2]), reduction="sum")
    np.testing.assert_allclose(loss.item(), RL.smooth_l1_loss_forward(a[:, ::2].T, t[::2], "sum"), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_weighted_and_legacy_regression_losses_as_torch(reduction, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    a, b, w = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), rng.uniform(0.1, 2, (4, 5))
    for name, kw in [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7})]:
        x, wt = fe.tensor(a, requires_grad=True), fe.tensor(w, requires_grad=True)
        xt, wtt = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
        ours = getattr(F, name)(x, fe.tensor(b), reduction=reduction, weight=wt, **kw)
        theirs = getattr(TF, name)(xt, torch.tensor(b), reduction=reduction, weight=wtt, **kw)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(wt.grad.numpy(), wtt.grad.numpy(), rtol=1e-12, atol=1e-14)
        with pytest.raises(ValueError, match="Weights and input must have the same size"):
            getattr(F, name)(x, fe.tensor(b), weight=fe.tensor(w[0]))
    for name in ("mse_loss", "l1_loss"):
        for size_average, reduce in [(False, None), (None, False), (True, True)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = getattr(F, name)(fe.tensor(a), fe.tensor(b), size_average, reduce)
                theirs = getattr(TF, name)(torch.tensor(a), torch.tensor(b), size_average, reduce)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        with pytest.warns(UserWarning, match="target size"):
            ours = getattr(F, name)(fe.tensor(a), fe.tensor(b[0]))
        np.testing.assert_allclose(ours.item(), getattr(TF, name)(torch.tensor(a), torch.tensor(b[0])).item(),
                                   rtol=1e-12)
