"""Convolution and pooling: the C++ im2col / col2im / pooling kernels against the NumPy reference at
every ISA and both dtypes over odd shapes, strides 1-3, padding 0-2, dilation 1-2; conv2d forward and
backward; 1 vs 2 threads bitwise; bad hyper-parameters; PyTorch's outputs when importable."""
import itertools

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.ops.conv import Conv2dFn, conv_geometry
from firstepoch.reference import conv as R, pool as RP
from conftest import tol_for

DTYPES = [np.float32, np.float64]
GEOMS = [((3, 3), (1, 1), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2), (2, 1)), ((5, 5), (3, 2), (2, 0), (1, 2)),
         ((1, 1), (1, 1), (0, 0), (1, 1)), ((3, 1), (1, 3), (1, 0), (2, 1))]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_col2im(isa, rng, dtype):
    for (C, H, W), (k, s, p, d) in itertools.product([(1, 7, 9), (3, 11, 6), (2, 5, 5)], GEOMS):
        if R.out_size(H, k[0], s[0], p[0], d[0]) < 1 or R.out_size(W, k[1], s[1], p[1], d[1]) < 1:
            continue
        x = rng.standard_normal((C, H, W)).astype(dtype)
        ref = R.im2col(x, k, s, p, d)
        col = np.empty_like(ref)
        _C.im2col(x, col, k, s, p, d)
        np.testing.assert_array_equal(col, ref)
        dx = np.zeros_like(x)
        _C.col2im(ref, dx, k, s, p, d)
        np.testing.assert_allclose(dx, R.col2im(ref, x.shape, k, s, p, d), **tol(dtype))


