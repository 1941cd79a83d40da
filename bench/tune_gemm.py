"""Sweeps the cache blocking (mc, kc, nc) of one GEMM kernel and prints GFLOP/s per setting, so the
defaults in csrc/dispatch.cpp can be chosen from measurements on the target machine.

    python bench/tune_gemm.py [--dtype float32] [--isa avx512] [--sizes 1024 2048] [--threads 1]
"""
import itertools

from common import Table, arg_parser, banner, time_median
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch
from firstepoch import _C


def main():
    p = arg_parser(__doc__)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--isa", default=_C.get_isa())
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    p.add_argument("--mc", type=int, nargs="+")
    p.add_argument("--kc", type=int, nargs="+", default=[128, 192, 256, 384])
    p.add_argument("--nc", type=int, nargs="+")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    print(banner(f"GEMM blocking sweep, {args.dtype}, {args.isa}"))
    firstepoch.set_num_threads(args.threads)
    _C.set_isa(args.isa)
    mr, nr, mc0, kc0, nc0 = _C._gemm_blocking(args.dtype, args.isa)
    mcs = args.mc or [mr * k for k in (5, 10, 16, 24, 32)]
    ncs = args.nc or [nc0]
    rng = np.random.default_rng(0)
    mats = {n: (rng.standard_normal((n, n)).astype(args.dtype), rng.standard_normal((n, n)).astype(args.dtype),
                np.empty((n, n), args.dtype)) for n in args.sizes}
    table = Table(["mc", "kc", "nc"] + [f"GF/s n={n}" for n in args.sizes])
    for mc, kc, nc in itertools.product(mcs, args.kc, ncs):
        _C._set_gemm_blocking(args.dtype, args.isa, mc, kc, nc)
        row = dict(mc=mc, kc=kc, nc=nc)
        for n, (a, b, c) in mats.items():
            t = time_median(lambda: _C.gemm(a, b, c), min_repeats=3, min_seconds=0.3)
            row[f"GF/s n={n}"] = 2.0 * n ** 3 / t * 1e-9
        table.add(**row)
        print(table.render().splitlines()[-1], flush=True)
    _C._set_gemm_blocking(args.dtype, args.isa, mc0, kc0, nc0)
    print(table.render())


if __name__ == "__main__":
    main()
