"""Seconds per training epoch: firstepoch (eager, and its step through firstepoch.capture.CapturedStep)
vs a plain NumPy loop (firstepoch.reference.mlp) vs PyTorch eager (when importable), same model, data,
batch size and thread count.

    python bench/train.py mlp [--threads 1] [--epochs 5] [--batch-size 64] [--profile] [--json FILE]

--profile: also run one firstepoch epoch under cProfile and print where its time goes (by own time).
"""
import statistics
import time

from common import Table, arg_parser, banner, set_threads, try_import_torch, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import common  # noqa: E402
import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.data import DataLoader, TensorDataset
from firstepoch.datasets import mnist, normalize
from firstepoch.reference.lenet import NumpyLeNet
from firstepoch.reference.mlp import NumpyMLP


def make_model(name):
    if name == "lenet":
        return fe.models.LeNet5()
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def torch_model(torch, name):
    tnn = torch.nn
    if name == "lenet":
        return tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                              tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
                              tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    return tnn.Sequential(tnn.Linear(784, 128), tnn.ReLU(), tnn.Linear(128, 10))


def epochs_firstepoch(x, y, batch, epochs, name="mlp", captured=False):
    """captured=True: the same step through firstepoch.capture.CapturedStep (replayed kernel calls)."""
    fe.manual_seed(0)
    model = make_model(name)
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=0)

    def train_step(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    step = fe.capture.CapturedStep(train_step, model=model, optimizer=opt) if captured else train_step
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for xb, yb in loader:
            loss = step(xb, yb)
        times.append(time.perf_counter() - t0)
    if captured and step.eager_reason:
        print(f"# firstepoch captured: some steps ran eagerly: {step.eager_reason}")
    return times, float(loss.item())


def epochs_numpy(x, y, batch, epochs, name="mlp"):
    model = NumpyLeNet(seed=0) if name == "lenet" else NumpyMLP(seed=0)
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


def epochs_torch(torch, x, y, batch, epochs, name="mlp"):
    torch.manual_seed(0)
    model = torch_model(torch, name)
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
    p.add_argument("model", choices=["mlp", "lenet"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--profile", action="store_true", help="cProfile one firstepoch epoch after the timings")
    args = p.parse_args()
    torch = try_import_torch()
    set_threads(args.threads, torch)
    title = "LeNet-5" if args.model == "lenet" else "MLP 784-128-10"
    print(banner(f"{title} training, batch {args.batch_size}, {args.threads} thread(s)"))
    x, y = mnist("train")
    x = normalize(x, flatten=args.model == "mlp")
    if args.model == "lenet":
        x = x[:, None]
    epochs = args.epochs if args.model == "mlp" else min(args.epochs, 2)
    runs = {"firstepoch": lambda: epochs_firstepoch(x, y, args.batch_size, epochs, args.model),
            "firstepoch captured": lambda: epochs_firstepoch(x, y, args.batch_size, epochs, args.model, True)}
    if common.NUMPY_THREADS_KNOWN:  # else NumPy's BLAS would run on a thread count nobody chose
        runs["numpy"] = lambda: epochs_numpy(x, y, args.batch_size, epochs, args.model)
    if torch:
        runs["torch"] = lambda: epochs_torch(torch, x, y, args.batch_size, epochs, args.model)
    # Alternate the competitors twice, so a noisy stretch of the shared machine hits all of them.
    results = {k: [] for k in runs}
    losses = {}
    for _ in range(2):
        for name, fn in runs.items():
            times, losses[name] = fn()
            results[name] += times[1:] if len(times) > 1 else times  # the first epoch includes warm-up
    med = {k: statistics.median(v) for k, v in results.items()}
    # MLP: forward GEMM of both layers, weight-gradient GEMM of both, input-gradient GEMM of the second
    # LeNet: forward, weight gradient and (but for conv1) input gradient of every layer
    if args.model == "mlp":
        flops = 2 * len(x) * (2 * 784 * 128 + 3 * 128 * 10)
    else:
        macs = [6 * 25 * 784, 16 * 150 * 100, 400 * 120, 120 * 84, 84 * 10]
        flops = 2 * len(x) * (2 * macs[0] + 3 * sum(macs[1:]))
    table = Table(["implementation", "s/epoch (median)", "GFLOP/s", "last loss", "firstepoch speed-up",
                   "captured speed-up"])
    for name in runs:
        table.add(implementation=name, **{"s/epoch (median)": f"{med[name]:.4f}", "GFLOP/s": flops / med[name] * 1e-9,
                                          "last loss": losses[name],
                                          "firstepoch speed-up": med[name] / med["firstepoch"],
                                          "captured speed-up": med[name] / med["firstepoch captured"]})
    print(table.render())
    print(f"# {len(x)} images per epoch; median over {len(results['firstepoch'])} epochs each; "
          f"compute floor ~{flops / 1e9:.3f} GFLOP per epoch")
    write_json(args.json, {"threads": args.threads, "seconds_per_epoch": med, "rows": table.rows})
    if args.profile:
        profile_epoch(x, y, args.batch_size, args.model)


def profile_epoch(x, y, batch, name):
    """One firstepoch epoch (after a warm-up epoch) under cProfile: the functions with the most own time."""
    import cProfile
    import pstats
    epochs_firstepoch(x, y, batch, 1, name)
    prof = cProfile.Profile()
    prof.enable()
    epochs_firstepoch(x, y, batch, 1, name)
    prof.disable()
    print("# cProfile of one firstepoch epoch (profiling inflates Python overhead; compare own times):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
