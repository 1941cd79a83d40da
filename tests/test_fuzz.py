"""Fuzzing every public entry of firstepoch._C and every registered Function.

Each case draws shapes (0, 1, small, a large prime), one mutation of one argument (a wrong dtype: int,
bool, float16, object, the other float, big-endian; a layout: Fortran order, a strided or reversed
view, read-only, unaligned; an output aliasing an input), special values (NaN, Inf, denormals, 1e30)
and hyper-parameters (including out-of-range ones). The contract: the call either raises TypeError,
ValueError, IndexError or MemoryError with a message, or succeeds and then (for finite inputs) agrees
with the NumPy reference and leaves its inputs untouched. A crash kills the run; the sanitizer build
(tests/sanitize.sh) turns silent memory errors into crashes; a hang past FE_FUZZ_CASE_TIMEOUT seconds
(default 60) aborts the process with every thread's stack.

FE_FUZZ_EXAMPLES (default 300; 60 under tests/sanitize.sh) sets hypothesis' examples per entry; a long campaign:
    FE_FUZZ_EXAMPLES=2000 FE_FUZZ_REPORT=fuzz.json timeout 3600 python -m pytest -q tests/test_fuzz.py
test_every_entry_has_a_strategy fails when _C or the Function registry grows an entry without one.
"""
import collections
import faulthandler
import functools
import json
import os
import sys
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import firstepoch  # noqa: E402
from firstepoch import _C, reference as ref  # noqa: E402
from firstepoch.reference import optim as ref_optim  # noqa: E402
from firstepoch.autograd import REGISTRY  # noqa: E402
from firstepoch.ops.matrix import LinAlgError  # noqa: E402
from firstepoch.tensor import Tensor  # noqa: E402

EXAMPLES = int(os.environ.get("FE_FUZZ_EXAMPLES", "300"))
CASE_TIMEOUT = float(os.environ.get("FE_FUZZ_CASE_TIMEOUT", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
ALLOWED = (TypeError, ValueError, IndexError, MemoryError, OverflowError)
CASES = collections.Counter()  # entry -> cases run
OUTCOMES = collections.Counter()  # (entry, "ok" | "raised") -> count

# ---- the generators shared by every entry ----------------------------------------------------------
DIM = st.sampled_from([0, 1, 1, 2, 3, 4, 5, 7, 8, 13, 17])
BIG_PRIME = st.sampled_from([127, 257, 1031])
DTYPE_MUTATIONS = ("float16", "int64", "int32", "bool", "object", "other_float", "big_endian")
LAYOUT_MUTATIONS = ("fortran", "strided", "reversed", "readonly", "unaligned")
VALUES = st.sampled_from(["normal", "normal", "normal", "zero", "denormal", "nan", "inf", "huge"])
FINITE_VALUES = ("normal", "zero", "denormal")


def dims(n, big=True):
    """n sizes from DIM; sometimes one of them a large prime."""
    @st.composite
    def draw_dims(draw):
        d = [draw(DIM) for _ in range(n)]
        if big and n and draw(st.integers(0, 9)) == 0:
            d[draw(st.integers(0, n - 1))] = draw(BIG_PRIME)
        return d
    return draw_dims()


class Case:
    """The arrays of one call: built from specs (name -> (shape, dtype)), one mutation applied."""

    def __init__(self, draw, specs, outputs=(), mutable=None):
        self.values = draw(VALUES)
        self.rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
        names = list(mutable if mutable is not None else specs)
        kinds = DTYPE_MUTATIONS + LAYOUT_MUTATIONS + (("alias",) if outputs else ())
        self.mutation = None
        if names and draw(st.booleans()):
            self.mutation = (draw(st.sampled_from(names)), draw(st.sampled_from(kinds)))
            if self.mutation[1] == "alias" and self.mutation[0] not in outputs:
                self.mutation = (draw(st.sampled_from(list(outputs))), "alias")
        self.arrays = {}
        for name, (shape, dtype, *fill) in specs.items():
            base = np.asarray(fill[0]) if fill else self._values(shape, dtype)
            kind = self.mutation[1] if self.mutation and self.mutation[0] == name else None
            if kind == "alias" and name in outputs:
                self.arrays[name] = self._alias(base, specs, outputs)
            else:
                self.arrays[name] = mutate(base, kind)
        self.before = {k: copy_of(v) for k, v in self.arrays.items()}
        self.finite = self.values in FINITE_VALUES

    def _values(self, shape, dtype):
        a = self.rng.standard_normal(shape)
        if np.dtype(dtype).kind != "f":
            return self.rng.integers(-3, 4, shape).astype(dtype)
        tiny = np.finfo(dtype).tiny
        if self.values == "zero":
            a[...] = 0
        elif a.size and self.values != "normal":
            special = {"denormal": tiny / 8, "nan": np.nan, "inf": np.inf, "huge": 1e30}[self.values]
            mask = self.rng.random(shape) < 0.2
            a[mask] = special * self.rng.choice([-1, 1], shape)[mask]
        with np.errstate(over="ignore"):
            return a.astype(dtype)

    def _alias(self, base, specs, outputs):
        """An output that shares memory with an input of its dtype (exactly, or shifted by one element)."""
        for name, a in self.arrays.items():
            if name not in outputs and a.dtype == base.dtype and a.flags.c_contiguous and a.size >= base.size:
                shift = int(self.rng.integers(0, 2)) if a.size > base.size else 0
                view = a.reshape(-1)[shift:shift + base.size].reshape(base.shape)
                view.flags.writeable = a.flags.writeable
                return view
        return base

    def poison(self, *names):
        """Fills the named outputs with NaN (in a case without a mutation), so an element the kernel
        does not write (an empty reduction left alone) fails the comparison with the reference."""
        if self.mutation is not None:
            return
        for name in names:
            a = self.arrays.get(name)
            if a is not None and a.dtype.kind == "f":
                a[...] = np.nan
                self.before[name] = a.copy()

    def dtype_mutated(self):
        return self.mutation is not None and self.mutation[1] in DTYPE_MUTATIONS

    def aliased(self):
        return self.mutation is not None and self.mutation[1] == "alias"


def copy_of(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def mutate(a, kind):
    """a with the same values in another dtype or layout (kind None: a itself)."""
    if kind is None:
        return a
    if kind in DTYPE_MUTATIONS:
        if kind == "other_float":
            target = np.float64 if a.dtype == np.float32 else np.float32
        elif kind == "big_endian":
            target = a.dtype.newbyteorder(">") if a.dtype.kind in "fi" else np.dtype(">f8")
        else:
            target = np.dtype(kind)
            if target == a.dtype:
                target = np.dtype(np.float16)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return a.astype(target)
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype) if a.ndim else np.zeros(2, a.dtype)
        view = big[..., ::2] if a.ndim else big[:1].reshape(())
        view[...] = a
        return view
    if kind == "reversed":
        return a[..., ::-1].copy()[..., ::-1] if a.ndim else a
    if kind == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if kind == "unaligned":
        if a.dtype.itemsize == 1:
            return a
        buf = np.zeros(a.nbytes + 1, np.uint8)[1:]
        view = buf.view(a.dtype).reshape(a.shape)
        view[...] = a
        return view
    raise AssertionError(kind)


def run_case(entry, case, fn, *args, **kwargs):
    """Calls fn; returns True if it succeeded, False if it raised an allowed exception with a message."""
    CASES[entry] += 1
    if CASE_TIMEOUT > 0:
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True, file=sys.__stderr__)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
        ok = True
    except ALLOWED as e:
        assert len(str(e)) >= 12, f"{entry}: {type(e).__name__} without a clear message: {e!r}"
        ok = False
    finally:
        if CASE_TIMEOUT > 0:
            faulthandler.cancel_dump_traceback_later()
    OUTCOMES[entry, "ok" if ok else "raised"] += 1
    if ok and case is not None:
        assert not case.dtype_mutated(), f"{entry}: accepted {case.mutation} (a silent cast?)"
    return ok


def assert_inputs_untouched(case, outputs):
    if case.aliased():  # an output that is an input (allowed in place by some kernels) changes it
        return
    for name, a in case.arrays.items():
        if name in outputs or not isinstance(a, np.ndarray) or a.dtype == object:
            continue
        np.testing.assert_array_equal(a, case.before[name], err_msg=f"input {name} was modified")


def f64(a):
    return None if a is None else np.array(a, dtype=np.float64)


def close(got, want, dtype, k=1, scale=None):
    """got against the float64 reference: float32 to ~1e-5 relative of the terms' magnitude."""
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    tol = (1e-5 if np.dtype(dtype) == np.float32 else 1e-12) * max(1.0, np.sqrt(k))
    s = np.abs(want) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 10 * (1 + (np.max(s) if s.size else 0)))


def fdtype(draw):
    return draw(st.sampled_from([np.float32, np.float32, np.float64]))


def isa_and_threads(draw):
    _C.set_isa(draw(st.sampled_from(_C.cpu_info()["available"])))
    firstepoch.set_num_threads(draw(st.sampled_from([1, 2, 3])))


@pytest.fixture(autouse=True)
def restore_isa_and_threads():
    isa, n = _C.get_isa(), firstepoch.get_num_threads()
    yield
    _C.set_isa(isa)
    firstepoch.set_num_threads(n)


def fuzz(entry):
    """Registers a test as entry's strategy (the coverage test reads the registry)."""
    def deco(fn):
        FUZZED.setdefault(entry, fn.__name__)
        return fn
    return deco


FUZZED = {}


def strategy(entry):
    """A Hypothesis strategy test for entry (registered with fuzz, run with the FUZZ settings); the test
    takes Hypothesis' draw function."""
    def deco(fn):
        def test(data):
            fn(data.draw)
        test.__name__, test.__qualname__, test.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return fuzz(entry)(FUZZ(given(st.data())(test)))
    return deco

# ---- GEMM --------------------------------------------------------------------------------------------


@strategy("gemm")
def test_fuzz_gemm(draw):
    isa_and_threads(draw)
    dt = fdtype(draw)
    M, N, K = draw(dims(3))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from([None, None, 1, 2, 3]))
    a_batched = batch is not None and draw(st.booleans())
    b_batched = batch is not None and (not a_batched or draw(st.booleans()))
    sa = (K, M) if ta else (M, K)
    sb = (N, K) if tb else (K, N)
    sa = (batch,) + sa if a_batched else sa
    sb = (batch,) + sb if b_batched else sb
    so = ((batch,) if a_batched or b_batched else ()) + (M, N)
    alpha = draw(st.sampled_from([1.0, 1.0, 0.0, -2.5, 1e30, float("nan")]))
    beta = draw(st.sampled_from([0.0, 0.0, 1.0, 0.5]))
    has_bias, relu = draw(st.booleans()), draw(st.booleans())
    specs = {"a": (sa, dt), "b": (sb, dt), "out": (so, dt)}
    if has_bias:
        specs["bias"] = ((N,), dt)
    c = Case(draw, specs, outputs=("out",))
    A = c.arrays
    if beta == 0 and c.mutation is None:
        A["out"][...] = np.nan  # beta == 0 must never read out
        c.before["out"] = A["out"].copy()
    ok = run_case("gemm", c, _C.gemm, A["a"], A["b"], A["out"], trans_a=ta, trans_b=tb, alpha=alpha, beta=beta,
                  bias=A.get("bias"), relu=relu)
    if ok:
        assert_inputs_untouched(c, ("out",))
        if c.finite and np.isfinite(alpha) and not c.aliased():
            B = c.before
            want = ref.gemm(f64(B["a"]), f64(B["b"]), f64(B["out"]), trans_a=ta, trans_b=tb, alpha=alpha, beta=beta,
                            bias=f64(B.get("bias")), relu=relu)
            scale = abs(alpha) * ref.gemm(np.abs(f64(B["a"])), np.abs(f64(B["b"])), trans_a=ta, trans_b=tb) + 1
            close(A["out"], want, dt, K, scale)


