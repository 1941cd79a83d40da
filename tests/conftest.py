"""Shared test fixtures: a seeded RNG, every ISA level this machine has, one tolerance table, and the
PyTorch-parity switch: tests that call ``pytest.importorskip("torch")`` are marked ``torch_parity``
(``pytest -m torch_parity`` runs just them), and with ``FE_REQUIRE_TORCH=1`` a missing torch fails them
instead of skipping them (CI sets it, so that drift from PyTorch cannot hide behind a skip)."""
import inspect
import os
import re

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on a hub lookup in tests

import firstepoch  # noqa: E402
from firstepoch import _C  # noqa: E402

ALL_ISAS = ("scalar", "avx2", "avx512")  # every level the build has; FIRSTEPOCH_ISA takes these names
AVAILABLE_ISAS = list(_C.cpu_info()["available"])
REQUIRE_TORCH = os.environ.get("FE_REQUIRE_TORCH", "") not in ("", "0")
# tests/sanitize.sh sets FE_SANITIZE=1. GCC 12's AddressSanitizer runtime installs no fork handler (LLVM 18
# added one), so a forked child that goes on running Python can deadlock on an allocator lock another
# thread held at the fork: a CI run once hung for 40 minutes in the first DataLoader-worker test. Those
# tests and test_threads.py's in-process fork test (marked fork_child) run in every plain run; under
# the sanitizers they are skipped.
SANITIZE = os.environ.get("FE_SANITIZE", "") not in ("", "0")

# (rtol, atol) per dtype for a kernel result against the NumPy reference. For reductions over K
# terms, scale with tol_for(dtype, K).
TOLERANCE = {
    np.dtype(np.float32): (2e-5, 2e-5),
    np.dtype(np.float64): (1e-12, 1e-12),
}


def default_sigint():
    """A subprocess's preexec_fn for tests that send it SIGINT: Ctrl-C's default action, whatever this
    process inherited. A shell's background job (`cmd &` without job control) starts with SIGINT
    ignored, every descendant inherits that, and a Python started so never raises KeyboardInterrupt:
    the Ctrl-C tests would fail there for a reason that is not theirs."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tol_for(dtype, k=1):
    """(rtol, atol) for a result that sums k products in `dtype` (error grows about like sqrt(k))."""
    rtol, atol = TOLERANCE[np.dtype(dtype)]
    scale = max(1.0, float(np.sqrt(max(k, 1))))
    return rtol * scale, atol * scale


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Runs the test once per ISA level the machine has, restoring the level afterwards."""
    before = _C.get_isa()
    _C.set_isa(request.param)
    yield request.param
    _C.set_isa(before)


@pytest.fixture(params=ALL_ISAS)
def each_isa(request):
    """Runs the test once per ISA level the build knows: at each one this CPU has (restoring the level
    afterwards), skipped with the reason at each one it lacks."""
    if request.param not in AVAILABLE_ISAS:
        pytest.skip(f"this CPU (or this build) lacks {request.param}")
    before = _C.get_isa()
    _C.set_isa(request.param)
    yield request.param
    _C.set_isa(before)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    before = firstepoch.get_num_threads()
    yield
    firstepoch.set_num_threads(before)


@pytest.fixture
def one_thread():
    """Runs a test on one kernel thread (bitwise comparisons of training runs), then restores the count."""
    before = firstepoch.get_num_threads()
    firstepoch.set_num_threads(1)
    yield
    firstepoch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_train_val():
    """64 train / 32 val embedded digits and no test split (so fit() writes no PNG reports)."""
    from firstepoch.trainer import load_splits
    full = load_splits("mnist-embedded")
    return {"train": tuple(a[:64] for a in full["train"]), "val": tuple(a[:32] for a in full["val"])}


# --- PyTorch parity: find the tests, and make a missing torch loud where it is required -----------------

def _needs_torch(item):
    fn = getattr(item, "function", None)
    try:
        return fn is not None and 'importorskip("torch")' in inspect.getsource(fn)
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _needs_torch(item):
            item.add_marker(pytest.mark.torch_parity)
        if SANITIZE and item.get_closest_marker("fork_child") is not None:
            item.add_marker(pytest.mark.skip(reason="forks a child that runs Python: GCC 12's ASan runtime is not "
                                                    "fork-safe with other threads alive (FE_SANITIZE=1)"))


def pytest_report_header(config):
    if REQUIRE_TORCH:
        try:
            import torch
            return f"FE_REQUIRE_TORCH=1: parity tests run against torch {torch.__version__}"
        except ImportError as e:
            return f"FE_REQUIRE_TORCH=1 but torch does not import ({e}): every parity test will fail"
    return None


def skip_is_for_torch(reason):
    """True when a skip's reason names torch itself: "could not import 'torch'", "torch 2.13 ...". An
    optional companion package (torchinfo, torchvision) named in the reason is another package's skip."""
    return re.search(r"(?<![\w])torch(?![\w])", str(reason)) is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_TORCH and report.skipped and item.get_closest_marker("torch_parity") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not skip_is_for_torch(reason):  # a skip for another reason (an ISA the CPU lacks, torchinfo, ...) stays
            return
        report.outcome = "failed"
        report.longrepr = f"FE_REQUIRE_TORCH=1 and this PyTorch-parity test skipped: {reason}"


def run_lab_experiment(name, tmp_path, capsys, seed=0):
    """Runs lab entry `name` in tiny mode into tmp_path: its table is printed and its PNG written; returns
    what run() returned (the table, the PNG's path, the metrics)."""
    from firstepoch import lab
    out = lab.load(name).run(str(tmp_path), seed=seed, tiny=True)
    assert out["table"] in capsys.readouterr().out
    assert out["png"] == os.path.join(str(tmp_path), f"{name}.png")
    with open(out["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return out
