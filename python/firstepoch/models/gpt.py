"""A small GPT (decoder-only Transformer, GPT-2's layout as in nanoGPT): token and position embeddings,
n_layer pre-norm blocks of causal self-attention and an MLP, a final LayerNorm and a language-model head
whose weight is the token embedding's (weight tying). Attention is F.scaled_dot_product_attention."""
import math

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor


class SinusoidalPositionalEmbedding(nn.Module):
    """The fixed positional code of "Attention Is All You Need": pe[p, 2i] = sin(p / 10000^(2i/d)),
    pe[p, 2i+1] = cos(...). forward(positions) -> (T, d); a buffer, not a parameter (not saved)."""

    def __init__(self, num_positions, embedding_dim, dtype=np.float32):
        super().__init__()
        pos = np.arange(num_positions, dtype=np.float64)[:, None]
        div = np.exp(np.arange(0, embedding_dim, 2, dtype=np.float64) * (-math.log(10000.0) / embedding_dim))
        pe = np.zeros((num_positions, embedding_dim))
        pe[:, 0::2] = np.sin(pos * div)
        pe[:, 1::2] = np.cos(pos * div[: embedding_dim // 2])
        self.register_buffer("pe", Tensor(pe.astype(dtype)), persistent=False)

    def forward(self, positions):
        positions = positions._data if isinstance(positions, Tensor) else np.asarray(positions)
        return Tensor(self.pe._data[positions])


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention over the past: one Linear makes q, k and v (c_attn), the heads attend
    with is_causal=True, one Linear mixes them (c_proj)."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        N, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (N, H, T, hd) views of the (N, T, 3C) projection: the attention kernel reads them where they lie
        # (their rows, hd values each, are contiguous), and writes their gradients back the same way
        q, k, v = (t.reshape(N, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        y = y.transpose(1, 2).reshape(N, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)) (pre-norm)."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """GPT(vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True,
    pos_embedding='learned' | 'sinusoidal', tie_weights=True). forward(idx) maps (N, T) token ids,
    T <= block_size, to (N, T, vocab_size) next-token logits. Weights N(0, 0.02), the residual
    projections N(0, 0.02 / sqrt(2 n_layer)) (GPT-2's scheme); with tie_weights lm_head.weight is
    wte.weight (one Parameter, listed once by parameters(), under both names in state_dict, as torch)."""

    def __init__(self, vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True,
                 pos_embedding="learned", tie_weights=True):
        super().__init__()
        if pos_embedding not in ("learned", "sinusoidal"):
            raise ValueError(f"GPT: pos_embedding must be 'learned' or 'sinusoidal', got {pos_embedding!r}")
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.wte = nn.Embedding(vocab_size, n_embd)
        if pos_embedding == "learned":
            self.wpe = nn.Embedding(block_size, n_embd)
        else:
            self.wpe = SinusoidalPositionalEmbedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
            elif p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith(".bias") and not name.startswith("ln") and ".ln_" not in name:
                nn.init.zeros_(p)
        if tie_weights:
            self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        T = idx.shape[-1]
        if T > self.block_size:
            raise ValueError(f"GPT: sequence of length {T} is longer than block_size {self.block_size}")
        x = self.drop(self.wte(idx) + self.wpe(Tensor(np.arange(T))))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Appends max_new_tokens sampled tokens to idx ((N, T) ids; a NumPy array comes back), each from
        softmax(logits / temperature) of the last block_size tokens, restricted to the top_k most likely
        when top_k is given. temperature 0 takes the most likely token. generator: a numpy Generator."""
        from ..autograd import no_grad
        rng = generator if generator is not None else np.random.default_rng()
        idx = np.array(idx._data if isinstance(idx, Tensor) else idx, dtype=np.int64, ndmin=2)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits = self(Tensor(idx[:, -self.block_size:]))._data[:, -1].astype(np.float64)
                    idx = np.concatenate([idx, sample_next(logits, temperature, top_k, rng)[:, None]], axis=1)
        finally:
            self.train(was_training)
        return idx


def sample_next(logits, temperature, top_k, rng):
    """One token id per row of (N, V) logits: argmax at temperature 0, else a draw from
    softmax(logits / temperature) over the top_k largest (all when top_k is None or 0)."""
    if temperature == 0:
        return logits.argmax(-1)
    z = logits / temperature
    if top_k:
        kth = np.sort(z, axis=-1)[:, -min(top_k, z.shape[-1])][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p], dtype=np.int64)


def gpt(vocab_size, **kwargs):
    return GPT(vocab_size, **kwargs)
