"""nn layers and nn.functional against PyTorch 2.13 where they once differed: error classes, reprs,
warnings, argument names and the shapes F.linear takes. Expected values are written out, so these run
without torch; the tests that compare with torch skip where it is absent."""
import inspect
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


# -- shape mismatches raise RuntimeError, as torch's kernels do ------------------------------------------------

def test_linear_wrong_features_is_runtime_error():
    # torch: RuntimeError "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"
    with pytest.raises(RuntimeError, match=r"input has 3 features"):
        nn.Linear(4, 2)(fe.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"input has 3 features"):
        F.linear(fe.zeros(2, 3), fe.zeros(2, 4))


def test_conv_wrong_channels_is_runtime_error():
    # torch: RuntimeError "Given groups=1, weight of size [6, 4, 3, 3], expected input[2, 5, 8, 8] to have 4 channels"
    with pytest.raises(RuntimeError, match=r"input has 5 channels"):
        nn.Conv2d(4, 6, 3)(fe.zeros(2, 5, 8, 8))
    with pytest.raises(RuntimeError, match=r"input has 5 channels"):
        nn.Conv1d(4, 6, 3)(fe.zeros(2, 5, 8))
    with pytest.raises(RuntimeError):
        F.conv2d(fe.zeros(1, 3, 8, 8), fe.zeros(4, 1, 3, 3), groups=2)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (2, 4)), (nn.BatchNorm1d, (2, 4, 5)),
                                        (nn.BatchNorm2d, (2, 4, 3, 3))])
def test_batchnorm_wrong_channels_is_runtime_error(cls, shape):
    # torch: RuntimeError "running_mean should contain 4 elements not 3"; a wrong rank stays ValueError
    with pytest.raises(RuntimeError, match="3 channels"):
        cls(3)(fe.zeros(*shape))
    with pytest.raises(ValueError, match="dims"):
        cls(3)(fe.zeros(2, 3, 3, 3, 3))


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnn_wrong_features_and_state_are_runtime_errors(cls):
    # torch: RuntimeError "input.size(-1) must be equal to input_size. Expected 3, got 4" and
    # RuntimeError "Expected hidden size (1, 2, 4), got [1, 3, 4]"
    m = cls(3, 4)
    with pytest.raises(RuntimeError, match="input has 4 features"):
        m(fe.zeros(5, 2, 4))
    bad = fe.zeros(1, 3, 4)
    with pytest.raises(RuntimeError, match="has shape"):
        m(fe.zeros(5, 2, 3), (bad, fe.zeros(1, 2, 4)) if cls is nn.LSTM else bad)
    with pytest.raises(RuntimeError, match="has shape"):  # unbatched input, a batched state
        m(fe.zeros(5, 3), (fe.zeros(1, 1, 4), fe.zeros(1, 4)) if cls is nn.LSTM else fe.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="3-D"):  # the rank: ValueError in torch too
        m(fe.zeros(5, 2, 3, 1))


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.GRUCell, nn.LSTMCell])
def test_rnn_cell_wrong_features_and_state_are_runtime_errors(cls):
    # torch: RuntimeError "input has inconsistent input_size: got 4 expected 3",
    # RuntimeError "Input batch size 2 doesn't match hidden0 batch size 3"
    m = cls(3, 4)
    with pytest.raises(RuntimeError, match=r"input_size"):
        m(fe.zeros(2, 4))
    bad = fe.zeros(3, 4)
    with pytest.raises(RuntimeError, match="has shape"):
        m(fe.zeros(2, 3), (bad, fe.zeros(2, 4)) if cls is nn.LSTMCell else bad)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):  # the rank: ValueError in torch too
        m(fe.zeros(2, 2, 3))


def test_gelu_bad_approximate_is_runtime_error():
    # torch: RuntimeError "approximate argument must be either none or tanh."
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(fe.zeros(3), approximate="foo")


# -- reprs and warnings ----------------------------------------------------------------------------------------

