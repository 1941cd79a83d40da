"""Datasets and loaders (PyTorch's shapes): Dataset, TensorDataset, DataLoader, random_split."""
import math

import numpy as np

from .. import random as _random
from ..tensor import Tensor


class Dataset:
    """Anything with __len__ and __getitem__(i) -> a sample (a tuple of arrays/numbers)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, i):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of the given arrays (or Tensors), all with the same first dimension."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = [a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays):
            if len(a) != n:
                raise ValueError(f"TensorDataset: array {i} has {len(a)} rows, array 0 has {n}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, i):
        return tuple(a[i] for a in self.arrays)

    def batch(self, indices):
        """Rows `indices` of every array in one fancy-indexing call (the DataLoader's fast path)."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i])]

    def batch(self, indices):
        if hasattr(self.dataset, "batch"):
            return self.dataset.batch(self.indices[indices])
        return default_collate([self.dataset[int(j)] for j in self.indices[indices]])


def random_split(dataset, lengths, generator=None):
    """Splits into non-overlapping Subsets of the given lengths (or fractions summing to 1), seeded."""
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, the dataset has {n} items")
    g = generator if generator is not None else _random.generator()
    order = g.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start:start + k]))
        start += k
    return out


def default_collate(samples):
    """A list of samples (tuples) -> a tuple of stacked arrays."""
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
    return np.stack([np.asarray(s) for s in samples])


def _to_tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)
    return Tensor(a)


class DataLoader:
    """Batches of a dataset as Tensors. shuffle draws a new order every epoch from `generator` (a NumPy
    Generator, or an int seed), by default from firstepoch.manual_seed's generator. A TensorDataset is
    batched with one fancy-indexing call per array: no per-sample Python loop."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None,
                 transform=None):
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = np.random.default_rng(generator) if isinstance(generator, (int, np.integer)) else generator
        self.collate_fn = collate_fn
        self.transform = transform  # applied to each batch's first array (the inputs), e.g. augmentation

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            g = self.generator if self.generator is not None else _random.generator()
            order = g.permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = self.collate_fn is None and hasattr(self.dataset, "batch")
        for start in range(0, stop, self.batch_size):
            idx = order[start:start + self.batch_size]
            if fast:
                batch = self.dataset.batch(idx)
            else:
                samples = [self.dataset[int(i)] for i in idx]
                batch = (self.collate_fn or default_collate)(samples)
            if self.transform is not None:
                batch = (self.transform(batch[0]),) + tuple(batch[1:]) if isinstance(batch, tuple) else self.transform(batch)
            yield tuple(_to_tensor(b) for b in batch) if isinstance(batch, tuple) else _to_tensor(batch)


from . import transforms  # noqa: E402

__all__ = ["transforms", "Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate"]
