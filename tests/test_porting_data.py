"""torch.utils.data behaviours ported code relies on: what BatchSampler yields, RandomSampler's num_samples
without replacement, TensorDataset.tensors, DataLoader(batch_size=None) (no automatic batching), and a
custom collate_fn's output reaching the loop as the function made it. Expected values are written out
(PyTorch 2.13's), so these run without torch; the parity test at the end compares with it where present."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler, SequentialSampler,
                             TensorDataset, default_collate)


def _ds(n=10):
    return TensorDataset(np.arange(2 * n, dtype=np.float32).reshape(n, 2), np.arange(n))


class Pairs(Dataset):
    """(features, label, name): a sample with a string field, as text datasets have."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i, f"item{i}"


def test_batch_sampler_yields_lists_of_ints():
    # torch: [[0, 1, 2], [3, 4, 5], [6]]; code that appends to a batch or compares it with a list needs lists
    batches = list(BatchSampler(range(7), 3, drop_last=False))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(type(b) is list and all(type(i) is int for i in b) for b in batches)
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    # the loader still batches through it (and through a subclass that yields its own lists)
    assert [b[1].tolist() for b in DataLoader(_ds(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]

    class Reversed(BatchSampler):
        def __iter__(self):
            for b in super().__iter__():
                yield b[::-1]

    loader = DataLoader(_ds(5), batch_sampler=Reversed(range(5), 2, False))
    assert [b[1].tolist() for b in loader] == [[1, 0], [3, 2], [4]]


def test_random_sampler_num_samples_without_replacement():
    # torch: whole permutations, then the start of one more, so every index appears num_samples // n or
    # num_samples // n + 1 times; fewer than n: the start of one permutation (no repeats)
    s = RandomSampler(range(4), num_samples=10, generator=0)
    got = list(s)
    assert len(s) == 10 and len(got) == 10 and all(type(i) is int for i in got)
    assert sorted(got[:4]) == sorted(got[4:8]) == [0, 1, 2, 3] and len(set(got[8:])) == 2
    short = list(RandomSampler(range(6), num_samples=3, generator=1))
    assert len(short) == 3 and len(set(short)) == 3 and set(short) <= set(range(6))
    assert len(DataLoader(_ds(4), batch_size=3, sampler=RandomSampler(range(4), num_samples=10))) == 4
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(4), num_samples=0)


def test_tensor_dataset_tensors():
    x, y = np.ones((3, 2), np.float32), np.arange(3)
    ds = TensorDataset(x, fe.tensor(y))
    assert isinstance(ds.tensors, tuple) and len(ds.tensors) == 2
    assert all(isinstance(t, fe.Tensor) for t in ds.tensors)
    assert ds.tensors[0].shape == (3, 2) and ds.tensors[1].tolist() == [0, 1, 2]


def test_batch_size_none_turns_automatic_batching_off():
    # torch: each sample as it is (arrays become Tensors), no batch axis; len is the sampler's
    loader = DataLoader(_ds(3), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and len(items) == 3
    x0, y0 = items[1]
    assert isinstance(x0, fe.Tensor) and x0.shape == (2,) and x0.tolist() == [2.0, 3.0]
    assert y0.shape == () and int(y0) == 1
    # a generic dataset: numbers stay numbers, strings strings (torch's default_convert)
    x, label, name = next(iter(DataLoader(Pairs(), batch_size=None)))
    assert isinstance(x, fe.Tensor) and x.shape == (2,) and label == 0 and name == "item0"
    # shuffling visits every sample once; a collate_fn sees one sample at a time
    seen = sorted(int(y) for _, y in DataLoader(_ds(5), batch_size=None, shuffle=True, generator=0))
    assert seen == [0, 1, 2, 3, 4]
    assert list(DataLoader(Pairs(), batch_size=None, collate_fn=lambda s: s[2])) == ["item0", "item1", "item2",
                                                                                    "item3"]
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(_ds(), batch_size=None, drop_last=True)


@pytest.mark.fork_child
def test_batch_size_none_with_workers():
    got = [int(y) for _, y in DataLoader(_ds(5), batch_size=None, num_workers=2)]
    assert got == [0, 1, 2, 3, 4]


def test_custom_collate_output_is_not_restructured():
    # torch returns what collate_fn returns; firstepoch only turns its numeric arrays into Tensors
    def collate(samples):
        return [np.stack([s[0] for s in samples]), [s[1] for s in samples], [s[2] for s in samples]]

    x, labels, names = next(iter(DataLoader(Pairs(), batch_size=2, collate_fn=collate)))
    assert isinstance(x, fe.Tensor) and x.shape == (2, 2)
    assert labels == [0, 1] and names == ["item0", "item1"]
    assert next(iter(DataLoader([1, 2, 3], batch_size=2, collate_fn=lambda b: b))) == [1, 2]
    (a, b), = next(iter(DataLoader(Pairs(), batch_size=2, collate_fn=lambda s: [(s[0][1], s[1][1])])))
    assert (a, b) == (0, 1)


def test_default_collate_keeps_strings_and_refuses_other_objects():
    batch = next(iter(DataLoader(Pairs(), batch_size=3)))
    # a string field of tuple samples: torch's tuple (its zip(*batch)); a batch of strings: a list
    assert batch[2] == ("item0", "item1", "item2") and batch[1].tolist() == [0, 1, 2]
    assert default_collate(["a", "b"]) == ["a", "b"]
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])


class Stream(IterableDataset):
    def __iter__(self):
        return iter([np.zeros(2, np.float32), np.ones(2, np.float32)])


def test_iterable_dataset_batch_size_none():
    got = list(DataLoader(Stream(), batch_size=None))
    assert len(got) == 2 and got[1].shape == (2,) and got[1].tolist() == [1.0, 1.0]


def test_matches_torch_where_installed():
    torch = pytest.importorskip("torch")
    td = torch.utils.data
    assert list(BatchSampler(range(7), 3, False)) == list(td.BatchSampler(range(7), 3, False))
    assert len(RandomSampler(range(4), num_samples=10)) == len(td.RandomSampler(range(4), num_samples=10))
    t = td.TensorDataset(torch.arange(3))
    assert len(t.tensors) == len(TensorDataset(np.arange(3)).tensors)
    assert td.default_collate(["a", "b"]) == default_collate(["a", "b"])
    tl = list(td.DataLoader(td.TensorDataset(torch.arange(6.0).reshape(3, 2), torch.arange(3)), batch_size=None))
    fl = list(DataLoader(_ds(3), batch_size=None))
    assert [tuple(v.shape) for v in tl[0]] == [tuple(v.shape) for v in fl[0]]
    assert next(iter(td.DataLoader([1, 2, 3], batch_size=2, collate_fn=lambda b: b))) == [1, 2]


def test_a_torch_style_sampler_subclass():
    # torch's pattern: Sampler.__init__(data_source), only __iter__ and __len__ defined
    from firstepoch.data import Sampler

    class Backwards(Sampler):
        def __init__(self, data_source):
            super().__init__(data_source)
            self.n = len(data_source)

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    ds = _ds(5)
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=2, sampler=Backwards(ds))] == [[4, 3], [2, 1], [0]]
    assert list(BatchSampler(Backwards(ds), 3, False)) == [[4, 3, 2], [1, 0]]
    assert [int(y) for _, y in DataLoader(ds, batch_size=None, sampler=Backwards(ds))] == [4, 3, 2, 1, 0]