def test_rnn_reprs_as_torch():
    # torch's RNN repr leaves the nonlinearity out; its cells print it unquoted
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4)) == "RNNCell(3, 4)"


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnn_dropout_with_one_layer_warns(cls):
    # torch: UserWarning "dropout option adds dropout after all but last recurrent layer, so non-zero dropout
    # expects num_layers greater than 1, but got dropout=0.5 and num_layers=1"
    with pytest.warns(UserWarning, match="expects num_layers greater than 1"):
        cls(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(3, 4, num_layers=2, dropout=0.5)
        cls(3, 4)


def test_rnn_proj_size_argument():
    # torch's LSTM takes proj_size (default 0) and has the attribute; firstepoch has no projection (README)
    lstm = nn.LSTM(3, 4)
    assert lstm.proj_size == 0
    assert nn.LSTM(3, 4, proj_size=0).proj_size == 0
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):  # torch's own check comes first
        nn.LSTM(3, 4, proj_size=4)
    assert nn.GRU(3, 4).proj_size == 0 and nn.RNN(3, 4).proj_size == 0  # torch's attribute on every RNN


def test_conv_attributes_as_torch():
    c = nn.Conv2d(3, 4, 3)
    assert c.transposed is False and c.output_padding == (0, 0)
    assert nn.Conv1d(3, 4, 3).output_padding == (0,)
    t = nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1)
    assert t.transposed is True and t.output_padding == (1, 1)


# -- F.linear's shapes -----------------------------------------------------------------------------------------

def test_linear_one_dimensional_weight():
    # torch: a (in,) weight gives one output per row (a matrix-vector product), no output axis
    x = fe.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    w = fe.tensor(np.array([1.0, -1.0, 2.0], np.float32), requires_grad=True)
    y = F.linear(x, w)
    assert y.shape == (2,)
    np.testing.assert_allclose(y.detach().numpy(), [3.0, 9.0])
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 5.0, 7.0])
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, -1.0, 2.0]] * 2)
    with pytest.raises(RuntimeError, match="mat2 must be a matrix"):  # torch 2.13 takes no bias with it
        F.linear(x, w, fe.tensor(np.float32(1.0)))


def test_linear_bias_broadcasts():
    # torch: the bias broadcasts against the (..., out) product (a 0-d or (1,) bias is fine)
    x = fe.tensor(np.ones((2, 3), np.float32))
    w = fe.tensor(np.ones((4, 3), np.float32))
    b = fe.tensor(np.float32(0.5), requires_grad=True)
    y = F.linear(x, w, b)
    np.testing.assert_allclose(y.detach().numpy(), np.full((2, 4), 3.5))
    y.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), 8.0)
    np.testing.assert_allclose(F.linear(x, w, fe.tensor(np.array([1.0], np.float32))).numpy(), np.full((2, 4), 4.0))


# -- argument names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", [nn.Linear(3, 2), nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.Softmax(-1),
                                    nn.LeakyReLU(), nn.Identity(), nn.Flatten(), nn.LayerNorm(3), nn.Dropout(),
                                    nn.ELU(), nn.Softplus(), nn.Hardtanh(), nn.PReLU()])
def test_forward_takes_input_by_name(module):
    # torch's layers call their argument `input`: module(input=x) works
    x = fe.ones(2, 3)
    np.testing.assert_allclose(module.eval()(input=x).detach().numpy(), module(x).detach().numpy())


def test_forward_argument_names_match_torch():
    torch = pytest.importorskip("torch")
    differ = []
    for name in nn.__all__:
        ours, theirs = getattr(nn, name), getattr(torch.nn, name, None)
        if not isinstance(ours, type) or theirs is None or "forward" not in vars(ours) or name == "Module":
            continue
        names = lambda f: [p for p in inspect.signature(f).parameters if p != "self"]  # noqa: E731
        try:
            want = names(theirs.forward)
        except (TypeError, ValueError):
            continue
        if names(ours.forward) != want:
            differ.append((name, names(ours.forward), want))
    assert differ == []


