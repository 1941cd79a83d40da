"""RNN vs LSTM vs GPT on the same text with the same number of parameters: a character-level language
model of Shakespeare's sonnets, each trained for the same steps on the same tokens per step, with the
same optimizer (AdamW, warm-up then cosine decay, gradient clipping).

The recurrent models train with stateful truncated BPTT: the text is cut into parallel streams read a
window at a time, and each window starts from the hidden state the previous one ended with (detached),
so they see context beyond the window as the GPT sees its whole block; the held-out loss is measured the
same way for all three (windows of the held-out tenth, from a zero state for the recurrent ones).

What to look for: at this small budget (150 steps of 1,024 characters, about 108,000 parameters) the
recurrent models, reading the text in order with their state carried, learn faster per step than the
GPT, which first learns which characters follow which and only later puts its attention to use (its
loss keeps falling in longer runs: `firstepoch train --model gpt`). Per second, the order also depends
on each model's speed here (the tokens/s column): a recurrent layer runs its T steps one after the
other, attention handles the whole block in a few larger matrix products. The heat map is one head's
attention over a held-out window: the lower triangle only (causal), mostly on the last few characters.
"""
import math
import time

import numpy as np

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.datasets.text import CharTokenizer, load_text, split_tokens
from firstepoch.models.char_rnn import CharRNN
from firstepoch.models.gpt import GPT
from firstepoch.train.text import (detach_state, generate_text, random_windows, stream_batches, warmup_cosine)

from ._common import format_table, new_figure, result, seed_everything

NAME = "sequence-models"
DESCRIPTION = "RNN vs LSTM vs GPT, same text and parameters: held-out loss per step and per second, samples"


def settings(tiny):
    if tiny:
        return {"steps": 8, "eval_every": 4, "batch": 8, "block": 16, "n_layer": 1, "n_head": 2, "n_embd": 16,
                "embed": 16, "lr": 3e-3, "sample_len": 40}
    return {"steps": 150, "eval_every": 15, "batch": 16, "block": 64, "n_layer": 2, "n_head": 4, "n_embd": 64,
            "embed": 32, "lr": 3e-3, "sample_len": 200}


def rnn_hidden_for(cell, params, vocab, embed):
    """The hidden size whose CharRNN has the parameter count closest to `params`."""
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cell]

    def count(h):
        return vocab * embed + gates * (embed * h + h * h + 2 * h) + h * vocab + vocab
    return min(range(4, 2048), key=lambda h: abs(count(h) - params))


def held_loss(model, held, block, is_gpt):
    starts = np.arange(0, len(held) - block - 1, block)[:32]
    idx = starts[:, None] + np.arange(block + 1)[None, :]
    chunk = held[idx]
    model.eval()
    with fe.no_grad():
        out = model(fe.tensor(chunk[:, :-1]))
        logits = out if is_gpt else out[0]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fe.tensor(chunk[:, 1:].reshape(-1))).item()
    model.train()
    return loss


def sample_rnn(model, tok, prompt, length, rng, temperature=0.8, top_k=20):
    from firstepoch.models.gpt import sample_next
    model.eval()
    with fe.no_grad():
        logits, state = model(fe.tensor(tok.encode(prompt)[None]))
        out = []
        for _ in range(length):
            nxt = sample_next(logits.numpy()[:, -1].astype(np.float64), temperature, top_k, rng)
            out.append(int(nxt[0]))
            logits, state = model(fe.tensor(nxt[:, None]), state)
    return prompt + tok.decode(out)


