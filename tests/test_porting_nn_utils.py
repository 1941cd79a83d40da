"""torch.nn.utils as torch 2.13 has it: parametrize (register/remove/is_parametrized/cached),
parametrizations.weight_norm and spectral_norm, the older hook-based weight_norm and spectral_norm,
the conv/linear + batch-norm fusions, get_total_norm / clip_grads_with_norm_, skip_init and
functional_call. Hard-coded checks run without torch; the torch comparisons import it inside the test."""
import copy
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.nn.utils import parametrizations, parametrize


class _Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class _Scale(nn.Module):  # has a right_inverse: assigning to the attribute stores value / 2
    def forward(self, X):
        return X * 2

    def right_inverse(self, Y):
        return Y / 2


class _FirstRow(nn.Module):  # changes the shape: refused unless unsafe=True
    def forward(self, X):
        return X[:1]


def _linear(n_in=3, n_out=3, dtype=np.float64):
    lin = nn.Linear(n_in, n_out).to(dtype)
    with fe.no_grad():
        lin.weight.copy_(fe.tensor(np.arange(n_in * n_out, dtype=dtype).reshape(n_out, n_in) / 10 - 0.3))
        lin.bias.copy_(fe.tensor(np.linspace(-0.2, 0.2, n_out).astype(dtype)))
    return lin


def test_register_parametrization_recomputes_and_differentiates():
    lin = _linear()
    original = lin.weight
    assert parametrize.register_parametrization(lin, "weight", _Symmetric()) is lin
    assert type(lin).__name__ == "ParametrizedLinear" and isinstance(lin, nn.Linear)
    assert parametrize.type_before_parametrizations(lin) is nn.Linear
    assert parametrize.is_parametrized(lin) and parametrize.is_parametrized(lin, "weight")
    assert not parametrize.is_parametrized(lin, "bias") and not parametrize.is_parametrized(nn.Linear(1, 1))
    assert lin.parametrizations.weight.original is original  # the Parameter itself, as torch
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert [n for n, _ in lin.named_parameters()] == ["bias", "parametrizations.weight.original"]
    W = lin.weight.detach().numpy()
    np.testing.assert_allclose(W, W.T)
    np.testing.assert_allclose(np.triu(W), np.triu(original.detach().numpy()))
    lin(fe.ones(2, 3, dtype=fe.float64)).sum().backward()
    g = np.full((3, 3), 2.0)  # d(sum)/dW = 2 per entry; entry (i, j) of the triangle feeds W[i, j] and W[j, i]
    np.testing.assert_allclose(original.grad.numpy(), np.triu(g + g.T) - np.diag(np.diag(g)))
    assert lin.weight is not lin.weight  # recomputed on every access
    with parametrize.cached():
        assert lin.weight is lin.weight
    with pytest.raises(KeyError):  # a Parameter cannot be assigned over the property, as torch
        lin.weight = nn.Parameter(fe.zeros(3, 3, dtype=fe.float64))
    with pytest.raises(RuntimeError, match="right_inverse"):  # _Symmetric has none
        lin.weight = fe.zeros(3, 3, dtype=fe.float64)
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(lin, "nothing", _Symmetric())
    with pytest.raises(ValueError, match="shape"):
        parametrize.register_parametrization(nn.Linear(2, 3), "weight", _FirstRow())
    parametrize.register_parametrization(nn.Linear(2, 3), "weight", _FirstRow(), unsafe=True)  # unchecked

    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and not hasattr(lin, "parametrizations")
    assert lin.weight is original and isinstance(lin.weight, nn.Parameter)
    np.testing.assert_allclose(lin.weight.detach().numpy(), W)  # leave_parametrized=True keeps the value
    with pytest.raises(ValueError):
        parametrize.remove_parametrizations(lin, "weight")


