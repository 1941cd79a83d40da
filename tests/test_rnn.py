"""Recurrent layers: the fused C++ forward and backward through time against the NumPy step-by-step
reference at every ISA and both dtypes (RNN tanh/ReLU, LSTM, GRU, both directions, edge sizes, 500
steps); nn.RNN/LSTM/GRU and the cells against PyTorch when importable (outputs and every gradient,
multi-layer, bidirectional, batch_first, unbatched, state dicts); thread counts bitwise; bad shapes."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import _C
from firstepoch.autograd import gradcheck
from firstepoch.ops.rnn import MODES, RNNFn, packed_slices
from firstepoch.reference import rnn as R

DTYPES = [np.float32, np.float64]
SIZES = [(5, 3, 4, 6), (1, 1, 1, 1), (4, 1, 3, 1), (1, 5, 2, 3), (7, 33, 9, 20), (3, 32, 16, 17)]  # T, N, I, H


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def make_layer(rng, mode, T, N, I, H, dtype, bias=True, scale=0.5):
    G = MODES[mode]
    a = lambda *s: (rng.standard_normal(s) * scale).astype(dtype)  # noqa: E731
    return dict(x=a(T, N, I) / scale, h0=a(N, H), c0=a(N, H) if mode == "lstm" else None, w_ih=a(G * H, I),
                w_hh=a(G * H, H), b_ih=a(G * H) if bias else None, b_hh=a(G * H) if bias else None)


def reference(mode, p, reverse, dout, dh_n, dc_n):
    """(out, h_n, c_n, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh) of the NumPy reference."""
    out, h_n, c_n, cache = R.rnn_forward(p["x"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], p["h0"], p["c0"], mode,
                                         reverse)
    return (out, h_n, c_n) + R.rnn_backward(dout, dh_n, dc_n, cache)


GRADS = ("dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh")  # rnn_backward's outputs, in its order


def kernel_buffers(mode, p, fill=None, grads=GRADS):
    """Every buffer the kernels write, for the layer p: out, workspace, dh0, dc0 (an LSTM's, else None)
    and the gradients named in grads (the others None), filled with `fill` (None: uninitialised)."""
    T, N, I = p["x"].shape
    H, GH, dt = p["w_hh"].shape[1], p["w_hh"].shape[0], p["x"].dtype
    shapes = {"out": (T + (2 if mode == "lstm" else 1), N, H), "workspace": (_C.rnn_workspace_size(mode, T, N, H),),
              "dx": (T, N, I), "dh0": (N, H), "dc0": (N, H), "dw_ih": (GH, I), "dw_hh": (GH, H), "db_ih": (GH,),
              "db_hh": (GH,)}
    wanted = ({"out", "workspace", "dh0", "dc0"} | set(grads)) - ({"dc0"} if mode != "lstm" else set())
    buf = {k: (np.empty(v, dt) if k in wanted else None) for k, v in shapes.items()}
    if fill is not None:
        for v in buf.values():
            if v is not None:
                v[...] = fill(v.shape) if callable(fill) else fill
    return buf


def run_kernel(mode, p, reverse, dpacked, fill=None, grads=GRADS):
    """out and the gradients (rnn_backward's order, None where not asked for) of the kernels, written
    into buffers prefilled with `fill`."""
    b = kernel_buffers(mode, p, fill, grads)
    _C.rnn_forward(p["x"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], p["h0"], p["c0"], b["out"], b["workspace"], mode,
                   reverse)
    _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"], b["workspace"], dpacked, *(b[g] for g in GRADS), mode,
                    reverse)
    return b["out"], tuple(b[g] for g in GRADS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", list(MODES))
def test_kernels_match_reference(isa, rng, mode, dtype):
    for (T, N, I, H) in SIZES:
        for reverse in (False, True):
            p = make_layer(rng, mode, T, N, I, H, dtype, bias=(T + N) % 2 == 0 or reverse)
            S = T + (2 if mode == "lstm" else 1)
            dpacked = rng.standard_normal((S, N, H)).astype(dtype)
            out, grads = run_kernel(mode, p, reverse, dpacked)
            sl, hi, ci = packed_slices(mode, T, reverse)
            # The packed gradient: the outputs' slots, plus h_n's own slot (an output slot too) and c_n's.
            dout = dpacked[sl]
            h0_slot = T if reverse else 0
            ref = reference(mode, p, reverse, dout, np.zeros((N, H), dtype), dpacked[ci] if ci else None)
            np.testing.assert_allclose(out[sl], ref[0], **tol(dtype))
            np.testing.assert_allclose(out[hi], ref[1], **tol(dtype))
            np.testing.assert_array_equal(out[h0_slot], p["h0"])
            if mode == "lstm":
                np.testing.assert_allclose(out[ci], ref[2], **tol(dtype))
            dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = grads
            np.testing.assert_allclose(dx, ref[3], **tol(dtype))
            np.testing.assert_allclose(dh0, ref[4] + dpacked[h0_slot], **tol(dtype))
            if mode == "lstm":
                np.testing.assert_allclose(dc0, ref[5], **tol(dtype))
            else:
                assert dc0 is None
            np.testing.assert_allclose(dw_ih, ref[6], **tol(dtype))
            np.testing.assert_allclose(dw_hh, ref[7], **tol(dtype))
            if p["b_ih"] is not None:
                np.testing.assert_allclose(db_ih, ref[8], **tol(dtype))
                np.testing.assert_allclose(db_hh, ref[9], **tol(dtype))


def test_long_sequence_of_500_steps(rng):
    """No recursion or per-step Python: 500 steps forward and backward, against the reference."""
    for mode in ("lstm", "gru", "rnn_tanh"):
        p = make_layer(rng, mode, 500, 2, 3, 4, np.float64)
        S = 500 + (2 if mode == "lstm" else 1)
        dpacked = rng.standard_normal((S, 2, 4))
        out, grads = run_kernel(mode, p, False, dpacked)
        sl, hi, ci = packed_slices(mode, 500, False)
        ref = reference(mode, p, False, dpacked[sl], np.zeros((2, 4)), dpacked[ci] if ci else None)
        np.testing.assert_allclose(out[sl], ref[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[3], ref[6], rtol=1e-9, atol=1e-11)  # dw_ih sums all 500 steps
        np.testing.assert_allclose(grads[0], ref[3], rtol=1e-9, atol=1e-11)
    lstm = nn.LSTM(3, 8)
    x = fe.randn(500, 2, 3, requires_grad=True)
    out, (h, c) = lstm(x)
    (out.sum() + c.sum()).backward()
    assert np.isfinite(x.grad).all() and x.grad.shape == (500, 2, 3)


def test_sequence_equals_the_cell_stepped(rng):
    """The sequence kernel (weights packed once, the step's products fused) against the cell called step
    by step (the weights read in place): the GRU's arithmetic is the same to the bit; RNN and LSTM sum
    W_ih x + W_hh h as one product over I + H in the sequence and as two in a single step."""
    for cls, cell_cls in ((nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell), (nn.RNN, nn.RNNCell)):
        fe.manual_seed(1)
        seq = cls(5, 19)
        cell = cell_cls(5, 19)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name)._data[...] = getattr(seq, name + "_l0")._data
        x = fe.tensor(rng.standard_normal((6, 33, 5)).astype(np.float32))
        out = seq(x)[0]._data
        state = None
        for t in range(6):
            state = cell(x[t], state)
            h = state[0] if isinstance(state, tuple) else state
            if cls is nn.GRU:
                assert np.array_equal(h._data, out[t]), f"{cls.__name__} step {t}"
            else:
                np.testing.assert_allclose(h._data, out[t], rtol=1e-5, atol=1e-6, err_msg=f"{cls.__name__} step {t}")


def test_gradcheck_modules():
    """float64 finite differences through whole modules: two layers, both directions, given states."""
    rng = np.random.default_rng(3)
    for cls in (nn.LSTM, nn.GRU, nn.RNN):
        fe.manual_seed(0)
        m = cls(3, 2, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64)
        x = fe.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
        h0 = fe.tensor(rng.standard_normal((4, 2, 2)) * 0.5, requires_grad=True)
        if cls is nn.LSTM:
            c0 = fe.tensor(rng.standard_normal((4, 2, 2)) * 0.5, requires_grad=True)

            def f(x, h0, c0, *params):
                out, (h, c) = m(x, (h0, c0))
                return fe.cat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])
            gradcheck(f, [x, h0, c0] + list(m.parameters()))
        else:
            def f(x, h0, *params):
                out, h = m(x, h0)
                return fe.cat([out.reshape(-1), h.reshape(-1)])
            gradcheck(f, [x, h0] + list(m.parameters()))


def test_layer_gradcheck_cases_cover_every_mode():
    modes = {args[7] for args, _ in RNNFn.gradcheck_cases(np.random.default_rng(0))}
    assert modes == set(MODES)


# ---- PyTorch -------------------------------------------------------------------------------------------

def _torch_module(torch, cls_name, kwargs, ours):
    theirs = getattr(torch.nn, cls_name)(**kwargs).double()
    theirs.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in ours.state_dict().items()})
    return theirs


def _compare_grads(ours, theirs, rtol, atol):
    named = dict(theirs.named_parameters())
    assert set(named) == {n for n, _ in ours.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


CONFIGS = [dict(num_layers=2, bidirectional=True, batch_first=True), dict(num_layers=1), dict(num_layers=3, bias=False),
           dict(num_layers=2, bidirectional=True), dict(batch_first=True, bidirectional=True, bias=False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "RNN_relu"])
@pytest.mark.parametrize("config", range(len(CONFIGS)))
def test_modules_match_pytorch(rng, kind, dtype, config):
    torch = pytest.importorskip("torch")
    kw = dict(CONFIGS[config], input_size=5, hidden_size=7)
    name = kind.split("_")[0]
    if kind == "RNN_relu":
        kw["nonlinearity"] = "relu"
    fe.manual_seed(config)
    ours = getattr(nn, name)(**kw, dtype=dtype)
    theirs = _torch_module(torch, name, kw, ours)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    T, N = 6, 4
    xs = (N, T, 5) if kw.get("batch_first") else (T, N, 5)
    x = rng.standard_normal(xs).astype(dtype)
    h0 = rng.standard_normal((D * L, N, 7)).astype(dtype)
    c0 = rng.standard_normal((D * L, N, 7)).astype(dtype)
    X, H0, C0 = (fe.tensor(a, requires_grad=True) for a in (x, h0, c0))
    Xt, H0t, C0t = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, h0, c0))
    if name == "LSTM":
        out, (h, c) = ours(X, (H0, C0))
        out_t, (h_t, c_t) = theirs(Xt, (H0t, C0t))
    else:
        out, h = ours(X, H0)
        out_t, h_t = theirs(Xt, H0t)
    rtol, atol = (1e-4, 2e-5) if dtype == np.float32 else (1e-10, 1e-11)
    np.testing.assert_allclose(out._data, out_t.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(h._data, h_t.detach().numpy(), rtol=rtol, atol=atol)
    g_out = rng.standard_normal(out.shape)
    g_h = rng.standard_normal(h.shape)
    loss = (out * fe.tensor(g_out.astype(dtype))).sum() + (h * fe.tensor(g_h.astype(dtype))).sum()
    loss_t = (out_t * torch.from_numpy(g_out)).sum() + (h_t * torch.from_numpy(g_h)).sum()
    if name == "LSTM":
        np.testing.assert_allclose(c._data, c_t.detach().numpy(), rtol=rtol, atol=atol)
        g_c = rng.standard_normal(c.shape)
        loss = loss + (c * fe.tensor(g_c.astype(dtype))).sum()
        loss_t = loss_t + (c_t * torch.from_numpy(g_c)).sum()
        loss.backward()
        loss_t.backward()
        np.testing.assert_allclose(C0.grad, C0t.grad.numpy(), rtol=rtol, atol=atol)
    else:
        loss.backward()
        loss_t.backward()
    np.testing.assert_allclose(X.grad, Xt.grad.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(H0.grad, H0t.grad.numpy(), rtol=rtol, atol=atol)
    _compare_grads(ours, theirs, rtol, 10 * atol)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_and_default_state_match_pytorch(rng, kind):
    torch = pytest.importorskip("torch")
    kw = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    fe.manual_seed(0)
    ours = getattr(nn, kind)(**kw, dtype=np.float64)
    theirs = _torch_module(torch, kind, kw, ours)
    x = rng.standard_normal((5, 3))  # (T, I): no batch axis
    X, Xt = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, state = ours(X)
    out_t, state_t = theirs(Xt)
    assert out.shape == tuple(out_t.shape) == (5, 8)
    h, h_t = (state[0], state_t[0]) if kind == "LSTM" else (state, state_t)
    assert h.shape == tuple(h_t.shape) == (4, 4)
    np.testing.assert_allclose(out._data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h._data, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out.sum() + h.sum()).backward()
    (out_t.sum() + h_t.sum()).backward()
    np.testing.assert_allclose(X.grad, Xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    _compare_grads(ours, theirs, 1e-9, 1e-11)
    # an unbatched given state (D*L, H)
    h0 = rng.standard_normal((4, 4))
    args = ((fe.tensor(h0), fe.tensor(h0)), (torch.tensor(h0), torch.tensor(h0))) if kind == "LSTM" else \
        (fe.tensor(h0), torch.tensor(h0))
    np.testing.assert_allclose(ours(X, args[0])[0]._data, theirs(Xt, args[1])[0].detach().numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell_relu"])
def test_cells_match_pytorch(rng, kind, dtype):
    torch = pytest.importorskip("torch")
    name = kind.split("_")[0]
    kw = dict(input_size=5, hidden_size=6)
    if kind.endswith("relu"):
        kw["nonlinearity"] = "relu"
    fe.manual_seed(2)
    ours = getattr(nn, name)(**kw, dtype=dtype)
    theirs = _torch_module(torch, name, kw, ours)
    rtol, atol = (1e-4, 2e-5) if dtype == np.float32 else (1e-10, 1e-12)
    for batch in (3, None):  # batched and unbatched
        lead = (batch,) if batch else ()
        x = rng.standard_normal(lead + (5,)).astype(dtype)
        h = rng.standard_normal(lead + (6,)).astype(dtype)
        c = rng.standard_normal(lead + (6,)).astype(dtype)
        X, Hh, C = (fe.tensor(a, requires_grad=True) for a in (x, h, c))
        Xt, Ht, Ct = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, h, c))
        ours.zero_grad()
        theirs.zero_grad()
        if name == "LSTMCell":
            h1, c1 = ours(X, (Hh, C))
            h1t, c1t = theirs(Xt, (Ht, Ct))
            (h1 * 2 + c1 * 3).sum().backward()
            (h1t * 2 + c1t * 3).sum().backward()
            np.testing.assert_allclose(c1._data, c1t.detach().numpy(), rtol=rtol, atol=atol)
            np.testing.assert_allclose(C.grad, Ct.grad.numpy(), rtol=rtol, atol=atol)
        else:
            h1, h1t = ours(X, Hh), theirs(Xt, Ht)
            (h1 * 2).sum().backward()
            (h1t * 2).sum().backward()
        assert h1.shape == tuple(h1t.shape)
        np.testing.assert_allclose(h1._data, h1t.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(X.grad, Xt.grad.numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(Hh.grad, Ht.grad.numpy(), rtol=rtol, atol=atol)
        _compare_grads(ours, theirs, rtol, 10 * atol)
    # default (zero) state
    x = rng.standard_normal((2, 5)).astype(dtype)
    got = ours(fe.tensor(x))
    want = theirs(torch.tensor(x.astype(np.float64)))
    got, want = (got[0], want[0]) if name == "LSTMCell" else (got, want)
    np.testing.assert_allclose(got._data, want.detach().numpy(), rtol=rtol, atol=atol)


def test_parameter_names_shapes_and_init_match_pytorch():
    torch = pytest.importorskip("torch")
    for kind, G in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
        ours = getattr(nn, kind)(10, 16, num_layers=2, bidirectional=True)
        theirs = getattr(torch.nn, kind)(10, 16, num_layers=2, bidirectional=True)
        ours_sd = ours.state_dict()
        assert list(ours_sd) == list(theirs.state_dict())
        for k, v in theirs.state_dict().items():
            assert ours_sd[k].shape == tuple(v.shape), k
        assert ours.weight_ih_l1_reverse.shape == (G * 16, 32)
        bound = 1 / 4  # U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias
        values = np.concatenate([p._data.reshape(-1) for p in ours.parameters()])
        assert all(p.dtype == np.float32 for p in ours.parameters())
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
        assert abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound


# ---- behaviour -----------------------------------------------------------------------------------------

def test_non_contiguous_inputs(rng):
    fe.manual_seed(0)
    lstm = nn.LSTM(4, 5, batch_first=True)
    base = rng.standard_normal((3, 12, 8)).astype(np.float32)
    view = base[:, ::2, ::2]  # (3, 6, 4), strided in two axes
    assert not view.flags.c_contiguous
    X1 = fe.tensor(view, requires_grad=True)
    X2 = fe.tensor(np.ascontiguousarray(view), requires_grad=True)
    h0 = fe.tensor(rng.standard_normal((1, 5, 3)).astype(np.float32)).transpose(1, 2)  # a transposed state
    c0 = fe.zeros(1, 3, 5)
    out1, _ = lstm(X1, (h0, c0))
    out2, _ = lstm(X2, (fe.tensor(np.ascontiguousarray(h0._data)), c0))
    assert np.array_equal(out1._data, out2._data)
    out1.sum().backward()
    out2.sum().backward()
    assert np.array_equal(X1.grad, X2.grad)


@pytest.mark.parametrize("mode", list(MODES))
def test_thread_count_gives_the_same_bits(rng, threads, mode):
    # big enough that the per-step products, the gate kernels and the weight gradients split over
    # threads (7 is above the time loop's cap of 4, so the loop and the all-steps GEMMs differ there)
    p = make_layer(rng, mode, 5, 40, 64, 130, np.float32)
    S = 5 + (2 if mode == "lstm" else 1)
    dpacked = rng.standard_normal((S, 40, 130)).astype(np.float32)
    results = []
    for n in (1, 2, 3, 7):
        fe.set_num_threads(n)
        for reverse in (False, True):
            out, grads = run_kernel(mode, p, reverse, dpacked)
            results.append((n, reverse, out, grads))
    for n, reverse, out, grads in results[2:]:
        ref = results[int(reverse)]
        assert np.array_equal(out, ref[2]), (n, reverse)
        for a, b in zip(grads, ref[3]):
            assert (a is None and b is None) or np.array_equal(a, b), (n, reverse)


def test_dropout_between_layers_only_while_training():
    fe.manual_seed(0)
    m = nn.GRU(3, 6, num_layers=2, dropout=0.5)
    x = fe.randn(4, 2, 3)
    m.eval()
    a, b = m(x)[0]._data, m(x)[0]._data
    assert np.array_equal(a, b)
    m.train()
    c = m(x)[0]._data
    assert not np.allclose(a, c)
    with pytest.warns(UserWarning, match="expects num_layers greater than 1"):  # torch's warning
        one = nn.GRU(3, 6, num_layers=1, dropout=0.5)  # a single layer has no layer to drop between
    one.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("l0")})
    assert np.array_equal(one(x)[0]._data, one.eval()(x)[0]._data)


def test_module_errors():
    lstm = nn.LSTM(4, 5, num_layers=2)
    # a size that does not match is a RuntimeError, a wrong rank a ValueError, as in torch
    with pytest.raises(RuntimeError, match=r"input has 3 features \(shape \(6, 2, 3\)\), expected input_size=4"):
        lstm(fe.randn(6, 2, 3))
    with pytest.raises(RuntimeError, match=r"h_0 has shape \(1, 2, 5\), expected \(2, 2, 5\)"):
        lstm(fe.randn(6, 2, 4), (fe.zeros(1, 2, 5), fe.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match=r"c_0 has shape \(2, 3, 5\), expected \(2, 2, 5\)"):
        lstm(fe.randn(6, 2, 4), (fe.zeros(2, 2, 5), fe.zeros(2, 3, 5)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(fe.randn(6, 2, 4), fe.zeros(2, 2, 5))
    with pytest.raises(ValueError, match=r"input must be 3-D"):
        lstm(fe.randn(2, 6, 2, 4))
    with pytest.raises(ValueError, match="dtype"):  # as torch
        lstm(fe.randn(6, 2, 4).double())
    gru = nn.GRU(4, 5, bidirectional=True, batch_first=True)
    with pytest.raises(RuntimeError, match=r"hx has shape \(1, 3, 5\), expected \(2, 3, 5\)"):
        gru(fe.randn(3, 6, 4), fe.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)
    cell = nn.LSTMCell(4, 5)
    with pytest.raises(RuntimeError, match=r"input has inconsistent input_size: got 3 expected 4"):
        cell(fe.randn(2, 3))
    with pytest.raises(RuntimeError, match=r"h has shape \(3, 5\), expected \(2, 5\)"):
        cell(fe.randn(2, 4), (fe.zeros(3, 5), fe.zeros(2, 5)))
    with pytest.raises(RuntimeError, match=r"hx has shape \(2, 6\), expected \(2, 5\)"):
        nn.GRUCell(4, 5)(fe.randn(2, 4), fe.zeros(2, 6))


def test_kernel_argument_errors(rng):
    p = make_layer(rng, "lstm", 4, 3, 5, 6, np.float32)
    args = lambda **kw: {**p, **kw}  # noqa: E731

    def fwd(mode="lstm", **kw):
        a = args(**kw)
        b = kernel_buffers("lstm", p)  # the argument under test is checked before the buffers
        return _C.rnn_forward(a["x"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"], a["h0"], a["c0"], b["out"],
                              b["workspace"], mode, False)
    with pytest.raises(ValueError, match=r"w_ih must have shape \(24, 5\) for input x \(4, 3, 5\)"):
        fwd(w_ih=np.zeros((24, 4), np.float32))
    with pytest.raises(ValueError, match=r"w_hh must have shape \(4 \* hidden_size, hidden_size\).*got \(20, 6\)"):
        fwd(w_hh=np.zeros((20, 6), np.float32))
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 6\).*got \(2, 6\)"):
        fwd(h0=np.zeros((2, 6), np.float32))
    with pytest.raises(ValueError, match=r"c0 must have shape \(3, 6\).*got \(3, 5\)"):
        fwd(c0=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"b_hh must have shape \(24,\)"):
        fwd(b_hh=np.zeros(23, np.float32))
    with pytest.raises(TypeError, match=r"w_hh must have dtype float32, got float64"):
        fwd(w_hh=p["w_hh"].astype(np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        fwd(x=np.zeros((4, 6, 5), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="mode must be"):
        fwd(mode="lstmx")
    with pytest.raises(ValueError, match="c0 is only for an LSTM"):
        fwd(mode="gru", w_ih=np.zeros((18, 5), np.float32), w_hh=np.zeros((18, 6), np.float32), b_ih=None, b_hh=None)
    with pytest.raises(ValueError, match=r"x \(0, 3, 5\) must be \(seq_len, batch, input_size\)"):
        fwd(x=np.zeros((0, 3, 5), np.float32))
    b = kernel_buffers("lstm", p)
    fwd_args = (p["x"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], p["h0"], p["c0"])
    _C.rnn_forward(*fwd_args, b["out"], b["workspace"], "lstm")
    with pytest.raises(ValueError, match=r"dout must have shape \(6, 3, 6\)"):
        _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"], b["workspace"], b["out"][:5].copy(),
                        *(b[g] for g in GRADS), "lstm")
    with pytest.raises(ValueError, match=r"out must have shape \(6, 3, 6\) \(from rnn_forward"):
        _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"][:5].copy(), b["workspace"], b["out"],
                        *(b[g] for g in GRADS), "lstm")
    # through the Function, the kernel's check names the argument
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 6\).*got \(2, 6\)"):
        RNNFn.apply(fe.tensor(p["x"]), fe.tensor(p["w_ih"]), fe.tensor(p["w_hh"]), None, None, fe.zeros(2, 6),
                    fe.tensor(p["c0"]), "lstm", False)


def assert_same_bits(got, want):
    for name, g, w in zip(GRADS, got, want):
        assert (g is None and w is None) or np.array_equal(g, w), name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", list(MODES))
def test_kernels_overwrite_every_buffer(isa, rng, mode, dtype):
    """out, the workspace and every gradient are overwritten: buffers prefilled with NaN, Inf or garbage
    give the same bits as zeroed ones (nothing is accumulated, nothing left unwritten)."""
    garbage = lambda shape: (rng.standard_normal(shape) * 1e6).astype(dtype)  # noqa: E731
    for (T, N, I, H) in [(5, 3, 4, 6), (1, 1, 1, 1), (3, 32, 16, 17)]:
        for reverse in (False, True):
            p = make_layer(rng, mode, T, N, I, H, dtype)
            dpacked = rng.standard_normal((T + (2 if mode == "lstm" else 1), N, H)).astype(dtype)
            out, grads = run_kernel(mode, p, reverse, dpacked, fill=0)
            for fill in (np.nan, np.inf, garbage):
                out2, grads2 = run_kernel(mode, p, reverse, dpacked, fill=fill)
                assert np.array_equal(out2, out), (T, N, I, H, reverse, fill)
                assert_same_bits(grads2, grads)


@pytest.mark.parametrize("mode", list(MODES))
def test_gradients_not_asked_for_are_none(rng, mode):
    """dx and each weight and bias gradient may be None; the ones asked for are the same bits either way."""
    p = make_layer(rng, mode, 4, 5, 3, 7, np.float64)
    dpacked = rng.standard_normal((4 + (2 if mode == "lstm" else 1), 5, 7))
    _, full = run_kernel(mode, p, False, dpacked)
    for asked in [(), ("dx",), ("dw_ih",), ("dw_hh",), ("db_ih",), ("db_hh",), ("dx", "db_hh"), ("dw_hh", "db_ih")]:
        _, got = run_kernel(mode, p, False, dpacked, fill=np.nan, grads=asked)
        for name, g, f in zip(GRADS, got, full):
            if name in asked or name == "dh0" or (name == "dc0" and mode == "lstm"):
                assert np.array_equal(g, f), (asked, name)
            else:
                assert g is None


def test_buffer_errors_name_the_buffer(rng):
    """Each output buffer and the workspace: dtype, exact shape, C order, writeable, not sharing memory
    with an input or another output; a TypeError/ValueError that names it and the shapes."""
    f32 = np.float32
    p = make_layer(rng, "lstm", 4, 3, 5, 6, f32)
    inputs = (p["x"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], p["h0"], p["c0"])
    n = _C.rnn_workspace_size("lstm", 4, 3, 6)

    def fwd(x=p["x"], **kw):
        b = {**kernel_buffers("lstm", p), **kw}
        _C.rnn_forward(x, *inputs[1:], b["out"], b["workspace"], "lstm")

    dout = rng.standard_normal((6, 3, 6)).astype(f32)

    def bwd(mode="lstm", dout=dout, **kw):
        b = kernel_buffers("lstm", p)
        _C.rnn_forward(*inputs, b["out"], b["workspace"], "lstm")
        b.update(kw)
        _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"], b["workspace"], dout, *(b[g] for g in GRADS), mode)

    def readonly(shape, dtype=f32):
        a = np.zeros(shape, dtype)
        a.flags.writeable = False
        return a
    fwd()  # the buffers as given are right
    bwd()
    shared = np.zeros(200, f32)
    x_in_shared = shared[:60].reshape(4, 3, 5)
    x_in_shared[...] = p["x"]
    big = np.zeros(n + 60, f32)
    x_in_big = big[:60].reshape(4, 3, 5)
    x_in_big[...] = p["x"]
    errors = [
        (lambda: fwd(out=np.empty((5, 3, 6), f32)), ValueError,
         r"out must have shape \(6, 3, 6\) \(seq_len \+ 2, batch, hidden_size for x \(4, 3, 5\).*got \(5, 3, 6\)"),
        (lambda: fwd(out=np.empty((6, 3, 6))), TypeError, r"out must have dtype float32, got float64"),
        (lambda: fwd(out=np.empty((6, 3, 12), f32)[..., ::2]), ValueError, r"out with shape \(6, 3, 6\) must be C-contig"),
        (lambda: fwd(out=readonly((6, 3, 6))), ValueError, r"out is read-only"),
        (lambda: fwd(x=x_in_shared, out=shared[50:158].reshape(6, 3, 6)), ValueError, r"out shares memory with x"),
        (lambda: fwd(workspace=np.empty(n - 1, f32)), ValueError,
         rf"workspace must have rnn_workspace_size\('lstm', 4, 3, 6\) = {n} elements .*got shape \({n - 1},\)"),
        (lambda: fwd(workspace=np.empty(n + 16, f32)), ValueError, rf"workspace must have .* = {n} elements"),
        (lambda: fwd(workspace=np.empty((1, n), f32)), ValueError, r"workspace must be 1-D, got shape \(1, "),
        (lambda: fwd(workspace=np.empty(n)), TypeError, r"workspace must have dtype float32, got float64"),
        (lambda: fwd(workspace=readonly(n)), ValueError, r"workspace is read-only"),
        (lambda: fwd(x=x_in_big, workspace=big[40:40 + n]), ValueError, r"workspace shares memory with x"),
        (lambda: bwd(dx=np.empty((4, 3, 4), f32)), ValueError, r"dx must have shape \(4, 3, 5\) \(the shape of x\)"),
        (lambda: bwd(dx=[0.0]), TypeError, r"dx must be a numpy array or None"),
        (lambda: bwd(dw_ih=np.empty((24, 5))), TypeError, r"dw_ih must have dtype float32, got float64"),
        (lambda: bwd(dw_hh=np.empty((24, 12), f32)[:, ::2]), ValueError, r"dw_hh with shape \(24, 6\) must be C-contig"),
        (lambda: bwd(db_ih=readonly(24)), ValueError, r"db_ih is read-only"),
        (lambda: bwd(db_hh=np.empty(23, f32)), ValueError, r"db_hh must have shape \(24,\) .*got \(23,\)"),
        (lambda: bwd(dh0=None), ValueError, r"dh0 is required: the gradient of h0, shape \(3, 6\)"),
        (lambda: bwd(dh0=np.empty((3, 5), f32)), ValueError, r"dh0 must have shape \(3, 6\)"),
        (lambda: bwd(dc0=None), ValueError, r"dc0 is required for an LSTM"),
        (lambda: bwd(dx=dout.reshape(-1)[:60].reshape(4, 3, 5)), ValueError, r"dx shares memory with dout"),
        (lambda: bwd(dw_ih=p["w_ih"]), ValueError, r"dw_ih shares memory with w_ih"),
        (lambda: bwd(dc0=np.zeros((3, 6), f32), dh0=None), ValueError, r"dh0 is required"),
        (lambda: bwd(workspace=np.zeros(n - 16, f32)), ValueError, rf"workspace must have .* = {n} elements"),
    ]
    for call, cls, match in errors:
        with pytest.raises(cls, match=match):
            call()
    b = kernel_buffers("lstm", p)
    _C.rnn_forward(*inputs, b["out"], b["workspace"], "lstm")
    with pytest.raises(ValueError, match=r"dc0 shares memory with dh0"):
        _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"], b["workspace"], dout, None, b["dh0"], b["dh0"], None,
                        None, None, None, "lstm")
    with pytest.raises(ValueError, match=r"dx shares memory with workspace"):
        _C.rnn_backward(p["x"], p["w_ih"], p["w_hh"], b["out"], b["workspace"], dout, b["workspace"][:60].reshape(4, 3, 5),
                        b["dh0"], b["dc0"], None, None, None, None, "lstm")
    g = make_layer(rng, "gru", 4, 3, 5, 6, f32)
    gb = kernel_buffers("gru", g)
    _C.rnn_forward(g["x"], g["w_ih"], g["w_hh"], None, None, g["h0"], None, gb["out"], gb["workspace"], "gru")
    with pytest.raises(ValueError, match=r"dc0 is only for an LSTM"):
        _C.rnn_backward(g["x"], g["w_ih"], g["w_hh"], gb["out"], gb["workspace"], gb["out"].copy(), None, gb["dh0"],
                        np.zeros((3, 6), f32), None, None, None, None, "gru")
    with pytest.raises(ValueError, match=r"workspace must have rnn_workspace_size\('gru', 4, 3, 6\)"):
        _C.rnn_backward(g["x"], g["w_ih"], g["w_hh"], gb["out"], b["workspace"], gb["out"].copy(), None, gb["dh0"],
                        None, None, None, None, None, "gru")


def test_workspace_size():
    for mode in MODES:
        n = _C.rnn_workspace_size(mode, 5, 3, 4)
        assert isinstance(n, int) and n > 0
        assert _C.rnn_workspace_size(mode, 5, 0, 4) == 0  # an empty batch saves nothing
    with pytest.raises(ValueError, match="mode must be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got 'LSTM'"):
        _C.rnn_workspace_size("LSTM", 5, 3, 4)
    for args, name in (((-1, 3, 4), "seq_len"), ((5, -2, 4), "batch"), ((5, 3, -1), "hidden_size")):
        with pytest.raises(ValueError, match=rf"{name} must be >= 0, got -"):
            _C.rnn_workspace_size("gru", *args)
    with pytest.raises(MemoryError, match=r"rnn_workspace_size: .* more than 2\*\*63 elements"):
        _C.rnn_workspace_size("lstm", 2 ** 40, 2 ** 20, 2 ** 20)


def test_profiler_counts_rnn_flops():
    fe.manual_seed(0)
    m = nn.LSTM(8, 16)
    x = fe.randn(5, 3, 8)
    with fe.profile() as prof:
        m(x)[0].sum().backward()
    rows = {(r["op"], r["phase"]): r for r in prof.rows()}
    fwd = 2 * 5 * 3 * 64 * (8 + 16)  # the input and recurrent GEMMs
    assert rows[("RNNFn", "forward")]["gflop"] == pytest.approx(fwd / 1e9)
    assert rows[("RNNFn", "backward")]["gflop"] == pytest.approx(2 * fwd / 1e9)


def test_input_of_another_dtype_names_input_and_weights():
    """The message blamed w_hh once the Python re-check moved to C++; the Tensor-level rule names the input."""
    with pytest.raises(ValueError, match=r"RNN input dtype \(float64\) does not match weight dtype \(float32\)"):
        nn.LSTM(4, 5)(fe.tensor(np.zeros((3, 2, 4))))