def train_one(label, model, is_gpt, train, held, s, rng):
    opt = fe.optim.AdamW(model.parameters(), lr=s["lr"], betas=(0.9, 0.95), weight_decay=0.01)
    sched = fe.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(s["steps"], max(1, s["steps"] // 20)))
    curve, seconds, state, stream = [], 0.0, None, None
    for step in range(1, s["steps"] + 1):
        t0 = time.perf_counter()
        if is_gpt:
            x, y = random_windows(train, s["batch"], s["block"], rng)
            logits = model(fe.tensor(x))
        else:
            batch = next(stream, None) if stream is not None else None
            if batch is None:  # a new pass over the text starts from a zero state
                stream, state = stream_batches(train, s["batch"], s["block"]), None
                batch = next(stream)
            x, y = batch
            logits, state = model(fe.tensor(x), detach_state(state))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fe.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        fe.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        seconds += time.perf_counter() - t0
        if step % s["eval_every"] == 0 or step == s["steps"]:
            curve.append((step, seconds, held_loss(model, held, s["block"], is_gpt)))
    tokens = s["steps"] * s["batch"] * s["block"]
    return {"label": label, "params": sum(p.numel() for p in model.parameters()), "curve": curve,
            "seconds": seconds, "tokens_per_s": tokens / seconds, "final": curve[-1][2],
            "best": min(c[2] for c in curve)}


def attention_map(model, idx, layer=0, head=0):
    """(T, T) softmax weights of one head of one block on the window idx (T,)."""
    blk = model.h[layer]
    with fe.no_grad():
        x = model.wte(fe.tensor(idx[None])) + model.wpe(fe.tensor(np.arange(len(idx))))
        for b in model.h[:layer]:
            x = b(x)
        C, H = model.n_embd, model.n_head
        q, k, _ = blk.attn.c_attn(blk.ln_1(x)).split(C, dim=2)
        hd = C // H
        q = q.numpy()[0, :, head * hd:(head + 1) * hd].astype(np.float64)
        k = k.numpy()[0, :, head * hd:(head + 1) * hd].astype(np.float64)
    scores = q @ k.T / math.sqrt(hd)
    scores[np.triu(np.ones_like(scores, dtype=bool), 1)] = -np.inf
    w = np.exp(scores - scores.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def compute(seed=0, tiny=False):
    s = settings(tiny)
    rng = seed_everything(seed)
    text = load_text("sonnets")
    tok = CharTokenizer.train(text)
    train, held = split_tokens(tok.encode(text))
    V = tok.vocab_size
    fe.manual_seed(seed)
    gpt = GPT(V, block_size=s["block"], n_layer=s["n_layer"], n_head=s["n_head"], n_embd=s["n_embd"], dropout=0.0)
    budget = gpt.num_parameters()
    models = []
    for cell in ("rnn", "lstm"):
        fe.manual_seed(seed)
        models.append((cell.upper(), CharRNN(V, s["embed"], rnn_hidden_for(cell, budget, V, s["embed"]), cell), False))
    models.append(("GPT", gpt, True))
    runs, samples = [], {}
    for label, model, is_gpt in models:
        r = train_one(label, model, is_gpt, train, held, s, np.random.default_rng(seed))
        r["hidden"] = None if is_gpt else model.rnn.hidden_size
        runs.append(r)
        prompt = "Shall I"
        samples[label] = (generate_text(model, tok, prompt, s["sample_len"], 0.8, 20, seed) if is_gpt
                          else sample_rnn(model, tok, prompt, s["sample_len"], np.random.default_rng(seed)))
    window = held[:s["block"]]
    return {"settings": s, "runs": runs, "samples": samples, "vocab": V,
            "attention": attention_map(gpt, window), "window": tok.decode(window)}


def make_table(data):
    s = data["settings"]
    rows = [[r["label"], r["params"], r["hidden"] if r["hidden"] else f"{s['n_layer']}x{s['n_embd']}",
             r["tokens_per_s"], r["seconds"], r["final"], r["best"]] for r in data["runs"]]
    title = (f"character-level models of the sonnets, {s['steps']} steps of {s['batch']} x {s['block']} tokens "
             f"(held-out loss in nats/char; uniform guessing ln({data['vocab']}) = {math.log(data['vocab']):.2f})")
    table = format_table(["model", "params", "size", "tokens/s", "train s", "held-out loss", "best"], rows, title)
    lines = [table, ""]
    for label, text in data["samples"].items():
        lines += [f"--- {label} sample (temperature 0.8, top-k 20) ---", text.rstrip(), ""]
    return "\n".join(lines).rstrip()


def make_figure(data):
    fig, axes = new_figure(1, 3, size=(15, 4.2))
    for r in data["runs"]:
        steps, secs, loss = zip(*r["curve"])
        axes[0, 0].plot(steps, loss, marker="o", label=f"{r['label']} ({r['params']:,} params)")
        axes[0, 1].plot(secs, loss, marker="o", label=r["label"])
    axes[0, 0].set(xlabel="step", ylabel="held-out loss (nats/char)", title="per step")
    axes[0, 1].set(xlabel="training seconds", ylabel="held-out loss (nats/char)", title="per second")
    axes[0, 0].legend()
    axes[0, 1].legend()
    att = data["attention"]
    axes[0, 2].imshow(att, cmap="viridis", vmin=0)
    ticks = list(range(0, len(data["window"]), max(1, len(data["window"]) // 16)))
    chars = [repr(data["window"][i])[1:-1] for i in ticks]
    axes[0, 2].set_xticks(ticks, chars, fontsize=7)
    axes[0, 2].set_yticks(ticks, chars, fontsize=7)
    axes[0, 2].set(title="GPT block 0, head 0 (row: query, col: key)")
    return fig


def run(out_dir, seed=0, tiny=False):
    from ._common import save_figure
    data = compute(seed, tiny)
    png = save_figure(make_figure(data), out_dir, NAME)
    metrics = {r["label"]: {"params": int(r["params"]), "tokens_per_s": r["tokens_per_s"], "seconds": r["seconds"],
                            "final_held_out_loss": r["final"], "best_held_out_loss": r["best"]}
               for r in data["runs"]}
    return result(make_table(data), png, metrics, samples=data["samples"])
