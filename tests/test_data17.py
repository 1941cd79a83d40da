"""Issue 17, data: Subset/ConcatDataset/ChainDataset/IterableDataset, WeightedRandomSampler,
SubsetRandomSampler, and DataLoader(num_workers=N) with real worker processes."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import (ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset, Subset,
                             SubsetRandomSampler, TensorDataset, WeightedRandomSampler, get_worker_info)

from conftest import default_sigint



class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.float32(i * i), i


class Range(IterableDataset):
    """start..stop, split between workers as torch's docs do it."""

    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __len__(self):
        return self.stop - self.start

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.start, self.stop))
        return iter(range(self.start + info.id, self.stop, info.num_workers))


def _alive(pid):
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


# ---- datasets ----

def test_concat_dataset_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    a, b = Squares(3), Squares(5)
    ours, theirs = ConcatDataset([a, b]), td.ConcatDataset([a, b])
    assert ours.cumulative_sizes == theirs.cumulative_sizes == [3, 8]
    assert len(ours) == len(theirs) == 8
    for i in range(-8, 8):
        assert ours[i] == theirs[i]
    with pytest.raises(ValueError):
        theirs[-9]
    with pytest.raises(ValueError):
        ours[-9]
    with pytest.raises(IndexError):
        ours[8]
    with pytest.raises(AssertionError):
        td.ConcatDataset([])
    with pytest.raises(AssertionError):
        ConcatDataset([])
    with pytest.raises(AssertionError):
        ConcatDataset([a, Range(0, 3)])
    assert [x for x in (a + b)] == [x for x in (td.Dataset.__add__(a, b))][:0] + [ours[i] for i in range(8)]
    assert isinstance(a + b, ConcatDataset)
    # a Subset of a ConcatDataset, through the loader's slow path
    sub = Subset(ours, [7, 0, 4])
    x, y = next(iter(DataLoader(sub, batch_size=3)))
    tx, ty = next(iter(td.DataLoader(td.Subset(theirs, [7, 0, 4]), batch_size=3)))
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


@pytest.mark.fork_child
def test_chain_and_iterable_dataset_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    class TRange(td.IterableDataset):
        def __init__(self, start, stop):
            self.start, self.stop = start, stop

        def __len__(self):
            return self.stop - self.start

        def __iter__(self):
            info = td.get_worker_info()
            if info is None:
                return iter(range(self.start, self.stop))
            return iter(range(self.start + info.id, self.stop, info.num_workers))

    chain = Range(0, 4) + Range(10, 13)
    assert isinstance(chain, ChainDataset) and len(chain) == 7
    assert list(chain) == list(td.ChainDataset([TRange(0, 4), TRange(10, 13)])) == [0, 1, 2, 3, 10, 11, 12]
    with pytest.raises(AssertionError):
        list(ChainDataset([Range(0, 2), Squares(2)]))
    for kw in ({"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": 3, "num_workers": 2}):
        ours = [b.numpy().tolist() for b in DataLoader(Range(0, 11), **kw)]
        theirs = [b.tolist() for b in td.DataLoader(TRange(0, 11), **kw)]
        assert ours == theirs, kw
        assert len(DataLoader(Range(0, 11), **kw)) == len(td.DataLoader(TRange(0, 11), **kw))
    with pytest.raises(ValueError):
        DataLoader(Range(0, 3), shuffle=True)
    with pytest.raises(ValueError):
        td.DataLoader(TRange(0, 3), shuffle=True)


# ---- samplers ----

def test_weighted_random_sampler():
    w = np.array([0.1, 0.0, 0.6, 0.3])
    s = WeightedRandomSampler(w, 20000, generator=fe.Generator().manual_seed(0))
    idx = np.array(list(s))
    assert len(s) == len(idx) == 20000 and idx.dtype.kind == "i"
    np.testing.assert_allclose(np.bincount(idx, minlength=4) / len(idx), w, atol=0.015)
    # same generator seed, same draws; a second epoch draws anew
    s2 = WeightedRandomSampler(w, 20000, generator=fe.Generator().manual_seed(0))
    np.testing.assert_array_equal(list(s2), idx)
    assert list(s2) != idx.tolist()
    no = WeightedRandomSampler([1.0, 2.0, 3.0, 0.0], 3, replacement=False, generator=1)
    assert sorted(no) == [0, 1, 2]
    assert list(WeightedRandomSampler([1.0, 0.0], 2, replacement=False)) == [0, 1]  # zero weights come last
    with pytest.raises(RuntimeError):
        list(WeightedRandomSampler([1.0, 0.0], 3, replacement=False))
    with pytest.raises(RuntimeError):
        list(WeightedRandomSampler([1.0, -1.0], 2))


