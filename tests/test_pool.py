"""Pooling kernels (max and average, forward and backward) against the NumPy reference over edge shapes:
sizes 1, primes and odd sizes (rows shorter and longer than a vector, with a masked rest), N = 0,
padding, windows that leave columns and rows uncovered, NaN and ties, at every ISA, float32 and float64,
bitwise the same for 1, 2, 3 and 7 threads; argmax given by a caller (outside its window, out of range)."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.reference import pool as RP
from firstepoch.reference.conv import out_size

DTYPES = [np.float32, np.float64]
# (kernel, stride, padding, dilation): 2x2/2 (the hot case), 3x3/2 p1 (ResNet's stem), disjoint windows
# with gaps (stride > kernel), overlapping ones, a 1x1, rectangular ones
GEOMS = [((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 3), (2, 2), (1, 1), (1, 1)), ((2, 2), (3, 3), (0, 0), (1, 1)),
         ((3, 3), (3, 3), (0, 0), (1, 1)), ((2, 3), (2, 4), (0, 0), (1, 1)), ((3, 2), (1, 1), (1, 0), (1, 1)),
         ((1, 1), (1, 1), (0, 0), (1, 1)), ((2, 2), (1, 1), (0, 0), (2, 1))]
SIZES = [(1, 1), (2, 2), (3, 5), (7, 13), (4, 28), (29, 31), (6, 32), (5, 33), (3, 66), (2, 67)]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def fits(H, W, k, s, p, d):
    return out_size(H, k[0], s[0], p[0], d[0]) >= 1 and out_size(W, k[1], s[1], p[1], d[1]) >= 1


def data(rng, shape, dtype):
    """Small integers (many ties) with a few NaNs."""
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    x[rng.random(shape) < 0.03] = np.nan
    return x


def out_shape(shape, k, s, p, d):
    N, C, H, W = shape
    return N, C, out_size(H, k[0], s[0], p[0], d[0]), out_size(W, k[1], s[1], p[1], d[1])


def max_forward_matches(x, k, s, p, d):
    """_C.max_pool2d_forward's y and argmax equal the reference's exactly; returns y's shape and argmax."""
    ys = out_shape(x.shape, k, s, p, d)
    y, am = np.full(ys, 7, x.dtype), np.full(ys, 7, np.int64)
    _C.max_pool2d_forward(x, y, am, k, s, p, d)
    want, want_am = RP.max_pool2d_forward(x, k, s, p, d)
    where = f"{x.shape[2:]} {k} {s} {p} {d}"
    np.testing.assert_array_equal(y, want, err_msg=where)
    np.testing.assert_array_equal(am, want_am, err_msg=where)
    return ys, am


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_forward_backward_match_reference(isa, rng, dtype):
    """y, argmax (the first maximum; NaN propagates) and dx equal the reference's exactly."""
    for (H, W), (k, s, p, d) in ((hw, g) for hw in SIZES for g in GEOMS):
        if not fits(H, W, k, s, p, d):
            continue
        x = data(rng, (2, 3, H, W), dtype)
        ys, am = max_forward_matches(x, k, s, p, d)
        dy = rng.standard_normal(ys).astype(dtype)
        dx = np.full(x.shape, np.nan, dtype)  # overwritten: no NaN may survive
        _C.max_pool2d_backward(dy, am, dx, k, s, p, d)
        np.testing.assert_allclose(dx, RP.max_pool2d_backward(dy, am, x.shape, k, s, p, d), **tol(dtype),
                                   err_msg=f"{(H, W)} {k} {s} {p} {d}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_minus_inf_windows_keep_their_first_index(isa, rng, dtype):
    """Windows of -inf only, or that start with -inf: the best is -inf at the first candidate inside (the
    AVX-512 blocks start each lane at its first candidate instead of testing for it), NaN still wins, and
    rows come four at a time (7 and 15 output rows leave a short last group)."""
    for (H, W), (k, s, p, d) in [((13, 29), ((3, 3), (2, 2), (1, 1), (1, 1))), ((7, 20), ((3, 3), (1, 1), (1, 1), (1, 1))),
                                 ((29, 30), ((3, 3), (2, 2), (1, 1), (1, 1))), ((5, 17), ((3, 2), (1, 1), (1, 0), (1, 1))),
                                 ((9, 9), ((2, 2), (1, 1), (0, 0), (2, 1)))]:
        x = rng.integers(-1, 2, size=(2, 3, H, W)).astype(dtype)
        x[rng.random(x.shape) < 0.5] = -np.inf
        x[0, 0] = -np.inf  # a whole plane of -inf
        x[1, 2, :, :3] = -np.inf
        x[1, 1][rng.random((H, W)) < 0.02] = np.nan
        _, am = max_forward_matches(x, k, s, p, d)
        assert (am[0, 0] >= 0).all()  # -inf is a value: every window names one


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_forward_backward_match_reference(isa, rng, dtype):
    for (H, W), (k, s, p, _) in ((hw, g) for hw in SIZES for g in GEOMS):
        if not fits(H, W, k, s, p, (1, 1)):
            continue
        x = rng.standard_normal((2, 3, H, W)).astype(dtype)
        ys = out_shape(x.shape, k, s, p, (1, 1))
        y = np.full(ys, np.nan, dtype)
        _C.avg_pool2d_forward(x, y, k, s, p)
        np.testing.assert_allclose(y, RP.avg_pool2d_forward(x, k, s, p), **tol(dtype))
        dy = rng.standard_normal(ys).astype(dtype)
        dx = np.full(x.shape, np.nan, dtype)
        _C.avg_pool2d_backward(dy, dx, k, s, p)
        np.testing.assert_allclose(dx, RP.avg_pool2d_backward(dy, x.shape, k, s, p), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batch_and_channels(isa, dtype):
    for shape in [(0, 3, 8, 8), (2, 0, 8, 8)]:
        x = np.zeros(shape, dtype)
        y, am = np.empty((*shape[:2], 4, 4), dtype), np.empty((*shape[:2], 4, 4), np.int64)
        _C.max_pool2d_forward(x, y, am, (2, 2), (2, 2), (0, 0), (1, 1))
        _C.max_pool2d_backward(y, am, x, (2, 2), (2, 2), (0, 0), (1, 1))
        _C.avg_pool2d_forward(x, y, (2, 2), (2, 2), (0, 0))
        _C.avg_pool2d_backward(y, x, (2, 2), (2, 2), (0, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_backward_takes_any_argmax_in_the_plane(isa, rng, dtype):
    """A caller's argmax may name any input of the plane, not only one of its own window (the one-pass
    gradient of disjoint windows is redone by scatter there), and -1 (no input); outside [-1, H*W) it is
    an IndexError naming the index."""
    for k, s in [((2, 2), (2, 2)), ((2, 3), (3, 3))]:
        x_shape = (2, 3, 9, 13)
        ys = out_shape(x_shape, k, s, (0, 0), (1, 1))
        am = rng.integers(-1, 9 * 13, size=ys)
        dy = rng.standard_normal(ys).astype(dtype)
        dx = np.full(x_shape, np.nan, dtype)
        _C.max_pool2d_backward(dy, am, dx, k, s, (0, 0), (1, 1))
        np.testing.assert_allclose(dx, RP.max_pool2d_backward(dy, am, x_shape, k, s), **tol(dtype))
        for bad in (-2, 9 * 13):
            am2 = am.copy()
            am2[1, 2, 1, 1] = bad
            with pytest.raises(IndexError, match=f"argmax holds {bad}, outside a plane of 117"):
                _C.max_pool2d_backward(dy, am2, dx, k, s, (0, 0), (1, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_2x2_of_small_planes(isa, rng, dtype):
    """2x2 stride 2 over planes whose output rows are short (OW <= 8: AVX-512 takes several rows a vector
    there, up to 16 outputs from a run of 64 inputs): every H and W from 2 to 19, odd ones leaving a row
    or column no window covers, groups of rows cut short at the plane's end; y, argmax and dx exactly the
    reference's, with ties, NaN and -inf in x, NaN in dy, and argmax given by a caller."""
    for H in range(2, 14):
        for W in range(2, 20):
            x = data(rng, (2, 3, H, W), dtype)
            x[rng.random(x.shape) < 0.05] = -np.inf
            ys, am = max_forward_matches(x, (2, 2), (2, 2), (0, 0), (1, 1))
            dy = rng.standard_normal(ys).astype(dtype)
            dy[0, 0, 0, 0] = np.nan
            # the forward's argmax, a caller's anywhere, and each moved two inputs back (into the rows or
            # the uncovered column before its window)
            for a in (am, rng.integers(-1, H * W, size=ys), np.maximum(am - 2, -1)):
                dx = np.full(x.shape, 7, dtype)  # overwritten: nothing of it may survive
                _C.max_pool2d_backward(dy, a, dx, (2, 2), (2, 2), (0, 0), (1, 1))
                np.testing.assert_array_equal(dx, RP.max_pool2d_backward(dy, a, x.shape, 2), err_msg=f"{(H, W)}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_2x2_of_small_planes(isa, rng, dtype):
    """2x2 stride-2 average pooling over the same small planes (several pooled rows a vector at AVX-512):
    every H and W from 2 to 19, y and dx the reference's, a NaN reaching only its own window."""
    for H in range(2, 14):
        for W in range(2, 20):
            x = rng.standard_normal((2, 3, H, W)).astype(dtype)
            x[1, 2, H - 1, 0] = np.nan
            ys = out_shape(x.shape, (2, 2), (2, 2), (0, 0), (1, 1))
            y = np.full(ys, 7, dtype)
            _C.avg_pool2d_forward(x, y, (2, 2), (2, 2), (0, 0))
            np.testing.assert_allclose(y, RP.avg_pool2d_forward(x, 2), **tol(dtype), err_msg=f"{(H, W)}")
            dy = rng.standard_normal(ys).astype(dtype)
            dx = np.full(x.shape, 7, dtype)
            _C.avg_pool2d_backward(dy, dx, (2, 2), (2, 2), (0, 0))
            np.testing.assert_allclose(dx, RP.avg_pool2d_backward(dy, x.shape, 2), **tol(dtype), err_msg=f"{(H, W)}")


@pytest.mark.parametrize("geom", GEOMS[:5])
def test_threads_bitwise(rng, threads, geom):
    """Planes split over threads: 1, 2, 3 and 7 threads give the same bits (shapes large enough that
    every count really splits)."""
    k, s, p, d = geom
    x = rng.standard_normal((16, 16, 30, 34)).astype(np.float32)
    ys = out_shape(x.shape, k, s, p, d)
    dy = rng.standard_normal(ys).astype(np.float32)
    outs = []
    for n in (1, 2, 3, 7):
        fe.set_num_threads(n)
        y, am, ya = np.empty(ys, np.float32), np.empty(ys, np.int64), np.empty(ys, np.float32)
        dx, dxa = np.empty_like(x), np.empty_like(x)
        _C.max_pool2d_forward(x, y, am, k, s, p, d)
        _C.max_pool2d_backward(dy, am, dx, k, s, p, d)
        _C.avg_pool2d_forward(x, ya, k, s, p)
        _C.avg_pool2d_backward(dy, dxa, k, s, p)
        outs.append((y, am, dx, ya, dxa))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            assert np.array_equal(a, b)


def test_threads_bitwise_small_planes(rng, threads):
    """Max and average pooling 2x2 over LeNet's (64,16,10,10) (several pooled rows a vector): 1, 2, 3 and 7
    threads give the same bits."""
    x = rng.standard_normal((64, 16, 10, 10)).astype(np.float32)
    dy = rng.standard_normal((64, 16, 5, 5)).astype(np.float32)
    outs = []
    for n in (1, 2, 3, 7):
        fe.set_num_threads(n)
        y, am, dx = np.empty_like(dy), np.empty(dy.shape, np.int64), np.empty_like(x)
        _C.max_pool2d_forward(x, y, am, (2, 2), (2, 2), (0, 0), (1, 1))
        _C.max_pool2d_backward(dy, am, dx, (2, 2), (2, 2), (0, 0), (1, 1))
        ya, dxa = np.empty_like(dy), np.empty_like(x)
        _C.avg_pool2d_forward(x, ya, (2, 2), (2, 2), (0, 0))
        _C.avg_pool2d_backward(dy, dxa, (2, 2), (2, 2), (0, 0))
        outs.append((y, am, dx, ya, dxa))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            assert np.array_equal(a, b)


def test_memory_bandwidth_probe():
    """The probe bench/ quotes "% of bandwidth" against: a positive figure, bad arguments named."""
    assert _C.memory_bandwidth_gbs(1 << 20, 1, 1) > 0
    assert _C.memory_bandwidth_gbs(1 << 20, 2, 2) > 0
    for args, word in [((100, 1, 1), "nbytes"), ((1 << 20, 0, 1), "threads"), ((1 << 20, 1, 0), "repeats")]:
        with pytest.raises(ValueError, match=word):
            _C.memory_bandwidth_gbs(*args)
