"""Sequential MNIST: an LSTM reads each digit as a sequence of 28 rows of 28 pixels and classifies it
from its last hidden state (the embedded 8,000 train / 1,000 validation digits).

    python examples/seq_mnist_lstm.py [--epochs 6] [--hidden 64] [--lr 0.005] [--batch-size 64]
                                      [--train-size N] [--threads N] [--target 0.95]

Prints the training loss and validation accuracy of every epoch; exits non-zero below --target.
"""
import argparse
import sys
import time

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.data import DataLoader, TensorDataset
from firstepoch.datasets import mnist_normalized
from firstepoch.train import evaluate


class RowLSTM(nn.Module):
    """(N, 28, 28) images read row by row (batch_first) -> LSTM -> Linear on h_T -> 10 logits."""

    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.005, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-size", type=int, default=None, help="use the first N training digits (default all)")
    p.add_argument("--val-size", type=int, default=None, help="use the first N validation digits (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--target", type=float, default=0.95)
    args = p.parse_args(argv)
    if args.threads:
        fe.set_num_threads(args.threads)
    fe.manual_seed(args.seed)
    x_train, y_train = mnist_normalized("train", flatten=False)  # (N, 28, 28): 28 steps of 28 features
    x_val, y_val = mnist_normalized("val", flatten=False)
    x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    x_val, y_val = x_val[:args.val_size], y_val[:args.val_size]
    # a new order every epoch, drawn from one generator seeded with --seed
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True, generator=args.seed)
    model = RowLSTM(args.hidden)
    opt = fe.optim.Adam(model.parameters(), lr=args.lr)
    sched = fe.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * len(loader))
    print(f"LSTM({args.hidden}) on {len(x_train)} training / {len(x_val)} validation digits as 28 rows of 28 "
          f"pixels, {fe.cpu_info()['isa']}, {fe.get_num_threads()} thread(s)")
    acc, start = 0.0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(yb)
        _, acc, _ = evaluate(model, x_val, y_val)
        print(f"epoch {epoch}: train loss {total / len(x_train):.4f}  val accuracy {acc:.2%}  "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"final validation accuracy: {acc:.2%} ({time.perf_counter() - start:.0f} s)")
    return 0 if acc >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
