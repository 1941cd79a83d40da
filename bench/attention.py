"""Scaled dot-product attention: firstepoch's tiled kernel (F.scaled_dot_product_attention) vs the NumPy
reference that writes the full score matrix vs PyTorch's scaled_dot_product_attention (when importable),
float32, forward and forward+backward, causal and not, at (B=8, H=8, T=256, D=64) and
(B=4, H=12, T=1024, D=64).

GFLOP/s count the useful work: forward 4*B*H*D*pairs (Q K^T and P V), backward 2.5x that (FlashAttention's
convention: dV, dP, dQ, dK), pairs = L*S, or L*(L+1)/2 causal. Memory: the (B, H, L, S) float32 score
matrix (what the NumPy reference, and torch's math path, make: several of them) against the scratch
the tiled kernel takes (_C.attention_workspace_size, per thread, times the threads; C++ allocations
are invisible to tracemalloc) plus the lse it saves (B*H*L).

    python bench/attention.py [--threads 1] [--quick] [--reference-large] [--dropout P] [--json FILE]

The NumPy reference is skipped at T=1024 (seconds per call and ~1 GB of temporaries) unless
--reference-large. --dropout P times every row with dropout_p=P (firstepoch drops inside its tiled
kernel; the reference and torch with their own masks: torch 2.13 on the CPU then takes its math path).
"""
import sys

from common import Table, finish, interleaved_medians, pop_dropout_option, settle_for, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.reference import attention as RA

SHAPES = [(8, 8, 256, 64), (4, 12, 1024, 64)]


def main():
    large_ref = "--reference-large" in sys.argv
    if large_ref:
        sys.argv.remove("--reference-large")
    drop = pop_dropout_option("attention.py")
    title = "scaled_dot_product_attention, float32, {threads} thread(s)" + (f", dropout_p={drop}" if drop else "")
    args, torch, peak = start(__doc__, title, threads_option=True)
    cols = ["shape (B, H, T, D)", "causal", "pass", "fe ms", "numpy ms", "fe vs numpy"]
    cols += ["torch ms", "fe vs torch"] if torch else []
    cols += ["GFLOP/s", "% peak", "scores MB", "fe scratch MB"]
    table = Table(cols)
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 7
    for B, H, T, D in SHAPES:
        q, k, v, g = (rng.standard_normal((B, H, T, D)).astype(np.float32) for _ in range(4))
        scores_mb = B * H * T * T * 4 / 1e6
        for causal in (False, True):
            pairs = T * (T + 1) // 2 if causal else T * T
            fwd_flop = 4 * B * H * D * pairs
            scale = 1 / np.sqrt(D)
            Q, K, V, G = fe.tensor(q), fe.tensor(k), fe.tensor(v), fe.tensor(g)
            Qg, Kg, Vg = (fe.tensor(x, requires_grad=True) for x in (q, k, v))

            def fe_fwd():
                F.scaled_dot_product_attention(Q, K, V, is_causal=causal, dropout_p=drop)

            def fe_fb():
                Qg.grad = Kg.grad = Vg.grad = None
                F.scaled_dot_product_attention(Qg, Kg, Vg, is_causal=causal, dropout_p=drop).backward(G)

            def np_fwd():
                RA.attention_forward(q, k, v, None, scale, causal, drop, 1)

            def np_fb():
                o, lse = RA.attention_forward(q, k, v, None, scale, causal, drop, 1)
                RA.attention_backward(q, k, v, None, o, lse, g, scale, causal, drop, 1)

            passes = [("forward", fe_fwd, np_fwd, fwd_flop, False),
                      ("fwd+bwd", fe_fb, np_fb, int(3.5 * fwd_flop), True)]
            for pname, fe_fn, np_fn, flop, backward in passes:
                fns = {"fe": fe_fn}
                if T <= 256 or large_ref:
                    fns["np"] = np_fn
                if torch:
                    tq, tk, tv, tg = (torch.from_numpy(x) for x in (q, k, v, g))
                    if backward:
                        tqg, tkg, tvg = (x.clone().requires_grad_(True) for x in (tq, tk, tv))

                        def theirs():
                            tqg.grad = tkg.grad = tvg.grad = None
                            torch.nn.functional.scaled_dot_product_attention(tqg, tkg, tvg, is_causal=causal,
                                                                             dropout_p=drop).backward(tg)
                    else:
                        def theirs():
                            with torch.no_grad():
                                torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal,
                                                                                 dropout_p=drop)
                    fns["torch"] = theirs
                m = interleaved_medians(fns, rounds=rounds, min_seconds=0.05,
                                        settle=settle_for(args.threads))
                ws = _C.attention_workspace_size(q, k, v, backward=False) * args.threads
                if backward:
                    ws = max(ws, _C.attention_workspace_size(q, k, v, backward=True) * min(args.threads, B * H))
                row = {"shape (B, H, T, D)": f"({B}, {H}, {T}, {D})", "causal": causal, "pass": pname,
                       "fe ms": m["fe"] * 1e3, "GFLOP/s": flop / m["fe"] * 1e-9,
                       "scores MB": scores_mb, "fe scratch MB": (ws + B * H * T * 4) / 1e6}
                row["% peak"] = 100 * row["GFLOP/s"] / peak
                if "np" in m:
                    row["numpy ms"] = m["np"] * 1e3
                    row["fe vs numpy"] = m["np"] / m["fe"]
                if torch:
                    row["torch ms"] = m["torch"] * 1e3
                    row["fe vs torch"] = m["torch"] / m["fe"]
                table.add(**row)
    finish(args, table, "# fe vs X: speed ratio (> 1 means firstepoch is faster). numpy: the reference (full score "
                        "matrix), left out at T=1024 unless --reference-large. scores MB: one (B, H, L, S) float32 "
                        "matrix; fe scratch MB: the kernel's workspace on all threads plus the saved lse (the tiled "
                        "kernel never makes the matrix)", peak_gflops=peak)


if __name__ == "__main__":
    main()
