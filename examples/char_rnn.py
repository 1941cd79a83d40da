"""A character-level language model: Embedding -> LSTM (or RNN, GRU) -> Linear, trained to predict the next
character of Shakespeare's sonnets (firstepoch.datasets.text.SONNETS, public domain), then sampled at a few
temperatures.

    python examples/char_rnn.py [--cell lstm|rnn|gru] [--steps 800] [--hidden 128] [--seq-len 64]
                                [--batch-size 32] [--lr 0.003] [--text PATH] [--temperatures 0.5 0.8 1.2]
                                [--random-windows] [--threads N]

Training is stateful truncated BPTT: the text is cut into batch-size parallel streams read seq-len
characters at a time, and each batch starts from the hidden state the previous one ended with (detached,
so gradients stop at the batch boundary); the model sees context longer than seq-len, as a GPT sees its
whole block. --random-windows trains on independent random windows from a zero state instead.

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
from firstepoch.models.char_rnn import CELLS, CharRNN
from firstepoch.train.text import detach_state, stream_batches

TEXT = SONNETS  # shipped inside the package: firstepoch/datasets/data/text/


def batch_loss(model, x, y, state=None):
    """Mean next-character loss of (N, T) inputs x and targets y, and the state the model ended with."""
    logits, state = model(fe.tensor(x), state)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fe.tensor(y.reshape(-1))), state


def windows(data, starts, seq_len):
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


def training_batches(train, args, rng):
    """(x, y, carry): endless batches; carry says whether the previous batch's state continues into it."""
    while True:
        if args.random_windows:
            yield (*windows(train, rng.integers(0, len(train) - args.seq_len - 1, args.batch_size), args.seq_len),
                   False)
            continue
        first = True
        for x, y in stream_batches(train, args.batch_size, args.seq_len):
            yield x, y, not first  # each pass over the text starts from a zero state
            first = False


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
    p.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    p.add_argument("--random-windows", action="store_true",
                   help="independent random windows from a zero state (default: stateful truncated BPTT)")
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
    if len(train) // args.batch_size < args.seq_len:
        p.error(f"the text is too short for {args.batch_size} streams of --seq-len {args.seq_len}")
    model = CharRNN(len(chars), args.embed, args.hidden, cell=args.cell)
    opt = fe.optim.Adam(model.parameters(), lr=args.lr)
    held_x, held_y = windows(held, np.arange(0, len(held) - args.seq_len - 1, args.seq_len)[:64], args.seq_len)
    print(f"{len(text)} characters ({len(chars)} distinct) from {os.path.basename(args.text)}; "
          f"{args.cell.upper()}({args.hidden}), {args.steps} steps of {args.batch_size} x {args.seq_len} characters "
          f"({'random windows' if args.random_windows else 'stateful truncated BPTT'}); "
          f"uniform guessing costs ln({len(chars)}) = {np.log(len(chars)):.3f} nats/char")
    print(f"{'step':>6}  {'train loss':>10}  {'held-out loss':>13}  {'time':>6}")
    curve, recent, start = [], [], time.perf_counter()
    best = (np.inf, 0, None)  # held-out loss, step, a copy of the weights
    batches, state = training_batches(train, args, rng), None
    for step in range(1, args.steps + 1):
        x, y, carry = next(batches)
        loss, state = batch_loss(model, x, y, detach_state(state) if carry else None)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        recent.append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            with fe.no_grad():
                held_loss = batch_loss(model, held_x, held_y)[0].item()
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
