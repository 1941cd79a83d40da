"""GPT training speed: tokens per second of one training step (forward, cross-entropy, backward, gradient
clipping, AdamW step) of firstepoch.models.gpt.GPT vs the same model in PyTorch eager (same layout, same
weights loaded from ours, same batch), float32, at the thread count given.

    python bench/gpt.py [--threads 1] [--quick] [--dropout P] [--json FILE]

The first row is `firstepoch train --model gpt`'s default model (4 layers, 4 heads, 128 wide, 64 tokens
of context, batch 32, a 65-character vocabulary). Without --dropout the models have none; `--dropout 0.1`
is the CLI's default (every dropout of the model, attention's included: firstepoch drops inside its
attention kernel, torch 2.13 on the CPU takes its math path for attention with dropout).
"""
from common import Table, finish, interleaved_medians, pop_dropout_option, settle_for, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional  # noqa: F401 (fe.nn.functional, which make_step calls)
from firstepoch.models.gpt import GPT

CASES = [  # name, vocab, block, layers, heads, width, batch
    ("gpt 4x128 T64", 65, 64, 4, 4, 128, 32),
    ("gpt 2x64 T32", 65, 32, 2, 4, 64, 32),
    ("gpt 6x192 T128", 65, 128, 6, 6, 192, 16),
]


def torch_gpt(torch, vocab, block, n_layer, n_head, n_embd, dropout=0.0):
    """GPT's twin in PyTorch: the same module names, so one state_dict fits both."""
    tnn, tF = torch.nn, torch.nn.functional

    class Attn(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(n_embd, 3 * n_embd), tnn.Linear(n_embd, n_embd)
            self.resid_dropout = tnn.Dropout(dropout)

        def forward(self, x):
            N, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(N, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
            y = tF.scaled_dot_product_attention(q, k, v, dropout_p=dropout if self.training else 0.0, is_causal=True)
            return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(N, T, C)))

    class MLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.gelu = tnn.Linear(n_embd, 4 * n_embd), tnn.GELU(approximate="tanh")
            self.c_proj, self.dropout = tnn.Linear(4 * n_embd, n_embd), tnn.Dropout(dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2, self.mlp = tnn.LayerNorm(n_embd), Attn(), tnn.LayerNorm(n_embd), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab, n_embd), tnn.Embedding(block, n_embd)
            self.drop = tnn.Dropout(dropout)
            self.h = tnn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = tnn.LayerNorm(n_embd)
            self.lm_head = tnn.Linear(n_embd, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx):
            x = self.drop(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
            for b in self.h:
                x = b(x)
            return self.lm_head(self.ln_f(x))

    return TorchGPT()


def make_step(lib, model, opt, x, y):
    """One training step, written once for both libraries (lib: firstepoch or torch, whose names it mirrors)."""
    def step():
        logits = model(x)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y)
        opt.zero_grad()
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    return step


def main():
    drop = pop_dropout_option("gpt.py")
    title = "GPT training step, float32, AdamW, {threads} thread(s)" + (f", dropout {drop}" if drop else "")
    args, torch, _ = start(__doc__, title, threads_option=True)
    cols = ["model", "batch", "params", "fe ms/step", "fe tok/s"]
    cols += ["torch ms/step", "torch tok/s", "fe vs torch"] if torch else []
    table = Table(cols)
    rng = np.random.default_rng(0)
    for name, vocab, block, n_layer, n_head, n_embd, batch in CASES[:1] if args.quick else CASES:
        fe.manual_seed(0)
        model = GPT(vocab, block_size=block, n_layer=n_layer, n_head=n_head, n_embd=n_embd, dropout=drop)
        opt = fe.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        data = rng.integers(0, vocab, (batch, block + 1))
        x, y = fe.tensor(data[:, :-1]), fe.tensor(data[:, 1:].reshape(-1))
        fns = {"fe": make_step(fe, model, opt, x, y)}
        if torch:
            tmodel = torch_gpt(torch, vocab, block, n_layer, n_head, n_embd, drop)
            tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
            topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-3, weight_decay=0.1)
            fns["torch"] = make_step(torch, tmodel, topt, torch.from_numpy(data[:, :-1]),
                                      torch.from_numpy(data[:, 1:].reshape(-1)))
        t = interleaved_medians(fns, warmup=2, rounds=3 if args.quick else 7, min_seconds=0.2,
                                settle=settle_for(args.threads))
        tokens = batch * block
        row = {"model": name, "batch": batch, "params": f"{model.num_parameters() / 1e6:.2f}M",
               "fe ms/step": t["fe"] * 1e3, "fe tok/s": tokens / t["fe"]}
        if torch:
            row.update({"torch ms/step": t["torch"] * 1e3, "torch tok/s": tokens / t["torch"],
                        "fe vs torch": t["torch"] / t["fe"]})
        table.add(**row)
    finish(args, table, note="# fe vs torch > 1: firstepoch trains more tokens per second")


if __name__ == "__main__":
    main()
