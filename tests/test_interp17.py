"""Interpolation (F.interpolate, nn.Upsample): the C++ kernels against the NumPy reference at every ISA,
float32 and float64, over sizes up and down, 1, primes, N = 0 and scale factors; bitwise the same for 1,
2 and 3 threads; F.interpolate and the Upsample layers against PyTorch (outputs and gradients, nearest
bit for bit), non-contiguous input, PyTorch's argument errors, and the binding's own checks."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.reference import interp as RI

DTYPES = [np.float32, np.float64]
MODES = [("nearest", False), ("nearest-exact", False), ("nearest-1d", False), ("linear", False), ("linear", True)]
# (H, W, OH, OW): up and down, by 2 and by odd ratios, sizes 1 and primes, identity, one axis only
SIZES = [(5, 7, 10, 14), (5, 7, 3, 4), (1, 1, 3, 5), (4, 4, 1, 1), (7, 3, 13, 2), (6, 6, 6, 6), (17, 9, 40, 23),
         (13, 29, 5, 58), (1, 31, 1, 67), (2, 33, 7, 16), (3, 1, 3, 17)]
SCALES = [(0.0, 0.0), (2.0, 2.0), (1.7, 2.3), (0.6, 0.45), (3.0, 1.0)]


def tol(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)


def run_c(x, out_hw, mode, ac, sh=0.0, sw=0.0, dy=None):
    y = np.full(x.shape[:2] + tuple(out_hw), np.nan, x.dtype)  # the kernel overwrites every element
    _C.interpolate2d_forward(x, y, mode, ac, sh, sw)
    if dy is None:
        return y
    dx = np.full(x.shape, np.nan, x.dtype)
    _C.interpolate2d_backward(dy, dx, mode, ac, sh, sw)
    return y, dx


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_match_reference(isa, rng, dtype):
    """Every mode, size and scale factor: nearest forward exactly, the rest to rounding."""
    for (H, W, OH, OW) in SIZES:
        for mode, ac in MODES:
            for sh, sw in SCALES if not ac else [(0.0, 0.0)]:
                if sh:
                    OH, OW = int(H * sh) or 1, int(W * sw) or 1
                x = rng.standard_normal((2, 3, H, W)).astype(dtype)
                dy = rng.standard_normal((2, 3, OH, OW)).astype(dtype)
                y, dx = run_c(x, (OH, OW), mode, ac, sh, sw, dy)
                what = f"{(H, W, OH, OW)} {mode} ac={ac} scale={(sh, sw)}"
                want = RI.interpolate2d_forward(x, (OH, OW), mode, ac, sh, sw)
                if mode.startswith("nearest"):
                    np.testing.assert_array_equal(y, want, err_msg=what)
                else:
                    np.testing.assert_allclose(y, want, **tol(dtype), err_msg=what)
                np.testing.assert_allclose(dx, RI.interpolate2d_backward(dy, x.shape, mode, ac, sh, sw), **tol(dtype),
                                           err_msg=what)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batch(isa, dtype):
    """N = 0: nothing to do, no crash; dx of N = 0 is empty too."""
    for mode, ac in MODES:
        x = np.zeros((0, 3, 4, 5), dtype)
        y, dx = run_c(x, (8, 3), mode, ac, dy=np.zeros((0, 3, 8, 3), dtype))
        assert y.shape == (0, 3, 8, 3) and dx.shape == x.shape


def test_threads_bitwise(each_isa, rng, threads):
    """Planes split over threads: 1, 2 and 3 threads give the same bits, forward and backward."""
    x = rng.standard_normal((4, 16, 30, 34)).astype(np.float32)
    dy = rng.standard_normal((4, 16, 61, 67)).astype(np.float32)
    dy2 = rng.standard_normal((4, 16, 60, 68)).astype(np.float32)
    for mode, ac in MODES:
        outs = []
        for n in (1, 2, 3):
            fe.set_num_threads(n)
            outs.append(run_c(x, (61, 67), mode, ac, dy=dy) + run_c(x, (60, 68), mode, ac, 2.0, 2.0, dy=dy2))
        for other in outs[1:]:
            for a, b in zip(outs[0], other):
                assert np.array_equal(a, b), (mode, ac)


def test_isas_agree(rng):
    """Every ISA this machine has gives nearest bit for bit and linear to rounding (the per-ISA code
    paths, the scale-2 rows included, compute the same thing)."""
    x = rng.standard_normal((2, 5, 9, 16)).astype(np.float32)
    dy = rng.standard_normal((2, 5, 18, 32)).astype(np.float32)
    before = _C.get_isa()
    try:
        res = {}
        for isa in _C.cpu_info()["available"]:
            _C.set_isa(isa)
            res[isa] = [run_c(x, (18, 32), m, ac, dy=dy) for m, ac in MODES]
    finally:
        _C.set_isa(before)
    ref = res["scalar"]
    for isa, r in res.items():
        for (m, _), (y0, dx0), (y, dx) in zip(MODES, ref, r):
            if m.startswith("nearest"):
                np.testing.assert_array_equal(y, y0)
            else:  # FMA contraction at the SIMD levels changes the last bit
                np.testing.assert_allclose(y, y0, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(dx, dx0, rtol=1e-6, atol=1e-6)


# --- F.interpolate and the layers against PyTorch -----------------------------------------------------

# (input spatial shape, kwargs of interpolate)
CASES = [
    ((5, 7), dict(size=(10, 14))), ((5, 7), dict(size=(3, 4))), ((1, 1), dict(size=(3, 5))), ((4, 4), dict(size=1)),
    ((6, 5), dict(scale_factor=2)), ((7, 3), dict(scale_factor=1.7)), ((9, 11), dict(scale_factor=(0.6, 2.3))),
    ((9, 11), dict(scale_factor=0.45)), ((7, 5), dict(scale_factor=2.5, recompute_scale_factor=True)),
    ((13, 6), dict(scale_factor=(1.3, 3.0), recompute_scale_factor=False)), ((17, 29), dict(size=(40, 23))),
    ((3, 3), dict(scale_factor=1.0)), ((3, 3), dict(scale_factor=1.1)), ((5, 4), dict(scale_factor=2.1)),
    ((7,), dict(size=13)), ((7,), dict(size=3)), ((1,), dict(size=4)), ((6,), dict(scale_factor=2.0)),
    ((11,), dict(scale_factor=1.3)), ((11,), dict(scale_factor=(0.7,))),
    ((5,), dict(scale_factor=2.2, recompute_scale_factor=True)),
]


def _modes(ndim):
    lin = "linear" if ndim == 1 else "bilinear"
    return [("nearest", None), ("nearest-exact", None), (lin, False), (lin, True), (lin, None)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_interpolate_matches_pytorch(rng, dtype):
    torch = pytest.importorskip("torch")
    for spatial, kw in CASES:
        for mode, ac in _modes(len(spatial)):
            x = rng.standard_normal((2, 3) + spatial).astype(dtype)
            xt = torch.tensor(x, requires_grad=True)
            want = torch.nn.functional.interpolate(xt, mode=mode, align_corners=ac, **kw)
            xf = fe.tensor(x, requires_grad=True)
            y = F.interpolate(xf, mode=mode, align_corners=ac, **kw)
            what = f"{spatial} {kw} {mode} ac={ac}"
            assert y.shape == tuple(want.shape), what
            assert y.dtype == x.dtype
            dy = rng.standard_normal(y.shape).astype(dtype)
            want.backward(torch.tensor(dy))
            y.backward(fe.tensor(dy))
            if mode.startswith("nearest"):
                np.testing.assert_array_equal(y.detach().numpy(), want.detach().numpy(), err_msg=what)
            else:
                np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), **tol(dtype), err_msg=what)
            np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), **tol(dtype), err_msg=what)


def test_nearest_indices_match_pytorch_over_many_sizes():
    """The float32 coordinate rules (floor(o * in / out), 1 / scale_factor, nearest-exact's + 0.5) pick
    the same input as PyTorch for every output, across sizes where float rounding decides."""
    torch = pytest.importorskip("torch")
    for n_in in (1, 3, 7, 10, 13, 31, 100, 127):
        x = np.arange(n_in, dtype=np.float32).reshape(1, 1, n_in)
        for kw in [dict(size=s) for s in (1, 2, 5, 9, 21, 64, 99, 255, 301)] + \
                  [dict(scale_factor=s) for s in (0.3, 0.51, 1.1, 1.5, 2.0, 2.9, 3.3, 7.7)]:
            if int(n_in * kw.get("scale_factor", 1)) < 1:
                continue
            for mode in ("nearest", "nearest-exact"):
                want = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
                got = F.interpolate(fe.tensor(x), mode=mode, **kw).numpy()
                np.testing.assert_array_equal(got, want, err_msg=f"{n_in} {kw} {mode}")


def test_nearest_1d_shortcut_difference(rng):
    """PyTorch's 1-D nearest forward reads floor(o / scale_factor) even where out == in or 2 * in (its 2-D
    op and its 1-D backward take o and o // 2 there): the forward matches PyTorch's, and the gradient
    is the exact adjoint of that forward (the documented difference from PyTorch's backward)."""
    torch = pytest.importorskip("torch")
    for L, sf in [(3, 1.1), (5, 2.1), (7, 1.05)]:
        x = rng.standard_normal((2, 3, L)).astype(np.float32)
        want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=sf).numpy()
        xf = fe.tensor(x, requires_grad=True)
        y = F.interpolate(xf, scale_factor=sf)
        np.testing.assert_array_equal(y.detach().numpy(), want)
        assert not np.array_equal(want, x.repeat(want.shape[-1] // L, axis=-1))  # the case that differs
        dy = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(fe.tensor(dy))
        adjoint = RI.interpolate2d_backward(dy[:, :, None], (2, 3, 1, L), "nearest-1d", False, 0.0, sf)[:, :, 0]
        np.testing.assert_allclose(xf.grad.numpy(), adjoint, rtol=1e-6, atol=1e-6)


def test_non_contiguous_input(rng):
    torch = pytest.importorskip("torch")
    base = rng.standard_normal((2, 3, 9, 6)).astype(np.float32)
    for mode, ac in [("nearest", None), ("bilinear", False), ("bilinear", True)]:
        xf = fe.tensor(base, requires_grad=True)
        xt = torch.tensor(base, requires_grad=True)
        y = F.interpolate(xf.transpose(2, 3), size=(11, 4), mode=mode, align_corners=ac)
        want = torch.nn.functional.interpolate(xt.transpose(2, 3), size=(11, 4), mode=mode, align_corners=ac)
        np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), rtol=2e-6, atol=2e-6)
        (y * y).sum().backward()
        (want * want).sum().backward()
        np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
        # a strided view straight from NumPy
        v = base[:, ::2, ::2, :]
        want = torch.nn.functional.interpolate(torch.tensor(v), scale_factor=1.5, mode=mode, align_corners=ac)
        got = F.interpolate(fe.tensor(v), scale_factor=1.5, mode=mode, align_corners=ac)
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=2e-6, atol=2e-6)


