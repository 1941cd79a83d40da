"""Samplers: the order in which a DataLoader visits a dataset. Each epoch's order is one int64 array
(`indices()`), so batches are slices of it, never a Python loop over samples."""
import math

import numpy as np

from ..random import as_generator


class Sampler:
    """Subclass and define indices() -> the int64 index array of one epoch, and __len__; or, as in torch,
    __iter__ (yielding the indices) and __len__."""

    def __init__(self, data_source=None):  # torch's signature: subclasses call super().__init__(data_source)
        pass

    def indices(self):
        raise NotImplementedError(f"{type(self).__name__} must define indices()")

    def __iter__(self):
        return iter(self.indices().tolist())


class SequentialSampler(Sampler):
    """0, 1, ..., n - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __len__(self):
        return len(self.data_source)

    def indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """A new permutation every epoch, from `generator`: an int seed or a numpy.random.Generator, kept across
    epochs; None draws from firstepoch.manual_seed's generator at the start of each epoch, so manual_seed(s)
    before a run makes its order repeatable. num_samples: that many indices instead of len(data_source):
    with replacement, independent draws; without, as torch, whole permutations and then the start of one
    more (so no index repeats within a stretch of len(data_source))."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.replacement = replacement
        if num_samples is None and len(data_source) == 0:  # torch checks the length num_samples defaults to
            raise ValueError("num_samples should be a positive integer value, but got num_samples=0")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer))
                                        or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.num_samples = None if num_samples is None else int(num_samples)
        self._fixed = None if generator is None else as_generator(generator, "RandomSampler")

    def __len__(self):
        return len(self.data_source) if self.num_samples is None else self.num_samples

    def indices(self):
        g = self._fixed if self._fixed is not None else as_generator(None, "RandomSampler")
        n = len(self.data_source)
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw with replacement from an empty dataset")
            return g.integers(0, n, size=len(self), dtype=np.int64)
        if self.num_samples is None:
            return g.permutation(n).astype(np.int64, copy=False)
        if n == 0:
            raise ValueError(f"RandomSampler: cannot draw num_samples={self.num_samples} from an empty dataset")
        k = self.num_samples
        parts = [g.permutation(n) for _ in range(k // n)] + [g.permutation(n)[:k % n]]
        return np.concatenate(parts).astype(np.int64, copy=False)


def _has_indices(sampler):
    """Whether a sampler gives its epoch as one array (a torch-style Sampler subclass only iterates)."""
    fn = getattr(type(sampler), "indices", None)
    return fn is not None and fn is not Sampler.indices


def _sample_count(data_source):
    """A dataset's length, or a count given as an int."""
    return int(data_source) if isinstance(data_source, (int, np.integer)) else len(data_source)


class SeededShuffle(Sampler):
    """A new permutation every epoch, drawn from a generator seeded with (seed, epoch): any epoch's order
    is recomputed from the two numbers alone, so a run resumed mid-epoch redraws it without replaying the
    epochs before (RandomSampler carries one generator across epochs instead). This is the order
    `firstepoch train` shuffles with. Call set_epoch(e) before each epoch (as with DistributedSampler),
    or call the sampler: sampler(e) -> epoch e's indices.

    data_source: a dataset (anything with len) or the number of samples.
    """

    def __init__(self, data_source, seed=0):
        self.n = _sample_count(data_source)
        if isinstance(data_source, bool) or self.n < 0:
            raise ValueError(f"{type(self).__name__}: the number of samples must be an int >= 0 or a dataset, "
                             f"got {data_source!r}")
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        return self.n

    def indices(self, epoch=None):
        e = self.epoch if epoch is None else int(epoch)
        return np.random.default_rng([self.seed, e]).permutation(self.n).astype(np.int64, copy=False)

    def __call__(self, epoch):
        return self.indices(epoch)


def epoch_order(n, seed, epoch, shuffle, total_size):
    """All ranks' order of one epoch, as torch's DistributedSampler makes it: 0 .. n-1 (with shuffle,
    SeededShuffle's permutation for (seed, epoch)), cut to total_size or padded to it by repeating the
    order from its start; rank r's share is every num_replicas-th entry from r."""
    if shuffle:
        order = np.random.default_rng([int(seed), int(epoch)]).permutation(n).astype(np.int64, copy=False)
    else:
        order = np.arange(n, dtype=np.int64)
    return order[:total_size] if total_size <= n else np.resize(order, total_size)


# firstepoch.distributed's world (its size, rank and whether init() has run), set by that module when it is
# imported (firstepoch's __init__ imports it): it imports this module, so this one cannot import it
_distributed_world = None


class DistributedSampler(Sampler):
    """torch.utils.data.DistributedSampler: this rank's share of each epoch. The epoch's order (0 .. n-1,
    or with shuffle a permutation that set_epoch(e) changes) is padded by repeating it from its start to a
    multiple of num_replicas (drop_last: cut to one instead), then rank takes every num_replicas-th index
    from its own position; len() is that share's size. num_replicas and rank default to
    firstepoch.distributed's world size and rank once firstepoch.distributed.init() has run; before,
    leaving either out is torch's ValueError (no process group). A rank outside [0, num_replicas) is
    torch's ValueError.

    Deliberate difference (README, "Porting from PyTorch"): the shuffled order is NumPy's permutation for
    (seed, epoch), the order firstepoch.distributed.DistributedSampler and SeededShuffle give, not the
    one torch's generator draws for seed + epoch; it is as torch's a permutation split across the ranks,
    the same on every rank. Without shuffle the indices are torch's."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            world = _distributed_world
            if world is None or not world.initialized:
                raise ValueError("Default process group has not been initialized, please make sure to call "
                                 "init_process_group (firstepoch.distributed.init()).")
            num_replicas = world.size if num_replicas is None else num_replicas
            rank = world.rank if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:  # the largest share every rank can have
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def indices(self):
        order = epoch_order(len(self.dataset), self.seed, self.epoch, self.shuffle, self.total_size)
        return order[self.rank::self.num_replicas]

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch whose order the next iteration gives (with shuffle, every rank must set the same)."""
        self.epoch = epoch


class BatchSampler(Sampler):
    """Cuts a sampler's epoch into batches, lists of ints as torch's; drop_last drops a short last batch.
    The sampler may also be any iterable of indices, an index array included (as in PyTorch). The
    DataLoader reads the batches as int64 arrays (index_arrays()), one slice of the epoch's order each."""

    def __init__(self, sampler, batch_size, drop_last=False):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        for batch in self.index_arrays():
            yield batch.tolist()

    def index_arrays(self):
        """The batches as int64 arrays (views of one array holding the epoch's order)."""
        if _has_indices(self.sampler):
            order = self.sampler.indices()
        elif isinstance(self.sampler, np.ndarray):
            if self.sampler.ndim != 1 or self.sampler.dtype.kind not in "iu":
                raise TypeError(f"BatchSampler: an index array must be 1-D of integers, got {self.sampler.dtype} "
                                f"with shape {self.sampler.shape}")
            order = self.sampler.astype(np.int64, copy=False)
        else:
            order = np.fromiter(self.sampler, dtype=np.int64)
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]


# ---- Samplers added for issue 17 (torch.utils.data's WeightedRandomSampler, SubsetRandomSampler) ----

class WeightedRandomSampler(Sampler):
    """num_samples indices in [0, len(weights)), index i drawn with probability weights[i] / sum(weights),
    with or without replacement (torch.multinomial's rule), a new draw every epoch from `generator` (an int
    seed, a firstepoch.Generator or a numpy.random.Generator, kept across epochs; None: firstepoch's global
    generator). Deliberate difference: the draws are NumPy's stream, not the values torch draws."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if (not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool)
                or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator
        self._fixed = None if generator is None else as_generator(generator, "WeightedRandomSampler")

    def __len__(self):
        return self.num_samples

    def indices(self):
        w = self.weights
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise RuntimeError(f"invalid multinomial distribution ({w.size} weights, not all finite)")
        if np.any(w < 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        g = self._fixed if self._fixed is not None else as_generator(None, "WeightedRandomSampler")
        if self.replacement:
            return g.choice(w.size, size=self.num_samples, replace=True, p=w / w.sum()).astype(np.int64)
        if self.num_samples > w.size:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        # torch.multinomial's rule: the num_samples smallest Exp(1) / w; zero weights come last
        with np.errstate(divide="ignore"):
            keys = g.exponential(size=w.size) / w
        return np.argsort(keys, kind="stable")[:self.num_samples].astype(np.int64)


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order every epoch (as torch), drawn from `generator` (see
    WeightedRandomSampler)."""

    def __init__(self, indices, generator=None):
        self.indices_ = np.asarray(getattr(indices, "_data", indices))
        if self.indices_.size and (self.indices_.ndim != 1 or self.indices_.dtype.kind not in "iu"):
            raise TypeError(f"SubsetRandomSampler: indices must be a 1-D sequence of ints, got shape "
                            f"{self.indices_.shape} dtype {self.indices_.dtype}")
        self.indices_ = self.indices_.reshape(-1).astype(np.int64, copy=False)
        self.generator = generator
        self._fixed = None if generator is None else as_generator(generator, "SubsetRandomSampler")

    def __len__(self):
        return len(self.indices_)

    def indices(self):
        g = self._fixed if self._fixed is not None else as_generator(None, "SubsetRandomSampler")
        return self.indices_[g.permutation(len(self.indices_))]
