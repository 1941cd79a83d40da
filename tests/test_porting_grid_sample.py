"""F.grid_sample (4-D: bilinear and nearest, zeros/border/reflection padding), F.affine_grid (4-D and
5-D sizes) and Tensor.unfold: hand-checked values, the vectorised op against the per-point NumPy
reference, and values, gradients, dtypes, warnings and error classes against PyTorch."""
import itertools
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.ops.interp import GridSample2dFn
from firstepoch.reference import interp as RI

MODES = ("bilinear", "nearest")
PADDINGS = ("zeros", "border", "reflection")


def _sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    return F.grid_sample(fe.tensor(x), fe.tensor(grid), mode, padding_mode, align_corners)._data


# ---- without torch ---------------------------------------------------------------------------------------

def test_grid_sample_reads_pixel_centres_and_pads():
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 2, 3)        # [[0, 1, 2], [3, 4, 5]]
    # align_corners=True: -1 and 1 are the outer pixels' centres
    grid = np.array([[[[-1, -1], [1, 1], [0, 0], [-0.5, 1]]]])
    np.testing.assert_allclose(_sample(x, grid, align_corners=True)[0, 0, 0], [0, 5, 2.5, 3.5])
    # align_corners=False: the outer pixels' edges; x = 1 is half a pixel beyond the last centre
    grid = np.array([[[[1, -0.5], [-1, -0.5], [3, -0.5]]]])
    np.testing.assert_allclose(_sample(x, grid, padding_mode="zeros")[0, 0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(_sample(x, grid, padding_mode="border")[0, 0, 0], [2.0, 0.0, 2.0])
    # reflection about the edges (-0.5 and 2.5): x = 3 is column 5.5, which reflects to -0.5, clipped to 0
    np.testing.assert_allclose(_sample(x, grid, padding_mode="reflection")[0, 0, 0], [2.0, 0.0, 0.0])
    # nearest rounds half to even: column 0.5 reads column 0, column 1.5 reads column 2
    grid = np.array([[[[-0.5, -1], [0.5, -1]]]])
    np.testing.assert_array_equal(_sample(x, grid, "nearest", align_corners=True)[0, 0, 0], [0.0, 2.0])


def test_grid_sample_matches_the_reference_loop_everywhere():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
        grid = rng.uniform(-2.5, 2.5, (2, 3, 4, 2)).astype(dtype)
        for mode, padding, ac in itertools.product(MODES, PADDINGS, (False, True)):
            X, G = fe.tensor(x, requires_grad=True), fe.tensor(grid, requires_grad=True)
            y = F.grid_sample(X, G, mode, padding, ac)
            assert y.dtype == dtype and y.shape == (2, 3, 3, 4)
            dy = rng.standard_normal(y.shape).astype(dtype)
            y.backward(fe.tensor(dy))
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(y._data, RI.grid_sample2d_forward(x, grid, mode, padding, ac), atol=tol)
            dx, dgrid = RI.grid_sample2d_backward(dy, x, grid, mode, padding, ac)
            np.testing.assert_allclose(X.grad._data, dx, atol=tol)
            np.testing.assert_allclose(G.grad._data, dgrid, atol=tol * 10)
            if mode == "nearest":
                assert not G.grad._data.any()


def test_grid_sample_gradchecks_and_empty_batch():
    rng = np.random.default_rng(0)
    for args, _ in GridSample2dFn.gradcheck_cases(rng)[:3]:
        fe.autograd.gradcheck(lambda a, b: GridSample2dFn.apply(a, b, *args[2:]),
                              [fe.tensor(args[0], requires_grad=True), fe.tensor(args[1], requires_grad=True)])
    X = fe.tensor(np.zeros((0, 2, 3, 3)), requires_grad=True)
    G = fe.tensor(np.zeros((0, 4, 5, 2)), requires_grad=True)
    y = F.grid_sample(X, G, align_corners=False)
    assert y.shape == (0, 2, 4, 5)
    y.sum().backward()
    assert X.grad.shape == (0, 2, 3, 3) and G.grad.shape == (0, 4, 5, 2)
    assert F.grid_sample(fe.zeros(1, 2, 3, 3), fe.zeros(1, 0, 4, 2), align_corners=True).shape == (1, 2, 0, 4)


def test_grid_sample_errors_and_default_warning():
    x, g = fe.zeros(2, 3, 4, 5), fe.zeros(2, 3, 3, 2)
    with pytest.raises(ValueError, match="mode"):
        F.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, g, padding_mode="circular", align_corners=False)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(x, g, mode="bicubic", align_corners=False)
    with pytest.raises(NotImplementedError, match="5-D"):
        F.grid_sample(fe.zeros(2, 3, 2, 4, 5), fe.zeros(2, 1, 3, 3, 3), align_corners=False)
    with pytest.raises(RuntimeError, match="batch size"):
        F.grid_sample(x, g[:1], align_corners=False)
    with pytest.raises(RuntimeError, match="size 2 in last dimension"):
        F.grid_sample(x, fe.zeros(2, 3, 3, 3), align_corners=False)
    with pytest.raises(RuntimeError, match="non-empty spatial"):
        F.grid_sample(fe.zeros(2, 3, 0, 5), g, align_corners=False)
    with pytest.raises(RuntimeError, match="scalar type Double but found Float"):
        F.grid_sample(x.double(), g, align_corners=False)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(x, g)


def test_affine_grid_identity_and_errors():
    eye = fe.tensor(np.array([[[1.0, 0, 0], [0, 1, 0]]]))
    grid = F.affine_grid(eye, (1, 1, 2, 4), align_corners=False)._data
    np.testing.assert_allclose(grid[0, 0, :, 0], [-0.75, -0.25, 0.25, 0.75])   # pixel centres
    np.testing.assert_allclose(grid[0, :, 0, 1], [-0.5, 0.5])
    x = fe.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)))
    np.testing.assert_allclose(F.grid_sample(x, F.affine_grid(eye, (1, 2, 3, 4), align_corners=True),
                                             align_corners=True)._data, x._data, atol=1e-12)
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(eye[0], (1, 1, 2, 4), align_corners=False)
    with pytest.raises(ValueError, match="Nx3x4"):
        F.affine_grid(eye, (1, 1, 2, 4, 4), align_corners=False)
    with pytest.raises(ValueError, match="floating point"):
        F.affine_grid(fe.zeros(1, 2, 3, dtype=fe.int64), (1, 1, 2, 4), align_corners=False)
    with pytest.raises(NotImplementedError, match="4D and 5D"):
        F.affine_grid(eye, (1, 2, 4), align_corners=False)
    with pytest.raises(ValueError, match="positive output size"):
        F.affine_grid(eye, (1, 1, 0, 4), align_corners=False)
    with pytest.raises(RuntimeError, match="batch2"):
        F.affine_grid(eye, (2, 1, 2, 4), align_corners=False)       # no batch broadcasting, as torch's bmm
    with pytest.warns(UserWarning):
        F.affine_grid(eye, (1, 1, 2, 4))


