"""CurriculumSampler: each batch comes from the pool the pacing allows, ordered by score; the pool
grows as the schedule says; batches are shuffled, seeded, and usable through DataLoader."""
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import CurriculumSampler, DataLoader, TensorDataset


def _scores(n=100, seed=0):
    return np.random.default_rng(seed).permutation(n).astype(np.float64)   # distinct: a strict ranking


def test_every_batch_comes_from_the_easiest_pool_allowed_at_its_step():
    scores = _scores()
    s = CurriculumSampler(scores, total_steps=50, batch_size=8, start_fraction=0.2, full_at=0.8, seed=0)
    rank = np.empty(100, np.int64)
    rank[np.argsort(scores)] = np.arange(100)
    seen_max = []
    for step, batch in enumerate(s.batches()):
        assert batch.dtype == np.int64 and batch.shape == (8,)
        assert len(set(batch.tolist())) == 8                      # no repeats inside a batch
        assert rank[batch].max() < s.pool_size(step)             # only admitted examples
        seen_max.append(rank[batch].max())
    assert s.pool_size(0) == 20 and s.pool_size(40) == 100 and s.pool_size(49) == 100
    assert max(seen_max[:5]) < 30 and max(seen_max[40:]) >= 80      # hard examples arrive late


def test_hard_to_easy_reverses_the_ranking_and_random_ignores_scores():
    scores = _scores()
    hard = CurriculumSampler(scores, 10, 10, order="hard_to_easy", start_fraction=0.1, full_at=1.0, seed=1)
    first = next(hard.batches())
    np.testing.assert_array_equal(np.sort(scores[first]), np.arange(90, 100))   # the 10 hardest
    rnd = CurriculumSampler(scores, 10, 10, order="random", start_fraction=0.1, seed=1)
    np.testing.assert_array_equal(rnd.ranking(np.random.default_rng(5)), np.random.default_rng(5).permutation(100))
    # with everything available from the start, every order is plain shuffled training over all examples
    full = CurriculumSampler(scores, 10, 10, start_fraction=1.0, seed=2)
    np.testing.assert_array_equal(np.sort(full.indices()), np.arange(100))


@pytest.mark.parametrize("pacing", ["linear", "root", "step"])
def test_pacing_schedules(pacing):
    s = CurriculumSampler(_scores(), total_steps=100, batch_size=4, pacing=pacing, start_fraction=0.25,
                          full_at=0.5, stages=3)
    f = np.array([s.fraction(t) for t in range(100)])
    assert f[0] == pytest.approx(0.25) and np.all(f[50:] == 1.0)
    assert np.all(np.diff(f) >= -1e-12)                          # never shrinks
    p = 20 / 50
    expected = {"linear": 0.25 + 0.75 * p, "root": math.sqrt(0.25 ** 2 + (1 - 0.25 ** 2) * p),
                "step": 0.25 + 0.75 * math.floor(p * 3) / 3}[pacing]
    assert f[20] == pytest.approx(expected)
    if pacing == "step":
        assert len(np.unique(f)) == 4                            # f0 and three jumps
    sizes = [s.pool_size(t) for t in range(100)]
    assert sizes[0] == 25 and sizes[-1] == 100


def test_root_admits_faster_than_linear_early():
    lin = CurriculumSampler(_scores(), 100, 4, pacing="linear")
    root = CurriculumSampler(_scores(), 100, 4, pacing="root")
    assert root.fraction(10) > lin.fraction(10)


def test_callable_pacing_and_its_errors():
    s = CurriculumSampler(_scores(), 10, 5, pacing=lambda p: 0.5 + 0.5 * p, full_at=1.0)
    assert s.pool_size(0) == 50 and s.pool_size(5) == 75
    bad = CurriculumSampler(_scores(), 10, 5, pacing=lambda p: 0.0)
    with pytest.raises(ValueError, match="pacing function returned"):
        bad.fraction(0)


def test_pool_is_never_smaller_than_a_batch():
    s = CurriculumSampler(_scores(), 5, 30, start_fraction=0.05)
    assert s.pool_size(0) == 30
    assert all(len(set(b.tolist())) == 30 for b in s.batches())


def test_seeded_and_repeatable():
    a = CurriculumSampler(_scores(), 20, 8, order="random", seed=3)
    b = CurriculumSampler(_scores(), 20, 8, order="random", seed=3)
    c = CurriculumSampler(_scores(), 20, 8, order="random", seed=4)
    np.testing.assert_array_equal(a.indices(), b.indices())
    np.testing.assert_array_equal(a.indices(), a.indices())          # every pass repeats
    assert not np.array_equal(a.indices(), c.indices())
    fe.manual_seed(7)
    d1 = CurriculumSampler(_scores(), 20, 8).indices()
    fe.manual_seed(7)
    d2 = CurriculumSampler(_scores(), 20, 8).indices()
    np.testing.assert_array_equal(d1, d2)


def test_works_with_dataloader_as_sampler_and_batch_sampler():
    x = np.arange(100, dtype=np.float32)[:, None]
    y = np.arange(100)
    ds = TensorDataset(x, y)
    s = CurriculumSampler(_scores(), 12, 10, seed=0)
    expected = list(s.batches())
    for loader in (DataLoader(ds, batch_size=10, sampler=s), DataLoader(ds, batch_sampler=s.batch_sampler())):
        got = [yb._data for _, yb in loader]
        assert len(loader) == 12 and len(got) == 12
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    assert len(s) == 120 and len(list(iter(s))) == 120                # as a Sampler: indices, one by one


def test_bad_arguments():
    sc = _scores()
    with pytest.raises(ValueError, match="1-D"):
        CurriculumSampler(np.zeros((2, 2)), 1, 1)
    with pytest.raises(ValueError, match="non-empty"):
        CurriculumSampler([], 1, 1)
    with pytest.raises(TypeError, match="numbers"):
        CurriculumSampler(np.array(["a"]), 1, 1)
    with pytest.raises(ValueError, match="finite"):
        CurriculumSampler([0.0, np.nan], 1, 1)
    with pytest.raises(ValueError, match="total_steps"):
        CurriculumSampler(sc, 0, 1)
    with pytest.raises(ValueError, match="batch_size"):
        CurriculumSampler(sc, 1, 2.0)
    with pytest.raises(ValueError, match="larger than the 100 examples"):
        CurriculumSampler(sc, 1, 101)
    with pytest.raises(ValueError, match="start_fraction"):
        CurriculumSampler(sc, 1, 1, start_fraction=0)
    with pytest.raises(ValueError, match="full_at"):
        CurriculumSampler(sc, 1, 1, full_at=1.5)
    with pytest.raises(ValueError, match="pacing"):
        CurriculumSampler(sc, 1, 1, pacing="exp")
    with pytest.raises(ValueError, match="order"):
        CurriculumSampler(sc, 1, 1, order="backwards")
    with pytest.raises(ValueError, match="stages"):
        CurriculumSampler(sc, 1, 1, stages=0)
    with pytest.raises(TypeError, match="seed"):
        CurriculumSampler(sc, 1, 1, seed="x")
