"""Pointwise activations (issue 17), forward and forward + backward over N float32 elements: firstepoch's
one-pass NumPy Functions vs the plain NumPy reference (textbook formulas) vs PyTorch, 1 thread. GB/s
counts the bytes a pass must move: forward reads x and writes y (8N); forward + backward also reads x
and the incoming gradient and writes dx (20N in all).

    python bench/activations.py [--json FILE] [--quick]
"""
from common import Table, finish, interleaved_medians, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import elementwise as R

N = 1 << 21
# name: (firstepoch/torch call on (F, x, w), reference forward, reference backward), w: PReLU's weight
OPS = {
    "elu": (lambda F_, x, w: F_.elu(x), R.elu_forward, R.elu_backward),
    "selu": (lambda F_, x, w: F_.selu(x), lambda x: R.elu_forward(x, 1.6732632, 1.0507010),
             lambda dy, x: R.elu_backward(dy, x, 1.6732632, 1.0507010)),
    "silu": (lambda F_, x, w: F_.silu(x), R.silu_forward, R.silu_backward),
    "mish": (lambda F_, x, w: F_.mish(x), R.mish_forward, R.mish_backward),
    "hardtanh": (lambda F_, x, w: F_.hardtanh(x), R.hardtanh_forward, R.hardtanh_backward),
    "softsign": (lambda F_, x, w: F_.softsign(x), R.softsign_forward, R.softsign_backward),
    "softplus": (lambda F_, x, w: F_.softplus(x), R.softplus_forward, R.softplus_backward),
    "hardswish": (lambda F_, x, w: F_.hardswish(x), R.hardswish_forward, R.hardswish_backward),
    "prelu": (lambda F_, x, w: F_.prelu(x, w), lambda x: R.prelu_forward(x, W),
              lambda dy, x: R.prelu_backward(dy, x, W)),
}
W = np.full(64, 0.25, np.float32)


def main():
    args, torch, _ = start(__doc__, f"pointwise activations over {N} float32 elements (N, 64, 32, 32)/64, 1 thread")
    cols = ["op", "pass", "fe ms", "numpy ms", "fe vs numpy"] + (["torch ms", "fe vs torch"] if torch else []) + [
        "GB/s"]
    table = Table(cols)
    rng = np.random.default_rng(0)
    shape = (N // (64 * 1024), 64, 32, 32)
    a = rng.standard_normal(shape).astype(np.float32) * 3
    g = rng.standard_normal(shape).astype(np.float32)
    rounds = 3 if args.quick else 7
    for name, (call, ref_forward, ref_backward) in OPS.items():
        w, gt = fe.tensor(W, requires_grad=True), fe.tensor(g)
        for pname, nbytes in (("forward", 8 * N), ("fwd+bwd", 20 * N)):
            backward = pname == "fwd+bwd"

            def ours():
                x = fe.tensor(a, requires_grad=backward)
                y = call(F, x, w)
                if backward:
                    y.backward(gt)

            def numpy_ref():
                ref_forward(a)
                if backward:
                    ref_backward(g, a)

            fns = {"fe": ours, "np": numpy_ref}
            if torch:
                at, gtt, wt = torch.from_numpy(a), torch.from_numpy(g), torch.tensor(W, requires_grad=True)

                def theirs():
                    x = at.clone().requires_grad_(True) if backward else at
                    y = call(torch.nn.functional, x, wt)
                    if backward:
                        y.backward(gtt)
                fns["torch"] = theirs
            with np.errstate(all="ignore"):
                m = interleaved_medians(fns, rounds=rounds)
            row = {"op": name, "pass": pname, "fe ms": m["fe"] * 1e3, "numpy ms": m["np"] * 1e3,
                   "fe vs numpy": m["np"] / m["fe"], "GB/s": nbytes / m["fe"] * 1e-9}
            if torch:
                row["torch ms"] = m["torch"] * 1e3
                row["fe vs torch"] = m["torch"] / m["fe"]
            table.add(**row)
    finish(args, table, "# fe vs X: speed ratio (> 1 means firstepoch is faster); torch's fwd+bwd includes a clone")


if __name__ == "__main__":
    main()
