"""Shared test fixtures: a seeded RNG, every ISA level this machine has, one tolerance table."""
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on a hub lookup in tests

import firstepoch  # noqa: E402
from firstepoch import _C  # noqa: E402

AVAILABLE_ISAS = list(_C.cpu_info()["available"])

# (rtol, atol) per dtype for a kernel result against the NumPy reference. For reductions over K
# terms, scale with tol_for(dtype, K).
TOLERANCE = {
    np.dtype(np.float32): (2e-5, 2e-5),
    np.dtype(np.float64): (1e-12, 1e-12),
}


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
