"""The Tensor protocol (conversions, copies, formatting, in-place basics, metadata, random fills) as
torch 2.13's: differences a differential fuzz against torch found, with torch's values written in."""
import copy
import pickle

import numpy as np
import pytest

import firstepoch as fe


def test_format_of_a_0d_tensor_is_its_number():
    assert f"{fe.tensor(3.5)}" == "3.5" and format(fe.tensor(2.5), "") == "2.5"
    assert f"{fe.tensor(3.14159):.2f}" == "3.14"
    assert f"{fe.tensor([1.5, 2.0])}" == str(fe.tensor([1.5, 2.0]))
    for t in (fe.tensor([3.14159]), fe.tensor([3.14159, 2.0])):  # torch: object.__format__
        with pytest.raises(TypeError):
            f"{t:.2f}"


def test_contains():
    assert fe.tensor([1, 2]) in fe.tensor([[1, 2], [3, 4]])
    assert 2 in fe.tensor([1, 2]) and 5 not in fe.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in fe.tensor([1, 2])


def test_index_of_one_element_integer_or_bool_tensors():
    assert fe.tensor([3]).__index__() == 3 and fe.tensor(True).__index__() == 1
    assert [10, 20, 30][fe.tensor([[2]])] == 30
    for bad in (fe.tensor(3.0), fe.tensor([3, 4])):
        with pytest.raises(TypeError):
            bad.__index__()


def test_copy_deepcopy_and_pickle():
    t = fe.tensor([1.5, 2.0])
    c = copy.copy(t)
    assert np.shares_memory(c.numpy(), t.numpy()) and c.tolist() == [1.5, 2.0]
    d = copy.deepcopy(t)
    assert d is not t and not np.shares_memory(d.numpy(), t.numpy()) and d.tolist() == [1.5, 2.0]
    lst = copy.deepcopy([t, t])
    assert lst[0] is lst[1]
    p = pickle.loads(pickle.dumps(t))
    assert p.tolist() == [1.5, 2.0] and p.dtype == fe.float32 and not p.requires_grad
    leaf = fe.tensor([1.5, 2.0], requires_grad=True)
    leaf.sum().backward()
    d = copy.deepcopy(leaf)
    assert d.requires_grad and d.grad.tolist() == [1.0, 1.0] and d.grad is not leaf.grad
    c = copy.copy(leaf)
    assert c.requires_grad and c.grad is None and c.is_leaf
    p = pickle.loads(pickle.dumps(leaf))
    assert p.requires_grad and p.grad is None
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(leaf * 2)
    w = fe.nn.Parameter(fe.ones(2))
    w.grad = fe.ones(2)
    dw = copy.deepcopy(w)
    assert type(dw) is fe.nn.Parameter and dw.grad is None and dw.requires_grad
    assert type(pickle.loads(pickle.dumps(w))) is fe.nn.Parameter


def test_numpy_force_and_type_as_argument():
    t = fe.tensor([1.5, 2.0], requires_grad=True)
    assert t.numpy(force=True).tolist() == [1.5, 2.0]
    with pytest.raises(RuntimeError):
        t.numpy()
    with pytest.raises(TypeError, match="other"):
        fe.tensor([1.5]).type_as(5)


def test_copy_fill_and_new_full_arguments():
    assert fe.zeros(2, 3).copy_(5).tolist() == [[5.0] * 3] * 2
    assert fe.zeros(3).copy_(fe.tensor([1.0, 2.0, 3.0]), non_blocking=True).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match="src"):
        fe.zeros(2, 3).copy_([1, 2, 3])
    with pytest.raises(RuntimeError, match="0-dimension value tensor"):
        fe.zeros(3).fill_(fe.tensor([2.0]))
    with pytest.raises(TypeError, match="value"):
        fe.zeros(3).fill_("a")
    v = fe.tensor(2.0, requires_grad=True)
    out = fe.zeros(3).fill_(v)
    assert out.requires_grad and out.tolist() == [2.0] * 3
    out.sum().backward()
    assert v.grad.item() == 3.0
    with pytest.raises(TypeError, match="size"):
        fe.tensor([1.0]).new_full(2, 3)


