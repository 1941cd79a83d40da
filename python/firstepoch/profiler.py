"""`firstepoch.profile()`: where a training step spends its time, op by op.

    with firstepoch.profile() as prof:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    print(prof.table(sort_by="total"))
    prof.to_json("profile.json")

Every Function's forward (timed inside Function.apply) and backward (timed where the engine calls it)
is one row per (op, phase): calls, total and mean milliseconds, the share of the profiled wall time,
the kernel family the op calls with the ISA it runs at (firstepoch.cpu_info()), and for ops that can
count their arithmetic (matmul, linear, conv2d: a Function's ``flops``) the FLOPs and the achieved
GFLOP/s. Times are of the op's own forward or backward, kernel and NumPy work included; the tensor
bookkeeping around it is not. As PyTorch's autograd profiler, a profile is thread-local: it records the
ops (and backward passes) run by the thread that entered it, while other threads run unprofiled or
under profiles of their own. Profiles do not nest in a thread (entering a second raises RuntimeError),
and a profile is active in one thread at a time. Entering the same profile again adds to its rows.
Off, the cost is one check per op.
"""
import json
import threading
import time

from . import _C
from .autograd import function as _function

COLUMNS = ("op", "phase", "calls", "total_ms", "mean_ms", "percent", "kernel", "isa", "gflop", "gflop_s")
# sort_by accepts a column name or one of these short names
_ALIASES = {"total": "total_ms", "mean": "mean_ms", "time": "total_ms", "%": "percent", "flops": "gflop",
            "gflops": "gflop_s", "gflop/s": "gflop_s", "name": "op"}
_TEXT = ("op", "phase", "kernel", "isa")

_clock = time.perf_counter_ns


class _Row:
    __slots__ = ("calls", "ns", "flops", "flops_ns", "dtype")

    def __init__(self):
        self.calls = 0
        self.ns = 0
        self.flops = 0        # FLOPs of the calls that could count theirs
        self.flops_ns = 0     # the time of those calls: GFLOP/s = flops / flops_ns
        self.dtype = None


def _first_dtype(arrays):
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and dt.kind == "f":
            return dt.name
    return None


class Profile:
    """Records every op while active (``with``); then table(), to_dict(), to_json(), rows()."""

    def __init__(self):
        info = _C.cpu_info()
        self.isa = info["isa"]
        self.threads = info["threads"]
        self._ukernels = dict(info.get("kernels", {}))
        self._rows = {}       # (op name, phase) -> _Row
        self._kernels = {}    # op name -> kernel family
        self.wall_ns = 0
        self._start = None
        self._thread_id = None  # the thread it is active in

    # ---- recording (called by Function.apply and the engine) ---------------------------------------
    def _count(self, cls, phase, ns, arrays):
        """One call of ns nanoseconds added to the (op, phase) row; its dtype from the first call's arrays."""
        row = self._row(cls, phase)
        row.calls += 1
        row.ns += ns
        if row.dtype is None:
            row.dtype = _first_dtype(arrays)
        return row

    def forward(self, cls, ctx, raw, kwargs):
        t0 = _clock()
        out = cls.forward(ctx, *raw, **kwargs)
        ns = _clock() - t0
        row = self._count(cls, "forward", ns, raw)
        if cls.flops is not None:
            n = cls.flops(ctx, raw, out)
            if n is not None:
                ctx._profile_flops = n
                row.flops += n
                row.flops_ns += ns
        return out

    def backward(self, cls, ctx, grad):
        t0 = _clock()
        grads = cls.backward(ctx, grad)
        ns = _clock() - t0
        row = self._count(cls, "backward", ns, (grad,))
        fwd = ctx.__dict__.get("_profile_flops")  # None if the forward ran before the profile began
        if fwd is not None and cls.backward_flops is not None:
            n = cls.backward_flops(ctx, fwd)
            if n is not None:
                row.flops += n
                row.flops_ns += ns
        return grads

    def backward_into(self, cls, ctx, grad, into):
        """The engine's in-place backward (Function.backward_into), recorded in the op's backward row."""
        t0 = _clock()
        out = cls.backward_into(ctx, grad, into)
        self._count(cls, "backward", _clock() - t0, (grad,))
        return out

    def _row(self, cls, phase):
        key = (cls.__name__, phase)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Row()
            self._kernels[cls.__name__] = cls.kernel
        return row

    # ---- the context ----------------------------------------------------------------------------------
    def __enter__(self):
        m = _function.modes()
        if m.profiler is not None:
            raise RuntimeError("profile: another profile is already active (profiles do not nest; "
                               "end the outer one first, or enter the same profile again later to add to it)")
        if self._thread_id is not None:
            raise RuntimeError("profile: this profile is active in another thread (a profile records one "
                               "thread at a time; make one profile per thread)")
        self._thread_id = threading.get_ident()
        m.profiler = self
        self._start = _clock()
        return self

    def __exit__(self, *exc):
        m = _function.modes()
        if m.profiler is self:
            m.profiler = None
            self._thread_id = None
            if self._start is not None:
                self.wall_ns += _clock() - self._start
                self._start = None
        return False

    @property
    def active(self):
        """Whether this profile is recording the calling thread."""
        return _function.modes().profiler is self

    # ---- results --------------------------------------------------------------------------------------
    def _kernel_label(self, op, dtype):
        family = self._kernels[op]
        if family == "gemm" and dtype in ("float32", "float64"):
            name = self._ukernels.get("sgemm" if dtype == "float32" else "dgemm")
            if name:
                return f"gemm {name}"
        return family

    def rows(self, sort_by="total"):
        """One dict per (op, phase) with the COLUMNS as keys, sorted (numbers descending, text ascending)."""
        key = _sort_key(sort_by)
        wall = self.wall_ns if self._start is None else self.wall_ns + (_clock() - self._start)
        out = []
        for (op, phase), r in self._rows.items():
            family = self._kernels[op]
            gflop = r.flops / 1e9 if r.flops_ns else None
            out.append({
                "op": op, "phase": phase, "calls": r.calls,
                "total_ms": r.ns / 1e6, "mean_ms": r.ns / 1e6 / r.calls,
                "percent": 100.0 * r.ns / wall if wall else 0.0,
                "kernel": self._kernel_label(op, r.dtype),
                "isa": "-" if family == "numpy" else self.isa,
                "gflop": gflop,
                "gflop_s": r.flops / r.flops_ns if r.flops_ns else None,  # flops per ns = GFLOP/s
            })
        return _sorted(out, key)

    def counts(self):
        """{(op, phase): calls}, e.g. {("LinearFn", "forward"): 1, ...}."""
        return {k: r.calls for k, r in self._rows.items()}

    def to_dict(self):
        return {"isa": self.isa, "threads": self.threads, "wall_ms": self.wall_ns / 1e6, "columns": list(COLUMNS),
                "rows": self.rows()}

    def to_json(self, path):
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1)
        return path

    def table(self, sort_by="total", limit=None):
        return format_table(self.to_dict(), sort_by=sort_by, limit=limit)

    def __str__(self):
        return self.table()


