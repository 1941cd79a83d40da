"""The one benchmark harness every bench/ script uses: warm-up, repeats, median, GFLOP/s, ratios,
a banner with ISA, threads and measured peak, a printed table, and ``--json FILE``.

Machines here are shared and noisy: compare ratios measured side by side in one run, quote medians.
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time


# NumPy's BLAS (the references' GEMMs) must run on the thread count of the row it is timed in. With
# threadpoolctl that is set per row; without it, the only lever is the BLAS's environment variables,
# read once when NumPy loads. So this module sets them before it imports NumPy (every bench script
# imports it before NumPy) to the largest count on the command line, and blas_threads() says, row by
# row, whether NumPy's column can be trusted; ratio_row() prints "-" where it cannot.
_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def _threads_on_command_line(argv):
    """The largest count after --threads (default 1; scripts take one or several)."""
    counts, taking = [], False
    for a in argv:
        if a.startswith("--threads="):
            a, taking = a.split("=", 1)[1], True
        elif a == "--threads":
            taking = True
            continue
        if taking and a.isdigit():
            counts.append(int(a))
            continue
        taking = False
    return max(counts, default=1)


_ENV_BLAS_THREADS = None  # the count NumPy's BLAS was started with through _BLAS_ENV, if this module did it
if "numpy" not in sys.modules:
    _ENV_BLAS_THREADS = _threads_on_command_line(sys.argv[1:])
    for _var in _BLAS_ENV:
        os.environ[_var] = str(_ENV_BLAS_THREADS)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import firstepoch  # noqa: E402
from firstepoch import _C  # noqa: E402


def try_import_torch():
    """PyTorch if importable (never a dependency), else None."""
    try:
        import torch  # noqa: F401
    except Exception:
        return None
    return torch


# Whether NumPy's column of the rows being timed ran on the stated thread count (see _BLAS_ENV).
NUMPY_THREADS_KNOWN = True


def blas_threads(n):
    """Limits NumPy's BLAS to n threads; returns a context manager (threadpoolctl's, or a no-op) and sets
    NUMPY_THREADS_KNOWN: False when neither threadpoolctl nor the environment set before NumPy loaded
    can guarantee n threads (then the NumPy columns print "-")."""
    global NUMPY_THREADS_KNOWN
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        NUMPY_THREADS_KNOWN = _ENV_BLAS_THREADS == n
        return contextlib.nullcontext()
    NUMPY_THREADS_KNOWN = True
    return threadpool_limits(limits=n, user_api="blas")


def set_threads(threads, torch=None):
    """One thread count for firstepoch, PyTorch (when given) and NumPy's BLAS (the references' GEMMs),
    so every column of a table runs on the same cores. Without threadpoolctl, NumPy's BLAS is limited
    through the environment (set before NumPy loads); where even that cannot hold, says so and the NumPy
    columns print "-"."""
    firstepoch.set_num_threads(threads)
    if torch:
        torch.set_num_threads(threads)
    blas_threads(threads).__enter__()  # for the rest of the process
    if not NUMPY_THREADS_KNOWN:
        print(f"# threadpoolctl not installed and NumPy loaded on {_ENV_BLAS_THREADS or 'its own'} BLAS thread(s): "
              f"the NumPy column is left out")


def time_median(fn, *, warmup=2, min_repeats=5, min_seconds=0.25, max_repeats=1000):
    """Median wall time of fn() in seconds, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_repeats and time.perf_counter() - start >= min_seconds:
            break
    return statistics.median(times)


# Seconds to pause between competitors' batches when they run on several threads: longer than the
# longest a library's idle threads keep spinning after a call. Measured on the 2-core machine (process
# CPU time in 20 ms windows after one 1024^3 product on 2 threads): NumPy's OpenBLAS keeps one core busy
# for 100-110 ms, torch's and firstepoch's OpenMP pools for under 20 ms. With the 0.05 s pause the
# benches used before, the OpenBLAS spinner took a core from the next competitor's timed calls: in
# bench/conv.py at 2 threads, firstepoch's ResNet 64->64 forward+backward read 20-26 ms against 14 ms.
SETTLE_SECONDS = 0.15


