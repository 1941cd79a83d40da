"""Convolution, pooling and batch norm: firstepoch vs the NumPy reference vs PyTorch (when importable,
NCHW and channels_last, the better one kept), float32, forward and forward+backward.

    python bench/conv.py [--threads 1] [--quick] [--json FILE]
"""
import tracemalloc

import numpy as np

from common import Table, interleaved_medians, ratio_columns, ratio_row, start, write_json

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import conv as R, pool as RP
from firstepoch.reference import norm as RN

CONVS = [("LeNet conv1 1->6 5x5 p2 28x28", (64, 1, 28, 28), (6, 1, 5, 5), 2),
         ("LeNet conv2 6->16 5x5 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 0),
         ("3->32 3x3 p1 32x32", (64, 3, 32, 32), (32, 3, 3, 3), 1),
         ("ResNet 64->64 3x3 p1 32x32", (32, 64, 32, 32), (64, 64, 3, 3), 1)]


def conv_cases(torch, x, w, pad):
    X = fe.from_numpy(x)
    Wt = fe.from_numpy(w)
    Xg = fe.tensor(x, requires_grad=True)
    Wg = fe.tensor(w, requires_grad=True)

    def fe_fb():
        Xg.grad = Wg.grad = None
        F.conv2d(Xg, Wg, padding=pad).sum().backward()

    def np_fb():
        y = R.conv2d_forward(x, w, padding=pad)
        R.conv2d_backward(x, w, np.ones_like(y), padding=pad)

    fwd = {"fe": lambda: F.conv2d(X, Wt, padding=pad), "np": lambda: R.conv2d_forward(x, w, padding=pad)}
    fb = {"fe": fe_fb, "np": np_fb}
    if torch:
        for fmt in ("nchw", "cl"):
            mf = torch.channels_last if fmt == "cl" else torch.contiguous_format
            xt = torch.from_numpy(x).contiguous(memory_format=mf)
            wt = torch.from_numpy(w).contiguous(memory_format=mf)
            xtg = xt.clone().requires_grad_(True)
            wtg = wt.clone().requires_grad_(True)

            def t_fb(xtg=xtg, wtg=wtg):
                xtg.grad = wtg.grad = None
                torch.nn.functional.conv2d(xtg, wtg, padding=pad).sum().backward()
            fwd["torch_" + fmt] = (lambda xt=xt, wt=wt: torch.nn.functional.conv2d(xt, wt, padding=pad))
            fb["torch_" + fmt] = t_fb
    return fwd, fb


def main():
    args, torch, peak = start(__doc__, "convolution / pooling / batch norm, float32, {threads} thread(s)",
                              threads_option=True)
    table = Table(ratio_columns("op", "ms", torch))
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 5
    for name, xs, ws, pad in CONVS:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        N, C, H, W = xs
        OH = H + 2 * pad - ws[2] + 1
        flop = 2.0 * N * ws[0] * C * ws[2] * ws[3] * OH * OH
        fwd, fb = conv_cases(torch, x, w, pad)
        for pname, fns, fl in (("fwd", fwd, flop), ("fwd+bwd", fb, 3 * flop)):
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.02)
            tt = min(t["torch_nchw"], t["torch_cl"]) if torch else None
            table.add(**ratio_row(("op", name), pname, t, flop=fl, peak=peak, torch_time=tt))
    # memory-bound ops: pooling and batch norm
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    xb = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    X, XB = fe.from_numpy(x), fe.from_numpy(xb)
    mem = [("max pool 2x2 (64,32,28,28)", {"fe": lambda: F.max_pool2d(X, 2),
                                            "np": lambda: RP.max_pool2d_forward(x, 2)}, x.nbytes * 1.25),
           ("avg pool 2x2 (64,32,28,28)", {"fe": lambda: F.avg_pool2d(X, 2),
                                            "np": lambda: RP.avg_pool2d_forward(x, 2)}, x.nbytes * 1.25),
           ("batch norm (32,64,32,32)", {"fe": lambda: F.batch_norm(XB, training=True),
                                          "np": lambda: RN.batch_norm_forward(xb)}, xb.nbytes * 3)]
    if torch:
        xt, xbt = torch.from_numpy(x), torch.from_numpy(xb)
        mem[0][1]["torch"] = lambda: torch.nn.functional.max_pool2d(xt, 2)
        mem[1][1]["torch"] = lambda: torch.nn.functional.avg_pool2d(xt, 2)
        mem[2][1]["torch"] = lambda: torch.nn.functional.batch_norm(xbt, None, None, training=True)
    for name, fns, nbytes in mem:
        t = interleaved_medians(fns, rounds=rounds, min_seconds=0.02)
        table.add(**ratio_row(("op", f"{name} {nbytes / t['fe'] * 1e-9:.0f} GB/s"), "fwd", t,
                              torch_time=t.get("torch")))
    print(table.render())
    x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    tracemalloc.start()
    F.conv2d(fe.tensor(x), fe.tensor(w), padding=1)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"# peak memory of the ResNet-shape forward (NumPy allocations): {peak_bytes / 2**20:.1f} MiB "
          f"(input {x.nbytes / 2**20:.1f} MiB, output {x.nbytes / 2**20:.1f} MiB)")
    write_json(args.json, {"rows": table.rows})


if __name__ == "__main__":
    main()
