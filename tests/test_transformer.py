"""Attention and Transformer layers (issue 19): F.scaled_dot_product_attention, nn.MultiheadAttention,
the Transformer encoder/decoder layers and stacks against PyTorch (a torch state_dict loaded into ours,
outputs and every parameter's gradient compared in float64), masks, padding masks, and dropout."""
import copy

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


def _t(torch, a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def _compare(torch, ours, theirs, our_inputs, their_inputs, call, atol=1e-10):
    """Forward both, backward sum(out * fixed random), compare outputs, input and parameter grads."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out_o, out_t = call(ours, our_inputs), call(theirs, their_inputs)
    out_o = out_o[0] if isinstance(out_o, tuple) else out_o
    out_t = out_t[0] if isinstance(out_t, tuple) else out_t
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), atol=atol, rtol=1e-9)
    w = np.random.default_rng(1).standard_normal(out_t.shape)
    (out_o * fe.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for a, b in zip(our_inputs, their_inputs):
        if isinstance(b, type(out_t)) and b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-8)
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert name in theirs_p, name
        np.testing.assert_allclose(p.grad.numpy(), theirs_p[name].grad.numpy(), atol=atol, rtol=1e-8,
                                   err_msg=name)
    assert set(theirs_p) == {n for n, _ in ours.named_parameters()}


# ---- F.scaled_dot_product_attention ----------------------------------------------------------------

@pytest.mark.parametrize("case", ["plain", "causal", "bool", "float", "scale", "rect_causal", "empty_row"])
def test_sdpa_matches_torch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    L, S = (4, 6) if case == "rect_causal" else (5, 5)
    q = rng.standard_normal((2, 3, L, 8))
    k, v = rng.standard_normal((2, 3, S, 8)), rng.standard_normal((2, 3, S, 7))
    kw = {}
    if case == "causal" or case == "rect_causal":
        kw = {"is_causal": True}
    elif case in ("bool", "empty_row"):
        m = rng.random((L, S)) > 0.4
        m[:, 0] = True
        if case == "empty_row":
            m[2] = False  # a query that may attend nothing: zeros, as torch
        kw = {"attn_mask": m}
    elif case == "float":
        kw = {"attn_mask": rng.standard_normal((3, L, S))}
    elif case == "scale":
        kw = {"scale": 0.25}
    tq, tk, tv = (_t(torch, a, True) for a in (q, k, v))
    fq, fk, fv = (fe.tensor(a, requires_grad=True) for a in (q, k, v))
    tkw = {n: torch.tensor(x) if isinstance(x, np.ndarray) else x for n, x in kw.items()}
    out_t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
    out_f = F.scaled_dot_product_attention(fq, fk, fv, **kw)
    np.testing.assert_allclose(out_f.detach().numpy(), out_t.detach().numpy(), atol=1e-12)
    w = rng.standard_normal(out_t.shape)
    (out_t * torch.tensor(w)).sum().backward()
    (out_f * fe.tensor(w)).sum().backward()
    for a, b in ((fq, tq), (fk, tk), (fv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_sdpa_causal_masks_the_future():
    rng = np.random.default_rng(0)
    q, k, v = (fe.tensor(rng.standard_normal((1, 6, 4))) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    v2 = v.numpy().copy()
    v2[:, 3:] += 100.0  # changing the future of position 2 does not change its output
    k2 = k.numpy().copy()
    k2[:, 3:] -= 50.0
    out2 = F.scaled_dot_product_attention(q, fe.tensor(k2), fe.tensor(v2), is_causal=True).numpy()
    np.testing.assert_array_equal(out[:, :3], out2[:, :3])
    assert not np.allclose(out[:, 3:], out2[:, 3:])


def test_sdpa_causal_and_mask_is_an_error_only_with_dropout():
    # torch 2.13 on the CPU applies both (tests/test_porting_nn.py); its dropout path refuses the pair
    x = fe.randn(1, 3, 4)
    both = F.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((3, 3), bool), is_causal=True)
    np.testing.assert_allclose(both.numpy(), F.scaled_dot_product_attention(x, x, x, is_causal=True).numpy())
    with pytest.raises(RuntimeError, match="attn_mask"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((3, 3), bool), is_causal=True, dropout_p=0.5)


def test_sdpa_dropout_statistics():
    fe.manual_seed(0)
    q = fe.zeros(1, 1, 64, 8)  # uniform weights 1/64 everywhere
    v = fe.ones(1, 1, 64, 8)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5).numpy()
    assert out.shape == (1, 1, 64, 8)
    assert abs(out.mean() - 1.0) < 0.05  # inverted dropout keeps the mean
    assert out.std() > 0.05


# ---- MultiheadAttention ---------------------------------------------------------------------------------

def _mha_pair(torch, **kw):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(**kw, dtype=torch.float64)
    ours = nn.MultiheadAttention(**kw, dtype=fe.float64)
    return ours, theirs


def test_mha_parameter_names_and_shapes_match_torch():
    torch = pytest.importorskip("torch")
    for kw in ({"embed_dim": 8, "num_heads": 2}, {"embed_dim": 8, "num_heads": 2, "kdim": 5, "vdim": 3},
               {"embed_dim": 8, "num_heads": 4, "bias": False}, {"embed_dim": 8, "num_heads": 2, "add_bias_kv": True}):
        ours, theirs = _mha_pair(torch, **kw)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
               {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert type(ours.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(ours.out_proj, nn.Linear)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("masks", ["none", "bool2d", "float3d", "padding", "both", "causal"])
def test_mha_matches_torch(batch_first, need_weights, masks):
    torch = pytest.importorskip("torch")
    E, H, L, N = 8, 2, 5, 3
    ours, theirs = _mha_pair(torch, embed_dim=E, num_heads=H, batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, L, E) if batch_first else (L, N, E))
    kw = {"need_weights": need_weights}
    if masks in ("bool2d", "both"):
        m = rng.random((L, L)) > 0.6
        m[:, 0] = False
        kw["attn_mask"] = m
    if masks == "float3d":
        kw["attn_mask"] = rng.standard_normal((N * H, L, L))
    if masks in ("padding", "both"):
        kpm = np.zeros((N, L), bool)
        kpm[1, 3:] = True
        kpm[2, 1:] = True
        kw["key_padding_mask"] = kpm
    if masks == "causal":
        kw["attn_mask"] = np.triu(np.ones((L, L), bool), 1)
        kw["is_causal"] = True
    tkw = {n: torch.tensor(v) if isinstance(v, np.ndarray) else v for n, v in kw.items()}
    tx, fx = _t(torch, x, True), fe.tensor(x, requires_grad=True)
    _compare(torch, ours, theirs, [fx], [tx], lambda m, i: m(i[0], i[0], i[0], **(kw if m is ours else tkw)))
    if need_weights:
        w_o = ours(fx, fx, fx, **kw)[1].detach().numpy()
        w_t = theirs(tx, tx, tx, **tkw)[1].detach().numpy()
        np.testing.assert_allclose(w_o, w_t, atol=1e-12)
        heads_o = ours(fx, fx, fx, average_attn_weights=False, **kw)[1]
        assert tuple(heads_o.shape) == (N, H, L, L)
    else:
        assert ours(fx, fx, fx, **kw)[1] is None


@pytest.mark.parametrize("extra", [{"kdim": 5, "vdim": 3}, {"add_bias_kv": True}, {"add_zero_attn": True},
                                   {"bias": False}])
def test_mha_cross_attention_options_match_torch(extra):
    torch = pytest.importorskip("torch")
    E, H, L, S, N = 8, 2, 4, 6, 2
    ours, theirs = _mha_pair(torch, embed_dim=E, num_heads=H, batch_first=True, **extra)
    rng = np.random.default_rng(2)
    q = rng.standard_normal((N, L, E))
    k = rng.standard_normal((N, S, extra.get("kdim", E)))
    v = rng.standard_normal((N, S, extra.get("vdim", E)))
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    ins = [q, k, v]
    fi, ti = [fe.tensor(a, requires_grad=True) for a in ins], [_t(torch, a, True) for a in ins]
    for need in (True, False):
        for m in (ours, theirs):
            m.zero_grad()
        for a in fi + ti:
            a.grad = None
        _compare(torch, ours, theirs, fi, ti,
                 lambda m, i: m(*i, key_padding_mask=kpm if m is ours else torch.tensor(kpm), need_weights=need))


def test_mha_unbatched_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _mha_pair(torch, embed_dim=6, num_heads=3)
    x = np.random.default_rng(3).standard_normal((4, 6))
    fx, tx = fe.tensor(x, requires_grad=True), _t(torch, x, True)
    _compare(torch, ours, theirs, [fx], [tx], lambda m, i: m(i[0], i[0], i[0]))
    assert tuple(ours(fx, fx, fx)[1].shape) == (4, 4)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    m = nn.MultiheadAttention(4, 2)
    x = fe.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=np.zeros((2, 5), bool))


def test_mha_dropout_in_training_only():
    fe.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = fe.randn(2, 6, 8)
    a, b = m(x, x, x)[0].detach().numpy(), m(x, x, x)[0].detach().numpy()
    assert a.shape == (2, 6, 8) and not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x, x, x)[0].detach().numpy(), m(x, x, x)[0].detach().numpy())


# ---- Transformer layers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, batch_first, activation):
    torch = pytest.importorskip("torch")
    d, H, L, N = 8, 2, 5, 3
    kw = dict(d_model=d, nhead=H, dim_feedforward=16, dropout=0.1, activation=activation, batch_first=batch_first,
              norm_first=norm_first)
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(**kw, dtype=torch.float64).eval()
    ours = nn.TransformerEncoderLayer(**kw, dtype=fe.float64).eval()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, L, d) if batch_first else (L, N, d))
    mask = torch.tensor(np.triu(np.ones((L, L), bool), 1))
    kpm = np.zeros((N, L), bool)
    kpm[0, -2:] = True
    fx, tx = fe.tensor(x, requires_grad=True), _t(torch, x, True)
    _compare(torch, ours, theirs, [fx], [tx],
             lambda m, i: m(i[0], src_mask=mask.numpy() if m is ours else mask,
                            src_key_padding_mask=kpm if m is ours else torch.tensor(kpm)),
             atol=1e-7 if activation == "gelu" else 1e-10)  # our float64 GELU's erf is good to ~1e-8


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    torch = pytest.importorskip("torch")
    d, H, L, S, N = 8, 4, 4, 6, 2
    kw = dict(d_model=d, nhead=H, dim_feedforward=12, activation="gelu", batch_first=batch_first,
              norm_first=norm_first)
    torch.manual_seed(0)
    theirs = torch.nn.TransformerDecoderLayer(**kw, dtype=torch.float64).eval()
    ours = nn.TransformerDecoderLayer(**kw, dtype=fe.float64).eval()
    rng = np.random.default_rng(1)
    tgt = rng.standard_normal((N, L, d) if batch_first else (L, N, d))
    mem = rng.standard_normal((N, S, d) if batch_first else (S, N, d))
    tmask = np.triu(np.ones((L, L), bool), 1)
    mkpm = np.zeros((N, S), bool)
    mkpm[1, -3:] = True
    fi = [fe.tensor(tgt, requires_grad=True), fe.tensor(mem, requires_grad=True)]
    ti = [_t(torch, tgt, True), _t(torch, mem, True)]

    def call(m, i):
        conv = (lambda a: a) if m is ours else torch.tensor
        return m(i[0], i[1], tgt_mask=conv(tmask), memory_key_padding_mask=conv(mkpm), tgt_is_causal=True)
    _compare(torch, ours, theirs, fi, ti, call, atol=1e-7)  # GELU: our float64 erf is good to ~1e-8


def test_encoder_and_decoder_stacks_match_torch():
    torch = pytest.importorskip("torch")
    d, H = 8, 2
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(d_model=d, nhead=H, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                                  batch_first=True, dtype=torch.float64).eval()
    ours = nn.Transformer(d_model=d, nhead=H, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                          batch_first=True, dtype=fe.float64).eval()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    rng = np.random.default_rng(4)
    src, tgt = rng.standard_normal((2, 6, d)), rng.standard_normal((2, 4, d))
    tmask = nn.Transformer.generate_square_subsequent_mask(4, dtype=fe.float64)
    np.testing.assert_array_equal(tmask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64).numpy())
    fi = [fe.tensor(src, requires_grad=True), fe.tensor(tgt, requires_grad=True)]
    ti = [_t(torch, src, True), _t(torch, tgt, True)]
    _compare(torch, ours, theirs, fi, ti,
             lambda m, i: m(i[0], i[1], tgt_mask=tmask if m is ours else torch.tensor(tmask.numpy())))


def test_encoder_deep_copies_the_layer():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    enc = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.layers[0] is not layer
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.detach().numpy(),
                                  enc.layers[2].linear1.weight.detach().numpy())
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters())) + 2


def test_layer_activation_callable_and_bad_name():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=nn.Tanh(), dropout=0.0)
    assert layer(fe.randn(3, 2, 8)).shape == (3, 2, 8)
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


def test_encoder_layer_dropout_changes_training_output_only():
    fe.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, batch_first=True)
    x = fe.randn(2, 5, 8)
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert a.shape == (2, 5, 8) and not np.allclose(a, b)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


def test_padding_mask_hides_padded_keys():
    """Changing a padded key's token does not change what the others compute."""
    fe.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True).eval()
    x = np.random.default_rng(0).standard_normal((1, 5, 8)).astype(np.float32)
    kpm = np.array([[False, False, False, True, True]])
    a = layer(fe.tensor(x), src_key_padding_mask=kpm).detach().numpy()
    x2 = x.copy()
    x2[0, 3:] += 10
    b = layer(fe.tensor(x2), src_key_padding_mask=kpm).detach().numpy()
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-5)


def test_float32_layer_close_to_float64():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True).eval()
    ours = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True).eval()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 7, 16)).astype(np.float32)
    with torch.no_grad():
        ref = theirs(torch.tensor(x), src_mask=torch.nn.Transformer.generate_square_subsequent_mask(7),
                     is_causal=True).numpy()
    got = ours(fe.tensor(x), src_mask=nn.Transformer.generate_square_subsequent_mask(7), is_causal=True).detach().numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_copy_of_mha_is_independent():
    m = nn.MultiheadAttention(4, 2)
    c = copy.deepcopy(m)
    c.in_proj_weight.data[...] = 0  # noqa: the copy's storage is its own
    assert not np.all(m.in_proj_weight.detach().numpy() == 0)
