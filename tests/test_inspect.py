"""firstepoch.inspect.Recorder: gradient norms equal the .grad the optimizer sees, planted dead ReLUs are
reported as dead, per-time-step gradient norms equal dLoss/dh_t measured independently, the figure
and the summary are written, and the hooks are gone afterwards."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import inspect as fi
from firstepoch.autograd import engine


def _mlp():
    fe.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 10)).astype(np.float32), rng.integers(0, 3, n)


def _train(model, rec, steps, x, y, grads=None):
    opt = fe.optim.SGD(model.parameters(), lr=0.05)
    with rec:
        for _ in range(steps):
            loss = F.cross_entropy(model(fe.tensor(x)), fe.tensor(y))
            opt.zero_grad()
            loss.backward()
            if grads is not None:
                grads.append({n: p.grad.numpy().copy() for n, p in model.named_parameters()})
            opt.step()
            with fe.no_grad():
                model(fe.tensor(x))          # evaluation: not a step
    return rec


def test_grad_norms_are_the_norms_of_the_gradients_the_optimizer_sees():
    model = _mlp()
    x, y = _data()
    grads = []
    rec = _train(model, fi.Recorder(model, hist_every=2), 5, x, y, grads)
    assert rec.steps == 5 and rec.recorded_steps == [1, 2, 3, 4, 5]
    norms = rec.grad_norms
    assert set(norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name, v in norms.items():
        np.testing.assert_allclose(v, [np.linalg.norm(g[name].astype(np.float64)) for g in grads], rtol=1e-6)
    # histograms at step 1 and every 2nd step; each counts the non-zero gradient entries
    for name, hists in rec.grad_histograms.items():
        assert [s for s, _ in hists] == [1, 2, 4]
        for step, counts in hists:
            assert counts.shape == (len(rec.hist_edges) - 1,)
            assert counts.sum() == np.count_nonzero(grads[step - 1][name])


def test_planted_dead_relus_are_reported_dead():
    model = _mlp()
    dead = [1, 4, 5, 9]                       # 4 of 16 hidden units can never fire
    model[0].bias._data[dead] = -100.0
    x, y = _data()
    rec = _train(model, fi.Recorder(model), 3, x, y)
    relu = rec.activations["1"]
    np.testing.assert_allclose(relu["dead_fraction"], len(dead) / 16)
    assert np.all(relu["zero_fraction"] >= len(dead) / 16)
    # their incoming weights receive exactly zero gradient
    assert np.all(rec.grad_zero_fraction["0.weight"] >= len(dead) / 16 - 1e-12)
    lin = rec.activations["0"]
    assert np.all(lin["dead_fraction"] == 0) and np.all(lin["std"] > 0)
    text = rec.summary()
    assert "0.weight" in text and "dead units" in text and "ReLU" in text


def test_every_records_one_step_in_n_and_hooks_are_removed():
    model = _mlp()
    x, y = _data()
    rec = _train(model, fi.Recorder(model, every=2), 5, x, y)
    assert rec.steps == 5 and rec.recorded_steps == [1, 3, 5]
    assert all(len(v) == 3 and not np.any(np.isnan(v)) for v in rec.grad_norms.values())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not any(id(p) in engine._tensor_hooks for p in model.parameters())
    before = rec.grad_norms["0.weight"].copy()
    _train(model, fi.Recorder(model), 1, x, y)   # another recorder; the first one no longer records
    np.testing.assert_array_equal(rec.grad_norms["0.weight"], before)


class TanhCell(nn.Module):
    """h' = tanh(x W_x^T + h W_h^T): an RNN cell made of ordinary ops."""

    def __init__(self, n_in, hidden, gain):
        super().__init__()
        self.wx = nn.Linear(n_in, hidden)
        self.wh = nn.Linear(hidden, hidden, bias=False)
        rng = np.random.default_rng(1)
        self.wh.weight._data[...] = rng.normal(0, gain / np.sqrt(hidden), (hidden, hidden))

    def forward(self, x, h):
        return (self.wx(x) + self.wh(h)).tanh()


