"""Direct convolution (csrc/kernels/conv/direct.*), the path conv2d takes for few input channels: the
shapes below take it (checked with _C.conv_algorithm, so no test here passes on the im2col path by
accident), and its forward, data gradient and weight gradient match the NumPy reference at every ISA
and both dtypes, are bitwise the same on 1, 2, 3 and 7 threads, and write every output."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.reference import conv as R

from conftest import tol_for

DTYPES = [np.float32, np.float64]
# (N, C, H, W, OC, (kh, kw), stride, padding, dilation): LeNet-5's two layers, a 3->32 stem, one pixel,
# primes, odd widths (10, 13), strides 2 and 3, padding wider than the kernel, dilation, N = 0, N >= 16
# (whole images per work item), and channel counts that fill the vector lanes (16, 32) or not. The data
# gradient of the stride-1 shapes with 8 or more output channels per input channel (3->32, 2->16, 2->19,
# 4->48 at 3x3) takes the column form (direct.cpp, data_gradient_applies); the others keep the direct one.
SHAPES = [
    (2, 1, 28, 28, 6, (5, 5), (1, 1), (2, 2), (1, 1)),
    (3, 6, 14, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1)),
    (2, 3, 32, 32, 32, (3, 3), (1, 1), (1, 1), (1, 1)),
    (1, 1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1)),
    (0, 2, 5, 5, 3, (3, 3), (1, 1), (1, 1), (1, 1)),
    (1, 2, 7, 5, 16, (3, 3), (1, 1), (0, 0), (1, 1)),
    (5, 2, 13, 10, 7, (3, 3), (2, 2), (1, 1), (1, 1)),
    (3, 3, 11, 13, 5, (3, 5), (2, 1), (2, 1), (1, 1)),
    (2, 2, 9, 10, 3, (3, 3), (1, 1), (2, 2), (2, 2)),
    (2, 1, 7, 7, 4, (2, 2), (2, 2), (3, 3), (1, 1)),
    (2, 2, 8, 9, 13, (3, 2), (1, 2), (0, 1), (2, 1)),
    (17, 2, 6, 7, 19, (3, 3), (1, 1), (1, 1), (1, 1)),
    (7, 5, 10, 10, 16, (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 4, 13, 13, 32, (3, 3), (2, 2), (1, 1), (1, 1)),
    (2, 3, 11, 11, 5, (3, 3), (3, 3), (1, 1), (1, 1)),
    (19, 3, 5, 6, 8, (1, 1), (1, 1), (0, 0), (1, 1)),
    (3, 16, 9, 9, 16, (5, 5), (1, 1), (0, 0), (1, 1)),
    (2, 32, 6, 7, 32, (3, 3), (1, 1), (1, 1), (1, 1)),
    # the weight gradient's runs of taps (kw = 5 or 3 at stride 1): one output column (fewer than the
    # run), and three vectors of channels
    (2, 3, 6, 5, 16, (5, 5), (1, 1), (0, 0), (1, 1)),
    (2, 4, 9, 12, 48, (3, 3), (1, 1), (1, 1), (1, 1)),
    # one vector of channels (16 float, 8 double) at a unit column step: AVX-512 broadcasts each input of
    # a row's run of kw taps once (conv_oc_run_tile), in tiles of 12-14 pixels split evenly (23 = 12 + 11),
    # kw 3, 5 and 7, a row stride of 2, and a column dilation (runs of 1: the per-tap tile)
    (2, 3, 7, 7, 16, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 2, 10, 23, 16, (3, 7), (1, 1), (1, 3), (1, 1)),
    (2, 2, 15, 12, 16, (5, 5), (2, 1), (2, 2), (1, 1)),
    (2, 3, 7, 7, 8, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 2, 8, 9, 16, (3, 3), (1, 1), (1, 2), (1, 2)),
    # the data gradient's row bands: dx rows 2 and 3 meet no kernel row (dilation 4 on a 6-row map)
    (2, 2, 6, 7, 3, (2, 2), (1, 1), (0, 0), (4, 4)),
    # row Winograd F(2, 5) (5-wide kernels at stride 1, channels in the lanes; the AVX-512 and scalar
    # levels, AVX2 keeps the direct sums): rows of an odd width (the
    # last tile's second output dropped), two and one tiles, 3 kernel rows, 32 and 48 channels (several
    # vectors), and 16 channels on 56 rows (two bands of rows, three in float64)
    (2, 3, 9, 11, 16, (3, 5), (1, 1), (1, 2), (1, 1)),
    (3, 4, 8, 7, 48, (5, 5), (1, 1), (2, 2), (1, 1)),
    (2, 2, 6, 6, 32, (5, 5), (1, 1), (0, 0), (1, 1)),
    (2, 2, 6, 7, 16, (4, 5), (1, 1), (1, 1), (1, 1)),
    (2, 16, 60, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1)),
    # the data gradient with the images in the lanes (groups of 16 float or 8 double images at AVX-512,
    # 8 or 4 at AVX2, at least 3/4 full; not at the scalar level): a whole group and a group and a part
    # (13 of 16, 13 of 2 x 8), 24 of 2 x 16 at 8 channels (two blocks of 4) and 13 (5 + 4 + 4), rows of 3
    # (narrower than a block of columns), dilation with padding, dx rows no kernel row reaches, and
    (16, 6, 9, 8, 16, (5, 5), (1, 1), (0, 0), (1, 1)),
    (13, 1, 10, 11, 6, (5, 5), (1, 1), (2, 2), (1, 1)),
    (24, 8, 7, 13, 8, (3, 3), (1, 1), (1, 1), (1, 1)),
    (12, 13, 6, 6, 5, (3, 3), (1, 1), (1, 1), (1, 1)),
    (16, 3, 5, 3, 4, (3, 3), (1, 1), (1, 1), (1, 1)),
    (12, 2, 9, 10, 3, (3, 3), (1, 1), (2, 2), (2, 2)),
    (12, 2, 6, 7, 3, (2, 2), (1, 1), (0, 0), (4, 4)),
    # 64 rows of 30: the bands of dx rows hold some rows of dy each (7 at AVX-512, 3 at AVX2)
    # (direct.cpp, kImgBandBytes)
    (16, 3, 64, 30, 20, (3, 3), (1, 1), (1, 1), (1, 1)),
]


def shape_id(s):
    return "x".join(map(str, s[:4])) + f"-oc{s[4]}-k{s[5][0]}{s[5][1]}-s{s[6][0]}{s[6][1]}-p{s[7][0]}{s[7][1]}-d{s[8][0]}{s[8][1]}"


def make(rng, shape, dtype):
    N, C, H, W, OC, k, s, p, d = shape
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((OC, C) + k).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    OH, OW = R.out_size(H, k[0], s[0], p[0], d[0]), R.out_size(W, k[1], s[1], p[1], d[1])
    dy = rng.standard_normal((N, OC, OH, OW)).astype(dtype)
    return x, w, b, dy


def run(x, w, b, dy, s, p, d):
    """y, dx, dw from _C, every buffer filled with NaN first (each element must be written)."""
    y = np.full(dy.shape, np.nan, x.dtype)
    _C.conv2d_forward(x, w, b, y, s, p, d, 1)
    dx, dw = np.full_like(x, np.nan), np.full_like(w, np.nan)
    _C.conv2d_backward(x, w, dy, dx, dw, s, p, d, 1)
    return y, dx, dw


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_these_shapes_take_the_direct_path(shape):
    N, C, H, W, OC, k, s, p, d = shape
    assert _C.conv_algorithm((N, C, H, W), (OC, C) + k, s, p, d, 1) == "direct"


def test_wide_layers_and_groups_take_another_path():
    assert _C.conv_algorithm((32, 64, 32, 32), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1) == "winograd"
    assert _C.conv_algorithm((32, 64, 32, 32), (64, 64, 3, 3), (2, 2), (1, 1), (1, 1), 1) == "im2col"
    assert _C.conv_algorithm((32, 16, 32, 32), (64, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1) == "winograd"
    assert _C.conv_algorithm((32, 16, 32, 32), (64, 16, 5, 5), (1, 1), (2, 2), (1, 1), 1) == "im2col"
    assert _C.conv_algorithm((2, 4, 9, 9), (6, 2, 3, 3), (1, 1), (1, 1), (1, 1), 2) == "im2col"
    with pytest.raises(ValueError, match="groups"):
        _C.conv_algorithm((2, 4, 9, 9), (6, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    with pytest.raises(ValueError, match="4 entries"):
        _C.conv_algorithm((4, 9, 9), (6, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_direct_conv_matches_the_reference(isa, rng, shape, dtype):
    N, C, H, W, OC, k, s, p, d = shape
    x, w, b, dy = make(rng, shape, dtype)
    y, dx, dw = run(x, w, b, dy, s, p, d)
    np.testing.assert_allclose(y, R.conv2d_forward(x, w, b, s, p, d), *tol_for(dtype, C * k[0] * k[1]))
    rdx, rdw = R.conv2d_backward(x, w, dy, s, p, d)[:2]
    np.testing.assert_allclose(dx, rdx, *tol_for(dtype, OC * k[0] * k[1]))
    np.testing.assert_allclose(dw, rdw, *tol_for(dtype, max(1, N * dy.shape[2] * dy.shape[3])))
    if N == 0:
        assert not dw.any()  # no image: zeros, not what the buffer held
    # the fused ReLU (nn.Conv2d followed by nn.ReLU in a Sequential) on the same path
    yr = np.full(dy.shape, np.nan, dtype)
    _C.conv2d_forward(x, w, b, yr, s, p, d, 1, "relu")
    assert np.array_equal(yr, np.where(y > 0, y, 0)), "the ReLU must apply to the very values of the plain forward"
    np.testing.assert_allclose(yr, R.conv2d_forward(x, w, b, s, p, d, activation="relu"), *tol_for(dtype, C * k[0] * k[1]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_conv_is_bitwise_the_same_on_1_2_3_and_7_threads(isa, rng, threads, dtype):
    for shape in SHAPES:
        x, w, b, dy = make(rng, shape, dtype)
        runs = []
        for n in (1, 2, 3, 7):
            fe.set_num_threads(n)
            runs.append(run(x, w, b, dy, *shape[6:]))
        for other in runs[1:]:
            for a, b_ in zip(runs[0], other):
                assert a.tobytes() == b_.tobytes(), shape_id(shape)


def test_direct_conv_puts_non_finite_inputs_where_the_reference_does(isa, rng):
    # the extended output run computes (and drops) columns past OW, and the weight gradient's row
    # tails are masked: an Inf there must reach no output the reference keeps finite
    shape = (2, 6, 14, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1))
    x, w, b, dy = make(rng, shape, np.float64)
    x[0, 2, 3, 12] = np.inf
    x[1, 0, 13, 0] = np.nan
    y, dx, dw = run(x, w, b, dy, *shape[6:])
    ry = R.conv2d_forward(x, w, b, *shape[6:])
    rdw = R.conv2d_backward(x, w, dy, *shape[6:])[1]
    np.testing.assert_array_equal(np.isfinite(y), np.isfinite(ry))
    np.testing.assert_array_equal(np.isfinite(dw), np.isfinite(rdw))
    assert np.isfinite(dx).all()


@pytest.mark.parametrize("activation", [None, "relu"])
def test_direct_conv_keeps_nan_and_inf_where_the_reference_does_with_channels_in_the_lanes(isa, rng, activation):
    # float32 LeNet conv2: 16 channels fill AVX-512's lanes, so the bias and the ReLU are applied as the
    # tiles are stored (a NaN sum stays NaN through the ReLU, as max(x, 0) of the unfused ops)
    shape = (2, 6, 14, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1))
    x, w, b, dy = make(rng, shape, np.float32)
    x[0, 2, 3, 12] = np.inf
    x[1, 0, 13, 0] = np.nan
    y = np.full(dy.shape, -1.0, np.float32)
    _C.conv2d_forward(x, w, b, y, *shape[6:], 1, activation)
    ry = R.conv2d_forward(x, w, b, *shape[6:], activation=activation)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ry))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ry))
    assert np.isnan(y).any()
    ok = np.isfinite(ry)
    np.testing.assert_allclose(y[ok], ry[ok], *tol_for(np.float32, 150))


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_winograd_leaves_an_image_with_nan_or_inf_to_the_direct_sums(isa, rng, dtype):
    # LeNet's conv2 runs row Winograd, whose tiles would spread an input's Inf over both of a tile's
    # outputs (and turn it into NaN); an image holding one takes the direct sums, the others do not
    shape = (4, 6, 14, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1))
    x, w, b, dy = make(rng, shape, dtype)
    clean = run(x, w, b, dy, *shape[6:])[0]
    x[1, 2, 3, 12] = np.inf
    x[2, 0, 13, 0] = -np.inf
    x[2, 5, 0, 7] = np.nan
    y = run(x, w, b, dy, *shape[6:])[0]
    ry = R.conv2d_forward(x, w, b, *shape[6:])
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ry))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ry))
    assert np.isinf(y[1]).any() and np.isnan(y[2]).any()
    ok = np.isfinite(ry)
    np.testing.assert_allclose(y[ok], ry[ok], *tol_for(dtype, 150))
    for n in (0, 3):  # the finite images: the very values they had without the others' Inf and NaN
        assert y[n].tobytes() == clean[n].tobytes()
    # an Inf weight: every image by the direct sums
    w[3, 1, 2, 2] = np.inf
    y = run(x[[0]], w, b, dy[[0]], *shape[6:])[0]
    ry = R.conv2d_forward(x[[0]], w, b, *shape[6:])
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ry))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ry))
    assert np.isinf(y[0, 3]).all() and np.isfinite(np.delete(y[0], 3, axis=0)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_gradients_put_a_non_finite_dy_where_the_reference_does(isa, rng, dtype):
    # 16 images share the vector lanes of the data gradient (AVX-512 float32; two groups in float64): an Inf
    # or a NaN in one image's dy reaches that image's dx where the reference puts it, and no other image's.
    # The weight gradient (row Winograd here, whose tiles would spread them) takes the direct sums for
    # those two images: its NaN and Inf where the reference's are.
    shape = (16, 6, 9, 8, 16, (5, 5), (1, 1), (0, 0), (1, 1))
    x, w, b, dy = make(rng, shape, dtype)
    clean = run(x, w, b, dy, *shape[6:])[1]
    dy[3, 2, 1, 2] = np.inf
    dy[7, 0, 4, 3] = np.nan
    _, dx, dw = run(x, w, b, dy, *shape[6:])
    rdx, rdw = R.conv2d_backward(x, w, dy, *shape[6:])[:2]
    for got, ref in ((dx, rdx), (dw, rdw)):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    assert np.isinf(dx[3]).any() and np.isnan(dx[7]).any() and np.isnan(dw[0]).any() and np.isfinite(dw[1]).all()
    for n in set(range(16)) - {3, 7}:
        assert dx[n].tobytes() == clean[n].tobytes()


# Shapes whose forward writes its sums straight into y's rows (direct.cpp's conv_y): rows of 7, 13, 17
# and 28 outputs end in a part vector at every level (masked stores), 8 and 24 channels take AVX-512's
# 8-channel blocks, 5 and 6 the level's usual ones; strided and dilated windows included.
ROW_SHAPES = [
    (2, 3, 7, 7, 8, (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 1, 28, 28, 6, (5, 5), (1, 1), (2, 2), (1, 1)),
    (2, 2, 13, 13, 5, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 3, 9, 17, 24, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 3, 20, 35, 8, (3, 3), (2, 2), (1, 1), (1, 1)),
    (2, 2, 12, 21, 7, (3, 3), (1, 1), (2, 2), (2, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_direct_conv_rows_write_y_and_nothing_around_it(isa, rng, dtype, activation):
    for shape in ROW_SHAPES:
        x, w, b, dy = make(rng, shape, dtype)
        x[0, 0, 0, 0] = np.inf  # read by the masked lanes of a neighbouring row's part vector
        x[-1, -1, -1, -1] = np.nan
        guard = 64
        buf = np.full(dy.size + 2 * guard, 12345.0, dtype)
        y = buf[guard:guard + dy.size].reshape(dy.shape)
        for bias in (b, None):
            y[...] = np.nan
            _C.conv2d_forward(x, w, bias, y, *shape[6:], 1, activation)
            ry = R.conv2d_forward(x, w, bias, *shape[6:], activation=activation)
            assert (buf[:guard] == 12345.0).all() and (buf[-guard:] == 12345.0).all(), shape_id(shape)
            np.testing.assert_array_equal(np.isnan(y), np.isnan(ry), err_msg=shape_id(shape))
            np.testing.assert_array_equal(np.isinf(y), np.isinf(ry), err_msg=shape_id(shape))
            ok = np.isfinite(ry)
            np.testing.assert_allclose(y[ok], ry[ok], *tol_for(dtype, x.shape[1] * 25), err_msg=shape_id(shape))
