"""GEMM benchmark: firstepoch vs NumPy (its BLAS) vs PyTorch (when importable), float32, 1 and 2 threads.

    python bench/gemm.py [--threads 1 2] [--quick] [--json FILE]

For NumPy's best OpenBLAS kernel run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python
bench/gemm.py` (those variables pin OpenBLAS to an older kernel on some machines; the banner shows which
kernel NumPy's BLAS uses).
"""
from common import (Table, blas_threads, arg_parser, banner, interleaved_medians, measured_peak, try_import_torch,
                    write_json)
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import common  # noqa: E402
import firstepoch
from firstepoch import _C

SQUARE = [64, 128, 256, 512, 1024, 2048]
# (M, K, N) of the deep-learning layers: MNIST MLP, a classifier head, a wider MLP, a transformer FFN.
DL = [(64, 784, 128), (64, 128, 10), (256, 784, 512), (64, 384, 1024)]


def cases(quick):
    square = SQUARE[:4] if quick else SQUARE
    for n in square:
        yield f"{n}x{n} @ {n}x{n}", n, n, n, False, False
    for M, K, N in DL:
        yield f"({M}x{K}) @ ({K}x{N})", M, N, K, False, False
        # A Linear layer's forward (x @ W.T) and its weight gradient (dy.T @ x): the transposed operands
        # of every backward pass.
        yield f"({M}x{K}) @ ({N}x{K}).T", M, N, K, False, True
        yield f"({K}x{M}).T @ ({K}x{N})", M, N, K, True, False


def main():
    p = arg_parser(__doc__)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    torch = try_import_torch()
    print(banner("GEMM float32: out = a @ b"))
    isa = _C.get_isa()
    peaks = {n: measured_peak(isa, n) for n in args.threads}
    print("# measured FMA peak (" + isa + "): " +
          ", ".join(f"{v:.0f} GFLOP/s on {n} thread{'s' * (n > 1)}" for n, v in peaks.items()))
    cols = ["op", "thr", "fe ms", "fe GF/s", "% peak", "numpy GF/s", "fe/numpy"]
    if torch:
        cols += ["torch GF/s", "fe/torch"]
    table = Table(cols)
    rng = np.random.default_rng(0)
    for nthreads in args.threads:
        firstepoch.set_num_threads(nthreads)
        if torch:
            torch.set_num_threads(nthreads)
        with blas_threads(nthreads):
            for name, M, N, K, ta, tb in cases(args.quick):
                a = rng.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
                b = rng.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
                out = np.empty((M, N), np.float32)
                na, nb = (a.T if ta else a), (b.T if tb else b)
                fns = {
                    "fe": lambda: _C.gemm(a, b, out, trans_a=ta, trans_b=tb),
                    "np": lambda: np.matmul(na, nb, out=out),
                }
                if torch:
                    ta_t, tb_t, out_t = torch.from_numpy(na), torch.from_numpy(nb), torch.from_numpy(out)
                    fns["torch"] = lambda: torch.matmul(ta_t, tb_t, out=out_t)
                t = interleaved_medians(fns, rounds=3 if args.quick else 5, settle=0.25 if nthreads > 1 else 0.0)
                flop = 2.0 * M * N * K
                row = dict(op=name, thr=nthreads, **{"fe ms": t["fe"] * 1e3},
                           **{"fe GF/s": flop / t["fe"] * 1e-9, "numpy GF/s": flop / t["np"] * 1e-9 if common.NUMPY_THREADS_KNOWN else None,
                              "fe/numpy": t["np"] / t["fe"] if common.NUMPY_THREADS_KNOWN else None})
                row["% peak"] = 100 * row["fe GF/s"] / peaks[nthreads]
                if torch:
                    row["torch GF/s"] = flop / t["torch"] * 1e-9
                    row["fe/torch"] = t["torch"] / t["fe"]
                table.add(**row)
    print(table.render())
    print("# fe/numpy, fe/torch: speed ratio (>1 means firstepoch is faster); medians of interleaved runs")
    write_json(args.json, {"peaks": peaks, "isa": isa, "rows": table.rows})


if __name__ == "__main__":
    main()