def test_functional_activations_take_input_by_name():
    x = fe.tensor(np.array([-1.0, 0.5], np.float32))
    for f in (F.sigmoid, F.tanh, F.gelu):
        np.testing.assert_allclose(f(input=x).numpy(), f(x).numpy())
    np.testing.assert_allclose(F.gelu(input=x, approximate="tanh").numpy(), F.gelu(x, "tanh").numpy())


def test_embedding_float_indices_are_runtime_error():
    # torch: RuntimeError "Expected tensor for argument #1 'indices' to have one of the following scalar types"
    emb = nn.Embedding(4, 2)
    with pytest.raises(RuntimeError, match="argument #1 'indices'"):
        emb(fe.tensor(np.array([0.0, 1.0], np.float32)))
    with pytest.raises(RuntimeError, match="argument #1 'indices'"):
        F.embedding(fe.tensor(np.array([True])), emb.weight)


@pytest.mark.parametrize("make", [lambda: nn.Conv2d(4, 6, 3, groups=2), lambda: nn.Conv1d(4, 6, 3),
                                  lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), lambda: nn.ConvTranspose1d(4, 6, 3)])
def test_conv_reset_parameters(make):
    # torch's layers have reset_parameters (code that re-initialises with `if hasattr(m, "reset_parameters")`
    # skipped firstepoch's convolutions); bounds from the weight's fan_in, weight.shape[1] * kernel elements
    m = make()
    with fe.no_grad():
        m.weight.fill_(100.0)
        m.bias.fill_(100.0)
    m.reset_parameters()
    w = m.weight.detach().numpy()
    fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
    assert 0 < np.abs(w).max() <= 1 / np.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), ...)
    assert 0 < np.abs(m.bias.detach().numpy()).max() <= 1 / np.sqrt(fan_in)


def test_batchnorm_reset_running_stats_and_parameters():
    bn = nn.BatchNorm1d(3)
    bn(fe.randn(8, 3) * 5 + 2)
    with fe.no_grad():
        bn.weight.fill_(3.0)
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert int(bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.full(3, 3.0))  # untouched by reset_running_stats
    bn(fe.randn(8, 3))
    bn.reset_parameters()
    assert int(bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.ones(3))
    nn.BatchNorm2d(3, affine=False, track_running_stats=False).reset_parameters()  # nothing to reset: no error


def test_normalize():
    # torch.nn.functional.normalize(x) and normalize(x, p=1): values and gradients written out from torch 2.13
    x = fe.tensor(np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32), requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_allclose(y.detach().numpy(), [[0, 0, 0], [0.2672612, 0.5345225, 0.8017837]], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1e12, 1e12, 1e12], [0.15272072, 0.03818019, -0.07636035]],
                               rtol=1e-5)
    x = fe.tensor(np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]], np.float64), requires_grad=True)
    y = F.normalize(x, p=1)
    np.testing.assert_allclose(y.detach().numpy(), [[0, 0, 0], [1 / 6, -1 / 3, 0.5]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1e12, 1e12, 1e12], [1 / 9, 2 / 9, 1 / 9]], rtol=1e-6)
    assert F.normalize(fe.ones(2, 3, 4), dim=-1).shape == (2, 3, 4)
    out = fe.zeros(2, 3)
    assert F.normalize(fe.ones(2, 3), dim=0, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 2 ** -0.5), rtol=1e-6)


def test_normalize_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 5))
    for kw in ({}, {"p": 1.0}, {"p": 3.0, "dim": 2}, {"dim": 0, "eps": 0.5}, {"p": float("inf"), "dim": -1}):
        want = torch.nn.functional.normalize(torch.tensor(a), **kw).numpy()
        np.testing.assert_allclose(F.normalize(fe.tensor(a), **kw).numpy(), want, rtol=1e-12)


