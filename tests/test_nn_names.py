"""The torch.nn / torch.nn.functional names built from other differentiable ops (nn/composite.py and the
layers over it): activations, RMSNorm / InstanceNorm / LocalResponseNorm, the padding layers,
PixelShuffle / ChannelShuffle, Fold / Unfold, Bilinear, 1-d adaptive pooling, Dropout1d /
FeatureAlphaDropout, pdist, gumbel_softmax and the deprecated interpolate aliases. Hard-coded values
first (no torch needed), then each against torch 2.x: outputs, reprs, state_dict keys and shapes, and
float64 gradients of the input and the weights, with torch's weights copied in."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


def t(values, dtype=np.float32, grad=False):
    return fe.tensor(np.asarray(values, dtype=dtype), requires_grad=grad)


# ---- hard-coded values -----------------------------------------------------------------------------------

def test_shrinks_threshold_and_logsigmoid_values():
    x = t([-2.0, -0.5, -0.25, 0.0, 0.5, 1.0, np.nan])
    np.testing.assert_array_equal(F.hardshrink(x).detach().numpy(), [-2.0, 0.0, 0.0, 0.0, 0.0, 1.0, np.nan])
    np.testing.assert_allclose(F.softshrink(x).detach().numpy(), [-1.5, 0.0, 0.0, 0.0, 0.0, 0.5, np.nan])
    np.testing.assert_array_equal(F.threshold(x, 0.5, 9.0).detach().numpy(), [9, 9, 9, 9, 9, 1, np.nan])
    y = F.logsigmoid(t([-800.0, 0.0, 800.0], np.float64))
    np.testing.assert_allclose(y.detach().numpy(), [-800.0, -np.log(2.0), 0.0])
    np.testing.assert_allclose(F.tanhshrink(t([1.0])).detach().numpy(), [1 - np.tanh(1.0)], rtol=1e-6)


def test_glu_celu_softmin_values_and_errors():
    x = t([[1.0, 2.0, 0.0, 3.0]])
    np.testing.assert_allclose(F.glu(x).detach().numpy(), [[1 / (1 + np.exp(-0.0)), 2 / (1 + np.exp(-3.0))]], rtol=1e-6)
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(t([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(F.celu(t([-1.0, 2.0]), alpha=2.0).detach().numpy(), [2 * np.expm1(-0.5), 2.0], rtol=1e-6)
    np.testing.assert_allclose(F.softmin(t([0.0, np.log(3.0)]), dim=0).detach().numpy(), [0.75, 0.25], rtol=1e-6)
    with pytest.raises(ValueError):
        nn.Softmax2d()(t([1.0, 2.0]))


def test_rrelu_training_draws_slopes_in_range_and_eval_uses_their_mean():
    fe.manual_seed(0)
    x = t(-np.ones(1000), grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() < 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), slopes)  # the gradient is each element's slope
    np.testing.assert_allclose(nn.RReLU(0.1, 0.3).eval()(t([-1.0, 2.0])).detach().numpy(), [-0.2, 2.0], rtol=1e-6)
    np.testing.assert_array_equal(F.rrelu(t([3.0]), training=True).detach().numpy(), [3.0])


def test_rms_norm_and_instance_norm_values():
    x = t([[3.0, 4.0]], np.float64)
    np.testing.assert_allclose(F.rms_norm(x, [2], eps=0.0).detach().numpy(), [[3 / np.sqrt(12.5), 4 / np.sqrt(12.5)]])
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.rms_norm(x, [3])
    m = nn.RMSNorm(2)
    assert m.eps is None and list(m.state_dict()) == ["weight"]
    y = nn.InstanceNorm1d(1)(t([[[1.0, 3.0]]], np.float64))
    np.testing.assert_allclose(y.detach().numpy(), [[[-1.0, 1.0]]], rtol=1e-5)


def test_padding_layers_store_torchs_tuples_and_pad():
    assert nn.ZeroPad2d(1).padding == (1, 1, 1, 1) and repr(nn.ZeroPad2d((1, 1, 2, 0))) == "ZeroPad2d((1, 1, 2, 0))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    x = t([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(nn.ReflectionPad1d(1)(x).detach().numpy(), [[[2, 1, 2, 3, 2]]])
    np.testing.assert_array_equal(nn.ReplicationPad1d((0, 2))(x).detach().numpy(), [[[1, 2, 3, 3, 3]]])
    np.testing.assert_array_equal(nn.CircularPad1d(1)(x).detach().numpy(), [[[3, 1, 2, 3, 1]]])
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.CircularPad1d(1)(t([1.0]))


def test_pixel_shuffle_fold_unfold_shapes_and_values():
    x = fe.arange(16, dtype=fe.float32).reshape(1, 4, 2, 2)
    y = F.pixel_shuffle(x, 2)
    assert tuple(y.shape) == (1, 1, 4, 4)
    np.testing.assert_array_equal(y.detach().numpy()[0, 0, 0], [0, 4, 1, 5])
    np.testing.assert_array_equal(F.pixel_unshuffle(y, 2).detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(F.channel_shuffle(x, 2).detach().numpy()[0, :, 0, 0], [0, 8, 4, 12])
    img = fe.ones(1, 1, 3, 3)
    cols = F.unfold(img, 2)
    assert tuple(cols.shape) == (1, 4, 4)
    np.testing.assert_array_equal(F.fold(cols, 3, 2).detach().numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(cols, 4, 2)


def test_bilinear_pdist_adaptive_1d_values():
    m = nn.Bilinear(2, 3, 1)
    m.weight._data[...] = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    m.bias._data[...] = 1.0
    np.testing.assert_allclose(m(t([[1.0, 2.0]]), t([[1.0, 0.0, 1.0]])).detach().numpy(), [[1 + (0 + 2) + 2 * (3 + 5)]])
    np.testing.assert_allclose(F.pdist(t([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).detach().numpy(), [5.0, 1.0, np.sqrt(18)],
                               rtol=1e-6)
    x = t([[[1.0, 5.0, 2.0, 4.0]]])
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, 2).detach().numpy(), [[[3.0, 3.0]]])
    values, idx = F.adaptive_max_pool1d(x, 2, return_indices=True)
    np.testing.assert_array_equal(values.detach().numpy(), [[[5.0, 4.0]]])
    np.testing.assert_array_equal(idx.detach().numpy(), [[[1, 3]]])


def test_dropout1d_and_feature_alpha_dropout_drop_whole_channels():
    fe.manual_seed(1)
    y = nn.Dropout1d(0.5)(fe.ones(8, 16, 5)).detach().numpy()
    per_channel = y.reshape(-1, 5)
    assert ((per_channel == 0).all(1) | (per_channel == 2).all(1)).all()
    assert nn.Dropout1d(0.5).eval()(fe.ones(2, 3)).detach().numpy().sum() == 6
    z = nn.FeatureAlphaDropout(0.5)(fe.zeros(8, 16, 5)).detach().numpy().reshape(-1, 5)
    assert (z == z[:, :1]).all() and len(np.unique(z)) == 2


def test_gumbel_softmax_is_a_distribution_and_hard_is_one_hot():
    fe.manual_seed(2)
    logits = t(np.zeros((4, 5)), grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().numpy().sum(-1), 1.0, rtol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True)
    assert set(np.unique(hard.detach().numpy())) == {0.0, 1.0} and (hard.detach().numpy().sum(-1) == 1).all()
    hard.sum().backward()
    assert logits.grad is not None


def test_deprecated_interpolate_aliases_warn():
    x = fe.ones(1, 1, 2, 2)
    with pytest.warns(UserWarning, match="deprecated"):
        assert tuple(F.upsample(x, scale_factor=2).shape) == (1, 1, 4, 4)
    with pytest.warns(UserWarning, match="deprecated"):
        assert tuple(F.upsample_bilinear(x, size=3).shape) == (1, 1, 3, 3)
    with pytest.warns(UserWarning, match="deprecated"):
        F.upsample_nearest(x, size=3)


# ---- against torch ---------------------------------------------------------------------------------------

# (id, constructor as a lambda of the nn module, input shapes); torch.nn names them the same
MODULES = [
    ("LogSigmoid", lambda m: m.LogSigmoid(), [(3, 5)]),
    ("Softmin", lambda m: m.Softmin(dim=1), [(3, 5)]),
    ("Softmax2d", lambda m: m.Softmax2d(), [(2, 3, 4, 4)]),
    ("Hardshrink", lambda m: m.Hardshrink(), [(3, 5)]),
    ("Softshrink", lambda m: m.Softshrink(0.3), [(3, 5)]),
    ("Tanhshrink", lambda m: m.Tanhshrink(), [(3, 5)]),
    ("Threshold", lambda m: m.Threshold(0.1, 20.0), [(3, 5)]),
    ("CELU", lambda m: m.CELU(2.0), [(3, 5)]),
    ("GLU", lambda m: m.GLU(dim=1), [(3, 6)]),
    ("RReLU_eval", lambda m: m.RReLU(0.1, 0.3).eval(), [(3, 5)]),
    ("RMSNorm", lambda m: m.RMSNorm(5), [(3, 5)]),
    ("RMSNorm2", lambda m: m.RMSNorm([4, 5], eps=1e-3), [(2, 4, 5)]),
    ("RMSNorm_noaffine", lambda m: m.RMSNorm(5, elementwise_affine=False), [(3, 5)]),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3), [(2, 3, 7)]),
    ("InstanceNorm1d_unbatched", lambda m: m.InstanceNorm1d(3, affine=True), [(3, 7)]),
    ("InstanceNorm2d_affine", lambda m: m.InstanceNorm2d(3, affine=True), [(2, 3, 4, 5)]),
    ("InstanceNorm2d_running", lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True),
     [(2, 3, 4, 5)]),
    ("InstanceNorm2d_running_eval", lambda m: m.InstanceNorm2d(3, track_running_stats=True).eval(),
     [(2, 3, 4, 5)]),
    ("LocalResponseNorm3d", lambda m: m.LocalResponseNorm(3), [(2, 5, 7)]),
    ("LocalResponseNorm4d", lambda m: m.LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0), [(2, 5, 3, 4)]),
    ("ZeroPad1d", lambda m: m.ZeroPad1d(2), [(2, 3, 4)]),
    ("ZeroPad2d", lambda m: m.ZeroPad2d((1, 1, 2, 0)), [(2, 3, 4, 4)]),
    ("ConstantPad1d", lambda m: m.ConstantPad1d((2, 1), 3.5), [(2, 3, 4)]),
    ("ConstantPad2d", lambda m: m.ConstantPad2d(1, -1.0), [(2, 3, 4, 4)]),
    ("ReflectionPad1d", lambda m: m.ReflectionPad1d((2, 1)), [(2, 3, 4)]),
    ("ReflectionPad2d", lambda m: m.ReflectionPad2d(2), [(2, 3, 4, 4)]),
    ("ReplicationPad1d", lambda m: m.ReplicationPad1d(3), [(2, 3, 4)]),
    ("ReplicationPad2d", lambda m: m.ReplicationPad2d((1, 0, 2, 3)), [(2, 3, 4, 4)]),
    ("CircularPad1d", lambda m: m.CircularPad1d(2), [(2, 3, 4)]),
    ("CircularPad2d", lambda m: m.CircularPad2d((1, 1, 2, 0)), [(2, 3, 4, 4)]),
    ("PixelShuffle", lambda m: m.PixelShuffle(2), [(2, 8, 3, 4)]),
    ("PixelUnshuffle", lambda m: m.PixelUnshuffle(2), [(2, 2, 4, 6)]),
    ("ChannelShuffle", lambda m: m.ChannelShuffle(3), [(2, 6, 2, 3)]),
    ("Unfold", lambda m: m.Unfold(2), [(2, 3, 4, 5)]),
    ("Unfold_args", lambda m: m.Unfold((2, 3), dilation=(2, 1), padding=1, stride=(1, 2)), [(2, 3, 6, 7)]),
    ("Unfold_unbatched", lambda m: m.Unfold(3, stride=2), [(2, 5, 5)]),
    ("Fold", lambda m: m.Fold((4, 5), 2), [(2, 12, 12)]),
    ("Fold_args", lambda m: m.Fold((6, 7), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)), [(2, 18, 24)]),
    ("Fold_stride", lambda m: m.Fold((5, 5), 3, stride=2), [(18, 4)]),
    ("Bilinear", lambda m: m.Bilinear(3, 4, 5), [(6, 3), (6, 4)]),
    ("Bilinear_nobias_batched", lambda m: m.Bilinear(3, 4, 2, bias=False), [(2, 6, 3), (2, 6, 4)]),
    ("AdaptiveAvgPool1d", lambda m: m.AdaptiveAvgPool1d(3), [(2, 3, 7)]),
    ("AdaptiveAvgPool1d_unbatched", lambda m: m.AdaptiveAvgPool1d(4), [(3, 8)]),
    ("AdaptiveMaxPool1d", lambda m: m.AdaptiveMaxPool1d(3), [(2, 3, 7)]),
    ("Dropout1d_eval", lambda m: m.Dropout1d(0.3).eval(), [(2, 3, 7)]),
    ("FeatureAlphaDropout_eval", lambda m: m.FeatureAlphaDropout(0.3).eval(), [(2, 3, 7)]),
]

# (id, call as a lambda of the functional module and the inputs, input shapes)
FUNCTIONS = [
    ("logsigmoid", lambda f, x: f.logsigmoid(x), [(3, 5)]),
    ("softmin_dtype", lambda f, x: f.softmin(x, 0, dtype=None), [(3, 5)]),
    ("threshold", lambda f, x: f.threshold(x, -0.2, 0.5), [(3, 5)]),
    ("celu", lambda f, x: f.celu(x), [(3, 5)]),
    ("glu", lambda f, x: f.glu(x), [(3, 4)]),
    ("rms_norm", lambda f, x, w: f.rms_norm(x, (5,), w, 1e-5), [(3, 5), (5,)]),
    ("instance_norm", lambda f, x, w, b: f.instance_norm(x, weight=w, bias=b), [(2, 3, 6), (3,), (3,)]),
    ("local_response_norm", lambda f, x: f.local_response_norm(x, 4), [(2, 6, 3, 3)]),
    ("pixel_shuffle_5d", lambda f, x: f.pixel_shuffle(x, 3), [(2, 2, 9, 2, 2)]),
    ("unfold", lambda f, x: f.unfold(x, 3, padding=1), [(1, 2, 4, 4)]),
    ("fold", lambda f, x: f.fold(x, (4, 4), 3, padding=1), [(1, 18, 16)]),
    ("bilinear", lambda f, a, b, w, c: f.bilinear(a, b, w, c), [(4, 2), (4, 3), (5, 2, 3), (5,)]),
    ("adaptive_avg_pool1d", lambda f, x: f.adaptive_avg_pool1d(x, 5), [(2, 3, 8)]),
    ("adaptive_max_pool1d", lambda f, x: f.adaptive_max_pool1d(x, 4), [(2, 3, 9)]),
    ("adaptive_max_pool1d_indices", lambda f, x: f.adaptive_max_pool1d(x, 4, return_indices=True)[1], [(2, 3, 9)]),
    ("adaptive_max_pool2d_with_indices", lambda f, x: f.adaptive_max_pool2d_with_indices(x, 3)[1], [(2, 3, 6, 7)]),
    ("max_pool2d_with_indices", lambda f, x: f.max_pool2d_with_indices(x, 2)[0], [(2, 3, 6, 7)]),
    ("max_pool1d_with_indices", lambda f, x: f.max_pool1d_with_indices(x, 2)[1], [(2, 3, 7)]),
    ("pdist", lambda f, x: f.pdist(x), [(5, 3)]),
    ("pdist_p1", lambda f, x: f.pdist(x, p=1), [(5, 3)]),
    ("upsample_bilinear", lambda f, x: f.upsample_bilinear(x, scale_factor=2), [(1, 2, 3, 3)]),
]


def _inputs(torch, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [fe.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _compare(ours, theirs, dtype):
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, **tol)
    return float(np.max(np.abs(ours.astype(np.float64) - theirs), initial=0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,make,shapes", MODULES, ids=[c[0] for c in MODULES])
def test_module_matches_torch(name, make, shapes, dtype):
    torch = pytest.importorskip("torch")
    theirs = make(torch.nn)
    ours = make(nn)
    if dtype == np.float64:
        theirs, ours = theirs.double(), ours.double()
    assert repr(ours) == repr(theirs)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():  # torch's weights in ours
        assert tuple(ours_state[key].shape) == tuple(value.shape), key
        target = getattr(ours, key)
        target._data[...] = value.detach().numpy()
    fe_in, torch_in = _inputs(torch, shapes, dtype, len(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y_ours, y_theirs = ours(*fe_in), theirs(*torch_in)
    _compare(y_ours.detach().numpy(), y_theirs, dtype)
    for key, value in theirs.state_dict().items():  # running statistics moved the same way
        np.testing.assert_allclose(getattr(ours, key).detach().numpy(), value.detach().numpy(), rtol=1e-5, atol=1e-6)
    if dtype != np.float64 or not y_theirs.requires_grad:
        return
    seed = np.random.default_rng(0).standard_normal(tuple(y_theirs.shape))
    (y_ours * fe.tensor(seed)).sum().backward()
    (y_theirs * torch.tensor(seed)).sum().backward()
    for a, b in zip(fe_in, torch_in):
        _compare(a.grad.detach().numpy(), b.grad, dtype)
    for key, p in theirs.named_parameters():
        _compare(getattr(ours, key).grad.detach().numpy(), p.grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,call,shapes", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_function_matches_torch(name, call, shapes, dtype):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    fe_in, torch_in = _inputs(torch, shapes, dtype, len(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y_ours, y_theirs = call(F, *fe_in), call(TF, *torch_in)
    _compare(y_ours.detach().numpy(), y_theirs, dtype)
    if dtype != np.float64 or not y_theirs.requires_grad:
        return
    seed = np.random.default_rng(0).standard_normal(tuple(y_theirs.shape))
    (y_ours * fe.tensor(seed)).sum().backward()
    (y_theirs * torch.tensor(seed)).sum().backward()
    for a, b in zip(fe_in, torch_in):
        _compare(a.grad.detach().numpy(), b.grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_edge_points_match_torch(dtype):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    x = np.array([-1e4, -800.0, -40.0, -20.0, -1.0, -0.5, -0.3, 0.0, 0.3, 0.5, 1.0, 20.0, 40.0, 800.0, 1e4, np.nan,
                  np.inf, -np.inf], dtype)
    for call in (lambda f, v: f.logsigmoid(v), lambda f, v: f.hardshrink(v), lambda f, v: f.softshrink(v),
                 lambda f, v: f.tanhshrink(v), lambda f, v: f.threshold(v, 0.5, -2.0), lambda f, v: f.celu(v, 0.5),
                 lambda f, v: f.rrelu(v)):
        a, b = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = call(F, a), call(TF, b)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-6, atol=1e-7)
        finite = np.isfinite(x)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad.detach().numpy()[finite], b.grad.detach().numpy()[finite], rtol=1e-6, atol=1e-7)


def test_inplace_forms_match_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    x = np.linspace(-2, 2, 9).astype(np.float32)
    for call in (lambda f, v: f.threshold_(v, 0.5, 7.0), lambda f, v: f.celu_(v, 1.5),
                 lambda f, v: f.rrelu_(v), lambda f, v: f.threshold(v, 0.0, 1.0, inplace=True)):
        a, b = fe.tensor(x.copy()), torch.tensor(x.copy())
        ra, rb = call(F, a), call(TF, b)
        assert ra is a
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_instance_norm_running_stats_update_as_torch_over_steps():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.InstanceNorm1d(4, momentum=None, track_running_stats=True), \
        torch.nn.InstanceNorm1d(4, momentum=None, track_running_stats=True)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.standard_normal((3, 4, 6)).astype(np.float32)
        ours(fe.tensor(x)), theirs(torch.tensor(x))
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(getattr(ours, key).detach().numpy()), value.detach().numpy(), rtol=1e-6)


def test_errors_have_torchs_classes():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    cases = [
        lambda f, m: f.glu(m([1.0, 2.0, 3.0])),
        lambda f, m: f.pixel_shuffle(m(np.zeros((1, 3, 2, 2))), 2),
        lambda f, m: f.pixel_unshuffle(m(np.zeros((1, 1, 3, 2))), 2),
        lambda f, m: f.channel_shuffle(m(np.zeros((1, 3, 2, 2))), 2),
        lambda f, m: f.unfold(m(np.zeros((1, 1, 1, 3, 3))), 2),
        lambda f, m: f.fold(m(np.zeros((1, 1, 1, 3))), 3, 2),
        lambda f, m: f.fold(m(np.zeros((1, 5, 4))), 3, 2),
        lambda f, m: f.pdist(m(np.zeros((2, 2, 2)))),
        lambda f, m: f.rms_norm(m(np.zeros((2, 3))), (2,)),
        lambda f, m: f.local_response_norm(m(np.zeros((2, 3))), 2),
        lambda f, m: f.adaptive_avg_pool1d(m(np.zeros((2, 3, 4, 5))), 2),
        lambda f, m: f.softshrink(m([1.0]), -1.0),
        lambda f, m: f.dropout1d(m(np.zeros((2, 3, 4, 5)))),
        lambda f, m: f.instance_norm(m(np.zeros((2, 3, 1)))),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(TF, lambda v: torch.tensor(np.asarray(v, np.float32)))
        with pytest.raises(Exception) as ours:
            case(F, lambda v: fe.tensor(np.asarray(v, np.float32)))
        assert ours.type is theirs.type, (ours.value, theirs.value)


def test_lazy_linear_takes_in_features_from_the_first_input_and_becomes_a_linear():
    m = nn.LazyLinear(4)
    assert repr(m) == "LazyLinear(in_features=0, out_features=4, bias=True)" and list(m.parameters()) == []
    assert m.has_uninitialized_params()
    y = m(fe.randn(2, 3))
    assert type(m) is nn.Linear and tuple(y.shape) == (2, 4) and m.in_features == 3
    assert repr(m) == "Linear(in_features=3, out_features=4, bias=True)"
    assert [tuple(p.shape) for p in m.parameters()] == [(4, 3), (4,)]
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(3)
    seq = nn.Sequential(nn.LazyLinear(5, bias=False), nn.ReLU())  # the fused Linear+ReLU path
    assert tuple(seq(fe.randn(2, 7)).shape) == (2, 5) and seq[0].weight.shape == (5, 7) and seq[0].bias is None


def test_lazy_linear_matches_torch_after_the_first_forward():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    ours(fe.tensor(x)), theirs(torch.tensor(x))
    assert repr(ours) == repr(theirs) and type(theirs).__name__ == type(ours).__name__ == "Linear"
    ours.load_state_dict(theirs.state_dict())
    np.testing.assert_allclose(ours(fe.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-7)