def test_unfold_values_gradient_and_errors():
    x = fe.arange(7.0, requires_grad=True)
    w = x.unfold(0, 3, 2)
    np.testing.assert_array_equal(w._data, [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    w.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1, 1, 2, 1, 2, 1, 1])          # overlaps count twice
    assert fe.arange(7).unfold(0, 2, 5).tolist() == [[0, 1], [5, 6]]             # step > size skips entries
    assert fe.zeros(2, 5, 3).unfold(1, 5, 1).shape == (2, 1, 3, 5)              # size = the axis' length
    assert fe.tensor(4.0).unfold(0, 1, 1).tolist() == [4.0]                     # 0-d: one entry along dim 0
    with pytest.raises(RuntimeError, match="maximum size"):
        fe.tensor(4.0).unfold(0, 2, 1)
    with pytest.raises(IndexError):
        fe.tensor(4.0).unfold(1, 1, 1)
    with pytest.raises(RuntimeError, match="step is 0"):
        x.unfold(0, 2, 0)
    with pytest.raises(RuntimeError, match="must be >= 0"):
        x.unfold(0, -1, 1)
    with pytest.raises(TypeError):
        x.unfold(0, 2.0, 1)


# ---- against torch ---------------------------------------------------------------------------------------

def _grid_points(rng, shape, dtype):
    """Points inside and well outside [-1, 1], plus exact pixel-centre hits, for value comparisons."""
    grid = rng.uniform(-3, 3, shape)
    grid.reshape(-1, 2)[:3] = [[-1, -1], [1, 1], [0, 0]]
    return grid.astype(dtype)