def test_weighted_random_sampler_errors_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    for args, kw in (((w := [1.0, 2.0], 0), {}), ((w, 2.5), {}), ((w, True), {}), ((w, 2), {"replacement": 1}),
                     (([[1.0, 2.0]], 2), {})):
        with pytest.raises(ValueError):
            td.WeightedRandomSampler(*args, **kw)
        with pytest.raises(ValueError):
            WeightedRandomSampler(*args, **kw)
    for w, n, rep in (([1.0, 0.0], 3, False), ([1.0, -1.0], 2, True), ([0.0, 0.0], 2, True)):
        with pytest.raises(RuntimeError) as theirs:
            list(td.WeightedRandomSampler(w, n, replacement=rep))
        with pytest.raises(RuntimeError) as ours:
            list(WeightedRandomSampler(w, n, replacement=rep))
        assert str(ours.value) == str(theirs.value)
    # without replacement: the frequencies of the first draw follow the weights, as torch.multinomial
    s = WeightedRandomSampler([1.0, 3.0, 0.0, 4.0], 2, replacement=False, generator=3)
    first = np.bincount([next(iter(s)) for _ in range(4000)], minlength=4) / 4000
    np.testing.assert_allclose(first, [0.125, 0.375, 0, 0.5], atol=0.03)


def test_subset_random_sampler():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    ind = [7, 3, 9, 1, 4]
    s = SubsetRandomSampler(ind, generator=5)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == sorted(list(td.SubsetRandomSampler(ind))) and e1 != e2
    assert len(s) == len(td.SubsetRandomSampler(ind)) == 5
    assert list(SubsetRandomSampler(ind, generator=5)) == e1
    loader = DataLoader(Squares(10), batch_size=5, sampler=SubsetRandomSampler(ind, generator=5))
    (x, y), = list(loader)
    assert y.numpy().tolist() == e1


# ---- DataLoader arguments ----

@pytest.mark.fork_child
def test_loader_arguments_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    ds = Squares(10)
    for kw in ({"num_workers": -1}, {"prefetch_factor": 2}, {"persistent_workers": True}, {"timeout": -1}):
        with pytest.raises(ValueError):
            td.DataLoader(ds, **kw)
        with pytest.raises(ValueError):
            DataLoader(ds, **kw)
    # pin_memory and drop_last are accepted; pinning is a no-op on CPU
    ours = [(x.numpy().tolist(), y.numpy().tolist())
            for x, y in DataLoader(ds, batch_size=4, drop_last=True, pin_memory=True)]
    theirs = [(x.tolist(), y.tolist()) for x, y in td.DataLoader(ds, batch_size=4, drop_last=True)]
    assert ours == theirs and len(ours) == 2
    col = lambda samples: (np.array([s[1] for s in samples]) * 10,)  # noqa: E731
    (a,), (b,) = DataLoader(ds, batch_size=5, collate_fn=col, num_workers=2)
    assert a.numpy().tolist() == [0, 10, 20, 30, 40] and b.numpy().tolist() == [50, 60, 70, 80, 90]


# ---- workers ----

