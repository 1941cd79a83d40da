"""Seconds per training epoch: firstepoch vs a plain NumPy loop (firstepoch.reference.mlp) vs PyTorch
eager (when importable), same model, data, batch size and thread count.

    python bench/train.py mlp [--threads 1] [--epochs 5] [--batch-size 64] [--json FILE]
"""
import statistics
import time

import numpy as np

from common import Table, arg_parser, banner, try_import_torch, write_json

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.data import DataLoader, TensorDataset
from firstepoch.datasets import mnist, normalize
from firstepoch.reference.mlp import NumpyMLP


def epochs_firstepoch(x, y, batch, epochs):
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times, float(loss.item())


def epochs_numpy(x, y, batch, epochs):
    model = NumpyMLP(seed=0)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss, grads = model.loss_and_grads(x[idx], y[idx])
            model.step(grads)
        times.append(time.perf_counter() - t0)
    return times, float(loss)


def epochs_torch(torch, x, y, batch, epochs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times, float(loss.item())


def main():
    p = arg_parser(__doc__)
    p.add_argument("model", choices=["mlp"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    fe.set_num_threads(args.threads)
    torch = try_import_torch()
    if torch:
        torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        pass
    print(banner(f"MLP 784-128-10 training, batch {args.batch_size}, {args.threads} thread(s)"))
    x, y = mnist("train")
    x = normalize(x)
    runs = {"firstepoch": lambda: epochs_firstepoch(x, y, args.batch_size, args.epochs),
            "numpy": lambda: epochs_numpy(x, y, args.batch_size, args.epochs)}
    if torch:
        runs["torch"] = lambda: epochs_torch(torch, x, y, args.batch_size, args.epochs)
    # Alternate the competitors twice, so a noisy stretch of the shared machine hits all of them.
    results = {k: [] for k in runs}
    losses = {}
    for _ in range(2):
        for name, fn in runs.items():
            times, losses[name] = fn()
            results[name] += times[1:]  # the first epoch includes warm-up
    med = {k: statistics.median(v) for k, v in results.items()}
    # forward GEMM of both layers, weight-gradient GEMM of both, input-gradient GEMM of the second only
    flops = 2 * len(x) * (2 * 784 * 128 + 3 * 128 * 10)
    table = Table(["implementation", "ms/epoch (median)", "GFLOP/s", "last loss", "firstepoch speed-up"])
    for name in runs:
        table.add(implementation=name, **{"ms/epoch (median)": med[name] * 1e3, "GFLOP/s": flops / med[name] * 1e-9,
                                          "last loss": losses[name],
                                          "firstepoch speed-up": med[name] / med["firstepoch"]})
    print(table.render())
    print(f"# {len(x)} images per epoch; median over {len(results['firstepoch'])} epochs each; "
          f"compute floor ~{flops / 1e9:.3f} GFLOP per epoch")
    write_json(args.json, {"threads": args.threads, "seconds_per_epoch": med, "rows": table.rows})


if __name__ == "__main__":
    main()