def test_right_inverse_chain_and_tuple_originals():
    lin = _linear()
    parametrize.register_parametrization(lin, "weight", _Scale())
    parametrize.register_parametrization(lin, "weight", _Scale())  # a second one appends
    assert len(lin.parametrizations.weight) == 2
    lin.weight = fe.full((3, 3), 8.0, dtype=fe.float64)  # setter: right_inverse of each, last first
    np.testing.assert_allclose(lin.parametrizations.weight.original.detach().numpy(), 2.0)
    np.testing.assert_allclose(lin.weight.detach().numpy(), 8.0)
    parametrize.remove_parametrizations(lin, "weight", leave_parametrized=False)
    np.testing.assert_allclose(lin.weight.detach().numpy(), 2.0)

    wn = parametrizations.weight_norm(_linear(4, 2))  # right_inverse returns (g, v): original0, original1
    plist = wn.parametrizations.weight
    assert plist.original0.shape == (2, 1) and plist.original1.shape == (2, 4)
    with pytest.raises(ValueError, match="sequence"):
        parametrize.remove_parametrizations(copy.deepcopy(wn), "weight", leave_parametrized=False)
    W = wn.weight.detach().numpy()
    parametrize.remove_parametrizations(wn, "weight")
    np.testing.assert_allclose(wn.weight.detach().numpy(), W)
    assert list(wn.state_dict()) == ["bias", "weight"]


def test_weight_norm_values_gradients_and_deepcopy():
    lin = parametrizations.weight_norm(_linear(3, 2), dim=0)
    v = np.arange(6.0).reshape(2, 3) / 10 - 0.3
    g = np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(lin.parametrizations.weight.original0.detach().numpy(), g)
    np.testing.assert_allclose(lin.weight.detach().numpy(), v)  # g * v / ||v|| is v at registration
    with fe.no_grad():
        lin.parametrizations.weight.original0.mul_(2.0)
    np.testing.assert_allclose(lin.weight.detach().numpy(), 2 * v)
    lin.weight.sum().backward()
    np.testing.assert_allclose(lin.parametrizations.weight.original0.grad.numpy(),
                               (v / np.linalg.norm(v, axis=1, keepdims=True)).sum(1, keepdims=True))
    whole = parametrizations.weight_norm(_linear(3, 2), dim=None)  # one norm for the whole tensor, 0-d g
    assert whole.parametrizations.weight.original0.shape == ()
    with pytest.raises(IndexError):
        parametrizations.weight_norm(_linear(3, 2), dim=5)
    twin = copy.deepcopy(lin)
    assert type(twin).__name__ == "ParametrizedLinear" and twin.parametrizations.weight.original0 is not \
        lin.parametrizations.weight.original0
    np.testing.assert_allclose(twin.weight.detach().numpy(), lin.weight.detach().numpy())


