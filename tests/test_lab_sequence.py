"""The lab's sequence-models entry (issue 19) in its tiny configuration, and the truncated-BPTT batches it
and examples/char_rnn.py train the recurrent models with."""
import os

import numpy as np

import firstepoch
from firstepoch import lab
from firstepoch.lab.sequence_models import attention_map, rnn_hidden_for
from firstepoch.models.char_rnn import CharRNN
from firstepoch.models.gpt import GPT
from firstepoch.train.text import detach_state, stream_batches


def test_sequence_models_tiny(tmp_path, capsys):
    before = firstepoch.get_num_threads()
    firstepoch.set_num_threads(1)
    try:
        out = lab.load("sequence-models").run(str(tmp_path), seed=0, tiny=True)
    finally:
        firstepoch.set_num_threads(before)
    printed = capsys.readouterr().out
    assert out["table"] in printed
    assert out["png"] == os.path.join(str(tmp_path), "sequence-models.png")
    with open(out["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    m = out["metrics"]
    assert set(m) == {"RNN", "LSTM", "GPT"}
    params = [v["params"] for v in m.values()]
    assert max(params) / min(params) < 1.1  # the same budget
    assert all(v["final_held_out_loss"] < np.log(60) + 0.2 and v["tokens_per_s"] > 0 for v in m.values())
    assert all(s.startswith("Shall I") for s in out["samples"].values())


def test_rnn_hidden_matches_budget():
    gpt = GPT(60, block_size=16, n_layer=1, n_head=2, n_embd=16)
    for cell in ("rnn", "lstm", "gru"):
        h = rnn_hidden_for(cell, gpt.num_parameters(), 60, 16)
        n = CharRNN(60, 16, h, cell).num_parameters()
        assert abs(n - gpt.num_parameters()) / gpt.num_parameters() < 0.05


def test_attention_map_is_causal_rows_of_probabilities():
    gpt = GPT(11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    w = attention_map(gpt, np.arange(8) % 11, layer=1, head=1)
    assert w.shape == (8, 8)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    assert np.all(np.triu(w, 1) == 0)


def test_stream_batches_continue_row_by_row():
    tokens = np.arange(101)
    batches = list(stream_batches(tokens, 4, 5))
    assert len(batches) == 5  # 25 tokens per stream, 5 windows of 5
    (x0, y0), (x1, y1) = batches[0], batches[1]
    np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # row b continues row b
    np.testing.assert_array_equal(y0, x0 + 1)
    assert x0[1, 0] == 25


def test_detach_state_cuts_the_graph():
    rnn = CharRNN(5, 4, 3, "lstm")
    _, state = rnn(firstepoch.tensor(np.zeros((2, 3), dtype=np.int64)))
    h, c = detach_state(state)
    assert not h.requires_grad and not c.requires_grad
    np.testing.assert_array_equal(h.numpy(), state[0].detach().numpy())
    assert detach_state(None) is None
    _, hn = CharRNN(5, 4, 3, "rnn")(firstepoch.tensor(np.zeros((2, 3), dtype=np.int64)))
    assert not detach_state(hn).requires_grad
