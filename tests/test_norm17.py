"""Layer norm and group norm (issue 17): the row kernels against the NumPy reference at every ISA, both
dtypes, edge shapes and thread counts (bitwise); the modules against PyTorch with PyTorch's weights
loaded (outputs and every gradient); BatchNorm(momentum=None) against PyTorch over several steps; the
error messages."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.reference import norm as R

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def _run_layer_norm(x, g, b, dy, eps=1e-5):
    """The kernels' outputs for rows x (M, D), every buffer pre-filled with NaN (so an unwritten value shows)."""
    M, D = x.shape
    y, dx = np.full_like(x, np.nan), np.full_like(x, np.nan)
    mean, invstd = np.full(M, np.nan, x.dtype), np.full(M, np.nan, x.dtype)
    dg, db = np.full(D, np.nan, x.dtype), np.full(D, np.nan, x.dtype)
    _C.layer_norm_forward(x, g, b, y, mean, invstd, eps)
    _C.layer_norm_backward(dy, x, g, mean, invstd, dx, dg, db)
    return y, mean, invstd, dx, dg, db


def _run_group_norm(x, G, g, b, dy, eps=1e-5):
    N, C, L = x.shape
    y, dx = np.full_like(x, np.nan), np.full_like(x, np.nan)
    mean, invstd = np.full((N, G), np.nan, x.dtype), np.full((N, G), np.nan, x.dtype)
    dg, db = np.full(C, np.nan, x.dtype), np.full(C, np.nan, x.dtype)
    _C.group_norm_forward(x, G, g, b, y, mean, invstd, eps)
    _C.group_norm_backward(dy, x, G, g, mean, invstd, dx, dg, db)
    return y, mean, invstd, dx, dg, db


def _compare(got, want, dtype, what):
    # the reference runs in float64 on the same values; the backward reference takes the kernel's saved
    # statistics, so every output is compared at the dtype's tolerance
    names = ("y", "mean", "invstd", "dx", "dgamma", "dbeta")
    for name, a, w in zip(names, got, want):
        scale = max(1.0, float(np.abs(w).max())) if w.size else 1.0
        tol = TOL[dtype]
        np.testing.assert_allclose(a, w, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what}: {name}")


LN_SHAPES = [(1, 1), (1, 2), (7, 13), (3, 768), (17, 1), (5, 16), (2, 4099), (31, 97)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "gamma", "beta", "none"])
def test_layer_norm_kernels_match_reference(isa, rng, dtype, affine):
    for M, D in LN_SHAPES:
        x = (rng.standard_normal((M, D)) * 3 + 2).astype(dtype)
        g = rng.standard_normal(D).astype(dtype) if affine in ("both", "gamma") else None
        b = rng.standard_normal(D).astype(dtype) if affine in ("both", "beta") else None
        dy = rng.standard_normal((M, D)).astype(dtype)
        got = _run_layer_norm(x, g, b, dy)
        x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
        g64 = None if g is None else g.astype(np.float64)
        b64 = None if b is None else b.astype(np.float64)
        y, mean, invstd = R.layer_norm_forward(x64, g64, b64)
        dx, dg, db = R.layer_norm_backward(dy64, x64, g64, got[1].astype(np.float64), got[2].astype(np.float64))
        _compare(got, (y, mean, invstd, dx, dg, db), dtype, f"{isa} {(M, D)} {affine}")


GN_SHAPES = [(2, 6, 5, 3), (1, 1, 1, 1), (3, 4, 1, 2), (4, 4, 1, 4), (5, 12, 7, 3), (2, 6, 4099, 2), (3, 8, 17, 1),
             (7, 10, 13, 5)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "gamma", "none"])