def test_spectral_norm_power_iteration_and_eval():
    fe.manual_seed(0)
    lin = parametrizations.spectral_norm(_linear(4, 3))
    W = np.arange(12.0).reshape(3, 4) / 10 - 0.3
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                                      "parametrizations.weight.0._v"]
    for _ in range(30):
        out = lin.weight  # one power iteration per access in training mode
    np.testing.assert_allclose(out.detach().numpy(), W / np.linalg.svd(W, compute_uv=False)[0], rtol=1e-6)
    lin.eval()
    u = lin.parametrizations.weight[0]._u.numpy().copy()
    lin.weight.sum().backward()  # eval: no iteration, u unchanged; the gradient reaches the original
    np.testing.assert_array_equal(lin.parametrizations.weight[0]._u.numpy(), u)
    assert lin.parametrizations.weight.original.grad.shape == (3, 4)
    with pytest.raises(ValueError):
        parametrizations.spectral_norm(_linear(), n_power_iterations=0)
    one_d = parametrizations.spectral_norm(nn.Linear(3, 2).double(), name="bias")  # 1-D: just normalised
    np.testing.assert_allclose(np.linalg.norm(one_d.bias.detach().numpy()), 1.0)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_old_weight_norm_and_spectral_norm_hooks():
    with pytest.warns(FutureWarning):
        lin = nn.utils.weight_norm(_linear(3, 2))
    assert list(lin.state_dict()) == ["bias", "weight_g", "weight_v"]
    x = fe.ones(1, 3, dtype=fe.float64)
    with fe.no_grad():
        lin.weight_g.mul_(3.0)
    lin(x).sum().backward()  # the pre-hook recomputed weight from the new g
    v = np.arange(6.0).reshape(2, 3) / 10 - 0.3
    np.testing.assert_allclose(lin.weight.detach().numpy(), 3 * v)
    assert lin.weight_g.grad.shape == (2, 1) and lin.weight_v.grad.shape == (2, 3)
    with pytest.raises(RuntimeError, match="two weight_norm"):
        nn.utils.weight_norm(lin)
    nn.utils.remove_weight_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"] and not lin._forward_pre_hooks
    with pytest.raises(ValueError):
        nn.utils.remove_weight_norm(lin)

    sn = nn.utils.spectral_norm(_linear(4, 3))
    assert list(sn.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    for _ in range(30):
        sn(fe.ones(1, 4, dtype=fe.float64))
    W = np.arange(12.0).reshape(3, 4) / 10 - 0.3
    np.testing.assert_allclose(sn.weight.detach().numpy(), W / np.linalg.svd(W, compute_uv=False)[0], rtol=1e-6)
    nn.utils.remove_spectral_norm(sn)
    assert list(sn.state_dict()) == ["bias", "weight"]
    conv_t = nn.utils.spectral_norm(nn.ConvTranspose2d(2, 5, 3))  # dim 1: u has the output channels
    assert conv_t.weight_u.shape == (5,)


def test_fusions_match_the_unfused_pair():
    rng = np.random.default_rng(0)
    conv, bn = nn.Conv2d(2, 3, 3).double().eval(), nn.BatchNorm2d(3).double().eval()
    with fe.no_grad():
        bn.running_mean.copy_(fe.tensor(rng.normal(size=3)))
        bn.running_var.copy_(fe.tensor(rng.uniform(0.5, 2, size=3)))
        bn.weight.copy_(fe.tensor(rng.normal(size=3)))
    x = fe.tensor(rng.normal(size=(2, 2, 5, 5)))
    fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), atol=1e-12)
    assert isinstance(fused.weight, nn.Parameter) and fused is not conv
    lin, bn1 = nn.Linear(4, 3, bias=False).double().eval(), nn.BatchNorm1d(3).double().eval()
    with fe.no_grad():
        bn1.running_var.copy_(fe.tensor([0.5, 1.0, 4.0]))
    x1 = fe.tensor(rng.normal(size=(5, 4)))
    fused1 = nn.utils.fuse_linear_bn_eval(lin, bn1)
    np.testing.assert_allclose(fused1(x1).detach().numpy(), bn1(lin(x1)).detach().numpy(), atol=1e-12)
    with pytest.raises(AssertionError):
        nn.utils.fuse_conv_bn_eval(conv.train(), bn)
    w, b = nn.utils.fuse_conv_bn_weights(fe.ones(3, 2, 1, 1), None, fe.zeros(3), fe.full((3,), 3.0), 1.0, None, None)
    np.testing.assert_allclose(w.detach().numpy(), 0.5)
    np.testing.assert_allclose(b.detach().numpy(), 0.0)
    assert w.dtype == fe.float32 and b.dtype == fe.float32


def test_total_norm_and_clip_with_norm():
    a, b = fe.tensor([3.0, 4.0]), fe.tensor([[12.0]])
    assert nn.utils.get_total_norm([a, b]).item() == 13.0
    assert nn.utils.get_total_norm(a, "inf").item() == 4.0 and nn.utils.get_total_norm(a, 1).item() == 7.0
    assert nn.utils.get_total_norm([]).item() == 0.0 and nn.utils.get_total_norm([]).dtype == fe.float32
    assert nn.utils.get_total_norm([a.double()]).dtype == fe.float64
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.get_total_norm([fe.tensor([np.nan])], error_if_nonfinite=True)
    assert np.isnan(nn.utils.get_total_norm([fe.tensor([np.nan, 1.0])]).item())
    p = nn.Parameter(fe.zeros(2))
    p.grad = fe.tensor([3.0, 4.0])
    nn.utils.clip_grads_with_norm_([p], 1.0, nn.utils.get_total_norm([p.grad]))
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    nn.utils.clip_grads_with_norm_(p, 10.0, 1.0)  # coef above 1: unchanged
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    nn.utils.clip_grads_with_norm_([nn.Parameter(fe.zeros(1))], 1.0, 5.0)  # no gradient: nothing to do


