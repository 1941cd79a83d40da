"""The training data: the splits a recipe's dataset names, as arrays (load_splits), and what the loop
iterates, a data.DataLoader per epoch (epoch_loader) and per evaluation (eval_loader).

An epoch visits the order the trainer's sampler gives for it (by default data.SeededShuffle: a
permutation drawn from (seed, epoch)), cut into batches; a run resumed mid-epoch starts its loader at the
batch it stopped before, and each batch's augmentation is drawn from (seed, epoch, batch), so a resumed
run sees bitwise the batches an uninterrupted one would.
"""
import os

import numpy as np

from ..data import DataLoader, TensorDataset, transforms
from ..datasets.mnist import mnist, normalize, split_indices


def _prepare(images, labels):
    return normalize(images, flatten=False)[:, None], np.ascontiguousarray(labels, dtype=np.int64)


def load_splits(dataset="mnist-embedded"):
    """{'train', 'val', 'test'} -> (float32 (N, 1, 28, 28) normalised images, int64 labels).

    'mnist-embedded': datasets.mnist's fixed, disjoint split of the 10,000 digits inside the package:
    8,000 train, 1,000 val, 1,000 test.
    'ylecun/mnist': the hub's 60,000 train digits split 55,000 / 5,000 into train / val, its test split
    as test. A path (parquet file, or a folder of parquet files or of class-named image folders): all of
    its digits split 80 / 10 / 10 in a fixed hash order.
    """
    if dataset == "mnist-embedded":
        return {k: _prepare(*mnist(k)) for k in ("train", "val", "test")}
    if dataset in ("ylecun/mnist", "hf"):
        x, y = mnist("train", source="ylecun/mnist")
        tx, ty = mnist("test", source="ylecun/mnist")
        train, val = split_indices(len(y), len(y) - 5000, seed=1)
        return {"train": _prepare(x[train], y[train]), "val": _prepare(x[val], y[val]), "test": _prepare(tx, ty)}
    if not os.path.exists(dataset):
        raise FileNotFoundError(f"dataset must be 'mnist-embedded', 'ylecun/mnist' or an existing path, "
                                f"got {dataset!r}")
    x, y = mnist("train", source=dataset)
    n = len(y)
    train, rest = split_indices(n, n - 2 * (n // 10), seed=1)
    val, test = rest[: n // 10], rest[n // 10:]
    return {"train": _prepare(x[train], y[train]), "val": _prepare(x[val], y[val]), "test": _prepare(x[test], y[test])}


def check_finite(what, x):
    """A NaN or inf pixel would surface later as a diverging loss and the advice to lower the learning
    rate; name it before training instead."""
    if x is None or not np.issubdtype(np.asarray(x).dtype, np.floating) or np.isfinite(x).all():
        return
    x = np.asarray(x)
    bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
    raise ValueError(f"the {what} data contain non-finite values ({bad} image{'s' if bad != 1 else ''})")


class SeededShifts:
    """The --augment transform: random shifts of up to 2 pixels (RandomCrop(28, padding=2)), each batch's
    drawn from a generator seeded with (seed, epoch, batch, 1), batches counted from first_batch in the
    order the DataLoader calls it (once per batch)."""

    def __init__(self, seed, epoch, first_batch=0):
        self.crop = transforms.RandomCrop(28, padding=2)
        self.seed, self.epoch, self.batch = int(seed), int(epoch), int(first_batch)

    def __call__(self, x):
        self.crop.generator = np.random.default_rng([self.seed, self.epoch, self.batch, 1])
        self.batch += 1
        return self.crop(x).astype(np.float32, copy=False)


def epoch_loader(dataset, order, batch_size, first_batch=0, transform=None):
    """The DataLoader of one training epoch: `dataset` visited in `order` (the epoch's index array), in
    batches of batch_size, from batch first_batch on (a resumed epoch skips the batches already done)."""
    order = np.asarray(order, dtype=np.int64)
    return DataLoader(dataset, batch_size=batch_size, sampler=order[first_batch * batch_size:], transform=transform)


def eval_loader(x, y, batch_size):
    """Arrays x, y in order, in batches of batch_size (the last one shorter)."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)