def test_group_norm_kernels_match_reference(isa, rng, dtype, affine):
    for N, C, L, G in GN_SHAPES:
        x = (rng.standard_normal((N, C, L)) * 2 - 1).astype(dtype)
        g = rng.standard_normal(C).astype(dtype) if affine != "none" else None
        b = rng.standard_normal(C).astype(dtype) if affine == "both" else None
        dy = rng.standard_normal(x.shape).astype(dtype)
        got = _run_group_norm(x, G, g, b, dy)
        x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
        g64 = None if g is None else g.astype(np.float64)
        b64 = None if b is None else b.astype(np.float64)
        y, mean, invstd = R.group_norm_forward(x64, G, g64, b64)
        dx, dg, db = R.group_norm_backward(dy64, x64, G, g64, got[1].astype(np.float64), got[2].astype(np.float64))
        _compare(got, (y, mean, invstd, dx, dg, db), dtype, f"{isa} {(N, C, L, G)} {affine}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_rows_and_empty_batches_write_every_output(isa, dtype):
    """No rows: zero parameter gradients. Rows of no values: PyTorch's mean 0 and invstd NaN (a 0/0
    variance), so group norm's dgamma over such rows is NaN as in PyTorch and dbeta 0."""
    got = _run_layer_norm(np.zeros((0, 5), dtype), np.ones(5, dtype), np.ones(5, dtype), np.zeros((0, 5), dtype))
    np.testing.assert_array_equal(got[4], np.zeros(5))
    np.testing.assert_array_equal(got[5], np.zeros(5))
    got = _run_layer_norm(np.zeros((3, 0), dtype), np.ones(0, dtype), None, np.zeros((3, 0), dtype))
    np.testing.assert_array_equal(got[1], np.zeros(3))
    assert np.all(np.isnan(got[2]))
    got = _run_group_norm(np.zeros((2, 4, 0), dtype), 2, np.ones(4, dtype), None, np.zeros((2, 4, 0), dtype))
    np.testing.assert_array_equal(got[1], np.zeros((2, 2)))
    assert np.all(np.isnan(got[2])) and np.all(np.isnan(got[4]))
    np.testing.assert_array_equal(got[5], np.zeros(4))
    got = _run_group_norm(np.zeros((0, 4, 3), dtype), 2, np.ones(4, dtype), None, np.zeros((0, 4, 3), dtype))
    np.testing.assert_array_equal(got[4], np.zeros(4))


@pytest.mark.parametrize("kind,shape", [("layer", (1030, 256)), ("layer", (3, 70000)), ("layer", (5000, 3)),
                                        ("group", (16, 32, 200)), ("group", (300, 8, 1))])
def test_threads_bitwise(isa, rng, threads, kind, shape):
    """Rows split over threads, the parameter gradients summed in blocks fixed by the shape: 1, 2 and 3
    threads give the same bits (shapes with many blocks, one long row per block, tiny rows)."""
    x = (rng.standard_normal(shape) * 2 + 5).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    C = shape[1]
    g, b = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    outs = []
    for n in (1, 2, 3):
        fe.set_num_threads(n)
        outs.append(_run_layer_norm(x, g, b, dy) if kind == "layer" else _run_group_norm(x, 4, g, b, dy))
    for other in outs[1:]:
        for a, c in zip(outs[0], other):
            assert np.array_equal(a, c, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean", [1e3, 1e4])
def test_large_mean_keeps_the_precision_of_the_dtype(isa, rng, dtype, mean):
    """Rows far from zero (mean 1e3-1e4, std 1): the float64 reference of the same values at the usual
    tolerance (the kernel subtracts the mean split into two parts of the dtype). The backward, like
    PyTorch's, works from the statistics saved in the dtype; the reference is given the same ones."""
    for M, D in [(8, 7), (4, 300), (2, 5000)]:
        x = (rng.standard_normal((M, D)) + mean).astype(dtype)
        dy = rng.standard_normal((M, D)).astype(dtype)
        g = rng.standard_normal(D).astype(dtype)
        got = _run_layer_norm(x, g, None, dy)
        x64 = x.astype(np.float64)
        y, m, s = R.layer_norm_forward(x64, g.astype(np.float64))
        np.testing.assert_allclose(got[0], y, **TOL[dtype])
        np.testing.assert_allclose(got[1], m, rtol=1e-7 if dtype == np.float32 else 1e-14)
        dx, dg, _ = R.layer_norm_backward(dy.astype(np.float64), x64, g.astype(np.float64), got[1].astype(np.float64),
                                          got[2].astype(np.float64))
        np.testing.assert_allclose(got[3], dx, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * np.abs(dx).max())
        np.testing.assert_allclose(got[4], dg, rtol=1e-3 if dtype == np.float32 else 1e-9, atol=1e-3)


def test_float32_extremes_take_the_double_route(isa):
    """Values of 1e19 (their squares overflow float32) and near float32's largest: still standardised."""
    x = np.array([[1e19, -1e19, 3e19, -3e19], [3e38, -3e38, 3e38, -3e38]], np.float32)
    got = _run_layer_norm(x, None, None, np.ones_like(x))
    np.testing.assert_allclose(got[0][0], R.layer_norm_forward(x[:1].astype(np.float64))[0][0], rtol=1e-5)
    np.testing.assert_allclose(got[0][1], [1, -1, 1, -1], rtol=1e-5)
    assert np.all(np.isfinite(got[3]))


# ---- the Tensor level: non-contiguous input, autograd, PyTorch parity ----------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_input_and_weight(rng, dtype):
    base = rng.standard_normal((6, 5, 8)).astype(dtype)
    x = base.transpose(2, 0, 1)[:, ::2]  # (8, 3, 5), no stride contiguous
    w = rng.standard_normal((10, 2)).astype(dtype)[::2, 0]  # (5,), strided
    for fn in (lambda t, ww: F.layer_norm(t, (5,), ww, ww), lambda t, ww: F.group_norm(t, 3, ww[:3], None)):
        X1, W1 = fe.tensor(x, requires_grad=True), fe.tensor(w, requires_grad=True)
        X2 = fe.tensor(np.ascontiguousarray(x), requires_grad=True)
        W2 = fe.tensor(np.ascontiguousarray(w), requires_grad=True)
        y1, y2 = fn(X1, W1), fn(X2, W2)
        np.testing.assert_array_equal(y1.data, y2.data)
        (y1 * y1).sum().backward()
        (y2 * y2).sum().backward()
        np.testing.assert_array_equal(X1.grad, X2.grad)
        np.testing.assert_array_equal(W1.grad, W2.grad)


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _check_module_against_torch(torch, ours, theirs, x, dtype):
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    _load_from_torch(ours, theirs)
    rng = np.random.default_rng(7)
    dy = rng.standard_normal(x.shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.tensor(dy))
    X = fe.tensor(x, requires_grad=True)
    y = ours(X)
    assert y.dtype == x.dtype and y.shape == tuple(yt.shape)
    y.backward(fe.tensor(dy))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(X.grad, xt.grad.numpy(), **tol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(theirs_params)
    for name, p in ours_params.items():
        assert p.shape == tuple(theirs_params[name].shape)
        np.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ns,shape,kw", [(8, (4, 8), {}), ((3, 5), (2, 4, 3, 5), {}), (768, (2, 3, 768), {}),
                                         ([6], (6,), {}), (7, (3, 7), {"bias": False}),
                                         ((2, 3), (5, 2, 3), {"elementwise_affine": False}),
                                         (4, (3, 4), {"eps": 1e-2})])
def test_layer_norm_module_matches_torch(rng, dtype, ns, shape, kw):
    torch = pytest.importorskip("torch")
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    theirs = torch.nn.LayerNorm(ns, dtype=tdt, **kw)
    ours = nn.LayerNorm(ns, dtype=dtype, **kw)
    assert repr(ours) == repr(theirs)
    assert ours.normalized_shape == theirs.normalized_shape
    assert set(ours.state_dict()) == set(theirs.state_dict())
    for k, v in theirs.state_dict().items():  # torch's init: ones and zeros
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    _check_module_against_torch(torch, ours, theirs, x, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups,channels,shape,kw", [(2, 4, (3, 4), {}), (3, 6, (2, 6, 7), {}),
                                                      (4, 8, (2, 8, 5, 6), {}), (1, 3, (2, 3, 2, 2, 3), {}),
                                                      (6, 6, (2, 6, 9), {}), (2, 4, (2, 4, 5), {"affine": False}),
                                                      (2, 4, (2, 4, 5), {"bias": False}),
                                                      (32, 64, (2, 64, 7, 7), {"eps": 1e-3})])
