"""LPPool1d/2d (F.lp_pool1d/2d), MaxUnpool1d (F.max_unpool1d) and nn.init.sparse_: the structure and
gradients on their own (float64 finite differences), then outputs, gradients, reprs and error classes
against torch 2.13 where torch is importable."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd.gradcheck import gradcheck


def _lp_reference(x, p, k, s):
    """(sum over each window of x ** p) ** (1 / p) along the last axis, windows of k every s, no ceil."""
    L = x.shape[-1]
    starts = range(0, L - k + 1, s)
    return np.stack([(x[..., a:a + k] ** p).sum(-1) ** (1.0 / p) for a in starts], -1)


# ---- lp_pool without torch -------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [1, 2, 3, 2.5])
def test_lp_pool1d_is_the_p_norm_of_each_window(rng, p):
    x = rng.uniform(0.1, 2.0, (2, 3, 9))
    y = F.lp_pool1d(fe.tensor(x), p, 3, 2)
    np.testing.assert_allclose(y.numpy(), _lp_reference(x, p, 3, 2), rtol=1e-12)


def test_lp_pool2d_is_the_p_norm_of_each_window(rng):
    x = rng.uniform(0.1, 2.0, (2, 3, 4, 6))
    y = F.lp_pool2d(fe.tensor(x), 2, (2, 3)).numpy()
    want = np.sqrt((x.reshape(2, 3, 2, 2, 2, 3) ** 2).sum(axis=(3, 5)))
    np.testing.assert_allclose(y, want, rtol=1e-12)


def test_lp_pool_inf_is_the_largest_magnitude(rng):
    x = rng.standard_normal((2, 3, 8))
    np.testing.assert_array_equal(F.lp_pool1d(fe.tensor(x), math.inf, 2).numpy(),
                                  np.abs(x).reshape(2, 3, 4, 2).max(-1))
    np.testing.assert_array_equal(F.lp_pool1d(fe.tensor(x), -math.inf, 2).numpy(),
                                  np.abs(x).reshape(2, 3, 4, 2).min(-1))


def test_lp_pool_shapes_batch_unbatched_empty_ceil(rng):
    x = fe.tensor(rng.standard_normal((3, 7)).astype(np.float32))
    assert F.lp_pool1d(x, 2, 3).shape == (3, 2) and F.lp_pool1d(x, 2, 3).dtype == fe.float32
    assert F.lp_pool1d(fe.zeros(0, 3, 7), 2, 3).shape == (0, 3, 2)
    assert F.lp_pool1d(fe.ones(2, 3, 7), 2, 3, 2, ceil_mode=True).shape == (2, 3, 3)
    assert F.lp_pool2d(fe.ones(3, 6, 7), 2, 3).shape == (3, 2, 2)
    assert F.lp_pool2d(fe.zeros(0, 3, 6, 7), 2, 3).shape == (0, 3, 2, 2)
    assert F.lp_pool2d(fe.ones(1, 1, 5, 5), 2, 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert nn.LPPool1d(2, 3)(fe.ones(2, 3, 7)).shape == (2, 3, 2)
    assert nn.LPPool2d(2, (2, 3), 1)(fe.ones(2, 3, 6, 7)).shape == (2, 3, 5, 5)


def test_lp_pool_errors():
    with pytest.raises(RuntimeError):
        F.lp_pool1d(fe.ones(7), 2, 3)  # a 1-D input
    with pytest.raises(RuntimeError):
        F.lp_pool1d(fe.ones(1, 2, 3, 7), 2, 3)
    with pytest.raises(RuntimeError):
        F.lp_pool1d(fe.ones(2, 0, 7), 2, 3)  # only the batch may be empty
    with pytest.raises(RuntimeError, match="too small"):
        F.lp_pool1d(fe.ones(2, 3, 2), 2, 3)
    with pytest.raises(IndexError):
        F.lp_pool2d(fe.ones(6, 7), 2, 3)  # torch's class for a 2-D input
    with pytest.raises(RuntimeError):
        F.lp_pool2d(fe.ones(1, 1, 3, 6, 7), 2, 3)
    with pytest.raises(ZeroDivisionError):
        F.lp_pool1d(fe.ones(2, 3, 7), 0, 3)
    with pytest.raises(TypeError):
        F.lp_pool1d(fe.ones(2, 3, 7), 2, (3,))  # torch: out.mul(kernel_size) of a tuple
    with pytest.raises(ValueError):
        F.lp_pool2d(fe.ones(2, 3, 6, 7), 2, (2, 2, 2))


def test_lp_pool_gradient_is_zero_where_a_window_sums_to_zero():
    x = fe.tensor(np.array([[[0.0, 0.0, 1.0, -2.0, 3.0, 0.0]]]), requires_grad=True)
    with np.errstate(all="ignore"):  # pow's infinite gradient at 0, masked by relu's (NumPy would warn)
        F.lp_pool1d(x, 2, 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[[0, 0, 1 / math.sqrt(5), -2 / math.sqrt(5), 1, 0]]])


@pytest.mark.parametrize("p", [1, 2, 3, 2.5, math.inf, -math.inf])
def test_lp_pool_gradcheck_float64(rng, p):
    # positive, distinct values: every window's sum is away from 0 and its largest |x| is unique
    x1 = fe.tensor(rng.permutation(2 * 3 * 9).reshape(2, 3, 9) * 0.05 + 0.3, requires_grad=True)
    assert gradcheck(lambda t: F.lp_pool1d(t, p, 3, 2), (x1,))
    assert gradcheck(lambda t: F.lp_pool1d(t, p, 3, 2, ceil_mode=True), (x1,))
    x2 = fe.tensor(rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) * 0.05 + 0.3, requires_grad=True)
    assert gradcheck(lambda t: F.lp_pool2d(t, p, (2, 3), (2, 1)), (x2,))
    assert gradcheck(lambda t: F.lp_pool2d(t, p, 2, ceil_mode=True), (x2,))


def test_lp_pool_module_reprs():
    assert repr(nn.LPPool1d(2, 3)) == "LPPool1d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.LPPool2d(2.0, (2, 3), 1, True)) == \
        "LPPool2d(norm_type=2.0, kernel_size=(2, 3), stride=1, ceil_mode=True)"
    assert repr(nn.LPPool1d(math.inf, 3, stride=2)) == \
        "LPPool1d(norm_type=inf, kernel_size=3, stride=2, ceil_mode=False)"


# ---- max_unpool1d without torch ----------------------------------------------------------------------------

def test_max_unpool1d_inverts_max_pool1d(rng):
    x = fe.tensor(rng.permutation(2 * 3 * 9).reshape(2, 3, 9).astype(np.float64))
    y, i = F.max_pool1d(x, 3, 2, 1, return_indices=True)
    u = F.max_unpool1d(y, i, 3, 2, 1, output_size=x.shape)
    assert u.shape == (2, 3, 9)
    keep = np.zeros((2, 3, 9), bool)
    np.put_along_axis(keep, i.numpy(), True, -1)
    np.testing.assert_array_equal(u.numpy(), np.where(keep, x.numpy(), 0))
    assert nn.MaxUnpool1d(3, 2, 1)(y, i, x.shape).shape == (2, 3, 9)
    assert F.max_unpool1d(y, i, 3, 2, 1).shape == (2, 3, 9)  # the default size: (5 - 1) * 2 - 2 + 3
    yu, iu = F.max_pool1d(x[0], 3, 2, 1, return_indices=True)  # unbatched
    np.testing.assert_array_equal(F.max_unpool1d(yu, iu, 3, 2, 1, output_size=[9]).numpy(), u.numpy()[0])
    y0, i0 = F.max_pool1d(fe.zeros(0, 3, 8), 2, return_indices=True)  # N = 0
    assert F.max_unpool1d(y0, i0, 2).shape == (0, 3, 8)


def test_max_unpool1d_gradcheck(rng):
    x = fe.tensor(rng.permutation(2 * 3 * 8).reshape(2, 3, 8).astype(np.float64))
    y, i = F.max_pool1d(x, 2, return_indices=True)
    assert gradcheck(lambda t: F.max_unpool1d(t, i, 2, output_size=(9,)), (y.detach().requires_grad_(),))


def test_max_unpool1d_errors():
    y, i = F.max_pool1d(fe.randn(2, 3, 8), 2, return_indices=True)
    with pytest.raises(ValueError, match="1 or 3 elements"):
        F.max_unpool1d(y, i, 2, output_size=(3, 9))
    with pytest.raises(ValueError, match="between 6 and 10"):
        F.max_unpool1d(y, i, 2, output_size=(10,))
    with pytest.raises(ValueError, match="non-negative"):
        F.max_unpool1d(fe.ones(2, 3, 1), fe.zeros(2, 3, 1, dtype=fe.int64), 1, padding=1)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool1d(y, i + 10, 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool1d(y, fe.tensor(i.numpy().astype(np.int32)), 2)
    with pytest.raises(RuntimeError):
        F.max_unpool1d(y, i[:, :, :3], 2)  # indices of another shape
    for bad in (y[0, 0], y[None]):  # 1-D and 4-D input
        with pytest.raises(RuntimeError):
            F.max_unpool1d(bad, bad.long(), 2)
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.max_unpool1d(fe.ones(2, 0, 4), fe.zeros(2, 0, 4, dtype=fe.int64), 2)
    with pytest.raises(NotImplementedError):
        F.max_unpool1d(y.long(), i, 2)
    with pytest.raises(NotImplementedError):
        F.max_unpool2d(fe.ones(1, 1, 2, 2, dtype=fe.int64), fe.zeros(1, 1, 2, 2, dtype=fe.int64), 2)


def test_max_unpool1d_module_repr():
    assert repr(nn.MaxUnpool1d(2)) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.MaxUnpool1d((3,), 2, 1)) == "MaxUnpool1d(kernel_size=(3,), stride=(2,), padding=(1,))"


# ---- init.sparse_ -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, cols, sparsity", [(10, 400, 0.25), (7, 300, 0.1), (4, 50, 0.0), (5, 20, 1.0)])
def test_sparse_zeros_per_column_and_std(rows, cols, sparsity):
    w = nn.init.sparse_(fe.empty(rows, cols), sparsity, std=0.5, generator=0)
    a = w.numpy()
    assert (np.count_nonzero(a == 0, axis=0) == math.ceil(sparsity * rows)).all()
    rest = a[a != 0]
    if rest.size > 1000:  # the std of the non-zeros within 10% (thousands of samples)
        assert abs(rest.std() - 0.5) < 0.05 and abs(rest.mean()) < 0.05


def test_sparse_default_std_generator_and_errors():
    w = nn.init.sparse_(fe.empty(50, 200), 0.3)
    assert abs(w.numpy()[w.numpy() != 0].std() - 0.01) < 0.001
    a = nn.init.sparse_(fe.empty(6, 5), 0.5, generator=fe.Generator().manual_seed(3)).numpy()
    b = nn.init.sparse_(fe.empty(6, 5), 0.5, generator=fe.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(a, b)  # the zero rows come from the generator too
    assert nn.init.sparse_(fe.empty(0, 3), 0.5).shape == (0, 3)
    for shape in [(3,), (2, 2, 2), ()]:
        with pytest.raises(ValueError, match="2 dimensions"):
            nn.init.sparse_(fe.empty(*shape), 0.1)
    with pytest.raises(NotImplementedError):
        nn.init.sparse_(fe.zeros(3, 3, dtype=fe.int64), 0.1)


# ---- against torch ----------------------------------------------------------------------------------------

def _both(torch, fn_fe, fn_torch, x, dtype):
    """fn on firstepoch and torch: values and input gradients (of sum(y * w), w fixed) agree."""
    xf = fe.tensor(x.astype(dtype), requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    yf, yt = fn_fe(xf), fn_torch(xt)
    assert yf.shape == tuple(yt.shape) and yf.detach().numpy().dtype == yt.detach().numpy().dtype
    # float32: x ** -1 near 0 makes some gradients ill-conditioned (1e-5 relative apart, summed differently)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(yf.detach().numpy(), yt.detach().numpy(), equal_nan=True, **tol)
    if yt.numel() == 0:
        return
    w = np.linspace(-1, 2, yt.numel()).reshape(tuple(yt.shape)).astype(dtype)
    with np.errstate(all="ignore"):
        (yf * fe.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    got, want = xf.grad.numpy(), xt.grad.numpy()
    # a window whose pooled value is NaN (x ** 2.5 of a negative entry): the NaN reaches its entries' gradient
    # through torch's ReLU, whose slope at NaN is 1; firstepoch's is 0 (README porting table), so such an
    # entry gets only its other windows' (finite) share here
    unlike = np.isnan(want) & ~np.isnan(got)
    assert np.isfinite(got[unlike]).all()
    np.testing.assert_allclose(np.where(unlike, 0, got), np.where(unlike, 0, want), equal_nan=True, **tol)


LP1D = [(3, None, False), (3, 2, False), (3, 2, True), (2, 3, True), (4, 1, False)]
LP2D = [(3, None, False), ((2, 3), (1, 2), False), (3, 2, True), ([2, 2], None, True), ((3, 2), (2, 3), True)]
NORMS = [1, 2, 3, 2.5, -1, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", NORMS)
def test_lp_pool1d_matches_torch(rng, dtype, p):
    torch = pytest.importorskip("torch")
    for x in [rng.uniform(0.1, 2.0, (2, 3, 9)), rng.standard_normal((2, 3, 9)), rng.standard_normal((3, 8)),
              np.zeros((0, 2, 7)), np.array([[[0.0, 0.0, 1.0, -2.0, 3.0, 0.0, 0.0]]])]:
        for k, s, ceil in LP1D:
            with np.errstate(all="ignore"):
                _both(torch, lambda t: F.lp_pool1d(t, p, k, s, ceil),
                      lambda t: torch.nn.functional.lp_pool1d(t, p, k, s, ceil), x, dtype)
            _both(torch, lambda t: nn.LPPool1d(p, k, s, ceil)(t) if x.shape[-1] else t,
                  lambda t: torch.nn.LPPool1d(p, k, s, ceil)(t) if x.shape[-1] else t, np.abs(x) + 0.5, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", NORMS)
def test_lp_pool2d_matches_torch(rng, dtype, p):
    torch = pytest.importorskip("torch")
    for x in [rng.uniform(0.1, 2.0, (2, 2, 7, 8)), rng.standard_normal((2, 2, 7, 8)), rng.standard_normal((2, 6, 7)),
              np.zeros((0, 2, 6, 7))]:
        for k, s, ceil in LP2D:
            with np.errstate(all="ignore"):
                _both(torch, lambda t: F.lp_pool2d(t, p, k, s, ceil),
                      lambda t: torch.nn.functional.lp_pool2d(t, p, k, s, ceil), x, dtype)
                _both(torch, lambda t: nn.LPPool2d(p, k, s, ceil)(t),
                      lambda t: torch.nn.LPPool2d(p, k, s, ceil)(t), x, dtype)


def test_lp_pool_reprs_and_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    for args in [(2, 3), (2.0, (2, 3), 1, True), (math.inf, 3, 2), (1, [2, 2])]:
        assert repr(nn.LPPool1d(*args)) == repr(torch.nn.LPPool1d(*args))
        assert repr(nn.LPPool2d(*args)) == repr(torch.nn.LPPool2d(*args))
    cases = [("lp_pool1d", (7,), (2, 3)), ("lp_pool1d", (1, 2, 3, 7), (2, 3)), ("lp_pool1d", (2, 0, 7), (2, 3)),
             ("lp_pool1d", (2, 3, 2), (2, 3)), ("lp_pool1d", (2, 3, 7), (0, 3)), ("lp_pool1d", (2, 3, 7), (2, (3,))),
             ("lp_pool1d", (2, 3, 7), (2, 3, 0)), ("lp_pool2d", (6, 7), (2, 3)), ("lp_pool2d", (1, 1, 3, 6, 7), (2, 3)),
             ("lp_pool2d", (2, 3, 6, 7), (2, (2, 2, 2))), ("lp_pool2d", (2, 3, 6, 7), (2, (2,))),
             ("lp_pool2d", (2, 0, 6, 7), (2, 3))]
    for name, shape, args in cases:
        with pytest.raises(Exception) as want:
            getattr(torch.nn.functional, name)(torch.ones(shape), *args)
        with pytest.raises(want.type):
            getattr(F, name)(fe.ones(*shape), *args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool1d_round_trip_matches_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for L, k, s, p in [(8, 2, None, 0), (9, 3, 2, 1), (10, 4, 3, 2), (7, 2, 1, 0)]:
        x = rng.permutation(2 * 3 * L).reshape(2, 3, L).astype(dtype)
        yt, it = tf.max_pool1d(torch.tensor(x), k, s, p, return_indices=True)
        yf, i_fe = nn.MaxPool1d(k, s, p, return_indices=True)(fe.tensor(x))
        np.testing.assert_array_equal(i_fe.numpy(), it.numpy())
        for size in [None, (L,), [2, 3, L]]:
            for unbatched in (False, True):
                yi, ii = (yt[0], it[0]) if unbatched else (yt, it)
                ii_fe = fe.tensor(ii.numpy())
                try:
                    tf.max_unpool1d(yi, ii, k, s, p, size)
                except RuntimeError:  # the default size can be smaller than the pooled input: both refuse
                    with pytest.raises(RuntimeError, match="invalid max index"):
                        F.max_unpool1d(fe.tensor(yi.numpy()), ii_fe, k, s, p, size)
                    continue
                _both(torch, lambda t: F.max_unpool1d(t, ii_fe, k, s, p, size),
                      lambda t: tf.max_unpool1d(t, ii, k, s, p, size), yi.numpy(), dtype)
                _both(torch, lambda t: nn.MaxUnpool1d(k, s, p)(t, ii_fe, size),
                      lambda t: torch.nn.MaxUnpool1d(k, s, p)(t, ii, size), yi.numpy(), dtype)


def test_max_unpool1d_reprs_and_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    for args in [(2,), ((3,), 2, 1), (3, (2,), (1,))]:
        assert repr(nn.MaxUnpool1d(*args)) == repr(torch.nn.MaxUnpool1d(*args))
    x = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    yt, it = torch.nn.functional.max_pool1d(torch.tensor(x), 2, return_indices=True)
    y, i = yt.numpy(), it.numpy()
    cases = [(y, i, dict(output_size=(3, 9))), (y, i, dict(output_size=(10,))), (y, i + 10, {}), (y, i - 10, {}),
             (y, i.astype(np.int32), {}), (y, i[:, :, :3], {}), (y[0, 0], i[0, 0], {}), (y[None], i[None], {}),
             (y.astype(np.int64), i, {}), (np.ones((2, 0, 4), np.float32), np.zeros((2, 0, 4), np.int64), {}),
             (np.ones((2, 3, 0), np.float32), np.zeros((2, 3, 0), np.int64), {}),
             (np.ones((2, 3, 1), np.float32), np.zeros((2, 3, 1), np.int64), dict(kernel_size=1, padding=1))]
    for v, idx, kw in cases:
        kw = {"kernel_size": 2, **kw}
        with pytest.raises(Exception) as want:
            torch.nn.functional.max_unpool1d(torch.tensor(v), torch.tensor(idx), **kw)
        with pytest.raises(want.type):
            F.max_unpool1d(fe.tensor(v), fe.tensor(idx), **kw)
    y0, i0 = torch.nn.functional.max_pool1d(torch.zeros(0, 3, 8), 2, return_indices=True)
    assert F.max_unpool1d(fe.tensor(y0.numpy()), fe.tensor(i0.numpy()), 2).shape == \
        tuple(torch.nn.functional.max_unpool1d(y0, i0, 2).shape)


def test_sparse_structure_matches_torch():
    torch = pytest.importorskip("torch")
    for rows, cols, sparsity in [(10, 30, 0.25), (5, 4, -0.3), (5, 4, 2.0), (0, 3, 0.5)]:
        want = torch.nn.init.sparse_(torch.empty(rows, cols), sparsity)
        got = nn.init.sparse_(fe.empty(rows, cols), sparsity)
        np.testing.assert_array_equal((got.numpy() == 0).sum(0), (want == 0).sum(0).numpy())
