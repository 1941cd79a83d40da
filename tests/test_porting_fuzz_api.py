"""Differences found by differential fuzzing of firstepoch.data and the nn.Module API against PyTorch 2.13,
now as torch's. Expected values are written out (PyTorch 2.13's), so these run without torch; the last
test compares with torch where it is installed."""
import collections
import warnings

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import nn
from firstepoch.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler, Subset, TensorDataset,
                             default_collate, random_split)

Point = collections.namedtuple("Point", "x y")


# ---- default_collate ----------------------------------------------------------------------------------

def test_collate_python_numbers_take_torch_dtypes_from_the_first_sample():
    # torch: a float first -> float64; an int first -> torch.tensor(batch): float32 when a float follows
    assert next(iter(DataLoader([1.5, 2], batch_size=2))).dtype == fe.float64
    assert next(iter(DataLoader([1, 2.5], batch_size=2))).dtype == fe.float32
    assert next(iter(DataLoader([1, 2], batch_size=2))).dtype == fe.int64
    assert next(iter(DataLoader([True, False], batch_size=2))).dtype == fe.bool
    assert next(iter(DataLoader([True, 2], batch_size=2))).dtype == fe.int64
    (a, _), = [next(iter(DataLoader([(1, "a"), (2.0, "b")], batch_size=2)))]
    assert a.dtype == fe.float32 and a.tolist() == [1.0, 2.0]
    # a NumPy scalar among them keeps its dtype (torch.tensor([1, np.float64(2.5)]) is float64)
    assert next(iter(DataLoader([1, np.float64(2.5)], batch_size=2))).dtype == fe.float64
    with pytest.raises(ValueError, match="Overflow"):  # torch: ValueError, not OverflowError
        default_collate([2 ** 70, 1])


def test_collate_keeps_namedtuples():
    batch = next(iter(DataLoader([Point(1, 2.0), Point(3, 4.0)], batch_size=2)))
    assert type(batch) is Point and batch.x.dtype == fe.int64 and batch.y.tolist() == [2.0, 4.0]
    nested = default_collate([(Point(1, np.ones(2)), 0), (Point(3, np.zeros(2)), 1)])
    assert type(nested[0]) is Point and nested[0].y.shape == (2, 2)
    out = default_collate([{"p": Point(1, 2)}, {"p": Point(3, 4)}])
    assert type(out["p"]) is Point and out["p"].x.tolist() == [1, 3]


def test_collate_size_errors_are_runtime_errors():
    # torch raises RuntimeError; they stay ValueErrors too (firstepoch's earlier class)
    for bad in ([(1, 2), (1,)], [[1, 2], [1]], [([1, 2],), ([1],)], [np.ones(2), np.ones(3)],
                [fe.ones(2), fe.ones(3)]):
        with pytest.raises(RuntimeError, match="equal size"):
            default_collate(bad)
        with pytest.raises(ValueError):
            default_collate(bad)


# ---- datasets -----------------------------------------------------------------------------------------

def test_tensor_dataset_errors_have_torchs_classes():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(np.zeros(5), np.zeros(4))
    with pytest.raises(IndexError):
        TensorDataset()
    with pytest.raises(IndexError):
        TensorDataset(np.float32(1))


def test_subset_takes_negative_indices():
    ds = TensorDataset(np.arange(5.0))
    sub = Subset(ds, [-1, 0, -5])
    assert len(sub) == 3 and float(sub[0][0]) == 4.0 and float(sub[2][0]) == 0.0
    assert next(iter(DataLoader(sub, batch_size=3)))[0].tolist() == [4.0, 0.0, 0.0]
    assert Subset(list(range(5)), [-2])[0] == 3
    with pytest.raises(IndexError):
        Subset(ds, [-6])


def test_random_split_lengths_as_torch():
    ds = list(range(5))
    assert [len(p) for p in random_split(ds, [True, 4], generator=0)] == [1, 4]  # bools are ints
    assert [len(p) for p in random_split(ds, [1, 0], generator=0)] == [5, 0]  # sums to 1: fractions
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError):  # torch: the sum matches neither 1 nor len(ds)
        random_split(ds, [2, 0.6])
    with pytest.raises(TypeError):  # torch: randperm refuses a float length
        random_split(ds, [1.5, 3.5])


# ---- samplers and the loader ----------------------------------------------------------------------------

