"""The last torch.nn names: the lazy convolutions, MaxUnpool3d / max_unpool3d, LPPool3d / lp_pool3d, the
*_with_indices 3-D aliases, RNNBase / RNNCellBase, and nn.utils' clip_grad, convert_parameters and
convert_conv2d/3d_weight_memory_format. Value checks first, then comparisons with torch."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import nn

LAZY = [("LazyConv1d", "Conv1d", (2, 6, 7)), ("LazyConv2d", "Conv2d", (6, 5, 5)),
        ("LazyConv3d", "Conv3d", (1, 6, 4, 4, 4)), ("LazyConvTranspose1d", "ConvTranspose1d", (6, 5)),
        ("LazyConvTranspose2d", "ConvTranspose2d", (2, 6, 4, 4)),
        ("LazyConvTranspose3d", "ConvTranspose3d", (6, 3, 3, 3))]


@pytest.mark.parametrize("lazy, real, shape", LAZY)
def test_lazy_conv_becomes_its_layer(lazy, real, shape):
    m = getattr(nn, lazy)(4, 3, groups=2)
    assert m.in_channels == 0 and m.weight is None and list(m.state_dict()) == []
    assert repr(m).startswith(f"{lazy}(0, 4, kernel_size=")
    assert "bias=False" not in repr(m)
    y = m(fe.randn(*shape))
    assert type(m) is getattr(nn, real) and m.in_channels == 6 and list(m.state_dict()) == ["weight", "bias"]
    spatial = len(shape) - (2 if len(shape) == len(m.kernel_size) + 2 else 1)
    want = (4, 3) if not m.transposed else (6, 2)
    assert m.weight.shape == want + (3,) * spatial and y.dtype == fe.float32
    fan_in = m.weight.shape[1] * 3 ** spatial
    assert float(m.weight.abs().max()) <= 1 / np.sqrt(fan_in) and float(m.bias.abs().max()) <= 1 / np.sqrt(fan_in)
    m(fe.randn(*shape))  # a Conv now: no second initialisation


def test_lazy_conv_options_and_errors():
    m = nn.LazyConv2d(3, 2, bias=False, dtype=fe.float64)
    assert repr(m) == "LazyConv2d(0, 3, kernel_size=(2, 2), stride=(1, 1), bias=False)"
    m(fe.randn(0, 2, 4, 4, dtype=fe.float64))  # an empty batch still sets in_channels
    assert m.weight.dtype == fe.float64 and m.bias is None and list(m.state_dict()) == ["weight"]
    with pytest.raises(RuntimeError, match="Expected 4D \\(unbatched\\) or 5D"):
        nn.LazyConv3d(4, 3)(fe.randn(2, 3, 4))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(fe.randn(1, 3, 4, 4))
    t = nn.LazyConvTranspose2d(4, 3, stride=2)
    assert t(fe.randn(1, 2, 3, 3), output_size=(8, 8)).shape == (1, 4, 8, 8)
    s = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.MaxPool2d(2))  # the fusion path initialises too
    assert s(fe.randn(1, 2, 6, 6)).shape == (1, 4, 2, 2) and type(s[0]) is nn.Conv2d


def test_max_unpool3d_values_and_errors():
    x = fe.tensor(np.arange(64, dtype=np.float32).reshape(1, 1, 4, 4, 4), requires_grad=True)
    y, i = F.max_pool3d_with_indices(x, 2)
    u = nn.MaxUnpool3d(2)(y, i)
    assert u.shape == (1, 1, 4, 4, 4) and float(u.sum()) == float(y.sum())
    assert np.array_equal(np.flatnonzero(u.detach().numpy()), np.sort(i.numpy().ravel()))
    u.sum().backward()
    assert np.array_equal(x.grad.numpy(), (u.detach().numpy() != 0).astype(np.float32))
    assert nn.MaxUnpool3d(2)(y[0], i[0]).shape == (1, 4, 4, 4)  # unbatched
    assert F.max_unpool3d(y[:0], i[:0], 2).shape == (0, 1, 4, 4, 4)  # empty batch
    assert F.max_unpool3d(y, i, 2, output_size=(5, 5, 5)).shape == (1, 1, 5, 5, 5)
    assert repr(nn.MaxUnpool3d((1, 2, 3), 1)) == \
        "MaxUnpool3d(kernel_size=(1, 2, 3), stride=(1, 1, 1), padding=(0, 0, 0))"
    for args, err in [((y, i.int(), 2), RuntimeError), ((y, i + 100, 2), RuntimeError),
                      ((y[:, :0], i[:, :0], 2), RuntimeError), ((y[0, 0], i[0, 0], 2), RuntimeError),
                      ((y.long(), i, 2), NotImplementedError), ((y, i, 2, None, 0, (9, 9, 9)), ValueError)]:
        with pytest.raises(err):
            F.max_unpool3d(*args)


def test_lp_pool3d_values():
    x = fe.ones(1, 2, 2, 2, 2, dtype=fe.float64)
    assert np.allclose(F.lp_pool3d(x, 2, 2).numpy(), np.sqrt(8))
    assert np.allclose(F.lp_pool3d(-x, float("inf"), 2).numpy(), 1)
    m = nn.LPPool3d(1, (1, 2, 2))
    assert repr(m) == "LPPool3d(norm_type=1, kernel_size=(1, 2, 2), stride=None, ceil_mode=False)"
    assert m(x).shape == (1, 2, 2, 1, 1) and np.allclose(m(x).numpy(), 4)
    assert F.lp_pool3d(fe.ones(2, 3, 3, 3), 2, 3).shape == (2, 1, 1, 1)  # unbatched


def test_rnn_bases():
    for m in (nn.LSTM(3, 4), nn.GRU(3, 4), nn.RNN(3, 4, nonlinearity="relu")):
        assert isinstance(m, nn.RNNBase)
    assert (nn.LSTM(3, 4).mode, nn.GRU(3, 4).mode, nn.RNN(3, 4).mode) == ("LSTM", "GRU", "RNN_TANH")
    base = nn.RNNBase("LSTM", 3, 4, 2, bidirectional=True, dtype=fe.float64)
    assert repr(base) == "RNNBase(3, 4, num_layers=2, bidirectional=True)"
    assert base.weight_ih_l0.shape == (16, 3) and base.weight_ih_l1_reverse.shape == (16, 8)
    assert base.weight_ih_l0.dtype == fe.float64
    with pytest.raises(ValueError, match="Unrecognized RNN mode"):
        nn.RNNBase("lstm", 3, 4)
    with pytest.raises(NotImplementedError):  # as torch's, the base has no forward
        base(fe.randn(5, 3, dtype=fe.float64))
    for c in (nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)):
        assert isinstance(c, nn.RNNCellBase)
    cell = nn.RNNCellBase(3, 4, True, 4)
    assert repr(cell) == "RNNCellBase(3, 4)" and cell.weight_hh.shape == (16, 4)
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert nn.LSTMCell(3, 4)(fe.randn(2, 3))[1].shape == (2, 4)


def test_utils_submodules_and_memory_format():
    from firstepoch.nn.utils import clip_grad, convert_parameters
    assert clip_grad.clip_grad_norm_ is nn.utils.clip_grad_norm_
    assert convert_parameters.vector_to_parameters is nn.utils.vector_to_parameters
    p = nn.Parameter(fe.ones(4))
    p.grad = fe.ones(4)
    with pytest.warns(FutureWarning):
        assert float(clip_grad.clip_grad_norm([p], 1.0)) == 2.0
    assert np.allclose(p.grad.numpy(), 0.5, atol=1e-6)
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Sequential(nn.ConvTranspose2d(3, 2, 3)), nn.Conv3d(1, 1, 1))
    conv2, conv3 = nn.utils.convert_conv2d_weight_memory_format, nn.utils.convert_conv3d_weight_memory_format
    assert conv2(m, fe.channels_last) is m and conv3(m, fe.channels_last_3d) is m
    assert all(q.is_contiguous() for q in m.parameters())  # the deliberate difference: C order stays
    assert conv2(nn.Linear(2, 2), "anything") is not None  # no conv: nothing checked, as torch
    for fn, fmt, err in [(conv2, fe.channels_last_3d, RuntimeError), (conv2, fe.preserve_format, RuntimeError),
                         (conv2, "channels_last", TypeError), (conv3, fe.channels_last, RuntimeError)]:
        with pytest.raises(err):
            fn(m, fmt)


# ---- comparisons with torch -------------------------------------------------------------------------------

@pytest.mark.parametrize("lazy, real, shape", LAZY)
def test_lazy_conv_matches_torch(lazy, real, shape):
    torch = pytest.importorskip("torch")
    m, t = getattr(nn, lazy)(4, 3, groups=2), getattr(torch.nn, lazy)(4, 3, groups=2)
    assert repr(m) == repr(t)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = m(fe.tensor(x))
    t(torch.tensor(x))
    assert repr(m) == repr(t) and type(t).__name__ == type(m).__name__ == real
    assert list(m.state_dict()) == list(t.state_dict())
    t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    np.testing.assert_allclose(y.detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool3d_additions_match_torch(dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 6, 7)).astype(dtype)
    x[0, 0, 0, 0, 0] = np.nan
    xf, xt = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, i = F.max_pool3d_with_indices(xf, 2, ceil_mode=True)
    yt, it = tf.max_pool3d_with_indices(xt, 2, ceil_mode=True)
    assert np.array_equal(i.numpy(), it.numpy())
    u = F.max_unpool3d(y, i, 2, output_size=(5, 6, 7))
    ut = tf.max_unpool3d(yt, it, 2, output_size=(5, 6, 7))
    assert u.dtype == fe.tensor(x).dtype
    np.testing.assert_array_equal(u.detach().numpy(), ut.detach().numpy())
    g = np.random.default_rng(2).standard_normal(u.shape).astype(dtype)
    u.backward(fe.tensor(g))
    ut.backward(torch.tensor(g))
    np.testing.assert_array_equal(xf.grad.numpy(), xt.grad.numpy())
    a, ai = F.adaptive_max_pool3d_with_indices(xf, (2, 3, 3))
    at, ati = tf.adaptive_max_pool3d_with_indices(xt, (2, 3, 3))
    assert np.array_equal(ai.numpy(), ati.numpy())
    np.testing.assert_array_equal(a.detach().numpy(), at.detach().numpy())
    pos = np.abs(np.nan_to_num(x[:, :, :4, :4, :4])) + 0.1
    for p in (2, 1.5, float("inf"), -float("inf")):
        pf, pt = fe.tensor(pos, requires_grad=True), torch.tensor(pos, requires_grad=True)
        lf = F.lp_pool3d(pf, p, (2, 3, 2), stride=1, ceil_mode=False)
        lt = tf.lp_pool3d(pt, p, (2, 3, 2), stride=1)
        np.testing.assert_allclose(lf.detach().numpy(), lt.detach().numpy(), rtol=1e-5, equal_nan=True)
        lf.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(pf.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-6, equal_nan=True)
    assert repr(nn.LPPool3d(2, 3)) == repr(torch.nn.LPPool3d(2, 3))
    assert repr(nn.MaxUnpool3d(2, 1, 1)) == repr(torch.nn.MaxUnpool3d(2, 1, 1))


def test_max_unpool3d_errors_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4, 4)).astype(np.float32)
    y, i = F.max_pool3d(fe.tensor(x), 2, return_indices=True)
    yt, it = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    cases = [lambda a, b: (a, b.int(), 2), lambda a, b: (a, b + 100, 2), lambda a, b: (a, b[:1], 2),
             lambda a, b: (a[:, :0], b[:, :0], 2), lambda a, b: (a[0, 0], b[0, 0], 2),
             lambda a, b: (a, b, 2, None, 0, (9, 9, 9))]
    for case in cases:
        with pytest.raises(Exception) as want:
            torch.nn.functional.max_unpool3d(*case(yt, it))
        with pytest.raises(want.type):
            F.max_unpool3d(*case(y, i))


def test_rnn_bases_match_torch():
    torch = pytest.importorskip("torch")
    for args in [("LSTM", 3, 4, 2), ("GRU", 3, 4), ("RNN_RELU", 3, 4, 1, False, True)]:
        m, t = nn.RNNBase(*args), torch.nn.RNNBase(*args)
        assert repr(m) == repr(t) and m.mode == t.mode and list(m.state_dict()) == list(t.state_dict())
        assert [v.shape for v in m.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    for args in [(3, 4, True, 4), (3, 4, False, 3)]:
        m, t = nn.RNNCellBase(*args), torch.nn.RNNCellBase(*args)
        assert repr(m) == repr(t) and list(m.state_dict()) == list(t.state_dict())
    with pytest.raises(ValueError):
        torch.nn.RNNBase("lstm", 3, 4)
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


def test_memory_format_errors_match_torch():
    torch = pytest.importorskip("torch")
    tu = torch.nn.utils
    m, t = nn.Sequential(nn.Conv2d(2, 3, 3)), torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3))
    for ours, theirs in [(fe.channels_last_3d, torch.channels_last_3d), (fe.preserve_format, torch.preserve_format),
                         ("x", "x")]:
        with pytest.raises(Exception) as want:
            tu.convert_conv2d_weight_memory_format(t, theirs)
        with pytest.raises(want.type):
            nn.utils.convert_conv2d_weight_memory_format(m, ours)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.utils.convert_conv3d_weight_memory_format(m, fe.channels_last) is m  # no 3-D conv in it
