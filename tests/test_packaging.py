"""The installed package as a user gets it: `firstepoch --version`, one source of the version, and the
OpenMP runtime. The wheel bundles its own libgomp (auditwheel renames it libgomp-<hash>); these tests
check that its threads still run and give bitwise the same results, and that it lives with PyTorch's
libgomp in one process whichever of the two is imported first. Each case runs in a fresh interpreter,
since which runtime a symbol binds to is settled at import."""
import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

import firstepoch
from firstepoch import cli


def test_version_flag_prints_the_version_and_build(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"firstepoch {firstepoch.__version__} ")
    info = firstepoch.cpu_info()
    assert f"isa {info['isa']}" in out and f"Python {sys.version_info[0]}.{sys.version_info[1]}" in out


def test_version_flag_from_the_command_line():
    r = subprocess.run([sys.executable, "-m", "firstepoch", "--version"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == ["firstepoch", firstepoch.__version__]


def test_version_has_one_source():
    """pyproject.toml's version reaches both the installed metadata and _C (scikit-build-core passes it to
    CMake): __version__ is _C's, so the two agree whenever the metadata is this package's."""
    assert firstepoch.__version__ == firstepoch._C.__version__ != "0.0.0"
    try:
        dist = importlib.metadata.distribution("firstepoch")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("firstepoch is imported from a tree without installed metadata")
    assert dist.version == firstepoch.__version__


# Per-thread CPU time from /proc (ns from schedstat where the kernel has it, else clock ticks from stat),
# so a test can see that a kernel's work really ran on a second thread.
PROBE = textwrap.dedent("""
    import os, sys, time
    import numpy as np

    def cpu_by_thread():
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    out[int(tid)] = int(f.read().split()[0])
            except OSError:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[int(tid)] = (int(fields[11]) + int(fields[12])) * 10_000_000
        return out

    def firstepoch_uses_two_threads():
        import firstepoch
        from firstepoch import _C
        a = np.random.default_rng(0).standard_normal((384, 384)).astype(np.float32)
        ref, out = np.empty_like(a), np.empty_like(a)
        firstepoch.set_num_threads(1)
        _C.gemm(a, a, ref)
        firstepoch.set_num_threads(2)
        _C.gemm(a, a, out)  # starts the pool
        time.sleep(0.3)     # let spinning pool threads (ours or torch's) go idle
        before, main = cpu_by_thread(), os.getpid()
        for _ in range(40):
            _C.gemm(a, a, out)
            assert np.array_equal(out, ref), "2 threads changed the result"
        after = cpu_by_thread()
        helpers = [t for t in after if t != main and after[t] - before.get(t, 0) > 0]
        assert helpers, "set_num_threads(2): no thread but the main one did any work"
        assert firstepoch.get_num_threads() == 2

    def torch_runs():
        import torch
        torch.set_num_threads(2)
        x = torch.randn(256, 256, generator=torch.Generator().manual_seed(0))
        y = torch.nn.functional.conv2d(x.view(1, 1, 256, 256), torch.ones(4, 1, 3, 3)).sum()
        assert torch.allclose(x @ x.T, torch.from_numpy(x.numpy() @ x.numpy().T), rtol=1e-4, atol=1e-3)
        assert torch.isfinite(y)
""")


def run_probe(body):
    r = subprocess.run([sys.executable, "-c", PROBE + textwrap.dedent(body)], capture_output=True, text=True,
                       timeout=300, env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"})
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts per-thread CPU time through /proc")
def test_openmp_threads_run_and_agree_bitwise():
    """The bundled runtime (or the system's, in a source build) runs a second thread, bitwise equal to one."""
    if not firstepoch.cpu_info()["openmp"]:
        pytest.skip("this build has no OpenMP")
    run_probe("firstepoch_uses_two_threads()\n")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts per-thread CPU time through /proc")
@pytest.mark.parametrize("order", ["torch_first", "firstepoch_first"])
def test_openmp_runtime_lives_with_torchs(order):
    """torch bundles its own libgomp.so.1 (loaded RTLD_GLOBAL); ours is libgomp-<hash>. Either import
    order: both libraries compute correctly, ours on two threads, then both again."""
    pytest.importorskip("torch")
    if not firstepoch.cpu_info()["openmp"]:
        pytest.skip("this build has no OpenMP")
    first, second = ("torch_runs()", "firstepoch_uses_two_threads()")
    if order == "firstepoch_first":
        first, second = second, first
    run_probe(f"{first}\n{second}\n{first}\n{second}\n")