def test_skip_init_and_functional_call():
    lin = nn.utils.skip_init(nn.Linear, 3, 2, dtype=fe.float64)
    assert lin.weight.shape == (2, 3) and lin.weight.dtype == fe.float64
    with pytest.raises(RuntimeError, match="Module"):
        nn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="device"):
        nn.utils.skip_init(nn.ReLU)

    model = _linear(3, 2)
    w0 = model.weight
    x = fe.ones(1, 3, dtype=fe.float64)
    out = fe.func.functional_call(model, {"weight": fe.zeros(2, 3, dtype=fe.float64)}, (x,))
    np.testing.assert_allclose(out.detach().numpy(), [[-0.2, 0.2]])
    assert model.weight is w0 and model._parameters["weight"] is w0  # restored
    w = fe.ones(2, 3, dtype=fe.float64, requires_grad=True)
    fe.func.functional_call(model, ({"weight": w}, {"bias": fe.zeros(2, dtype=fe.float64)}), x).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 1.0)

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = _linear(3, 2)

        def forward(self, x):
            raise ValueError("boom")
    boom = Boom()
    with pytest.raises(ValueError, match="boom"):
        fe.func.functional_call(boom, {"lin.weight": fe.zeros(2, 3)}, (x,))
    assert boom.lin.weight is boom.lin._parameters["weight"] and boom.lin.weight.shape == (2, 3)
    assert boom.lin.weight.dtype == fe.float64
    with pytest.raises(RuntimeError, match="Missing key"):
        fe.func.functional_call(model, {"weight": w}, (x,), strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        fe.func.functional_call(model, ({"weight": w}, {"weight": w}), (x,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning):
            nn.utils.stateless.functional_call(model, {}, (x,))


def test_state_dicts_and_values_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)

    def same(fm, tm, atol=1e-6):
        assert list(fm.state_dict()) == list(tm.state_dict())
        fm.load_state_dict(tm.state_dict())
        # float32 power iterations: a few ulp apart, relative to outputs of size ~20 (random weights)
        np.testing.assert_allclose(fm(fe.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                                   rtol=2e-5, atol=atol)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for dim in (0, 1, None):
            tm = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(4, 3), dim=dim)
            fm = parametrizations.weight_norm(nn.Linear(4, 3), dim=dim)
            same(fm, tm)
            fm(fe.tensor(x)).square().sum().backward()
            tm(torch.tensor(x)).square().sum().backward()
            for (name, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
                np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), atol=1e-5, err_msg=name)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
        same(nn.utils.weight_norm(nn.Linear(4, 3)), old)
        new = parametrizations.weight_norm(nn.Linear(4, 3))  # the compat hook renames weight_g / weight_v
        result = new.load_state_dict(old.state_dict())
        assert not result.missing_keys and not result.unexpected_keys
        np.testing.assert_allclose(new(fe.tensor(x)).detach().numpy(), old(torch.tensor(x)).detach().numpy(),
                                   atol=1e-6)
        for train in (True, False):
            tm = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(4, 3)).train(train)
            same(parametrizations.spectral_norm(nn.Linear(4, 3)).train(train), tm)
            ts = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3)).train(train)
            same(nn.utils.spectral_norm(nn.Linear(4, 3)).train(train), ts)
        tc, tb = torch.nn.Conv2d(2, 3, 3).eval(), torch.nn.BatchNorm2d(3).eval()
        tb.running_var.uniform_(0.5, 2.0)
        tb.running_mean.normal_()
        fc, fb = nn.Conv2d(2, 3, 3).eval(), nn.BatchNorm2d(3).eval()
        fc.load_state_dict(tc.state_dict())
        fb.load_state_dict(tb.state_dict())
        fw, fbias = nn.utils.fuse_conv_bn_weights(fc.weight, fc.bias, fb.running_mean, fb.running_var, fb.eps,
                                                  fb.weight, fb.bias, transpose=False)
        tw, tbias = torch.nn.utils.fuse_conv_bn_weights(tc.weight, tc.bias, tb.running_mean, tb.running_var, tb.eps,
                                                        tb.weight, tb.bias)
        np.testing.assert_allclose(fw.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(fbias.detach().numpy(), tbias.detach().numpy(), rtol=1e-6, atol=1e-7)
        assert fw.requires_grad == tw.requires_grad
        ts = [torch.tensor([3.0, -4.0]), torch.tensor([1.0], dtype=torch.float64)]
        fs = [fe.tensor(t.numpy()) for t in ts]
        for p in (2.0, 1, 0, float("inf"), -float("inf"), 0.5):
            got, want = nn.utils.get_total_norm(fs, p), torch.nn.utils.get_total_norm(ts, p)
            assert got.dtype == fe.float64 and want.dtype == torch.float64
            np.testing.assert_allclose(got.item(), want.item(), rtol=1e-7)
