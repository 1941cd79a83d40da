"""A character-level language model: Embedding -> LSTM -> Linear, trained to predict the next character
of Shakespeare's sonnets (firstepoch.datasets.text.SONNETS, public domain), then sampled at a few temperatures.

    python examples/char_rnn.py [--steps 800] [--hidden 128] [--seq-len 64] [--batch-size 32]
                                [--lr 0.003] [--text PATH] [--temperatures 0.5 0.8 1.2] [--threads N]

Prints the training and held-out loss (nats per character) through training and a sample per temperature,
drawn from the weights with the lowest held-out loss: the shipped text is small (16 KB), so a longer run
memorises it (train loss falls on while the held-out loss rises) and the table shows where that starts.
"""
import argparse
import os
import sys
import time

import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.datasets.text import SONNETS

TEXT = SONNETS  # shipped inside the package: firstepoch/datasets/data/text/


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed, hidden, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        """idx (N, T) int -> logits (N, T, vocab), (h_n, c_n)."""
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def batch_loss(model, data, starts, seq_len):
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    chunk = data[idx]
    logits, _ = model(fe.tensor(chunk[:, :-1]))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fe.tensor(chunk[:, 1:].reshape(-1)))


def sample(model, stoi, itos, prime, length, temperature, rng):
    """Feeds `prime`, then draws `length` characters from softmax(logits / temperature)."""
    with fe.no_grad():
        logits, state = model(fe.tensor(np.array([[stoi[c] for c in prime]])))
        out = []
        for _ in range(length):
            z = logits[0, -1].numpy().astype(np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(itos[nxt])
            logits, state = model(fe.tensor(np.array([[nxt]])), state)
    return prime + "".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default=TEXT)
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--sample-len", type=int, default=300)
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 0.8, 1.2])
    p.add_argument("--prime", default="Shall I ")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        fe.set_num_threads(args.threads)
    for t in args.temperatures:
        if t <= 0:
            p.error(f"--temperatures must be positive, got {t}")
    fe.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    missing = set(args.prime) - set(chars)
    if missing:
        p.error(f"--prime has characters not in the text: {''.join(sorted(missing))!r}")
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, held = data[:split], data[split:]
    if len(held) <= args.seq_len + 1:
        p.error(f"the text ({len(data)} characters) is too short for --seq-len {args.seq_len}")
    model = CharLSTM(len(chars), args.embed, args.hidden)
    opt = fe.optim.Adam(model.parameters(), lr=args.lr)
    held_starts = np.arange(0, len(held) - args.seq_len - 1, args.seq_len)[:64]
    print(f"{len(text)} characters ({len(chars)} distinct) from {os.path.basename(args.text)}; "
          f"LSTM({args.hidden}), {args.steps} steps of {args.batch_size} x {args.seq_len} characters; "
          f"uniform guessing costs ln({len(chars)}) = {np.log(len(chars)):.3f} nats/char")
    print(f"{'step':>6}  {'train loss':>10}  {'held-out loss':>13}  {'time':>6}")
    curve, recent, start = [], [], time.perf_counter()
    best = (np.inf, 0, None)  # held-out loss, step, a copy of the weights
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(train) - args.seq_len - 1, args.batch_size)
        loss = batch_loss(model, train, starts, args.seq_len)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        recent.append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            with fe.no_grad():
                held_loss = batch_loss(model, held, held_starts, args.seq_len).item()
            curve.append((step, float(np.mean(recent)), held_loss))
            if held_loss < best[0]:
                best = (held_loss, step, {k: v.copy() for k, v in model.state_dict().items()})
            recent = []
            print(f"{step:>6}  {curve[-1][1]:>10.4f}  {held_loss:>13.4f}  {time.perf_counter() - start:>5.0f}s",
                  flush=True)
    print(f"loss: {curve[0][1]:.3f} -> {curve[-1][1]:.3f} (train), held-out {curve[-1][2]:.3f} nats/char")
    print(f"lowest held-out loss {best[0]:.3f} at step {best[1]}"
          + (f"; after it the model memorises the training text (held-out rose to {curve[-1][2]:.3f})"
             if best[1] < curve[-1][0] else "") + f"; sampling from the weights of step {best[1]}")
    model.load_state_dict(best[2])
    for t in args.temperatures:
        print(f"\n--- sample, temperature {t} ---")
        print(sample(model, stoi, itos, args.prime, args.sample_len, t, rng))
    return 0 if curve[-1][1] < curve[0][1] else 1


if __name__ == "__main__":
    sys.exit(main())
