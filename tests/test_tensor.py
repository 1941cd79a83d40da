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
        np.testing.assert_allclose(got._data, want, **tol)


def test_float_defaults_and_dtype_rules():
    assert fe.tensor([1.0, 2.0]).dtype == np.float32
    assert fe.tensor(np.zeros(2)).dtype == np.float64      # arrays keep their float dtype
    assert fe.tensor([1, 2]).dtype == np.int64
    assert (fe.tensor([1.0]) * 2.5).dtype == np.float32     # a Python number takes the tensor's dtype
    assert (fe.tensor([1.0]) + fe.tensor(np.ones(1))).dtype == np.float64  # torch's promotion
    with pytest.raises(RuntimeError, match="floating point .*can require gradients"):
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
    with pytest.raises(RuntimeError, match=r"tensor 1 has shape \(3, 3\)"):
        fe.cat([a, t(np.ones((3, 3)))], dim=1)
    s = fe.stack([a, a], dim=0)
    assert s.shape == (2, 2, 2)
    w = fe.where(a._data > 0, a, 0.0)
    assert w.shape == (2, 2)


def test_matmul_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\) @ b \(2, 3\)"):
        fe.ones(2, 3) @ fe.ones(2, 3)


def test_max_splits_gradient_among_ties():
    x = t([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0, 0.5, 0.5])


def test_log_softmax_stable_at_extreme_logits():
    x = fe.tensor(np.array([[1e4, -1e4, 0.0]], np.float32), requires_grad=True)
    y = x.log_softmax(-1)
    assert np.isfinite(y._data).all()
    np.testing.assert_allclose(y._data, [[0.0, -2e4, -1e4]], rtol=1e-6)
    y.sum().backward()
    assert np.isfinite(x.grad).all()


def test_constructors_and_seed():
    fe.manual_seed(1)
    a = fe.randn(3, 4)
    fe.manual_seed(1)
    b = fe.randn(3, 4)
    assert np.array_equal(a._data, b._data) and a.dtype == np.float32
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
    assert not x.long().requires_grad  # as torch: an integer cast leaves the graph
    assert fe.tensor(np.array([1.5])).long().dtype == np.int64


# ---- more ops against NumPy, both dtypes ---------------------------------------------------------------