def test_sampler_argument_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler([])
    with pytest.raises(ValueError, match="num_samples"):
        DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=2, shuffle=True)
    assert len(RandomSampler([], num_samples=3)) == 3  # torch checks only the default length
    for bad in (1, "x", None):
        with pytest.raises(ValueError, match="drop_last should be a boolean value"):
            BatchSampler(range(7), 2, bad)


def test_loader_with_batch_sampler_has_a_sequential_sampler():
    ds = TensorDataset(np.arange(4.0))
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 2, False))
    assert isinstance(loader.sampler, SequentialSampler) and len(loader.sampler) == 4 and loader.batch_size is None
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0], [2.0, 3.0]]


# ---- Module ---------------------------------------------------------------------------------------------

def test_load_state_dict_refuses_a_non_mapping():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>."):
        nn.Linear(1, 1).load_state_dict([1, 2])


def test_assigning_a_parameter_checks_its_name():
    m = nn.Linear(1, 1)
    for name, message in (("a.b", "contain"), ("", "empty string"), ("forward", "already exists")):
        with pytest.raises(KeyError, match=message):
            setattr(m, name, nn.Parameter(fe.zeros(1)))
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    m.register_buffer("b", None)
    m.b = nn.Parameter(fe.zeros(2))  # a buffer's name may become a parameter's, as torch
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias", "b"] and not dict(m.named_buffers())


def test_state_dict_positional_arguments_with_a_future_warning():
    m = nn.Linear(1, 1)
    dest = collections.OrderedDict()
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        out = m.state_dict(dest, "p.")
    assert out is dest and list(out) == ["p.weight", "p.bias"]
    with pytest.warns(FutureWarning):
        kept = m.state_dict(None, "", True)
    assert kept["weight"] is m.weight
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(m.state_dict(prefix="q.")) == ["q.weight", "q.bias"]


def test_parameter_dict_has_torchs_dict_methods():
    def p(n):
        return nn.Parameter(fe.zeros(n))

    d = nn.ParameterDict({"a": p(1), "b": p(2)})
    c = d.copy()
    assert type(c) is nn.ParameterDict and list(c) == ["a", "b"] and c["a"] is d["a"]
    z = p(3)
    assert d.setdefault("z", z) is z and d.setdefault("z", p(4)) is z and list(d) == ["a", "b", "z"]
    key, value = d.popitem()
    assert key == "z" and value is z and list(d) == ["a", "b"]
    assert list(reversed(d)) == ["b", "a"]
    assert list(d.fromkeys(["x", "y"])) == ["x", "y"]
    merged = d | nn.ParameterDict({"c": p(1)})
    assert list(merged) == ["a", "b", "c"] and list(d) == ["a", "b"]
    d |= {"c": p(1)}
    assert list(d) == ["a", "b", "c"]
    with pytest.raises(KeyError, match="contain"):
        d["c.d"] = p(1)
    with pytest.raises(TypeError, match="not a string"):
        d[1] = p(1)
    assert list(d) == ["a", "b", "c"] and len(d) == 3
    with pytest.raises(KeyError):
        nn.ParameterDict().popitem()


def test_matches_torch_where_installed():
    torch = pytest.importorskip("torch")
    td = torch.utils.data
    for samples in ([1, 2.5], [1.5, 2], [True, 2], [True, False], [Point(1, 2.0), Point(3, 4.0)]):
        theirs, ours = td.default_collate(samples), next(iter(DataLoader(samples, batch_size=len(samples))))
        assert (type(theirs) is type(ours)) or (isinstance(theirs, torch.Tensor) and isinstance(ours, fe.Tensor))
        if isinstance(ours, Point):
            theirs, ours = theirs.y, ours.y
        assert str(theirs.dtype).replace("torch.", "") == str(ours.dtype) and theirs.tolist() == ours.tolist()
    with pytest.raises(RuntimeError):
        td.default_collate([(1, 2), (1,)])
    with pytest.raises(AssertionError):
        td.TensorDataset(torch.zeros(5), torch.zeros(4))
    assert [len(p) for p in td.random_split(range(5), [1, 0])] == [5, 0]
    with pytest.raises(TypeError):
        torch.nn.Linear(1, 1).load_state_dict([1, 2])
    with pytest.raises(KeyError):
        setattr(torch.nn.Linear(1, 1), "a.b", torch.nn.Parameter(torch.zeros(1)))
    assert list(torch.nn.ParameterDict({"a": torch.nn.Parameter(torch.zeros(1))}).copy()) == ["a"]
