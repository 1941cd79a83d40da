"""A character-level recurrent language model: Embedding -> RNN, LSTM or GRU -> Linear. forward takes
and returns the recurrent state, so a caller can carry it across batches (truncated BPTT)."""
from .. import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """CharRNN(vocab_size, embed=32, hidden=128, cell='lstm', num_layers=1). forward(idx (N, T) ids,
    state=None) -> (logits (N, T, vocab_size), state): state is h_n, or (h_n, c_n) for the LSTM."""

    def __init__(self, vocab_size, embed=32, hidden=128, cell="lstm", num_layers=1):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharRNN: cell must be one of {', '.join(CELLS)}, got {cell!r}")
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = CELLS[cell](embed, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.rnn(self.embed(idx), state)
        return self.head(out), state

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())