def _erf(v):
    import math
    return np.vectorize(math.erf)(v)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_and_binary_variants_match_numpy(rng, dtype):
    a = rng.standard_normal((3, 5)).astype(dtype)
    b = (np.abs(rng.standard_normal((5,))) + 0.5).astype(dtype)
    x, y = fe.tensor(a), fe.tensor(b)
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-7)  # erf fit: 1.2e-7
    c = np.sqrt(2 / np.pi)
    cases = [
        (x.leaky_relu(0.2), np.where(a > 0, a, 0.2 * a)),
        (x.gelu(), a * 0.5 * (1 + _erf(a / np.sqrt(2)))),
        (x.gelu(approximate="tanh"), 0.5 * a * (1 + np.tanh(c * (a + 0.044715 * a ** 3)))),
        (2.0 - x, 2 - a), (1.0 / y, 1 / b), (y ** x, b ** a), (2.0 ** x, 2.0 ** a),
        (x.amax(dim=(0, 1)), a.max()), (x.amin(dim=0), a.min(0)), (x.std(dim=1), a.std(1, ddof=1)),
        (fe.stack([x, x * 2], dim=1), np.stack([a, 2 * a], axis=1)),
        (fe.cat([x, x[:1]], dim=0), np.concatenate([a, a[:1]])),
        (fe.where(x > 0, x, 0.0), np.where(a > 0, a, 0)), (fe.where(x > 0, 1.0, x), np.where(a > 0, 1, a)),
        (x[x > 0], a[a > 0]), (x[fe.tensor([2, 0])], a[[2, 0]]), (x[..., None, 1], a[..., None, 1]),
        (x.transpose(0, 1), a.T), (x.unsqueeze(-1).squeeze(-1), a), (x.reshape(15, 1).squeeze(), a.ravel()),
    ]
    for got, want in cases:
        assert got.dtype == dtype
        np.testing.assert_allclose(got._data, want, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_inputs_stay_finite(dtype):
    x = fe.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow or NaN on the way
        s = x.sigmoid()
        p = x.softplus()
        (s.sum() + p.sum()).backward()
    np.testing.assert_allclose(s._data, [0, 1 / (1 + np.exp(50.0)), 0.5, 1 / (1 + np.exp(-50.0)), 1], atol=1e-30)
    np.testing.assert_allclose(p._data, [0, np.log1p(np.exp(-50.0)), np.log(2), 50, 1000], rtol=1e-6)
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_and_vector_matmul_forward_and_backward(rng, dtype):
    a = rng.standard_normal((2, 3, 4)).astype(dtype)
    b = rng.standard_normal((4, 5)).astype(dtype)
    v = rng.standard_normal((4,)).astype(dtype)
    x, w, u = (fe.tensor(z, requires_grad=True) for z in (a, b, v))
    rtol, atol = (1e-5, 1e-5) if dtype == np.float32 else (1e-12, 1e-12)
    y = x @ w
    np.testing.assert_allclose(y._data, a @ b, rtol=rtol, atol=atol)
    g = rng.standard_normal((2, 3, 5)).astype(dtype)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g @ b.T, rtol=rtol, atol=atol)
    np.testing.assert_allclose(w.grad, np.einsum("bmk,bmn->kn", a, g), rtol=rtol, atol=atol)
    z = x @ u  # (2, 3)
    np.testing.assert_allclose(z._data, a @ v, rtol=rtol, atol=atol)
    z.sum().backward()
    np.testing.assert_allclose(u.grad, a.sum(axis=(0, 1)), rtol=rtol, atol=atol)
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_broadcast_gradients_of_sub_and_div():
    a = t(np.full((2, 3), 6.0))
    b = t(np.array([[1.0], [2.0]]))
    (a - b).sum().backward()
    np.testing.assert_array_equal(b.grad, [[-3.0], [-3.0]])
    a.grad = b.grad = None
    (a / b).sum().backward()
    np.testing.assert_allclose(a.grad, [[1, 1, 1], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(b.grad, [[-18.0], [-18.0 / 4]])


def test_max_min_with_dim_return_values_and_indices():
    x = t([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values._data, [5.0, 7.0])
    assert indices.dtype == np.int64 and indices.tolist() == [1, 0]
    values.sum().backward()  # ties: the gradient goes to the index returned (the first maximum)
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    r = x.min(axis=0, keepdim=True)
    assert r.values.shape == (1, 3) and r.indices.tolist() == [[0, 1, 0]]
    _, pred = x.max(1)  # the PyTorch accuracy idiom
    assert pred.tolist() == [1, 0]
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))


def test_amax_splits_gradient_among_ties():
    x = t([[2.0, 2.0, 1.0]])
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.5, 0.5, 0]])


def test_dtype_promotion_rules():
    i = fe.tensor([1, 2, 3])
    f32 = fe.tensor([1.0, 1.0, 1.0])
    f64 = fe.tensor(np.ones(3))
    assert (i * 2.5).dtype == np.float32 and (i * 2).dtype == np.int64
    assert (i / 2).dtype == np.float32 and (i / i).dtype == np.float32
    assert (i + f32).dtype == np.float32 and (f64 - i).dtype == np.float64
    assert ((f32 > 0) * f32).dtype == np.float32 and (i ** 0.5).dtype == np.float32
    assert (f64 * np.float32(2.0)).dtype == np.float64  # a number takes the tensor's dtype
    assert (f32 * f64).dtype == np.float64 and fe.cat([f32, f64]).dtype == np.float64  # as torch
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        f64 @ f32.reshape(3, 1)  # matmul does not promote (as torch)
    with pytest.raises(TypeError, match="unsupported operand type str"):
        f32 + "1"


def test_dim_out_of_range_raises_index_error():
    x = fe.ones(2, 3)
    for call in (lambda: fe.cat([x, x], dim=2), lambda: fe.stack([x, x], dim=3), lambda: x.unsqueeze(3),
                 lambda: x.squeeze(2), lambda: x.sum(dim=2), lambda: x.mean(axis=-3), lambda: x.max(dim=2),
                 lambda: x.transpose(0, 2), lambda: x.flatten(0, 5)):
        with pytest.raises(IndexError, match="out of range"):
            call()
    assert fe.cat([x, x], dim=-1).shape == (2, 6) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert fe.ones(2, 3, 4).flatten(1).shape == (2, 12) and x.squeeze(0).shape == (2, 3)
    with pytest.raises(RuntimeError, match="start_dim"):  # torch's class
        fe.ones(2, 3, 4).flatten(2, 1)


