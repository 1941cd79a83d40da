"""The Winograd path of conv2d (3x3, stride 1, dilation 1, groups 1, padding <= 2, at least 16 input and
output channels; csrc/kernels/conv/winograd.*), in both its tiles: F(2x2, 3x3) and F(4x4, 3x3), picked by
the map's size (_C.winograd_tile). Which shapes take it and which tile, forward and both gradients
against the NumPy reference at every ISA in float32 and float64, each tile forced in turn, over odd, even,
prime and one-pixel sizes and padding 0-2, N = 0, every output overwritten, bitwise equal for 1, 2, 3 and
7 threads.

Tolerance: Winograd's transforms add and subtract inputs before the products (B^T d B) and outputs
after them (A^T m A), so its rounding error is relative to the scale of the output, not to each
element: a small output next to large ones carries the large ones' error. Measured max abs error over
max |output| in float32 against the float64 reference, on ResNet-like data (ReLU'd input, He-scaled
weights), forward and dx: F(2x2) 3e-7 at 64 channels to 1e-6 at 512; F(4x4) 2e-6 at 64, 3-4e-6 at 128
(and 5-6e-6 at 256-512, which is why F(4x4) stops at 128 summed channels); dweight 2-3e-7 and 1-2e-6;
a float32 im2col + GEMM (OpenBLAS) 2-4e-7. F(4x4)'s larger error is the float32 sum over channels of
its transformed products, which its output transform (entries up to 8) amplifies; its points (0, 1,
-1, 1/2, -2) are the most accurate of those tried (0, 1, -1, 2, -2: 2.5x the error). Both are far
inside tol_for(float32, K) (K products per output), which the checks below apply to the output's scale."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.reference import conv as R
from conftest import tol_for

WINOGRAD = "winograd"
DTYPES = [np.float32, np.float64]
# (N, C, OC, H, W, padding): odd, even, prime, one-pixel and one-row sizes, padding 0, 1, 2
# (up to 32 channels in and out is the direct path's: one side here has more)
SHAPES = [(2, 16, 40, 7, 9, 1), (1, 16, 48, 1, 1, 1), (3, 33, 16, 2, 3, 2), (1, 40, 16, 3, 3, 0),
          (2, 16, 36, 13, 11, 0), (1, 48, 16, 8, 8, 2), (2, 16, 40, 5, 1, 1), (1, 16, 33, 1, 6, 2),
          (2, 19, 33, 6, 4, 0)]


@pytest.fixture(params=[2, 4])
def tile(request):
    """Forces the Winograd tile for the test, restoring the by-shape choice afterwards."""
    before = _C.get_winograd_tile()
    _C.set_winograd_tile(request.param)
    yield request.param
    _C.set_winograd_tile(before)


def conv_args(p):
    return (1, 1), (p, p), (1, 1), 1


def assert_close_to_scale(got, ref, dtype, k):
    """|got - ref| <= tol * max(1, max |ref|) elementwise (see the module docstring)."""
    rtol, atol = tol_for(dtype, k)
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    err = float(np.abs(got.astype(np.float64) - ref).max()) if ref.size else 0.0
    assert err <= max(rtol, atol) * scale, f"max abs error {err:.3g} vs scale {scale:.3g}"


def run(x, w, b, dy, p):
    """_C forward and backward with every output prefilled with NaN (so an unwritten one shows)."""
    N, C, H, W = x.shape
    OC = w.shape[0]
    y = np.full((N, OC, H + 2 * p - 2, W + 2 * p - 2), np.nan, x.dtype)
    _C.conv2d_forward(x, w, b, y, *conv_args(p))
    dx, dw = np.full_like(x, np.nan), np.full_like(w, np.nan)
    _C.conv2d_backward(x, w, dy, dx, dw, *conv_args(p))
    return y, dx, dw


def out_positions(H, W, p):
    return (H + 2 * p - 2) * (W + 2 * p - 2)


def test_the_winograd_path_is_taken_for_3x3_stride_1_layers_with_many_channels():
    resnet = ((32, 64, 32, 32), (64, 64, 3, 3))
    assert _C.conv_algorithm(*resnet, (1, 1), (1, 1), (1, 1), 1) == WINOGRAD
    for N, C, OC, H, W, p in SHAPES:
        # at 16 output positions or fewer only the weight gradient is Winograd's (winograd::forward_applies):
        # the checks below then cover that mix, the forward and dx through im2col
        want = WINOGRAD if out_positions(H, W, p) > 16 else "im2col"
        assert _C.conv_algorithm((N, C, H, W), (OC, C, 3, 3), *conv_args(p)) == want
    for side in (2, 4):  # VGG's and ResNet's last stages at 32x32 inputs
        assert _C.conv_algorithm((64, 512, side, side), (512, 512, 3, 3), (1, 1), (1, 1), (1, 1), 1) == "im2col"
    assert _C.conv_algorithm((64, 512, 5, 5), (512, 512, 3, 3), (1, 1), (1, 1), (1, 1), 1) == WINOGRAD
    others = [((2, 16, 9, 9), (16, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),  # stride 2
              ((2, 16, 9, 9), (16, 16, 3, 3), (1, 1), (1, 1), (2, 2), 1),  # dilation 2
              ((2, 16, 9, 9), (16, 8, 3, 3), (1, 1), (1, 1), (1, 1), 2),  # groups
              ((2, 16, 9, 9), (16, 16, 3, 3), (1, 1), (3, 3), (1, 1), 1),  # padding 3
              ((2, 3, 9, 9), (32, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),  # few channels
              ((2, 16, 9, 9), (16, 16, 5, 5), (1, 1), (1, 1), (1, 1), 1)]  # 5x5
    for args in others:
        assert _C.conv_algorithm(*args) != WINOGRAD, args
    with pytest.raises(ValueError, match="x_shape"):
        _C.conv_algorithm((16, 9, 9), (16, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N%dC%dOC%d_%dx%d_p%d" % s)
def test_forward_and_gradients_match_the_reference(isa, tile, rng, dtype, shape):
    N, C, OC, H, W, p = shape
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((OC, C, 3, 3)) / np.sqrt(9 * C)
    b = rng.standard_normal(OC)
    dy = rng.standard_normal((N, OC, H + 2 * p - 2, W + 2 * p - 2))
    y, dx, dw = run(*(a.astype(dtype) for a in (x, w, b, dy)), p)
    ref_y = R.conv2d_forward(x, w, b, *conv_args(p))
    ref_dx, ref_dw, _ = R.conv2d_backward(x, w, dy, *conv_args(p))
    assert_close_to_scale(y, ref_y, dtype, 9 * C)
    assert_close_to_scale(dx, ref_dx, dtype, 9 * OC)
    assert_close_to_scale(dw, ref_dw, dtype, N * y.shape[2] * y.shape[3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_image_gives_empty_outputs_and_a_zero_weight_gradient(isa, tile, dtype):
    x = np.zeros((0, 16, 5, 5), dtype)
    w = np.ones((16, 16, 3, 3), dtype)
    y, dx, dw = run(x, w, np.ones(16, dtype), np.zeros((0, 16, 5, 5), dtype), 1)
    assert y.shape == (0, 16, 5, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_results_are_bitwise_the_same_for_1_2_3_and_7_threads(tile, rng, dtype):
    # 8 images of 30x30: 1800 tiles, several tile blocks and weight-gradient groups
    x = rng.standard_normal((8, 16, 30, 30)).astype(dtype)
    w = (rng.standard_normal((40, 16, 3, 3)) / 12).astype(dtype)
    b = rng.standard_normal(40).astype(dtype)
    dy = rng.standard_normal((8, 40, 30, 30)).astype(dtype)
    before = fe.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3, 7):
            fe.set_num_threads(n)
            results.append(run(x, w, b, dy, 1))
    finally:
        fe.set_num_threads(before)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("tile, bound", [(2, 6e-7), (4, 3e-6)])
def test_float32_error_on_resnet_like_data_is_within_a_few_ulps_of_the_output_scale(rng, tile, bound):
    """The accuracy figures of the module docstring, kept honest: 64 -> 64 channels, 16x16, ReLU-like input,
    each tile (measured: F(2x2) 2.5e-7, F(4x4) 1.5e-6)."""
    x = np.maximum(rng.standard_normal((2, 64, 16, 16)), 0)
    w = rng.standard_normal((64, 64, 3, 3)) * np.sqrt(2 / (9 * 64))
    y = np.empty((2, 64, 16, 16), np.float32)
    before = _C.get_winograd_tile()
    _C.set_winograd_tile(tile)
    try:
        _C.conv2d_forward(x.astype(np.float32), w.astype(np.float32), None, y, *conv_args(1))
    finally:
        _C.set_winograd_tile(before)
    ref = R.conv2d_forward(x, w, None, *conv_args(1))
    assert np.abs(y - ref).max() / np.abs(ref).max() < bound


def test_the_tile_is_4_where_its_products_are_at_most_0_7_of_the_2x2_tiles_and_channels_at_most_128():
    """F(4x4) on maps where, with tiles over the edge counted whole, it multiplies at most 0.7 times as
    often as F(2x2) (32x32, 16x16, 8x8, 7x7: 0.56), when each output sums at most 128 channels (0: the
    weight gradient, any width); F(2x2) on the other maps (14x14: 0.73, 10x10: 0.81, 5x5: 1.0, 2x2:
    2.25, one row) and over more channels. The override applies to every shape and is checked."""
    assert _C.get_winograd_tile() == 0
    for side in (32, 16, 8, 7, 4, 3):
        for channels in (0, 16, 64, 128):
            assert _C.winograd_tile(side, side, channels) == 4, (side, channels)
        assert _C.winograd_tile(side, side, 129) == 2 and _C.winograd_tile(side, side, 512) == 2
    for side in (14, 10, 5, 2, 1):
        assert _C.winograd_tile(side, side, 64) == 2, side
    assert _C.winograd_tile(7, 9, 64) == 4 and _C.winograd_tile(1, 6, 64) == 2 and _C.winograd_tile(4, 5, 0) == 2
    big = 2 ** 63 - 1  # the tile counts must not overflow: one row is F(2x2)'s, a huge square F(4x4)'s
    assert _C.winograd_tile(big, 1, 0) == 2 and _C.winograd_tile(big, big, 0) == 4
    try:
        for forced in (2, 4):
            _C.set_winograd_tile(forced)
            assert _C.get_winograd_tile() == forced
            assert _C.winograd_tile(32, 32, 64) == forced and _C.winograd_tile(2, 2, 512) == forced
    finally:
        _C.set_winograd_tile(0)
    for bad in (-1, 1, 3, 8):
        with pytest.raises(ValueError, match="tile must be 0"):
            _C.set_winograd_tile(bad)
    with pytest.raises(ValueError, match="out_h and out_w"):
        _C.winograd_tile(0, 5, 16)
    with pytest.raises(ValueError, match="channels"):
        _C.winograd_tile(5, 5, -1)
    assert _C.get_winograd_tile() == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_tiles_chosen_by_shape_match_the_reference_with_a_mixed_choice(isa, rng, dtype):
    """Unforced, 16 -> 160 channels on 8x8: the forward (16 summed channels) and the weight gradient take
    F(4x4), the data gradient (160 summed channels) F(2x2); each against the reference."""
    N, C, OC, H, W, p = 2, 16, 160, 8, 8, 1
    assert _C.get_winograd_tile() == 0
    assert (_C.winograd_tile(H, W, C), _C.winograd_tile(H, W, OC), _C.winograd_tile(H, W, 0)) == (4, 2, 4)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((OC, C, 3, 3)) / np.sqrt(9 * C)
    b = rng.standard_normal(OC)
    dy = rng.standard_normal((N, OC, H, W))
    y, dx, dw = run(*(a.astype(dtype) for a in (x, w, b, dy)), p)
    ref_y = R.conv2d_forward(x, w, b, *conv_args(p))
    ref_dx, ref_dw, _ = R.conv2d_backward(x, w, dy, *conv_args(p))
    assert_close_to_scale(y, ref_y, dtype, 9 * C)
    assert_close_to_scale(dx, ref_dx, dtype, 9 * OC)
    assert_close_to_scale(dw, ref_dw, dtype, N * H * W)


def test_both_tiles_are_taken_by_the_shapes_checked_here():
    """SHAPES, at their own tile choice, cover both tiles: forward maps and the data gradient's input maps."""
    tiles = set()
    for N, C, OC, H, W, p in SHAPES:
        tiles.add(_C.winograd_tile(H + 2 * p - 2, W + 2 * p - 2, C))
        tiles.add(_C.winograd_tile(H, W, OC))
    assert tiles == {2, 4}


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_relu_clamps_the_plain_forward(isa, tile, rng, dtype):
    """nn.Conv2d followed by nn.ReLU runs the ReLU in Winograd's output transform: the very values of
    the plain forward, clamped (NaN kept), and the reference's within tolerance."""
    x = rng.standard_normal((3, 16, 9, 7)).astype(dtype)
    w = rng.standard_normal((40, 16, 3, 3)).astype(dtype)
    b = rng.standard_normal(40).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    assert _C.conv_algorithm(x.shape, w.shape, *conv_args(1)) == WINOGRAD
    y = np.full((3, 40, 9, 7), np.nan, dtype)
    yr = np.full_like(y, 7.0)
    _C.conv2d_forward(x, w, b, y, *conv_args(1))
    _C.conv2d_forward(x, w, b, yr, *conv_args(1), "relu")
    np.testing.assert_array_equal(yr, np.where(np.isnan(y), y, np.maximum(y, 0)))
    assert np.isnan(yr).any()
    ref = R.conv2d_forward(x, w, b, *conv_args(1), activation="relu")
    # a NaN input reaches every output of the tiles whose windows hold it (a direct sum: its 3x3
    # neighbourhood): the input (0, 0) lies only in the first tile's window, so at most the first 4x4
    # outputs of image 0 (2x2 with F(2x2))
    assert np.isnan(yr[~np.isfinite(ref)]).all()
    assert not np.isnan(yr[1:]).any() and not np.isnan(yr[0, :, tile:]).any() and not np.isnan(yr[0, :, :, tile:]).any()
    fin = np.isfinite(yr)
    assert_close_to_scale(yr[fin], ref[fin], dtype, 16 * 9)
