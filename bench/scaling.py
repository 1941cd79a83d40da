"""OpenMP scaling: GEMM and a convolution layer on 1, 2, 4, ... threads, firstepoch vs NumPy vs PyTorch
at the same thread count, with the speed-up over one thread, the parallel efficiency and the fraction of
the FMA peak measured on that many threads. Also checks that the results are bitwise identical on every
thread count (the project's rule: work splits never reorder a reduction).

    python bench/scaling.py [--threads 1 2 4 8 16] [--quick] [--json FILE]

Meant for a many-core machine; on 2 cores it shows 1 and 2.
"""
import os

from common import Table, blas_threads, arg_parser, banner, interleaved_medians, measured_peak, try_import_torch, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import common  # noqa: E402
import firstepoch
from firstepoch import _C


def gemm_case(n, rng):
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)

    def fe():
        _C.gemm(a, b, out, trans_a=False, trans_b=False)
        return out

    def ref():
        return np.matmul(a, b, out=out)

    def torch_fn(torch):
        ta, tb, to = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        return lambda: torch.matmul(ta, tb, out=to)

    return f"gemm {n}x{n}x{n}", 2.0 * n ** 3, fe, ref, torch_fn


def conv_case(rng, N=32, C=128, H=28, K=128, R=3):
    """A ResNet-style 3x3 convolution, stride 1, padding 1, forward only."""
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((K, C, R, R)) * 0.05).astype(np.float32)
    xt, wt = firstepoch.tensor(x), firstepoch.tensor(w)
    F = firstepoch.nn.functional

    def fe():
        return F.conv2d(xt, wt, None, stride=1, padding=1).data

    from firstepoch.reference import conv as refconv

    def ref():
        return refconv.conv2d_forward(x, w, None, stride=1, padding=1)

    def torch_fn(torch):
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        return lambda: torch.nn.functional.conv2d(tx, tw, None, 1, 1)

    flop = 2.0 * N * K * H * H * C * R * R
    return f"conv {N}x{C}x{H}x{H} k{K} 3x3", flop, fe, ref, torch_fn


def main():
    p = arg_parser(__doc__)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    default = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= ncpu]
    p.add_argument("--threads", type=int, nargs="+", default=default)
    args = p.parse_args()
    torch = try_import_torch()
    print(banner("OpenMP scaling (float32)"))
    isa = _C.get_isa()
    peaks = {n: measured_peak(isa, n) for n in args.threads}
    print("# measured FMA peak (" + isa + "): " + ", ".join(f"{n} thr {v:.0f}" for n, v in peaks.items()) + " GFLOP/s")
    rng = np.random.default_rng(0)
    sizes = [2048] if args.quick else [1024, 4096]
    cases = [gemm_case(n, rng) for n in sizes]
    try:
        cases.append(conv_case(rng))
    except (AttributeError, ImportError) as e:  # a reference name changed: say so, keep the GEMM rows
        print(f"# conv case skipped: {e}")
    cols = ["op", "thr", "fe ms", "fe GF/s", "% peak", "speedup", "eff %", "numpy GF/s", "fe/numpy"]
    if torch:
        cols += ["torch GF/s", "fe/torch"]
    table = Table(cols)
    for name, flop, fe, ref, torch_fn in cases:
        base = None
        first_result = None
        bitwise = True
        for n in args.threads:
            firstepoch.set_num_threads(n)
            fns = {"fe": fe, "np": ref}
            if torch:
                torch.set_num_threads(n)
                fns["torch"] = torch_fn(torch)
            with blas_threads(n):
                t = interleaved_medians(fns, rounds=3 if args.quick else 5, settle=0.25 if n > 1 else 0.0)
            res = np.array(fe(), copy=True)
            if first_result is None:
                first_result = res
            elif not np.array_equal(res, first_result):
                bitwise = False
            base = base or t["fe"]
            gf = flop / t["fe"] * 1e-9
            row = {"op": name, "thr": n, "fe ms": t["fe"] * 1e3, "fe GF/s": gf, "% peak": 100 * gf / peaks[n],
                   "speedup": base / t["fe"], "eff %": 100 * base / t["fe"] / n,
                   "numpy GF/s": flop / t["np"] * 1e-9 if common.NUMPY_THREADS_KNOWN else None, "fe/numpy": t["np"] / t["fe"] if common.NUMPY_THREADS_KNOWN else None}
            if torch:
                row["torch GF/s"] = flop / t["torch"] * 1e-9
                row["fe/torch"] = t["torch"] / t["fe"]
            table.add(**row)
        print(f"# {name}: results bitwise identical across {args.threads} threads: {bitwise}")
    print(table.render())
    print("# speedup/eff: firstepoch against itself on 1 thread; fe/numpy, fe/torch >1: firstepoch faster")
    write_json(args.json, {"peaks": peaks, "isa": isa, "rows": table.rows})


if __name__ == "__main__":
    main()