def test_unflatten():
    u = nn.Unflatten(1, (2, 5))
    assert repr(u) == "Unflatten(dim=1, unflattened_size=(2, 5))"
    x = fe.tensor(np.arange(120, dtype=np.float32).reshape(3, 10, 4), requires_grad=True)
    y = u(x)
    assert y.shape == (3, 2, 5, 4)
    np.testing.assert_array_equal(y.detach().numpy(), np.arange(120).reshape(3, 2, 5, 4))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 10, 4)))
    assert nn.Unflatten(-1, [2, -1])(fe.zeros(3, 10)).shape == (3, 2, 5)
    assert repr(nn.Unflatten(-1, [2, -1])) == "Unflatten(dim=-1, unflattened_size=[2, -1])"
    assert nn.Unflatten(0, (2, 5))(fe.zeros(10)).shape == (2, 5)
    with pytest.raises(TypeError, match="must be a tuple of ints"):
        nn.Unflatten(1, 5)
    with pytest.raises(TypeError, match="element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 5))
    with pytest.raises(RuntimeError, match="don't multiply up to the size of dim 1"):
        nn.Unflatten(1, (2, 4))(fe.zeros(3, 10))
    assert nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)))(fe.zeros(2, 3, 4)).shape == (2, 3, 4)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_sequential_calls_an_instance_forward(which):
    # torch's module(x) calls module.forward, an instance attribute too; Sequential's fused
    # Conv2d-ReLU-MaxPool2d (and Linear-ReLU) kernels skipped a forward replaced on the instance
    seq = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    x = fe.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(2, 1, 4, 4))
    seq[which].forward = lambda input: input * 0.5 - 0.25
    want = x
    for m in seq:  # one call each: m(x) runs m.forward
        want = m(want)
    np.testing.assert_array_equal(seq(x).detach().numpy(), want.detach().numpy())
    assert seq(x).shape == ((2, 1, 2, 2), (2, 2, 2, 2), (2, 2, 4, 4))[which]
    lin = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    lin[1].forward = lambda input: -input
    x = fe.ones(1, 3)
    np.testing.assert_allclose(lin(x).detach().numpy(), -lin[0](x).detach().numpy())


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnn_empty_sequence_is_runtime_error(cls):
    # torch: RuntimeError "Expected sequence length to be larger than 0 in RNN"
    cases = ((cls(3, 4), fe.zeros(0, 2, 3)), (cls(3, 4), fe.zeros(0, 3)),
             (cls(3, 4, batch_first=True), fe.zeros(2, 0, 3)))
    for m, x in cases:
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
            m(x)
    out = cls(3, 4, batch_first=True)(fe.zeros(0, 5, 3))[0]  # an empty batch is fine, as in torch
    assert out.shape == (0, 5, 4)


def test_sdpa_attn_mask_with_is_causal():
    # torch 2.13 (CPU) takes both and applies both (it raises only with dropout_p > 0)
    rng = np.random.default_rng(0)
    q, k, v = (fe.tensor(rng.standard_normal((2, 2, 3, 4))) for _ in range(3))
    fmask = fe.tensor(rng.standard_normal((3, 3)))
    keep = np.tril(np.ones((3, 3), bool))
    both = F.scaled_dot_product_attention(q, k, v, attn_mask=fmask, is_causal=True)
    folded = F.scaled_dot_product_attention(q, k, v, attn_mask=fe.tensor(np.where(keep, fmask.numpy(), -np.inf)))
    np.testing.assert_allclose(both.numpy(), folded.numpy(), rtol=1e-12)
    bmask = fe.tensor(np.array([[True, True, False], [False, True, True], [True, True, True]]))
    both = F.scaled_dot_product_attention(q, k, v, attn_mask=bmask, is_causal=True)
    folded = F.scaled_dot_product_attention(q, k, v, attn_mask=fe.tensor(bmask.numpy() & keep))
    np.testing.assert_allclose(both.numpy(), folded.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=fmask, is_causal=True, dropout_p=0.5)