def test_grid_sample_matches_torch_values_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for dtype, shape in itertools.product((np.float32, np.float64), ((2, 3, 4, 5), (1, 2, 1, 3), (0, 2, 3, 3))):
        x = rng.standard_normal(shape).astype(dtype)
        grid = _grid_points(rng, (shape[0], 3, 4, 2), dtype) if shape[0] else np.zeros((0, 3, 4, 2), dtype)
        dy = rng.standard_normal((shape[0], shape[1], 3, 4)).astype(dtype)
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
        for mode, padding, ac in itertools.product(MODES, PADDINGS, (False, True)):
            X, G = fe.tensor(x, requires_grad=True), fe.tensor(grid, requires_grad=True)
            y = F.grid_sample(X, G, mode, padding, ac)
            y.backward(fe.tensor(dy))
            tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
            ty = torch.nn.functional.grid_sample(tx, tg, mode, padding, ac)
            ty.backward(torch.tensor(dy))
            what = f"{mode} {padding} align_corners={ac} {np.dtype(dtype).name} {shape}"
            assert y.shape == tuple(ty.shape) and str(ty.dtype) == f"torch.{y.dtype}", what
            np.testing.assert_allclose(y._data, ty.detach().numpy(), **tol, err_msg=what)
            np.testing.assert_allclose(X.grad._data, tx.grad.numpy(), **tol, err_msg=what)
            np.testing.assert_allclose(G.grad._data, tg.grad.numpy(), **tol, err_msg=what)


def test_grid_sample_nan_and_inf_points_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    grid = np.array([[[[np.nan, 0.2], [0.1, np.nan], [np.inf, 0.0], [-np.inf, 0.5], [0.3, -np.inf]]]], np.float32)
    for mode, padding in itertools.product(MODES, PADDINGS):
        ours = _sample(x, grid, mode, padding, False)
        theirs = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(grid), mode, padding, False).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{mode} {padding}")


def test_grid_sample_errors_match_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [((2, 3, 4, 5), (1, 3, 3, 2), {}), ((2, 3, 4, 5), (2, 3, 3, 3), {}), ((2, 3, 0, 5), (2, 3, 3, 2), {}),
             ((3, 4, 5), (3, 4, 1), {}), ((2, 3, 4, 5), (2, 3, 2), {}), ((4, 5), (3, 2), {}),
             ((2, 3, 4, 5), (2, 3, 3, 2), {"mode": "cubic"}), ((2, 3, 4, 5), (2, 3, 3, 2), {"padding_mode": "wrap"}),
             ((2, 3, 2, 4, 5), (2, 1, 3, 3, 3), {"mode": "bicubic"})]
    for xs, gs, kw in cases:
        with pytest.raises(Exception) as theirs:
            TF.grid_sample(torch.zeros(xs), torch.zeros(gs), align_corners=False, **kw)
        with pytest.raises(theirs.type):
            F.grid_sample(fe.zeros(*xs), fe.zeros(*gs), align_corners=False, **kw)
    for xd, gd in ((torch.int32, torch.int32), (torch.float64, torch.float32), (torch.float32, torch.int64)):
        with pytest.raises(Exception) as theirs:
            TF.grid_sample(torch.zeros(1, 1, 2, 2, dtype=xd), torch.zeros(1, 1, 1, 2, dtype=gd), align_corners=False)
        with pytest.raises(theirs.type, match=str(theirs.value).replace('"', '.')):
            F.grid_sample(fe.zeros(1, 1, 2, 2, dtype=getattr(fe, str(xd)[6:])),
                          fe.zeros(1, 1, 1, 2, dtype=getattr(fe, str(gd)[6:])), align_corners=False)


