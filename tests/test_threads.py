"""Threading model: set/get_num_threads, threadpoolctl, the GIL released in kernels, fork safety,
and the FIRSTEPOCH_ISA override (checked in fresh interpreters)."""
import multiprocessing as mp
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import firstepoch
from firstepoch import _C


def big_product(n=384):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    _C.gemm(a, b, out)
    return a, b, out


def test_set_and_get_num_threads(threads):
    firstepoch.set_num_threads(1)
    assert firstepoch.get_num_threads() == 1
    firstepoch.set_num_threads(3)
    assert firstepoch.get_num_threads() == 3
    assert firstepoch.cpu_info()["threads"] == 3
    with pytest.raises(ValueError, match="n must be >= 1"):
        firstepoch.set_num_threads(0)


def test_threadpoolctl_sees_and_limits_our_pool(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    firstepoch.set_num_threads(2)
    big_product(64)
    ours = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "openmp"]
    assert ours, "threadpoolctl found no OpenMP runtime in this process"
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert firstepoch.get_num_threads() == 1
    assert firstepoch.get_num_threads() == 2


def test_gil_is_released_during_kernels(threads):
    firstepoch.set_num_threads(1)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1024, 1024)).astype(np.float64)
    out = np.empty_like(a)
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = counter[0]
        for _ in range(3):  # ~0.1 s of kernel time with the GIL (if it were held) blocking spin()
            _C.gemm(a, a, out, trans_b=True)
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 1000, f"the counter thread advanced only {during} times while the kernel ran"


def _child(queue):
    try:
        info = firstepoch.cpu_info()
        a, b, out = big_product()
        queue.put((info["forked_child"], info["threads"], float(np.abs(out - a @ b).max())))
    except BaseException as e:  # report, don't hang
        queue.put(repr(e))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_child_after_parent_used_openmp(threads):
    firstepoch.set_num_threads(2)
    big_product()  # the parent's OpenMP pool is now running
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_child, args=(queue,))
    p.start()
    p.join(timeout=60)
    if p.is_alive():
        p.kill()
        pytest.fail("a fork child hung calling a kernel after the parent used OpenMP")
    result = queue.get(timeout=5)
    assert p.exitcode == 0, result
    forked, nthreads, err = result
    assert forked is True and nthreads == 1
    assert err < 1e-3


def run_python(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


@pytest.mark.parametrize("isa", list(_C.cpu_info()["available"]))
def test_env_override_picks_isa(isa):
    r = run_python("import firstepoch; print(firstepoch.cpu_info()['isa'])", FIRSTEPOCH_ISA=isa)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == isa


def test_env_override_rejects_bad_values():
    r = run_python("import firstepoch", FIRSTEPOCH_ISA="sse9")
    assert r.returncode != 0 and "FIRSTEPOCH_ISA must be one of scalar, avx2, avx512" in r.stderr
    missing = [i for i in ("avx2", "avx512") if i not in _C.cpu_info()["available"]]
    for isa in missing:
        r = run_python("import firstepoch", FIRSTEPOCH_ISA=isa)
        assert r.returncode != 0 and "does not support it" in r.stderr