def test_sdpa_attn_mask_with_is_causal_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 5, 4))
    for mask in (rng.standard_normal((3, 5)), rng.random((2, 1, 3, 5)) > 0.3):
        want = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)),
                                                                attn_mask=torch.tensor(mask), is_causal=True)
        got = F.scaled_dot_product_attention(*map(fe.tensor, (q, k, v)), attn_mask=fe.tensor(mask), is_causal=True)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_sigmoid_tanh_of_integers_are_float32(dtype):
    # torch: an integer or bool input gives the default float dtype (float32); NumPy's promotion gave
    # float64, or float16 for uint8 and bool (sigmoid of uint8 1 came out 0)
    vals = np.array([1, 0, 1] if dtype is np.bool_ else [1, 0, 3]).astype(dtype)
    x = fe.tensor(vals)
    for f, ref in ((F.sigmoid, lambda v: 1 / (1 + np.exp(-v))), (F.tanh, np.tanh)):
        for y in (f(x), nn.Sigmoid()(x) if f is F.sigmoid else nn.Tanh()(x)):
            assert y.dtype == np.float32
            np.testing.assert_allclose(y.numpy(), ref(vals.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_gelu_of_integers_raises(dtype):
    # torch: NotImplementedError ("GeluKernelImpl" not implemented for 'Long'); firstepoch returned integers
    x = fe.tensor(np.array([1, 0, 1]).astype(dtype))
    for call in (F.gelu, nn.GELU(), lambda t: t.gelu(approximate="tanh")):
        with pytest.raises(NotImplementedError, match="gelu"):
            call(x)


def test_integer_parameter():
    # torch: Parameter(int tensor) raises RuntimeError ("Only Tensors of floating point and complex dtype can
    # require gradients"); with requires_grad=False it is a Parameter, registered and saved
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        nn.Parameter(fe.tensor([1, 2]))
    p = nn.Parameter(fe.tensor([1, 2]), requires_grad=False)
    assert p.dtype == np.int64 and not p.requires_grad
    m = nn.Module()
    m.p = p
    assert list(m.state_dict()) == ["p"] and [n for n, _ in m.named_parameters()] == ["p"]


@pytest.mark.parametrize("f", [F.softmax, F.log_softmax])
def test_softmax_of_integers(f):
    # torch: NotImplementedError ("softmax_lastdim_kernel_impl" not implemented for 'Long'); dtype= casts first
    x = fe.tensor(np.array([1, 2]))
    with pytest.raises(NotImplementedError, match="softmax"):
        f(x, 0)
    with pytest.raises(NotImplementedError, match="softmax"):
        nn.Softmax(0)(x) if f is F.softmax else nn.LogSoftmax(0)(x)
    y = f(x, 0, dtype=fe.float32)
    assert y.dtype == np.float32


def test_parameter_containers_make_trainable_parameters():
    # torch's ParameterList/ParameterDict wrap a plain tensor as Parameter(tensor): it requires grad (a
    # tensor that did not require grad became a frozen parameter here, silently untrained)
    pl = nn.ParameterList([fe.randn(2), nn.Parameter(fe.randn(3), requires_grad=False)])
    pl.append(fe.randn(4))
    assert [type(p).__name__ for p in pl] == ["Parameter"] * 3
    assert [p.requires_grad for p in pl] == [True, False, True]  # a Parameter is kept as it is
    pd = nn.ParameterDict({"a": fe.randn(2)})
    pd["b"] = fe.randn(3)
    assert [p.requires_grad for p in pd.values()] == [True, True]
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        nn.ParameterList([fe.tensor([1, 2])])


def test_linear_negative_size_is_runtime_error():
    # torch: RuntimeError "Trying to create tensor with negative dimension -1: [2, -1]"
    with pytest.raises(RuntimeError, match="negative dimension"):
        nn.Linear(-1, 2)
    assert nn.Linear(0, 2)(fe.zeros(3, 0)).shape == (3, 2)  # 0 is legal


def test_flatten_dims_as_torch():
    # torch: a 0-d input has dims 0 and -1 only (nn.Flatten()'s start_dim=1 is an IndexError there), and
    # start_dim after end_dim is a RuntimeError
    assert nn.Flatten(0)(fe.tensor(1.0)).shape == (1,)
    assert fe.tensor(1.0).flatten(-1, 0).shape == (1,)
    with pytest.raises(IndexError):
        nn.Flatten()(fe.tensor(1.0))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        nn.Flatten(2, 1)(fe.zeros(2, 3, 4))


# -- F.conv2d / F.batch_norm / pooling argument errors: torch's classes (the kernels' own are ValueErrors) --

def test_conv_kernel_larger_than_input_is_runtime_error():
    # torch: "Calculated padded input size per channel: (8 x 8). Kernel size: (9 x 9). Kernel size can't be
    # greater than actual input size"
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: \(8 x 8\)\. Kernel size: "
                                           r"\(9 x 9\)\. Kernel size can't be greater than actual input size"):
        F.conv2d(fe.zeros(1, 3, 8, 8), fe.zeros(4, 3, 9, 9))
    with pytest.raises(RuntimeError, match=r"\(4 x 4\)\. Kernel size: \(5 x 5\)"):  # dilated 3x3 at dilation 2
        nn.Conv2d(1, 1, 3, dilation=2, padding=1)(fe.zeros(1, 1, 2, 2))


def test_functional_batch_norm_argument_errors_are_torchs():
    x = fe.zeros(2, 4, 3)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        F.batch_norm(x, fe.zeros(3), fe.ones(3), training=False)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        F.batch_norm(x, fe.zeros(3), fe.ones(4), training=True)
    with pytest.raises(RuntimeError, match="running_var should contain 4 elements not 3"):
        F.batch_norm(x, fe.zeros(4), fe.ones(3), training=True)
    with pytest.raises(RuntimeError, match="weight should contain 4 elements not 3"):
        F.batch_norm(x, None, None, weight=fe.ones(3), training=True)
    with pytest.raises(RuntimeError, match="bias should contain 4 elements not 3"):
        F.batch_norm(x, None, None, fe.ones(4), fe.ones(3), training=True)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="running_mean and running_var must either both be None or neither"):
        F.batch_norm(x, fe.zeros(4), None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(fe.zeros(1, 4), None, None, training=True)


def test_functional_batch_norm_takes_a_weight_of_any_shape_with_one_value_per_channel():
    # torch flattens a (2, 2) weight for 4 channels; its gradient keeps the weight's shape
    rng = np.random.default_rng(0)
    x = fe.tensor(rng.standard_normal((3, 4, 5)), requires_grad=True)
    w = fe.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    b = fe.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    want = F.batch_norm(x, None, None, w.reshape(4), b.reshape(4), training=True)
    np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    (y * y).sum().backward()
    assert w.grad.shape == (2, 2) and b.grad.shape == (1, 4)
    w2 = w.detach().reshape(4).requires_grad_()
    b2 = b.detach().reshape(4).requires_grad_()
    (F.batch_norm(x.detach(), None, None, w2, b2, training=True) ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy().reshape(4), w2.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy().reshape(4), b2.grad.numpy(), rtol=1e-12)


def test_functional_errors_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    cases = [(lambda m, z: m.conv2d(z(1, 3, 8, 8), z(4, 3, 9, 9))),
             (lambda m, z: m.batch_norm(z(2, 4, 3), z(3), z(3), training=False)),
             (lambda m, z: m.batch_norm(z(2, 4, 3), None, None, training=False)),
             (lambda m, z: m.max_pool2d(z(1, 2, 5, 5), 7)),
             (lambda m, z: m.max_pool2d(z(1, 2, 5, 5), 3, 1, 2)),
             (lambda m, z: m.max_pool2d(z(1, 2, 9, 9), 3, 1, 2, 2)),
             (lambda m, z: m.avg_pool2d(z(1, 2, 5, 5), 2, 0)),
             (lambda m, z: m.avg_pool2d(z(1, 2, 5, 5), 2, divisor_override=0)),
             (lambda m, z: m.max_pool2d(z(1, 1, 1, 5, 5), 2))]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as theirs:
            case(tf, torch.zeros)
        with pytest.raises(Exception) as ours:
            case(F, fe.zeros)
        assert ours.type is theirs.type, (i, str(theirs.value), str(ours.value))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_index_loss_target_errors_and_shapes_are_torchs(fn):
    # torch checks a target that is not class probabilities as class indices: its shape first (ValueError
    # for the batch size, RuntimeError for a 2-D target), then its dtype (RuntimeError); they were
    # TypeError / ValueError. An unbatched (C,) input takes a (1,) target as well as a 0-d one.
    f = getattr(F, fn)
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        f(fe.zeros(4, 3), fe.zeros(4, 2, dtype=fe.int64))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        f(fe.zeros(4, 3), fe.zeros(4, 2))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(3\)"):
        f(fe.zeros(4, 3), fe.zeros(3, 3))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        f(fe.zeros(4, 3), fe.zeros(4))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        f(fe.zeros(4, 3, 5), fe.zeros(4, 5))
    with pytest.raises(ValueError, match="For 1D input, 1D target must have size 1, but got target size: 2"):
        f(fe.zeros(3), fe.zeros(2, dtype=fe.int64))
    x = fe.tensor([0.5, -1.0, 2.0], requires_grad=True)
    one = f(x, fe.tensor([2]), reduction="none")
    zero_d = f(x, fe.tensor(2), reduction="none")
    assert one.shape == () and zero_d.shape == ()
    np.testing.assert_allclose(one.detach().numpy(), zero_d.detach().numpy())
    one.backward()
    assert x.grad.shape == (3,)


def test_class_index_loss_errors_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    cases = [((4, 3), (4, 2), "i"), ((4, 3), (4,), "f"), ((3,), (2,), "i"), ((4, 3, 5), (4, 3), "i"),
             ((4, 3), (4, 2), "f"), ((4, 3), (3, 3), "f"), ((4, 3, 5), (4, 5), "f")]
    for name in ("cross_entropy", "nll_loss"):
        for a, b, kind in cases:
            with pytest.raises(Exception) as theirs:
                getattr(tf, name)(torch.zeros(*a), torch.zeros(*b, dtype=torch.long if kind == "i" else torch.float))
            with pytest.raises(Exception) as ours:
                getattr(F, name)(fe.zeros(*a), fe.zeros(*b, dtype=fe.int64 if kind == "i" else fe.float32))
            assert ours.type is theirs.type, (name, a, b, kind, str(theirs.value), str(ours.value))
        got = getattr(F, name)(fe.tensor([0.5, -1.0, 2.0]), fe.tensor([2]))
        want = getattr(tf, name)(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([2]))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


# ---- recurrent layers, instance norm and packing: torch's exception classes and dtype rules -----------

@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_rnn_cells_refuse_like_torch(cell):
    m = getattr(nn, cell)(4, 5)
    x64 = fe.zeros(3, 4, dtype=fe.float64)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        m(x64)
    h64 = fe.zeros(3, 5, dtype=fe.float64)
    with pytest.raises(RuntimeError, match="same dtype"):
        m(fe.zeros(3, 4), (h64, h64) if cell == "LSTMCell" else h64)
    h3 = fe.zeros(1, 3, 5)
    with pytest.raises(ValueError, match="got 3D instead"):
        m(fe.zeros(3, 4), (h3, h3) if cell == "LSTMCell" else h3)
    with pytest.raises(TypeError, match="input_size should be of type int"):
        getattr(nn, cell)(4.0, 5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        getattr(nn, cell)(4, 0)


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_rnn_constructor_argument_types_like_torch(layer):
    cls = getattr(nn, layer)
    for kwargs, match in ((dict(input_size=4.0), "input_size should be of type int"),
                          (dict(hidden_size="5"), "hidden_size should be of type int"),
                          (dict(num_layers=1.5), "num_layers should be of type int"),
                          (dict(bias=1), "bias should be of type bool"),
                          (dict(batch_first=1), "batch_first should be of type bool")):
        with pytest.raises(TypeError, match=match):
            cls(**{"input_size": 4, "hidden_size": 5, **kwargs})
    with pytest.raises(ValueError):
        cls(4, 5, num_layers=0)
    assert cls(4, 5, bias=np.bool_(False)).bias is False


def test_instance_norm_runs_float32_running_stats_with_float64_input():
    # torch 2.13: InstanceNorm2d(track_running_stats=True) takes a float64 batch; its float32 statistics
    # move (and stay float32), and evaluation normalises in float64 with them
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    m = nn.InstanceNorm2d(3, track_running_stats=True)
    y = m(fe.tensor(x))
    assert y.dtype == fe.float64
    assert m.running_mean.dtype == fe.float32
    np.testing.assert_allclose(m.running_mean.numpy(), 0.1 * x.mean(axis=(2, 3)).mean(axis=0), rtol=1e-6)
    m.eval()
    rm, rv = m.running_mean.numpy().astype(np.float64), m.running_var.numpy().astype(np.float64)
    expected = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5)
    np.testing.assert_allclose(m(fe.tensor(x)).numpy(), expected, rtol=1e-12)
    with pytest.raises(RuntimeError, match="mixed dtype"):  # the affine weight must still match, as torch
        nn.InstanceNorm2d(3, affine=True)(fe.tensor(x))


def test_pack_padded_sequence_lengths_of_another_rank():
    from firstepoch.nn.utils.rnn import pack_padded_sequence
    x = fe.zeros(3, 2, 4)
    with pytest.raises(RuntimeError, match="should be a 1D CPU int64 tensor, but got 2D"):
        pack_padded_sequence(x, fe.tensor(np.array([[3, 2]])))
    with pytest.raises(RuntimeError, match="but got 0D"):
        pack_padded_sequence(x, fe.tensor(np.array(3)), enforce_sorted=False)
    with pytest.raises(IndexError, match="supposed to be a vector"):  # torch's sort path
        pack_padded_sequence(x, [[3, 2]], enforce_sorted=False)


def test_multihead_attention_shape_asserts_like_torch():
    # torch 2.13 checks these with assert (AssertionError), and so does firstepoch (its messages)
    mha = nn.MultiheadAttention(4, 2)
    q = fe.zeros(3, 2, 4)
    with pytest.raises(AssertionError, match="expected `attn_mask` to be `None`, 2-D or 3-D but found 4-D"):
        mha(q, q, q, attn_mask=fe.zeros(1, 1, 3, 3))
    with pytest.raises(AssertionError, match="For unbatched"):
        mha(fe.zeros(3, 4), fe.zeros(3, 4), fe.zeros(3, 4), attn_mask=fe.zeros(1, 1, 3, 3))
    with pytest.raises(AssertionError, match="`key_padding_mask` to be `None` or 2-D but found 1-D"):
        mha(q, q, q, key_padding_mask=fe.zeros(3, dtype=fe.bool))
    with pytest.raises(AssertionError, match="key shape"):
        mha(q, q, fe.zeros(3, 2, 5))
    separate = nn.MultiheadAttention(4, 2, kdim=3, vdim=3)
    with pytest.raises(AssertionError, match=r"expecting key weights shape of \(4, 5\), but got \(4, 3\)"):
        separate(q, fe.zeros(3, 2, 5), fe.zeros(3, 2, 3))
    with pytest.raises(AssertionError, match="expecting value weights"):
        separate(q, fe.zeros(3, 2, 3), fe.zeros(3, 2, 5))
    assert separate(q, fe.zeros(3, 2, 3), fe.zeros(3, 2, 3))[0].shape == (3, 2, 4)
