"""Kernel threads when other processes load the cores: LeNet-5 training steps and a GEMM, on one thread,
on the default (adaptive) thread count and on every core always, with the cores free and with one busy
process per core started by this script.

    python bench/load.py [--steps 40] [--rounds 3] [--quick] [--json FILE]

Each measurement runs in a fresh interpreter (`python bench/load.py --worker MODE --workload W`: LeNet-5
steps, batch 64, on the embedded MNIST; or batches of 50 256x256x256 float32 GEMMs), so each starts from
the library's own defaults: MODE 1 calls set_num_threads(1); default calls nothing (the adaptive default:
all cores, or one thread while one is faster); all calls set_num_threads(cores) (the old default: all
cores whatever the load). The busy processes are pure-Python loops, one per core, that end by themselves
after 15 minutes and are killed when the script ends. Rounds alternate the modes so that noise from
whatever else runs on the machine hits them alike; the table gives medians over the rounds and the ratio
to one thread (above 1: slower than one thread).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import Table, arg_parser, banner, time_median, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe

MODES = ("1", "default", "all")
WORKLOADS = ("lenet", "gemm")
BUSY = "import time\nend = time.time() + 900\nwhile time.time() < end:\n    pass\n"


def worker(mode, workload, steps):
    import firstepoch.nn.functional as F
    if mode == "1":
        fe.set_num_threads(1)
    elif mode == "all":
        fe.set_num_threads(os.cpu_count() or 1)
    if workload == "gemm":
        rng = np.random.default_rng(0)
        a = rng.standard_normal((256, 256)).astype(np.float32)
        out = np.empty_like(a)
        def fifty():  # throughput: a batch's mean, so that slow calls count (a per-call median hides them)
            for _ in range(50):
                fe._C.gemm(a, a, out)

        gemm = time_median(fifty, warmup=2, min_repeats=10, min_seconds=1.0) / 50
        return print(json.dumps({"ms": 1e3 * gemm, "threads": fe.get_num_threads()}))
    x, y = fe.datasets.mnist("train")
    x = np.ascontiguousarray(fe.datasets.normalize(x[:64 * steps], flatten=False)[:, None])
    y = np.ascontiguousarray(y[:64 * steps], dtype=np.int64)
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def train():
        for i in range(0, len(y), 64):
            loss = F.cross_entropy(model(fe.Tensor(x[i:i + 64])), fe.Tensor(y[i:i + 64]))
            opt.zero_grad()
            loss.backward()
            opt.step()

    lenet = time_median(train, warmup=1, min_repeats=3, min_seconds=0) / steps
    print(json.dumps({"ms": 1e3 * lenet, "threads": fe.get_num_threads()}))


def run_worker(mode, workload, steps):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", mode, "--workload", workload,
                        "--steps", str(steps)], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"worker {mode} {workload} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure(steps, rounds):
    """{workload: {mode: {"ms", "threads"}}}, medians over the rounds."""
    got = {w: {m: [] for m in MODES} for w in WORKLOADS}
    for _ in range(rounds):
        for w in WORKLOADS:
            for m in MODES:
                got[w][m].append(run_worker(m, w, steps))
    return {w: {m: {k: statistics.median(r[k] for r in rs) for k in ("ms", "threads")} for m, rs in per.items()}
            for w, per in got.items()}


def main():
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="LeNet-5 steps (batch 64) per timed run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    p.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.workload, args.steps)
    if args.quick:
        args.steps, args.rounds = 10, 1
    print(banner("threads under load: LeNet-5 steps and a 256^3 GEMM, in fresh processes"))
    cores = os.cpu_count() or 1
    table = Table(["cores", "mode", "threads", "lenet ms/step", "x 1 thread", "gemm256 ms", "x 1 thread "])
    results = {}
    for load in ("free", "busy"):
        spinners = []
        try:
            if load == "busy":
                spinners = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(cores)]
                time.sleep(0.5)
            results[load] = res = measure(args.steps, args.rounds)
        finally:
            for s in spinners:
                s.kill()
                s.wait()
        for m in MODES:
            lenet, gemm = res["lenet"], res["gemm"]
            table.add(**{"cores": "free" if load == "free" else f"{cores} busy procs", "mode": m,
                         "threads": lenet[m]["threads"], "lenet ms/step": lenet[m]["ms"],
                         "x 1 thread": lenet[m]["ms"] / lenet["1"]["ms"], "gemm256 ms": gemm[m]["ms"],
                         "x 1 thread ": gemm[m]["ms"] / gemm["1"]["ms"]})
    print(table.render())
    print(f"# {cores} cores; medians of {args.rounds} round(s) of: the median of 3 runs of {args.steps} LeNet-5 steps, "
          f"the median over 1 s of batches of 50 GEMMs; "
          f"'threads' is get_num_threads() (the default may still run kernels on one thread)")
    write_json(args.json, {"cores": cores, "steps": args.steps, "rounds": args.rounds, "results": results})


if __name__ == "__main__":
    main()
