"""DataLoader workers: an epoch of LeNet-5 on the embedded MNIST with an augmenting per-sample transform
(firstepoch.data.transforms: RandomCrop with padding 2, then RandomRotation of up to 10 degrees, applied in
the dataset's __getitem__, sample by sample, as torchvision pipelines do), read with 0 and with 2 worker
processes.

    python bench/data.py [--samples 60000] [--batch 64] [--workers 0 2] [--rounds 1] [--quick] [--json FILE]

Two rows per worker count: "data" iterates the loader alone (the input pipeline's throughput), "epoch"
also trains (forward, backward, SGD step per batch; kernels on 1 thread in the main process). With
workers, the transform runs in the worker processes while the main process trains, so the epoch costs
about max(train, data / workers) instead of train + data: the ratio column is the time with 0 workers over
the time of the row (above 1: faster). Rounds alternate the worker counts; the table gives medians.
"""
import statistics
import time

from common import Table, arg_parser, banner, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.data import DataLoader, Dataset, transforms


class AugmentedMNIST(Dataset):
    """Sample i: (the augmented (1, 28, 28) image, its label)."""

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.transform = transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomRotation(10)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


def run(ds, workers, batch, train):
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, generator=0)
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    t0 = time.perf_counter()
    for x, y in loader:
        if train:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def main():
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    if args.quick:
        args.samples = min(args.samples, 2560)
    fe.set_num_threads(1)
    print(banner(f"DataLoader workers: LeNet-5 epoch of {args.samples} MNIST samples, per-sample augmentation, "
                 f"batch {args.batch}"))
    x, y = fe.datasets.mnist("train")
    x = np.ascontiguousarray(fe.datasets.normalize(x[:args.samples], flatten=False)[:, None], dtype=np.float32)
    y = np.ascontiguousarray(y[:args.samples], dtype=np.int64)
    ds = AugmentedMNIST(x, y)
    times = {}
    for _ in range(args.rounds):
        for kind in ("data", "epoch"):
            for w in args.workers:
                times.setdefault((kind, w), []).append(run(ds, w, args.batch, kind == "epoch"))
    table = Table(["pass", "workers", "s", "samples/s", "vs 0 workers"])
    for kind in ("data", "epoch"):
        base = statistics.median(times[(kind, args.workers[0])])
        for w in args.workers:
            t = statistics.median(times[(kind, w)])
            table.add(**{"pass": kind, "workers": w, "s": t, "samples/s": args.samples / t,
                         "vs 0 workers": base / t})
    print(table.render())
    write_json(args.json, {"samples": args.samples, "batch": args.batch, "rows": table.rows})


if __name__ == "__main__":
    main()
