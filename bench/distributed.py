"""Data-parallel LeNet-5 training on MPI: images/s for 1, 2, ... ranks (1 kernel thread each), the time
a step spends in allreduce_gradients, and the scaling efficiency.

    python bench/distributed.py [--ranks 1 2] [--batch-size 64] [--steps 40] [--repeats 5] [--json FILE]

The script launches itself once per rank count:
    mpirun --oversubscribe -np R python bench/distributed.py --worker ...
(as root, add --allow-run-as-root or set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1).
--batch-size is the global batch, split evenly over the ranks (what `firstepoch train --distributed`
does), so every rank count trains the same model step for step.

Columns: images/s (global batch x steps / wall time, median of --repeats windows); step ms; allreduce ms
as measured inside the step (includes waiting for the slowest rank); allreduce alone (the same call
after a barrier: the pure cost of moving and averaging LeNet's 61,706 gradients); efficiency =
images/s / (ranks x images/s of 1 rank).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import Table, arg_parser, banner, blas_threads, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.distributed as dist
import firstepoch.nn.functional as F


def worker(args):
    dist.init(threads=args.threads)
    blas_threads(args.threads).__enter__()  # the NumPy reference's BLAS on the rank's thread count
    size = dist.world_size()
    if args.batch_size % size:
        raise SystemExit(f"--batch-size {args.batch_size} does not split evenly over {size} ranks")
    local = args.batch_size // size
    x, y = fe.datasets.mnist("train")
    x = np.ascontiguousarray(fe.datasets.normalize(x, flatten=False)[:, None])
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    dist.broadcast_parameters(model)
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sampler = dist.DistributedSampler(len(y), seed=0)
    order = np.concatenate([sampler(e) for e in range(8)])
    pos = 0

    def step():
        nonlocal pos
        if pos + local > len(order):
            pos = 0
        idx = order[pos:pos + local]
        pos += local
        loss = F.cross_entropy(model(fe.Tensor(x[idx])), fe.Tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        seconds = dist.allreduce_gradients(model)
        opt.step()
        return seconds

    for _ in range(5):  # warm-up: first calls allocate the buckets and touch the kernels
        step()
    dist.allreduce_stats(reset=True)
    ips, step_ms, ar_ms = [], [], []
    for _ in range(args.repeats):
        dist.barrier()
        t0 = time.perf_counter()
        ar = [step() for _ in range(args.steps)]
        dist.barrier()
        wall = time.perf_counter() - t0
        ips.append(args.batch_size * args.steps / wall)
        step_ms.append(1e3 * wall / args.steps)
        ar_ms.append(1e3 * statistics.median(ar))
    calls = dist.allreduce_stats()["calls"]
    alone = []
    for _ in range(50):  # the allreduce by itself, every rank arriving together
        dist.barrier()
        alone.append(1e3 * dist.allreduce_gradients(model))
    ar_alone = dist.all_reduce(statistics.median(alone), "max")
    if dist.is_main():
        with open(args.worker, "w") as f:
            json.dump({"ranks": size, "local_batch": local, "images_per_s": statistics.median(ips),
                       "step_ms": statistics.median(step_ms), "allreduce_ms": statistics.median(ar_ms),
                       "allreduce_alone_ms": ar_alone, "calls_per_step": calls / (args.repeats * args.steps),
                       "threads": fe.get_num_threads()}, f)


def mpirun():
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return beside if os.path.exists(beside) else shutil.which("mpirun")


def launch(ranks, args):
    exe = mpirun()
    if exe is None:
        raise SystemExit('bench/distributed.py needs mpirun and mpi4py: pip install "firstepoch[mpi]"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_", "PRTE_"))}
    env.update(OMP_NUM_THREADS=str(args.threads), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [exe, "--oversubscribe", "-np", str(ranks), sys.executable, os.path.abspath(__file__), "--worker", out,
               "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--repeats", str(args.repeats),
               "--threads", str(args.threads)]
        subprocess.run(cmd, env=env, check=True, timeout=1200)
        with open(out) as f:
            return json.load(f)


def main():
    p = arg_parser(__doc__)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch-size", type=int, default=64, help="the global batch (default 64, the CLI's)")
    p.add_argument("--steps", type=int, default=40, help="steps per timed window")
    p.add_argument("--repeats", type=int, default=5, help="timed windows (the median is reported)")
    p.add_argument("--threads", type=int, default=1, help="kernel threads per rank")
    p.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.steps, args.repeats = 10, 3
    if args.worker:
        return worker(args)
    fe.set_num_threads(args.threads)
    print(banner(f"data-parallel LeNet-5 on MPI, global batch {args.batch_size}, {args.threads} thread(s) per rank"))
    results = [launch(r, args) for r in args.ranks]
    base = next((r["images_per_s"] for r in results if r["ranks"] == 1), None)
    table = Table(["ranks", "batch/rank", "images/s", "step ms", "allreduce ms/step", "allreduce alone ms",
                   "allreduce calls/step", "efficiency"])
    for r in results:
        table.add(**{"ranks": r["ranks"], "batch/rank": r["local_batch"], "images/s": r["images_per_s"],
                     "step ms": r["step_ms"], "allreduce ms/step": r["allreduce_ms"],
                     "allreduce alone ms": r["allreduce_alone_ms"], "allreduce calls/step": r["calls_per_step"],
                     "efficiency": (f"{r['images_per_s'] / (r['ranks'] * base):.0%}" if base else None)})
    print(table.render())
    print(f"# {os.cpu_count()} cores; medians of {args.repeats} windows of {args.steps} steps; allreduce ms/step "
          "includes waiting for the slowest rank")
    write_json(args.json, {"batch_size": args.batch_size, "threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
