"""Transposed convolution (ConvTranspose2d): firstepoch (the convolution kernel's data gradient as the
forward) vs the NumPy reference (firstepoch.reference.conv.conv_transpose2d_*) vs PyTorch, float32:
forward and forward+backward through autograd (both gradients and the bias).

    python bench/conv_transpose.py [--threads 1] [--quick] [--json FILE]
"""
from common import Table, interleaved_medians, ratio_columns, ratio_row, settle_for, start, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import conv as R

# name, x shape, weight shape (Cin, Cout, kh, kw), stride, padding, output_padding
CASES = [("DCGAN 128->64 4x4 s2 p1 16x16", (64, 128, 16, 16), (128, 64, 4, 4), 2, 1, 0),
         ("32->32 3x3 s1 p1 28x28", (32, 64, 28, 28), (64, 32, 3, 3), 1, 1, 0),
         ("U-Net up 64->32 2x2 s2 32x32", (16, 64, 32, 32), (64, 32, 2, 2), 2, 0, 0),
         ("3x3 s2 p1 op1 32->16 14x14", (64, 32, 14, 14), (32, 16, 3, 3), 2, 1, 1)]


def cases(torch, x, w, b, s, p, op):
    """{pass: {competitor: callable}}: the forward, and forward + backward of sum(y * g)."""
    X, Wt, B = fe.from_numpy(x), fe.from_numpy(w), fe.from_numpy(b)
    Xg, Wg, Bg = (fe.tensor(a, requires_grad=True) for a in (x, w, b))
    y = R.conv_transpose2d_forward(x, w, b, s, p, op)
    g = np.ones_like(y)
    G = fe.from_numpy(g)

    def fe_fb():
        Xg.grad = Wg.grad = Bg.grad = None
        F.conv_transpose2d(Xg, Wg, Bg, s, p, op).backward(G)

    def np_fb():
        R.conv_transpose2d_forward(x, w, b, s, p, op)
        R.conv_transpose2d_backward(x, w, g, s, p, op)

    out = {"fwd": {"fe": lambda: F.conv_transpose2d(X, Wt, B, s, p, op),
                   "np": lambda: R.conv_transpose2d_forward(x, w, b, s, p, op)},
           "fwd+bwd": {"fe": fe_fb, "np": np_fb}}
    if torch:
        tf = torch.nn.functional
        xt, wt, bt, gt = (torch.from_numpy(a) for a in (x, w, b, g))
        xtg, wtg, btg = (a.clone().requires_grad_(True) for a in (xt, wt, bt))

        def t_fb():
            xtg.grad = wtg.grad = btg.grad = None
            tf.conv_transpose2d(xtg, wtg, btg, s, p, op).backward(gt)
        out["fwd"]["torch"] = lambda: tf.conv_transpose2d(xt, wt, bt, s, p, op)
        out["fwd+bwd"]["torch"] = t_fb
    return out


def main():
    args, torch, peak = start(__doc__, "transposed convolution, float32, {threads} thread(s)", threads_option=True)
    table = Table(ratio_columns("op", "ms", torch))
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 5
    for name, xs, ws, s, p, op in CASES:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        b = rng.standard_normal(ws[1]).astype(np.float32)
        flop = 2.0 * x.size * ws[1] * ws[2] * ws[3]  # every input element meets Cout * kh * kw weights
        for pname, fns in cases(torch, x, w, b, s, p, op).items():
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.02, settle=settle_for(args.threads))
            table.add(**ratio_row(("op", name), pname, t, flop=3 * flop if pname == "fwd+bwd" else flop, peak=peak,
                                  torch_time=t.get("torch")))
    print(table.render())
    print("# fwd: the convolution kernel's data gradient (col2im path) plus the bias; fwd+bwd adds dx (a forward "
          "convolution of dy), dW (the convolution's weight gradient with dy as its input) and db.")
    write_json(args.json, {"rows": table.rows})


if __name__ == "__main__":
    main()
