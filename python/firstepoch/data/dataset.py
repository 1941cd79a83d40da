"""Datasets (PyTorch's shapes): anything with __len__ and __getitem__. A dataset that can also hand
over many rows at once (`batch(indices)`) lets the DataLoader skip the per-sample loop."""
import bisect
import math
import numbers

import numpy as np

from .. import _C
from ..random import as_generator
from ..tensor import Tensor
from .collate import default_collate


class _SizeMismatch(ValueError, AssertionError):
    """TensorDataset's arrays of different lengths: an AssertionError, the class torch raises, and a
    ValueError, as firstepoch raised before."""


class _NoFirstDimension(ValueError, IndexError):
    """TensorDataset() or a scalar array: an IndexError, as torch's (it indexes size(0)), and a ValueError."""


class _LengthsError(TypeError, ValueError):
    """random_split lengths mixing ints and fractions that sum to neither 1 nor the dataset's length: a
    ValueError, as torch's (the sum does not match), and a TypeError, as firstepoch raised before."""


class Dataset:
    """Subclass and define __len__ and __getitem__(i) -> one sample (an array, a number, or a tuple of them)."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, i):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is row i of every array (NumPy arrays or firstepoch Tensors; all share the first dimension).
    Tensors are stored as their arrays: batches are new Tensors, outside any autograd graph."""

    def __init__(self, *arrays):
        if not arrays:
            raise _NoFirstDimension("TensorDataset: give at least one array")
        self.arrays = []
        for k, a in enumerate(arrays):
            a = a._data if isinstance(a, Tensor) else np.asarray(a)
            if a.ndim == 0:
                raise _NoFirstDimension(f"TensorDataset: array {k} is a scalar (shape ()), it needs a first dimension")
            self.arrays.append(a)
        n = len(self.arrays[0])
        for k, a in enumerate(self.arrays):
            if len(a) != n:
                raise _SizeMismatch(f"Size mismatch between tensors: TensorDataset: array {k} has {len(a)} rows "
                                    f"(shape {a.shape}), array 0 has {n} (shape {self.arrays[0].shape})")

    @property
    def tensors(self):
        """The arrays as Tensors (sharing their memory where the dtype is one a Tensor keeps), as torch's."""
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, i):
        return tuple(a[i] for a in self.arrays)

    def batch(self, indices):
        """Rows `indices` (an int array) of every array, a fresh copy each: src[indices], by _C.take_rows
        (rows prefetched ahead of the copy) for int64 indices and a C-contiguous array, else NumPy's
        fancy indexing."""
        indices = np.asarray(indices)
        if indices.dtype != np.int64 or indices.ndim != 1:
            return tuple([a[indices] for a in self.arrays])
        return tuple([_take_rows(a, indices) for a in self.arrays])


