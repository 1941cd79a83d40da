"""The Dropout module over firstepoch.ops.dropout (inverted dropout; masks come from
firstepoch.manual_seed's generator)."""
from ..ops.dropout import dropout
from .module import Module


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
