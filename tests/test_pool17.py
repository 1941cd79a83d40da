"""Pooling as PyTorch (issue 17): ceil_mode, return_indices, avg_pool2d's count_include_pad and
divisor_override, MaxUnpool2d, adaptive pools of any output size, 1-D pools, unbatched input.
The kernels against the NumPy reference at every ISA (outputs, argmax, gradients; 1 vs 2 threads
bitwise), then the layers and functions against PyTorch (outputs, indices, gradients, errors)."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.autograd.gradcheck import gradcheck, gradgradcheck
from firstepoch.reference import pool as RP

DTYPES = [np.float32, np.float64]
SIZES = [(1, 1), (2, 3), (5, 5), (7, 13), (6, 32), (29, 17), (4, 33)]
# (kernel, stride, padding, dilation): the fast paths (2x2/2, disjoint windows, kernel < stride) that
# ceil_mode must leave when the last window overhangs, and padded, overlapping, dilated windows
GEOMS = [((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 3), (3, 3), (0, 0), (1, 1)), ((2, 2), (3, 3), (0, 0), (1, 1)),
         ((3, 3), (2, 2), (1, 1), (1, 1)), ((2, 3), (2, 4), (1, 0), (1, 1)), ((3, 2), (1, 2), (1, 1), (1, 1)),
         ((3, 3), (2, 1), (1, 0), (2, 1)), ((5, 4), (3, 3), (2, 2), (1, 1))]


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def shape_of(H, W, k, s, p, d, ceil):
    return RP.pool_out_size(H, k[0], s[0], p[0], d[0], ceil), RP.pool_out_size(W, k[1], s[1], p[1], d[1], ceil)


TORCH_SIZES = [(2, 3), (5, 5), (7, 13), (29, 17)]  # fewer: each case runs torch too


def cases(dilation=True, sizes=SIZES):
    for H, W in sizes:
        for k, s, p, d in GEOMS:
            if not dilation and d != (1, 1):
                continue
            for ceil in (False, True):
                oh, ow = shape_of(H, W, k, s, p, d, ceil)
                if oh >= 1 and ow >= 1:
                    yield (H, W), (k, s, p, d), ceil, (oh, ow)


def all_padding_window(H, W, k, s, p, d, oh, ow):
    """Whether some window sees only padding (PyTorch's index there is not in the plane)."""
    for n, kk, ss, pp, dd, o in ((H, k[0], s[0], p[0], d[0], oh), (W, k[1], s[1], p[1], d[1], ow)):
        for i in range(o):
            if not any(0 <= i * ss - pp + j * dd < n for j in range(kk)):
                return True
    return False


# ---- the kernels against the reference, at every ISA ---------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_ceil_mode_matches_reference(isa, rng, dtype):
    """y, argmax exactly, dx to rounding, with ceil_mode's overhanging windows (the fast paths for whole
    windows must not read past the plane); integers with ties and NaN."""
    n = 0
    for (H, W), (k, s, p, d), ceil, (oh, ow) in cases():
        x = rng.integers(-2, 3, size=(2, 3, H, W)).astype(dtype)
        x[rng.random(x.shape) < 0.03] = np.nan
        y, am = np.full((2, 3, oh, ow), 7, dtype), np.full((2, 3, oh, ow), 7, np.int64)
        _C.max_pool2d_forward(x, y, am, k, s, p, d, ceil)
        want, want_am = RP.max_pool2d_forward(x, k, s, p, d, ceil)
        msg = f"{(H, W)} {k} {s} {p} {d} ceil={ceil}"
        np.testing.assert_array_equal(y, want, err_msg=msg)
        np.testing.assert_array_equal(am, want_am, err_msg=msg)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = np.full(x.shape, np.nan, dtype)  # overwritten: no NaN may survive
        _C.max_pool2d_backward(dy, am, dx, k, s, p, d, ceil)
        np.testing.assert_allclose(dx, RP.max_pool2d_backward(dy, am, x.shape, k, s, p, d, ceil), **tol(dtype),
                                   err_msg=msg)
        n += ceil and (oh, ow) != shape_of(H, W, k, s, p, d, False)
    assert n > 20  # ceil_mode really added windows in many cases


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_divisors_match_reference(isa, rng, dtype):
    """Every divisor rule: count_include_pad (padding counts, the ceil_mode overhang does not), not
    counting padding, divisor_override (also negative); forward and backward."""
    for (H, W), (k, s, p, _), ceil, (oh, ow) in cases(dilation=False):
        x = rng.standard_normal((2, 3, H, W)).astype(dtype)
        dy = rng.standard_normal((2, 3, oh, ow)).astype(dtype)
        for cip, dov in [(True, None), (False, None), (True, 3), (False, -2)]:
            msg = f"{(H, W)} {k} {s} {p} ceil={ceil} count_include_pad={cip} divisor_override={dov}"
            y = np.full(dy.shape, np.nan, dtype)
            _C.avg_pool2d_forward(x, y, k, s, p, ceil, cip, dov)
            np.testing.assert_allclose(y, RP.avg_pool2d_forward(x, k, s, p, ceil, cip, dov), **tol(dtype), err_msg=msg)
            dx = np.full(x.shape, np.nan, dtype)
            _C.avg_pool2d_backward(dy, dx, k, s, p, ceil, cip, dov)
            np.testing.assert_allclose(dx, RP.avg_pool2d_backward(dy, x.shape, k, s, p, ceil, cip, dov), **tol(dtype),
                                       err_msg=msg)


@pytest.mark.parametrize("geom", GEOMS)
def test_threads_bitwise(isa, rng, threads, geom):
    """1 and 2 threads (and 3) give the same bits with ceil_mode and per-output divisors."""
    k, s, p, d = geom
    x = rng.standard_normal((8, 9, 31, 35)).astype(np.float32)
    dy = rng.standard_normal((8, 9, *shape_of(31, 35, k, s, p, d, True))).astype(np.float32)
    dya = rng.standard_normal((8, 9, *shape_of(31, 35, k, s, p, (1, 1), True))).astype(np.float32)
    outs = []
    for n in (1, 2, 3):
        fe.set_num_threads(n)
        y, am, ya = np.empty(dy.shape, np.float32), np.empty(dy.shape, np.int64), np.empty(dya.shape, np.float32)
        dx, dxa = np.empty_like(x), np.empty_like(x)
        _C.max_pool2d_forward(x, y, am, k, s, p, d, True)
        _C.max_pool2d_backward(dy, am, dx, k, s, p, d, True)
        _C.avg_pool2d_forward(x, ya, k, s, p, True, False, None)
        _C.avg_pool2d_backward(dya, dxa, k, s, p, True, False, None)
        outs.append((y, am, dx, ya, dxa))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            assert np.array_equal(a, b)


def test_kernel_argument_errors():
    x = np.zeros((1, 1, 5, 5), np.float32)
    y = np.zeros((1, 1, 5, 5), np.float32)
    am = np.zeros((1, 1, 5, 5), np.int64)
    with pytest.raises(ValueError, match="padding .* must be at most half of kernel_size"):
        _C.max_pool2d_forward(x, y, am, (3, 3), (1, 1), (2, 2), (1, 1), False)
    with pytest.raises(ValueError, match="divisor_override"):
        _C.avg_pool2d_forward(x, y[:, :, :2, :2].copy(), (2, 2), (2, 2), (0, 0), False, True, 0)
    with pytest.raises(ValueError, match="too small"):
        _C.max_pool2d_forward(x, y, am, (7, 7), (1, 1), (0, 0), (1, 1), True)
    with pytest.raises(ValueError, match="y must have shape"):  # ceil_mode's size is checked, not the floor's
        _C.avg_pool2d_forward(x, y[:, :, :2, :2].copy(), (2, 2), (2, 2), (0, 0), True)


# ---- against PyTorch -------------------------------------------------------------------------------------

def run_both(torch, fe_fn, t_fn, x, dtype, noncontiguous=False):
    """Outputs (a tuple) and the input gradient of fe_fn and t_fn on x, for a random weighting of the
    first output."""
    xf = fe.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    if noncontiguous:  # the same values through a transposed view
        xf = fe.tensor(np.ascontiguousarray(np.swapaxes(x, -1, -2)), requires_grad=True)
        xt = torch.tensor(np.ascontiguousarray(np.swapaxes(x, -1, -2)), requires_grad=True)
        of, ot = fe_fn(xf.transpose(-1, -2)), t_fn(xt.transpose(-1, -2))
    else:
        of, ot = fe_fn(xf), t_fn(xt)
    of = of if isinstance(of, tuple) else (of,)
    ot = ot if isinstance(ot, tuple) else (ot,)
    w = np.random.default_rng(1).standard_normal(tuple(ot[0].shape)).astype(dtype)
    (of[0] * fe.tensor(w)).sum().backward()
    (ot[0] * torch.tensor(w)).sum().backward()
    return [o.detach().numpy() for o in of], [o.detach().numpy() for o in ot], xf.grad.numpy(), xt.grad.numpy()


def check(torch, fe_fn, t_fn, x, dtype, msg, noncontiguous=False):
    of, ot, gf, gt = run_both(torch, fe_fn, t_fn, x, dtype, noncontiguous)
    assert len(of) == len(ot), msg
    for a, b in zip(of, ot):
        assert a.shape == b.shape, f"{msg}: {a.shape} vs {b.shape}"
        if b.dtype == np.int64:
            assert a.dtype == np.int64, msg
            np.testing.assert_array_equal(a, b, err_msg=msg)
        else:
            assert a.dtype == b.dtype, msg
            np.testing.assert_allclose(a, b, **tol(dtype), err_msg=msg)
    np.testing.assert_allclose(gf, gt, **tol(dtype), err_msg=msg)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_matches_pytorch(rng, dtype):
    """Outputs, indices and gradients for every option, batched and unbatched, contiguous or not; the
    module with return_indices as well."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for n, ((H, W), (k, s, p, d), ceil, (oh, ow)) in enumerate(cases(sizes=TORCH_SIZES)):
        if all_padding_window(H, W, k, s, p, d, oh, ow):
            continue
        x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(dtype)  # distinct: ties are a test below
        unbatched = n % 2 == 1
        xi = x[0] if unbatched else x
        msg = f"{(H, W)} {k} {s} {p} {d} ceil={ceil} unbatched={unbatched}"
        check(torch, lambda t: F.max_pool2d(t, k, s, p, d, ceil, return_indices=True),
              lambda t: tf.max_pool2d(t, k, s, p, d, ceil, return_indices=True), xi, dtype, msg,
              noncontiguous=n % 4 < 2)
    x = rng.standard_normal((2, 4, 9, 10)).astype(dtype)
    check(torch, nn.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True),
          torch.nn.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True), x, dtype, "module")
    check(torch, nn.MaxPool2d((2, 3), ceil_mode=True), torch.nn.MaxPool2d((2, 3), ceil_mode=True), x, dtype, "module")


def test_max_pool2d_ties_take_the_first_maximum():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 5, 5), np.float32)
    y, i = F.max_pool2d(fe.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool2d_matches_pytorch(rng, dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for n, ((H, W), (k, s, p, _), ceil, _) in enumerate(cases(dilation=False, sizes=TORCH_SIZES)):
        x = rng.standard_normal((2, 3, H, W)).astype(dtype)
        for cip, dov in [(True, None), (False, None), (True, 2), (False, 5)]:
            unbatched = (n + cip) % 2 == 1
            msg = f"{(H, W)} {k} {s} {p} ceil={ceil} count_include_pad={cip} divisor_override={dov}"
            check(torch, lambda t: F.avg_pool2d(t, k, s, p, ceil, cip, dov),
                  lambda t: tf.avg_pool2d(t, k, s, p, ceil, cip, dov), x[0] if unbatched else x, dtype, msg,
                  noncontiguous=n % 2 == 0)
    x = rng.standard_normal((2, 4, 9, 10)).astype(dtype)
    check(torch, nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
          torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), x, dtype, "module")
    check(torch, nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3), x, dtype, "module")


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool1d_matches_pytorch(rng, dtype):
    torch = pytest.importorskip("torch")
    for L in (1, 7, 16, 31):
        x = rng.permutation(2 * 3 * L).reshape(2, 3, L).astype(dtype)
        for k, s, p, d in [(2, None, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2), (4, 3, 2, 1)]:
            for ceil in (False, True):
                try:
                    torch.nn.functional.max_pool1d(torch.tensor(x), k, s, p, d, ceil)
                except RuntimeError:
                    continue
                # the modules on batches, the functions on unbatched (C, L)
                msg = f"L={L} {k} {s} {p} {d} ceil={ceil}"
                check(torch, nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=ceil),
                      torch.nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=ceil), x, dtype, msg)
                check(torch, lambda t: F.max_pool1d(t, k, s, p, d, ceil, True),
                      lambda t: torch.nn.functional.max_pool1d(t, k, s, p, d, ceil, True), x[1], dtype, msg)
                if d == 1:
                    for cip in (True, False):
                        check(torch, nn.AvgPool1d(k, s, p, ceil, cip), torch.nn.AvgPool1d(k, s, p, ceil, cip),
                              x, dtype, msg + f" cip={cip}")
                        check(torch, lambda t: F.avg_pool1d(t, k, s, p, ceil, cip),
                              lambda t: torch.nn.functional.avg_pool1d(t, k, s, p, ceil, cip), x[1], dtype, msg)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_pools_match_pytorch(rng, dtype):
    """Any output size (divisors on the kernels, others not), None entries, larger than the input,
    unbatched; indices and gradients."""
    torch = pytest.importorskip("torch")
    for (H, W) in [(1, 1), (5, 7), (8, 6), (13, 4)]:
        x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(dtype)
        for out in [1, 2, 3, (3, 2), (None, 3), (4, None), (7, 5), (2, 9), (H, W)]:
            msg = f"{(H, W)} -> {out}"  # the modules on batches, the functions on unbatched views
            check(torch, nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out), x, dtype, msg)
            check(torch, nn.AdaptiveMaxPool2d(out, return_indices=True),
                  torch.nn.AdaptiveMaxPool2d(out, return_indices=True), x, dtype, msg)
            check(torch, lambda t: F.adaptive_max_pool2d(t, out, True),
                  lambda t: torch.nn.functional.adaptive_max_pool2d(t, out, True), x[1], dtype, msg, noncontiguous=True)
            check(torch, lambda t: F.adaptive_avg_pool2d(t, out), lambda t: torch.nn.functional.adaptive_avg_pool2d(t, out),
                  x[1], dtype, msg, noncontiguous=True)


def test_adaptive_pools_first_and_second_derivatives(rng):
    """The composites (output sizes that do not divide the input) are recorded ops: gradients and
    gradients of gradients by finite differences."""
    x = fe.tensor(rng.permutation(5 * 4).reshape(1, 1, 5, 4) * 0.1, requires_grad=True)
    for out in [(3, 3), (None, 3)]:
        assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), (x,))
        assert gradcheck(lambda t: F.adaptive_max_pool2d(t, out), (x,))
    assert gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, (3, 3)) ** 2, (x,))
    assert gradgradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 3)) ** 2, (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_unpool2d_matches_pytorch(rng, dtype):
    """max_pool2d then max_unpool2d: the default size and every output_size torch allows, unbatched,
    gradients."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for (H, W), k, s, p in [((6, 8), 2, None, 0), ((7, 9), 3, 2, 1), ((5, 5), (2, 3), (2, 2), (1, 0))]:
        x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(dtype)
        _, it = tf.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
        y = tf.max_pool2d(torch.tensor(x), k, s, p).numpy()
        for size in [None, (H, W), (1, 1, H, W)]:
            for unbatched in (False, True):
                yi, ii = (y[0], it[0]) if unbatched else (y, it)
                msg = f"{(H, W)} {k} {s} {p} {size} unbatched={unbatched}"
                try:
                    tf.max_unpool2d(torch.tensor(yi), ii, k, s, p, size)
                except RuntimeError:  # the default size can be smaller than the pooled input: both refuse
                    with pytest.raises(RuntimeError, match="invalid max index"):
                        F.max_unpool2d(fe.tensor(yi), fe.tensor(ii.numpy()), k, s, p, size)
                    continue
                check(torch, lambda t: F.max_unpool2d(t, fe.tensor(ii.numpy()), k, s, p, size),
                      lambda t: tf.max_unpool2d(t, ii, k, s, p, size), yi, dtype, msg)
                check(torch, lambda t: nn.MaxUnpool2d(k, s, p)(t, fe.tensor(ii.numpy()), size),
                      lambda t: torch.nn.MaxUnpool2d(k, s, p)(t, ii, size), yi, dtype, msg)


def test_max_unpool2d_errors_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.ones((1, 1, 2, 2), np.float32)
    idx = np.zeros((1, 1, 2, 2), np.int64)
    for size in [(6, 6), (2, 2), (1, 4, 4)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.functional.max_unpool2d(torch.tensor(x), torch.tensor(idx), 2, output_size=size)
        with pytest.raises(ValueError) as ours:
            F.max_unpool2d(fe.tensor(x), fe.tensor(idx), 2, output_size=size)
        assert str(ours.value).split("(")[0] == str(theirs.value).split("(")[0]
    with pytest.raises(RuntimeError, match="invalid max index: 99"):
        torch.nn.functional.max_unpool2d(torch.tensor(x), torch.full((1, 1, 2, 2), 99), 2)
    with pytest.raises(RuntimeError, match="invalid max index: 99"):
        F.max_unpool2d(fe.tensor(x), fe.tensor(np.full((1, 1, 2, 2), 99)), 2)
    with pytest.raises(RuntimeError, match="int64"):  # torch's class
        F.max_unpool2d(fe.tensor(x), fe.tensor(idx.astype(np.int32)), 2)


def _try_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def test_window_errors_where_pytorch_raises():
    """Where torch raises for a window (padding over half the kernel, zero stride, an output too small, a
    zero divisor, a wrong rank), firstepoch raises the same class, with torch's words."""
    x = np.zeros((1, 2, 5, 5), np.float32)
    bad = [(F.max_pool2d, "max_pool2d", (3, 1, 2), {}, "pad should be at most half of effective kernel size"),
           (F.avg_pool2d, "avg_pool2d", (3, 1, 2), {}, "pad should be at most half of effective kernel size"),
           (F.max_pool2d, "max_pool2d", (2, 0), {}, "stride should not be zero"),
           (F.max_pool2d, "max_pool2d", (7,), {}, "Output size is too small"),
           (F.max_pool2d, "max_pool2d", (8, 3), {"ceil_mode": True}, "Output size is too small"),
           (F.avg_pool2d, "avg_pool2d", (2,), {"divisor_override": 0}, "divisor must be not zero")]
    torch = _try_torch()
    for ours, name, args, kw, words in bad:
        if torch is not None:
            with pytest.raises(RuntimeError, match=words):
                getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kw)
        with pytest.raises(RuntimeError, match=words):
            ours(fe.tensor(x), *args, **kw)
    # ceil_mode with a kernel larger than the input: one window, legal in both
    assert F.max_pool2d(fe.tensor(x[:, :, :1, :1]), 2, ceil_mode=True).shape == (1, 2, 1, 1)
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D \(batch mode\) tensor .* but got: \[1, 1, 1, 5, 5\]"):
        F.max_pool2d(fe.zeros(1, 1, 1, 5, 5), 2)
    with pytest.raises(IndexError):  # as torch's avg_pool2d of an (H, W) input
        F.avg_pool2d(fe.tensor(np.zeros((5, 5), np.float32)), 2)
    with pytest.raises(RuntimeError, match=r"max_pool1d: input must be \(N, C, L\) or \(C, L\)"):
        F.max_pool1d(fe.tensor(np.zeros(5, np.float32)), 2)


def test_gradcheck_of_the_layers(rng):
    """float64 gradients by finite differences through the public functions (unbatched, 1-D, unpool)."""
    x = fe.tensor(rng.permutation(3 * 7 * 6).reshape(3, 7, 6) * 0.01, requires_grad=True)
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda t: F.max_pool1d(t, 3, 2, ceil_mode=True), (x,))
    assert gradcheck(lambda t: F.avg_pool1d(t, 4, 3, 2, ceil_mode=True), (x,))
    y, i = F.max_pool2d(x, 2, return_indices=True)
    assert gradcheck(lambda t: F.max_unpool2d(t, i, 2, output_size=(7, 6)), (fe.tensor(y.detach().numpy(), requires_grad=True),))


def test_module_attributes_and_reprs_as_pytorch():
    torch = pytest.importorskip("torch")
    pairs = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (nn.MaxPool1d(3), torch.nn.MaxPool1d(3)), (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
             (nn.AvgPool1d(3, 2), torch.nn.AvgPool1d(3, 2)), (nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)),
             (nn.AdaptiveAvgPool2d((None, 3)), torch.nn.AdaptiveAvgPool2d((None, 3))),
             (nn.AdaptiveMaxPool2d(2, True), torch.nn.AdaptiveMaxPool2d(2, True))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        for name in ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override",
                     "return_indices", "output_size"):
            assert getattr(ours, name, None) == getattr(theirs, name, None), (repr(theirs), name)
