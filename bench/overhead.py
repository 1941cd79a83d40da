"""Per-op overhead on tiny tensors, microseconds per call: firstepoch vs PyTorch (when importable).

    python bench/overhead.py [--json FILE]

What it shows is the Python and dispatch cost around a kernel, which dominates small layers.
"""
from common import Table, finish, interleaved_medians, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe


def cases(ones, ones_requiring_grad):
    """The timed calls, written once for firstepoch and PyTorch (same API); ones() makes a 4x4 float32 of ones."""
    a, b, ag = ones(), ones(), ones_requiring_grad()

    def ten_ops(x):  # 3 x (mul, add, relu) + sum = 10 recorded ops
        y = x
        for _ in range(3):
            y = (y * 1.5 + 0.5).relu()
        return y.sum()

    def graph10():
        ten_ops(ones_requiring_grad()).backward()

    retained = ten_ops(ag)

    return {
        "add": lambda: a + b,
        "add (recording grad)": lambda: ag + b,
        "matmul 4x4": lambda: a @ b,
        "matmul 4x4 (recording grad)": lambda: ag @ b,
        "relu": lambda: a.relu(),
        "10-op graph: backward only": lambda: retained.backward(retain_graph=True),
        "10-op graph: forward+backward": graph10,
    }


def cases_firstepoch():
    return cases(lambda: fe.tensor(np.ones((4, 4), np.float32)),
                 lambda: fe.tensor(np.ones((4, 4), np.float32), requires_grad=True))


def cases_torch(torch):
    return cases(lambda: torch.ones(4, 4), lambda: torch.ones(4, 4, requires_grad=True))


def main():
    args, torch, _ = start(__doc__, "per-op overhead, 4x4 float32 tensors, 1 thread")
    ours = cases_firstepoch()
    theirs = cases_torch(torch) if torch else {}
    cols = ["op", "firstepoch us"] + (["torch us", "firstepoch / torch"] if torch else [])
    table = Table(cols)
    for name, fn in ours.items():
        fns = {"fe": fn}
        if torch:
            fns["torch"] = theirs[name]
        t = interleaved_medians(fns, rounds=3 if args.quick else 7, min_seconds=0.05)
        row = {"op": name, "firstepoch us": t["fe"] * 1e6}
        if torch:
            row["torch us"] = t["torch"] * 1e6
            row["firstepoch / torch"] = t["fe"] / t["torch"]
        table.add(**row)
    finish(args, table, "# firstepoch / torch: time ratio (< 1 means firstepoch is faster)")


if __name__ == "__main__":
    main()
