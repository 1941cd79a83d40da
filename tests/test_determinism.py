"""Bitwise reproducibility: LeNet-5 trained 50 steps on the embedded MNIST with a fixed seed gives the
same losses and weights, bit for bit, on a second run and on 1 and 2 threads, at every ISA level this
CPU has; FIRSTEPOCH_ISA=<level> in a fresh interpreter gives the same bits as switching in process.

Across ISA levels nothing is promised bit for bit (a level may contract a*b+c into one FMA, or block
a long sum differently); what is promised is accuracy: every level's GEMM is within the rounding-error
bound of a K-term dot product of the float64 result, and every level trains. Training is chaotic, so
across levels only step 0's loss is compared numerically.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from conftest import ALL_ISAS, AVAILABLE_ISAS

STEPS = 50

TRAIN = r"""
import hashlib, json, sys
import numpy as np
import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.datasets import mnist, normalize
from firstepoch.models import LeNet5

def train(steps, threads=None, batch=32):
    if threads:
        fe.set_num_threads(threads)
    fe.manual_seed(0)
    x, y = mnist("train")
    x = normalize(x[:steps * batch], flatten=False)[:, None]
    y = y[:steps * batch]
    model = LeNet5()
    opt = fe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    losses = []
    for i in range(steps):
        xb, yb = fe.tensor(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch]
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    h = hashlib.sha256()
    for name, p in model.state_dict().items():
        h.update(name.encode())
        h.update(np.ascontiguousarray(p._data if hasattr(p, "_data") else p).tobytes())
    return {"losses": losses, "weights": h.hexdigest(), "isa": fe.cpu_info()["isa"],
            "threads": fe.get_num_threads()}
"""

namespace = {}
exec(TRAIN, namespace)
train = namespace["train"]


def train_in_subprocess(isa, threads):
    code = TRAIN + f"\nprint(json.dumps(train({STEPS}, threads={threads})))\n"
    env = dict(os.environ, FIRSTEPOCH_ISA=isa)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs():
    """Per available ISA level, switched in process: two runs on 1 thread and one on 2 threads."""
    before_threads, before_isa = fe.get_num_threads(), _C.get_isa()
    try:
        out = {}
        for isa in AVAILABLE_ISAS:
            _C.set_isa(isa)
            out[isa] = {"1a": train(STEPS, threads=1), "1b": train(STEPS, threads=1), "2": train(STEPS, threads=2)}
        return out
    finally:
        fe.set_num_threads(before_threads)
        _C.set_isa(before_isa)


def runs_at(runs, isa):
    if isa not in runs:
        pytest.skip(f"this CPU (or this build) lacks {isa}")
    return runs[isa]


@pytest.mark.parametrize("isa", ALL_ISAS)
def test_two_runs_are_bitwise_identical(runs, isa):
    r = runs_at(runs, isa)
    assert r["1a"]["isa"] == isa
    assert r["1a"]["losses"] == r["1b"]["losses"]
    assert r["1a"]["weights"] == r["1b"]["weights"]
    assert np.isfinite(r["1a"]["losses"]).all() and r["1a"]["losses"][-1] < 0.5 * r["1a"]["losses"][0]


@pytest.mark.parametrize("isa", ALL_ISAS)
def test_one_and_two_threads_are_bitwise_identical(runs, isa):
    r = runs_at(runs, isa)
    assert r["1a"]["threads"] == 1 and r["2"]["threads"] == 2
    assert r["1a"]["losses"] == r["2"]["losses"]
    assert r["1a"]["weights"] == r["2"]["weights"]


@pytest.mark.parametrize("isa", ALL_ISAS)
def test_env_override_reproduces_the_in_process_run(runs, isa):
    """FIRSTEPOCH_ISA in a fresh interpreter (on 2 threads) gives the bits of set_isa in process (1 thread)."""
    r = runs_at(runs, isa)
    sub = train_in_subprocess(isa, 2)
    assert sub["isa"] == isa and sub["threads"] == 2
    assert sub["losses"] == r["1a"]["losses"] and sub["weights"] == r["1a"]["weights"]


def test_isa_levels_agree_on_the_first_step(runs):
    """Step 0's loss (one forward pass through conv, pooling, linear and cross-entropy) agrees across
    levels to 1e-6 relative, ~8 float32 roundings; measured: 1e-7 between scalar and avx2/avx512."""
    first = {isa: r["1a"]["losses"][0] for isa, r in runs.items()}
    for isa, loss in first.items():
        np.testing.assert_allclose(loss, first["scalar"], rtol=1e-6, err_msg=isa)


def gemm_error_bound(a, b, k, eps):
    """|fl(A @ B) - A @ B| <= gamma_k * (|A| @ |B|) elementwise, gamma_k = k*u / (1 - k*u), u = eps/2:
    the textbook bound for a k-term dot product in any summation order, with or without FMA."""
    u = eps / 2
    gamma = k * u / (1 - k * u)
    return gamma * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))


@pytest.mark.parametrize("K", [1, 7, 512, 513, 1024, 1025, 3000])
def test_gemm_every_isa_is_accurate_and_reproducible(each_isa, threads, K):
    """Each level's float32 GEMM is within the rounding bound of the float64 product for K across and
    beyond any K cache block, and gives the same bits run to run and on 1 or 2 threads."""
    rng = np.random.default_rng(K)
    M, N = 70, 130  # several MR x NR tiles, so 2 threads split the work
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)  # float32 inputs: every product is exact in float64
    bound = gemm_error_bound(a, b, K, np.finfo(np.float32).eps) + gemm_error_bound(a, b, K, np.finfo(np.float64).eps)
    out = {}
    for run, n in (("1a", 1), ("1b", 1), ("2", 2)):
        fe.set_num_threads(n)
        out[run] = np.full((M, N), np.nan, np.float32)
        _C.gemm(a, b, out[run])
    err = np.abs(out["1a"].astype(np.float64) - exact)
    assert (err <= bound).all(), f"{each_isa}, K={K}: worst error / bound = {(err / bound).max():.3g}"
    assert np.array_equal(out["1a"], out["1b"]), f"{each_isa}, K={K}: two runs differ"
    assert np.array_equal(out["1a"], out["2"]), f"{each_isa}, K={K}: 1 and 2 threads differ"