def test_group_norm_module_matches_torch(rng, dtype, groups, channels, shape, kw):
    torch = pytest.importorskip("torch")
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    theirs = torch.nn.GroupNorm(groups, channels, dtype=tdt, **kw)
    ours = nn.GroupNorm(groups, channels, dtype=dtype, **kw)
    assert repr(ours) == repr(theirs)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    _check_module_against_torch(torch, ours, theirs, x, dtype)


def test_functional_forms_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5))
    w, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    want = torch.nn.functional.layer_norm(torch.tensor(x), [4, 5], torch.tensor(w), torch.tensor(b), eps=1e-3)
    got = F.layer_norm(fe.tensor(x), [4, 5], fe.tensor(w), fe.tensor(b), eps=1e-3)
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12, atol=1e-12)
    want = torch.nn.functional.group_norm(torch.tensor(x), 2, torch.tensor(w[:, 0]), None, 1e-4)
    got = F.group_norm(fe.tensor(x), 2, fe.tensor(np.ascontiguousarray(w[:, 0])), None, 1e-4)
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12, atol=1e-12)


def test_second_derivatives_match_torch(rng):
    """create_graph=True: the gradient of (sum of dx * v) with respect to x and weight, as PyTorch."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 6, 4))
    w, b, v = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal((3, 6, 4))
    for ours_fn, torch_fn, wshape in [
            (lambda X, W, B: F.group_norm(X, 3, W, B), lambda X, W, B: torch.nn.functional.group_norm(X, 3, W, B), (6,)),
            (lambda X, W, B: F.layer_norm(X, (4,), W, B), lambda X, W, B: torch.nn.functional.layer_norm(X, (4,), W, B),
             (4,))]:
        wv, bv = w[:wshape[0]], b[:wshape[0]]
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, wv, bv))
        yt = torch_fn(xt, wt, bt)
        gx, gw = torch.autograd.grad((yt ** 3).sum(), (xt, wt), create_graph=True)
        (gx * torch.tensor(v)).sum().backward()
        X, W, B = (fe.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, wv, bv))
        y = ours_fn(X, W, B)
        ogx, ogw = fe.autograd.grad((y ** 3).sum(), (X, W), create_graph=True)
        np.testing.assert_allclose(ogx.data, gx.detach().numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(ogw.data, gw.detach().numpy(), rtol=1e-9, atol=1e-10)
        (ogx * fe.tensor(v)).sum().backward()
        np.testing.assert_allclose(X.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(W.grad, wt.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_empty_inputs_like_torch():
    torch = pytest.importorskip("torch")
    for shape, ns in [((0, 5), (5,)), ((3, 0), (0,))]:
        X = fe.tensor(np.zeros(shape, np.float32), requires_grad=True)
        ln = nn.LayerNorm(ns)
        y = ln(X)
        assert y.shape == shape
        y.sum().backward()
        tln = torch.nn.LayerNorm(ns)
        tln(torch.zeros(shape)).sum().backward()
        np.testing.assert_array_equal(ln.weight.grad, tln.weight.grad.numpy())
    for shape in [(0, 4, 3), (2, 4, 0)]:
        gn, tgn = nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)
        y = gn(fe.tensor(np.zeros(shape, np.float32)))
        assert y.shape == shape
        y.sum().backward()
        tgn(torch.zeros(shape)).sum().backward()
        np.testing.assert_array_equal(gn.weight.grad, tgn.weight.grad.numpy())  # NaN for (2, 4, 0), as torch
        np.testing.assert_array_equal(gn.bias.grad, tgn.bias.grad.numpy())


# ---- BatchNorm(momentum=None): the cumulative moving average ---------------------------------------------

@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
def test_batch_norm_momentum_none_matches_torch(rng, cls, shape):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cls)(3, momentum=None).double()
    ours = getattr(nn, cls)(3, momentum=None, dtype=np.float64)
    assert "momentum=None" in repr(ours)
    for step in range(5):
        x = rng.standard_normal(shape) * (step + 1) + step
        np.testing.assert_allclose(ours(fe.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(fe.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_batch_norm_momentum_none_is_the_plain_average(rng):
    """Without torch: after k batches the running mean is the average of the k batch means."""
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    means = []
    for _ in range(4):
        x = rng.standard_normal((6, 2)) + rng.standard_normal(2) * 3
        bn(fe.tensor(x))
        means.append(x.mean(0))
    np.testing.assert_allclose(bn.running_mean, np.mean(means, axis=0), rtol=1e-12)


# ---- errors: PyTorch's classes and messages --------------------------------------------------------------

def test_layer_norm_errors():
    x = fe.zeros(2, 5)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but "
                                           r"got input of size\[2, 5\]"):
        nn.LayerNorm(4)(x)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[2, 5\], expected input with shape \[\*, 2, 5\], "
                                           r"but got input of size\[5\]"):
        F.layer_norm(fe.zeros(5), (2, 5))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as normalized_shape, but got weight "
                                           r"of shape \[4\] and normalized_shape = \[5\]"):
        F.layer_norm(x, [5], fe.ones(4))
    with pytest.raises(RuntimeError, match=r"Expected bias to be of same shape as normalized_shape, but got bias of "
                                           r"shape \[1, 5\] and normalized_shape = \[5\]"):
        F.layer_norm(x, [5], None, fe.ones(1, 5))
    with pytest.raises(RuntimeError, match="Expected normalized_shape to be at least 1-dimensional"):
        F.layer_norm(x, ())
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        F.layer_norm(x, 5)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        F.layer_norm(x, (5,), fe.ones(5, dtype=np.float64))
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        F.layer_norm(fe.tensor(np.zeros((2, 5), np.int64)), (5,))


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    gn = nn.GroupNorm(2, 4)
    with pytest.raises(RuntimeError, match=r"Expected weight to be a vector of size equal to the number of channels "
                                           r"in input, but got weight of shape \[4\] and input of shape \[2, 6, 3\]"):
        gn(fe.zeros(2, 6, 3))
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions for input tensor but received 1"):
        gn(fe.zeros(4))
    with pytest.raises(RuntimeError, match=r"Expected number of channels in input to be divisible by num_groups, but "
                                           r"got input of shape \[2, 4, 3\] and num_groups=3"):
        F.group_norm(fe.zeros(2, 4, 3), 3)
    with pytest.raises(RuntimeError, match="Expected num groups to be greater than 0, got -2"):
        F.group_norm(fe.zeros(2, 4, 3), -2)
    with pytest.raises(RuntimeError, match=r"bias of shape \[3\]"):
        F.group_norm(fe.zeros(2, 4, 3), 2, None, fe.ones(3))
    with pytest.raises(RuntimeError, match="mixed dtype"):
        F.group_norm(fe.zeros(2, 4, 3, dtype=np.float64), 2, fe.ones(4))


def test_group_norm_of_one_value_per_group_is_refused_as_pytorch_refuses_it():
    """PyTorch's group_norm checks (N*C/num_groups) * prod(spatial) > 1 (its _verify_batch_size, the batch norm
    rule applied to the sample-by-group view) and raises ValueError; a (1, C) input with C groups had
    silently returned zeros here."""
    for shape, groups, size in [((1, 3), 3, r"\[1, 3\]"), ((1, 3, 1, 1), 3, r"\[1, 3, 1, 1\]"),
                                ((1, 1, 1), 1, r"\[1, 1, 1\]"), ((1, 3), 2, r"\[1, 2\]")]:
        with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                             + size):
            F.group_norm(fe.zeros(*shape), groups)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.GroupNorm(2, 2)(fe.zeros(1, 2))
    # only that product counts (PyTorch's rule): two samples of one value per group pass, as do empty inputs
    for shape, groups in [((2, 3), 3), ((1, 6), 3), ((1, 3, 2), 3), ((0, 3), 3), ((1, 0), 1)]:
        assert F.group_norm(fe.zeros(*shape), groups).shape == shape


def test_torch_raises_the_same_classes():
    torch = pytest.importorskip("torch")
    cases = [(lambda m: m.nn.LayerNorm(4)(m.zeros(2, 5)), RuntimeError),
             (lambda m: m.nn.functional.layer_norm(m.zeros(2, 5), 5), TypeError),
             (lambda m: m.nn.GroupNorm(3, 4), ValueError),
             (lambda m: m.nn.functional.group_norm(m.zeros(2, 4, 3), 3), RuntimeError),
             (lambda m: m.nn.GroupNorm(2, 4)(m.zeros(4)), RuntimeError),
             (lambda m: m.nn.functional.group_norm(m.zeros(1, 3), 3), ValueError),
             (lambda m: m.nn.functional.group_norm(m.zeros(1, 3), 2), ValueError)]
    for case, cls in cases:
        for lib in (torch, fe):
            with pytest.raises(cls):
                case(lib)


def test_binding_names_bad_arguments():
    x = np.zeros((3, 4), np.float32)
    y, m, s = np.empty_like(x), np.empty(3, np.float32), np.empty(3, np.float32)
    with pytest.raises(ValueError, match=r"gamma must have shape \(4,\) \(one per normalised value\), got \(5,\)"):
        _C.layer_norm_forward(x, np.ones(5, np.float32), None, y, m, s, 1e-5)
    with pytest.raises(ValueError, match=r"mean must have shape \(3\), got \(2,\)"):
        _C.layer_norm_forward(x, None, None, y, np.empty(2, np.float32), s, 1e-5)
    with pytest.raises(TypeError, match="gamma"):
        _C.layer_norm_forward(x, np.ones(4, np.float64), None, y, m, s, 1e-5)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.layer_norm_forward(np.zeros((4, 3), np.float32).T, None, None, y, m, s, 1e-5)
    x3 = np.zeros((2, 6, 5), np.float32)
    with pytest.raises(ValueError, match=r"not divisible by num_groups=4"):
        _C.group_norm_forward(x3, 4, None, None, np.empty_like(x3), np.empty((2, 4), np.float32),
                              np.empty((2, 4), np.float32), 1e-5)
    with pytest.raises(ValueError, match=r"num_groups must be >= 1, got 0"):
        _C.group_norm_forward(x3, 0, None, None, np.empty_like(x3), np.empty((2, 0), np.float32),
                              np.empty((2, 0), np.float32), 1e-5)
    with pytest.raises(ValueError, match=r"dgamma must have shape \(6,\) \(one per channel\)"):
        _C.group_norm_backward(x3, x3, 3, None, np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32), None,
                               np.empty(5, np.float32), None)


@pytest.mark.torch_parity
@pytest.mark.parametrize("kwargs", [dict(bias=False), dict(affine=False, track_running_stats=False, momentum=None),
                                    dict()])
def test_batch_norm_bias_argument_and_repr_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3, **kwargs), torch.nn.BatchNorm2d(3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    if ours.weight is not None:
        w = rng.standard_normal(3).astype(np.float32)
        ours.weight.data.copy_(fe.tensor(w))
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
    xo, xt = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for _ in range(2):  # the counter and running statistics over two batches
        yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, t in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[name]), t.numpy(), rtol=1e-5, atol=1e-6)
