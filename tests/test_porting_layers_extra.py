"""torch.nn layers ported late: ConvTranspose3d / F.conv_transpose3d, AdaptiveLogSoftmaxWithLoss and
nn.utils.parametrizations.orthogonal. Identities that need no torch first (the transposed convolution as
conv3d's adjoint, float64 gradchecks, the adaptive softmax summing to one, orthogonality), then values,
gradients, dtypes, reprs, state_dict loading and error classes against torch 2.13 where it is importable."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd.gradcheck import gradcheck


def _load_from_torch(module, torch_module):
    module.load_state_dict({k: fe.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})


# ---- ConvTranspose3d: without torch --------------------------------------------------------------------------

def test_conv_transpose3d_is_the_adjoint_of_conv3d(rng):
    """<conv3d(y, w), x> == <y, conv_transpose3d(x, w)> for every y: the definition, checked directly."""
    w = rng.standard_normal((4, 3, 2, 3, 2))  # conv3d: 3 -> 4 channels; transposed: 4 -> 3 (groups 1)
    for kw in ({}, {"stride": (2, 1, 3), "padding": (1, 0, 1), "dilation": (1, 2, 1)}):
        x = rng.standard_normal((2, 4, 3, 2, 3))
        y = F.conv_transpose3d(fe.tensor(x), fe.tensor(w), **kw).numpy()
        probe = rng.standard_normal(y.shape)
        z = F.conv3d(fe.tensor(probe), fe.tensor(w), **kw).numpy()
        assert z.shape == x.shape
        np.testing.assert_allclose((z * x).sum(), (probe * y).sum(), rtol=1e-12)


def test_conv_transpose3d_gradcheck_unbatched_and_empty(rng):
    x = fe.tensor(rng.standard_normal((2, 2, 3, 2)), requires_grad=True)  # unbatched (C, D, H, W)
    w = fe.tensor(rng.standard_normal((2, 2, 2, 2, 3)), requires_grad=True)
    b = fe.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, output_padding=(1, 0, 1), groups=2),
                     [x, w, b])
    m = nn.ConvTranspose3d(2, 3, 2, stride=2, dtype=fe.float64)
    y = m(fe.zeros(0, 2, 2, 3, 1, dtype=fe.float64))
    assert y.shape == (0, 3, 4, 6, 2)
    y.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy(), 0)


def test_conv_transpose3d_module_structure():
    m = nn.ConvTranspose3d(4, 6, (2, 3, 1), stride=2, padding=1, output_padding=1, groups=2, bias=False)
    assert m.weight.shape == (4, 3, 2, 3, 1) and m.bias is None and m.transposed
    assert (m.kernel_size, m.stride, m.padding, m.output_padding, m.dilation) == \
        ((2, 3, 1), (2, 2, 2), (1, 1, 1), (1, 1, 1), (1, 1, 1))
    big = nn.ConvTranspose3d(30, 8, 3)  # torch's init: bound 1/sqrt(fan_in), fan_in = out/groups * k
    bound = 1 / np.sqrt(8 * 27)
    assert np.abs(big.weight.detach().numpy()).max() <= bound and np.abs(big.bias.detach().numpy()).max() <= bound
    assert nn.utils.spectral_norm(nn.ConvTranspose3d(2, 3, 1)).weight_u.shape == (3,)  # dim 1, as torch


# ---- ConvTranspose3d: against torch ----------------------------------------------------------------------------

CT3_CASES = [((2, 4, 3, 2, 3), (4, 3, 2, 3, 2), {"padding": 1}),
             ((2, 4, 3, 2, 3), (4, 2, 2, 2, 3), {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2)}),
             ((1, 4, 2, 3, 2), (4, 1, 2, 3, 2), {"groups": 2, "dilation": (2, 1, 2)}),
             ((2, 4, 2, 2, 2), (4, 3, 2, 2, 2), {"groups": 2, "dilation": 3, "output_padding": (2, 0, 1)}),
             ((0, 4, 2, 2, 2), (4, 2, 1, 1, 1), {"stride": 2}),
             ((2, 4, 3, 2, 3), (4, 3, 2, 3, 2), {})]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_transpose3d_values_and_gradients_match_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    tol = 1e-5 if dtype == "float32" else 1e-12
    for i, (xs, ws, kw) in enumerate(CT3_CASES):
        x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[1] * kw.get("groups", 1)).astype(dtype) if i % 2 == 0 else None
        ft = [fe.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
        tt = [torch.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
        y, yt = F.conv_transpose3d(*ft, **kw), torch.nn.functional.conv_transpose3d(*tt, **kw)
        assert y.shape == tuple(yt.shape) and y.dtype == getattr(fe, dtype)
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(fe.tensor(g))
        yt.backward(torch.tensor(g))
        for a, at in zip(ft, tt):
            if a is not None:
                np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=tol, atol=tol * 10)


def test_conv_transpose3d_int64_unbatched_and_dtypes_match_torch(rng):
    torch = pytest.importorskip("torch")
    x, w = rng.integers(-3, 4, (2, 3, 2, 3)), rng.integers(-3, 4, (2, 2, 2, 1, 2))
    y = F.conv_transpose3d(fe.tensor(x), fe.tensor(w), stride=2)
    yt = torch.nn.functional.conv_transpose3d(torch.tensor(x), torch.tensor(w), stride=2)
    assert y.dtype == fe.int64 and y.shape == tuple(yt.shape)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    for dt in ("int32", "bool"):
        with pytest.raises(NotImplementedError):
            torch.nn.functional.conv_transpose3d(torch.tensor(x.astype(dt)), torch.tensor(w.astype(dt)))
        with pytest.raises(NotImplementedError):
            F.conv_transpose3d(fe.tensor(x.astype(dt)), fe.tensor(w.astype(dt)))


def test_conv_transpose3d_module_matches_torch_after_state_dict(rng):
    torch = pytest.importorskip("torch")
    for args, kw in (((4, 6, (2, 3, 1)), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2,
                                          "bias": False, "dilation": 2}),
                     ((4, 2, 3), {}), ((4, 4, 2), {"stride": (1, 2, 3), "groups": 4})):
        tm, m = torch.nn.ConvTranspose3d(*args, **kw), nn.ConvTranspose3d(*args, **kw)
        assert repr(m) == repr(tm)
        assert list(m.state_dict()) == list(tm.state_dict())
        _load_from_torch(m, tm)
        x = rng.standard_normal((2, 4, 3, 3, 2)).astype("float32")
        np.testing.assert_allclose(m(fe.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    tm, m = torch.nn.ConvTranspose3d(4, 6, 2, stride=2), nn.ConvTranspose3d(4, 6, 2, stride=2)
    _load_from_torch(m, tm)
    x = rng.standard_normal((2, 4, 3, 3, 3)).astype("float32")
    for size, xin in (((7, 6, 7), x), ((2, 6, 7, 7, 6), x), ((6, 7, 6, 7), x[0])):
        y, yt = m(fe.tensor(xin), output_size=size), tm(torch.tensor(xin), output_size=size)
        assert y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    for size in ((8, 7, 7), (7, 7)):
        with pytest.raises(ValueError):
            tm(torch.tensor(x), output_size=size)
        with pytest.raises(ValueError):
            m(fe.tensor(x), output_size=size)


def test_conv_transpose3d_errors_match_torch():
    torch = pytest.importorskip("torch")
    x, w = np.ones((2, 4, 3, 3, 3)), np.ones((4, 2, 2, 2, 2))
    bad = [((x[0, 0], w), {}), ((x, w[:3]), {}), ((x, w[..., 0]), {}), ((x, w, np.ones(3)), {}),
           ((x, w, np.ones((2, 1))), {}), ((x, w.astype("float32")), {}), ((x, w), {"stride": 0}),
           ((x, w), {"stride": (1, 2)}), ((x, w), {"padding": -1}), ((x, w), {"dilation": 0}),
           ((x, w), {"output_padding": 1}), ((x, w), {"output_padding": -1}), ((x, w), {"groups": 0}),
           ((x, w), {"groups": 3}), ((x, w), {"padding": 2}), ((x[:, :, :0], w), {}), ((x, w[:, :0]), {}),
           ((x[:, :0], w[:0]), {})]
    for args, kw in bad:
        with pytest.raises(RuntimeError):
            torch.nn.functional.conv_transpose3d(*(torch.tensor(a) for a in args), **kw)
        with pytest.raises(RuntimeError):
            F.conv_transpose3d(*(fe.tensor(a) for a in args), **kw)
    with pytest.raises(TypeError):
        torch.nn.functional.conv_transpose3d(torch.tensor(x), torch.tensor(w), padding="same")
    with pytest.raises(TypeError):
        F.conv_transpose3d(fe.tensor(x), fe.tensor(w), padding="same")
    for kw in ({"groups": 4}, {"padding_mode": "reflect"}):
        with pytest.raises(ValueError):
            torch.nn.ConvTranspose3d(4, 6, 2, **kw)
        with pytest.raises(ValueError):
            nn.ConvTranspose3d(4, 6, 2, **kw)


# ---- AdaptiveLogSoftmaxWithLoss --------------------------------------------------------------------------------

def test_adaptive_log_softmax_is_a_distribution_and_forward_agrees_with_log_prob(rng):
    m = nn.AdaptiveLogSoftmaxWithLoss(6, 9, [2, 5], div_value=2.0, dtype=fe.float64)
    assert [k for k, _ in m.named_parameters()] == ["head.weight", "tail.0.0.weight", "tail.0.1.weight",
                                                    "tail.1.0.weight", "tail.1.1.weight"]
    assert m.head.weight.shape == (4, 6) and m.tail[1][0].weight.shape == (1, 6) and m.tail[1][1].weight.shape == (4, 1)
    x, t = rng.standard_normal((7, 6)), np.array([0, 1, 2, 4, 5, 8, 3])
    lp = m.log_prob(fe.tensor(x)).detach().numpy()
    np.testing.assert_allclose(np.exp(lp).sum(1), 1, rtol=1e-12)
    out, loss = m(fe.tensor(x), fe.tensor(t))
    np.testing.assert_allclose(out.detach().numpy(), lp[np.arange(7), t], rtol=1e-12)
    np.testing.assert_allclose(float(loss), -lp[np.arange(7), t].mean(), rtol=1e-12)
    np.testing.assert_array_equal(m.predict(fe.tensor(x)).numpy(), lp.argmax(1))
    xs = fe.tensor(x[:3], requires_grad=True)
    assert gradcheck(lambda xs: m(xs, fe.tensor(t[3:6])).loss, [xs])


def _adaptive_pair(torch, dtype, **kw):
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], **kw).to(getattr(torch, dtype))
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], dtype=getattr(fe, dtype), **kw)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    _load_from_torch(m, tm)
    return m, tm


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adaptive_log_softmax_matches_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    tol = 1e-5 if dtype == "float32" else 1e-12
    m, tm = _adaptive_pair(torch, dtype, div_value=2.0, head_bias=True)
    x = rng.standard_normal((6, 8)).astype(dtype)
    for t in (np.array([0, 4, 2, 8, 9, 5]), np.array([1, 1, 0, 2, 0, 2], dtype=np.int32)):
        xf, xt = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (o, loss), (ot, lt) = m(xf, fe.tensor(t)), tm(xt, torch.tensor(t))
        assert o.dtype == loss.dtype == getattr(fe, dtype) and o.shape == tuple(ot.shape) and loss.shape == ()
        np.testing.assert_allclose(o.detach().numpy(), ot.detach().numpy(), rtol=tol, atol=tol)
        loss.backward()
        lt.backward()
        np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
        for (name, p), q in zip(m.named_parameters(), tm.parameters()):
            assert (p.grad is None) == (q.grad is None), name  # a tail no target reaches gets none
            if p.grad is not None:
                np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol, err_msg=name)
            p.grad = q.grad = None
    np.testing.assert_allclose(m.log_prob(fe.tensor(x)).detach().numpy(), tm.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=tol, atol=tol)
    o, ot = m(fe.tensor(x[0]), fe.tensor(np.int64(7))), tm(torch.tensor(x[0]), torch.tensor(7))  # unbatched
    assert o.output.shape == () and abs(float(o.output) - float(ot.output.detach())) < tol
    o = m(fe.tensor(x[:0]), fe.tensor(np.zeros(0, dtype=np.int64)))
    assert o.output.shape == (0,) and np.isnan(float(o.loss))
    # predict: a mixed batch, then every row favouring a cluster (the tails decide), then none
    for bias in (None, [-9.0, -9, -9, 9, 9], [9.0, 0, 0, -9, -9]):
        if bias is not None:
            with torch.no_grad():
                tm.head.bias.copy_(torch.tensor(bias))
            _load_from_torch(m, tm)
        np.testing.assert_array_equal(m.predict(fe.tensor(x)).numpy(), tm.predict(torch.tensor(x)).numpy())


def test_adaptive_log_softmax_errors_match_torch():
    torch = pytest.importorskip("torch")
    for args in ((8, 10, []), (8, 10, [3, 3]), (8, 10, [0, 3]), (8, 10, [3, 10]), (8, 10, [6, 3]), (8, 10, [2.5])):
        with pytest.raises(ValueError):
            torch.nn.AdaptiveLogSoftmaxWithLoss(*args)
        with pytest.raises(ValueError):
            nn.AdaptiveLogSoftmaxWithLoss(*args)
    m, tm = _adaptive_pair(torch, "float32", div_value=2.0)
    x = np.ones((4, 8), dtype=np.float32)
    bad = [(x, np.array([0, 1])), (x[0], np.array([0])), (x, np.array(1)), (x, np.zeros((4, 1), dtype=np.int64)),
           (x, np.array([0, 4, 2, 10])), (x, np.array([-1, 4, 2, 1])), (x, np.array([0.0, 1, 2, 1])),
           (x[None], np.array([0]))]
    for xi, ti in bad:
        with pytest.raises(RuntimeError):
            tm(torch.tensor(xi), torch.tensor(ti))
        with pytest.raises(RuntimeError):
            m(fe.tensor(xi), fe.tensor(ti))
    with pytest.raises(IndexError):
        tm.log_prob(torch.tensor(x[0]))
    with pytest.raises(IndexError):
        m.log_prob(fe.tensor(x[0]))


# ---- parametrizations.orthogonal -------------------------------------------------------------------------------

ORTH_CASES = [((5, 3), "householder", True), ((3, 5), "householder", False), ((4, 4), "householder", False),
              ((4, 4), "cayley", True), ((5, 3), "cayley", True), ((3, 5), "cayley", True), ((4, 4), "householder", True),
              ((4, 4), "matrix_exp", True), ((5, 3), "matrix_exp", False), ((3, 5), "matrix_exp", True)]


def _linear_with(shape, w, dtype=fe.float64):
    m = nn.Linear(shape[1], shape[0], dtype=dtype)
    m.weight = nn.Parameter(fe.tensor(w))
    return m


@pytest.mark.parametrize("shape,orthogonal_map,trivial", ORTH_CASES)
def test_orthogonal_gives_orthonormal_rows_or_columns(rng, shape, orthogonal_map, trivial):
    P = nn.utils.parametrizations
    m = P.orthogonal(_linear_with(shape, rng.standard_normal(shape)), orthogonal_map=orthogonal_map,
                     use_trivialization=trivial)
    assert type(m).__name__ == "ParametrizedLinear" and hasattr(m.parametrizations.weight[0], "base") == trivial
    orig = m.parametrizations.weight.original
    with fe.no_grad():
        # away from the initial point; householder's diagonal holds the signs (truncated to ints, as torch)
        orig += fe.tensor(rng.standard_normal(shape) * 0.3 * (1 - np.eye(*shape)))
    Q = m.weight.detach().numpy()
    gram = Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    orth = m.parametrizations.weight[0]  # the map itself, on a copy of the original whose diagonal signs
    o = orig.detach().numpy() * (1 + 0.5 * np.eye(*shape))  # (+-1.5) stay put under finite differences
    assert gradcheck(orth, [fe.tensor(o, requires_grad=True)])


def test_orthogonal_right_inverse_and_errors(rng):
    P = nn.utils.parametrizations
    q = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    m = P.orthogonal(_linear_with((5, 3), rng.standard_normal((5, 3))))  # householder: torch's non-square default
    m.weight = fe.tensor(q)  # right_inverse: an orthonormal matrix is kept
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-12)
    with pytest.raises(ValueError):
        m.weight = fe.tensor(q.T)
    c = P.orthogonal(_linear_with((4, 4), rng.standard_normal((4, 4))), "weight", "cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError):
        c.weight = fe.tensor(np.eye(4))
    e = P.orthogonal(_linear_with((4, 4), rng.standard_normal((4, 4))), use_trivialization=False)  # matrix_exp
    w = e.weight.detach().numpy()
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-12)
    with pytest.raises(NotImplementedError):
        e.weight = fe.tensor(np.eye(4))
    for args in ((nn.Linear(3, 2), "nope"), (nn.Linear(3, 2), "weight", "expm")):
        with pytest.raises(ValueError):
            P.orthogonal(*args)
    with pytest.raises(ValueError):
        P.orthogonal(nn.Linear(3, 2), "bias")


@pytest.mark.parametrize("shape,orthogonal_map,trivial", ORTH_CASES[:4] + ORTH_CASES[-3:])
def test_orthogonal_matches_torch_and_loads_its_state_dict(rng, shape, orthogonal_map, trivial):
    torch = pytest.importorskip("torch")
    for dtype, tol in (("float64", 1e-12), ("float32", 2e-5)):
        w = rng.standard_normal(shape).astype(dtype)
        tm = torch.nn.Linear(shape[1], shape[0]).to(getattr(torch, dtype))
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(w))
        m = _linear_with(shape, w, getattr(fe, dtype))
        torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=orthogonal_map, use_trivialization=trivial)
        nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=trivial)
        assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
        np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(), atol=tol)
        with torch.no_grad():
            tm.parametrizations.weight.original.add_(torch.tensor(rng.standard_normal(shape).astype(dtype) * 0.3))
        _load_from_torch(m, tm)
        g = rng.standard_normal(shape).astype(dtype)
        (m.weight * fe.tensor(g)).sum().backward()
        (tm.weight * torch.tensor(g)).sum().backward()
        assert m.weight.dtype == getattr(fe, dtype)
        np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(), atol=tol)
        np.testing.assert_allclose(m.parametrizations.weight.original.grad.numpy(),
                                   tm.parametrizations.weight.original.grad.numpy(), atol=tol * 10)
    for args in ((torch.nn.Linear(3, 2), "weight", "expm"), (torch.nn.Linear(3, 2), "bias")):
        with pytest.raises(ValueError):
            torch.nn.utils.parametrizations.orthogonal(*args)
