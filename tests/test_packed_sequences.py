"""nn.utils.rnn (pad_sequence, PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
unpad_sequence, unpack_sequence) and nn.RNN/LSTM/GRU on a PackedSequence: hard-coded expectations, round
trips and each sequence run alone (no torch needed), then PyTorch with weights copied across: outputs,
h_n/c_n and the gradients of inputs, states and weights in float64."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.autograd import gradcheck
from firstepoch.nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence, pack_sequence,
                                     pad_packed_sequence, pad_sequence, unpack_sequence, unpad_sequence)

KINDS = ["RNN", "LSTM", "GRU"]


def seqs(*rows):
    return [fe.tensor(np.array(r, dtype=np.float64)) for r in rows]


# ---- the sequence tools, without torch -----------------------------------------------------------------------
def test_both_import_styles_reach_one_module():
    import firstepoch.nn.utils.rnn as R
    assert fe.nn.utils.rnn is R and R.pack_padded_sequence is pack_padded_sequence
    assert callable(fe.nn.utils.clip_grad_norm_) and callable(fe.nn.utils.parameters_to_vector)


def test_pad_sequence_right_left_and_batch_first():
    a, b, c = seqs([1, 2, 3], [4], [5, 6])
    np.testing.assert_array_equal(pad_sequence([a, b, c]), [[1, 4, 5], [2, 0, 6], [3, 0, 0]])
    np.testing.assert_array_equal(pad_sequence([a, b, c], batch_first=True, padding_value=-1),
                                  [[1, 2, 3], [4, -1, -1], [5, 6, -1]])
    np.testing.assert_array_equal(pad_sequence([a, b, c], batch_first=True, padding_side="left"),
                                  [[1, 2, 3], [0, 0, 4], [0, 5, 6]])
    two_d = pad_sequence([fe.ones(2, 3), fe.ones(1, 3)])
    assert two_d.shape == (2, 2, 3) and two_d[1, 1].sum().item() == 0
    assert pad_sequence([fe.tensor([1, 2]), fe.tensor([3])]).dtype == np.int64
    np.testing.assert_array_equal(pad_sequence(fe.tensor([[1.0, 2.0], [3.0, 4.0]])), [[1, 3], [2, 4]])  # unbind(0)


def test_pad_sequence_errors():
    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side"):
        pad_sequence(seqs([1]), padding_side="middle")
    with pytest.raises(RuntimeError):
        pad_sequence([fe.ones(2, 3), fe.ones(2, 2)])


def test_pad_sequence_is_differentiable():
    a, b = (fe.tensor(np.arange(n, dtype=np.float64) + 1, requires_grad=True) for n in (3, 2))
    for side in ("right", "left"):
        a.grad = b.grad = None
        padded = pad_sequence([a, b], batch_first=True, padding_side=side)
        weight = np.arange(6.0).reshape(2, 3)
        (padded * fe.tensor(weight)).sum().backward()
        np.testing.assert_array_equal(a.grad, weight[0])
        np.testing.assert_array_equal(b.grad, weight[1, :2] if side == "right" else weight[1, 1:])


def test_pack_padded_sequence_sorted():
    x = fe.tensor(np.array([[1, 4, 7], [2, 5, 0], [3, 0, 0]], dtype=np.float64))  # (T, B), lengths 3, 2, 1
    p = pack_padded_sequence(x, [3, 2, 1])
    assert isinstance(p, PackedSequence) and isinstance(p, tuple) and len(p) == 4
    np.testing.assert_array_equal(p.data, [1, 4, 7, 2, 5, 3])
    np.testing.assert_array_equal(p.batch_sizes, [3, 2, 1])
    assert p.batch_sizes.dtype == np.int64 and p.sorted_indices is None and p.unsorted_indices is None
    q = pack_padded_sequence(x.transpose(0, 1), fe.tensor([3, 2, 1]), batch_first=True)
    np.testing.assert_array_equal(q.data, p.data)


def test_pack_padded_sequence_unsorted_is_stable():
    x = fe.tensor(np.arange(12.0).reshape(2, 6).T)  # (B=6, T=2): x[b, t] = 6 t + b
    p = pack_padded_sequence(x, [1, 2, 1, 2, 1, 1], batch_first=True, enforce_sorted=False)
    np.testing.assert_array_equal(p.sorted_indices, [1, 3, 0, 2, 4, 5])  # equal lengths keep their order
    np.testing.assert_array_equal(p.unsorted_indices, [2, 0, 3, 1, 4, 5])
    np.testing.assert_array_equal(p.batch_sizes, [6, 2])
    np.testing.assert_array_equal(p.data, [1, 3, 0, 2, 4, 5, 7, 9])


def test_pack_padded_sequence_errors():
    x = fe.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(x, [3, 4, 2])
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [4, 0, 2], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="batch_size"):
        pack_padded_sequence(x, [4, 3])
    with pytest.raises(RuntimeError, match="empty"):
        pack_padded_sequence(fe.zeros(0, 0, 2), [])
    with pytest.raises(RuntimeError, match="longer"):  # torch reads past the input here
        pack_padded_sequence(x, [5, 3, 2])


def test_pack_then_pad_round_trip_with_unsorted_lengths(rng):
    lengths = [2, 5, 1, 5, 3]
    x = rng.standard_normal((5, 5, 3))
    for batch_first in (False, True):
        padded = np.zeros_like(x)
        for b, n in enumerate(lengths):
            if batch_first:
                padded[b, :n] = x[b, :n]
            else:
                padded[:n, b] = x[:n, b]
        p = pack_padded_sequence(fe.tensor(padded), lengths, batch_first=batch_first, enforce_sorted=False)
        assert p.data.shape == (sum(lengths), 3)
        back, got = pad_packed_sequence(p, batch_first=batch_first)
        np.testing.assert_array_equal(back, padded)
        np.testing.assert_array_equal(got, lengths)
        assert got.dtype == np.int64
        longer, _ = pad_packed_sequence(p, batch_first=batch_first, padding_value=7.0, total_length=7)
        assert longer.shape == ((5, 7, 3) if batch_first else (7, 5, 3))
        assert (longer[:, 5:] if batch_first else longer[5:]).numpy().min() == 7.0
        with pytest.raises(ValueError, match="total_length=4"):
            pad_packed_sequence(p, total_length=4)


def test_pack_sequence_unpack_and_unpad(rng):
    sequences = [fe.tensor(rng.standard_normal((n, 2))) for n in (2, 4, 1)]
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        pack_sequence(sequences)
    p = pack_sequence(sequences, enforce_sorted=False)
    np.testing.assert_array_equal(p.batch_sizes, [3, 2, 1, 1])
    for got, want in zip(unpack_sequence(p), sequences):
        np.testing.assert_array_equal(got, want)
    padded = pad_sequence(sequences)
    for got, want in zip(unpad_sequence(padded, fe.tensor([2, 4, 1])), sequences):
        np.testing.assert_array_equal(got, want)
    assert padded.shape == (4, 3, 2)  # left as it was (torch transposes it in place)
    for got, want in zip(unpad_sequence(padded.transpose(0, 1), [2, 4, 1], batch_first=True), sequences):
        np.testing.assert_array_equal(got, want)


def test_packing_is_differentiable(rng):
    x = fe.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    lengths = [2, 4, 3]
    p = pack_padded_sequence(x, lengths, enforce_sorted=False)
    weight = rng.standard_normal(p.data.shape)
    (p.data * fe.tensor(weight)).sum().backward()
    mask = np.arange(4)[:, None] < np.array(lengths)[None, :]
    assert np.all(x.grad.numpy()[~mask] == 0) and np.all(x.grad.numpy()[mask] != 0)
    assert gradcheck(lambda t: pad_packed_sequence(pack_padded_sequence(t, lengths, enforce_sorted=False),
                                                   batch_first=True, total_length=5)[0], [x.detach().requires_grad_()])
    assert gradcheck(lambda a, b: unpack_sequence(pack_sequence([a, b], enforce_sorted=False))[0],
                     [fe.tensor(rng.standard_normal((2, 3)), requires_grad=True),
                      fe.tensor(rng.standard_normal((3, 3)), requires_grad=True)])


def test_packed_sequence_tuple_and_to():
    data, sizes = fe.ones(3, 2), fe.tensor([2, 1])
    p = PackedSequence(data, sizes, fe.tensor([1, 0]))
    np.testing.assert_array_equal(p.unsorted_indices, [1, 0])
    d, b, s, u = p
    assert d is data and b is sizes
    assert PackedSequence((data, sizes)).batch_sizes is sizes
    assert p.to(fe.float32) is p and p.float() is p and not p.is_cuda
    q = p.double()
    assert q.data.dtype == np.float64 and q.batch_sizes is sizes and q.sorted_indices is p.sorted_indices
    assert invert_permutation(None) is None
    np.testing.assert_array_equal(invert_permutation(fe.tensor([2, 0, 1])), [1, 2, 0])


# ---- recurrent layers on a PackedSequence, without torch -------------------------------------------------------
def _layer(kind, seed, **kw):
    fe.manual_seed(seed)
    return getattr(nn, kind)(3, 4, dtype=np.float64, **kw)


@pytest.mark.parametrize("kind", KINDS)
def test_h_n_is_the_output_at_each_own_last_step(rng, kind):
    layer = _layer(kind, 0)
    lengths = [3, 1, 5, 2]
    x = fe.tensor(rng.standard_normal((5, 4, 3)))
    out, h = layer(pack_padded_sequence(x, lengths, enforce_sorted=False))
    h = h[0] if kind == "LSTM" else h
    assert isinstance(out, PackedSequence) and out.data.shape == (sum(lengths), 4)
    assert out.batch_sizes is not None and out.sorted_indices is not None
    padded, got = pad_packed_sequence(out)
    np.testing.assert_array_equal(got, lengths)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(h[0, b], padded[n - 1, b])
        assert np.all(padded[n:, b].detach().numpy() == 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_batch_equals_each_sequence_alone(rng, kind, batch_first):
    """Each sequence run by itself through the ordinary forward gives its slice of the packed output
    and its own h_n/c_n (two layers, both directions, a given initial state)."""
    layer = _layer(kind, 1, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = [2, 4, 1, 4, 3]
    T, B = max(lengths), len(lengths)
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    h0, c0 = rng.standard_normal((2, 4, B, 4))
    hx = (fe.tensor(h0), fe.tensor(c0)) if kind == "LSTM" else fe.tensor(h0)
    out, h = layer(pack_padded_sequence(fe.tensor(x), lengths, batch_first=batch_first, enforce_sorted=False), hx)
    padded, _ = pad_packed_sequence(out, batch_first=batch_first)
    for b, n in enumerate(lengths):
        xb = x[b:b + 1, :n] if batch_first else x[:n, b:b + 1]
        hb = (fe.tensor(h0[:, b:b + 1]), fe.tensor(c0[:, b:b + 1])) if kind == "LSTM" else fe.tensor(h0[:, b:b + 1])
        out_b, h_b = layer(fe.tensor(xb), hb)
        want = out_b.detach().numpy()[0] if batch_first else out_b.detach().numpy()[:, 0]
        np.testing.assert_allclose(padded[b, :n] if batch_first else padded[:n, b], want, rtol=1e-13, atol=1e-14)
        for got_state, want_state in (zip(h, h_b) if kind == "LSTM" else [(h, h_b)]):
            np.testing.assert_allclose(got_state[:, b], want_state[:, 0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_layer_gradcheck(rng, kind):
    layer = _layer(kind, 2, bidirectional=True)
    lengths = [1, 3, 2]

    def run(x, *weights):
        out, h = layer(pack_padded_sequence(x, lengths, enforce_sorted=False))
        h = h[1] if kind == "LSTM" else h  # c_n for the LSTM
        return fe.cat([out.data.reshape(-1), h.reshape(-1)])

    x = fe.tensor(rng.standard_normal((3, 3, 3)), requires_grad=True)
    assert gradcheck(run, [x] + list(layer.parameters()))


def test_packed_layer_errors(rng):
    gru = _layer("GRU", 0)
    p = pack_sequence([fe.tensor(rng.standard_normal((2, 3)))])
    with pytest.raises(RuntimeError, match="2 dimensions"):
        gru(PackedSequence(fe.zeros(2, 1, 3), p.batch_sizes))
    with pytest.raises(RuntimeError, match="features"):  # torch's class, as for a padded input
        gru(pack_sequence([fe.zeros(2, 5)]))
    with pytest.raises(RuntimeError, match="shape"):
        gru(p, fe.zeros(1, 2, 4))  # the batch has one sequence


# ---- against PyTorch --------------------------------------------------------------------------------------------
def _torch_copy(torch, ours, kind, kw):
    theirs = getattr(torch.nn, kind)(3, 4, **kw).double()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(getattr(ours, name).detach().numpy().astype(np.float64)))
    return theirs


CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True),
           dict(num_layers=3, bidirectional=True, batch_first=True),
           dict(batch_first=True, bias=False)]
LENGTHS = [([4, 1, 3, 4, 2, 1], False), ([5, 3, 3, 1], True), ([1], True), ([3], False), ([1, 1, 1], True)]


@pytest.mark.parametrize("kind", KINDS + ["RNN_relu"])
@pytest.mark.parametrize("config", range(len(CONFIGS)))
@pytest.mark.parametrize("with_hx", [False, True])
def test_packed_layers_match_pytorch(rng, kind, config, with_hx):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as tr
    name = kind.split("_")[0]
    kw = dict(CONFIGS[config], nonlinearity="relu") if kind == "RNN_relu" else dict(CONFIGS[config])
    fe.manual_seed(config)
    ours = getattr(nn, name)(3, 4, dtype=np.float64, **kw)
    theirs = _torch_copy(torch, ours, name, kw)
    bf = kw.get("batch_first", False)
    DL = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    worst = 0.0
    for lengths, enforce_sorted in LENGTHS:
        T, B = max(lengths), len(lengths)
        x = rng.standard_normal((B, T, 3) if bf else (T, B, 3))
        h0, c0 = rng.standard_normal((2, DL, B, 4))
        X, H0, C0 = (fe.tensor(a, requires_grad=True) for a in (x, h0, c0))
        Xt, H0t, C0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
        hx = ((H0, C0) if name == "LSTM" else H0) if with_hx else None
        hxt = ((H0t, C0t) if name == "LSTM" else H0t) if with_hx else None
        p = pack_padded_sequence(X, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
        pt = tr.pack_padded_sequence(Xt, torch.tensor(lengths), batch_first=bf, enforce_sorted=enforce_sorted)
        out, h = ours(p, hx)
        out_t, h_t = theirs(pt, hxt)
        states = list(h) if name == "LSTM" else [h]
        states_t = list(h_t) if name == "LSTM" else [h_t]
        np.testing.assert_array_equal(out.batch_sizes, out_t.batch_sizes.numpy())
        for mine, ref in ((out.sorted_indices, out_t.sorted_indices), (out.unsorted_indices, out_t.unsorted_indices)):
            assert (mine is None) == (ref is None) and (ref is None or np.array_equal(mine, ref.numpy()))
        pairs = [(out.data, out_t.data)] + list(zip(states, states_t))
        for mine, ref in pairs:
            worst = max(worst, np.abs(mine.detach().numpy() - ref.detach().numpy()).max())
        loss, loss_t = 0, 0
        for mine, ref in pairs:
            g = rng.standard_normal(ref.shape)
            loss = loss + (mine * fe.tensor(g)).sum()
            loss_t = loss_t + (ref * torch.from_numpy(g)).sum()
        ours.zero_grad()
        theirs.zero_grad()
        loss.backward()
        loss_t.backward()
        grads = [(X.grad, Xt.grad)] + ([(H0.grad, H0t.grad)] if with_hx else [])
        grads += [(C0.grad, C0t.grad)] if with_hx and name == "LSTM" else []
        grads += [(getattr(ours, n).grad, p_t.grad) for n, p_t in theirs.named_parameters()]
        for mine, ref in grads:
            worst = max(worst, np.abs(mine.numpy() - ref.numpy()).max())
    assert worst < 1e-12, worst


def test_packed_float32_layer_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as tr
    fe.manual_seed(0)
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    theirs = _torch_copy(torch, ours, "LSTM", dict(num_layers=2, bidirectional=True)).float()
    lengths = [2, 5, 1]
    x = rng.standard_normal((5, 3, 3)).astype(np.float32)
    out, (h, c) = ours(pack_padded_sequence(fe.tensor(x), lengths, enforce_sorted=False))
    out_t, (h_t, c_t) = theirs(tr.pack_padded_sequence(torch.from_numpy(x), lengths, enforce_sorted=False))
    for mine, ref in ((out.data, out_t.data), (h, h_t), (c, c_t)):
        np.testing.assert_allclose(mine, ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sequence_tools_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as tr
    arrays = [rng.standard_normal((n, 2)) for n in (3, 1, 4, 4, 2)]
    ours = [fe.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for batch_first in (False, True):
        for side in ("right", "left"):
            got = pad_sequence(ours, batch_first, 1.5, side)
            want = tr.pad_sequence(theirs, batch_first, 1.5, side)
            np.testing.assert_array_equal(got, want.detach().numpy())
        p = pack_sequence(ours, enforce_sorted=False)
        pt = tr.pack_sequence(theirs, enforce_sorted=False)
        for mine, ref in zip(p, pt):
            np.testing.assert_array_equal(mine, ref.detach().numpy())
        padded, lengths = pad_packed_sequence(p, batch_first, -2.0, 6)
        padded_t, lengths_t = tr.pad_packed_sequence(pt, batch_first, -2.0, 6)
        np.testing.assert_array_equal(padded, padded_t.detach().numpy())
        np.testing.assert_array_equal(lengths, lengths_t.numpy())
        assert lengths.dtype == np.int64 and lengths_t.dtype == torch.int64
        for mine, ref in zip(unpack_sequence(p), tr.unpack_sequence(pt)):
            np.testing.assert_array_equal(mine, ref.detach().numpy())
        weight = rng.standard_normal(padded.shape)
        (padded * fe.tensor(weight)).sum().backward()
        (padded_t * torch.from_numpy(weight)).sum().backward()
        for mine, ref in zip(ours, theirs):
            np.testing.assert_array_equal(mine.grad, ref.grad.numpy())
