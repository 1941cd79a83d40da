"""Kernels overwrite their outputs: the backward kernels that scatter into dx (col2im, max/avg pooling
backward) must write every element of dx, zeros where no window reads an input, whatever the buffer
held before. Each check passes a buffer full of NaN and garbage and compares with NumPy."""
import numpy as np
import pytest

from firstepoch import _C

DTYPES = [np.float32, np.float64]
# (kernel, stride, padding, dilation): strides longer than the kernel leave inputs no window reads
GEOMS = [((2, 2), (3, 3), (0, 0), (1, 1)), ((3, 3), (2, 2), (1, 1), (1, 1)), ((1, 2), (2, 3), (0, 1), (1, 1)),
         ((3, 2), (1, 1), (1, 0), (2, 1))]


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def garbage(shape, dtype, rng):
    buf = (rng.standard_normal(shape) * 1e6).astype(dtype)
    buf.flat[::3] = np.nan
    return buf


def windows(H, W, k, s, p, d):
    """(oh, ow, [(h, w) inside the input]) for every output position."""
    OH, OW = out_size(H, k[0], s[0], p[0], d[0]), out_size(W, k[1], s[1], p[1], d[1])
    for oh in range(OH):
        for ow in range(OW):
            cells = [(oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1])
                     for i in range(k[0]) for j in range(k[1])]
            yield oh, ow, [(h, w) for h, w in cells if 0 <= h < H and 0 <= w < W]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", GEOMS)
def test_col2im_overwrites_dx(isa, rng, dtype, geom):
    k, s, p, d = geom
    C, H, W = 3, 8, 9
    OH, OW = out_size(H, k[0], s[0], p[0], d[0]), out_size(W, k[1], s[1], p[1], d[1])
    col = rng.standard_normal((C * k[0] * k[1], OH * OW)).astype(dtype)
    want = np.zeros((C, H, W))
    for c in range(C):
        for oh, ow, _ in windows(H, W, k, s, p, d):
            for i in range(k[0]):
                for j in range(k[1]):
                    h, w = oh * s[0] - p[0] + i * d[0], ow * s[1] - p[1] + j * d[1]
                    if 0 <= h < H and 0 <= w < W:
                        want[c, h, w] += col[(c * k[0] + i) * k[1] + j, oh * OW + ow]
    dx = garbage((C, H, W), dtype, rng)
    _C.col2im(col, dx, k, s, p, d)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, want, rtol=tol, atol=tol)


def pool_case(geom):
    """(k, s, p, d, input shape, output size) of a pooling test on geom, or a skip where pooling refuses
    the padding."""
    k, s, p, d = geom
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        pytest.skip("pooling padding must be at most half the kernel")
    H, W = 8, 9
    return k, s, p, d, (2, 3, H, W), (out_size(H, k[0], s[0], p[0], d[0]), out_size(W, k[1], s[1], p[1], d[1]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", GEOMS)
def test_max_pool2d_backward_overwrites_dx(isa, rng, dtype, geom):
    k, s, p, d, (N, C, H, W), (OH, OW) = pool_case(geom)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    y = np.empty((N, C, OH, OW), dtype)
    argmax = np.empty((N, C, OH, OW), np.int64)
    _C.max_pool2d_forward(x, y, argmax, k, s, p, d)
    dy = rng.standard_normal((N, C, OH, OW)).astype(dtype)
    want = np.zeros((N * C, H * W))
    flat = argmax.reshape(N * C, -1)
    for plane in range(N * C):
        np.add.at(want[plane], flat[plane], dy.reshape(N * C, -1)[plane])
    dx = garbage((N, C, H, W), dtype, rng)
    _C.max_pool2d_backward(dy, argmax, dx, k, s, p, d)
    np.testing.assert_allclose(dx.reshape(N * C, -1), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", GEOMS)
def test_avg_pool2d_backward_overwrites_dx(isa, rng, dtype, geom):
    k, s, p, _, (N, C, H, W), (OH, OW) = pool_case((*geom[:3], (1, 1)))  # average pooling has no dilation
    dy = rng.standard_normal((N, C, OH, OW)).astype(dtype)
    want = np.zeros((N, C, H, W))
    for oh, ow, cells in windows(H, W, k, s, p, (1, 1)):
        for h, w in cells:
            want[:, :, h, w] += dy[:, :, oh, ow] / (k[0] * k[1])
    dx = garbage((N, C, H, W), dtype, rng)
    _C.avg_pool2d_backward(dy, dx, k, s, p)
    np.testing.assert_allclose(dx, want, rtol=1e-5, atol=1e-6)