# "Same" padding at stride 1 (the output row as long as the input row: im2col copies a window's rows
# as one block, then zeroes the padding columns), with rows longer than one vector (masked tails)
SAME_GEOMS = [((5, 5), (1, 1), (2, 2), (1, 1)), ((3, 3), (1, 1), (2, 2), (2, 2)), ((3, 5), (1, 1), (1, 2), (1, 1)),
              ((3, 3), (2, 1), (1, 1), (1, 1)), ((7, 7), (1, 1), (3, 3), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_same_padding_rows_of_every_length(isa, rng, dtype):
    for (C, H, W), (k, s, p, d) in itertools.product([(1, 28, 28), (2, 9, 37), (3, 17, 20), (1, 3, 2)], SAME_GEOMS):
        x = rng.standard_normal((C, H, W)).astype(dtype)
        ref = R.im2col(x, k, s, p, d)
        col = np.full_like(ref, np.nan)  # every element must be written
        _C.im2col(x, col, k, s, p, d)
        np.testing.assert_array_equal(col, ref, err_msg=str(((C, H, W), k, s, p, d)))
        dx = np.zeros_like(x)
        _C.col2im(ref, dx, k, s, p, d)
        np.testing.assert_allclose(dx, R.col2im(ref, x.shape, k, s, p, d), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_col2im_stride_2_rows_of_every_length(isa, rng, dtype):
    """Stride 2 along a row: outputs from two vectors of inputs with masked tails (every row length up to
    past two vectors, odd and even widths, with and without padding), and the scatter back, which must
    leave the inputs the window skips (odd columns, signed zeros included) as they were."""
    for W, (kw, pw) in itertools.product(range(1, 70), [(1, 0), (3, 1), (2, 0)]):
        if R.out_size(W, kw, 2, pw, 1) < 1:
            continue
        x = rng.standard_normal((2, 3, W)).astype(dtype)
        k, s, p = (1, kw), (1, 2), (0, pw)
        ref = R.im2col(x, k, s, p)
        col = np.full_like(ref, np.nan)
        _C.im2col(x, col, k, s, p, (1, 1))
        np.testing.assert_array_equal(col, ref, err_msg=str((W, kw, pw)))
        dx = np.full_like(x, np.nan)
        _C.col2im(ref, dx, k, s, p, (1, 1))
        want = R.col2im(ref, x.shape, k, s, p)
        np.testing.assert_allclose(dx, want, **tol(dtype))
        assert np.array_equal(np.signbit(dx[want == 0]), np.signbit(want[want == 0]))


def _check_im2col_col2im(x, geom, col2im_tol):
    """im2col of x (C, H, W) against the reference, every element written; col2im of the reference's
    columns, every input overwritten (those no window reads too), within col2im_tol ({}: exactly)."""
    ref = R.im2col(x, *geom)
    col = np.full_like(ref, np.nan)
    _C.im2col(x, col, *geom, (1, 1))
    np.testing.assert_array_equal(col, ref, err_msg=str((x.shape, geom)))
    dx = np.full_like(x, np.nan)
    _C.col2im(ref, dx, *geom, (1, 1))
    want = R.col2im(ref, x.shape, *geom)
    if col2im_tol:
        np.testing.assert_allclose(dx, want, **col2im_tol, err_msg=str((x.shape, geom)))
    else:
        np.testing.assert_array_equal(dx, want, err_msg=str((x.shape, geom)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_col2im_strided_1x1(isa, rng, dtype):
    """1x1 windows with no padding at a stride (ResNet's shortcut, 1x1 stride 2) take a path of their own:
    each column row the input's rows at the row stride, read at the column stride. Sizes the stride
    divides and sizes it leaves a last row or column of (never read; col2im gives it 0), rows shorter
    and longer than one vector."""
    for (H, W), (sh, sw) in itertools.product([(1, 1), (2, 3), (7, 9), (16, 32), (17, 33), (5, 70), (32, 31)],
                                              [(2, 2), (3, 1), (1, 3), (2, 3), (4, 4), (2, 1), (1, 2)]):
        # no two windows overlap: col2im adds nothing, so its result is exact too
        _check_im2col_col2im(rng.standard_normal((3, H, W)).astype(dtype), ((1, 1), (sh, sw), (0, 0)), {})


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_col2im_stride_2_in_both_axes(isa, rng, dtype):
    """Stride 2 in both axes with no dilation goes through the input's four phases (even/odd rows and
    columns, each tap a shifted copy of one): odd and even sizes (a phase one row or column short), plane
    rows as long as output rows or not, padding from 0 to past the kernel (taps that read only padding),
    kernels 2-5 wide. col2im must give back the per-tap scatter's sums, here checked against the reference."""
    for (H, W), (kh, kw), (ph, pw) in itertools.product(
            [(1, 1), (2, 3), (5, 4), (7, 9), (8, 8), (16, 33), (31, 32)], [(2, 2), (3, 3), (5, 3), (2, 5)],
            [(0, 0), (1, 1), (2, 0), (1, 3), (4, 5)]):
        if R.out_size(H, kh, 2, ph, 1) < 1 or R.out_size(W, kw, 2, pw, 1) < 1:
            continue
        _check_im2col_col2im(rng.standard_normal((3, H, W)).astype(dtype), ((kh, kw), (2, 2), (ph, pw)), tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_pooling(isa, rng, dtype):
    x = rng.standard_normal((2, 3, 9, 7)).astype(dtype)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))]:
        got = F.max_pool2d(fe.tensor(x), k, s, p).numpy()
        np.testing.assert_array_equal(got, RP.max_pool2d_forward(x, k, s, p)[0])
        got = F.avg_pool2d(fe.tensor(x), k, s, p).numpy()
        np.testing.assert_allclose(got, RP.avg_pool2d_forward(x, k, s, p), **tol(dtype))


def test_pool_window_errors_are_torchs_runtime_errors_in_torchs_order():
    # torch 2.13's F.max_pool2d: padding at most half the dilated kernel (its message when that fails),
    # then at most half of kernel_size itself, whatever the dilation
    x = fe.zeros(1, 2, 9, 7)
    with pytest.raises(RuntimeError, match=r"pad should be at most half of effective kernel size, but got pad=2, "
                                           r"kernel_size=3 and dilation=1"):
        F.max_pool2d(x, 3, 1, 2)
    with pytest.raises(RuntimeError, match=r"pad should be smaller than or equal to half of kernel size, but got "
                                           r"padW = 2, padH = 2, kW = 3, kH = 3"):
        F.max_pool2d(x, 3, 1, 2, 2)
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        F.avg_pool2d(x, 2, 0)
    with pytest.raises(RuntimeError, match=r"dilation should be greater than zero, but got dilationH: 0 dilationW: 0"):
        F.max_pool2d(x, 2, dilation=0)
    with pytest.raises(RuntimeError, match=r"Given input size: \(2x9x7\)\. Calculated output size: \(2x0x-1\)"):
        F.max_pool2d(x, (10, 9), 1)
    assert F.max_pool2d(x, 3, 1, 1, 2).shape == (1, 2, 7, 5)  # padding 1 of a 3-wide window, dilated: legal


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool2d_backward_matches_reference(isa, rng, dtype):
    """The kernel's average-pooling gradient against reference.pool.avg_pool2d_backward."""
    x = rng.standard_normal((2, 3, 9, 7)).astype(dtype)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))]:
        X = fe.tensor(x, requires_grad=True)
        y = F.avg_pool2d(X, k, s, p)
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(g)
        np.testing.assert_allclose(X.grad, RP.avg_pool2d_backward(g, x.shape, k, s, p), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_forward_backward(isa, rng, dtype):
    cases = [((2, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)), ((1, 1, 7, 7), (2, 1, 2, 2), dict(stride=3)),
             ((3, 4, 6, 10), (6, 2, 3, 2), dict(groups=2, dilation=(2, 1), padding=(2, 0))),
             ((2, 5, 5, 5), (5, 1, 3, 3), dict(groups=5, padding=2)), ((2, 6, 4, 4), (3, 6, 1, 1), {})]
    for xs, ws, kw in cases:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        X, Wt, B = (fe.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(X, Wt, B, **kw)
        np.testing.assert_allclose(y._data, R.conv2d_forward(x, w, b, **kw), **tol(dtype))
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(g)
        dx, dw, db = R.conv2d_backward(x, w, g, **kw)
        for got, want in ((X.grad, dx), (Wt.grad, dw), (B.grad, db)):
            np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-11,
                                       atol=1e-4 if dtype == np.float32 else 1e-11)


def test_threads_bitwise_equal(rng, threads):
    x = rng.standard_normal((8, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    outs = []
    for n in (1, 2):
        fe.set_num_threads(n)
        X, Wt = fe.tensor(x, requires_grad=True), fe.tensor(w, requires_grad=True)
        y = F.max_pool2d(F.conv2d(X, Wt, padding=2), 2)
        y.sum().backward()
        outs.append((y._data, X.grad, Wt.grad))
    for a, b in zip(*outs):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_ties_route_the_gradient_to_the_first_maximum(isa, rng, dtype):
    """Many equal values (ReLU zeros) and some NaNs: the gradient goes to the first maximum in raster
    order, as the reference's argmax finds it, for every window shape of the unpadded fast path."""
    x = rng.integers(-1, 3, size=(3, 4, 11, 13)).astype(dtype)
    x[rng.random(x.shape) < 0.02] = np.nan
    for k, s in [(2, 2), (3, 2), (3, 1), ((2, 3), (1, 2)), ((3, 2), (2, 3)), (1, 1), ((11, 1), (1, 4))]:
        X = fe.tensor(x, requires_grad=True)
        y = F.max_pool2d(X, k, s)
        want, argmax = RP.max_pool2d_forward(x, k, s)
        np.testing.assert_array_equal(y._data, want)
        dy = rng.standard_normal(y.shape).astype(dtype)
        (y * fe.tensor(dy)).sum().backward()
        np.testing.assert_array_equal(X.grad, RP.max_pool2d_backward(dy, argmax, x.shape, k, s))


def test_max_pool_nan_propagates_and_padding_never_wins():
    x = np.full((1, 1, 4, 4), -5.0, np.float32)
    x[0, 0, 1, 1] = np.nan
    y = F.max_pool2d(fe.tensor(x), 2).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and (y[0, 0].ravel()[1:] == -5).all()
    y = F.max_pool2d(fe.tensor(np.full((1, 1, 3, 3), -7.0, np.float32)), 3, 1, 1).numpy()
    assert (y == -7).all()


def test_bad_hyper_parameters():
    x = fe.zeros(1, 3, 8, 8)
    with pytest.raises(RuntimeError, match="stride"):  # as torch's F.conv2d
        F.conv2d(x, fe.zeros(4, 3, 3, 3), stride=0)
    with pytest.raises(RuntimeError, match=r"padded input size per channel: \(8 x 8\)\. Kernel size: \(9 x 9\)"):
        F.conv2d(x, fe.zeros(4, 3, 9, 9))  # as torch's F.conv2d
    with pytest.raises(RuntimeError, match=r"input has 3 channels .* expects 4"):
        F.conv2d(x, fe.zeros(4, 4, 3, 3))
    with pytest.raises(RuntimeError, match="groups=2 must divide in_channels=3"):
        F.conv2d(x, fe.zeros(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError, match=r"Calculated output size: \(3x0x0\)\. Output size is too small"):
        F.max_pool2d(x, 9)  # as torch's, RuntimeError for every window argument
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        F.conv2d(fe.zeros(8, 8), fe.zeros(4, 3, 3, 3))  # (C, H, W) is an unbatched input (tests/test_conv17.py)
    with pytest.raises(RuntimeError, match=r"Input type \(float\) and weight type \(double\) should be the same"):
        F.conv2d(x, fe.tensor(np.zeros((4, 3, 3, 3))))


def test_lenet5_shapes_and_gradients():
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    out = model(fe.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    F.cross_entropy(out, np.array([1, 2, 3])).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert [n for n, _ in model.named_parameters()][:2] == ["features.0.weight", "features.0.bias"]


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 9, 9))
    w = rng.standard_normal((6, 2, 3, 3))
    X, Wt = fe.tensor(x, requires_grad=True), fe.tensor(w, requires_grad=True)
    y = F.avg_pool2d(F.max_pool2d(F.conv2d(X, Wt, stride=2, padding=1, groups=2), 2, 1), 2)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tf = torch.nn.functional
    yt = tf.avg_pool2d(tf.max_pool2d(tf.conv2d(xt, wt, stride=2, padding=1, groups=2), 2, 1), 2)
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(X.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(Wt.grad, wt.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_numpy_lenet_reference_matches_firstepoch():
    from firstepoch.reference.lenet import NumpyLeNet
    ref = NumpyLeNet(seed=3, dtype=np.float64)
    model = fe.models.LeNet5()
    for p, r in zip(model.parameters(), ref.params):  # the same numbers, float64 throughout
        assert p.shape == r.shape
        p._data = r.copy()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28))
    y = np.array([1, 7, 3, 0])
    loss, grads = ref.loss_and_grads(x, y)
    out = F.cross_entropy(model(fe.tensor(x)), y)
    out.backward()
    np.testing.assert_allclose(out.item(), loss, rtol=1e-10)
    for (name, p), g in zip(model.named_parameters(), grads):
        np.testing.assert_allclose(p.grad, g, rtol=1e-7, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward_on_an_empty_batch_writes_zero_weight_gradients(isa, rng, dtype):
    """N = 0: the kernel has no image to sum over, and still writes dweight (zeros), never whatever the
    allocator left there. A big convolution first dirties the heap so garbage would show."""
    for groups, s, p in [(1, (1, 1), (1, 1)), (2, (2, 1), (0, 0)), (1, (1, 1), (0, 0))]:
        w = rng.standard_normal((6, 4 // groups, 3, 3)).astype(dtype)
        b = rng.standard_normal(6).astype(dtype)
        x = np.empty((0, 4, 9, 8), dtype)
        OH, OW = R.out_size(9, 3, s[0], p[0], 1), R.out_size(8, 3, s[1], p[1], 1)
        for _ in range(3):
            big_x = rng.standard_normal((8, 16, 24, 24)).astype(dtype)
            F.conv2d(fe.tensor(big_x), fe.tensor(rng.standard_normal((32, 16, 3, 3)).astype(dtype))).sum()
            dw = np.full_like(w, np.nan)
            _C.conv2d_backward(x, w, np.empty((0, 6, OH, OW), dtype), np.empty_like(x), dw, s, p, (1, 1), groups)
            np.testing.assert_array_equal(dw, np.zeros_like(w))
            X, Wt, B = (fe.tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(X, Wt, B, stride=s, padding=p, groups=groups)
            assert y.shape == (0, 6, OH, OW)
            y.sum().backward()
            np.testing.assert_array_equal(Wt.grad, np.zeros_like(w))
            np.testing.assert_array_equal(B.grad, np.zeros_like(b))
            assert X.grad.shape == x.shape


# Shapes the driver splits into several work items: an image's output rows in tiles (C*kh*kw columns per
# position, ~768 KiB a tile, the last one partial), several weight-gradient image groups with N
# not a multiple of their count, groups, stride 2, dilation, 1x1 stride-1 convolutions read in place in
# tiles or copied, and one image; the stride-1 ones with 32+ channels a group get their data gradient as a
# convolution of dy (with groups, dilation and padding that differs across the axes).
TILED_CASES = [((11, 64, 23, 40), (24, 64, 3, 3), dict(padding=1)),
               ((4, 64, 20, 18), (34, 32, 3, 3), dict(groups=2, padding=(2, 1), dilation=(2, 1))),
               ((5, 60, 37, 31), (12, 30, 3, 3), dict(groups=2, stride=2, padding=(2, 1), dilation=(1, 2))),
               # stride 2 through the input's phases, an odd height, several tiles of output rows
               ((3, 64, 91, 90), (16, 64, 3, 3), dict(stride=2, padding=1)),
               ((9, 300, 31, 29), (7, 300, 1, 1), {}),
               ((3, 40, 32, 32), (24, 40, 1, 1), {}),  # planes 4 KiB apart: copied to a padded tile
               ((3, 128, 30, 30), (10, 128, 1, 1), dict(stride=2)),
               # strided 1x1 (dx written row by row, no fill): two tiles of output rows, the last one owning
               # the odd height's unread last row; unequal strides with groups
               ((2, 1000, 31, 33), (6, 1000, 1, 1), dict(stride=2)),
               ((3, 24, 13, 10), (8, 12, 1, 1), dict(stride=(3, 2), groups=2)),
               # more output channels than window offsets: the weight gradient as dy @ col^T (dy read in
               # place, the columns packed): strided 1x1 with a partial last panel of 20 channels, in-place
               # 1x1, 4 KiB planes (copied), groups, an image in several tiles of output rows, small maps
               ((3, 20, 37, 35), (70, 20, 1, 1), dict(stride=2)),
               ((2, 33, 30, 30), (100, 33, 1, 1), {}),
               ((2, 16, 32, 32), (48, 16, 1, 1), {}),
               ((2, 24, 15, 17), (60, 12, 1, 1), dict(stride=2, groups=2)),
               ((1, 64, 100, 90), (96, 64, 1, 1), {}),
               ((20, 64, 11, 9), (150, 64, 1, 1), dict(stride=2)),  # small maps side by side
               ((1, 37, 41, 43), (5, 37, 5, 3), dict(padding=(0, 2))),
               ((13, 3, 31, 33), (17, 3, 3, 3), dict(padding=1)),
               # small maps (under 64 output positions): several images side by side in one column tile,
               # the last tile partly filled; 3x3 stride 1 on 2x3 keeps Winograd only for the weight gradient
               ((37, 160, 2, 3), (24, 160, 3, 3), dict(padding=1)),
               ((50, 96, 5, 4), (34, 48, 3, 3), dict(groups=2, stride=2, padding=1)),
               ((21, 40, 4, 4), (36, 40, 5, 5), dict(padding=2)),
               ((30, 48, 3, 3), (20, 48, 1, 1), {})]


def _out_shape(xs, ws, kw):
    *_, OH, OW = conv_geometry(xs, ws, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1),
                               kw.get("groups", 1))
    return (xs[0], ws[0], OH, OW)


def _conv_all(x, w, b, dy, kw, activation=None):
    """(y, dx, dweight) from the kernels: forward, then backward with both gradients and with each alone."""
    s, p, d, OH, OW = conv_geometry(x.shape, w.shape, kw.get("stride", 1), kw.get("padding", 0),
                                                kw.get("dilation", 1), kw.get("groups", 1))
    groups = kw.get("groups", 1)
    y = np.full((x.shape[0], w.shape[0], OH, OW), np.nan, x.dtype)
    _C.conv2d_forward(x, w, b, y, s, p, d, groups, activation)
    dx, dw, dx1, dw1 = np.full_like(x, np.nan), np.full_like(w, np.nan), np.full_like(x, np.nan), np.full_like(w, np.nan)
    _C.conv2d_backward(x, w, dy, dx, dw, s, p, d, groups)
    _C.conv2d_backward(x, w, dy, dx1, None, s, p, d, groups)
    _C.conv2d_backward(x, w, dy, None, dw1, s, p, d, groups)
    assert np.array_equal(dx, dx1) and np.array_equal(dw, dw1)  # one pass or two: the same sums
    return y, dx, dw


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_kernels_match_the_reference_on_tiled_shapes(isa, rng, dtype):
    for xs, ws, kw in TILED_CASES:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        want_y = R.conv2d_forward(x, w, b, **kw)
        dy = rng.standard_normal(want_y.shape).astype(dtype)
        want_dx, want_dw, _ = R.conv2d_backward(x, w, dy, **kw)
        y, dx, dw = _conv_all(x, w, b, dy, kw)
        k = ws[1] * ws[2] * ws[3]
        np.testing.assert_allclose(y, want_y, *tol_for(dtype, k), err_msg=str((xs, ws, kw)))
        np.testing.assert_allclose(dx, want_dx, *tol_for(dtype, ws[0] * 4), err_msg=str((xs, ws, kw)))
        np.testing.assert_allclose(dw, want_dw, *tol_for(dtype, xs[0] * want_y.shape[2] * want_y.shape[3]),
                                   err_msg=str((xs, ws, kw)))
        y_relu, _, _ = _conv_all(x, w, b, dy, kw, "relu")
        assert np.array_equal(y_relu, np.maximum(y, 0))  # the fused ReLU is max(y, 0) of the same sums
        np.testing.assert_allclose(y_relu, R.conv2d_forward(x, w, b, **kw, activation="relu"), *tol_for(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_results_are_bitwise_the_same_on_1_2_3_and_7_threads(rng, threads, dtype):
    for (xs, ws, kw), activation in itertools.product(TILED_CASES, (None, "relu")):
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        dy = rng.standard_normal(_out_shape(xs, ws, kw)).astype(dtype)
        outs = []
        for n in (1, 2, 3, 7):
            fe.set_num_threads(n)
            outs.append(_conv_all(x, w, b, dy, kw, activation))
        for got in outs[1:]:
            for a, c in zip(outs[0], got):
                assert np.array_equal(a, c), (xs, ws, kw, activation)


# Small maps (images side by side) whose image groups each take several passes of the weight gradient
# once set_conv_small_map_bytes(1) shrinks the per-pass budget: 5 images a group, 4 a pass at 60 output
# positions. dW = dy @ col^T (more output channels than window offsets), dW^T = col @ dy^T (fewer), 3x3.
SMALL_MAP_PASSES = [((40, 64, 12, 20), (150, 64, 1, 1), dict(stride=2)),
                    ((40, 48, 6, 10), (20, 48, 1, 1), {}),
                    ((40, 24, 6, 10), (40, 24, 3, 3), dict(padding=1))]


@pytest.fixture
def small_map_passes():
    before = _C.get_conv_small_map_bytes()
    _C.set_conv_small_map_bytes(1)
    yield
    _C.set_conv_small_map_bytes(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_weight_gradient_of_small_maps_over_several_passes(isa, rng, dtype, small_map_passes):
    for xs, ws, kw in SMALL_MAP_PASSES:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        dy = rng.standard_normal(_out_shape(xs, ws, kw)).astype(dtype)
        want_dx, want_dw, _ = R.conv2d_backward(x, w, dy, **kw)
        _, dx, dw = _conv_all(x, w, None, dy, kw)
        np.testing.assert_allclose(dx, want_dx, *tol_for(dtype, ws[0] * 9), err_msg=str((xs, ws, kw)))
        np.testing.assert_allclose(dw, want_dw, *tol_for(dtype, dy.size // ws[0]), err_msg=str((xs, ws, kw)))


def test_set_conv_small_map_bytes_is_checked():
    before = _C.get_conv_small_map_bytes()
    with pytest.raises(ValueError, match="bytes"):
        _C.set_conv_small_map_bytes(-1)
    assert _C.get_conv_small_map_bytes() == before


def test_conv2d_activation_is_checked():
    x = np.zeros((1, 2, 5, 5), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    y = np.empty((1, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match="activation"):
        _C.conv2d_forward(x, w, None, y, (1, 1), (0, 0), (1, 1), 1, "tanh")
    with pytest.raises(ValueError, match="activation"):
        _C.conv2d_forward(x, w, None, y, (1, 1), (0, 0), (1, 1), 1, 1)
    with pytest.raises(ValueError, match="activation"):
        Conv2dFn.apply(fe.tensor(x), fe.tensor(w), None, activation="sigmoid")
    assert nn.Conv2d(2, 3, 3).absorbs_activation("relu") and not nn.Conv2d(2, 3, 3).absorbs_activation("tanh")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_runs_conv_and_relu_as_one_kernel_call_with_the_unfused_gradients(rng, monkeypatch, dtype):
    calls = []
    real = _C.conv2d_forward

    def recording(*args):
        calls.append(args[8] if len(args) > 8 else None)
        return real(*args)

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 4, 3, dtype=dtype), nn.ReLU(), nn.Conv2d(4, 2, 1, dtype=dtype))
    x = rng.standard_normal((5, 3, 12, 12)).astype(dtype)
    x[0, :, :4] = 0  # outputs of exactly the bias, and below it: the mask must be the unfused one's
    monkeypatch.setattr(_C, "conv2d_forward", recording)
    X = fe.tensor(x, requires_grad=True)
    y = model(X)
    assert calls == ["relu", "relu", None]
    monkeypatch.setattr(_C, "conv2d_forward", real)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    fused = [X.grad] + [p.grad for p in model.parameters()]
    X2 = fe.tensor(x, requires_grad=True)
    for p in model.parameters():
        p.grad = None
    want = X2
    for m in model:  # layer by layer: no fusion
        want = m(want)
    assert np.array_equal(y._data, want._data)
    want.backward(g)
    for i, (a, c) in enumerate(zip(fused, [X2.grad] + [p.grad for p in model.parameters()])):
        if i == 2:  # the first conv's bias: with the pool after it one op, its sum runs over the pooled gradient
            np.testing.assert_allclose(a, c, rtol=1e-5 if dtype == np.float32 else 1e-12)
        else:
            assert np.array_equal(a, c)


def _conv_relu_pool(dtype, **pool):
    return nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2, **pool))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", [{}, {"stride": 1, "padding": 1}, {"ceil_mode": True, "dilation": 2}])
@pytest.mark.parametrize("batch", [(4,), (0,), ()])
def test_conv_relu_max_pool_in_a_sequential_is_one_op_with_the_unfused_results(rng, dtype, pool, batch):
    from firstepoch.ops.pool import Conv2dReLUMaxPoolFn
    fe.manual_seed(2)
    model = _conv_relu_pool(dtype, **pool)
    x = rng.standard_normal(batch + (3, 9, 11)).astype(dtype)
    x[..., :3, :] = 0  # outputs of exactly the bias, and below it: windows whose maximum the ReLU clamped
    X = fe.tensor(x, requires_grad=True)
    y = model(X)
    assert (y._ctx.fn if y.ndim == 4 else y._ctx.parents[0]._ctx.fn) is Conv2dReLUMaxPoolFn
    g = rng.standard_normal(y.shape).astype(dtype)
    clamped = np.flatnonzero(y._data.reshape(-1) <= 0)[:3]  # NaN and inf where the ReLU clamped: 0 there
    g.reshape(-1)[clamped] = [np.nan, np.inf, -np.inf][:clamped.size]
    got = fe.autograd.grad(y, [X, *model.parameters()], fe.tensor(g), allow_unused=True)
    X2 = fe.tensor(x, requires_grad=True)
    want = model[2](model[1](model[0](X2)))
    assert np.array_equal(y._data, want._data)
    ref = fe.autograd.grad(want, [X2, *model.parameters()], fe.tensor(g), allow_unused=True)
    for i, (a, b) in enumerate(zip(got, ref)):
        if i == 2:
            np.testing.assert_allclose(a._data, b._data, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        else:
            assert np.isfinite(b._data).all() and np.array_equal(a._data, b._data), i


def test_conv_relu_max_pool_is_not_fused_with_indices_hooks_or_a_subclass(rng):
    from firstepoch.ops.pool import Conv2dReLUMaxPoolFn
    x = fe.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)

    class MyPool(nn.MaxPool2d):
        pass

    hooked = _conv_relu_pool(np.float32)
    hooked[2].register_forward_hook(lambda m, i, o: None)
    indices = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    for model in (hooked, nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), MyPool(2)), indices):
        y = model(x)
        y = y[0] if isinstance(y, tuple) else y
        assert y._ctx.fn is not Conv2dReLUMaxPoolFn


# ---- the bias gradient and the fused ReLU's mask in one pass (_C.conv2d_backward_bias) ----------------

BIAS_SHAPES = [(2, 3, 5, 7), (3, 16, 10, 10), (4, 6, 28, 28), (1, 1, 1, 1), (2, 5, 1, 33), (0, 4, 3, 3),
               (3, 2, 0, 4)]


def _special_values(rng, a):
    """a with NaN, +-inf in some places and (for y) exact zeros of both signs."""
    flat = a.reshape(-1)
    if flat.size >= 8:
        at = rng.choice(flat.size, 8, replace=False)
        flat[at] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.nan, 1e30, -1e-30]
    return a


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("special", [False, True])
def test_conv2d_backward_bias_matches_the_reference(isa, rng, dtype, special):
    for shape in BIAS_SHAPES:
        dy = rng.standard_normal(shape).astype(dtype)
        y = rng.standard_normal(shape).astype(dtype)
        y.reshape(-1)[::5] = 0.0  # exact zeros: the ReLU's gradient there is 0
        if special:
            _special_values(rng, dy)
            _special_values(rng, y)
        with np.errstate(invalid="ignore"):
            want_dy, want_db = R.conv2d_backward_bias(dy, y)
        dy_out = np.full_like(dy, np.nan)
        db = np.full(shape[1], np.nan, dtype)
        _C.conv2d_backward_bias(dy, y, dy_out, db)
        assert np.array_equal(_bits(dy_out), _bits(want_dy)), shape  # +0.0 where y <= 0, NaN and inf in dy too
        k = shape[0] * shape[2] * shape[3]
        np.testing.assert_allclose(db, want_db, *tol_for(dtype, k), err_msg=str(shape))
        # no fused ReLU: the sums of dy itself, dy_out not wanted
        db2 = np.full(shape[1], np.nan, dtype)
        _C.conv2d_backward_bias(dy, None, None, db2)
        np.testing.assert_allclose(db2, R.conv2d_backward_bias(dy)[1], *tol_for(dtype, k), err_msg=str(shape))
        # the mask alone
        dy_out2 = np.full_like(dy, np.nan)
        _C.conv2d_backward_bias(dy, y, dy_out2, None)
        assert np.array_equal(_bits(dy_out2), _bits(want_dy)), shape


def test_conv2d_backward_bias_with_nothing_to_write_runs_nothing():
    dy = np.ones((2, 3, 4, 4), np.float32)
    _C.conv2d_backward_bias(dy, None, None, None)
    db = np.full(3, np.nan, np.float32)
    _C.conv2d_backward_bias(np.ones((0, 3, 4, 4), np.float32), None, None, db)  # N = 0: zeros, written
    assert np.array_equal(db, np.zeros(3, np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward_bias_is_bitwise_the_same_on_1_2_3_and_7_threads(rng, threads, dtype):
    for shape in [(64, 6, 28, 28), (64, 16, 10, 10), (3, 7, 5, 37), (1, 2, 3, 3)]:
        dy = rng.standard_normal(shape).astype(dtype)
        y = rng.standard_normal(shape).astype(dtype)
        outs = []
        for n in (1, 2, 3, 7):
            fe.set_num_threads(n)
            dy_out, db = np.empty_like(dy), np.empty(shape[1], dtype)
            _C.conv2d_backward_bias(dy, y, dy_out, db)
            db2 = np.empty(shape[1], dtype)
            _C.conv2d_backward_bias(dy, None, None, db2)
            outs.append((dy_out, db, db2))
        for got in outs[1:]:
            for a, c in zip(outs[0], got):
                assert np.array_equal(_bits(a), _bits(c)), shape


def test_conv2d_backward_bias_rejects_bad_arguments():
    dy = np.ones((2, 3, 4, 5), np.float32)
    y, out, db = np.ones_like(dy), np.empty_like(dy), np.empty(3, np.float32)
    f = _C.conv2d_backward_bias
    with pytest.raises(ValueError, match="y and dy_out"):
        f(dy, y, None, db)
    with pytest.raises(ValueError, match="y and dy_out"):
        f(dy, None, out, db)
    with pytest.raises(ValueError, match="dy"):
        f(dy.reshape(2, 3, 20), y, out, db)
    with pytest.raises(ValueError, match="y"):
        f(dy, np.ones((2, 3, 4, 4), np.float32), out, db)
    with pytest.raises(ValueError, match="dy_out"):
        f(dy, y, np.empty((2, 3, 5, 4), np.float32), db)
    with pytest.raises(ValueError, match="dbias"):
        f(dy, y, out, np.empty(4, np.float32))
    with pytest.raises(TypeError, match="dy"):
        f(dy.astype(np.int32), y, out, db)
    with pytest.raises(TypeError, match="y"):
        f(dy, y.astype(np.float64), out, db)
    with pytest.raises(TypeError, match="dbias"):
        f(dy, y, out, np.empty(3, np.float64))
    with pytest.raises(TypeError, match="y"):
        f(dy, y.tolist(), out, db)
    with pytest.raises(ValueError, match="contiguous"):
        f(np.ones((2, 3, 4, 10), np.float32)[..., ::2], y, out, db)
    with pytest.raises(ValueError, match="dy_out"):
        f(dy, y, dy, db)  # the output is the input
    with pytest.raises(ValueError, match="dbias"):
        f(dy, y, out, dy.reshape(-1)[:3])
    ro = np.empty(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="dbias"):
        f(dy, y, out, ro)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward_masks_and_sums_the_bias_in_one_kernel_call(rng, monkeypatch, dtype):
    calls = []
    real = _C.conv2d_backward_bias
    monkeypatch.setattr(_C, "conv2d_backward_bias", lambda *a: calls.append(a[1] is not None) or real(*a))
    x = fe.tensor(rng.standard_normal((2, 3, 6, 6)).astype(dtype), requires_grad=True)
    w = fe.tensor(rng.standard_normal((4, 3, 3, 3)).astype(dtype), requires_grad=True)
    b = fe.tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)
    dy = rng.standard_normal((2, 4, 6, 6)).astype(dtype)
    y = Conv2dFn.apply(x, w, b, padding=1, activation="relu")
    y.backward(fe.tensor(dy))
    assert calls == [True]
    mdy, db = R.conv2d_backward_bias(dy, y.detach().numpy())
    rdx, rdw, _ = R.conv2d_backward(x.detach().numpy(), w.detach().numpy(), mdy, 1, 1, 1, 1)
    np.testing.assert_allclose(np.asarray(b.grad), db, *tol_for(dtype, 72))
    np.testing.assert_allclose(np.asarray(x.grad), rdx, *tol_for(dtype, 36))
    np.testing.assert_allclose(np.asarray(w.grad), rdw, *tol_for(dtype, 72))


def test_fused_relu_bias_gradient_alone_is_masked(rng):
    """Bias-only fine-tuning through Sequential(Conv2d, ReLU): the bias gradient sums the ReLU-masked dy,
    as the unfused relu(conv(x)) gives, also when neither the input nor the weight needs a gradient."""
    x = fe.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    conv = nn.Conv2d(3, 4, 3, padding=1)
    conv.weight.requires_grad = False
    nn.Sequential(conv, nn.ReLU())(x).sum().backward()
    fused = np.array(conv.bias.grad, copy=True)
    conv.bias.grad = None
    F.conv2d(x, conv.weight, conv.bias, padding=1).relu().sum().backward()
    np.testing.assert_allclose(fused, conv.bias.grad, rtol=1e-5, atol=1e-5)