def profile():
    """A new Profile, to use as ``with firstepoch.profile() as prof:``."""
    return Profile()


def _sort_key(sort_by):
    if not isinstance(sort_by, str):
        raise TypeError(f"sort_by must be a column name (str), got {type(sort_by).__name__}")
    key = _ALIASES.get(sort_by, sort_by)
    if key not in COLUMNS:
        raise ValueError(f"sort_by must be one of {COLUMNS} (or {tuple(_ALIASES)}), got {sort_by!r}")
    return key


def _sorted(rows, key):
    if key in _TEXT:
        return sorted(rows, key=lambda r: (r[key], r["op"], r["phase"]))
    # numbers descending; rows without a value (no FLOP count) last
    return sorted(rows, key=lambda r: (r[key] is None, -(r[key] or 0), r["op"], r["phase"]))


def load_json(path):
    """A profile's dict as written by Profile.to_json (table() of it: format_table(load_json(path)))."""
    with open(path) as f:
        d = json.load(f)
    if not isinstance(d, dict) or "rows" not in d or "isa" not in d:
        raise ValueError(f"{path}: not a firstepoch profile (expected keys 'isa' and 'rows')")
    return d


def format_table(d, sort_by="total", limit=None):
    """The table of a profile dict (Profile.to_dict() or load_json()), sorted by any column."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    rows = _sorted(list(d["rows"]), _sort_key(sort_by))[:limit]
    heads = ["op", "phase", "calls", "total ms", "mean ms", "%", "kernel", "ISA", "GFLOP", "GFLOP/s"]

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)
    body = [[r["op"], r["phase"], str(r["calls"]), num(r["total_ms"], ".3f"), num(r["mean_ms"], ".4f"),
             num(r["percent"], ".1f"), r["kernel"], r["isa"], num(r["gflop"], ".4f"), num(r["gflop_s"], ".2f")]
            for r in rows]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(heads)]
    left = {0, 1, 6, 7}

    def line(cells):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    total = sum(r["total_ms"] for r in d["rows"])
    out = [f"# profile: {d['wall_ms']:.2f} ms wall, {total:.2f} ms in ops, isa={d['isa']} threads={d['threads']}, "
           f"sorted by {_sort_key(sort_by)}", line(heads), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)
