"""torch's global RNG functions: manual_seed returns default_generator, seed, initial_seed,
get_rng_state / set_rng_state (a uint8 Tensor, torch's error classes), fork_rng, and Generator's
uint8-Tensor state. The values are NumPy's stream (README porting table); what is checked is the
behaviour torch code relies on: a saved state repeats the draws that followed it."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import DataLoader, Dataset, get_worker_info


def test_manual_seed_returns_the_default_generator_and_initial_seed_reads_it():
    g = fe.manual_seed(3)
    assert g is fe.default_generator and isinstance(g, fe.Generator)
    assert fe.initial_seed() == 3 and fe.random.initial_seed() == 3
    fe.manual_seed(-1)  # wraps to its unsigned 64-bit value, as torch
    assert fe.initial_seed() == 2 ** 64 - 1
    a = fe.randn(4, generator=fe.manual_seed(11)).numpy()  # the returned generator is usable as generator=
    fe.manual_seed(11)
    np.testing.assert_array_equal(a, fe.randn(4).numpy())


def test_seed_draws_a_fresh_seed_and_records_it():
    s1 = fe.seed()
    s2 = fe.random.seed()
    assert isinstance(s1, int) and 0 <= s1 < 2 ** 64 and s1 != s2
    assert fe.initial_seed() == s2


def test_rng_state_round_trips_draws_and_seed():
    fe.manual_seed(5)
    fe.rand(3)
    state = fe.get_rng_state()
    assert state.dtype == fe.uint8 and state.shape == (48,) and not state.requires_grad
    after = [fe.rand(5).numpy(), fe.randint(0, 100, (4,)).numpy(), fe.randperm(7).numpy()]
    assert not np.array_equal(state.numpy(), fe.get_rng_state().numpy())  # a copy, not a view of the stream
    fe.manual_seed(9)
    fe.set_rng_state(state)
    assert fe.initial_seed() == 5  # the seed travels with the state, as torch's
    again = [fe.rand(5).numpy(), fe.randint(0, 100, (4,)).numpy(), fe.randperm(7).numpy()]
    for x, y in zip(after, again):
        np.testing.assert_array_equal(x, y)
    fe.set_rng_state(state.reshape(6, 8))  # torch reads the bytes whatever the shape
    np.testing.assert_array_equal(fe.rand(5).numpy(), after[0])
    # a buffered 32-bit half (NumPy's has_uint32) survives the round trip
    fe.random.generator().integers(0, 2 ** 16, dtype=np.uint16)
    st = fe.get_rng_state()
    x = fe.random.generator().integers(0, 2 ** 32, size=3, dtype=np.uint32)
    fe.set_rng_state(st)
    np.testing.assert_array_equal(fe.random.generator().integers(0, 2 ** 32, size=3, dtype=np.uint32), x)


def test_set_rng_state_refuses_what_torch_refuses():
    state = fe.get_rng_state()
    with pytest.raises(TypeError, match="ByteTensor"):
        fe.set_rng_state(state.numpy())
    with pytest.raises(TypeError, match="ByteTensor"):
        fe.set_rng_state(list(state.numpy()))
    with pytest.raises(TypeError, match="ByteTensor"):
        fe.set_rng_state(fe.zeros(48))
    with pytest.raises(RuntimeError, match="size to be 3"):
        fe.set_rng_state(fe.zeros(3, dtype=fe.uint8))
    with pytest.raises(RuntimeError, match="not a generator state"):
        fe.set_rng_state(fe.zeros(48, dtype=fe.uint8))  # an even PCG increment: no state get_rng_state writes
    np.testing.assert_array_equal(fe.get_rng_state().numpy(), state.numpy())  # a refused state changes nothing


def test_refusals_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(lambda: fe.set_rng_state(fe.zeros(48)), lambda: torch.set_rng_state(torch.zeros(5056))),
                         (lambda: fe.set_rng_state([1, 2]), lambda: torch.set_rng_state([1, 2])),
                         (lambda: fe.set_rng_state(fe.zeros(3, dtype=fe.uint8)),
                          lambda: torch.set_rng_state(torch.zeros(3, dtype=torch.uint8))),
                         (lambda: fe.Generator().set_state(fe.zeros(3)),
                          lambda: torch.Generator().set_state(torch.zeros(3)))]:
        with pytest.raises(Exception) as a:
            ours()
        with pytest.raises(Exception) as b:
            theirs()
        assert type(a.value) is type(b.value), (a.value, b.value)
    assert type(torch.manual_seed(1)) is type(torch.default_generator)  # what ours mirrors


def test_fork_rng_restores_the_state_after_the_block():
    fe.manual_seed(2)
    expected = fe.rand(4).numpy()
    fe.manual_seed(2)
    with fe.random.fork_rng():
        fe.rand(100)
        fe.manual_seed(77)
    np.testing.assert_array_equal(fe.rand(4).numpy(), expected)
    assert fe.initial_seed() == 2
    fe.manual_seed(2)
    with fe.random.fork_rng(enabled=False):
        fe.rand(1)
    assert not np.array_equal(fe.rand(4).numpy(), expected)
    fe.manual_seed(2)
    with pytest.raises(KeyError):
        with fe.random.fork_rng(devices=[]):
            fe.rand(50)
            raise KeyError("inside")
    np.testing.assert_array_equal(fe.rand(4).numpy(), expected)  # restored on an exception too


def test_generator_state_is_a_uint8_tensor_and_the_dict_still_works():
    g = fe.Generator().manual_seed(123)
    st = g.get_state()
    assert isinstance(st, fe.Tensor) and st.dtype == fe.uint8 and st.shape == (48,)
    a = fe.rand(6, generator=g).numpy()
    other = fe.Generator().manual_seed(1)
    assert other.set_state(st) is other and other.initial_seed() == 123
    np.testing.assert_array_equal(fe.rand(6, generator=other).numpy(), a)
    d = fe.random.get_state()  # the JSON-able dict checkpoints keep
    fe.Generator().set_state(d)
    x = fe.rand(3).numpy()
    fe.random.set_state(d)
    np.testing.assert_array_equal(fe.rand(3).numpy(), x)


class _Seeds(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.seed, fe.initial_seed()], dtype=np.uint64)


@pytest.mark.fork_child
def test_initial_seed_in_a_worker_is_the_workers_seed():
    """torch's docs seed NumPy in worker_init_fn from torch.initial_seed(): it must be the worker's seed."""
    rows = [b.numpy()[0] for b in DataLoader(_Seeds(), batch_size=1, num_workers=2)]
    assert sorted({int(r[0]) for r in rows}) == [0, 1]
    assert all(int(r[1]) == int(r[2]) for r in rows)


# ---- draws from tensors that require grad: recorded with a zero gradient, as torch -------------------

def _draws(fe_or_torch, mean, std, probs, rate):
    m = fe_or_torch
    return {"normal(t, t)": m.normal(mean, std), "normal(t, 1.0)": m.normal(mean, 1.0),
            "normal(0.5, t)": m.normal(0.5, std), "bernoulli(t)": m.bernoulli(probs),
            "t.bernoulli(0.3)": probs.bernoulli(0.3), "poisson(t)": m.poisson(rate)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_draws_from_parameters_that_require_grad_are_recorded_with_zero_gradients(dtype):
    mean = fe.tensor(np.zeros((2, 3), dtype), requires_grad=True)
    std = fe.tensor(np.ones(3, dtype), requires_grad=True)
    probs = fe.tensor(np.full((2, 3), 0.5, dtype), requires_grad=True)
    rate = fe.tensor(np.full(4, 2.0, dtype), requires_grad=True)
    for name, y in _draws(fe, mean, std, probs, rate).items():
        assert y.requires_grad and y.grad_fn is not None, name
        assert y.dtype == dtype, name
        for t in (mean, std, probs, rate):
            t.grad = None
        (y * 3.0).sum().backward()
        used = {"normal(t, t)": (mean, std), "normal(t, 1.0)": (mean,), "normal(0.5, t)": (std,),
                "bernoulli(t)": (probs,), "t.bernoulli(0.3)": (probs,), "poisson(t)": (rate,)}[name]
        for t in used:
            assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == dtype, name
            assert not t.grad.numpy().any(), name
    with fe.no_grad():
        assert not any(y.requires_grad for y in _draws(fe, mean, std, probs, rate).values())
    plain = [t.detach() for t in (mean, std, probs, rate)]
    assert not any(y.requires_grad for y in _draws(fe, *plain).values())


def test_draws_record_as_torch_does():
    torch = pytest.importorskip("torch")
    args = [np.zeros((2, 3), np.float32), np.ones(3, np.float32), np.full((2, 3), 0.5, np.float32),
            np.full(4, 2.0, np.float32)]
    for grads in ([True, True, True, True], [False, True, False, True], [False] * 4):
        ours = _draws(fe, *(fe.tensor(a, requires_grad=g) for a, g in zip(args, grads)))
        theirs = _draws(torch, *(torch.tensor(a, requires_grad=g) for a, g in zip(args, grads)))
        assert {k: v.requires_grad for k, v in ours.items()} == {k: v.requires_grad for k, v in theirs.items()}
