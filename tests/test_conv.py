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
from firstepoch.reference import conv as R, pool as RP

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
def test_pooling(isa, rng, dtype):
    x = rng.standard_normal((2, 3, 9, 7)).astype(dtype)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))]:
        got = F.max_pool2d(fe.tensor(x), k, s, p).data
        np.testing.assert_array_equal(got, RP.max_pool2d_forward(x, k, s, p)[0])
        got = F.avg_pool2d(fe.tensor(x), k, s, p).data
        np.testing.assert_allclose(got, RP.avg_pool2d_forward(x, k, s, p), **tol(dtype))


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
        np.testing.assert_allclose(y.data, R.conv2d_forward(x, w, b, **kw), **tol(dtype))
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
        outs.append((y.data, X.grad, Wt.grad))
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
        np.testing.assert_array_equal(y.data, want)
        dy = rng.standard_normal(y.shape).astype(dtype)
        (y * fe.tensor(dy)).sum().backward()
        np.testing.assert_array_equal(X.grad, RP.max_pool2d_backward(dy, argmax, x.shape, k, s))


def test_max_pool_nan_propagates_and_padding_never_wins():
    x = np.full((1, 1, 4, 4), -5.0, np.float32)
    x[0, 0, 1, 1] = np.nan
    y = F.max_pool2d(fe.tensor(x), 2).data
    assert np.isnan(y[0, 0, 0, 0]) and (y[0, 0].ravel()[1:] == -5).all()
    y = F.max_pool2d(fe.tensor(np.full((1, 1, 3, 3), -7.0, np.float32)), 3, 1, 1).data
    assert (y == -7).all()


def test_bad_hyper_parameters():
    x = fe.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(x, fe.zeros(4, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, fe.zeros(4, 3, 9, 9))
    with pytest.raises(ValueError, match=r"input has 3 channels .* expects 4"):
        F.conv2d(x, fe.zeros(4, 4, 3, 3))
    with pytest.raises(ValueError, match="groups=2 must divide in_channels=3"):
        F.conv2d(x, fe.zeros(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.max_pool2d(x, 9)
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="must be \\(N, C, H, W\\)"):
        F.conv2d(fe.zeros(3, 8, 8), fe.zeros(4, 3, 3, 3))
    with pytest.raises(TypeError, match="dtypes differ"):
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
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
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
        p.data = r.copy()
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
