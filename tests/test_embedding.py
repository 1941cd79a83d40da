"""nn.Embedding: lookup, gradients that add up over repeated indices, padding_idx, errors, vs PyTorch."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import gradcheck
from firstepoch.ops.embedding import EmbeddingFn


def test_lookup_any_index_shape(rng):
    emb = fe.nn.Embedding(7, 3)
    for shape in [(), (5,), (2, 4), (2, 1, 3)]:
        idx = rng.integers(0, 7, shape)
        out = emb(fe.tensor(idx))
        assert out.shape == shape + (3,)
        np.testing.assert_array_equal(out._data, emb.weight._data[idx])
    np.testing.assert_array_equal(emb(np.array([1, 2])).data, emb.weight._data[[1, 2]])  # a plain array works too


def test_init_is_standard_normal():
    fe.manual_seed(0)
    w = fe.nn.Embedding(2000, 50).weight.data
    assert w.dtype == np.float32 and abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_repeated_indices_add_their_gradients(rng):
    emb = fe.nn.Embedding(5, 2)
    idx = np.array([[3, 1, 3], [3, 0, 1]])
    g = rng.standard_normal((2, 3, 2)).astype(np.float32)
    (emb(fe.tensor(idx)) * fe.tensor(g)).sum().backward()
    expected = np.zeros((5, 2), np.float32)
    for i, row in zip(idx.ravel(), g.reshape(-1, 2)):
        expected[i] += row
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-6)
    assert not emb.weight.grad[[2, 4]].any()  # unused rows get exactly zero


def test_padding_idx_row_is_zero_and_gets_no_gradient():
    emb = fe.nn.Embedding(6, 4, padding_idx=-2)
    assert emb.padding_idx == 4 and not emb.weight._data[4].any() and emb.weight._data[3].any()
    out = emb(fe.tensor(np.array([4, 1, 4])))
    assert not out._data[0].any()
    out.sum().backward()
    assert not emb.weight.grad[4].any()
    np.testing.assert_array_equal(emb.weight.grad[1], np.ones(4))


def test_gradcheck_float64(rng):
    w = fe.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    gradcheck(lambda w_: EmbeddingFn.apply(w_, idx), [w])


def test_errors():
    emb = fe.nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"index 4 is out of range \[0, 4\)"):
        emb(fe.tensor(np.array([0, 4])))
    with pytest.raises(IndexError, match=r"index -1 is out of range \[0, 4\)"):
        emb(np.array([[-1, 2]]))
    with pytest.raises(RuntimeError, match="integer"):  # torch's class
        emb(fe.tensor(np.array([0.0, 1.0])))
    with pytest.raises(RuntimeError, match="integer"):
        emb(np.array([True, False]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):  # torch's class
        fe.nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(RuntimeError, match="negative dimension"):
        fe.nn.Embedding(-1, 2)


def test_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(9, 5, padding_idx=2)
    ours = fe.nn.Embedding(9, 5, padding_idx=2)
    ours.weight._data[...] = theirs.weight.detach().numpy()
    idx = rng.integers(0, 9, (3, 7))
    g = rng.standard_normal((3, 7, 5)).astype(np.float32)
    out_t = theirs(torch.tensor(idx))
    (out_t * torch.tensor(g)).sum().backward()
    out = ours(fe.tensor(idx))
    (out * fe.tensor(g)).sum().backward()
    np.testing.assert_array_equal(out._data, out_t.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert dict(ours.state_dict()).keys() == theirs.state_dict().keys()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, V, D, chunk", [(2048, 65, 128, 1 << 20), (37, 5, 3, 7), (0, 4, 3, 8), (9, 1, 1, 2),
                                            (101, 13, 17, 17 * 3 + 1)])
def test_add_rows_at_is_np_add_at_bitwise(monkeypatch, dtype, n, V, D, chunk):
    """The embedding's scatter-add on the flat weight (in chunks of rows) sums what np.add.at on the 2-D
    array sums, in the same order: bitwise equal, repeated rows included."""
    from firstepoch.ops import embedding as E
    monkeypatch.setattr(E, "_ADD_ROWS_CHUNK", chunk)
    rng = np.random.default_rng(n + V + D)
    rows = rng.integers(0, V, n)
    vals = (rng.standard_normal((n, D)) * 10.0 ** rng.integers(-6, 6, (n, 1))).astype(dtype)
    want = np.zeros((V, D), dtype)
    np.add.at(want, rows, vals)
    got = E.add_rows_at(np.zeros((V, D), dtype), rows, vals)
    assert got.tobytes() == want.tobytes()
    strided = np.zeros((V, 2 * D), dtype)[:, ::2]  # not contiguous: np.add.at itself
    np.testing.assert_array_equal(E.add_rows_at(strided, rows, vals), want)
