"""Cross-entropy forward+backward: the fused C++ kernel vs the NumPy reference vs PyTorch (when
importable), float32, 1 thread; then the pointwise losses of issue 17 (NumPy Functions: BCE, smooth L1,
KL divergence, BCE with logits), forward + backward of input and target, against a NumPy forward and
PyTorch, with GB/s counting the two inputs read and their two gradients written once.

    python bench/softmax.py [--json FILE]
"""
from common import Table, finish, interleaved_medians, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
from firstepoch import reference as R
from firstepoch.ops import loss as L

SHAPES = [(64, 10), (256, 1000), (4096, 1000)]
POINTWISE_SHAPE = (1024, 1000)


def pointwise_cases(rng):
    """(name, firstepoch loss, NumPy reference forward, torch loss name, input, target) at POINTWISE_SHAPE."""
    x = rng.uniform(0.01, 0.99, POINTWISE_SHAPE).astype(np.float32)
    y = rng.uniform(0, 1, POINTWISE_SHAPE).astype(np.float32)
    return [
        ("binary_cross_entropy", L.binary_cross_entropy, R.loss.binary_cross_entropy_forward, "binary_cross_entropy", x, y),
        ("bce_with_logits", L.binary_cross_entropy_with_logits, R.loss.binary_cross_entropy_with_logits_forward,
         "binary_cross_entropy_with_logits", x * 6 - 3, y),
        ("smooth_l1_loss", L.smooth_l1_loss, R.loss.smooth_l1_loss_forward, "smooth_l1_loss", x * 4, y),
        ("kl_div batchmean", lambda a, b: L.kl_div(a, b, reduction="batchmean"),
         lambda a, b: R.loss.kl_div_forward(a, b, "batchmean"), "kl_div", np.log(x), y),
    ]


def bench_pointwise(args, torch, table):
    rng = np.random.default_rng(1)
    for name, ours_fn, ref_fn, torch_name, x, y in pointwise_cases(rng):
        def ours():
            a, b = fe.tensor(x, requires_grad=True), fe.tensor(y, requires_grad=True)
            ours_fn(a, b).backward()

        def numpy_ref():
            ref_fn(x, y)

        fns = {"fe": ours, "np": numpy_ref}
        if torch:
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            kw = {"reduction": "batchmean"} if torch_name == "kl_div" else {}

            def theirs():
                a, b = xt.clone().requires_grad_(True), yt.clone().requires_grad_(True)
                getattr(torch.nn.functional, torch_name)(a, b, **kw).backward()
            fns["torch"] = theirs
        m = interleaved_medians(fns, rounds=3 if args.quick else 7)
        row = {"loss": name, "shape (N, C)": str(POINTWISE_SHAPE), "firstepoch us": m["fe"] * 1e6,
               "GB/s": 4 * x.size * 4 / m["fe"] / 1e9, "numpy us": m["np"] * 1e6, "fe vs numpy": m["np"] / m["fe"]}
        if torch:
            row["torch us"] = m["torch"] * 1e6
            row["fe vs torch"] = m["torch"] / m["fe"]
        table.add(**row)


def main():
    args, torch, _ = start(__doc__, "cross-entropy forward + backward, float32, 1 thread")
    cols = ["loss", "shape (N, C)", "firstepoch us", "GB/s", "numpy us", "fe vs numpy"] + (["torch us", "fe vs torch"] if torch else [])
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
        row = {"loss": "cross_entropy", "shape (N, C)": f"({n}, {c})", "GB/s": 2 * z.size * 4 / m["fe"] / 1e9,
               "firstepoch us": m["fe"] * 1e6, "numpy us": m["np"] * 1e6,
               "fe vs numpy": m["np"] / m["fe"]}
        if torch:
            row["torch us"] = m["torch"] * 1e6
            row["fe vs torch"] = m["torch"] / m["fe"]
        table.add(**row)
    bench_pointwise(args, torch, table)
    finish(args, table, "# fe vs X: speed ratio (> 1 means firstepoch is faster); numpy: the reference's forward "
                        "only for the pointwise losses (firstepoch and torch: forward + backward)")


if __name__ == "__main__":
    main()
