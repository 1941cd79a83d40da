"""Tensor ops against NumPy (float32 and float64), broadcasting gradients, the engine's rules, dtype
rules and bad inputs."""
import numpy as np
import pytest

import firstepoch as fe

DTYPES = [np.float32, np.float64]


def t(a, dtype=np.float64, grad=True):
    return fe.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_and_reductions_match_numpy(rng, dtype):
    a = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal((4,)).astype(dtype)
    x, y = fe.tensor(a), fe.tensor(b)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    cases = [
        (x + y, a + b), (x - y, a - b), (x * y, a * b), (x / (y.abs() + 1), a / (np.abs(b) + 1)),
        (x ** 2, a ** 2), (-x, -a), (x.exp(), np.exp(a)), ((x.abs() + 1).log(), np.log(np.abs(a) + 1)),
        ((x.abs() + 1).sqrt(), np.sqrt(np.abs(a) + 1)), (x.clip(-0.5, 0.5), np.clip(a, -0.5, 0.5)),
        (x.relu(), np.maximum(a, 0)), (x.tanh(), np.tanh(a)), (x.sigmoid(), 1 / (1 + np.exp(-a))),
        (x.softplus(), np.log1p(np.exp(a))), (x.sum(), a.sum()), (x.sum(dim=1), a.sum(1)),
        (x.mean(axis=0, keepdim=True), a.mean(0, keepdims=True)), (x.max(dim=1).values, a.max(1)),
        (x.min(), a.min()), (x.var(dim=1), a.var(1, ddof=1)), (x.reshape(2, 6), a.reshape(2, 6)),
        (x.T, a.T), (x.permute(1, 0), a.T), (x.flatten(), a.ravel()), (x.unsqueeze(0), a[None]),
        (x[1:, ::2], a[1:, ::2]), (x @ x.T, a @ a.T), (x.softmax(-1), np.exp(a) / np.exp(a).sum(1, keepdims=True)),
    ]
    for got, want in cases:
        assert got.dtype == dtype
        np.testing.assert_allclose(got.data, want, **tol)


def test_float_defaults_and_dtype_rules():
    assert fe.tensor([1.0, 2.0]).dtype == np.float32
    assert fe.tensor(np.zeros(2)).dtype == np.float64      # arrays keep their float dtype
    assert fe.tensor([1, 2]).dtype == np.int64
    assert (fe.tensor([1.0]) * 2.5).dtype == np.float32     # a Python number takes the tensor's dtype
    with pytest.raises(TypeError, match="dtypes differ"):
        fe.tensor([1.0]) + fe.tensor(np.ones(1))
    with pytest.raises(TypeError, match="only floating tensors can require grad"):
        fe.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="float16"):
        fe.tensor(np.ones(2, np.float16))


def test_broadcast_gradients_are_unbroadcast():
    a = t(np.ones((2, 3)))
    b = t(np.arange(3.0))
    c = t(np.ones((2, 1)))
    ((a * b + c) ** 2).sum().backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,) and c.grad.shape == (2, 1)
    base = (np.ones((2, 3)) * np.arange(3.0) + 1)
    np.testing.assert_allclose(b.grad, (2 * base * np.ones((2, 3))).sum(0))
    np.testing.assert_allclose(c.grad, (2 * base).sum(1, keepdims=True))


def test_gradients_accumulate_when_a_tensor_is_used_twice():
    x = t([3.0])
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, [7.0])


def test_grad_accumulates_across_backward_calls_until_zeroed():
    x = t([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_long_chain_has_no_recursion_limit():
    x = t([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])


def test_graph_freed_after_backward_unless_retained():
    x = t([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_no_grad_records_nothing():
    x = t([1.0])
    with fe.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert fe.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_backward_needs_scalar_or_grad():
    x = t([1.0, 2.0])
    with pytest.raises(RuntimeError, match="single-element"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 0.5]))
    np.testing.assert_allclose(x.grad, [2.0, 1.0])


def test_indexing_scatters_and_accumulates():
    x = t(np.arange(6.0).reshape(3, 2))
    x[np.array([0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad, [[2, 2], [0, 0], [1, 1]])
    with pytest.raises(IndexError, match="out of range for a tensor of shape"):
        x[5]


def test_cat_stack_where():
    a, b = t(np.ones((2, 2))), t(np.zeros((2, 3)))
    c = fe.cat([a, b], dim=1)
    assert c.shape == (2, 5)
    (c * fe.tensor(np.arange(10.0).reshape(2, 5))).sum().backward()
    np.testing.assert_allclose(a.grad, [[0, 1], [5, 6]])
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(3, 3\)"):
        fe.cat([a, t(np.ones((3, 3)))], dim=1)
    s = fe.stack([a, a], dim=0)
    assert s.shape == (2, 2, 2)
    w = fe.where(a.data > 0, a, 0.0)
    assert w.shape == (2, 2)


def test_matmul_errors_name_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) @ b \(2, 3\)"):
        fe.ones(2, 3) @ fe.ones(2, 3)


def test_max_splits_gradient_among_ties():
    x = t([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0, 0.5, 0.5])


def test_log_softmax_stable_at_extreme_logits():
    x = fe.tensor(np.array([[1e4, -1e4, 0.0]], np.float32), requires_grad=True)
    y = x.log_softmax(-1)
    assert np.isfinite(y.data).all()
    np.testing.assert_allclose(y.data, [[0.0, -2e4, -1e4]], rtol=1e-6)
    y.sum().backward()
    assert np.isfinite(x.grad).all()


def test_constructors_and_seed():
    fe.manual_seed(1)
    a = fe.randn(3, 4)
    fe.manual_seed(1)
    b = fe.randn(3, 4)
    assert np.array_equal(a.data, b.data) and a.dtype == np.float32
    assert fe.zeros(2, 3).shape == (2, 3) and fe.ones((2,)).data.sum() == 2
    assert fe.arange(5).dtype == np.int64 and fe.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert fe.zeros_like(a).shape == a.shape and fe.rand(2).data.max() < 1
    assert fe.tensor([[1.0]]).item() == 1.0


def test_torch_agrees_on_a_small_graph():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    x, w = t(a), t(b)
    y = ((x @ w).tanh() * 2 - (x @ w).sigmoid()).log_softmax(-1).sum()
    y.backward()
    xt = torch.tensor(a, requires_grad=True)
    wt = torch.tensor(b, requires_grad=True)
    yt = ((xt @ wt).tanh() * 2 - (xt @ wt).sigmoid()).log_softmax(-1).sum()
    yt.backward()
    np.testing.assert_allclose(y.item(), yt.item(), rtol=1e-10)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cast_is_differentiable():
    x = fe.tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [2.0, 2.0])
    with pytest.raises(TypeError, match="detach"):
        x.long()
    assert fe.tensor(np.array([1.5])).long().dtype == np.int64
