"""Threading model: set/get_num_threads, threadpoolctl, the GIL released in kernels, fork safety,
and the FIRSTEPOCH_ISA override (checked in fresh interpreters)."""
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import firstepoch
from firstepoch import _C
from conftest import ALL_ISAS


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


def os_threads():
    """Threads of this process (Linux)."""
    return len(os.listdir("/proc/self/task"))


def test_set_num_threads_is_process_wide(threads):
    """The count set in one thread holds in every thread: ones started later and ones already running."""
    firstepoch.set_num_threads(2)
    seen = {}
    started, changed = threading.Event(), threading.Event()

    def running_before():
        seen["before"] = firstepoch.get_num_threads()
        started.set()
        changed.wait(30)
        seen["after"] = firstepoch.get_num_threads()

    t = threading.Thread(target=running_before)
    t.start()
    started.wait(30)
    firstepoch.set_num_threads(1)
    changed.set()
    t.join()
    assert seen == {"before": 2, "after": 1}

    def started_later():
        seen["later"] = firstepoch.get_num_threads()
        seen["info"] = firstepoch.cpu_info()["threads"]
        if os.path.isdir("/proc/self/task"):  # a kernel on 2 threads would start this thread's own pool
            before = os_threads()
            big_product(256)
            seen["new_os_threads"] = os_threads() - before
        firstepoch.set_num_threads(3)  # and a count set here holds in the main thread

    t = threading.Thread(target=started_later)
    t.start()
    t.join()
    assert seen["later"] == 1 and seen["info"] == 1
    # no thread started (<= 0: an unrelated thread, say one of an earlier test, may end meanwhile)
    assert seen.get("new_os_threads", 0) <= 0
    assert firstepoch.get_num_threads() == 3


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


@pytest.mark.fork_child
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


FOREIGN_OPENMP = r"""
extern "C" double foreign_parallel_sum(int n) {  // another library's OpenMP region (same libgomp)
  double s = 0;
#pragma omp parallel for reduction(+ : s) num_threads(2)
  for (int i = 0; i < n; ++i) s += i;
  return s;
}
"""

FORK_AFTER = textwrap.dedent("""
    import ctypes, os, signal, sys, time
    import numpy as np
    import firstepoch
    from firstepoch import _C
    if sys.argv[1] != "-":
        lib = ctypes.CDLL(sys.argv[1])
        lib.foreign_parallel_sum.restype = ctypes.c_double
        assert lib.foreign_parallel_sum(1000) == 499500.0
    firstepoch.set_num_threads(2)
    pid = os.fork()
    if pid == 0:
        a = np.random.default_rng(0).standard_normal((384, 384)).astype(np.float32)
        out = np.empty_like(a)
        _C.gemm(a, a, out)
        ok = float(np.abs(out - a @ a).max()) < 1e-3
        info = firstepoch.cpu_info()
        print(info["forked_child"], info["threads"], ok, flush=True)
        os._exit(0)
    for _ in range(600):  # 60 s; a hung child is killed so that nothing outlives the test
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            sys.exit(os.waitstatus_to_exitcode(status))
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit("the fork child hung in a kernel")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_child_after_another_library_used_openmp(tmp_path):
    """Another library's OpenMP region started libgomp's pool (ours never ran): a fork child must still run
    kernels, on one thread, instead of waiting forever for pool threads that do not exist in it."""
    cxx = shutil.which("g++")
    if not cxx:
        pytest.skip("needs g++ to build a library that uses OpenMP")
    src, lib = tmp_path / "foreign.cpp", tmp_path / "libforeign.so"
    src.write_text(FOREIGN_OPENMP)
    build = subprocess.run([cxx, "-O1", "-fopenmp", "-shared", "-fPIC", str(src), "-o", str(lib)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"g++ -fopenmp failed: {build.stderr[-300:]}")
    r = run_python(FORK_AFTER, str(lib))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == ["True", "1", "True"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc (Linux)")
def test_fork_child_of_a_single_threaded_process_keeps_its_threads():
    """No thread but the one that forks: no OpenMP pool can exist, so the child keeps the thread count."""
    r = run_python(FORK_AFTER, "-", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == ["False", "2", "True"]


def run_python(code, *args, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=full,
                          timeout=120)


ADAPTIVE = textwrap.dedent("""
    import numpy as np
    import firstepoch
    from firstepoch import _C
    a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
    out, ref = np.empty_like(a), np.empty_like(a)
    before = firstepoch.cpu_info()["adaptive_threads"]
    n = firstepoch.get_num_threads()
    assert _C._kernel_threads() in (1, n)  # all threads, or one while one is faster
    for _ in range(50):
        _C.gemm(a, a, out)
    firstepoch.set_num_threads(1)
    _C.gemm(a, a, ref)
    assert np.array_equal(out, ref)  # the adaptive count never changes a result
    firstepoch.set_num_threads(2)
    print(before, n, firstepoch.cpu_info()["adaptive_threads"], _C._kernel_threads())
""")


def test_adaptive_default_until_a_count_is_chosen():
    """The default adapts (all threads, or one while other processes make one faster); a count chosen by
    set_num_threads or OMP_NUM_THREADS is used as given."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", ADAPTIVE], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert r.stdout.split() == ["True", str(cores), "False", "2"]
    r = run_python(ADAPTIVE, OMP_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "3", "False", "2"]


@pytest.mark.parametrize("isa", ALL_ISAS)
def test_env_override_picks_each_isa_or_says_the_cpu_lacks_it(isa):
    """Every level is checked on every machine: one this CPU has is picked, one it lacks is refused by
    name (so neither branch depends on which CPU runs the suite)."""
    r = run_python("import firstepoch; print(firstepoch.cpu_info()['isa'])", FIRSTEPOCH_ISA=isa)
    if isa in _C.cpu_info()["available"]:
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == isa
    else:
        assert r.returncode != 0 and "does not support it" in r.stderr, r.stderr


def test_env_override_rejects_bad_values():
    r = run_python("import firstepoch", FIRSTEPOCH_ISA="sse9")
    assert r.returncode != 0 and "FIRSTEPOCH_ISA must be one of scalar, avx2, avx512" in r.stderr