def test_half_refused_and_memory_format_taken():
    with pytest.raises(TypeError):
        fe.tensor([1.5]).half()
    with pytest.raises(TypeError):
        fe.tensor([1.5]).bfloat16()
    t = fe.arange(6.0).reshape(2, 3)
    assert t.clone(memory_format=None).tolist() == t.tolist()
    assert t.t().contiguous().is_contiguous()
    with pytest.raises(TypeError, match="memory_format"):  # torch: None is no memory format there
        t.contiguous(memory_format=None)


def test_metadata():
    t = fe.zeros(2, 3, 4, dtype=fe.float64)
    assert (t.nbytes, t.itemsize, t.is_complex(), t.is_cpu, t.get_device()) == (192, 8, False, True, -1)
    assert (t.is_sparse, t.is_meta, t.is_quantized) == (False, False, False)
    x = fe.zeros(2, 3)
    assert x.data_ptr() == x[0].data_ptr() == x.t().data_ptr() != x.clone().data_ptr()
    assert x[1].data_ptr() - x.data_ptr() == 12
    assert [x.storage_offset(), x[1].storage_offset(), x[1, 2].storage_offset(), x[:, 1:].storage_offset(),
            x.t()[1].storage_offset()] == [0, 3, 5, 1, 1]


def test_random_factories_arguments():
    with pytest.raises(NotImplementedError):
        fe.rand(2, dtype=fe.int64)
    with pytest.raises(NotImplementedError):
        fe.randn_like(fe.zeros(2, dtype=fe.int64))
    with pytest.raises(TypeError, match="high"):
        fe.randint(5.5, (3,))
    with pytest.raises(RuntimeError):
        fe.randint(300, (3,), dtype=fe.uint8)
    with pytest.raises(TypeError, match="'n'"):
        fe.randperm(5.0)
    with pytest.raises(RuntimeError, match="from=3 > to=2"):
        fe.zeros(3).uniform_(3, 2)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        fe.zeros(3).normal_(0, -1)


def test_exponential_and_random_fills():
    fe.manual_seed(0)
    e = fe.zeros(1000).exponential_(2.0)
    assert e.dtype == fe.float32 and bool((e >= 0).all()) and abs(e.mean().item() - 0.5) < 0.1
    for lam in (0.0, -1.0):
        with pytest.raises(RuntimeError, match="lambda > 0.0"):
            fe.zeros(3).exponential_(lam)
    with pytest.raises(RuntimeError, match="floating point"):
        fe.zeros(3, dtype=fe.int64).exponential_()
    r = fe.zeros(1000).random_(2, 5)
    assert r.dtype == fe.float32 and set(r.tolist()) == {2.0, 3.0, 4.0}
    assert set(fe.zeros(200, dtype=fe.int64).random_(5).tolist()) == {0, 1, 2, 3, 4}
    assert set(fe.zeros(200).random_(to=2).tolist()) == {0.0, 1.0}
    assert fe.zeros(50, dtype=fe.bool).random_().dtype == fe.bool
    assert bool((fe.zeros(100, dtype=fe.uint8).random_() >= 0).all())
    with pytest.raises(RuntimeError, match="from=5 >= to=2"):
        fe.zeros(3).random_(5, 2)


def test_manual_seed_takes_what_torch_takes():
    # torch.manual_seed: int(seed), 64 bits, a negative seed wraps (NumPy's seeding refused these)
    fe.manual_seed(1)
    one = fe.randn(3).tolist()
    for same in (1.5, "1", True):
        fe.manual_seed(same)
        assert fe.randn(3).tolist() == one
    fe.manual_seed(-1)
    minus_one = fe.randn(3).tolist()
    fe.manual_seed(2 ** 64 - 1)
    assert fe.randn(3).tolist() == minus_one
    for bad, error in ((2 ** 64, ValueError), (-2 ** 63 - 1, ValueError), (None, TypeError), ("a", ValueError)):
        with pytest.raises(error, match="manual_seed"):
            fe.manual_seed(bad)
    fe.manual_seed(0)