def _take_rows(a, indices):
    """a[indices] for a 1-D int64 index array: _C.take_rows where a is C-contiguous and holds numbers."""
    if not a.flags.c_contiguous or a.ndim == 0 or a.dtype.hasobject:
        return a[indices]
    out = np.empty((len(indices),) + a.shape[1:], dtype=a.dtype)
    _C.take_rows(a, indices, out)
    return out


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order; a negative index counts from the end, as
    Python's (and torch's) indexing."""

    def __init__(self, dataset, indices):
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"Subset: indices must be a 1-D array of ints, got shape {indices.shape} "
                            f"dtype {indices.dtype}")
        indices = indices.astype(np.int64, copy=False)
        n = len(dataset)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) (or [-{n}, 0) from the end), got "
                             f"{indices.min()}..{indices.max()}")
        self.dataset = dataset
        self.indices = indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i])]

    def batch(self, indices):
        if hasattr(self.dataset, "batch"):
            rows = self.indices[indices]
            if rows.size and rows.min() < 0:
                rows = np.where(rows < 0, rows + len(self.dataset), rows)
            return self.dataset.batch(rows)
        return default_collate([self.dataset[int(j)] for j in self.indices[indices]])


def _counts_from_fractions(fractions, n):
    """Fractions summing to 1 -> counts summing to n: floor each, then hand the remainder out one at a time
    from the first part on (PyTorch's rule)."""
    counts = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset, lengths, generator=None):
    """Splits `dataset` into non-overlapping Subsets, drawn with one permutation.

    lengths: ints summing to len(dataset), or fractions in [0, 1] summing to 1 (torch's rule: lengths that
        sum to 1 are fractions, whatever their type). Lengths that match neither raise ValueError, as torch.
    generator: None (firstepoch.manual_seed's generator), an int seed, or a numpy.random.Generator.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if not all(isinstance(x, numbers.Real) for x in lengths):
        raise TypeError(f"random_split: lengths must be numbers, got {lengths}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:  # torch's rule: fractions (ints too: [1, 0] is all and nothing)
        bad = [i for i, x in enumerate(lengths) if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"random_split: fraction at index {bad[0]} is not between 0 and 1 (lengths {lengths})")
        lengths = _counts_from_fractions(lengths, n)
    elif all(isinstance(x, numbers.Integral) for x in lengths):  # bools count as ints, as torch's
        lengths = [int(x) for x in lengths]
        if sum(lengths) != n:
            raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! (random_split: "
                             f"lengths {lengths} sum to {sum(lengths)}, the dataset has {n} items)")
        if any(x < 0 for x in lengths):
            raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    elif total == n:  # whole numbers that are not ints: torch's randperm refuses them (TypeError)
        raise TypeError(f"random_split: lengths must be all ints or all fractions, got {lengths}")
    elif any(isinstance(x, numbers.Integral) for x in lengths):
        raise _LengthsError(f"random_split: lengths must be all ints or all fractions, got {lengths}: they sum "
                            f"to {total}, neither 1 nor the dataset's {n} items")
    else:
        raise ValueError(f"random_split: fractions must lie in [0, 1] and sum to 1, got {lengths} (sum {total}; "
                         f"as lengths they do not sum to the dataset's {n} items)")
    order = as_generator(generator, "random_split").permutation(n)
    parts, start = [], 0
    for k in lengths:
        parts.append(Subset(dataset, order[start:start + k]))
        start += k
    return parts


# ---- Datasets added for issue 17 (torch.utils.data's IterableDataset, ConcatDataset, ChainDataset) ----

class IterableDataset(Dataset):
    """A stream of samples: subclass and define __iter__ (as torch). The DataLoader iterates it in order
    and batches what it yields; with num_workers=N each worker iterates its own copy, so __iter__ should
    split the work with get_worker_info() (id, num_workers, seed) or every sample comes N times (as torch)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):  # a stream need not have a length: len() raises TypeError, as for torch's (so list() works)
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __getitem__(self, i):
        raise NotImplementedError(f"{type(self).__name__} is an IterableDataset: iterate it, do not index it")

    def __add__(self, other):
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """The map-style datasets one after the other (as torch): item i of the whole is item i - start of the
    part it falls in. cumulative_sizes[k] is the total length of datasets[0..k]."""

    @staticmethod
    def cumsum(sequence):
        r, s = [], 0
        for e in sequence:
            s += len(e)
            r.append(s)
        return r

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        idx = int(idx)
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        part = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if part == 0 else self.cumulative_sizes[part - 1]
        if part >= len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {len(self)}")
        return self.datasets[part][idx - start]


class StackDataset(Dataset):
    """torch.utils.data.StackDataset: map-style datasets of one length side by side. StackDataset(a, b)[i]
    is (a[i], b[i]); StackDataset(x=a, y=b)[i] is {"x": a[i], "y": b[i]}. Both forms at once, none, or
    datasets of different lengths are torch's ValueError."""

    def __init__(self, *args, **kwargs):
        if args:
            if kwargs:
                raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                                 "input/output, but both types are given.")
            parts = args
        elif kwargs:
            parts = list(kwargs.values())
        else:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        """The samples at `indices` as a list; a part with __getitems__ of its own is asked once (torch's)."""
        named = self.datasets if isinstance(self.datasets, dict) else dict(enumerate(self.datasets))
        samples = [{} for _ in indices]
        for k, d in named.items():
            if callable(getattr(d, "__getitems__", None)):
                items = d.__getitems__(indices)
                if len(items) != len(indices):
                    raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, got "
                                     f"{len(items)}")
            else:
                items = [d[i] for i in indices]
            for sample, item in zip(samples, items):
                sample[k] = item
        if isinstance(self.datasets, dict):
            return samples
        return [tuple(s.values()) for s in samples]

    def __len__(self):
        return self._length


class ChainDataset(IterableDataset):
    """The iterable datasets one after the other, chained lazily (as torch); len() is the sum of theirs."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total
