"""torch's top-level forms of nn.functional ops (torch.dropout(input, p, train), torch.embedding(weight,
input), torch.batch_norm(input, weight, bias, running_mean, running_var, ...), the losses' int
reduction, ...) and the small top-level queries (is_complex, angle, get_default_device, ...)."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F

R = np.random.default_rng(0)


def _a(*shape, dtype=np.float64):
    return R.standard_normal(shape).astype(dtype)


X3 = _a(2, 3, 6)
X4 = _a(2, 3, 4, 4)
X5 = _a(1, 2, 3, 4, 4)
W1, W2, W3 = _a(4, 3, 3), _a(4, 3, 3, 3), _a(3, 2, 2, 2, 2)
WT1, WT2, WT3 = _a(3, 2, 3), _a(3, 2, 3, 3), _a(2, 2, 2, 2, 2)
B4, B3, B2 = _a(4), _a(3), _a(2)
V = _a(4, 5)
Y = R.random((4, 5))
S = np.sign(_a(4, 5))
EMB = _a(6, 3)
IDX = np.array([[0, 5, 2], [2, 2, 1]])
LP = np.log(R.dirichlet(np.ones(4), size=(6, 2)))
TG = np.array([[1, 2], [3, 3]])

# (name, positional arguments): the top-level call with these arguments is compared with torch's
CASES = [
    ("conv1d", (X3, W1, B4)), ("conv1d", (X3, W1, None, 2, 1)), ("conv1d", (X3, W1, None, 1, "same")),
    ("conv2d", (X4, W2, B4, 1, 1, 1, 1)), ("conv3d", (X5, W3, B3, 1, 1)),
    ("conv_transpose1d", (X3, WT1, B2, 2, 1, 1)), ("conv_transpose2d", (X4, WT2, None, 2)),
    ("conv_transpose3d", (X5, WT3, B2)),
    ("max_pool1d", (X3, 2)), ("max_pool1d", (X3, 3, [], 1, 1, True)), ("max_pool2d", (X4, 2)),
    ("max_pool2d", (X4, 3, 2, 1)), ("max_pool3d", (X5, 2)), ("max_pool1d_with_indices", (X3, 2)),
    ("avg_pool1d", (X3, 2)), ("avg_pool1d", (X3, 3, [], 1, True, False)),
    ("adaptive_avg_pool1d", (X3, 4)), ("adaptive_max_pool1d", (X3, 4)),
    ("dropout", (X4, 0.5, False)), ("alpha_dropout", (X4, 0.3, False)), ("feature_dropout", (X4, 0.3, False)),
    ("feature_alpha_dropout", (X4, 0.3, False)), ("dropout", (X4, 0.0, True)),
    ("embedding", (EMB, IDX)), ("embedding", (EMB, IDX, 2)), ("embedding", (EMB, IDX, -1, False, False)),
    ("layer_norm", (X3, [6])), ("layer_norm", (X3, [3, 6], _a(3, 6), _a(3, 6), 1e-3, False)),
    ("group_norm", (X4, 3)), ("group_norm", (X4, 1, B3, B3, 1e-3, True)),
    ("batch_norm", (X4, B3, B3, None, None, True, 0.1, 1e-5, False)),
    ("batch_norm", (X4, None, None, B3, np.abs(B3) + 1, False, 0.1, 1e-5, False)),
    ("instance_norm", (X4, B3, B3, None, None, True, 0.1, 1e-5, False)),
    ("rms_norm", (X3, [6])), ("rms_norm", (X3, [6], _a(6), 1e-3)),
    ("prelu", (X4, np.array([0.25]))), ("selu", (V,)), ("celu", (V,)), ("celu", (V, 2.0)),
    ("rrelu", (V,)), ("rrelu", (V, 0.1, 0.2)), ("rrelu", (V, 0.1, 0.2, False, None)),
    ("threshold", (V, 0.1, -2.0)), ("hardshrink", (V,)), ("hardshrink", (V, 1.0)),
    ("pixel_shuffle", (_a(1, 8, 2, 3), 2)), ("pixel_unshuffle", (X4, 2)), ("channel_shuffle", (_a(1, 6, 2, 2), 3)),
    ("cosine_similarity", (V, Y)), ("cosine_similarity", (V, Y, 0, 1e-6)),
    ("pairwise_distance", (V, Y)), ("pairwise_distance", (V, Y, 1.0, 1e-6, True)),
    ("pdist", (V,)), ("pdist", (V, 1.0)), ("bilinear", (_a(4, 3), _a(4, 2), _a(5, 3, 2), _a(5))),
    ("kl_div", (V, Y)), ("kl_div", (V, Y, 1)), ("kl_div", (V, Y, 2)), ("kl_div", (V, Y, 0)), ("kl_div", (V, Y, 3)),
    ("margin_ranking_loss", (V, Y, S)), ("margin_ranking_loss", (V, Y, S, 0.5, 1)),
    ("cosine_embedding_loss", (V, Y, S[:, 0])), ("cosine_embedding_loss", (V, Y, S[:, 0], 0.2, 2)),
    ("hinge_embedding_loss", (V, S)), ("hinge_embedding_loss", (V, S, 0.5, 1)),
    ("poisson_nll_loss", (V, Y, True, False, 1e-8, 1)), ("poisson_nll_loss", (np.abs(V), Y, False, True, 1e-8, 0)),
    ("triplet_margin_loss", (V, Y, V + 1)), ("triplet_margin_loss", (V, Y, V + 1, 0.5, 1.0, 1e-6, True, 1)),
    ("binary_cross_entropy_with_logits", (V, Y)), ("binary_cross_entropy_with_logits", (V, Y, Y, B3[:1], 2)),
    ("ctc_loss", (LP, TG, [6, 5], [2, 2])), ("ctc_loss", (LP, TG, np.array([6, 5]), np.array([2, 1]), 0, 1)),
    ("ctc_loss", (LP, TG, [6, 5], [2, 2], 0, 2, True)),
]


def _fe(v, dtype=None):
    if isinstance(v, np.ndarray):
        return fe.tensor(v if dtype is None or v.dtype.kind != "f" else v.astype(dtype))
    return v


def _torch(torch, v, dtype=None):
    if isinstance(v, np.ndarray):
        return torch.tensor(v if dtype is None or v.dtype.kind != "f" else v.astype(dtype))
    return v


def _np(r):
    if isinstance(r, tuple):
        return tuple(_np(x) for x in r)
    return r.detach().numpy() if hasattr(r, "detach") else r


def _close(a, b, tol):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, tol)
        return
    a, b = _np(a), _np(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,args", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch_toplevel(name, args, dtype):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(fe, name)(*(_fe(a, dtype) for a in args))
        theirs = getattr(torch, name)(*(_torch(torch, a, dtype) for a in args))
    _close(_np(ours) if not isinstance(ours, tuple) else tuple(x.numpy() for x in ours), _np(theirs),
           1e-4 if dtype == np.float32 else 1e-9)


def test_same_as_functional_forms():
    x, w = fe.tensor(X4), fe.tensor(W2)
    assert np.array_equal(fe.conv2d(x, w).numpy(), F.conv2d(x, w).numpy())
    assert np.array_equal(fe.max_pool2d(x, 2).numpy(), F.max_pool2d(x, 2).numpy())
    assert np.array_equal(fe.embedding(fe.tensor(EMB), fe.tensor(IDX)).numpy(),
                          F.embedding(fe.tensor(IDX), fe.tensor(EMB)).numpy())
    b = fe.tensor(B3)
    assert np.array_equal(fe.batch_norm(x, b, b, None, None, True, 0.1, 1e-5, False).numpy(),
                          F.batch_norm(x, None, None, b, b, training=True).numpy())
    assert np.array_equal(fe.layer_norm(x, [4]).numpy(), F.layer_norm(x, [4]).numpy())
    v, y = fe.tensor(V), fe.tensor(Y)
    assert np.array_equal(fe.kl_div(v, y, 2).numpy(), F.kl_div(v, y, reduction="sum").numpy())
    assert np.array_equal(fe.kl_div(v, y).numpy(), F.kl_div(v, y, reduction="none").numpy())  # torch 2.13's default
    assert np.array_equal(fe.hardshrink(v).numpy(), v.hardshrink().numpy())
    assert fe.adaptive_max_pool1d(fe.tensor(X3), 2)[1].dtype == fe.int64
    assert fe.dropout(x, 0.5, False) is x and fe.real(x) is x and fe.conj(x) is x


def test_dropout_training_and_generator():
    x = fe.ones(8, 6, 3)
    fe.manual_seed(0)
    out = fe.feature_dropout(x, 0.5, True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and np.all(out == out[:, :, :1])  # whole channels
    out = fe.dropout(x, 0.5, True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    g1, g2 = fe.Generator().manual_seed(3), fe.Generator().manual_seed(3)
    v = fe.tensor(-np.ones((4, 5)))
    assert np.array_equal(fe.rrelu(v, 0.1, 0.3, True, g1).numpy(), fe.rrelu(v, 0.1, 0.3, True, g2).numpy())
    assert fe.dropout(fe.zeros(0, 3), 0.5, True).shape == (0, 3)


def test_small_queries_and_real_ops():
    x = fe.tensor([-1.5, 0.0, -0.0, 2.0, float("nan"), float("-inf")], requires_grad=True)
    assert not fe.is_complex(x) and not fe.is_inference(x) and not fe.is_neg(x) and not fe.is_conj(x)
    assert fe.resolve_conj(x) is x and fe.resolve_neg(x) is x
    a = fe.angle(x)
    np.testing.assert_array_equal(a.detach().numpy()[[0, 1, 2, 3, 5]], np.float32([np.pi, 0, 0, 0, np.pi]))
    assert np.isnan(a.detach().numpy()[4]) and a.dtype == fe.float32
    a.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros(6, np.float32))
    assert fe.angle(fe.tensor([-2, 3])).dtype == fe.float32 and fe.angle(fe.tensor(-1.0, dtype=fe.float64)).ndim == 0
    assert fe.isreal(x).dtype == fe.bool and fe.isreal(x).numpy().all()
    d = fe.detach(x)
    assert not d.requires_grad and d is not x
    t = fe.tensor([1, 2, 3])
    f = fe.fill(t, 7)
    assert f.numpy().tolist() == [7, 7, 7] and t.numpy().tolist() == [1, 2, 3] and f.dtype == fe.int64
    assert str(fe.get_default_device()) == "cpu"
    fe.set_default_device("cpu")
    fe.set_default_device(None)
    with pytest.raises(RuntimeError):
        fe.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="non-complex"):
        fe.imag(x)
    with pytest.warns(UserWarning, match="deprecated"):
        m = fe.chain_matmul(fe.ones(2, 3), fe.ones(3, 4), fe.ones(4, 1))
    assert m.numpy().tolist() == [[12.0], [12.0]]


def test_edge_cases_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, 0.0, np.nan, 3.0])
    _close(fe.angle(fe.tensor(x)), torch.angle(torch.tensor(x)), 0)
    _close(fe.angle(fe.tensor([-1, 2])), torch.angle(torch.tensor([-1, 2])), 0)
    _close(fe.angle(fe.tensor(-1.0)), torch.angle(torch.tensor(-1.0)), 0)
    _close(fe.isreal(fe.tensor(x)), torch.isreal(torch.tensor(x)), 0)
    _close(fe.fill(fe.tensor([1, 2]), 2.7), torch.fill(torch.tensor([1, 2]), 2.7), 0)
    _close(fe.fill(fe.tensor(x), fe.tensor(5.0)), torch.fill(torch.tensor(x), torch.tensor(5.0)), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = _a(2, 3), _a(3, 2)
        _close(fe.chain_matmul(fe.tensor(a), fe.tensor(b)), torch.chain_matmul(torch.tensor(a), torch.tensor(b)),
               1e-12)
        _close(fe.chain_matmul(fe.tensor(a)), torch.chain_matmul(torch.tensor(a)), 0)
    # empty batches
    e = np.zeros((0, 3, 6))
    _close(fe.max_pool1d(fe.tensor(e), 2), torch.max_pool1d(torch.tensor(e), 2), 0)
    _close(fe.layer_norm(fe.tensor(e), [6]), torch.layer_norm(torch.tensor(e), [6]), 0)
    _close(fe.kl_div(fe.tensor(e), fe.tensor(e), 2), torch.kl_div(torch.tensor(e), torch.tensor(e), 2), 0)
    # gradients through a reordered signature
    w = np.abs(_a(3)) + 0.5
    ours = fe.tensor(X4, requires_grad=True)
    theirs = torch.tensor(X4, requires_grad=True)
    fe.batch_norm(ours, fe.tensor(w), None, None, None, True, 0.1, 1e-5, False).pow(3).sum().backward()
    torch.batch_norm(theirs, torch.tensor(w), None, None, None, True, 0.1, 1e-5, False).pow(3).sum().backward()
    _close(ours.grad, theirs.grad, 1e-9)
    ours, theirs = fe.tensor(EMB, requires_grad=True), torch.tensor(EMB, requires_grad=True)
    fe.embedding(ours, fe.tensor(IDX), 2).sum().backward()
    torch.embedding(theirs, torch.tensor(IDX), 2).sum().backward()
    _close(ours.grad, theirs.grad, 0)


ERRORS = [
    ("dropout", lambda t, x: t.dropout(x, 0.5)),
    ("dropout p", lambda t, x: t.dropout(x, 1.5, True)),
    ("feature_dropout 1-d", lambda t, x: t.feature_dropout(x[0, 0, 0], 0.5, True)),
    ("alpha_dropout", lambda t, x: t.alpha_dropout(x)),
    ("batch_norm", lambda t, x: t.batch_norm(x)),
    ("batch_norm eval", lambda t, x: t.batch_norm(x, None, None, None, None, False, 0.1, 1e-5, False)),
    ("instance_norm", lambda t, x: t.instance_norm(x, None, None, None, None, True)),
    ("threshold", lambda t, x: t.threshold(x, 0.1)),
    ("kl_div", lambda t, x: t.kl_div(x)),
    ("kl_div str", lambda t, x: t.kl_div(x, x, "mean")),
    ("margin_ranking_loss", lambda t, x: t.margin_ranking_loss(x, x)),
    ("poisson_nll_loss", lambda t, x: t.poisson_nll_loss(x, x, True, False, 1e-8)),
    ("embedding", lambda t, x: t.embedding(x)),
    ("max_pool2d", lambda t, x: t.max_pool2d(x)),
    ("layer_norm", lambda t, x: t.layer_norm(x)),
    ("chain_matmul empty", lambda t, x: t.chain_matmul()),
    ("chain_matmul 1-d", lambda t, x: t.chain_matmul(x[0, 0, 0])),
    ("imag", lambda t, x: t.imag(x)),
    ("fill 1-d value", lambda t, x: t.fill(x, x[0, 0, 0])),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_error_classes_match_torch(case):
    torch = pytest.importorskip("torch")
    _, call = case
    with pytest.raises(Exception) as theirs, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(torch, torch.tensor(X4))
    with pytest.raises(Exception) as ours, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(fe, fe.tensor(X4))
    assert ours.type is theirs.type, (ours.value, theirs.value)


def test_rrelu_and_hardshrink_floating_only():
    torch = pytest.importorskip("torch")
    with pytest.raises(NotImplementedError):
        torch.tensor([1, 2]).hardshrink()
    with pytest.raises(NotImplementedError):
        fe.tensor([1, 2]).hardshrink()
