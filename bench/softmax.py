"""Cross-entropy forward+backward: the fused C++ kernel vs the NumPy reference vs PyTorch (when
importable), float32, 1 thread.

    python bench/softmax.py [--json FILE]
"""
from common import Table, finish, interleaved_medians, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
from firstepoch import reference as R
from firstepoch.ops import loss as L

SHAPES = [(64, 10), (256, 1000), (4096, 1000)]


def main():
    args, torch, _ = start(__doc__, "cross-entropy forward + backward, float32, 1 thread")
    cols = ["shape (N, C)", "firstepoch us", "numpy us", "fe vs numpy"] + (["torch us", "fe vs torch"] if torch else [])
    table = Table(cols)
    rng = np.random.default_rng(0)
    for n, c in SHAPES:
        z = rng.standard_normal((n, c)).astype(np.float32)
        t = rng.integers(0, c, n)

        def ours():
            x = fe.tensor(z, requires_grad=True)
            L.cross_entropy(x, t).backward()

        def numpy_ref():
            _, stats = R.loss.cross_entropy_forward(z, t)
            R.loss.cross_entropy_backward(z, stats, t) / n

        fns = {"fe": ours, "np": numpy_ref}
        if torch:
            zt, tt = torch.from_numpy(z), torch.from_numpy(t)

            def theirs():
                x = zt.clone().requires_grad_(True)
                torch.nn.functional.cross_entropy(x, tt).backward()
            fns["torch"] = theirs
        m = interleaved_medians(fns, rounds=3 if args.quick else 7)
        row = {"shape (N, C)": f"({n}, {c})", "firstepoch us": m["fe"] * 1e6, "numpy us": m["np"] * 1e6,
               "fe vs numpy": m["np"] / m["fe"]}
        if torch:
            row["torch us"] = m["torch"] * 1e6
            row["fe vs torch"] = m["torch"] / m["fe"]
        table.add(**row)
    finish(args, table, "# fe vs X: speed ratio (> 1 means firstepoch is faster)")


if __name__ == "__main__":
    main()