class Unrolled(nn.Module):
    def __init__(self, gain=0.5, hidden=8, taps=None):
        super().__init__()
        self.cell = TanhCell(2, hidden, gain)
        self.head = nn.Linear(hidden, 1)
        self.hidden = hidden
        self.taps = taps

    def forward(self, x):                      # x (T, N, 2): the loss reads only the last state
        h = fe.zeros(x.shape[1], self.hidden)
        outs = []
        for t in range(x.shape[0]):
            h = self.cell(x[t], h)
            if self.taps is not None:          # dLoss/dz = dLoss/dh_t, measured without hooks
                z = fe.zeros(x.shape[1], self.hidden, requires_grad=True)
                h = h + z
                self.taps.append(z)
            outs.append(h)
        return self.head(h), fe.stack(outs)


def test_cell_records_bptt_gradient_norm_at_every_time_step():
    T = 12
    x = fe.tensor(np.random.default_rng(0).standard_normal((T, 4, 2)).astype(np.float32))
    taps = []
    fe.manual_seed(0)
    ref_model = Unrolled(taps=taps)
    out, _ = ref_model(x)
    (out ** 2).mean().backward()
    expected = [np.linalg.norm(z.grad) for z in taps]

    fe.manual_seed(0)
    model = Unrolled()
    rec = fi.Recorder(model, recurrent={"cell": "cell"})
    with rec:
        out, _ = model(x)
        (out ** 2).mean().backward()
    assert len(rec.time_grad_norms["cell"]) == 1
    step, norms = rec.time_grad_norms["cell"][0]
    assert step == 1 and norms.shape == (T,)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    assert norms[0] < 0.1 * norms[-1]          # small recurrent weights: the gradient vanishes back in time
    assert "cell" in rec.summary()


class SeqModel(nn.Module):
    """A module returning (output sequence (T, N, H), last state), like nn.RNN."""

    def __init__(self):
        super().__init__()
        self.rnn = Unrolled()
        self.batch_first = False

    def forward(self, x):
        _, seq = self.rnn(x)
        return seq, seq[-1]


def test_sequence_module_records_the_output_gradient_per_time_step(tmp_path):
    T = 6
    x = fe.tensor(np.random.default_rng(0).standard_normal((T, 3, 2)).astype(np.float32))
    w = np.linspace(0.1, 1.0, T, dtype=np.float32)[:, None, None]   # later steps weigh more in the loss
    fe.manual_seed(0)
    model = nn.Sequential(SeqModel())
    rec = fi.Recorder(model, recurrent={"0": "sequence"})
    with rec:
        seq, _ = model(x)
        seq.retain_grad()
        (seq * fe.tensor(w)).sum().backward()
    step, norms = rec.time_grad_norms["0"][0]
    np.testing.assert_allclose(norms, np.linalg.norm(seq.grad.reshape(T, -1), axis=1), rtol=1e-6)
    assert np.all(np.diff(norms) > 0)
    path = rec.plot(tmp_path / "flow.png")
    assert path.stat().st_size > 0 and path.read_bytes()[:4] == b"\x89PNG"


def test_lstm_module_is_detected_and_recorded():
    fe.manual_seed(0)
    lstm = nn.LSTM(3, 5)
    model = nn.Sequential(lstm)
    x = fe.randn(7, 2, 3)
    rec = fi.Recorder(model)
    assert rec.recurrent == {"0": "sequence"}
    with rec:
        out, _ = model(x)
        (out ** 2).sum().backward()
    step, norms = rec.time_grad_norms["0"][0]
    assert norms.shape == (7,) and np.all(norms > 0)


def test_bad_arguments(tmp_path):
    model = _mlp()
    with pytest.raises(TypeError, match="Module"):
        fi.Recorder(lambda x: x)
    with pytest.raises(ValueError, match="hist_every"):
        fi.Recorder(model, hist_every=0)
    with pytest.raises(ValueError, match="every"):
        fi.Recorder(model, every=1.5)
    with pytest.raises(ValueError, match="hist_edges"):
        fi.Recorder(model, hist_edges=[1, 0])
    with pytest.raises(ValueError, match="does not have"):
        fi.Recorder(model, recurrent={"nope": "cell"})
    with pytest.raises(ValueError, match="'sequence' or 'cell'"):
        fi.Recorder(model, recurrent={"0": "rnn"})
    rec = fi.Recorder(model)
    with pytest.raises(RuntimeError, match="nothing recorded"):
        rec.plot(tmp_path / "x.png")
    with rec:
        with pytest.raises(RuntimeError, match="already attached"):
            rec.attach()
