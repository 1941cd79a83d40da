"""Curriculum learning: show the easy examples first and let the harder ones in as training goes on.

    scores = per_example_loss_of_a_first_model          # low = easy
    sampler = CurriculumSampler(scores, total_steps=600, batch_size=64, pacing="root")
    loader = DataLoader(dataset, batch_size=64, sampler=sampler)   # or batch_sampler=sampler.batch_sampler()

Examples are ranked by score (ascending for order="easy_to_hard", descending for "hard_to_easy", a
seeded random ranking for "random"). At training step s the pool is the first f(s) fraction of that
ranking, and batches are drawn from the pool shuffled: without replacement until fewer than a batch
are left or the pool grows, then it is reshuffled (so newly admitted examples come in at once, and no
batch holds an example twice). The pacing f starts at
start_fraction and reaches 1 at step full_at * total_steps:
    linear: f = f0 + (1 - f0) * p              root: f = sqrt(f0^2 + (1 - f0^2) * p)
    step:   f0, then `stages` equal jumps      (p = min(1, s / (full_at * total_steps)))
or pacing may be a function of p in [0, 1] returning a fraction. The root pacing (Platanios et al.,
2019) admits new examples quickly at first, when each is a large share of the pool. With
start_fraction=1 every order is ordinary shuffled training. One pass over the sampler is the whole
run: total_steps batches of batch_size indices; the pool always holds at least one batch.
"""
import math
import numbers

import numpy as np

from ..random import as_generator
from .sampler import BatchSampler, Sampler

PACINGS = ("linear", "root", "step")
ORDERS = ("easy_to_hard", "hard_to_easy", "random")


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"CurriculumSampler: {name} must be a positive int, got {v!r}")
    return int(v)


def _fraction(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 < v <= 1):
        raise ValueError(f"CurriculumSampler: {name} must be a number in (0, 1], got {v!r}")
    return float(v)


class CurriculumSampler(Sampler):
    """Easy-to-hard (or hard-to-easy, or random) ordering with a pacing schedule; see the module doc.

    As a Sampler, indices() is the whole run's index array (total_steps * batch_size, int64): give it to
    DataLoader(sampler=..., batch_size=batch_size). batch_sampler() gives the same batches for
    DataLoader(batch_sampler=...), and batches() yields them directly. seed: an int (every
    pass repeats the same batches), a numpy Generator, or None (firstepoch.manual_seed's generator)."""

    def __init__(self, scores, total_steps, batch_size, pacing="linear", start_fraction=0.2, full_at=0.8,
                 order="easy_to_hard", stages=4, seed=None):
        s = np.asarray(getattr(scores, "data", scores))
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"CurriculumSampler: scores must be a non-empty 1-D array (one per example), got "
                             f"shape {s.shape}")
        if s.dtype.kind not in "iuf":
            raise TypeError(f"CurriculumSampler: scores must be numbers, got dtype {s.dtype}")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"CurriculumSampler: scores must be finite; {int((~np.isfinite(s)).sum())} are not")
        if order not in ORDERS:
            raise ValueError(f"CurriculumSampler: order must be one of {ORDERS}, got {order!r}")
        if not callable(pacing) and pacing not in PACINGS:
            raise ValueError(f"CurriculumSampler: pacing must be one of {PACINGS} or a function of progress, "
                             f"got {pacing!r}")
        self.scores = s
        self.total_steps = _positive_int(total_steps, "total_steps")
        self.batch_size = _positive_int(batch_size, "batch_size")
        if self.batch_size > len(s):
            raise ValueError(f"CurriculumSampler: batch_size {self.batch_size} is larger than the {len(s)} examples")
        self.start_fraction = _fraction(start_fraction, "start_fraction")
        self.full_at = _fraction(full_at, "full_at")
        self.stages = _positive_int(stages, "stages")
        self.pacing = pacing
        self.order = order
        if seed is not None and not isinstance(seed, np.random.Generator) and (
                isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"CurriculumSampler: seed must be None, an int or a numpy.random.Generator, "
                            f"got {type(seed).__name__}")
        self.seed = seed

    # ---- the schedule ------------------------------------------------------------------------------
    def fraction(self, step):
        """The fraction of the ranking available at training step `step` (0-based)."""
        p = min(1.0, step / (self.full_at * self.total_steps))
        f0 = self.start_fraction
        if callable(self.pacing):
            f = float(self.pacing(p))
            if not (0 < f <= 1) or math.isnan(f):
                raise ValueError(f"CurriculumSampler: the pacing function returned {f} at progress {p}; "
                                 "it must return a fraction in (0, 1]")
            return f
        if self.pacing == "linear":
            return f0 + (1 - f0) * p
        if self.pacing == "root":
            return min(1.0, math.sqrt(f0 * f0 + (1 - f0 * f0) * p))
        return f0 + (1 - f0) * min(self.stages, math.floor(p * self.stages)) / self.stages

    def pool_size(self, step):
        """How many of the ranked examples batches at `step` are drawn from."""
        n = len(self.scores)
        return min(n, max(math.ceil(self.fraction(step) * n - 1e-9), self.batch_size))

    def ranking(self, rng=None):
        """Example indices from first admitted to last."""
        if self.order == "easy_to_hard":
            return np.argsort(self.scores, kind="stable").astype(np.int64)
        if self.order == "hard_to_easy":
            return np.argsort(-self.scores, kind="stable").astype(np.int64)
        rng = self._generator() if rng is None else rng
        return rng.permutation(len(self.scores)).astype(np.int64)

    def _generator(self):
        if isinstance(self.seed, numbers.Integral):
            return np.random.default_rng(int(self.seed))
        return as_generator(self.seed, "CurriculumSampler")

    # ---- the batches -------------------------------------------------------------------------------
    def batches(self):
        """The run's total_steps batches (int64 index arrays of batch_size)."""
        rng = self._generator()
        ranked = self.ranking(rng)
        size, queue, pos = 0, None, 0
        for step in range(self.total_steps):
            new_size = self.pool_size(step)
            if new_size != size:
                size, queue, pos = new_size, rng.permutation(new_size), 0
            if size - pos < self.batch_size:  # a pass over the pool ends; its short remainder is dropped
                queue, pos = rng.permutation(size), 0
            batch = ranked[queue[pos:pos + self.batch_size]]
            pos += self.batch_size
            yield batch

    def indices(self):
        return np.concatenate(list(self.batches()))

    def __len__(self):
        return self.total_steps * self.batch_size

    def batch_sampler(self):
        """A BatchSampler over this sampler: DataLoader(dataset, batch_sampler=sampler.batch_sampler())."""
        return BatchSampler(self, self.batch_size)