# ---- softmax family ------------------------------------------------------------------------------------


def softmax_ref(x, log):
    if x.shape[1] == 0:
        return x.copy()
    return ref.softmax.log_softmax_forward(x, dim=1) if log else ref.softmax.softmax_forward(x, dim=1)


@strategy("softmax_forward")
def test_fuzz_softmax_forward(draw):
    isa_and_threads(draw)
    dt, (R, C), log = fdtype(draw), draw(dims(2)), draw(st.booleans())
    c = Case(draw, {"x": ((R, C), dt), "out": ((R, C), dt)}, outputs=("out",))
    c.poison("out")
    if draw(st.integers(0, 5)) == 0 and c.mutation is None:
        c.arrays["out"] = c.arrays["x"]  # in place is allowed
    x, out = c.arrays["x"], c.arrays["out"]
    if run_case("softmax_forward", c, _C.softmax_forward, x, out, log=log):
        if out is not x:
            assert_inputs_untouched(c, ("out",))
        if c.finite and not c.aliased():
            close(out, softmax_ref(f64(c.before["x"]), log), dt, C)


@strategy("softmax_backward")
def test_fuzz_softmax_backward(draw):
    isa_and_threads(draw)
    dt, (R, C), log = fdtype(draw), draw(dims(2)), draw(st.booleans())
    y = softmax_ref(np.random.default_rng(R * 31 + C).standard_normal((R, C)), log).astype(dt)
    c = Case(draw, {"y": ((R, C), dt, y), "dy": ((R, C), dt), "dx": ((R, C), dt)}, outputs=("dx",))
    c.poison("dx")
    if draw(st.integers(0, 5)) == 0 and c.mutation is None:
        c.arrays["dx"] = c.arrays["dy"]  # dx may be dy
    A = c.arrays
    if run_case("softmax_backward", c, _C.softmax_backward, A["y"], A["dy"], A["dx"], log=log):
        if A["dx"] is not A["dy"]:
            assert_inputs_untouched(c, ("dx",))
        if c.finite and not c.aliased():
            yy, g = f64(c.before["y"]), f64(c.before["dy"])
            want = ref.softmax.log_softmax_backward(yy, g, dim=1) if log else ref.softmax.softmax_backward(yy, g, dim=1)
            close(A["dx"], want, dt, C, np.abs(g) + 1)


def ce_common(draw, backward):
    """An ISA level and thread count, then a cross-entropy case: (Case, dtype, C, ignore_index,
    label_smoothing, outputs)."""
    isa_and_threads(draw)
    dt, (R, C) = fdtype(draw), draw(dims(2))
    ignore = draw(st.sampled_from([-100, -1, 0, 2]))
    ls = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0, -0.5, 1.5, float("nan")]))
    tgt = np.random.default_rng(R + 7 * C).integers(-1 if draw(st.integers(0, 4)) == 0 else 0,
                                                    max(C, 1) + (1 if draw(st.integers(0, 4)) == 0 else 0), R)
    tgt[np.random.default_rng(R).random(R) < 0.2] = ignore
    specs = {"logits": ((R, C), dt), "target": ((R,), np.int64, tgt)}
    if draw(st.booleans()):
        specs["weight"] = ((C,), dt, np.abs(np.random.default_rng(C).standard_normal(C)).astype(dt))
    if backward:
        specs["stats"] = ((2, R), dt)
        specs["grad"] = ((R,), dt)
        specs["dlogits"] = ((R, C), dt)
        outputs = ("dlogits",)
    else:
        specs["loss"] = ((R,), dt)
        specs["stats"] = ((2, R), dt)
        outputs = ("loss", "stats")
    c = Case(draw, specs, outputs=outputs)
    c.poison(*outputs)
    return c, dt, C, ignore, ls, outputs


def run_ce_case(entry, c, C, ignore, ls, outputs, *arrays):
    """Runs a cross-entropy entry on arrays (its weight and options from the case); True when it ran,
    after checking that it was entitled to (valid options and targets) and left its inputs alone."""
    ok = run_case(entry, c, getattr(_C, entry), *arrays, weight=c.arrays.get("weight"), ignore_index=ignore,
                  label_smoothing=ls)
    if ok:
        assert 0 <= ls <= 1 and ce_valid_target(c.before["target"], C, ignore)
        assert_inputs_untouched(c, outputs)
    return ok


def ce_valid_target(t, C, ignore):
    return bool(np.all((t == ignore) | ((t >= 0) & (t < C))))


@strategy("cross_entropy_forward")
def test_fuzz_cross_entropy_forward(draw):
    c, dt, C, ignore, ls, outputs = ce_common(draw, False)
    A = c.arrays
    if run_ce_case("cross_entropy_forward", c, C, ignore, ls, outputs, A["logits"], A["target"], A["loss"], A["stats"]):
        if c.finite and not c.aliased() and C:
            B = c.before
            want, _ = ref.loss.cross_entropy_forward(f64(B["logits"]), B["target"], f64(B.get("weight")), ignore, ls)
            close(A["loss"], want, dt, C, np.abs(want) + np.max(np.abs(f64(B["logits"])), initial=0))


@strategy("cross_entropy_backward")
def test_fuzz_cross_entropy_backward(draw):
    c, dt, C, ignore, ls, outputs = ce_common(draw, True)
    A = c.arrays
    good_stats = draw(st.booleans()) and c.mutation is None and c.finite and C > 0
    if good_stats:  # the forward's statistics: then the gradient is checkable
        rows = np.zeros(A["target"].shape, np.int64)  # the stats do not depend on the targets (may be invalid)
        A["stats"][...] = ref.loss.cross_entropy_forward(f64(A["logits"]), rows)[1]
        c.before["stats"] = A["stats"].copy()
    if run_ce_case("cross_entropy_backward", c, C, ignore, ls, outputs, A["logits"], A["stats"], A["target"],
                   A["grad"], A["dlogits"]):
        if good_stats:
            B = c.before
            want = ref.loss.cross_entropy_backward(f64(B["logits"]), f64(B["stats"]), B["target"], f64(B["grad"]),
                                                   f64(B.get("weight")), ignore, ls)
            close(A["dlogits"], want, dt, C, np.abs(f64(B["grad"]))[:, None] * 4 + 1)


# ---- optimizers ----------------------------------------------------------------------------------------

HYPER = st.sampled_from([0.0, 0.0, 0.1, 0.9, 1.0, -0.5, 1e30, float("nan")])


def optim_draw(draw):
    """An ISA level and thread count, then a dtype and a parameter shape of rank 0 to 3."""
    isa_and_threads(draw)
    return fdtype(draw), tuple(draw(dims(draw(st.integers(0, 3)))))


def sgd_draw(draw):
    """(dtype, settings (lr, momentum, dampening, weight_decay, nesterov, first), Case of w, grad, buf)."""
    dt, shape = optim_draw(draw)
    lr, mom, damp, wd = (draw(HYPER) for _ in range(4))
    nesterov, first = draw(st.booleans()), draw(st.booleans())
    specs = {"w": (shape, dt), "grad": (shape, dt)}
    if mom != 0 or draw(st.booleans()):
        specs["buf"] = (shape, dt)
    c = Case(draw, specs, outputs=("w", "buf"))
    if mom == 0 and c.mutation and c.mutation[0] == "buf":
        c.mutation = None  # without momentum the kernel never looks at buf (the binding ignores it)
    return dt, (lr, mom, damp, wd, nesterov, first), c


def check_sgd(c, dt, settings):
    """An accepted sgd_update of Case c: inputs untouched, w as the reference's (finite, in range)."""
    lr, mom, damp, wd, nesterov, first = settings
    assert_inputs_untouched(c, ("w", "buf"))
    hyper_ok = all(np.isfinite(v) and abs(v) < 1e3 for v in (lr, mom, damp, wd))
    if c.finite and not c.aliased() and hyper_ok:
        B = {k: f64(v) for k, v in c.before.items()}
        ref_optim.sgd_update(B["w"], B["grad"], B.get("buf"), lr, mom, damp, wd, nesterov, first)
        close(c.arrays["w"], B["w"], dt, 4, np.abs(B["w"]) + np.abs(f64(c.before["grad"])) * 4 + 1)


@strategy("sgd_update")
def test_fuzz_sgd_update(draw):
    dt, settings, c = sgd_draw(draw)
    lr, mom, damp, wd, nesterov, first = settings
    A = c.arrays
    if run_case("sgd_update", c, _C.sgd_update, A["w"], A["grad"], A.get("buf"), lr=lr, momentum=mom,
                dampening=damp, weight_decay=wd, nesterov=nesterov, first=first):
        check_sgd(c, dt, settings)


@strategy("sgd_update_many")
def test_fuzz_sgd_update_many(draw):
    """A valid parameter, then a drawn one (sgd_update's strategy): a refused list changes neither."""
    dt, settings, c = sgd_draw(draw)
    lr, mom, damp, wd, nesterov, first = settings
    A = c.arrays
    w0 = np.linspace(-1, 1, 5).astype(np.float32)
    g0, b0 = np.ones(5, np.float32), np.zeros(5, np.float32)
    w0_before = w0.copy()
    bufs = [b0, A.get("buf")] if mom != 0 else None
    if run_case("sgd_update_many", c, _C.sgd_update_many, [w0, A["w"]], [g0, A["grad"]], bufs, lr=lr, momentum=mom,
                dampening=damp, weight_decay=wd, nesterov=nesterov, first=[True, first]):
        check_sgd(c, dt, settings)
    else:
        np.testing.assert_array_equal(w0, w0_before)  # checked before anything was updated


@strategy("adam_update")
def test_fuzz_adam_update(draw):
    dt, shape = optim_draw(draw)
    lr, wd = draw(HYPER), draw(HYPER)
    b1 = draw(st.sampled_from([0.9, 0.0, 0.5, 1.0, -1.0, float("nan")]))
    b2 = draw(st.sampled_from([0.999, 0.0, 0.5, 1.0, 2.0]))
    eps = draw(st.sampled_from([1e-8, 0.0, 1.0, -1.0]))
    step = draw(st.sampled_from([1, 2, 10, 0, -3, 2 ** 40]))
    decoupled = draw(st.booleans())
    specs = {"w": (shape, dt), "grad": (shape, dt), "m": (shape, dt), "v": (shape, dt, None)}
    amsgrad = draw(st.booleans())
    c0 = np.abs(np.random.default_rng(len(shape)).standard_normal(shape)).astype(dt)
    specs["v"] = (shape, dt, c0)
    if amsgrad:
        specs["vmax"] = (shape, dt, c0 * 2)
    outputs = ("w", "m", "v", "vmax")
    c = Case(draw, specs, outputs=outputs)
    A = c.arrays
    if run_case("adam_update", c, _C.adam_update, A["w"], A["grad"], A["m"], A["v"], A.get("vmax"), lr=lr, beta1=b1,
                beta2=b2, eps=eps, weight_decay=wd, step=step, decoupled=decoupled):
        assert step >= 1
        assert_inputs_untouched(c, outputs)
        hyper_ok = all(np.isfinite(v) and abs(v) < 1e3 for v in (lr, wd, b1)) and 0 < b1 < 1 and 0 < b2 < 1
        if c.finite and c.values == "normal" and not c.aliased() and hyper_ok and eps > 0 and step < 100:
            B = {k: f64(v) for k, v in c.before.items()}
            ref_optim.adam_update(B["w"], B["grad"], B["m"], B["v"], B.get("vmax"), lr, b1, b2, eps, wd, step, decoupled)
            close(A["w"], B["w"], dt, 16, np.abs(B["w"]) + abs(lr) * 1e3 + 1)