def pop_dropout_option(script):
    """The P of `--dropout P` (in [0, 1); 0.0 when absent), taken out of sys.argv before the common parser
    reads it; a bad value exits with one line naming the script."""
    if "--dropout" not in sys.argv:
        return 0.0
    i = sys.argv.index("--dropout")
    try:
        p = float(sys.argv[i + 1])
    except (IndexError, ValueError):
        sys.exit(f"{script}: --dropout needs a probability, e.g. --dropout 0.1")
    if not 0.0 <= p < 1.0:
        sys.exit(f"{script}: --dropout must be in [0, 1), got {p}")
    del sys.argv[i:i + 2]
    return p


def settle_for(threads):
    """The pause interleaved_medians needs between batches at this thread count (none at one thread)."""
    return SETTLE_SECONDS if threads > 1 else 0.0


def interleaved_medians(fns, *, warmup=2, rounds=7, min_seconds=0.05, settle=0.0):
    """Medians for several competitors, timed in alternation so machine noise hits them alike.

    fns: dict name -> callable. Each round times every competitor over a small batch of calls.
    settle: seconds to sleep after each batch. With several threads, each library's pool spins for a
    while after its last call (libgomp, OpenBLAS); without a pause those spinning threads steal the
    cores from the next competitor and the figures measure the contention, not the library.
    """
    for f in fns.values():
        for _ in range(warmup):
            f()
    per_call = {}
    for name, f in fns.items():
        t0 = time.perf_counter()
        f()
        per_call[name] = max(time.perf_counter() - t0, 1e-7)
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            n = max(1, int(min_seconds / per_call[name]))
            if settle:
                time.sleep(settle)
                f()  # wake this library's pool before the timed batch
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def measured_peak(isa=None, threads=1):
    """GFLOP/s of the FMA probe for an ISA (default: the one in use) on `threads` threads."""
    isa = isa or _C.get_isa()
    # The best of three: a cold core (frequency still ramping, a virtual CPU just scheduled) reads low,
    # and one slow probe would make every "% peak" column above 100.
    return max(_C.fma_peak_gflops(isa, 20_000_000, threads) for _ in range(3))


def measured_bandwidth(threads=1, nbytes=1 << 30):
    """GB/s (bytes read + bytes written) of the streaming probe dst = 2 * src over two float buffers of
    nbytes each (1 GiB: far larger than the caches), on `threads` threads, the best of three runs; None
    for a build without the probe (an older commit's, timed for a before/after table)."""
    probe = getattr(_C, "memory_bandwidth_gbs", None)
    return probe(nbytes, threads, 3) if probe else None


def blas_name():
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')})"
    except Exception:
        pass
    return "unknown BLAS"


def banner(title):
    info = firstepoch.cpu_info()
    torch = try_import_torch()
    lines = [
        f"# {title}",
        f"# firstepoch {firstepoch.__version__}  isa={info['isa']} (available {', '.join(info['available'])})  "
        f"threads={info['threads']}  kernels={info['kernels']}  malloc={info.get('malloc')}",
        f"# {platform.processor() or platform.machine()}  cores={os.cpu_count()}  numpy {np.__version__} "
        f"with {blas_name()}  torch {torch.__version__ if torch else 'not installed'}",
    ]
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        lines.append(f"# note: OPENBLAS_CORETYPE={coretype} is set, which pins NumPy's BLAS to that kernel")
    return "\n".join(lines)


class Table:
    """Rows of dicts printed as an aligned table; also kept for --json."""

    def __init__(self, columns):
        self.columns = columns
        self.rows = []

    def add(self, **row):
        self.rows.append(row)
        return row

    @staticmethod
    def _fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            if abs(v) >= 100:
                return f"{v:.0f}"
            if abs(v) >= 10:
                return f"{v:.1f}"
            return f"{v:.2f}"
        return str(v)

    def render(self):
        cells = [[self._fmt(r.get(c)) for c in self.columns] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c)
                  for i, c in enumerate(self.columns)]
        out = ["  ".join(c.rjust(w) for c, w in zip(self.columns, widths)),
               "  ".join("-" * w for w in widths)]
        out += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
        return "\n".join(out)


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    return p


