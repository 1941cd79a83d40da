"""A 784-128-10 ReLU MLP learns MNIST digits (the embedded 8,000 train / 1,000 validation digits), SGD
with Nesterov momentum and a one-cycle schedule (the learning rate rises then anneals; the momentum
moves the other way).

    python examples/mnist_mlp.py [--epochs 3] [--batch-size 64] [--lr 0.1] [--threads N] [--capture]

Prints the training loss and validation accuracy of every epoch; exits non-zero below 95%. --capture runs
the training step through firstepoch.capture.CapturedStep (its kernel calls recorded once and replayed):
the same numbers, bit for bit, in less time.
"""
import argparse
import sys
import time

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.capture import CapturedStep
from firstepoch.data import DataLoader, TensorDataset
from firstepoch.datasets import mnist_normalized
from firstepoch.train import evaluate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--target", type=float, default=0.95, help="exit non-zero below this validation accuracy")
    p.add_argument("--capture", action="store_true", help="replay the training step's recorded kernel calls")
    args = p.parse_args(argv)
    if args.threads:
        fe.set_num_threads(args.threads)
    fe.manual_seed(args.seed)

    x_train, y_train = mnist_normalized("train")  # float32 (N, 784), int64 (N,)
    x_val, y_val = mnist_normalized("val")
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = fe.optim.SGD(model.parameters(), lr=args.lr, momentum=0.95, nesterov=True)
    # One cycle: warm up to lr, then anneal far below it, so the last epoch settles instead of bouncing;
    # the momentum dips from 0.95 to 0.85 while the lr is high, as in PyTorch's OneCycleLR.
    sched = fe.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * len(loader))

    def train_step(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    # the scheduler steps outside the step: the replayed update reads the lr and momentum it set
    step = CapturedStep(train_step, model=model, optimizer=opt) if args.capture else train_step
    print(f"MLP 784-128-10 on {len(x_train)} training / {len(x_val)} validation digits, "
          f"{fe.cpu_info()['isa']}, {fe.get_num_threads()} thread(s)" + (", captured steps" if args.capture else ""))
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0
        for xb, yb in loader:
            loss = step(xb, yb)
            sched.step()
            total += loss.item() * len(yb)
            count += len(yb)
        _, acc, _ = evaluate(model, x_val, y_val, batch=1000)
        print(f"epoch {epoch}: train loss {total / count:.4f}  val accuracy {acc:.2%}  "
              f"({time.perf_counter() - t0:.2f} s)")
    print(f"final validation accuracy: {acc:.2%}")
    return 0 if acc >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