def test_upsample_layers_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    pairs = [(fe.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (fe.nn.Upsample(size=(7, 3), mode="bilinear"), torch.nn.Upsample(size=(7, 3), mode="bilinear")),
             (fe.nn.Upsample(scale_factor=(1.5, 2.5), mode="bilinear", align_corners=True),
              torch.nn.Upsample(scale_factor=(1.5, 2.5), mode="bilinear", align_corners=True)),
             (fe.nn.Upsample(scale_factor=1.7, mode="nearest", recompute_scale_factor=True),
              torch.nn.Upsample(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
             (fe.nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
             (fe.nn.UpsamplingBilinear2d(size=(9, 4)), torch.nn.UpsamplingBilinear2d(size=(9, 4))),
             (fe.nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        xf, xt = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, want = ours(xf), theirs(xt)
        np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), rtol=2e-6, atol=2e-6, err_msg=repr(ours))
        y.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=2e-6, atol=2e-5, err_msg=repr(ours))
    x1 = rng.standard_normal((2, 3, 7)).astype(np.float32)
    want = torch.nn.Upsample(scale_factor=2, mode="linear")(torch.tensor(x1)).numpy()
    got = fe.nn.Upsample(scale_factor=2, mode="linear")(fe.tensor(x1))
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=2e-6, atol=2e-6)


def test_second_derivative_matches_pytorch(rng):
    """create_graph through interpolate: d/d(dy) of <grad_x, v> is interpolate(v) (the backward's
    backward), as PyTorch gives it."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 5))
    dy = rng.standard_normal((1, 2, 7, 3))
    v = rng.standard_normal((1, 2, 4, 5))
    for mode, ac in [("nearest", None), ("bilinear", False), ("bilinear", True)]:
        xt, dyt = torch.tensor(x, requires_grad=True), torch.tensor(dy, requires_grad=True)
        (gt,) = torch.autograd.grad(torch.nn.functional.interpolate(xt, size=(7, 3), mode=mode, align_corners=ac), xt,
                                    dyt, create_graph=True)
        (gt * torch.tensor(v)).sum().backward()
        xf, dyf = fe.tensor(x, requires_grad=True), fe.tensor(dy, requires_grad=True)
        yf = F.interpolate(xf, size=(7, 3), mode=mode, align_corners=ac)
        (gf,) = fe.autograd.grad(yf, xf, dyf, create_graph=True)
        (gf * fe.tensor(v)).sum().backward()
        np.testing.assert_allclose(gf.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dyf.grad.numpy(), dyt.grad.numpy(), rtol=1e-12, atol=1e-12)


BAD_CALLS = [
    ((2, 3, 4, 4), dict(size=3, scale_factor=2)),                           # both
    ((2, 3, 4, 4), dict()),                                                 # neither
    ((2, 3, 4, 4), dict(size=3, align_corners=True)),                       # align_corners with nearest
    ((2, 3, 4, 4), dict(size=3, mode="nearest-exact", align_corners=False)),
    ((2, 3, 4, 4), dict(size=(3, 4, 5))),                                   # wrong number of sizes
    ((2, 3, 4, 4), dict(size=(3.0, 4))),                                    # non-integer size
    ((2, 3, 4, 4), dict(scale_factor=(2.0,))),                              # wrong number of scales
    ((2, 3, 4, 4), dict(size=3, recompute_scale_factor=True)),
    ((2, 3, 4, 4), dict(size=3, mode="linear")),                            # linear needs 3-D
    ((2, 3, 4), dict(size=3, mode="bilinear")),                             # bilinear needs 4-D
    ((2, 3, 4, 4), dict(size=3, mode="foo")),
    ((2, 3), dict(size=3)),                                                 # 2-D input
    ((2, 3, 4, 4), dict(size=(0, 3))),                                      # empty output
    ((2, 3, 4, 4), dict(scale_factor=0.1)),
    ((2, 3, 4), dict(scale_factor=-1.0)),
    ((2, 0, 4, 4), dict(size=3)),                                           # no channels
    ((2, 3, 4), dict(size=3, mode="nearest", antialias=True)),
]


def test_argument_errors_match_pytorch():
    """Each bad call raises the exception class PyTorch raises (a message naming the problem)."""
    torch = pytest.importorskip("torch")
    for shape, kw in BAD_CALLS:
        x = np.zeros(shape, np.float32)
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.interpolate(torch.tensor(x), **kw)
        cls = theirs.type
        if kw.get("antialias") and cls is not ValueError:  # PyTorch has antialias; firstepoch does not
            cls = NotImplementedError
        with pytest.raises(cls):
            F.interpolate(fe.tensor(x), **kw)


def test_unsupported_modes_are_named():
    x = fe.tensor(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, size=3, mode="bilinear", antialias=True)
    for mode in ("bicubic", "area"):
        with pytest.raises(NotImplementedError, match=mode):
            F.interpolate(x, size=3, mode=mode)
    with pytest.raises(NotImplementedError):
        F.interpolate(fe.tensor(np.zeros((1, 1, 2, 2, 2), np.float32)), size=3)


def test_binding_checks():
    x = np.zeros((2, 3, 4, 5), np.float32)
    y = np.zeros((2, 3, 6, 7), np.float32)
    with pytest.raises(ValueError, match="mode"):
        _C.interpolate2d_forward(x, y, "bicubic", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="align_corners"):
        _C.interpolate2d_forward(x, y, "nearest", True, 0.0, 0.0)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
        _C.interpolate2d_forward(x.astype(np.int32), y, "nearest", False, 0.0, 0.0)
    with pytest.raises(TypeError, match="y must have dtype float32"):
        _C.interpolate2d_forward(x, y.astype(np.float64), "nearest", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="N and C"):
        _C.interpolate2d_forward(x, np.zeros((2, 4, 6, 7), np.float32), "linear", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="4-D"):
        _C.interpolate2d_forward(x[0], y, "linear", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="greater than 0"):
        _C.interpolate2d_forward(x, np.zeros((2, 3, 0, 7), np.float32), "linear", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.interpolate2d_forward(np.zeros((2, 3, 5, 4), np.float32).transpose(0, 1, 3, 2), y, "linear", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="read-only"):
        y.flags.writeable = False
        _C.interpolate2d_forward(x, y, "linear", False, 0.0, 0.0)
    buf = np.zeros(2 * 3 * 6 * 7, np.float32)
    with pytest.raises(ValueError, match="shares memory"):
        _C.interpolate2d_forward(buf[:120].reshape(2, 3, 4, 5), buf.reshape(2, 3, 6, 7), "nearest", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="dx"):
        _C.interpolate2d_backward(np.zeros((2, 3, 6, 7), np.float32), np.zeros((2, 3, 4), np.float32), "linear",
                                  False, 0.0, 0.0)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "nearest-1d", "linear"])
def test_extreme_scale_factors_stay_inside(isa, rng, mode):
    """A scale factor given straight to _C that makes the coordinates huge, infinite or NaN (1e-30,
    5e-324, NaN, inf) reads only inputs of the plane: every output is one of the row's values or a mix
    of two, never garbage, and the backward conserves the sum of dy."""
    x = rng.standard_normal((1, 2, 3, 4))
    dy = rng.standard_normal((1, 2, 5, 6))
    for sc in (1e-30, 5e-324, float("nan"), float("inf"), 1e30):
        y, dx = run_c(x, (5, 6), mode, False, sc, sc, dy=dy)
        assert np.isfinite(y).all() and np.abs(y).max() <= np.abs(x).max() + 1e-12, sc
        np.testing.assert_allclose(dx.sum(axis=(2, 3)), dy.sum(axis=(2, 3)), rtol=1e-12, atol=1e-12)