# ---- convolution and pooling ------------------------------------------------------------------------------

WIN = st.sampled_from([1, 1, 2, 3, 5])
HYP_INT = st.sampled_from([0, 1, 1, 2, 3, -1, 2 ** 62, -(2 ** 62)])


def pair(draw, base, lo=1):
    v = draw(base)
    return (v, draw(base)) if draw(st.booleans()) else (v, v)


def conv_setup(draw):
    """Shapes and window parameters; one case in four draws them from ranges that include invalid
    values (zero or negative strides, dilations and groups, negative or 2**62 padding)."""
    dt = fdtype(draw)
    N, H, W = draw(dims(3, big=False))
    N = 0 if draw(st.integers(0, 5)) == 0 else N  # an empty batch often: its outputs must still be written
    H, W = H + draw(st.integers(0, 6)), W + draw(st.integers(0, 6))
    wild = draw(st.integers(0, 3)) == 0
    groups = draw(st.sampled_from([1, 1, 2, 3] + ([0, -1] if wild else [])))
    g = max(groups, 1)
    # 16 channels in, 40 out: 3x3 stride-1 windows then take the Winograd path (_C.conv_algorithm; up to
    # 32 in and out is the direct path's)
    Cg, OCg = draw(st.sampled_from([0, 1, 2, 2, 3, 16])), draw(st.sampled_from([0, 1, 2, 2, 16, 40]))
    k = pair(draw, WIN)
    s = pair(draw, st.sampled_from([1, 1, 2, 3] + ([0, -2] if wild else [])))
    p = pair(draw, st.sampled_from([0, 0, 1, 2] + ([-1, 2 ** 62, 2 ** 40] if wild else [])))
    d = pair(draw, st.sampled_from([1, 1, 2] + ([0, 2 ** 62] if wild else [])))
    return dt, N, Cg * g, H, W, OCg * g, groups, k, s, p, d


def conv_out(H, W, k, s, p, d):
    OH = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1 if s[0] > 0 else 0
    OW = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1 if s[1] > 0 else 0
    small = abs(p[0]) < 100 and abs(p[1]) < 100
    return (max(OH, 0), max(OW, 0)) if small else (1, 1)


def valid_geometry(k, s, p, d, OH, OW, H, W):
    return (min(k) >= 1 and min(s) >= 1 and min(p) >= 0 and min(d) >= 1 and max(p) < 100
            and H + 2 * p[0] >= d[0] * (k[0] - 1) + 1 and W + 2 * p[1] >= d[1] * (k[1] - 1) + 1 and OH >= 1 and OW >= 1)


