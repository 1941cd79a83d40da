"""Per-op overhead on tiny tensors, microseconds per call: firstepoch vs PyTorch (when importable).

    python bench/overhead.py [--json FILE]

What it shows is the Python and dispatch cost around a kernel, which dominates small layers.
"""
import numpy as np

from common import Table, arg_parser, banner, interleaved_medians, try_import_torch, write_json

import firstepoch as fe


def cases_firstepoch():
    a = fe.tensor(np.ones((4, 4), np.float32))
    b = fe.tensor(np.ones((4, 4), np.float32))
    ag = fe.tensor(np.ones((4, 4), np.float32), requires_grad=True)

    def ten_ops(x):  # 3 x (mul, add, relu) + sum = 10 recorded ops
        y = x
        for _ in range(3):
            y = (y * 1.5 + 0.5).relu()
        return y.sum()

    def graph10():
        ten_ops(fe.tensor(np.ones((4, 4), np.float32), requires_grad=True)).backward()

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


def cases_torch(torch):
    a = torch.ones(4, 4)
    b = torch.ones(4, 4)
    ag = torch.ones(4, 4, requires_grad=True)

    def ten_ops(x):
        y = x
        for _ in range(3):
            y = (y * 1.5 + 0.5).relu()
        return y.sum()

    def graph10():
        ten_ops(torch.ones(4, 4, requires_grad=True)).backward()

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


def main():
    p = arg_parser(__doc__)
    args = p.parse_args()
    torch = try_import_torch()
    fe.set_num_threads(1)
    if torch:
        torch.set_num_threads(1)
    print(banner("per-op overhead, 4x4 float32 tensors, 1 thread"))
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
    print(table.render())
    print("# firstepoch / torch: time ratio (< 1 means firstepoch is faster)")
    write_json(args.json, {"rows": table.rows})


if __name__ == "__main__":
    main()