def test_affine_grid_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for dtype, size, ac in itertools.product((np.float32, np.float64),
                                             ((2, 3, 4, 5), (3, 2, 5, 1), (2, 3, 2, 3, 4), (1, 1, 1, 1, 1)),
                                             (False, True)):
        k = len(size) - 2
        theta = rng.standard_normal((size[0], k, k + 1)).astype(dtype)
        T, tt = fe.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the unit-size warning under align_corners=True, for both
            grid, tgrid = F.affine_grid(T, size, ac), torch.nn.functional.affine_grid(tt, size, ac)
        dy = rng.standard_normal(grid.shape).astype(dtype)
        grid.backward(fe.tensor(dy))
        tgrid.backward(torch.tensor(dy))
        tol = 1e-5 if dtype == np.float32 else 1e-12
        assert grid.shape == tuple(tgrid.shape) and grid.dtype == dtype
        np.testing.assert_allclose(grid._data, tgrid.detach().numpy(), atol=tol)
        np.testing.assert_allclose(T.grad._data, tt.grad.numpy(), atol=tol * 10)
    theta = np.zeros((2, 2, 3), np.float32)
    for th, size, ac in (((2, 2), (2, 1, 2, 2), False), ((2, 2, 3), (2, 1, 2), False), ((2, 2, 3), (3, 1, 2, 2), False),
                         ((2, 2, 3), (2, -1, 2, 2), False), ((2, 2, 3), (2, 1, 0, 1), True),
                         ((2, 2, 3), (2, 1, 2, 2, 2), False), ((2, 2, 3), (2.0, 1, 2, 2), False)):
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.affine_grid(torch.zeros(th), size, align_corners=ac)
        with pytest.raises(theirs.type):
            F.affine_grid(fe.zeros(*th), size, align_corners=ac)
    with pytest.warns(UserWarning, match="unit-size"):
        assert F.affine_grid(fe.tensor(theta), (2, 1, 1, 3), align_corners=True).shape == (2, 1, 3, 2)


def test_unfold_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    cases = [((10,), 0, 3, 2), ((10,), 0, 3, 5), ((10,), 0, 10, 1), ((10,), 0, 0, 3), ((3, 7, 4), 1, 3, 2),
             ((3, 7, 4), -1, 2, 1), ((3, 7, 4), 0, 3, 1), ((0, 5), 1, 2, 2), ((0,), 0, 0, 1), ((), 0, 1, 1),
             ((), -1, 0, 2)]
    for (shape, d, size, step), dtype in itertools.product(cases, (np.float32, np.float64)):
        x = rng.standard_normal(shape).astype(dtype)
        X, tx = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = X.unfold(d, size, step), tx.unfold(d, size, step)
        assert y.shape == tuple(ty.shape) and y.dtype == dtype, (shape, d, size, step)
        np.testing.assert_array_equal(y._data, ty.detach().numpy())
        dy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(fe.tensor(dy))
        ty.backward(torch.tensor(dy))
        np.testing.assert_allclose(X.grad._data, tx.grad.numpy(), rtol=1e-6)
    ints = np.arange(12).reshape(3, 4)
    assert fe.tensor(ints).unfold(1, 2, 1).tolist() == torch.tensor(ints).unfold(1, 2, 1).tolist()
    assert fe.tensor(ints).unfold(1, 2, 1).dtype == fe.int64
    for shape, d, size, step in (((), 0, 2, 1), ((), 1, 1, 1), ((10,), 0, 11, 1), ((10,), 0, 3, 0),
                                 ((10,), 0, -1, 1), ((4,), -2, 1, 1), ((4,), 0, True, 1), ((4,), 0, 1, 1.0)):
        with pytest.raises(Exception) as theirs:
            torch.zeros(shape).unfold(d, size, step)
        with pytest.raises(theirs.type):
            fe.zeros(shape).unfold(d, size, step)