class Seeds(Dataset):
    """Sample i: (i, the worker id, the worker's seed, one draw from firstepoch's global generator)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        wid, seed = (-1, -1) if info is None else (info.id, info.seed)
        return i, wid, seed % (1 << 62), fe.random.generator().random()


@pytest.mark.fork_child
def test_workers_give_the_same_batches_as_no_workers_and_are_seeded_as_torch():
    ds = TensorDataset(np.arange(60, dtype=np.float32).reshape(30, 2), np.arange(30))
    runs = {}
    for nw in (0, 2):
        loader = DataLoader(ds, batch_size=4, shuffle=True, generator=fe.Generator().manual_seed(7), num_workers=nw)
        runs[nw] = [[(x.numpy().tolist(), y.numpy().tolist()) for x, y in loader] for _ in range(2)]
    assert runs[0] == runs[2] and runs[0][0] != runs[0][1]
    assert sorted(i for x, y in runs[2][0] for i in y) == list(range(30))

    def seeds(gen_seed, nw=3):
        loader = DataLoader(Seeds(), batch_size=2, num_workers=nw, generator=fe.Generator().manual_seed(gen_seed))
        return [tuple(t.numpy().tolist() for t in b) for b in loader]

    a, b, c = seeds(1), seeds(1), seeds(2)
    assert a == b and a != c  # the generator decides base_seed (and so every worker's draws)
    ids = [wid for _, w, _, _ in a for wid in w]
    assert ids == [0, 0, 1, 1, 2, 2] * 2  # batch k from worker k mod N, in order
    per_worker = {w: s for _, ws, ss, _ in a for w, s in zip(ws, ss)}
    assert per_worker[1] - per_worker[0] == 1 and per_worker[2] - per_worker[0] == 2  # base_seed + worker_id
    draws = [d for *_, ds_ in a for d in ds_]
    assert len(set(draws)) == len(draws)  # each worker draws its own stream


@pytest.mark.fork_child
def test_workers_seeded_like_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    class TSeeds(td.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = td.get_worker_info()
            return info.id, info.seed, torch.initial_seed(), info.num_workers

    rows = [tuple(t.tolist() for t in b) for b in td.DataLoader(TSeeds(), batch_size=1, num_workers=2)]
    assert [r[0][0] for r in rows] == [0, 1] * 3
    seeds = {r[0][0]: r[1][0] for r in rows}
    assert seeds[1] - seeds[0] == 1 and all(r[1][0] == r[2][0] for r in rows)  # torch: seed = base + id

    class Ours(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = get_worker_info()
            return info.id, info.seed % (1 << 62), info.num_workers

    rows = [tuple(t.numpy().tolist() for t in b) for b in DataLoader(Ours(), batch_size=1, num_workers=2)]
    assert [r[0][0] for r in rows] == [0, 1] * 3 and all(r[2][0] == 2 for r in rows)
    assert {r[0][0]: r[1][0] for r in rows}[1] - {r[0][0]: r[1][0] for r in rows}[0] == 1


def _record_init(worker_id):
    info = get_worker_info()
    info.dataset.tag = f"init{worker_id}of{info.num_workers}"


class Tagged(Dataset):
    tag = "none"

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return np.array([ord(c) for c in self.tag.ljust(10)]), os.getpid()


@pytest.mark.fork_child
def test_worker_init_fn_persistent_workers_and_prefetch():
    loader = DataLoader(Tagged(), batch_size=1, num_workers=2, worker_init_fn=_record_init,
                        persistent_workers=True, prefetch_factor=1)
    e1 = [("".join(map(chr, t.numpy()[0])).strip(), int(p.numpy()[0])) for t, p in loader]
    e2 = [("".join(map(chr, t.numpy()[0])).strip(), int(p.numpy()[0])) for t, p in loader]
    assert [t for t, _ in e1] == ["init0of2", "init1of2"] * 2
    assert e1 == e2  # the same worker processes (and dataset copies) serve the second epoch
    assert Tagged.tag == "none"  # the workers' copies, not the parent's dataset
    pids = {p for _, p in e1}
    assert len(pids) == 2 and os.getpid() not in pids
    # a half-read epoch of persistent workers, then a full one: the full one is complete and in order
    it = iter(loader)
    next(it)
    assert [int(p.numpy()[0]) for _, p in loader] == [p for _, p in e1]
    it._shutdown()
    assert not _wait_gone(pids)


class Kernels(Dataset):
    """__getitem__ runs firstepoch kernels (a GEMM and a conv)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        a = fe.Tensor(np.full((64, 64), i, np.float32))
        x = fe.Tensor(np.ones((1, 1, 12, 12), np.float32))
        w = fe.Tensor(np.ones((2, 1, 3, 3), np.float32))
        return (a @ a).sum().numpy(), fe.nn.functional.conv2d(x, w).sum().numpy()


