"""The malloc policy set at import (csrc/common/heap.h): freed buffers kept for the next step, so a training
step's activations are not page-faulted and zero-filled again each step. FIRSTEPOCH_MALLOC=system opts out."""
import os
import platform
import subprocess
import sys

import pytest

import firstepoch as fe

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
# glibc's malloc itself: not replaced by a preloaded one (the sanitizer run preloads ASan's, whose mallopt
# refuses the settings; the policy then reports "system (not glibc's malloc)")
GLIBC_MALLOC = GLIBC and not os.environ.get("LD_PRELOAD")

# A step's pattern: 50 buffers of 1 MiB (below NumPy's 4 MiB huge-page advice, so each fault is a 4 KiB
# page) live at once, then all freed; the page faults of rounds 2-6 are printed.
STEPS = r"""
import resource
import numpy as np
import firstepoch as fe
def step():
    live = [np.ones(1 << 18, dtype=np.float32) for _ in range(50)]
    del live
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(fe.cpu_info()["malloc"], resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _run(code, **env):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, **env))
    return r


def test_policy_is_reported():
    assert fe.cpu_info()["malloc"] in ("keep", "system", "system (not glibc's malloc)")
    if GLIBC_MALLOC and os.environ.get("FIRSTEPOCH_MALLOC", "").strip().lower() in ("", "keep"):
        assert fe.cpu_info()["malloc"] == "keep"


@pytest.mark.skipif(not GLIBC_MALLOC, reason="the policy sets glibc's malloc (a preloaded malloc replaces it)")
def test_freed_buffers_are_reused_not_faulted_in_again():
    keep = _run(STEPS, FIRSTEPOCH_MALLOC="keep")
    system = _run(STEPS, FIRSTEPOCH_MALLOC=" SYSTEM\n")  # any case, whitespace ignored
    assert keep.returncode == 0 and system.returncode == 0, keep.stderr + system.stderr
    kname, kfaults = keep.stdout.split()
    sname, sfaults = system.stdout.split()
    assert (kname, sname) == ("keep", "system")
    # 5 steps of 50 MiB: glibc alone returns the heap's top to the OS after each step (~12,800 faults a
    # step); kept, the buffers are reused
    assert int(sfaults) > 5 * 10000, system.stdout
    assert int(kfaults) < 2000, keep.stdout


def test_bad_policy_fails_the_import_naming_the_variable():
    r = _run("import firstepoch", FIRSTEPOCH_MALLOC="never")
    assert r.returncode == 1 and "ImportError: FIRSTEPOCH_MALLOC must be one of keep, system" in r.stderr
    assert "'never'" in r.stderr
    r = _run("import firstepoch as fe; print(fe.cpu_info()['malloc'])", FIRSTEPOCH_MALLOC="  ")
    assert r.returncode == 0 and r.stdout.strip() in ("keep", "system (not glibc's malloc)")


def test_release_free_memory_returns_a_bool():
    import numpy as np
    live = [np.ones(1 << 18, dtype=np.float32) for _ in range(20)]
    del live
    assert isinstance(fe.release_free_memory(), bool)


def test_bad_policy_is_one_line_exit_2_from_the_cli():
    r = subprocess.run([sys.executable, "-m", "firstepoch", "info"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, FIRSTEPOCH_MALLOC="never"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "FIRSTEPOCH_MALLOC" in r.stderr and "never" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "firstepoch", "info"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "\nmalloc: " in r.stdout, r.stderr


# NumPy's array data on 64-byte boundaries (csrc/bindings/numpy_memory.cpp), part of the keep policy
ALIGNED = fe.cpu_info()["numpy_alignment"] == 64


def test_numpy_alignment_is_reported():
    assert fe.cpu_info()["numpy_alignment"] in (64, None)
    if os.environ.get("FIRSTEPOCH_MALLOC", "").strip().lower() in ("", "keep"):
        assert ALIGNED  # every NumPy this project supports (>= 1.22) has the allocator API


@pytest.mark.skipif(not ALIGNED, reason="FIRSTEPOCH_MALLOC=system leaves NumPy's allocator as it was")
def test_numpy_arrays_made_after_the_import_start_on_64_byte_boundaries():
    import numpy as np
    from numpy.lib import NumpyVersion
    core = np._core if NumpyVersion(np.__version__) >= "2.0.0" else np.core
    assert core.multiarray.get_handler_name() == "firstepoch_aligned_64"
    sizes = list(range(0, 300)) + [4095, 4096, 4097, (1 << 20) + 3, (5 << 20) + 1]  # heap, mmap, huge pages
    for n in sizes:
        for make in (np.empty, np.zeros, np.ones):
            a = make(n, dtype=np.uint8)
            assert a.ctypes.data % 64 == 0, (make.__name__, n)
    assert not np.zeros(5 << 20, dtype=np.uint8).any() and np.ones(5 << 20, dtype=np.uint8).all()
    x = np.random.default_rng(0).standard_normal((3, 5, 7))
    for b in (x + 1, x.T.copy(), np.concatenate([x, x]), fe.tensor(x).exp().numpy(), np.arange(10.0)):
        assert b.ctypes.data % 64 == 0


@pytest.mark.skipif(not ALIGNED, reason="FIRSTEPOCH_MALLOC=system leaves NumPy's allocator as it was")
def test_resized_arrays_keep_their_values_and_alignment():
    import numpy as np
    for n0, n1 in [(100, 100_000), (100_000, 7), (1, 1 << 21), (1 << 21, 3 << 20), (1000, 1000), (17, 0), (0, 9)]:
        a = np.arange(n0, dtype=np.float64)
        a.resize(n1, refcheck=False)  # NumPy's realloc path
        m = min(n0, n1)
        assert a.ctypes.data % 64 == 0 and (a[:m] == np.arange(m)).all(), (n0, n1)
        if n1 > n0:
            assert (a[n0:] == 0).all()  # resize zero-fills what it adds


def test_arrays_from_before_the_import_and_other_threads_are_freed_by_their_own_allocator():
    # an array keeps the allocator that made it: NumPy's own for one made before the import (and for
    # one made in a thread started later, whose context has NumPy's), this one's after it
    code = r"""
import threading, gc
import numpy as np
before = [np.ones(n) for n in (3, 5000, 1 << 20)]
import firstepoch as fe
after = [np.ones(n) for n in (3, 5000, 1 << 20)]
made = []
t = threading.Thread(target=lambda: made.append(np.ones(1 << 19)))
t.start(); t.join()
freer = threading.Thread(target=lambda: after.clear())
freer.start(); freer.join()
del before, made
gc.collect()
print("ok", fe.cpu_info()["numpy_alignment"])
"""
    for policy in ("keep", "system"):
        r = _run(code, FIRSTEPOCH_MALLOC=policy)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["ok", "64" if policy == "keep" else "None"], r.stdout
