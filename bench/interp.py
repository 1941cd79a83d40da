"""Interpolation (F.interpolate): firstepoch vs the NumPy reference vs PyTorch (when importable), nearest
and bilinear (align_corners=False) upsampling by 2 over a feature map (32,64,56,56) and images
(8,3,224,224) -> 448; forward, and forward+backward through autograd. Memory-bound: GB/s of the bytes
each pass must move, against the measured bandwidth.

    python bench/interp.py [--threads N] [--quick] [--json FILE]
"""
import numpy as np

from common import Table, interleaved_medians, ratio_columns, ratio_row, settle_for, start, write_json

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.reference import interp as RI

SHAPES = [(32, 64, 56, 56), (8, 3, 224, 224)]
MODES = [("nearest", None), ("bilinear", False)]


def cases(torch, rng):
    """[(name, {pass: {competitor: callable}}, {pass: bytes})]."""
    out = []
    for shape in SHAPES:
        x = rng.standard_normal(shape).astype(np.float32)
        osz = (2 * shape[2], 2 * shape[3])
        dy = rng.standard_normal(shape[:2] + osz).astype(np.float32)
        X, Xg, DY = fe.from_numpy(x), fe.tensor(x, requires_grad=True), fe.from_numpy(dy)
        E = x.nbytes
        for mode, ac in MODES:
            kmode = "linear" if mode == "bilinear" else mode

            def fe_fwd(mode=mode, ac=ac, X=X):  # (defaults: a closure would see the last shape's tensors)
                F.interpolate(X, scale_factor=2, mode=mode, align_corners=ac)

            def fe_fb(mode=mode, ac=ac, Xg=Xg, DY=DY):
                Xg.grad = None
                F.interpolate(Xg, scale_factor=2, mode=mode, align_corners=ac).backward(DY)

            def np_fwd(kmode=kmode, x=x, osz=osz):
                RI.interpolate2d_forward(x, osz, kmode, False, 2.0, 2.0)

            def np_fb(kmode=kmode, x=x, osz=osz, dy=dy):
                RI.interpolate2d_forward(x, osz, kmode, False, 2.0, 2.0)
                RI.interpolate2d_backward(dy, x.shape, kmode, False, 2.0, 2.0)

            passes = {"fwd": {"fe": fe_fwd, "np": np_fwd}, "fwd+bwd": {"fe": fe_fb, "np": np_fb}}
            if torch:
                tf = torch.nn.functional
                xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
                xtg = xt.clone().requires_grad_(True)

                def t_fwd(mode=mode, ac=ac, xt=xt):
                    tf.interpolate(xt, scale_factor=2, mode=mode, align_corners=ac)

                def t_fb(mode=mode, ac=ac, xtg=xtg, dyt=dyt):
                    xtg.grad = None
                    tf.interpolate(xtg, scale_factor=2, mode=mode, align_corners=ac).backward(dyt)
                passes["fwd"]["torch"], passes["fwd+bwd"]["torch"] = t_fwd, t_fb
            name = f"{mode} x2 ({','.join(map(str, shape))})"
            out.append((name, passes, {"fwd": 5 * E, "fwd+bwd": 10 * E}))
    return out


def main():
    args, torch, _ = start(__doc__, "interpolation, float32, {threads} thread(s)", threads_option=True, bandwidth=True)
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 5
    table = Table(ratio_columns("op", "ms", torch, flops=False, bandwidth=True))
    for name, passes, nbytes in cases(torch, rng):
        for pname, fns in passes.items():
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.05, settle=settle_for(args.threads))
            table.add(**ratio_row(("op", name), pname, t, torch_time=t.get("torch"), nbytes=nbytes[pname],
                                  bandwidth=args.bandwidth))
    print(table.render())
    print("# MB: the bytes a pass must move at the least (float32): fwd reads x and writes y (4x), its backward "
          "reads dy and writes dx; fwd+bwd is the sum. % bw: of the measured memory bandwidth above.")
    write_json(args.json, {"rows": table.rows})


if __name__ == "__main__":
    main()