@pytest.mark.fork_child
def test_worker_kernels_after_parent_ran_openmp_kernels():
    fe.set_num_threads(max(2, os.cpu_count() or 2))
    try:
        big = fe.Tensor(np.ones((384, 384), np.float32))
        for _ in range(3):
            (big @ big).sum()  # the parent's OpenMP pool is up when the workers fork
        x = fe.Tensor(np.ones((4, 3, 32, 32), np.float32))
        fe.nn.functional.conv2d(x, fe.Tensor(np.ones((8, 3, 3, 3), np.float32)))
        got = [(g.numpy(), c.numpy()) for g, c in DataLoader(Kernels(), batch_size=4, num_workers=2, timeout=60)]
    finally:
        fe.set_num_threads(1)
    want = [(g.numpy(), c.numpy()) for g, c in DataLoader(Kernels(), batch_size=4)]
    for (g1, c1), (g2, c2) in zip(got, want):
        np.testing.assert_allclose(g1, g2, rtol=1e-6)
        np.testing.assert_allclose(c1, c2, rtol=1e-6)


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            time.sleep(3)
        return np.float32(i)


@pytest.mark.fork_child
def test_timeout_raises_and_stops_the_workers():
    it = iter(DataLoader(Slow(), batch_size=1, num_workers=2, timeout=0.5))
    pids = it.worker_pids
    assert next(it).item() == 0.0 and next(it).item() == 1.0
    t = time.time()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        next(it)
    assert time.time() - t < 2.5
    assert not _wait_gone(pids)


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise_from_dataset(i)
        return np.float32(i)


def raise_from_dataset(i):
    raise ValueError(f"bad sample {i}")


@pytest.mark.fork_child
def test_worker_exception_reraised_with_traceback():
    it = iter(DataLoader(Failing(), batch_size=2, num_workers=2))
    pids = it.worker_pids
    assert next(it).numpy().tolist() == [0.0, 1.0]
    with pytest.raises(ValueError) as err:
        next(it)
    msg = str(err.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "raise_from_dataset" in msg and "bad sample 3" in msg and "Traceback" in msg
    assert not _wait_gone(pids)

    class KeyFail(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {}["missing"]

    with pytest.raises(KeyError, match="missing"):
        list(DataLoader(KeyFail(), num_workers=1))


def _first_line_of_worker_error(loader_class):
    try:
        list(loader_class(Failing(), batch_size=2, num_workers=2))
    except ValueError as e:
        return str(e).splitlines()[:2]  # a string: no traceback (and no iterator) outlives this call
    return None


def test_worker_exception_matches_torch_message():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    theirs = _first_line_of_worker_error(td.DataLoader)
    assert theirs == ["Caught ValueError in DataLoader worker process 1.", "Original Traceback (most recent call last):"]
    assert _first_line_of_worker_error(DataLoader) == theirs


@pytest.mark.fork_child
def test_workers_stop_when_the_iterator_is_deleted():
    it = iter(DataLoader(Squares(100), batch_size=2, num_workers=2))
    next(it)
    pids = it.worker_pids
    assert all(_alive(p) for p in pids)
    del it
    assert not _wait_gone(pids)


@pytest.mark.fork_child
def test_workers_stop_on_keyboard_interrupt():
    script = textwrap.dedent("""
        import sys, time
        import numpy as np
        from firstepoch.data import DataLoader, Dataset

        class Slow(Dataset):
            def __len__(self):
                return 1000
            def __getitem__(self, i):
                time.sleep(0.2)
                return np.float32(i)

        it = iter(DataLoader(Slow(), batch_size=1, num_workers=2))
        next(it)
        print(" ".join(map(str, it.worker_pids)), flush=True)
        try:
            for _ in it:
                pass
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
    """)
    # The child imports the firstepoch this test imported: the installed wheel in CI, the
    # source tree in an editable install (the source tree alone has no compiled _C).
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fe.__file__)))
    env = dict(os.environ, PYTHONPATH=package_parent)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True, preexec_fn=default_sigint)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2, proc.stderr.read()
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group, as a terminal sends it
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "interrupted" in out and "KeyboardInterrupt" in err
    assert proc.returncode != 0
    assert not _wait_gone(pids), "orphaned DataLoader workers"


@pytest.mark.fork_child
def test_iterable_dataset_with_workers_and_persistent_epochs():
    loader = DataLoader(Range(0, 10), batch_size=3, num_workers=2, persistent_workers=True)
    e1 = [b.numpy().tolist() for b in loader]
    e2 = [b.numpy().tolist() for b in loader]
    assert e1 == e2 == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    pids = loader._iterator.worker_pids
    loader._iterator._shutdown()
    assert not _wait_gone(pids)
