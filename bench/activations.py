"""Pointwise activations (issue 17) and pointwise losses, forward and forward + backward over N float32
elements: firstepoch (the C++ activation kernels behind the Functions) vs the plain NumPy reference
(textbook formulas) vs PyTorch, on --threads threads (1 by default; run it with 1 and with 2).
GB/s counts the bytes a pass must move: an activation's forward reads x and writes y (8N); forward +
backward also reads x and the incoming gradient and writes dx (20N in all). A loss's forward reads input
and target (8N, reduction 'mean'); forward + backward also reads both again and writes dinput (20N).

    python bench/activations.py [--threads N] [--json FILE] [--quick]
"""
from common import Table, finish, interleaved_medians, settle_for, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import elementwise as R, loss as RL

N = 1 << 21
W = np.full(64, 0.25, np.float32)
# name: (firstepoch/torch call on (F, x, w), reference forward, reference backward), w: PReLU's weight
OPS = {
    "relu": (lambda F_, x, w: F_.relu(x), R.relu_forward, R.relu_backward),
    "sigmoid": (lambda F_, x, w: x.sigmoid(), R.sigmoid_forward, R.sigmoid_backward),
    "tanh": (lambda F_, x, w: x.tanh(), R.tanh_forward, R.tanh_backward),
    "gelu": (lambda F_, x, w: F_.gelu(x), R.gelu_forward, R.gelu_backward),
    "gelu_tanh": (lambda F_, x, w: F_.gelu(x, approximate="tanh"), lambda x: R.gelu_forward(x, "tanh"),
                  lambda dy, x: R.gelu_backward(dy, x, "tanh")),
    "elu": (lambda F_, x, w: F_.elu(x), R.elu_forward, R.elu_backward),
    "selu": (lambda F_, x, w: F_.selu(x), lambda x: R.elu_forward(x, 1.6732632, 1.0507010),
             lambda dy, x: R.elu_backward(dy, x, 1.6732632, 1.0507010)),
    "silu": (lambda F_, x, w: F_.silu(x), R.silu_forward, R.silu_backward),
    "mish": (lambda F_, x, w: F_.mish(x), R.mish_forward, R.mish_backward),
    "hardtanh": (lambda F_, x, w: F_.hardtanh(x), R.hardtanh_forward, R.hardtanh_backward),
    "softsign": (lambda F_, x, w: F_.softsign(x), R.softsign_forward, R.softsign_backward),
    "softplus": (lambda F_, x, w: F_.softplus(x), R.softplus_forward, R.softplus_backward),
    "leaky_relu": (lambda F_, x, w: F_.leaky_relu(x, 0.1), lambda x: R.leaky_relu_forward(x, 0.1),
                   lambda dy, x: R.leaky_relu_backward(dy, x, 0.1)),
    "hardsigmoid": (lambda F_, x, w: F_.hardsigmoid(x), R.hardsigmoid_forward, R.hardsigmoid_backward),
    "hardswish": (lambda F_, x, w: F_.hardswish(x), R.hardswish_forward, R.hardswish_backward),
    "prelu": (lambda F_, x, w: F_.prelu(x, w), lambda x: R.prelu_forward(x, W),
              lambda dy, x: R.prelu_backward(dy, x, W)),
}
PW = np.linspace(0.5, 2, 64, dtype=np.float32)  # bce_with_logits' pos_weight, one per class (last axis)
# name: (firstepoch/torch call on (F, input, target, lib's pos_weight), reference kind, reference options,
#        the target's values from (x, t): t standard normal)
LOSSES = {
    "bce_with_logits": (lambda F_, x, t, pw: F_.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
                        "binary_cross_entropy_with_logits", {"pos_weight": PW}, lambda x, t: 1 / (1 + np.exp(-t))),
    "bce": (lambda F_, x, t, pw: F_.binary_cross_entropy(x, t), "binary_cross_entropy", {},
            lambda x, t: 1 / (1 + np.exp(-t))),
    "smooth_l1": (lambda F_, x, t, pw: F_.smooth_l1_loss(x, t), "smooth_l1", {"param": 1.0}, lambda x, t: t),
    "huber": (lambda F_, x, t, pw: F_.huber_loss(x, t, delta=0.5), "huber", {"param": 0.5}, lambda x, t: t),
    "kl_div": (lambda F_, x, t, pw: F_.kl_div(x, t, reduction="batchmean"), "kl_div", {},
               lambda x, t: 1 / (1 + np.exp(-t))),
    "mse": (lambda F_, x, t, pw: F_.mse_loss(x, t), "mse", {}, lambda x, t: t),
    "l1": (lambda F_, x, t, pw: F_.l1_loss(x, t), "l1", {}, lambda x, t: t),
}


def timed_row(table, name, pname, nbytes, fns, rounds, threads, torch):
    with np.errstate(all="ignore"):
        m = interleaved_medians(fns, rounds=rounds, settle=settle_for(threads))
    row = {"op": name, "pass": pname, "fe ms": m["fe"] * 1e3, "numpy ms": m["np"] * 1e3,
           "fe vs numpy": m["np"] / m["fe"], "GB/s": nbytes / m["fe"] * 1e-9}
    if torch:
        row["torch ms"] = m["torch"] * 1e3
        row["fe vs torch"] = m["torch"] / m["fe"]
    table.add(**row)


def main():
    args, torch, _ = start(__doc__, f"pointwise activations and losses over {N} float32 elements "
                           "(N, 64, 32, 32)/64, {threads} thread(s)", threads_option=True)
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

            def ours():  # forward: a view of a, as torch's from_numpy; with backward a copy, as torch's clone
                x = fe.tensor(a, requires_grad=True) if backward else fe.from_numpy(a)
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
            timed_row(table, name, pname, nbytes, fns, rounds, args.threads, torch)
    # the losses over (N/64, 64): rows of 64 classes
    x2 = (a.reshape(-1, 64) / 3).astype(np.float32)
    t_raw = rng.standard_normal(x2.shape).astype(np.float32)
    for name, (call, kind, options, target) in LOSSES.items():
        xin = 1 / (1 + np.exp(-x2)) if kind == "binary_cross_entropy" else x2
        xin = np.log(1 / (1 + np.exp(-x2))) if kind == "kl_div" else xin
        xin = np.ascontiguousarray(xin, np.float32)
        t = np.ascontiguousarray(target(x2, t_raw), np.float32)
        for pname, nbytes in (("forward", 8 * N), ("fwd+bwd", 20 * N)):
            backward = pname == "fwd+bwd"
            pw, tgt = fe.from_numpy(PW), fe.from_numpy(t)

            def ours():
                x = fe.tensor(xin, requires_grad=True) if backward else fe.from_numpy(xin)
                y = call(F, x, tgt, pw)
                if backward:
                    y.backward()

            def numpy_ref():
                RL.pointwise_loss_forward(xin, t, kind, **options)
                if backward:
                    RL.pointwise_loss_backward(np.float32(1), xin, t, kind, **options)

            fns = {"fe": ours, "np": numpy_ref}
            if torch:
                xt, tt, pwt = torch.from_numpy(xin), torch.from_numpy(t), torch.from_numpy(PW)

                def theirs():
                    x = xt.clone().requires_grad_(True) if backward else xt
                    y = call(torch.nn.functional, x, tt, pwt)
                    if backward:
                        y.backward()
                fns["torch"] = theirs
            timed_row(table, "loss " + name, pname, nbytes, fns, rounds, args.threads, torch)
    finish(args, table, "# fe vs X: speed ratio (> 1 means firstepoch is faster); torch's fwd+bwd includes a clone")


if __name__ == "__main__":
    main()