def start(description, title, *, threads_option=False, peak_note="", bandwidth=False):
    """The opening of a one-table script: the common options (and ``--threads``, default 1, with
    threads_option), PyTorch when importable, one thread count for every library, the banner (``title``
    may name ``{threads}``) and, with threads_option, the measured FMA peak line (``peak_note`` after it)
    and, with bandwidth, the measured memory bandwidth line (its figure is then args.bandwidth).
    Without threads_option the script runs on 1 thread of firstepoch and PyTorch and leaves NumPy's BLAS
    alone. Returns (args, torch or None, peak GFLOP/s or None)."""
    p = arg_parser(description)
    if threads_option:
        p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch = try_import_torch()
    threads = args.threads if threads_option else 1
    if threads_option:
        set_threads(threads, torch)
    else:
        firstepoch.set_num_threads(1)
        if torch:
            torch.set_num_threads(1)
    print(banner(title.format(threads=threads)))
    peak = None
    if threads_option:
        peak = measured_peak(threads=threads)
        print(f"# measured FMA peak: {peak:.0f} GFLOP/s{peak_note}")
    args.bandwidth = None
    if bandwidth:
        args.bandwidth = measured_bandwidth(threads)
        if args.bandwidth is None:
            print("# measured memory bandwidth: no probe in this build")
        else:
            print(f"# measured memory bandwidth: {args.bandwidth:.1f} GB/s (bytes read + written, streaming 1 GiB "
                  f"buffers, {threads} thread(s))")
    return args, torch, peak


def ratio_columns(label, unit, torch, *, flops=True, bandwidth=False):
    """label, pass, fe <unit>, numpy <unit>, fe vs numpy [, torch <unit>, fe vs torch] [, GFLOP/s, % peak]
    [, MB, GB/s, % bw] (bandwidth: the bytes a pass must move, fe's GB/s, % of the measured bandwidth)."""
    return ([label, "pass", f"fe {unit}", f"numpy {unit}", "fe vs numpy"]
            + ([f"torch {unit}", "fe vs torch"] if torch else []) + (["GFLOP/s", "% peak"] if flops else [])
            + (["MB", "GB/s", "% bw"] if bandwidth else []))


def ratio_row(label, pname, t, *, flop=None, peak=None, torch_time=None, unit="ms", nbytes=None, bandwidth=None):
    """One row of ratio_columns from the medians t (keys "fe", "np"); torch_time when PyTorch ran;
    nbytes (the bytes the pass must move) and bandwidth (measured GB/s) for the bandwidth columns."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    npt = t.get("np") if NUMPY_THREADS_KNOWN else None
    row = {label[0]: label[1], "pass": pname, f"fe {unit}": t["fe"] * scale,
           f"numpy {unit}": None if npt is None else npt * scale, "fe vs numpy": None if npt is None else npt / t["fe"],
           "GFLOP/s": None if flop is None else flop / t["fe"] * 1e-9}
    if flop is not None:
        row["% peak"] = 100 * row["GFLOP/s"] / peak
    if nbytes is not None:
        row["MB"] = nbytes * 1e-6
        row["GB/s"] = nbytes / t["fe"] * 1e-9
        row["% bw"] = None if not bandwidth else 100 * row["GB/s"] / bandwidth
    if torch_time is not None:
        row[f"torch {unit}"] = torch_time * scale
        row["fe vs torch"] = torch_time / t["fe"]
    return row


def finish(args, table, note=None, **extra):
    """Prints the table (and a note under it) and writes --json: the extra fields, then the rows."""
    print(table.render())
    if note:
        print(note)
    write_json(args.json, {**extra, "rows": table.rows})


def write_json(path, payload):
    if path:
        with open(path, "w") as f:
            json.dump(payload, f, indent=2)
        print(f"# wrote {path}")