def conv2d_draw(draw):
    """An ISA level, a thread count and a conv2d geometry (conv_setup), with the output size and the specs
    of x and w that both conv2d fuzz tests start from."""
    isa_and_threads(draw)
    dt, N, C, H, W, OC, groups, k, s, p, d = conv_setup(draw)
    OH, OW = conv_out(H, W, k, s, p, d)
    specs = {"x": ((N, C, H, W), dt), "w": ((OC, C // max(groups, 1), *k), dt)}
    return dt, N, C, H, W, OC, groups, k, s, p, d, OH, OW, specs


def poisoned_case(draw, specs, outputs):
    c = Case(draw, specs, outputs=outputs)
    c.poison(*outputs)
    return c, c.arrays


def run_geometry_case(name, c, fn, args, outputs, valid):
    """Runs a windowed entry (conv, pooling); where it accepted the case, the geometry must have been
    `valid` and the inputs left as they were. True when it ran."""
    if not run_case(name, c, fn, *args):
        return False
    assert valid, f"{name} accepted an invalid geometry"
    assert_inputs_untouched(c, outputs)
    return True


@strategy("conv2d_forward")
def test_fuzz_conv2d_forward(draw):
    dt, N, C, H, W, OC, groups, k, s, p, d, OH, OW, specs = conv2d_draw(draw)
    specs["y"] = ((N, OC, OH, OW), dt)
    if draw(st.booleans()):
        specs["b"] = ((OC,), dt)
    c, A = poisoned_case(draw, specs, ("y",))
    if run_geometry_case("conv2d_forward", c, _C.conv2d_forward, (A["x"], A["w"], A.get("b"), A["y"], s, p, d, groups),
                         ("y",), groups >= 1 and valid_geometry(k, s, p, d, OH, OW, H, W)):
        if c.finite and not c.aliased():  # empty sizes too: every output element must be written
            B = c.before
            want = ref.conv.conv2d_forward(f64(B["x"]), f64(B["w"]), f64(B.get("b")), s, p, d, groups)
            scale = ref.conv.conv2d_forward(np.abs(f64(B["x"])), np.abs(f64(B["w"])), None, s, p, d, groups) + 1
            close(A["y"], want, dt, C * k[0] * k[1], scale)


@strategy("conv2d_backward")
def test_fuzz_conv2d_backward(draw):
    dt, N, C, H, W, OC, groups, k, s, p, d, OH, OW, specs = conv2d_draw(draw)
    specs["dy"] = ((N, OC, OH, OW), dt)
    want_dx, want_dw = draw(st.booleans()), draw(st.booleans())
    if want_dx:
        specs["dx"] = specs["x"]
    if want_dw:
        specs["dw"] = specs["w"]
    c, A = poisoned_case(draw, specs, ("dx", "dw"))
    if run_geometry_case("conv2d_backward", c, _C.conv2d_backward,
                         (A["x"], A["w"], A["dy"], A.get("dx"), A.get("dw"), s, p, d, groups),
                         ("dx", "dw"), groups >= 1 and valid_geometry(k, s, p, d, OH, OW, H, W)):
        if c.finite and not c.aliased():  # N = 0 included: dweight is zeros then, never garbage
            B = c.before
            rdx, rdw, _ = ref.conv.conv2d_backward(f64(B["x"]), f64(B["w"]), f64(B["dy"]), s, p, d, groups)
            sdx, sdw, _ = ref.conv.conv2d_backward(np.abs(f64(B["x"])), np.abs(f64(B["w"])), np.abs(f64(B["dy"])),
                                                   s, p, d, groups)
            if want_dx:
                close(A["dx"], rdx, dt, OC * k[0] * k[1], sdx + 1)
            if want_dw:
                close(A["dw"], rdw, dt, N * OH * OW, sdw + 1)


@strategy("conv2d_backward_bias")
def test_fuzz_conv2d_backward_bias(draw):
    isa_and_threads(draw)
    dt = fdtype(draw)
    N, C, L = draw(dims(3))
    shape = (N, C, 1, L) if draw(st.booleans()) else (N, C, L, 1)
    specs = {"dy": (shape, dt), "y": (shape, dt), "dy_out": (shape, dt), "dbias": ((C,), dt)}
    c = Case(draw, specs, outputs=("dy_out", "dbias"))
    c.poison("dy_out", "dbias")
    A = c.arrays
    masked = c.mutation is not None and c.mutation[0] in ("y", "dy_out") or draw(st.booleans())
    y, dy_out = (A["y"], A["dy_out"]) if masked else (None, None)
    dbias = opt(draw, c, "dbias")
    if not masked and dbias is None and c.mutation == ("dy", "other_float"):
        c.mutation = None  # a lone dy of the other float is a valid call with nothing to do, not a cast
    if run_case("conv2d_backward_bias", c, _C.conv2d_backward_bias, A["dy"], y, dy_out, dbias):
        assert_inputs_untouched(c, ("dy_out", "dbias"))
        if c.finite and not c.aliased():  # N*L = 0 included: dbias is zeros then
            B = {k: f64(v) for k, v in c.before.items()}
            want_dy, want_db = ref.conv.conv2d_backward_bias(B["dy"], B["y"] if masked else None)
            if masked:
                np.testing.assert_array_equal(dy_out, want_dy.astype(dt))
            if dbias is not None:
                close(dbias, want_db, dt, N * L, np.abs(want_dy).sum(axis=(0, 2, 3)) + 1)


@strategy("im2col")
def test_fuzz_im2col(draw):
    isa_and_threads(draw)
    dt, _, C, H, W, _, _, k, s, p, d = conv_setup(draw)
    OH, OW = conv_out(H, W, k, s, p, d)
    c = Case(draw, {"x": ((C, H, W), dt), "col": ((C * k[0] * k[1], OH * OW), dt)}, outputs=("col",))
    c.poison("col")
    A = c.arrays
    if run_case("im2col", c, _C.im2col, A["x"], A["col"], k, s, p, d):
        assert valid_geometry(k, s, p, d, OH, OW, H, W)
        assert_inputs_untouched(c, ("col",))
        if not c.aliased():
            want = ref.conv.im2col(f64(c.before["x"]), k, s, p, d)
            np.testing.assert_array_equal(A["col"], want.reshape(A["col"].shape).astype(dt))


@strategy("col2im")
def test_fuzz_col2im(draw):
    isa_and_threads(draw)
    dt, _, C, H, W, _, _, k, s, p, d = conv_setup(draw)
    OH, OW = conv_out(H, W, k, s, p, d)
    c = Case(draw, {"col": ((C * k[0] * k[1], OH * OW), dt), "dx": ((C, H, W), dt)}, outputs=("dx",))
    A = c.arrays
    if run_case("col2im", c, _C.col2im, A["col"], A["dx"], k, s, p, d):
        assert valid_geometry(k, s, p, d, OH, OW, H, W)
        assert_inputs_untouched(c, ("dx",))
        if c.finite and not c.aliased():
            want = ref.conv.col2im(f64(c.before["col"]), (C, H, W), k, s, p, d)
            close(A["dx"], want, dt, k[0] * k[1], np.abs(want) + np.max(np.abs(f64(c.before["col"])), initial=0))


def pool_setup(draw, dilation=True):
    dt, N, C, H, W, _, _, k, s, p, d = conv_setup(draw)
    if not dilation:
        d = (1, 1)
    return dt, N, C, H, W, k, s, p, d


def pool_valid(k, p):
    return 2 * p[0] <= k[0] and 2 * p[1] <= k[1]


@strategy("max_pool2d_forward")
def test_fuzz_max_pool2d_forward(draw):
    isa_and_threads(draw)
    dt, N, C, H, W, k, s, p, d = pool_setup(draw)
    OH, OW = conv_out(H, W, k, s, p, d)
    c = Case(draw, {"x": ((N, C, H, W), dt), "y": ((N, C, OH, OW), dt),
                    "argmax": ((N, C, OH, OW), np.int64, np.zeros((N, C, OH, OW), np.int64))},
             outputs=("y", "argmax"))
    c.poison("y")
    A = c.arrays
    if run_case("max_pool2d_forward", c, _C.max_pool2d_forward, A["x"], A["y"], A["argmax"], k, s, p, d):
        assert valid_geometry(k, s, p, d, OH, OW, H, W) and pool_valid(k, p)
        assert_inputs_untouched(c, ("y", "argmax"))
        if not c.aliased():
            x = f64(c.before["x"])
            if c.values != "nan":
                want_y, want_argmax = ref.pool.max_pool2d_forward(x, k, s, p, d)
                np.testing.assert_array_equal(A["y"], want_y.astype(dt))
                np.testing.assert_array_equal(A["argmax"], want_argmax)
            am = A["argmax"].reshape(N * C, OH * OW)
            y = A["y"].reshape(N * C, OH * OW)
            # -1: a dilated window that falls wholly on padding (y = -inf there, as in the reference)
            assert np.all((am >= 0) & (am < H * W) | (am == -1) & (y == -np.inf))
            picked = np.take_along_axis(x.reshape(N * C, H * W), np.maximum(am, 0), axis=1) if H * W else y
            np.testing.assert_array_equal(np.where(am >= 0, picked.astype(dt), y), y)


@strategy("max_pool2d_backward")
def test_fuzz_max_pool2d_backward(draw):
    isa_and_threads(draw)
    dt, N, C, H, W, k, s, p, d = pool_setup(draw)
    OH, OW = conv_out(H, W, k, s, p, d)
    lo, hi = draw(st.sampled_from([(0, H * W), (0, H * W), (-1, H * W), (-2, H * W + 1)]))
    am = np.random.default_rng(N + H).integers(lo, max(hi, lo + 1), (N, C, OH, OW))
    c = Case(draw, {"dy": ((N, C, OH, OW), dt), "argmax": ((N, C, OH, OW), np.int64, am),
                    "dx": ((N, C, H, W), dt)}, outputs=("dx",))
    A = c.arrays
    if run_case("max_pool2d_backward", c, _C.max_pool2d_backward, A["dy"], A["argmax"], A["dx"], k, s, p, d):
        assert valid_geometry(k, s, p, d, OH, OW, H, W) and pool_valid(k, p)
        a = c.before["argmax"]
        assert np.all((a >= -1) & (a < H * W))
        assert_inputs_untouched(c, ("dx",))
        if c.finite and not c.aliased():
            want = ref.pool.max_pool2d_backward(f64(c.before["dy"]), a, (N, C, H, W), k, s, p, d)  # dx overwritten
            close(A["dx"], want, dt, k[0] * k[1], np.abs(want) + 10)


def avg_pool_draw(draw):
    """An ISA level, a thread count and an avg_pool2d geometry, its output size and whether it is valid."""
    isa_and_threads(draw)
    dt, N, C, H, W, k, s, p, d = pool_setup(draw, dilation=False)
    OH, OW = conv_out(H, W, k, s, p, d)
    return dt, N, C, H, W, k, s, p, d, OH, OW, valid_geometry(k, s, p, d, OH, OW, H, W) and pool_valid(k, p)


@strategy("avg_pool2d_forward")
def test_fuzz_avg_pool2d_forward(draw):
    dt, N, C, H, W, k, s, p, d, OH, OW, valid = avg_pool_draw(draw)
    c, A = poisoned_case(draw, {"x": ((N, C, H, W), dt), "y": ((N, C, OH, OW), dt)}, ("y",))
    if run_geometry_case("avg_pool2d_forward", c, _C.avg_pool2d_forward, (A["x"], A["y"], k, s, p), ("y",), valid):
        if c.finite and not c.aliased():
            x = f64(c.before["x"])
            close(A["y"], ref.pool.avg_pool2d_forward(x, k, s, p), dt, k[0] * k[1], ref.pool.avg_pool2d_forward(np.abs(x), k, s, p))


@strategy("avg_pool2d_backward")
def test_fuzz_avg_pool2d_backward(draw):
    dt, N, C, H, W, k, s, p, d, OH, OW, valid = avg_pool_draw(draw)
    c = Case(draw, {"dy": ((N, C, OH, OW), dt), "dx": ((N, C, H, W), dt)}, outputs=("dx",))
    A = c.arrays
    if run_geometry_case("avg_pool2d_backward", c, _C.avg_pool2d_backward, (A["dy"], A["dx"], k, s, p), ("dx",),
                         valid):
        if c.finite and not c.aliased():
            dy = f64(c.before["dy"])
            want = ref.pool.avg_pool2d_backward(dy, (N, C, H, W), k, s, p)
            close(A["dx"], want, dt, k[0] * k[1], np.abs(want) + np.max(np.abs(dy), initial=0))


# ---- interpolation ----------------------------------------------------------------------------------


from firstepoch.reference import interp as ref_interp  # noqa: E402

INTERP_MODES = ("nearest", "nearest-exact", "nearest-1d", "linear")


def interp_draw(draw):
    """An ISA level, a thread count, sizes (0 included: invalid for H, W, OH, OW), a mode (sometimes an
    unknown one, or align_corners with a nearest mode) and scale factors (0: none; tiny, NaN and negative
    ones included), and whether the call is valid."""
    isa_and_threads(draw)
    dt = fdtype(draw)
    N, C, H, W, OH, OW = draw(dims(6, big=False))
    mode = draw(st.sampled_from(INTERP_MODES + ("bicubic",)))
    ac = draw(st.booleans()) if mode == "linear" or draw(st.integers(0, 5)) == 0 else False
    sh, sw = (draw(st.sampled_from([0.0, 0.0, 2.0, 1.7, 0.5, -1.0, 1e-30, float("nan")])) for _ in range(2))
    valid = min(H, W, OH, OW) >= 1 and mode in INTERP_MODES and not (ac and mode != "linear")
    return dt, N, C, H, W, OH, OW, mode, ac, sh, sw, valid


@strategy("interpolate2d_forward")
def test_fuzz_interpolate2d_forward(draw):
    dt, N, C, H, W, OH, OW, mode, ac, sh, sw, valid = interp_draw(draw)
    c, A = poisoned_case(draw, {"x": ((N, C, H, W), dt), "y": ((N, C, OH, OW), dt)}, ("y",))
    if run_geometry_case("interpolate2d_forward", c, _C.interpolate2d_forward, (A["x"], A["y"], mode, ac, sh, sw),
                         ("y",), valid):
        if c.finite and not c.aliased() and abs(sh) < 1e10 and abs(sw) < 1e10 and sh == sh and sw == sw:
            x = f64(c.before["x"])
            want = ref_interp.interpolate2d_forward(x, (OH, OW), mode, ac, max(sh, 0.0), max(sw, 0.0))
            close(A["y"], want, dt, 4, np.zeros_like(want) + np.max(np.abs(x), initial=0))


@strategy("interpolate2d_backward")
def test_fuzz_interpolate2d_backward(draw):
    dt, N, C, H, W, OH, OW, mode, ac, sh, sw, valid = interp_draw(draw)
    c = Case(draw, {"dy": ((N, C, OH, OW), dt), "dx": ((N, C, H, W), dt)}, outputs=("dx",))
    A = c.arrays
    if run_geometry_case("interpolate2d_backward", c, _C.interpolate2d_backward, (A["dy"], A["dx"], mode, ac, sh, sw),
                         ("dx",), valid):
        if c.finite and not c.aliased() and abs(sh) < 1e10 and abs(sw) < 1e10 and sh == sh and sw == sw:
            dy = f64(c.before["dy"])
            want = ref_interp.interpolate2d_backward(dy, (N, C, H, W), mode, ac, max(sh, 0.0), max(sw, 0.0))
            k = OH * OW // max(H * W, 1) + 4
            close(A["dx"], want, dt, k, np.abs(want) + np.sum(np.abs(dy), axis=(2, 3), keepdims=True))


# ---- batch norm ----------------------------------------------------------------------------------------


def bn_setup(draw, names):
    dt = fdtype(draw)
    N, C, L = draw(dims(3))
    specs = {}
    for name in names:
        if name in ("x", "y", "dy", "dx"):
            specs[name] = ((N, C, L), dt)
        elif name in ("invstd", "vmean"):
            specs[name] = ((C,), dt, (np.abs(np.random.default_rng(C).standard_normal(C)) + 0.5).astype(dt))
        else:
            specs[name] = ((C,), dt)
    return dt, N, C, L, specs


def opt(draw, c, name):
    """An optional argument: passed or None (always passed when it carries the case's mutation)."""
    mutated = c.mutation is not None and c.mutation[0] == name
    return c.arrays.get(name) if mutated or draw(st.booleans()) else None


@strategy("batch_norm_forward")
def test_fuzz_batch_norm_forward(draw):
    isa_and_threads(draw)
    dt, N, C, L, specs = bn_setup(draw, ("x", "y", "mean", "invstd", "gamma", "beta", "var"))
    eps = draw(st.sampled_from([1e-5, 1e-5, 1.0, 0.0, -1.0, float("nan")]))
    c = Case(draw, specs, outputs=("y", "mean", "invstd", "var"))
    c.poison("y", "mean", "invstd", "var")
    A = c.arrays
    gamma, beta, var_out = opt(draw, c, "gamma"), opt(draw, c, "beta"), opt(draw, c, "var")
    if run_case("batch_norm_forward", c, _C.batch_norm_forward, A["x"], gamma, beta, A["y"], A["mean"], A["invstd"],
                var_out, eps):
        assert eps > 0 and N * L > 0
        assert_inputs_untouched(c, ("y", "mean", "invstd", "var"))
        if c.values == "normal" and not c.aliased():
            B = c.before
            y, mean, invstd, var = ref.norm.batch_norm_forward(f64(B["x"]), None if gamma is None else f64(B["gamma"]),
                                                               None if beta is None else f64(B["beta"]), eps)
            close(A["mean"], mean, dt, N * L, np.abs(mean) + 1)
            close(A["invstd"], invstd, dt, N * L, invstd)
            if var_out is not None:
                close(var_out, var, dt, N * L, var + 1)
            if np.all(var > 1e-3):
                close(A["y"], y, dt, N * L, np.abs(y) + 10)


@strategy("batch_norm_eval_forward")
def test_fuzz_batch_norm_eval_forward(draw):
    isa_and_threads(draw)
    dt, N, C, L, specs = bn_setup(draw, ("x", "y", "mean", "invstd", "gamma", "beta"))
    c = Case(draw, specs, outputs=("y",))
    c.poison("y")
    A = c.arrays
    gamma, beta = opt(draw, c, "gamma"), opt(draw, c, "beta")
    if run_case("batch_norm_eval_forward", c, _C.batch_norm_eval_forward, A["x"], gamma, beta, A["mean"], A["invstd"],
                A["y"]):
        assert_inputs_untouched(c, ("y",))
        if c.finite and not c.aliased():
            B = {k: f64(v) for k, v in c.before.items()}
            want = ref.norm.batch_norm_eval_forward(B["x"], B["gamma"] if gamma is not None else None,
                                                    B["beta"] if beta is not None else None, B["mean"], B["invstd"])
            close(A["y"], want, dt, 4, np.abs(want) + 10)


@strategy("batch_norm_backward")
def test_fuzz_batch_norm_backward(draw):
    isa_and_threads(draw)
    dt, N, C, L, specs = bn_setup(draw, ("dy", "x", "mean", "invstd", "gamma", "dx", "dgamma", "dbeta"))
    train = draw(st.booleans())
    c = Case(draw, specs, outputs=("dx", "dgamma", "dbeta"))
    c.poison("dx", "dgamma", "dbeta")
    A = c.arrays
    gamma, dx, dgamma, dbeta = (opt(draw, c, n) for n in ("gamma", "dx", "dgamma", "dbeta"))
    ok = run_case("batch_norm_backward", c, _C.batch_norm_backward, A["dy"], A["x"], gamma, A["mean"], A["invstd"],
                  dx, dgamma, dbeta, train)
    if ok:
        assert_inputs_untouched(c, ("dx", "dgamma", "dbeta"))
        if c.finite and not c.aliased():  # N*L = 0 included: dgamma and dbeta are zeros then
            B = {k: f64(v) for k, v in c.before.items()}
            g = 1 if gamma is None else B["gamma"][:, None]
            xhat = (B["x"] - B["mean"][:, None]) * B["invstd"][:, None]
            if dx is not None and not train:
                close(dx, B["dy"] * g * B["invstd"][:, None], dt, 4, np.abs(B["dy"]) * 10 + 1)
            if dbeta is not None:
                close(dbeta, B["dy"].sum(axis=(0, 2)), dt, N * L, np.abs(B["dy"]).sum(axis=(0, 2)) + 1)
            if dgamma is not None:
                close(dgamma, (B["dy"] * xhat).sum(axis=(0, 2)), dt, N * L, np.abs(B["dy"] * xhat).sum(axis=(0, 2)) + 1)



# ---- layer norm and group norm (issue 17): one row kernel ------------------------------------------------

def rownorm_setup(draw, kind, names):
    """dtype, (rows R, groups G, channels per group K, L), num_groups as passed, specs: layer norm over
    x (M, D) or group norm over x (N, C, L) with C = G*K (num_groups sometimes not a divisor, or 0)."""
    dt = fdtype(draw)
    if kind == "layer":
        M, D = draw(dims(2))
        xs, stat, par, G, K, L, groups = (M, D), (M,), (D,), 1, D, 1, None
        R = M
    else:
        N, K, L = draw(dims(3))
        G = draw(st.sampled_from([1, 2, 3]))
        groups = draw(st.sampled_from([G, G, G, G, 0, G + 1]))
        xs, stat, par, R = (N, G * K, L), (N, G), (G * K,), N * G
    specs = {}
    for name in names:
        if name in ("x", "y", "dy", "dx"):
            specs[name] = (xs, dt)
        elif name == "invstd_in":
            specs["invstd"] = (stat, dt, (np.abs(np.random.default_rng(R).standard_normal(stat)) + 0.5).astype(dt))
        elif name in ("mean", "invstd"):
            specs[name] = (stat, dt)
        else:
            specs[name] = (par, dt)
    return dt, (R, G, K, L), groups, specs


def _rownorm_forward(kind, draw):
    isa_and_threads(draw)
    dt, (R, G, K, L), groups, specs = rownorm_setup(draw, kind, ("x", "y", "mean", "invstd", "gamma", "beta"))
    eps = draw(st.sampled_from([1e-5, 1e-5, 1.0, 0.0]))
    c = Case(draw, specs, outputs=("y", "mean", "invstd"))
    c.poison("y", "mean", "invstd")
    A = c.arrays
    gamma, beta = opt(draw, c, "gamma"), opt(draw, c, "beta")
    entry = f"{kind}_norm_forward"
    if kind == "layer":
        ok = run_case(entry, c, _C.layer_norm_forward, A["x"], gamma, beta, A["y"], A["mean"], A["invstd"], eps)
    else:
        ok = run_case(entry, c, _C.group_norm_forward, A["x"], groups, gamma, beta, A["y"], A["mean"], A["invstd"], eps)
    if not ok:
        return
    assert kind == "layer" or (groups == G)
    assert_inputs_untouched(c, ("y", "mean", "invstd"))
    if c.values == "normal" and not c.aliased() and K * L > 0 and eps > 0:
        B = c.before
        g, b = (None if a is None else f64(B[n]) for a, n in ((gamma, "gamma"), (beta, "beta")))
        if kind == "layer":
            y, mean, invstd = ref.norm.layer_norm_forward(f64(B["x"]), g, b, eps)
        else:
            y, mean, invstd = ref.norm.group_norm_forward(f64(B["x"]), G, g, b, eps)
        close(A["mean"], mean, dt, K * L, np.abs(mean) + 1)
        close(A["invstd"], invstd, dt, K * L, invstd)
        if np.all(1 / invstd ** 2 > 1e-3):
            close(A["y"], y, dt, K * L, np.abs(y) + 10)


def _rownorm_backward(kind, draw):
    isa_and_threads(draw)
    dt, (R, G, K, L), groups, specs = rownorm_setup(
        draw, kind, ("dy", "x", "mean", "invstd_in", "gamma", "dx", "dgamma", "dbeta"))
    c = Case(draw, specs, outputs=("dx", "dgamma", "dbeta"))
    c.poison("dx", "dgamma", "dbeta")
    A = c.arrays
    gamma, dx, dgamma, dbeta = (opt(draw, c, n) for n in ("gamma", "dx", "dgamma", "dbeta"))
    entry = f"{kind}_norm_backward"
    if kind == "layer":
        ok = run_case(entry, c, _C.layer_norm_backward, A["dy"], A["x"], gamma, A["mean"], A["invstd"], dx, dgamma,
                      dbeta)
    else:
        ok = run_case(entry, c, _C.group_norm_backward, A["dy"], A["x"], groups, gamma, A["mean"], A["invstd"], dx,
                      dgamma, dbeta)
    if not ok:
        return
    assert_inputs_untouched(c, ("dx", "dgamma", "dbeta"))
    if c.finite and not c.aliased():  # no rows included: dgamma and dbeta are zeros then
        B = {k: f64(v) for k, v in c.before.items()}
        g = None if gamma is None else B["gamma"]
        if kind == "layer":
            want = ref.norm.layer_norm_backward(B["dy"], B["x"], g, B["mean"], B["invstd"])
            x3, dy3 = B["x"].reshape(R, 1, K), B["dy"].reshape(R, 1, K)
        else:
            want = ref.norm.group_norm_backward(B["dy"], B["x"], G, g, B["mean"], B["invstd"])
            x3, dy3 = B["x"], B["dy"]
        n = max(R, 1) * max(K * L, 1)
        if dx is not None and K * L > 0:
            close(dx, want[0], dt, n, np.abs(want[0]) + np.abs(B["dy"]).max(initial=0) * 10 + 1)
        if dbeta is not None:
            close(dbeta, want[2], dt, n, np.abs(dy3).sum(axis=(0, 2)) + 1)
        if dgamma is not None and K * L > 0:
            xs = np.abs(x3).max(initial=0) + np.abs(B["mean"]).max(initial=0)
            close(dgamma, want[1], dt, n, np.abs(dy3).sum(axis=(0, 2)) * xs * B["invstd"].max(initial=1) + 1)


@strategy("layer_norm_forward")
def test_fuzz_layer_norm_forward(draw):
    _rownorm_forward("layer", draw)


@strategy("layer_norm_backward")
def test_fuzz_layer_norm_backward(draw):
    _rownorm_backward("layer", draw)


@strategy("group_norm_forward")
def test_fuzz_group_norm_forward(draw):
    _rownorm_forward("group", draw)


@strategy("group_norm_backward")
def test_fuzz_group_norm_backward(draw):
    _rownorm_backward("group", draw)

# ---- CPU, ISA and thread controls --------------------------------------------------------------------------

TEXT = st.one_of(st.sampled_from(["scalar", "avx2", "avx512", "AVX2", "", "sse9", "avx512 "]), st.text(max_size=8))


@fuzz("cpu_info")
@fuzz("get_isa")
@fuzz("get_num_threads")
@FUZZ
@given(st.sampled_from(["cpu_info", "get_isa", "get_num_threads"]), st.integers(1, 4))
def test_fuzz_queries(name, n):
    firstepoch.set_num_threads(n)
    res = getattr(_C, name)()
    CASES[name] += 1
    if name == "cpu_info":
        assert res["threads"] == n and res["isa"] in res["available"]
    elif name == "get_num_threads":
        assert res == n


@strategy("conv_algorithm")
def test_fuzz_conv_algorithm(draw):
    """The path query takes any shapes and window parameters: a path name, or a named error."""
    dims = st.integers(-2, 40)
    x_shape = draw(st.lists(dims, min_size=3, max_size=5))
    w_shape = draw(st.lists(dims, min_size=3, max_size=5))
    pair = st.tuples(st.integers(-1, 4), st.integers(-1, 4))
    s, p, d = draw(pair), draw(pair), draw(pair)
    groups = draw(st.integers(-1, 4))
    out = []
    if run_case("conv_algorithm", None, lambda: out.append(_C.conv_algorithm(x_shape, w_shape, s, p, d, groups))):
        assert out[0] in ("direct", "winograd", "im2col")
        assert out[0] == "im2col" or groups == 1


@fuzz("winograd_tile")
@fuzz("set_winograd_tile")
@fuzz("get_winograd_tile")
@FUZZ
@given(st.one_of(st.integers(-3, 6), st.sampled_from([2 ** 31, 2 ** 70]), st.floats(), st.none()),
       st.one_of(st.integers(-2, 40), st.sampled_from([2 ** 62, 2 ** 63 - 1])), st.integers(-2, 40),
       st.integers(-2, 600))
def test_fuzz_winograd_tile(tile, out_h, out_w, channels):
    """The tile override takes 0, 2 or 4 and names anything else; the tile query takes any map size and
    channel count: 2 or 4, or a named error for an empty map or negative channels."""
    try:
        ok = run_case("set_winograd_tile", None, _C.set_winograd_tile, tile)
        assert ok == (isinstance(tile, int) and tile in (0, 2, 4))
        CASES["get_winograd_tile"] += 1
        assert _C.get_winograd_tile() == (tile if ok else 0)
        out = []
        if run_case("winograd_tile", None, lambda: out.append(_C.winograd_tile(out_h, out_w, channels))):
            assert out_h >= 1 and out_w >= 1 and channels >= 0 and out[0] in (2, 4)
            assert not ok or tile == 0 or out[0] == tile
    finally:
        _C.set_winograd_tile(0)


@fuzz("set_conv_small_map_bytes")
@fuzz("get_conv_small_map_bytes")
@FUZZ
@given(st.one_of(st.integers(-3, 1 << 30), st.sampled_from([2 ** 63, 2 ** 70, -2 ** 63]), st.floats(), st.none()))
def test_fuzz_conv_small_map_bytes(n):
    """The small-map budget takes any count of bytes from 0 up and names anything else."""
    try:
        ok = run_case("set_conv_small_map_bytes", None, _C.set_conv_small_map_bytes, n)
        assert ok == (isinstance(n, int) and 0 <= n < 2 ** 63)
        CASES["get_conv_small_map_bytes"] += 1
        assert _C.get_conv_small_map_bytes() == (n if ok else 0)
    finally:
        _C.set_conv_small_map_bytes(0)


@fuzz("set_isa")
@FUZZ
@given(TEXT)
def test_fuzz_set_isa(name):
    CASES["set_isa"] += 1
    try:
        _C.set_isa(name)
        assert name in _C.cpu_info()["available"] and _C.get_isa() == name
    except (ValueError, RuntimeError) as e:
        assert name not in _C.cpu_info()["available"] and len(str(e)) > 12


@fuzz("set_num_threads")
@FUZZ
@given(st.one_of(st.integers(-5, 8), st.sampled_from([2 ** 31, -(2 ** 31) - 1, 2 ** 70]), st.floats(), st.none()))
def test_fuzz_set_num_threads(n):
    ok = run_case("set_num_threads", None, _C.set_num_threads, n)
    assert ok == (isinstance(n, int) and 1 <= n < 2 ** 31)
    if ok:
        assert _C.get_num_threads() == n
    firstepoch.set_num_threads(2)


@fuzz("fma_peak_gflops")
@FUZZ
@given(st.one_of(TEXT, st.sampled_from(_C.cpu_info()["available"])), st.sampled_from([-5, 0, 1, 1000]),
       st.sampled_from([-1, 0, 1, 2]))
def test_fuzz_fma_peak_gflops(isa, iters, threads):
    if run_case("fma_peak_gflops", None, _C.fma_peak_gflops, isa, iters, threads):
        assert isa in _C.cpu_info()["available"]


@fuzz("memory_bandwidth_gbs")
@FUZZ
@given(st.sampled_from([-1, 0, 4095, 4096, 1 << 16]), st.sampled_from([-1, 0, 1, 2]), st.sampled_from([-1, 0, 1, 2]))
def test_fuzz_memory_bandwidth_gbs(nbytes, threads, repeats):
    if run_case("memory_bandwidth_gbs", None, _C.memory_bandwidth_gbs, nbytes, threads, repeats):
        assert nbytes >= 4096 and threads >= 1 and repeats >= 1


@fuzz("release_free_memory")
@FUZZ
@given(st.lists(st.integers(0, 1 << 21), max_size=6), st.sampled_from([(), (0,), ("x",)]))
def test_fuzz_release_free_memory(sizes, args):
    """After any allocations, kept or freed: a bool, and the arrays still alive keep their values;
    an argument is a TypeError."""
    live = [np.full(n, 7, dtype=np.uint8) for n in sizes]
    del live[::2]
    if run_case("release_free_memory", None, _C.release_free_memory, *args):
        assert not args
    assert all(int(a.min(initial=7)) == 7 for a in live)
    if not args:
        assert isinstance(_C.release_free_memory(), bool)


# ---- recurrent layers ------------------------------------------------------------------------------------

RNN_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def rnn_setup(draw):
    """A recurrent layer's arguments (small sizes: the kernel loops over T steps), sometimes one of them
    with a shape that does not fit the others."""
    dt = fdtype(draw)
    mode = draw(st.sampled_from(sorted(RNN_GATES)))
    reverse = draw(st.booleans())
    T, N, I, H = (draw(st.sampled_from([0, 1, 1, 2, 3, 5, 8, 13])) for _ in range(4))
    GH = RNN_GATES[mode] * H
    specs = {"x": ((T, N, I), dt), "w_ih": ((GH, I), dt), "w_hh": ((GH, H), dt), "b_ih": ((GH,), dt),
             "b_hh": ((GH,), dt), "h0": ((N, H), dt), "c0": ((N, H), dt)}
    if draw(st.integers(0, 5)) == 0:  # a shape mismatch: one size off by one
        name = draw(st.sampled_from(sorted(specs)))
        shape = list(specs[name][0])
        shape[draw(st.integers(0, len(shape) - 1))] += 1
        specs[name] = (tuple(shape), dt)
    return dt, mode, reverse, (T, N, I, H), specs


def rnn_reference(mode, reverse, B):
    """(out, h_n, c_n, cache) of the float64 NumPy reference for the arrays B."""
    return ref.rnn.rnn_forward(B["x"], B["w_ih"], B["w_hh"], B.get("b_ih"), B.get("b_hh"), B["h0"], B.get("c0"),
                               mode, reverse)


def off_by_one(draw, specs, names):
    """Sometimes one of the named arrays gets one size off by one."""
    if draw(st.integers(0, 9)) == 0:
        name = draw(st.sampled_from(names))
        shape, *rest = specs[name]
        shape = list(shape)
        shape[draw(st.integers(0, len(shape) - 1))] += 1
        specs[name] = (tuple(shape), rest[0])  # (a fill of the old shape is dropped)


@fuzz("rnn_workspace_size")
@FUZZ
@given(st.one_of(st.sampled_from(sorted(RNN_GATES)), TEXT),
       *(st.sampled_from([-1, 0, 1, 5, 2 ** 31, 2 ** 62, 2 ** 63 - 1]) for _ in range(3)))
def test_fuzz_rnn_workspace_size(mode, seq_len, batch, hidden_size):
    result = []
    if run_case("rnn_workspace_size", None, lambda *a: result.append(_C.rnn_workspace_size(*a)), mode, seq_len, batch,
                hidden_size):
        assert mode in RNN_GATES and min(seq_len, batch, hidden_size) >= 0
        assert isinstance(result[0], int) and result[0] >= 0
        if batch == 0 or hidden_size == 0:  # nothing to save
            assert result[0] == 0


@fuzz("rnn_forward")
@FUZZ
@given(st.data())
def test_fuzz_rnn_forward(data):
    """The layer's inputs and its two buffers (out, workspace), one of them mutated or of the wrong size."""
    draw = data.draw
    isa_and_threads(draw)
    dt, mode, reverse, (T, N, I, H), specs = rnn_setup(draw)
    xT, xN = specs["x"][0][:2]  # the sizes x has (a drawn mismatch of seq_len alone is legal)
    specs["out"] = ((xT + (2 if mode == "lstm" else 1), xN, H), dt)
    specs["workspace"] = ((_C.rnn_workspace_size(mode, xT, xN, H),), dt)
    off_by_one(draw, specs, ["out", "workspace"])
    c = Case(draw, specs, outputs=("out", "workspace"))
    c.poison("out", "workspace")
    A = c.arrays
    b_ih, b_hh = opt(draw, c, "b_ih"), opt(draw, c, "b_hh")
    c0_mutated = c.mutation is not None and c.mutation[0] == "c0"
    c0 = A["c0"] if mode == "lstm" or c0_mutated or draw(st.integers(0, 9)) == 0 else None
    ok = run_case("rnn_forward", c, _C.rnn_forward, A["x"], A["w_ih"], A["w_hh"], b_ih, b_hh, A["h0"], c0, A["out"],
                  A["workspace"], mode, reverse)
    if ok:
        T, N, I = A["x"].shape
        assert min(T, I, H) >= 1 and (c0 is None) == (mode != "lstm")  # N = 0 (an empty batch) is fine
        assert_disjoint(A, ("out", "workspace"))
        assert_inputs_untouched(c, ("out", "workspace"))
        out = A["out"]
        assert out.shape == (T + (2 if mode == "lstm" else 1), N, H)
        if c.finite and c.values == "normal":
            B = {k: f64(v) for k, v in c.before.items()}
            B["b_ih"], B["b_hh"] = f64(b_ih), f64(b_hh)
            want, h_n, c_n, _ = rnn_reference(mode, reverse, B)
            scale = np.abs(want) + 1
            close(out[0:T] if reverse else out[1:T + 1], want, dt, I + H, scale)
            close(out[0] if reverse else out[T], h_n, dt, I + H, np.abs(h_n) + 1)
            if mode == "lstm":
                close(out[T + 1], c_n, dt, I + H, np.abs(c_n) + T)


def assert_disjoint(arrays, outputs):
    """No output the call accepted shares memory with another array of the call."""
    for o in outputs:
        for name, a in arrays.items():
            if name != o and a.size and arrays[o].size:
                assert not np.shares_memory(arrays[o], a), f"{o} shares memory with {name}"


RNN_GRADS = ("dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh")


@fuzz("rnn_backward")
@FUZZ
@given(st.data())
def test_fuzz_rnn_backward(data):
    """Backward from a forward of clean arrays, with one of backward's arguments (the forward's out and
    workspace, dout and the gradient buffers included) mutated in dtype, layout or shape, or aliased."""
    draw = data.draw
    isa_and_threads(draw)
    dt = fdtype(draw)
    mode = draw(st.sampled_from(sorted(RNN_GATES)))
    reverse = draw(st.booleans())
    T, I, H = (draw(st.sampled_from([1, 1, 2, 3, 5, 8])) for _ in range(3))
    N = draw(st.sampled_from([0, 1, 1, 2, 3, 5, 8]))  # 0: the weight gradients must come back zero
    GH = RNN_GATES[mode] * H
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    clean = {"x": rng.standard_normal((T, N, I)), "w_ih": rng.standard_normal((GH, I)) * 0.5,
             "w_hh": rng.standard_normal((GH, H)) * 0.5, "b_ih": rng.standard_normal(GH),
             "b_hh": rng.standard_normal(GH), "h0": rng.standard_normal((N, H)), "c0": rng.standard_normal((N, H))}
    clean = {k: v.astype(dt) for k, v in clean.items()}
    lstm = mode == "lstm"
    out = np.empty((T + (2 if lstm else 1), N, H), dt)
    workspace = np.empty(_C.rnn_workspace_size(mode, T, N, H), dt)
    _C.rnn_forward(clean["x"], clean["w_ih"], clean["w_hh"], clean["b_ih"], clean["b_hh"], clean["h0"],
                   clean["c0"] if lstm else None, out, workspace, mode, reverse)
    specs = {"x": (clean["x"].shape, dt, clean["x"]), "w_ih": ((GH, I), dt, clean["w_ih"]),
             "w_hh": ((GH, H), dt, clean["w_hh"]), "out": (out.shape, dt, out), "workspace": (workspace.shape, dt, workspace),
             "dout": (out.shape, dt), "dx": ((T, N, I), dt), "dh0": ((N, H), dt), "dc0": ((N, H), dt),
             "dw_ih": ((GH, I), dt), "dw_hh": ((GH, H), dt), "db_ih": ((GH,), dt), "db_hh": ((GH,), dt)}
    off_by_one(draw, specs, ["out", "workspace", "dout"] + list(RNN_GRADS))
    c = Case(draw, specs, outputs=RNN_GRADS)
    c.poison(*RNN_GRADS)
    A = c.arrays
    mutated = c.mutation[0] if c.mutation is not None else None
    # dh0 is required and dc0 is an LSTM's; the others are wanted or None (a mutated one is passed)
    wanted = {g: g == mutated or draw(st.booleans()) for g in RNN_GRADS}
    wanted["dh0"] = wanted["dh0"] or draw(st.integers(0, 9)) > 0
    wanted["dc0"] = lstm if draw(st.integers(0, 9)) > 0 else not lstm
    grads = [A[g] if wanted[g] or g == mutated else None for g in RNN_GRADS]
    ok = run_case("rnn_backward", c, _C.rnn_backward, A["x"], A["w_ih"], A["w_hh"], A["out"], A["workspace"],
                  A["dout"], *grads, mode, reverse)
    if ok:
        assert grads[1] is not None and (grads[2] is not None) == lstm
        assert_disjoint({k: v for k, v in A.items() if k not in RNN_GRADS or v is grads[RNN_GRADS.index(k)]},
                        [g for g, v in zip(RNN_GRADS, grads) if v is not None])
        assert_inputs_untouched(c, RNN_GRADS)
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = grads
        if c.finite and c.values == "normal" and c.mutation is None:
            B = {k: f64(v) for k, v in clean.items()}
            _, _, _, cache = rnn_reference(mode, reverse, B)
            d = f64(c.before["dout"])
            sl = slice(0, T) if reverse else slice(1, T + 1)
            zero = np.zeros((N, H))
            want = ref.rnn.rnn_backward(d[sl], zero, d[T + 1] if lstm else None, cache)
            k = GH + T
            close(dh0, want[1] + d[T if reverse else 0], dt, k, np.abs(want[1]) + 1)
            for got, w, kk in ((dx, want[0], k), (dc0, want[2], k), (dw_ih, want[3], k * N), (dw_hh, want[4], k * N),
                               (db_ih, want[5], k * N), (db_hh, want[6], k * N)):
                if got is not None:
                    close(got, w, dt, kk, np.abs(w) + 1)


# ---- every registered Function ---------------------------------------------------------------------------


def _functions():
    return [op for op in REGISTRY if op.differentiable]


def _tensor_args(args, mutation, values, rng):
    out = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            a = a.copy()
            if values != "normal" and a.size:
                special = {"nan": np.nan, "inf": np.inf, "huge": 1e30, "denormal": 1e-310, "zero": 0.0}[values]
                a[rng.random(a.shape) < 0.3] = special
            if mutation and mutation[0] == i:
                a = mutate(a, mutation[1])
            out.append(Tensor._wrap(a, a.dtype in (np.float32, np.float64)))
        else:
            out.append(a)
    return out


FUNCTION_FAILURES = (RuntimeError,)  # the engine's own "backward returned a ... gradient" check


@fuzz("<Function>")
@FUZZ
@given(st.sampled_from(_functions()), st.data())
def test_fuzz_functions(op, data):
    """Each op's gradcheck cases with one argument mutated (dtype or layout) and special values; the op
    runs forward and backward. Layout changes alone must give the float64 contiguous result."""
    draw = data.draw
    isa_and_threads(draw)
    cases = op.gradcheck_cases(np.random.default_rng(0))
    args, kwargs = cases[draw(st.integers(0, len(cases) - 1))]
    arr_idx = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype == np.float64]
    kind = draw(st.sampled_from((None, None, "float32") + DTYPE_MUTATIONS + LAYOUT_MUTATIONS))
    mutation = (draw(st.sampled_from(arr_idx)), kind) if kind and arr_idx else None
    if kind == "float32" and mutation:
        mutation = (mutation[0], "other_float")
    values = draw(st.sampled_from(["normal", "normal", "normal", "nan", "inf", "huge", "denormal", "zero"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    inputs = _tensor_args(args, mutation, values, rng)
    entry = f"Function.{op.__name__}"
    CASES[entry] += 1
    CASES["<Function>"] += 1
    if CASE_TIMEOUT > 0:
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True, file=sys.__stderr__)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = op.apply(*inputs, **kwargs)
            if out.requires_grad:
                out.backward(np.ones_like(out._data))
        ok = True
    except ALLOWED + FUNCTION_FAILURES + ((ArithmeticError,) if kind == "object" else ()) as e:
        # object arrays never reach an op through Tensor (it refuses them); given directly, Python's
        # own arithmetic runs, with its ZeroDivisionError
        if isinstance(e, RuntimeError) and not isinstance(e, LinAlgError):
            # (torch.linalg.LinAlgError: a factorisation the input's values make impossible, as torch:
            # not positive-definite, non-finite entries)
            # or torch's RuntimeError for operands of two dtypes (linear, conv, batch norm's statistics: as
            # torch, no promotion), for `-` on bool tensors, and for an integer remainder by zero
            assert ("backward returned" in str(e) or "gradient" in str(e) or "should be the same" in str(e)
                    or "must have the same dtype" in str(e) or "mixed dtype" in str(e)
                    or "bool tensor is not supported" in str(e)
                    or "integer division by zero" in str(e)), f"{entry}: {e!r}"
        assert len(str(e)) >= 12, f"{entry}: {type(e).__name__} without a clear message: {e!r}"
        ok = False
    finally:
        if CASE_TIMEOUT > 0:
            faulthandler.cancel_dump_traceback_later()
    OUTCOMES[entry, "ok" if ok else "raised"] += 1
    layout_only = mutation is None or mutation[1] in LAYOUT_MUTATIONS
    if ok and layout_only and values == "normal":
        clean = _tensor_args(args, None, "normal", rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = op.apply(*clean, **kwargs)
        np.testing.assert_allclose(out._data, want._data, rtol=1e-12, atol=1e-12, err_msg=f"{entry} {mutation}")
        for t, w in zip(inputs, clean):
            if isinstance(t, Tensor) and t.requires_grad and w.grad is not None:
                pass  # gradients of the clean run are not computed here; shapes were checked by the engine


# ---- the activation family: activations, PReLU, pointwise losses ---------------------------------------

ACT_KINDS = {"relu": (), "sigmoid": (), "tanh": (), "elu": (1.3, 1.05), "silu": (), "mish": (),
             "hardtanh": (-0.5, 2.0), "softsign": (), "softplus": (2.0, 5.0), "hardsigmoid": (), "hardswish": (),
             "leaky_relu": (0.1,), "gelu": (), "gelu_tanh": ()}


def act_draw(draw):
    """An ISA level and thread count, then (dtype, shape of rank 0 to 3, kind, its options)."""
    isa_and_threads(draw)
    kind = draw(st.sampled_from(sorted(ACT_KINDS) + ["swish"]))  # one unknown name: a ValueError
    return fdtype(draw), tuple(draw(dims(draw(st.integers(0, 3))))), kind, ACT_KINDS.get(kind, ())


@strategy("activation_forward")
def test_fuzz_activation_forward(draw):
    dt, shape, kind, options = act_draw(draw)
    c = Case(draw, {"x": (shape, dt), "y": (shape, dt)}, outputs=("y",))
    c.poison("y")
    A = c.arrays
    if run_case("activation_forward", c, _C.activation_forward, A["x"], A["y"], kind, *options):
        assert_inputs_untouched(c, ("y",))
        if c.finite:
            with np.errstate(all="ignore"):
                want = ref.elementwise.activation_forward(f64(c.before["x"]), kind, *options)
            close(A["y"], want, dt, 1, np.abs(want) + 1)


@strategy("activation_backward")
def test_fuzz_activation_backward(draw):
    dt, shape, kind, options = act_draw(draw)
    c = Case(draw, {"dy": (shape, dt), "x": (shape, dt), "dx": (shape, dt)}, outputs=("dx",))
    c.poison("dx")
    A = c.arrays
    if run_case("activation_backward", c, _C.activation_backward, A["dy"], A["x"], A["dx"], kind, *options):
        assert_inputs_untouched(c, ("dx",))
        if c.finite:
            with np.errstate(all="ignore"):
                want = ref.elementwise.activation_backward(f64(c.before["dy"]), f64(c.before["x"]), kind, *options)
            close(A["dx"], want, dt, 1, np.abs(want) + np.abs(f64(c.before["dy"])) + 1)


def prelu_draw(draw, names, outputs):
    """(dtype, Case) of PReLU arrays: x of rank 1 to 3, weight of one slope, one per channel, or (rarely)
    a wrong count."""
    isa_and_threads(draw)
    dt = fdtype(draw)
    shape = tuple(draw(dims(draw(st.integers(1, 3)))))
    channels = draw(st.sampled_from([1, shape[1] if len(shape) > 1 else 1, 1, 2]))
    specs = {name: ((channels,) if name in ("weight", "dweight") else shape, dt) for name in names}
    c = Case(draw, specs, outputs=outputs)
    c.poison(*outputs)
    return dt, c


def prelu_valid(c):
    x, w = c.arrays["x"], c.arrays["weight"]
    return c.finite and (w.size == 1 or (x.ndim > 1 and x.shape[1] == w.size))


@strategy("prelu_forward")
def test_fuzz_prelu_forward(draw):
    dt, c = prelu_draw(draw, ("x", "weight", "y"), ("y",))
    A = c.arrays
    if run_case("prelu_forward", c, _C.prelu_forward, A["x"], A["weight"], A["y"]):
        assert_inputs_untouched(c, ("y",))
        if prelu_valid(c):
            close(A["y"], ref.elementwise.prelu_forward(f64(c.before["x"]), f64(c.before["weight"])), dt)


@strategy("prelu_backward")
def test_fuzz_prelu_backward(draw):
    dt, c = prelu_draw(draw, ("dy", "x", "weight", "dx", "dweight"), ("dx", "dweight"))
    A = c.arrays
    if run_case("prelu_backward", c, _C.prelu_backward, A["dy"], A["x"], A["weight"], A["dx"], A["dweight"]):
        assert_inputs_untouched(c, ("dx", "dweight"))
        if prelu_valid(c):
            dx, dw = ref.elementwise.prelu_backward(f64(c.before["dy"]), f64(c.before["x"]), f64(c.before["weight"]))
            close(A["dx"], dx, dt, 1, np.abs(dx) + 1)
            close(A["dweight"], dw, dt, A["x"].size, np.abs(dw) + 1)


LOSS_KINDS = ["binary_cross_entropy_with_logits", "binary_cross_entropy", "smooth_l1", "huber", "kl_div",
              "kl_div_log_target", "mse", "l1"]


def loss_draw(draw, backward):
    """(dtype, kind, reduction, param, Case) of a pointwise loss: input and target in the kind's domain,
    weights (bce kinds) of the input's shape, of its last dimension, or (rarely) of neither."""
    isa_and_threads(draw)
    dt = fdtype(draw)
    shape = tuple(draw(dims(draw(st.integers(0, 3)))))
    kind = draw(st.sampled_from(LOSS_KINDS))
    reduction = draw(st.sampled_from(["none", "sum", "mean"]))
    param = draw(st.sampled_from([0.5, 1.0, 2.0, 0.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    specs = {}
    if backward:
        specs["grad"] = (shape if reduction == "none" else (), dt)
    if kind == "binary_cross_entropy":
        specs["input"] = (shape, dt, rng.uniform(0.01, 0.99, shape).astype(dt))
    else:
        specs["input"] = (shape, dt)
    if kind in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"):
        specs["target"] = (shape, dt, rng.uniform(0, 1, shape).astype(dt))
    else:
        specs["target"] = (shape, dt)
    outputs = ("dinput", "dtarget") if backward else ("out",)
    for name in outputs:
        specs[name] = (shape if name != "out" or reduction == "none" else (), dt)
    if kind.startswith("binary_cross_entropy"):
        for name in ("weight", "pos_weight") if kind.endswith("logits") else ("weight",):
            form = draw(st.sampled_from(["none", "full", "last", "last", "bad"]))
            wshape = {"full": shape, "last": shape[-1:] if shape else (), "bad": (3,)}.get(form)
            if wshape is not None:
                specs[name] = (wshape, dt, rng.uniform(0.5, 2, wshape).astype(dt))
    c = Case(draw, specs, outputs=outputs)
    c.poison(*outputs)
    return dt, kind, reduction, param, c


def loss_check(c, kind, reduction, param):
    """Whether an accepted call can be held to the reference: finite values, a valid option."""
    return c.finite and not (kind == "huber" and param <= 0)


def loss_reference_args(c, kind, reduction, param):
    B = c.before
    return (f64(B["input"]), f64(B["target"]), kind, reduction, param, f64(B.get("pos_weight")), f64(B.get("weight")))


@strategy("pointwise_loss_forward")
def test_fuzz_pointwise_loss_forward(draw):
    dt, kind, reduction, param, c = loss_draw(draw, backward=False)
    A = c.arrays
    if run_case("pointwise_loss_forward", c, _C.pointwise_loss_forward, A["input"], A["target"], A["out"], kind,
                reduction, param, A.get("pos_weight"), A.get("weight")):
        assert_inputs_untouched(c, ("out",))
        if loss_check(c, kind, reduction, param):
            with np.errstate(all="ignore"):
                want = ref.loss.pointwise_loss_forward(*loss_reference_args(c, kind, reduction, param))
            if np.all(np.isfinite(want)):
                close(A["out"], want, dt, A["input"].size, np.abs(want) + 1)


@strategy("pointwise_loss_backward")
def test_fuzz_pointwise_loss_backward(draw):
    dt, kind, reduction, param, c = loss_draw(draw, backward=True)
    A = c.arrays
    if run_case("pointwise_loss_backward", c, _C.pointwise_loss_backward, A["grad"], A["input"], A["target"],
                A["dinput"], A["dtarget"], kind, reduction, param, A.get("pos_weight"), A.get("weight")):
        assert_inputs_untouched(c, ("dinput", "dtarget"))
        if loss_check(c, kind, reduction, param):
            with np.errstate(all="ignore"):
                dx, dy = ref.loss.pointwise_loss_backward(f64(c.before["grad"]),
                                                          *loss_reference_args(c, kind, reduction, param))
            for got, want in ((A["dinput"], dx), (A["dtarget"], dy)):
                finite = np.isfinite(want)
                if got.size and finite.any():
                    close(np.where(finite, got, 0), np.where(finite, want, 0), dt, 1, np.abs(np.where(finite, want, 0)) + 1)
# ---- attention -------------------------------------------------------------------------------------

def attention_draw(draw):
    """(Case, dtype, scale, is_causal, mask given, outputs) of one attention call: q (G, H, L, E),
    k (G, Hkv, S, E), v (G, Hkv, S, Ev), a mask (bool or q's dtype, broadcasting) or None."""
    isa_and_threads(draw)
    dt = fdtype(draw)
    G, Hkv = draw(st.sampled_from([0, 1, 1, 2])), draw(st.sampled_from([0, 1, 1, 2]))
    H = Hkv * draw(st.sampled_from([1, 1, 2]))
    L, S, E, Ev = draw(dims(4))
    scale = draw(st.sampled_from([0.125, 1.0, -0.5, 0.0, float("nan")]))
    causal = draw(st.booleans())
    specs = {"q": ((G, H, L, E), dt), "k": ((G, Hkv, S, E), dt), "v": ((G, Hkv, S, Ev), dt)}
    kind = draw(st.sampled_from([None, None, "bool", "float"]))
    if kind is not None:
        mshape = (draw(st.sampled_from([1, G])), draw(st.sampled_from([1, H])), draw(st.sampled_from([1, L])), S)
        fill = np.random.default_rng(L * 7 + S).random(mshape) > 0.3
        specs["mask"] = (mshape, np.bool_, fill) if kind == "bool" else (mshape, dt)
    return G, H, Hkv, L, S, E, Ev, dt, scale, causal, specs


def dropout_draw(draw):
    """(dropout_p, seed) of one attention call: mostly none, some valid, some refused (outside [0, 1], NaN)."""
    p = draw(st.sampled_from([0.0, 0.0, 0.0, 0.25, 0.9, 1.0, -0.5, 1.5, float("nan")]))
    return p, draw(st.sampled_from([0, 1, 2 ** 64 - 1, 987654321]))


def attention_ref(A, scale, causal, drop):
    m = A.get("mask")
    m = None if m is None else (m if m.dtype == np.bool_ else f64(m))
    return ref.attention.attention_forward(f64(A["q"]), f64(A["k"]), f64(A["v"]), m, scale, causal, *drop), m


def attention_valid(c, scale):
    """A call the reference can check: finite values and scale, no mutation, a mask of q's dtype or bool."""
    m = c.arrays.get("mask")
    return (c.finite and c.mutation is None and np.isfinite(scale) and
            (m is None or m.dtype == np.bool_ or m.dtype == c.arrays["q"].dtype))


@strategy("attention_forward")
def test_fuzz_attention_forward(draw):
    G, H, Hkv, L, S, E, Ev, dt, scale, causal, specs = attention_draw(draw)
    drop = dropout_draw(draw)
    specs.update({"o": ((G, H, L, Ev), dt), "lse": ((G, H, L), dt)})
    c = Case(draw, specs, outputs=("o", "lse"))
    c.poison("o", "lse")
    A = c.arrays
    mask_mutated = c.mutation is not None and c.mutation[0] == "mask"
    if run_case("attention_forward", None if mask_mutated else c, _C.attention_forward, A["q"], A["k"], A["v"],
                A.get("mask"), A["o"], A["lse"], scale=scale, is_causal=causal, dropout_p=drop[0], seed=drop[1]):
        assert_inputs_untouched(c, ("o", "lse"))
        assert 0 <= drop[0] <= 1, f"attention_forward accepted dropout_p={drop[0]}"
        if attention_valid(c, scale):
            (o, lse), _ = attention_ref(A, scale, causal, drop)
            close(A["o"], o, dt, S)
            np.testing.assert_array_equal(np.isneginf(A["lse"]), np.isneginf(lse))
            close(np.where(np.isfinite(lse), A["lse"], 0), np.where(np.isfinite(lse), lse, 0), dt, S)


@strategy("attention_backward")
def test_fuzz_attention_backward(draw):
    G, H, Hkv, L, S, E, Ev, dt, scale, causal, specs = attention_draw(draw)
    drop = dropout_draw(draw)
    valid_drop = drop if 0 <= drop[0] <= 1 else (0.0, 0)
    rng = np.random.default_rng(G + H * 3 + L * 5 + S * 7)
    q, k, v = (rng.standard_normal(specs[n][0]).astype(dt) for n in ("q", "k", "v"))
    mask = None
    if "mask" in specs:
        spec = specs["mask"]
        mask = spec[2] if len(spec) > 2 else rng.standard_normal(spec[0]).astype(dt)
        specs["mask"] = (spec[0], spec[1], mask)
    s = scale if np.isfinite(scale) else 1.0
    o, lse = ref.attention.attention_forward(q, k, v, mask, s, causal, *valid_drop)
    specs.update({"q": (q.shape, dt, q), "k": (k.shape, dt, k), "v": (v.shape, dt, v), "o": (o.shape, dt, o),
                  "lse": (lse.shape, dt, lse), "dout": (o.shape, dt), "dq": (q.shape, dt), "dk": (k.shape, dt),
                  "dv": (v.shape, dt)})
    c = Case(draw, specs, outputs=("dq", "dk", "dv"))
    c.poison("dq", "dk", "dv")
    A = c.arrays
    mask_mutated = c.mutation is not None and c.mutation[0] == "mask"
    if run_case("attention_backward", None if mask_mutated else c, _C.attention_backward, A["q"], A["k"], A["v"],
                A.get("mask"), A["o"], A["lse"], A["dout"], A["dq"], A["dk"], A["dv"], scale=scale, is_causal=causal,
                dropout_p=drop[0], seed=drop[1]):
        assert_inputs_untouched(c, ("dq", "dk", "dv"))
        assert 0 <= drop[0] <= 1, f"attention_backward accepted dropout_p={drop[0]}"
        if attention_valid(c, scale):
            m = A.get("mask")
            want = ref.attention.attention_backward(f64(q), f64(k), f64(v), None if m is None else (
                m if m.dtype == np.bool_ else f64(m)), f64(o), f64(lse), f64(A["dout"]), scale, causal, *drop)
            for name, w in zip(("dq", "dk", "dv"), want):
                close(A[name], w, dt, L * S + 1, np.abs(w) + 1)


@fuzz("attention_workspace_size")
@FUZZ
@given(st.data())
def test_fuzz_attention_workspace_size(data):
    G, H, Hkv, L, S, E, Ev, dt, scale, causal, specs = attention_draw(data.draw)
    c = Case(data.draw, {n: specs[n] for n in ("q", "k", "v")})
    A = c.arrays
    result = []
    backward = data.draw(st.booleans())
    if run_case("attention_workspace_size", c, lambda *a, **kw: result.append(_C.attention_workspace_size(*a, **kw)),
                A["q"], A["k"], A["v"], backward=backward):
        assert isinstance(result[0], int) and result[0] > 0


# ---- the data pipeline's row gather --------------------------------------------------------------------------


@strategy("take_rows")
def test_fuzz_take_rows(draw):
    """Any rank and dtype of src, indices in and out of range (negative ones count from the end), every
    layout and dtype mutation: numpy's src[indices], or an allowed error, never a silent cast."""
    isa_and_threads(draw)
    dt = draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8]))
    rows = draw(st.integers(0, 9))
    shape = (rows,) + tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    n = draw(st.integers(0, 12))
    lo, hi = draw(st.sampled_from([(0, rows), (-rows, rows), (-rows - 2, rows + 2)]))
    idx = np.random.default_rng(rows * 13 + n).integers(lo, max(hi, lo + 1), n)
    c = Case(draw, {"src": (shape, dt), "indices": ((n,), np.int64, idx), "out": ((n,) + shape[1:], dt)},
             outputs=("out",))
    A = c.arrays
    if run_case("take_rows", c, _C.take_rows, A["src"], A["indices"], A["out"]):
        i = c.before["indices"]
        assert np.all((i >= -rows) & (i < rows))
        assert_inputs_untouched(c, ("out",))
        np.testing.assert_array_equal(A["out"], c.before["src"][i])


# ---- the full sum ------------------------------------------------------------------------------------------


@strategy("reduce_sum")
def test_fuzz_reduce_sum(draw):
    """Any rank and size (across the 2048-element blocks), special values, every layout and dtype
    mutation: the reference's bits (its fixed order), or an allowed error. float32 <-> float64 is no
    silent cast here: either is a valid input, summed in its own dtype."""
    isa_and_threads(draw)
    dt = draw(st.sampled_from([np.float32, np.float64]))
    shape = tuple(draw(st.lists(st.integers(0, 6), max_size=3))) + (draw(st.sampled_from([1, 7, 64, 2049, 5000])),)
    shape = shape[-draw(st.integers(1, len(shape))):] if draw(st.booleans()) else ()
    c = Case(draw, {"x": (shape, dt)})
    x = c.arrays["x"]
    other_float = c.mutation is not None and c.mutation[1] == "other_float"
    result = []
    if run_case("reduce_sum", None if other_float else c, lambda a: result.append(_C.reduce_sum(a)), x):
        assert x.flags.c_contiguous and x.dtype in (np.float32, np.float64)
        assert_inputs_untouched(c, ())
        want = ref.reduce.reduce_sum(x)
        got = np.asarray(result[0], dtype=x.dtype)
        assert got.tobytes() == want.tobytes() or (np.isnan(got) and np.isnan(want)), (got, want)
    else:
        assert not (x.flags.c_contiguous and x.flags.aligned and x.dtype in (np.float32, np.float64)
                    and x.dtype.isnative), f"reduce_sum refused a valid {x.dtype} {x.shape}"


# ---- coverage and the report -------------------------------------------------------------------------------


def public_entries():
    return sorted(n for n in dir(_C) if not n.startswith("_") and callable(getattr(_C, n)))


def test_every_entry_has_a_strategy():
    """A new kernel in _C (or a new Function) must come with a fuzz strategy here."""
    missing = [n for n in public_entries() if n not in FUZZED]
    assert not missing, (f"firstepoch._C entries without a fuzz strategy in tests/test_fuzz.py: {missing}; "
                         "add a @fuzz(name) test that draws shapes, dtypes, layouts, values and hyper-parameters")
    assert "<Function>" in FUZZED and len(_functions()) > 30


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    total = sum(v for k, v in CASES.items() if k != "<Function>" and not k.startswith("Function."))
    fn_total = CASES["<Function>"]
    lines = [f"fuzz: {total} kernel-entry cases over {len([k for k in CASES if k in FUZZED])} _C entries, "
             f"{fn_total} Function cases over {len([k for k in CASES if k.startswith('Function.')])} Functions"]
    print("\n" + lines[0])
    path = os.environ.get("FE_FUZZ_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump({"cases": dict(CASES), "outcomes": {f"{k[0]}:{k[1]}": v for k, v in OUTCOMES.items()},
                       "examples": EXAMPLES}, f, indent=1, sort_keys=True)


_ = functools  # (kept for strategies that wrap callables)
