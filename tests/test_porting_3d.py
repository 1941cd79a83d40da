"""The 3-D layers of torch.nn: BatchNorm3d, InstanceNorm3d, Dropout3d, the 3-d padding layers, the Lazy
batch/instance norms, max/avg/adaptive 3-D pooling and conv3d. Values and structure on their own (NumPy
loops as the reference, float64 gradchecks), then values, gradients, dtypes, reprs, state_dict keys and
error classes against torch 2.13 where torch is importable."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd.gradcheck import gradcheck


def _conv3d_loops(x, w, b, s, p):
    """A plain-loop 3-D convolution (groups 1, dilation 1): the reference."""
    N, C, D, H, W = x.shape
    OC, _, kd, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0)) + ((p, p),) * 3)
    out = [(n + 2 * p - k) // s + 1 for n, k in zip((D, H, W), (kd, kh, kw))]
    y = np.zeros((N, OC, *out))
    for i, j, k in np.ndindex(*out):
        patch = xp[:, :, i * s:i * s + kd, j * s:j * s + kh, k * s:k * s + kw]
        y[:, :, i, j, k] = np.einsum("ncdhw,ocdhw->no", patch, w)
    return y + b.reshape(-1, 1, 1, 1)


# ---- without torch -----------------------------------------------------------------------------------------

def test_conv3d_matches_a_loop_and_its_gradients_pass_gradcheck(rng):
    x, w, b = rng.standard_normal((2, 3, 4, 5, 4)), rng.standard_normal((2, 3, 2, 3, 2)), rng.standard_normal(2)
    y = F.conv3d(fe.tensor(x), fe.tensor(w), fe.tensor(b), stride=2, padding=1)
    np.testing.assert_allclose(y.numpy(), _conv3d_loops(x, w, b, 2, 1), rtol=1e-12, atol=1e-12)
    args = [fe.tensor(a, requires_grad=True) for a in (x[:1, :2, :3], w[:, :2], b)]
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, padding="same", dilation=(1, 2, 1)), args)


def test_max_pool3d_values_indices_and_gradient(rng):
    x = rng.permutation(2 * 2 * 4 * 4 * 6).reshape(2, 2, 4, 4, 6).astype(np.float64)
    y, idx = F.max_pool3d(fe.tensor(x), 2, return_indices=True)
    blocks = x.reshape(2, 2, 2, 2, 2, 2, 3, 2).transpose(0, 1, 2, 4, 6, 3, 5, 7).reshape(2, 2, 2, 2, 3, 8)
    np.testing.assert_array_equal(y.numpy(), blocks.max(-1))
    np.testing.assert_array_equal(x.reshape(2, 2, -1)[np.arange(2)[:, None, None], np.arange(2)[None, :, None],
                                                      idx.numpy().reshape(2, 2, -1)], y.numpy().reshape(2, 2, -1))
    assert idx.dtype == fe.int64
    t = fe.tensor(x[:1, :1, :3] * 0.01, requires_grad=True)
    assert gradcheck(lambda t: F.max_pool3d(t, 3, 2, 1, ceil_mode=True), [t])
    assert gradcheck(lambda t: F.adaptive_max_pool3d(t, (2, 3, 4)), [t])


def test_avg_pool3d_is_the_window_mean_and_adaptive_gradcheck(rng):
    x = rng.standard_normal((1, 2, 4, 6, 2))
    y = F.avg_pool3d(fe.tensor(x), (2, 3, 1))
    np.testing.assert_allclose(y.numpy(), x.reshape(1, 2, 2, 2, 2, 3, 2, 1).mean(axis=(3, 5, 7)), rtol=1e-12)
    t = fe.tensor(rng.standard_normal((1, 1, 4, 5, 3)), requires_grad=True)  # torch: every dim >= the kernel
    assert gradcheck(lambda t: F.adaptive_avg_pool3d(t, (3, 4, 1)), [t])
    assert gradcheck(lambda t: F.avg_pool3d(t, 3, 2, 1, count_include_pad=False), [t])


def test_adaptive_avg_pool3d_keeps_nan_and_inf_in_their_windows():
    """A NaN or inf reaches only the windows that hold it, as torch's window sums (a product with a 0/1
    window matrix spread it, as NaN * 0, to every output along its row)."""
    x = np.arange(1 * 1 * 2 * 3 * 6, dtype=np.float64).reshape(1, 1, 2, 3, 6)
    x[0, 0, 0, 0, 0], x[0, 0, 1, 2, 5] = np.nan, np.inf
    t = fe.tensor(x, requires_grad=True)
    y = F.adaptive_avg_pool3d(t, (1, 3, 4))  # W windows [0, 2), [1, 3), [3, 5), [4, 6)
    want = np.stack([x[0, 0, :, :, a:b].mean(axis=(0, 2)) for a, b in ((0, 2), (1, 3), (3, 5), (4, 6))], -1)
    np.testing.assert_allclose(y.detach().numpy()[0, 0, 0], want, rtol=1e-12)  # NaN at [0, 0], inf at [2, 3] only
    y.sum().backward()
    assert np.isfinite(t.grad.numpy()).all()



def test_dropout3d_drops_whole_channels():
    fe.manual_seed(0)
    y = F.dropout3d(fe.ones((4, 6, 2, 3, 2)), 0.5).numpy()
    per_channel = y.reshape(4, 6, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # one draw per (sample, channel)
    u = F.dropout3d(fe.ones((6, 2, 3, 2)), 0.5).numpy().reshape(6, -1)  # unbatched: one draw per channel
    assert (u.min(-1) == u.max(-1)).all()
    x = fe.ones((2, 3, 1, 1, 1))
    assert F.dropout3d(x, 0.5, training=False) is x
    with pytest.warns(UserWarning, match="dropout3d"):
        F.dropout3d(fe.ones((2, 3, 4)), 0.5)


def test_lazy_norm_becomes_its_layer_at_the_first_forward(rng):
    m = nn.LazyBatchNorm3d()
    assert m.weight is None and list(m.state_dict()) == ["num_batches_tracked"]
    m(fe.tensor(rng.standard_normal((2, 3, 2, 2, 2)).astype(np.float32)))
    assert type(m) is nn.BatchNorm3d and m.num_features == 3
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert int(m.num_batches_tracked) == 1


def test_empty_batch_and_bad_ranks(rng):
    x = fe.tensor(np.zeros((0, 2, 3, 3, 3), np.float32))
    assert F.max_pool3d(x, 2).shape == (0, 2, 1, 1, 1)
    assert F.conv3d(x, fe.zeros((4, 2, 2, 2, 2))).shape == (0, 4, 2, 2, 2)
    with pytest.raises(RuntimeError):
        F.max_pool3d(fe.zeros((2, 3, 3)), 2)
    with pytest.raises(RuntimeError):
        F.conv3d(fe.zeros((2, 3, 3)), fe.zeros((1, 2, 1, 1, 1)))
    with pytest.raises(ValueError):
        nn.BatchNorm3d(2)(fe.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError):  # at construction, as Conv2d's (README, "Porting from PyTorch")
        nn.Conv3d(2, 3, (1, 2))


# ---- against torch -------------------------------------------------------------------------------------------

def _compare(torch, fe_fn, torch_fn, arrays, atol, check_grad=True):
    """Runs both, compares outputs (a tuple: the first is the value, the rest exact), and the gradients
    of sum(y * g) for each floating input."""
    fa = [fe.tensor(a, requires_grad=check_grad and a.dtype.kind == "f") for a in arrays]
    ta = [torch.tensor(a, requires_grad=check_grad and a.dtype.kind == "f") for a in arrays]
    yf, yt = fe_fn(*fa), torch_fn(*ta)
    if isinstance(yt, tuple):
        for f_extra, t_extra in zip(yf[1:], yt[1:]):
            np.testing.assert_array_equal(f_extra.numpy(), t_extra.numpy())
            assert str(f_extra.dtype).split(".")[-1] == str(t_extra.dtype).split(".")[-1]
        yf, yt = yf[0], yt[0]
    assert tuple(yf.shape) == tuple(yt.shape)
    assert str(yf.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    np.testing.assert_allclose(yf.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=atol)
    if check_grad and yt.requires_grad:
        g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(arrays[0].dtype)
        (yf * fe.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        for a, b in zip(fa, ta):
            if b.requires_grad:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10, rtol=atol * 10)


POOL_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
              dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), ceil_mode=True),
              dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool3d_against_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    kw = POOL_CASES[case]
    x = rng.standard_normal((2, 2, 5, 6, 7)).astype(dtype)
    atol = 1e-5 if dtype == np.float32 else 1e-12
    _compare(torch, lambda t: F.max_pool3d(t, return_indices=True, dilation=(1, 2, 1) if case == 2 else 1, **kw),
             lambda t: torch.nn.functional.max_pool3d(t, return_indices=True, dilation=(1, 2, 1) if case == 2 else 1,
                                                      **kw), [x], atol)
    for cip, div in ((True, None), (False, None), (True, 5)):
        _compare(torch, lambda t: F.avg_pool3d(t, count_include_pad=cip, divisor_override=div, **kw),
                 lambda t: torch.nn.functional.avg_pool3d(t, count_include_pad=cip, divisor_override=div, **kw), [x], atol)


@pytest.mark.parametrize("size", [1, 2, (3, 4, 5), (None, 2, 3), (4, 1, 6)])
def test_adaptive_pool3d_against_torch(rng, size):
    torch = pytest.importorskip("torch")
    for dtype, atol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        x = rng.standard_normal((2, 2, 5, 6, 7)).astype(dtype)
        _compare(torch, lambda t: F.adaptive_avg_pool3d(t, size), lambda t: torch.nn.functional.adaptive_avg_pool3d(t, size),
                 [x], atol)
        _compare(torch, lambda t: F.adaptive_max_pool3d(t, size, True),
                 lambda t: torch.nn.functional.adaptive_max_pool3d(t, size, True), [x], atol)


def test_pool3d_edges_against_torch(rng):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = rng.standard_normal((3, 4, 4, 5))
    _compare(torch, lambda t: F.max_pool3d(t, 2, return_indices=True), lambda t: TF.max_pool3d(t, 2, return_indices=True),
             [x], 1e-12)  # unbatched
    _compare(torch, lambda t: F.adaptive_max_pool3d(t, 2, True), lambda t: TF.adaptive_max_pool3d(t, 2, True), [x], 1e-12)
    _compare(torch, lambda t: F.avg_pool3d(t, 2), lambda t: TF.avg_pool3d(t, 2), [x], 1e-12)
    for fn in ("max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"):  # N = 0
        _compare(torch, lambda t: getattr(F, fn)(t, 2), lambda t: getattr(TF, fn)(t, 2), [x[None][:0]], 1e-12)
    nan = np.zeros((1, 1, 3, 3, 3))
    nan[0, 0, 0, 0, 1] = nan[0, 0, 1, 1, 1] = np.nan  # torch's index: the last NaN
    _compare(torch, lambda t: F.max_pool3d(t, 3, return_indices=True), lambda t: TF.max_pool3d(t, 3, return_indices=True),
             [nan], 1e-12, check_grad=False)
    _compare(torch, lambda t: F.adaptive_max_pool3d(t, 1, True), lambda t: TF.adaptive_max_pool3d(t, 1, True), [nan],
             1e-12, check_grad=False)
    ninf = np.full((1, 1, 2, 2, 2), -np.inf)  # all -inf: the first in-bound position, padding never
    _compare(torch, lambda t: F.max_pool3d(t, 2, 1, 1, return_indices=True),
             lambda t: TF.max_pool3d(t, 2, 1, 1, return_indices=True), [ninf], 1e-12, check_grad=False)
    ints = rng.integers(-9, 9, (2, 2, 4, 4, 4))  # integer input: torch pools it (averages toward zero)
    _compare(torch, lambda t: F.avg_pool3d(t, 3, 1, 1), lambda t: TF.avg_pool3d(t, 3, 1, 1), [ints], 0)
    _compare(torch, lambda t: F.max_pool3d(t, 3, 1, 1), lambda t: TF.max_pool3d(t, 3, 1, 1), [ints], 0)


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool3d(x[0, 0], 2),                     # wrong rank
    lambda F, x: F.avg_pool3d(x[0, 0], 2),
    lambda F, x: F.adaptive_avg_pool3d(x[0, 0], 2),
    lambda F, x: F.adaptive_max_pool3d(x[0, 0], 2),
    lambda F, x: F.max_pool3d(x[:, :0], 2),                    # empty channels
    lambda F, x: F.avg_pool3d(x[:, :0], 2),
    lambda F, x: F.adaptive_avg_pool3d(x[:, :0], 2),
    lambda F, x: F.max_pool3d(x, 2, padding=2),                # too much padding
    lambda F, x: F.max_pool3d(x, 5),                           # output too small
    lambda F, x: F.avg_pool3d(x, 5),
    lambda F, x: F.max_pool3d(x, 2, stride=0),
    lambda F, x: F.avg_pool3d(x, 2, divisor_override=0),
    lambda F, x: F.max_pool3d(x, (2, 2)),                      # a pair for a triple
    lambda F, x: F.adaptive_avg_pool3d(x, (2, 2)),
    lambda F, x: F.adaptive_avg_pool3d(x.long(), 2),           # integer input
    lambda F, x: F.adaptive_max_pool3d(x.long(), 2),
    lambda F, x: F.conv3d(x[0, 0], x[:1, :1]),                 # conv3d: wrong rank
    lambda F, x: F.conv3d(x, x[:1, :1]),                       # channels
    lambda F, x: F.conv3d(x, x[:1, :2], stride=(1, 1)),
    lambda F, x: F.conv3d(x, x[:1, :2], stride=0),
    lambda F, x: F.conv3d(x, x[:1, :2], padding=-1),
    lambda F, x: F.conv3d(x[:, :, :1], x[:1, :2]),             # kernel larger than the input
    lambda F, x: F.conv3d(x, x[:1, :2], padding="same", stride=2),
    lambda F, x: F.conv3d(x, x[:2, :1], x[0, 0, 0, 0, :3], groups=2),  # bias size
    lambda F, x: F.conv3d(x, x[:1, :1], groups=2),             # out channels not divisible by groups
    lambda F, x: F.conv3d(x, x[:1, :2].double()),              # mixed dtypes
])
def test_error_classes_match_torch(call):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4, 4)).astype(np.float32)
    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch.tensor(x))
    with pytest.raises(Exception) as ours:
        call(F, fe.tensor(x))
    assert ours.type is theirs.type, (ours.value, theirs.value)


CONV_CASES = [((3, 2, 3, 3, 3), dict(padding=1)), ((3, 2, 3, 2, 3), dict(stride=(2, 1, 2), dilation=(1, 2, 1))),
              ((4, 1, 2, 3, 2), dict(groups=2, padding="same")), ((4, 2, 2, 2, 2), dict(padding="valid")),
              ((2, 1, 2, 2, 2), dict(groups=2, padding="same", dilation=(1, 2, 3)))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv3d_against_torch(rng, dtype, case):
    torch = pytest.importorskip("torch")
    shape, kw = CONV_CASES[case]
    x = rng.standard_normal((2, 2, 5, 6, 4)).astype(dtype)
    w, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape[0]).astype(dtype)
    atol = 1e-4 if dtype == np.float32 else 1e-11
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on 'same' with an even kernel
        _compare(torch, lambda *a: F.conv3d(*a, **kw), lambda *a: torch.nn.functional.conv3d(*a, **kw), [x, w, b], atol)
        _compare(torch, lambda *a: F.conv3d(*a, **kw), lambda *a: torch.nn.functional.conv3d(*a, **kw), [x[0], w],
                 atol)  # unbatched, no bias
        _compare(torch, lambda *a: F.conv3d(*a, **kw), lambda *a: torch.nn.functional.conv3d(*a, **kw), [x[:0], w, b],
                 atol)  # N = 0
    ints = rng.integers(-5, 5, (1, 2, 3, 3, 3))
    _compare(torch, F.conv3d, torch.nn.functional.conv3d, [ints, ints[:, :, :2, :2, :2]], 0)


@pytest.mark.parametrize("kw", [
    dict(in_channels=4, out_channels=6, kernel_size=(1, 2, 3), stride=(1, 2, 1), padding=1, dilation=2, groups=2,
         bias=False, padding_mode="circular"),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding="same", padding_mode="reflect"),
    dict(in_channels=4, out_channels=2, kernel_size=2, padding_mode="replicate", padding=(1, 0, 1)),
])
def test_conv3d_module_loads_a_torch_state_dict(rng, kw):
    torch = pytest.importorskip("torch")
    m, t = nn.Conv3d(**kw), torch.nn.Conv3d(**kw)
    assert repr(m) == repr(t)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {k: tuple(v.shape) for k, v in t.state_dict().items()}
    m.load_state_dict({k: fe.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 6, 7)).astype(np.float32)
    np.testing.assert_allclose(m(fe.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    bound = 1 / np.sqrt(m.weight.shape[1] * np.prod(m.kernel_size))  # torch's kaiming_uniform(a=sqrt(5)) bound
    assert np.abs(m.weight.detach().numpy()).max() <= bound


def test_modules_reprs_and_state_dicts_match_torch(rng):
    torch = pytest.importorskip("torch")
    pairs = [("BatchNorm3d", (3,), {}), ("BatchNorm3d", (3,), dict(affine=False, momentum=None)),
             ("InstanceNorm3d", (3,), {}), ("InstanceNorm3d", (3,), dict(affine=True, track_running_stats=True)),
             ("Dropout3d", (0.3,), {}), ("ZeroPad3d", (1,), {}), ("ConstantPad3d", ((1, 2, 3, 4, 5, 6), 2.5), {}),
             ("ReflectionPad3d", (1,), {}), ("ReplicationPad3d", ((1, 0, 1, 1, 0, 1),), {}),
             ("CircularPad3d", (1,), {}), ("MaxPool3d", (3, 2, 1), dict(ceil_mode=True)),
             ("AvgPool3d", ((1, 2, 3),), {}), ("AdaptiveAvgPool3d", ((1, None, 2),), {}),
             ("AdaptiveMaxPool3d", (2,), dict(return_indices=True)),
             ("LazyBatchNorm1d", (), {}), ("LazyBatchNorm2d", (), dict(affine=False)),
             ("LazyBatchNorm3d", (), dict(bias=False)), ("LazyInstanceNorm1d", (), {}),
             ("LazyInstanceNorm2d", (), dict(track_running_stats=False)), ("LazyInstanceNorm3d", (), {})]
    for name, args, kw in pairs:
        m, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        assert repr(m) == repr(t), name
        if not name.startswith("Lazy"):
            assert list(m.state_dict()) == list(t.state_dict()), name


@pytest.mark.parametrize("name,shape", [("BatchNorm3d", (2, 3, 3, 2, 2)), ("InstanceNorm3d", (2, 3, 3, 2, 2)),
                                        ("InstanceNorm3d", (3, 3, 2, 2))])
def test_norm3d_against_torch(rng, name, shape):
    torch = pytest.importorskip("torch")
    for dtype, atol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        m = getattr(nn, name)(3, affine=True, track_running_stats=True, dtype=dtype)
        t = getattr(torch.nn, name)(3, affine=True, track_running_stats=True,
                                    dtype=getattr(torch, np.dtype(dtype).name))
        x = rng.standard_normal(shape).astype(dtype)
        _compare(torch, m, t, [x], atol)
        np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), atol=atol)
        m.eval(), t.eval()
        _compare(torch, m, t, [x], atol)
    with pytest.raises(ValueError):
        nn.BatchNorm3d(3)(fe.zeros((2, 3, 4)))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm3d(3)(torch.zeros((2, 3, 4)))


@pytest.mark.parametrize("name,shape", [("LazyBatchNorm3d", (2, 3, 2, 2, 2)), ("LazyInstanceNorm2d", (2, 3, 4, 4)),
                                        ("LazyBatchNorm1d", (4, 3))])
def test_lazy_norms_against_torch(rng, name, shape):
    torch = pytest.importorskip("torch")
    m, t = getattr(nn, name)(), getattr(torch.nn, name)()
    x = rng.standard_normal(shape).astype(np.float32)
    _compare(torch, m, t, [x], 1e-5)
    assert type(m).__name__ == type(t).__name__ and repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: fe.tensor(v.numpy()) for k, v in t.state_dict().items()})


def test_padding3d_and_dropout3d_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 2, 3, 4, 5))
    for name in ("ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d"):
        pad = (1, 2, 0, 1, 2, 1)
        _compare(torch, getattr(nn, name)(pad), getattr(torch.nn, name)(pad), [x], 1e-12)
        _compare(torch, getattr(nn, name)(pad), getattr(torch.nn, name)(pad), [x[0]], 1e-12)  # unbatched
    _compare(torch, nn.ConstantPad3d(1, -1.5), torch.nn.ConstantPad3d(1, -1.5), [x.astype(np.float32)], 0)
    with pytest.raises(ValueError):
        nn.CircularPad3d(1)(fe.zeros((2, 3, 3)))
    with pytest.raises(ValueError):
        torch.nn.CircularPad3d(1)(torch.zeros((2, 3, 3)))
    for p in (-0.1, 1.5):  # both ValueError
        with pytest.raises(ValueError):
            F.dropout3d(fe.zeros((1, 1, 1, 1)), p)
        with pytest.raises(ValueError):
            torch.nn.functional.dropout3d(torch.zeros((1, 1, 1, 1)), p)
    for shape in ((2, 3), (2, 3, 4)):  # both warn for another rank
        with pytest.warns(UserWarning, match="dropout3d"):
            F.dropout3d(fe.ones(shape), 0.5)
        with pytest.warns(UserWarning, match="dropout3d"):
            torch.nn.functional.dropout3d(torch.ones(shape), 0.5)
    assert repr(nn.Dropout3d(0.2, inplace=True)) == repr(torch.nn.Dropout3d(0.2, inplace=True))
