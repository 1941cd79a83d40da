"""firstepoch.data: TensorDataset, DataLoader (batching, shuffle determinism, drop_last, the fast path),
samplers, generic collation, random_split."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import (BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SeededShuffle,
                             SequentialSampler, Subset, TensorDataset, default_collate, random_split)


def _ds(n=10):
    return TensorDataset(np.arange(n, dtype=np.float32).reshape(n, 1) * 10, np.arange(n))


def _labels(loader):
    return [b[1]._data.tolist() for b in loader]


# ---- TensorDataset -------------------------------------------------------------------------------------

def test_tensor_dataset_over_arrays_and_tensors():
    x = fe.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    ds = TensorDataset(x, np.arange(4))
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.shape == (3,) and yi == 2
    xb, yb = ds.batch(np.array([3, 1]))
    assert xb.shape == (2, 3) and yb.tolist() == [3, 1]


def test_tensor_dataset_rejects_bad_arrays():
    with pytest.raises(ValueError, match=r"array 1 has 3 rows \(shape \(3,\)\), array 0 has 10"):
        TensorDataset(np.zeros((10, 2)), np.arange(3))
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(1))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


# ---- DataLoader ----------------------------------------------------------------------------------------

def test_batches_in_order_with_a_partial_last_batch():
    batches = list(DataLoader(_ds(), batch_size=4))
    assert [b[1]._data.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    xb, yb = batches[-1]
    assert isinstance(xb, fe.Tensor) and isinstance(yb, fe.Tensor)
    assert xb.dtype == np.float32 and xb.shape == (2, 1) and xb._data[:, 0].tolist() == [80.0, 90.0]
    assert yb.dtype == np.int64 and not xb.requires_grad
    assert len(DataLoader(_ds(), batch_size=4)) == 3


def test_drop_last():
    loader = DataLoader(_ds(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    shuffled = DataLoader(_ds(), batch_size=3, drop_last=True, shuffle=True, generator=0)
    got = _labels(shuffled)
    assert len(got) == len(shuffled) == 3 and all(len(b) == 3 for b in got)
    assert len(set(sum(got, []))) == 9  # nine distinct samples, the leftover one dropped
    assert _labels(DataLoader(_ds(3), batch_size=4, drop_last=True)) == []


def test_shuffle_is_a_seeded_permutation_and_new_each_epoch():
    a = DataLoader(_ds(), batch_size=3, shuffle=True, generator=7)
    b = DataLoader(_ds(), batch_size=3, shuffle=True, generator=np.random.default_rng(7))
    epoch1, epoch2 = _labels(a), _labels(a)
    assert epoch1 == _labels(b) and epoch2 == _labels(b)  # an int seed and a Generator agree
    assert sorted(sum(epoch1, [])) == list(range(10)) and sum(epoch1, []) != list(range(10))
    assert epoch1 != epoch2
    assert [len(x) for x in epoch1] == [3, 3, 3, 1]
    # x and y stay paired through the shuffle
    for xb, yb in DataLoader(_ds(), batch_size=4, shuffle=True, generator=1):
        assert np.array_equal(xb._data[:, 0], yb._data * 10.0)


def test_default_shuffle_follows_manual_seed():
    loader = DataLoader(_ds(50), batch_size=8, shuffle=True)
    fe.manual_seed(123)
    first = _labels(loader)
    fe.manual_seed(123)
    assert _labels(loader) == first
    fe.manual_seed(124)
    assert _labels(loader) != first


def test_tensor_dataset_is_batched_without_a_per_sample_loop():
    class NoItems(TensorDataset):
        def __getitem__(self, i):
            raise AssertionError("the fast path must not read samples one at a time")

    ds = NoItems(np.arange(20, dtype=np.float64).reshape(10, 2), np.arange(10))
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, generator=0))
    assert [len(b[1]) for b in batches] == [4, 4, 2] and batches[0][0].dtype == np.float64
    sub = Subset(ds, [9, 8, 7])
    (xb, yb), = DataLoader(sub, batch_size=3)
    assert yb._data.tolist() == [9, 8, 7]


def test_transform_applies_to_the_inputs():
    loader = DataLoader(_ds(), batch_size=5, transform=lambda x: x + 1)
    xb, yb = next(iter(loader))
    assert xb._data[:, 0].tolist() == [1.0, 11.0, 21.0, 31.0, 41.0] and yb._data.tolist() == [0, 1, 2, 3, 4]


def test_dataloader_rejects_bad_arguments():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            DataLoader(_ds(), batch_size=bad)
    with pytest.raises(TypeError, match="generator must be"):
        DataLoader(_ds(), shuffle=True, generator="seed")
    with pytest.raises(ValueError, match="either sampler or shuffle"):
        DataLoader(_ds(), shuffle=True, sampler=SequentialSampler(_ds()))
    with pytest.raises(ValueError, match="batch_sampler is exclusive"):
        DataLoader(_ds(), batch_size=4, batch_sampler=[[0, 1]])


# ---- generic datasets and collation --------------------------------------------------------------------

class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i * i


def test_generic_dataset_collates_per_sample():
    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[1]._data.tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    assert batches[1][0].shape == (2, 2) and batches[1][0].dtype == np.float32
    assert batches[1][1].dtype == np.int64


def test_collate_structures_and_errors():
    out = default_collate([{"x": np.zeros(3), "y": 1}, {"x": np.ones(3), "y": 2}])
    assert out["x"].shape == (2, 3) and out["y"].tolist() == [1, 2]
    assert default_collate([np.zeros(2), np.ones(2)]).shape == (2, 2)
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([(np.zeros(2),), (np.zeros(3),)])
    with pytest.raises(ValueError, match="different numbers of fields"):
        default_collate([(1, 2), (1,)])
    custom = DataLoader(Squares(), batch_size=5, collate_fn=lambda s: np.array([v for _, v in s]))
    assert next(iter(custom)).data.tolist() == [0, 1, 4, 9, 16]


def test_dataset_base_class_says_what_is_missing():
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


# ---- samplers ------------------------------------------------------------------------------------------

def test_samplers():
    ds = _ds()
    assert list(SequentialSampler(ds)) == list(range(10))
    r = RandomSampler(ds, generator=3)
    assert sorted(r.indices().tolist()) == list(range(10))
    draws = RandomSampler(ds, replacement=True, num_samples=25, generator=0).indices()
    assert len(draws) == 25 and draws.min() >= 0 and draws.max() < 10
    assert len(RandomSampler(ds, num_samples=5).indices()) == 5  # without replacement too, as torch
    bs = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(bs) == 3
    # an explicit sampler or batch sampler drives the loader
    backwards = DataLoader(ds, batch_size=5, sampler=np.arange(9, -1, -1).tolist())
    assert _labels(backwards) == [[9, 8, 7, 6, 5], [4, 3, 2, 1, 0]]
    pairs = DataLoader(ds, batch_sampler=[[0, 9], [5]])
    assert _labels(pairs) == [[0, 9], [5]] and len(pairs) == 2


# ---- random_split --------------------------------------------------------------------------------------

def test_random_split_lengths_cover_without_overlap():
    ds = _ds(10)
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices.tolist() + b.indices.tolist()) == list(range(10))
    x, y = a[0]
    assert y == a.indices[0] and x[0] == 10.0 * y  # items come from the parent dataset
    c, d = random_split(ds, [7, 3], generator=0)
    e, f = random_split(ds, [7, 3], generator=0)
    assert c.indices.tolist() == e.indices.tolist() and d.indices.tolist() == f.indices.tolist()


def test_random_split_fractions_round_like_pytorch():
    parts = random_split(_ds(10), [0.33, 0.33, 0.34], generator=0)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert [len(p) for p in random_split(_ds(10), [0.5, 0.5], generator=0)] == [5, 5]
    assert [len(p) for p in random_split(_ds(10), [1.0, 0.0], generator=0)] == [10, 0]


def test_random_split_default_generator_and_errors():
    ds = _ds(20)
    fe.manual_seed(5)
    first = random_split(ds, [10, 10])[0].indices.tolist()
    fe.manual_seed(5)
    assert random_split(ds, [10, 10])[0].indices.tolist() == first
    with pytest.raises(ValueError, match="sum to 21, the dataset has 20"):
        random_split(ds, [11, 10])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [-1, 21])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(TypeError, match="all ints or all fractions"):
        random_split(ds, [10, 0.5])
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 20\)"):
        Subset(ds, [0, 20])


def test_loader_over_embedded_mnist():
    from firstepoch.datasets import mnist_normalized
    x, y = mnist_normalized("val")
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=0)
    batches = list(loader)
    assert len(batches) == len(loader) == 16
    assert batches[0][0].shape == (64, 784) and batches[-1][0].shape == (1000 - 15 * 64, 784)
    assert sorted(np.concatenate([b[1]._data for b in batches]).tolist()) == sorted(y.tolist())



def test_seeded_shuffle_draws_each_epoch_from_seed_and_epoch_alone():
    s = SeededShuffle(_ds(), 7)  # a dataset or a count
    assert isinstance(s, Sampler) and len(s) == 10 and len(SeededShuffle(10, 7)) == 10
    # epoch e's order is the permutation of a generator seeded with (seed, e): the stream `firstepoch train`
    # has always shuffled with, so a resumed run redraws any epoch without replaying the others
    for e in (0, 3):
        assert np.array_equal(s(e), np.random.default_rng([7, e]).permutation(10))
        s.set_epoch(e)
        assert s.indices().dtype == np.int64 and np.array_equal(s.indices(), s(e))
        loader = DataLoader(_ds(), batch_size=4, sampler=s)
        assert [i for b in _labels(loader) for i in b] == s(e).tolist()
    assert not np.array_equal(s(0), s(1)) and np.array_equal(SeededShuffle(10, 7)(1), s(1))


def test_an_index_array_is_a_sampler():
    loader = DataLoader(_ds(), batch_size=3, sampler=np.array([9, 2, 4, 0], np.int64))
    assert _labels(loader) == [[9, 2, 4], [0]] and len(loader) == 2

# ---- the data, datasets and training modules import each other without cycles -----------------------------

def _imports_of(path, package):
    """The firstepoch modules a source file imports, at the top or inside a function (a late import that
    closes a cycle is still a cycle), as dotted names."""
    import ast
    tree = ast.parse(open(path).read())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("firstepoch"))
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if not mod.startswith("firstepoch"):
                continue
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from . import x` names a module x
    return out


def test_data_datasets_and_training_modules_have_no_import_cycle():
    import os
    root = os.path.dirname(fe.__file__)
    modules = {}
    for sub in ("data", "datasets", "train", ""):
        folder = os.path.join(root, sub)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or (sub == "" and name not in ("trainer.py", "cli.py", "distributed.py")):
                continue
            dotted = ".".join(["firstepoch"] + ([sub] if sub else []) + ([] if name == "__init__.py" else [name[:-3]]))
            package = dotted if name == "__init__.py" else dotted.rsplit(".", 1)[0]
            modules[dotted] = _imports_of(os.path.join(folder, name), package)
    # a package's __init__ imports its modules by design; a cycle through __init__ is not one of modules
    graph = {m: {d for d in deps if d in modules and d != m and not (m + ".").startswith(d + ".")}
             for m, deps in modules.items()}
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(path[path.index(d):] + [d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = "done"
    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == [], cycles


def test_seeded_shuffle_and_batch_sampler_refuse_bad_indices():
    with pytest.raises(ValueError, match="number of samples must be an int >= 0"):
        SeededShuffle(-1)
    with pytest.raises(ValueError, match="number of samples must be an int >= 0"):
        SeededShuffle(True)
    with pytest.raises(TypeError, match="1-D of integers"):
        list(BatchSampler(np.array([1.7, 2.2]), 1))
    with pytest.raises(TypeError, match="1-D of integers"):
        list(BatchSampler(np.zeros((2, 2), np.int64), 1))