def test_bad_inputs_have_clear_messages():
    x = fe.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"stack: tensor 1 has shape \(3, 2\), tensor 0 has \(2, 3\)"):
        fe.stack([x, fe.ones(3, 2)])
    with pytest.raises(RuntimeError, match=r"inner dimensions differ: a \(2, 3\) @ b \(2, 3\)"):
        x @ x
    with pytest.raises(RuntimeError, match="cond must be a boolean"):
        fe.where(fe.tensor([1, 0]), fe.ones(2), 0.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        fe.tensor([[1, 2]]) @ fe.tensor([[1], [2]])
    with pytest.raises(RuntimeError, match=r"item: only a one-element tensor .* shape \(2, 3\)"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match="cat: expected a non-empty list"):
        fe.cat([])
    with pytest.raises(RuntimeError, match="approximate argument must be"):  # as torch
        x.gelu(approximate="fast")
    assert bool(fe.tensor([2.0])) and float(fe.tensor([[2.5]])) == 2.5 and int(fe.tensor(3)) == 3


def test_tensor_copies_and_from_numpy_shares():
    arr = np.ones(3, np.float32)
    a = fe.tensor(arr)
    b = fe.tensor(a)
    arr[0] = 5.0
    a._data[1] = 7.0
    assert a._data[0] == 1.0 and b._data[1] == 1.0
    shared = fe.from_numpy(arr)
    arr[2] = 9.0
    assert shared._data[2] == 9.0
    assert fe.tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    assert fe.full((2, 2), 3.0).data.sum() == 12.0 and fe.ones_like(fe.tensor([1, 2])).dtype == np.int64


def test_indexing_backward_for_basic_fancy_and_mask_indices():
    x = t(np.arange(12.0).reshape(3, 4))
    x[1:, ::2].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]])
    x.grad = None
    x[np.array([1, 1]), np.array([3, 3])].sum().backward()  # the same element twice: gradients add
    assert x.grad[1, 3] == 2.0 and x.grad.sum() == 2.0
    x.grad = None
    x[x > 8.5].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [0] * 9 + [1, 1, 1])
    x.grad = None
    for row in x:  # iteration indexes row by row and stops cleanly
        (row * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0))


def test_eq_and_ne_are_elementwise_and_give_bool_tensors():
    a, b = fe.tensor([1, 2, 3]), fe.tensor([1, 0, 3])
    eq, ne = a == b, a != b
    assert isinstance(eq, fe.Tensor) and eq.dtype == np.bool_ and not eq.requires_grad
    np.testing.assert_array_equal(eq._data, [True, False, True])
    np.testing.assert_array_equal(ne._data, [False, True, False])
    np.testing.assert_array_equal(a.eq(b)._data, eq._data)
    np.testing.assert_array_equal(a.ne(b)._data, ne._data)
    # a number and a NumPy array (on either side) broadcast, as in PyTorch; a list does not (identity)
    np.testing.assert_array_equal((a == 2).data, [False, True, False])
    np.testing.assert_array_equal((2 != a).data, [True, False, True])
    np.testing.assert_array_equal((np.array([1, 2, 0]) == a).data, [True, True, False])
    np.testing.assert_array_equal((a == np.array([[1], [3]])).data, [[True, False, False], [False, False, True]])
    assert (a != [1, 2, 0]) is True and (a == [1, 2, 3]) is False  # torch 2.13: NotImplemented, then identity
    with pytest.raises(TypeError):
        a < [1, 2, 3]
    assert (fe.tensor(2.0) == 2.0).data.ndim == 0 and bool(fe.tensor(2.0) == 2.0)
    w = fe.tensor([1.0, 2.0], requires_grad=True)
    assert not (w == w.detach()).requires_grad and (w == w).grad_fn is None
    # accuracy the PyTorch way: the count of a bool tensor is int64, its float mean the fraction
    logits = fe.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    y = fe.tensor([1, 1, 1])
    correct = logits.argmax(1) == y
    assert correct.sum().dtype == np.int64 and correct.sum().item() == 2
    assert correct.float().mean().item() == pytest.approx(2 / 3)
    # objects a Tensor cannot compare with fall back to identity, as in PyTorch
    assert (a == None) is False and (a != None) is True  # noqa: E711
    assert (a == "a") is False
    with pytest.raises(TypeError, match="eq: cannot compare a Tensor with NoneType"):
        a.eq(None)
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(a == b)
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(fe.zeros(0) == 0)


def test_tensors_stay_hashable_by_identity():
    a, b = fe.tensor([1.0, 2.0]), fe.tensor([1.0, 2.0])
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b" and len({a, b, a}) == 2
    assert a in {a} and b not in {a}
    params = [a, b]
    assert any(p is b for p in params) and params.index(a) == 0  # identity is checked first
