"""Layer norm and group norm: firstepoch vs the NumPy reference vs PyTorch (when importable), float32,
forward and forward+backward (autograd, with weight and bias), GB/s against the measured bandwidth.

    python bench/norm.py [--threads 1] [--quick] [--json FILE]
"""
from common import Table, finish, interleaved_medians, ratio_columns, ratio_row, settle_for, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import norm as RN

# name, kind, input shape, normalized_shape (layer) or num_groups (group)
CASES = [("LayerNorm (64*128, 768)", "layer", (64 * 128, 768), (768,)),
         ("LayerNorm (32, 128, 512)", "layer", (32, 128, 512), (512,)),
         ("GroupNorm (32, 64, 56, 56) g32", "group", (32, 64, 56, 56), 32)]


def cases(torch, rng, kind, shape, arg):
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    P = int(np.prod(arg)) if kind == "layer" else shape[1]
    w = rng.standard_normal(P).astype(np.float32)
    b = rng.standard_normal(P).astype(np.float32)
    X, Xg = fe.tensor(x), fe.tensor(x, requires_grad=True)
    Wg, Bg, DY = fe.tensor(w, requires_grad=True), fe.tensor(b, requires_grad=True), fe.tensor(dy)
    if kind == "layer":
        fe_fn = lambda t, ww, bb: F.layer_norm(t, arg, ww, bb)  # noqa: E731
        rows, drows = x.reshape(-1, P), dy.reshape(-1, P)

        def np_fwd():
            return RN.layer_norm_forward(rows, w, b)

        def np_fb():
            _, m, s = RN.layer_norm_forward(rows, w, b)
            RN.layer_norm_backward(drows, rows, w, m, s)
    else:
        fe_fn = lambda t, ww, bb: F.group_norm(t, arg, ww, bb)  # noqa: E731
        x3, dy3 = x.reshape(shape[0], shape[1], -1), dy.reshape(shape[0], shape[1], -1)

        def np_fwd():
            return RN.group_norm_forward(x3, arg, w, b)

        def np_fb():
            _, m, s = RN.group_norm_forward(x3, arg, w, b)
            RN.group_norm_backward(dy3, x3, arg, w, m, s)

    def fe_fb():
        Xg.grad = Wg.grad = Bg.grad = None
        fe_fn(Xg, Wg, Bg).backward(DY)

    passes = {"fwd": {"fe": lambda: fe_fn(X, Wg.detach(), Bg.detach()), "np": np_fwd},
              "fwd+bwd": {"fe": fe_fb, "np": np_fb}}
    if torch:
        tf = torch.nn.functional
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        xtg = xt.clone().requires_grad_(True)
        wt, bt = torch.from_numpy(w), torch.from_numpy(b)
        wtg, btg = wt.clone().requires_grad_(True), bt.clone().requires_grad_(True)
        if kind == "layer":
            t_fn = lambda t, ww, bb: tf.layer_norm(t, arg, ww, bb)  # noqa: E731
        else:
            t_fn = lambda t, ww, bb: tf.group_norm(t, arg, ww, bb)  # noqa: E731

        def t_fwd():
            with torch.no_grad():
                t_fn(xt, wt, bt)

        def t_fb():
            xtg.grad = wtg.grad = btg.grad = None
            t_fn(xtg, wtg, btg).backward(dyt)
        passes["fwd"]["torch"], passes["fwd+bwd"]["torch"] = t_fwd, t_fb
    # the bytes a pass must move: fwd reads x, writes y; bwd reads dy and x, writes dx
    nbytes = {"fwd": 2 * x.nbytes, "fwd+bwd": 5 * x.nbytes}
    return passes, nbytes


def main():
    args, torch, _ = start(__doc__, "layer norm / group norm, float32, {threads} thread(s)", threads_option=True,
                           bandwidth=True)
    table = Table(ratio_columns("op", "ms", torch, flops=False, bandwidth=True))
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 5
    for name, kind, shape, arg in CASES:
        passes, nbytes = cases(torch, rng, kind, shape, arg)
        for pname, fns in passes.items():
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.02, settle=settle_for(args.threads))
            table.add(**ratio_row(("op", name), pname, t, torch_time=t.get("torch"), nbytes=nbytes[pname],
                                  bandwidth=args.bandwidth))
    finish(args, table, "# fe vs X: speed ratio (> 1: firstepoch faster). MB: the bytes a pass must move at the "
                        "least (fwd: x read, y written; bwd: dy, x read, dx written). % bw: of the measured bandwidth.")


if __name__ == "__main__":
    main()
